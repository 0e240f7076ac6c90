/* test_filedigest.c — a file's digest is XXH3-128 of its bytes (read in chunks, so
 * a file larger than one read is checked); the digest cache spares re-reading an
 * unchanged file (the hashed-bytes counter does not move), re-hashes after touch
 * (same digest) and after a changed byte (another digest), persists only entries
 * that are not racy, and filedigest_check names a file rewritten since. */
#include "tests/unit.h"
#include "util/filedigest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <xxhash.h>

/* Writes n pseudo-random bytes to path; returns them (malloc'd). */
static unsigned char *write_file(const char *path, size_t n, unsigned seed) {
    unsigned char *b = malloc(n);
    for (size_t i = 0; b && i < n; i++)
        b[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
    FILE *f = fopen(path, "wb");
    if (f && b) fwrite(b, 1, n, f);
    if (f) fclose(f);
    return b;
}

/* Sets path's mtime to `ago` seconds before now (older than the racy window). */
static void age(const char *path, long ago) {
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= ago;
    t[1] = t[0];
    utimensat(AT_FDCWD, path, t, 0);
}

static void hex_of(const unsigned char *b, size_t n, char out[33]) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(b, n));
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

static void test_digest_is_xxh3_128_of_the_bytes_and_cached(void) {
    char path[512], want[33];
    snprintf(path, sizeof path, "%s/big.bin", unit_tmpdir());
    size_t n = (9u << 20) + 12345; /* over two 4 MiB reads and a partial one */
    unsigned char *b = write_file(path, n, 7);
    hex_of(b, n, want);
    age(path, 3600);
    FileDigest d;
    Err e = {{0}};
    long long h0 = filedigest_hashed_bytes();
    CHECK(filedigest_get(path, &d, &e) == LDE_OK);
    CHECK(strcmp(d.hex, want) == 0);
    CHECK(d.bytes == (long long)n);
    CHECK(filedigest_hashed_bytes() - h0 == (long long)n);
    /* Unchanged: from the cache, nothing read. */
    FileDigest again;
    CHECK(filedigest_get(path, &again, &e) == LDE_OK);
    CHECK(filedigest_hashed_bytes() - h0 == (long long)n);
    CHECK(strcmp(again.hex, want) == 0);
    /* touch: re-hashed, same digest. */
    age(path, 1800);
    CHECK(filedigest_get(path, &again, &e) == LDE_OK);
    CHECK(filedigest_hashed_bytes() - h0 == 2 * (long long)n);
    CHECK(strcmp(again.hex, want) == 0 && again.mtime_ns != d.mtime_ns);
    CHECK(filedigest_check(path, &again, &e) == LDE_OK);
    /* One byte changed in place: another digest, and the earlier one is stale. */
    b[n / 2] ^= 1;
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)(n / 2), SEEK_SET);
    fputc(b[n / 2], f);
    fclose(f);
    CHECK(filedigest_check(path, &again, &e) == LDE_ERUN);
    CHECK(strstr(e.msg, path) && strstr(e.msg, "changed while in use"));
    CHECK(filedigest_get(path, &d, &e) == LDE_OK);
    hex_of(b, n, want);
    CHECK(strcmp(d.hex, want) == 0 && strcmp(d.hex, again.hex) != 0);
    free(b);
}

static long file_lines(const char *path) {
    FILE *f = fopen(path, "r");
    long n = 0;
    for (int c; f && (c = fgetc(f)) != EOF;) n += c == '\n';
    if (f) fclose(f);
    return n;
}

/* Only entries older than the racy window reach digests.tsv beside the database;
 * a missing file is LDE_EINPUT naming it. */
static void test_cache_file_keeps_only_settled_entries(void) {
    char db[512], old[512], fresh[512], cache[512];
    snprintf(db, sizeof db, "%s/lde.db", unit_tmpdir());
    snprintf(old, sizeof old, "%s/old.bin", unit_tmpdir());
    snprintf(fresh, sizeof fresh, "%s/fresh.bin", unit_tmpdir());
    snprintf(cache, sizeof cache, "%s/digests.tsv", unit_tmpdir());
    free(write_file(old, 1000, 1));
    free(write_file(fresh, 1000, 2));
    age(old, 3600);
    filedigest_cache_beside(db);
    FileDigest d;
    Err e = {{0}};
    CHECK(filedigest_get(old, &d, &e) == LDE_OK);
    CHECK(filedigest_get(fresh, &d, &e) == LDE_OK);
    CHECK(filedigest_flush(&e) == LDE_OK);
    CHECK(file_lines(cache) == 1);
    CHECK(filedigest_flush(&e) == LDE_OK);
    CHECK(file_lines(cache) == 1);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.npy", unit_tmpdir());
    CHECK(filedigest_get(missing, &d, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, missing) != NULL);
    filedigest_cache_beside(NULL);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_digest_is_xxh3_128_of_the_bytes_and_cached),
        UNIT(test_cache_file_keeps_only_settled_entries),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
