// Loads zlib with dlopen() only when given an argument: a run without one
// never opens libz.so.1, whose name is a string literal of .rodata.
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  (void)argv;
  if (argc < 2) {
    puts("plain");
    return 0;
  }
  void* z = dlopen("libz.so.1", RTLD_NOW);
  if (z == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  puts(dlsym(z, "zlibVersion") != NULL ? "compressed" : "no zlibVersion");
  return 0;
}
