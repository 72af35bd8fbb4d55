/* many_processes: the workload behind the tracer's memory claim.
 *
 * Usage: many_processes [PROCESSES [ACCESSES [PATHS [CONCURRENCY]]]]
 *        defaults:       10000       100        1000   8
 *
 * Creates PATHS small files in a fresh temporary directory, then forks
 * PROCESSES children, at most CONCURRENCY alive at a time. Each child makes
 * ACCESSES file accesses, alternating stat() and open()+close(), spread over
 * a handful of the files (chosen from its index, so every file is used by
 * some child), and exits. With the defaults that is 10,000 processes and
 * 1,000,000 accesses to 1,000 distinct paths. Finally the files are removed.
 *
 * A tracer whose memory grows with distinct paths (and live processes) uses
 * about as much memory for this run as for one with ten times fewer
 * processes; one that keeps something per access does not. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Distinct files each child touches: accesses are spread over these. */
enum { kPathsPerChild = 5 };

struct config {
    long processes, accesses, paths, concurrency;
};

static void path_of(char *out, size_t size, const char *dir, long index)
{
    snprintf(out, size, "%s/file-%04ld", dir, index);
}

static int create_files(const char *dir, long paths)
{
    char path[4096];
    for (long i = 0; i < paths; i++) {
        path_of(path, sizeof path, dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "x\n", 2) != 2 || close(fd) != 0) {
            perror(path);
            return -1;
        }
    }
    return 0;
}

static void remove_files(const char *dir, long paths)
{
    char path[4096];
    for (long i = 0; i < paths; i++) {
        path_of(path, sizeof path, dir, i);
        unlink(path);
    }
    rmdir(dir);
}

/* The child's work: returns the exit status for _exit(). */
static int child_accesses(const char *dir, const struct config *cfg, long child)
{
    char paths[kPathsPerChild][4096];
    for (int k = 0; k < kPathsPerChild; k++)
        path_of(paths[k], sizeof paths[k], dir, (child * kPathsPerChild + k) % cfg->paths);
    struct stat st;
    for (long i = 0; i < cfg->accesses; i++) {
        const char *path = paths[i % kPathsPerChild];
        if (i % 2 == 0) {
            if (stat(path, &st) != 0)
                return 1;
        } else {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return 1;
            close(fd);
        }
    }
    return 0;
}

/* Waits for one child; returns -1 on a failed child or wait. */
static int reap_one(void)
{
    int status;
    if (wait(&status) < 0) {
        perror("many_processes: wait");
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int run_children(const char *dir, const struct config *cfg)
{
    long alive = 0, failed = 0;
    for (long child = 0; child < cfg->processes; child++) {
        if (alive == cfg->concurrency) {
            failed += reap_one() != 0;
            alive--;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("many_processes: fork");
            failed++;
            break;
        }
        if (pid == 0)
            _exit(child_accesses(dir, cfg, child));
        alive++;
    }
    for (; alive > 0; alive--)
        failed += reap_one() != 0;
    if (failed > 0)
        fprintf(stderr, "many_processes: %ld children failed\n", failed);
    return failed == 0 ? 0 : -1;
}

static long argument(int argc, char **argv, int index, long fallback)
{
    return argc > index ? strtol(argv[index], NULL, 10) : fallback;
}

int main(int argc, char **argv)
{
    struct config cfg = {
        argument(argc, argv, 1, 10000), argument(argc, argv, 2, 100),
        argument(argc, argv, 3, 1000), argument(argc, argv, 4, 8),
    };
    if (cfg.processes < 1 || cfg.accesses < 1 || cfg.paths < 1 || cfg.concurrency < 1) {
        fprintf(stderr, "usage: %s [PROCESSES [ACCESSES [PATHS [CONCURRENCY]]]]\n", argv[0]);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 1000)
        tmp = "/tmp";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/many_processes.XXXXXX", tmp);
    if (mkdtemp(dir) == NULL) {
        perror("many_processes: mkdtemp");
        return 1;
    }
    int ok = create_files(dir, cfg.paths) == 0 && run_children(dir, &cfg) == 0;
    remove_files(dir, cfg.paths);
    return ok ? 0 : 1;
}
