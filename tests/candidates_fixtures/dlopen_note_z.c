// Declares zlib in a .note.dlopen ELF note (freedesktop's dlopen metadata)
// and loads it with dlopen() only when given an argument. The name it opens
// is built at run time, so no string literal of .rodata names the library:
// the note alone says what it may load.
#include <dlfcn.h>
#include <stdio.h>

#define DLOPEN_JSON "[{\"soname\":[\"libz.so.1\"],\"feature\":\"compression\",\"priority\":\"recommended\"}]"

struct dlopen_note {
  unsigned namesz, descsz, type;
  char name[4];
  char desc[(sizeof(DLOPEN_JSON) + 3) & ~3u];
};

__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct dlopen_note note = {
    4, sizeof(DLOPEN_JSON), 0x407c0c0a, "FDO", DLOPEN_JSON};

int main(int argc, char** argv) {
  (void)argv;
  if (argc < 2) {
    puts("plain");
    return 0;
  }
  char name[32];
  snprintf(name, sizeof name, "lib%c.so.%d", 'z', 1);
  void* z = dlopen(name, RTLD_NOW);
  if (z == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  puts(dlsym(z, "zlibVersion") != NULL ? "compressed" : "no zlibVersion");
  return 0;
}
