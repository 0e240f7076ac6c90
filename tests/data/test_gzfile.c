/* test_gzfile.c — gz_read_all returns exactly what was compressed, and refuses a
 * file that is not gzip, is cut short, or decompresses past its bound. */
#include "data/gzfile.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Writes n bytes (i*7 mod 251, so not all alike) gzipped to dir/name; returns path. */
static const char *write_gz(const char *name, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
    gzFile gz = gzopen(path, "wb1");
    for (size_t i = 0; i < n; i++) gzputc(gz, (int)(i * 7 % 251));
    gzclose(gz);
    return path;
}

static void test_gz_read_all_roundtrips_bytes(void) {
    const char *path = write_gz("a.gz", 200000);
    unsigned char *d = NULL;
    size_t n = 0;
    Err e;
    CHECK(gz_read_all(path, 200000, &d, &n, &e) == LDE_OK);
    CHECK(n == 200000);
    int ok = d != NULL;
    for (size_t i = 0; ok && i < n; i++) ok = d[i] == (unsigned char)(i * 7 % 251);
    CHECK(ok);
    CHECK(d && d[n] == 0); /* the promised terminating zero */
    free(d);
}

static void test_gz_read_all_refuses_more_than_bound(void) {
    const char *path = write_gz("big.gz", 100001);
    unsigned char *d = NULL;
    size_t n;
    Err e = {{0}};
    CHECK(gz_read_all(path, 100000, &d, &n, &e) == LDE_EINPUT);
    CHECK(d == NULL && strstr(e.msg, "big.gz: decompresses to more than the expected 100000"));
}

static void test_gz_read_all_refuses_plain_and_truncated_files(void) {
    char plain[512], cut[512];
    snprintf(plain, sizeof plain, "%s/plain.gz", unit_tmpdir());
    FILE *f = fopen(plain, "wb");
    fputs("not compressed", f);
    fclose(f);
    unsigned char *d = NULL;
    size_t n;
    Err e = {{0}};
    CHECK(gz_read_all(plain, 100, &d, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "plain.gz: not a gzip file") != NULL);

    /* Keep the first half of a compressed stream. */
    const char *full = write_gz("full.gz", 50000);
    f = fopen(full, "rb");
    unsigned char buf[65536];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    snprintf(cut, sizeof cut, "%s/cut.gz", unit_tmpdir());
    f = fopen(cut, "wb");
    fwrite(buf, 1, len / 2, f);
    fclose(f);
    CHECK(gz_read_all(cut, 50000, &d, &n, &e) == LDE_EINPUT);
    CHECK(d == NULL && strstr(e.msg, "cut.gz: corrupt gzip data") != NULL);

    CHECK(gz_read_all(unit_tmpdir(), 100, &d, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    CHECK(gz_read_all("/nonexistent/x.gz", 100, &d, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "/nonexistent/x.gz: cannot open") != NULL);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_gz_read_all_roundtrips_bytes),
        UNIT(test_gz_read_all_refuses_more_than_bound),
        UNIT(test_gz_read_all_refuses_plain_and_truncated_files),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
