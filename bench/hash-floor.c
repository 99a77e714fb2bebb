/* The least any verifier can do per file on this machine, as a benchmark anchor: open, fstat,
 * read through one 256 KiB buffer into OpenSSL's EVP SHA-256, close; nothing else (no RECORD,
 * no comparison, no bookkeeping). Reads a NUL-separated file list on stdin, prints the count.
 * Built and run by bench/verify-bench.sh: cc -O2 hash-floor.c -lcrypto */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    static unsigned char buffer[256 * 1024];
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    char *path = NULL;
    size_t capacity = 0;
    long files = 0;
    while (getdelim(&path, &capacity, '\0', stdin) > 0) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
        if (fd < 0) fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
