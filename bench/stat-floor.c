/* The least a check of an unchanged tree can cost on this machine, as a benchmark anchor: one
 * lstat of every file and directory, each made through a descriptor of its directory (a lookup
 * of one component), on N threads that each take a contiguous share of the list; nothing else
 * (no snapshot to read, no comparison, no process start-up of a larger program). Reads a
 * NUL-separated path list on stdin, grouped by directory as `find` writes it; prints the count.
 * Built and run by bench/verify-bench.sh: cc -O2 -pthread stat-floor.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char **paths;
static long count;

struct share {
    long from, to, stated;
};

static void *stat_share(void *argument) {
    struct share *share = argument;
    int directory = -1;
    size_t directory_length = 0;
    const char *directory_path = NULL;
    for (long index = share->from; index < share->to; index++) {
        const char *path = paths[index];
        const char *slash = strrchr(path, '/');
        if (slash == NULL || slash == path) continue;
        size_t length = (size_t)(slash - path);
        if (directory_path == NULL || length != directory_length || memcmp(path, directory_path, length) != 0) {
            if (directory >= 0) close(directory);
            char *name = strndup(path, length);
            directory = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            free(name);
            directory_path = path;
            directory_length = length;
        }
        struct stat info;
        if (directory >= 0 && fstatat(directory, slash + 1, &info, AT_SYMLINK_NOFOLLOW) == 0) share->stated++;
    }
    if (directory >= 0) close(directory);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1) threads = 1;
    size_t capacity = 0, allocated = 1 << 16;
    paths = malloc(allocated * sizeof *paths);
    char *path = NULL;
    while (getdelim(&path, &capacity, '\0', stdin) > 0) {
        if ((size_t)count == allocated) paths = realloc(paths, (allocated *= 2) * sizeof *paths);
        paths[count++] = strdup(path);
    }
    struct share shares[64];
    pthread_t workers[64];
    if (threads > 64) threads = 64;
    for (int t = 0; t < threads; t++) {
        shares[t] = (struct share){count * t / threads, count * (t + 1) / threads, 0};
        pthread_create(&workers[t], NULL, stat_share, &shares[t]);
    }
    long stated = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t], NULL);
        stated += shares[t].stated;
    }
    printf("%ld\n", stated);
    return 0;
}
