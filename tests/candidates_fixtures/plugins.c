// Lists the directory argv[1] and reads the one entry named argv[2], as a
// program that loads the plugin its configuration enables.
#include <dirent.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  DIR* dir = opendir(argv[1]);
  if (dir == NULL) return 1;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, argv[2]) != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
    FILE* f = fopen(path, "r");
    if (f == NULL) return 1;
    char line[256];
    if (fgets(line, sizeof line, f) != NULL) fputs(line, stdout);
    fclose(f);
  }
  closedir(dir);
  return 0;
}
