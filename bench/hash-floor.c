/* The least any verifier can do per file on this machine, as a benchmark anchor: open, fstat,
 * read through one 256 KiB buffer into OpenSSL's EVP SHA-256, close; nothing else (no RECORD,
 * no comparison, no bookkeeping). Reads a NUL-separated file list on stdin, prints the count.
 *
 * With the argument `parts`, it instead prints the seconds of three parts of that floor, each the
 * faster of three passes: hashing every file as its own message from memory (all of them read in
 * first, untimed: SHA-256 with no I/O at all, the per-message set-up and padding included, which
 * `openssl speed` leaves out); only opening and closing every file; and copying every file's
 * bytes once from memory through the 256 KiB buffer (what a read must do at the least, the
 * system call aside).
 * Built and run by bench/verify-bench.sh: cc -O2 hash-floor.c -lcrypto */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_file(const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    return fd >= 0 ? fd : open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int parts(EVP_MD_CTX *context) {
    char *path = NULL;
    size_t capacity = 0;
    long count = 0, allocated = 0;
    char **paths = NULL;
    unsigned char **contents = NULL;
    size_t *sizes = NULL;
    while (getdelim(&path, &capacity, '\0', stdin) > 0) {
        if (count == allocated) {
            allocated = allocated ? 2 * allocated : 4096;
            paths = realloc(paths, (size_t)allocated * sizeof *paths);
            contents = realloc(contents, (size_t)allocated * sizeof *contents);
            sizes = realloc(sizes, (size_t)allocated * sizeof *sizes);
            if (!paths || !contents || !sizes) return 1;
        }
        int fd = open_file(path);
        struct stat info;
        if (fd < 0 || fstat(fd, &info) != 0) {
            if (fd >= 0) close(fd);
            continue;
        }
        contents[count] = malloc((size_t)info.st_size + 1);
        ssize_t got = contents[count] ? read(fd, contents[count], (size_t)info.st_size) : -1;
        close(fd);
        if (got < 0) continue;
        sizes[count] = (size_t)got;
        paths[count++] = strdup(path);
    }
    double hashing = 1e9, opening = 1e9, copying = 1e9;
    static unsigned char buffer[256 * 1024];
    for (int pass = 0; pass < 3; pass++) {
        unsigned char digest[32];
        double start = seconds();
        for (long index = 0; index < count; index++) {
            EVP_DigestInit_ex(context, EVP_sha256(), NULL);
            EVP_DigestUpdate(context, contents[index], sizes[index]);
            EVP_DigestFinal_ex(context, digest, NULL);
        }
        double middle = seconds();
        for (long index = 0; index < count; index++) {
            int fd = open_file(paths[index]);
            if (fd >= 0) close(fd);
        }
        double end = seconds();
        for (long index = 0; index < count; index++) {
            for (size_t done = 0; done < sizes[index]; done += sizeof buffer) {
                size_t piece = sizes[index] - done < sizeof buffer ? sizes[index] - done : sizeof buffer;
                memcpy(buffer, contents[index] + done, piece);
            }
            __asm__ volatile("" : : "r"(buffer) : "memory");
        }
        double copied = seconds();
        if (middle - start < hashing) hashing = middle - start;
        if (end - middle < opening) opening = end - middle;
        if (copied - end < copying) copying = copied - end;
    }
    printf("%.4f %.4f %.4f\n", hashing, opening, copying);
    return 0;
}

int main(int argc, char **argv) {
    static unsigned char buffer[256 * 1024];
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (argc > 1 && strcmp(argv[1], "parts") == 0) return parts(context);
    char *path = NULL;
    size_t capacity = 0;
    long files = 0;
    while (getdelim(&path, &capacity, '\0', stdin) > 0) {
        int fd = open_file(path);
        if (fd < 0) continue;
        struct stat info;
        fstat(fd, &info);
        EVP_DigestInit_ex(context, EVP_sha256(), NULL);
        ssize_t count;
        while ((count = read(fd, buffer, sizeof buffer)) > 0) EVP_DigestUpdate(context, buffer, (size_t)count);
        unsigned char digest[32];
        EVP_DigestFinal_ex(context, digest, NULL);
        close(fd);
        files++;
    }
    printf("%ld\n", files);
    return 0;
}
