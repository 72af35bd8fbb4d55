// Declares, in a .note.dlopen ELF note (freedesktop's dlopen metadata), that
// it may dlopen() zlib (an absent soname first, then libz.so.1), and names
// liblzma.so.5 in a string literal. It loads neither.
#include <stdio.h>

#define DLOPEN_JSON                                                                                                     \
  "[{\"soname\":[\"libtracepack-absent.so.9\",\"libz.so.1\"],\"feature\":\"compression\",\"description\":\"Compressed " \
  "output\",\"priority\":\"required\"}]"

struct dlopen_note {
  unsigned namesz, descsz, type;
  char name[4];
  char desc[(sizeof(DLOPEN_JSON) + 3) & ~3u];
};

__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct dlopen_note note = {
    4, sizeof(DLOPEN_JSON), 0x407c0c0a, "FDO", DLOPEN_JSON};

int main(int argc, char** argv) {
  const char* optional = "liblzma.so.5";
  printf("%s\n", argc > 1 ? optional : argv[0] != NULL ? "plain" : "");
  return 0;
}
