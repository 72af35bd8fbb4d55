/* syscall_storm: many cheap system calls that name no file.
 *
 * Usage: syscall_storm [CALLS]   (default 3,000,000)
 *
 * Alternates getppid() with 1-byte read()s of /dev/zero, opened once. A
 * tracer that stops only for file and process calls should add almost
 * nothing here; one that stops at every call multiplies the run time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 3000000L;
    if (calls <= 0) {
        fprintf(stderr, "usage: %s [CALLS]\n", argv[0]);
        return 2;
    }
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("syscall_storm: /dev/zero");
        return 1;
    }
    char byte;
    for (long i = 0; i < calls; i += 2) {
        /* The raw call: a libc may one day cache getppid(). */
        syscall(SYS_getppid);
        if (read(fd, &byte, 1) != 1) {
            perror("syscall_storm: read");
            return 1;
        }
    }
    close(fd);
    return 0;
}
