/* test_npymap.c — float .npy files read in place (issue 18): every row handed out
 * equals npy_read_f32's (float32 in place, float16 and float64 converted), gathered
 * rows too and rows read again after their pages were released; a non-finite value
 * is refused with npy_read_f32's message; a declared shape beyond the file is still
 * refused (exit 2), while a real file whose float32 copy would not fit in this
 * machine's memory is read (a sparse file, so the test costs no disk). Paths are
 * relative to the repository root, where tests/run-tests starts every test. */
#include "data/npymap.h"
#include "tests/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOOD "tests/fixtures/npy/"
#define BAD  "tests/bad_inputs/npy/"

/* Opens path both ways; 1 when every row (one at a time and all at once), a gather
 * in reverse order, and the rows after npymap_release equal npy_read_f32's. */
static int same_as_read(const char *path) {
    NpyMap m;
    Err e = {{0}};
    float *x = NULL;
    NpyShape s;
    if (npymap_open(path, &m, &e) != LDE_OK || npy_read_f32(path, &x, &s, &e) != LDE_OK) {
        fprintf(stderr, "  %s\n", e.msg);
        return 0;
    }
    long n = m.rows, d = m.cols;
    int ok = m.rows == s.rows && m.cols == s.cols && m.ndim == s.ndim;
    float *buf = malloc(sizeof(float) * (size_t)(n * d + 1));
    int *idx = malloc(sizeof(int) * (size_t)(n + 1));
    for (long i = 0; ok && i < n; i++) {
        const float *r = npymap_rows(&m, i, 1, buf, &e);
        ok &= r && memcmp(r, x + i * d, sizeof(float) * (size_t)d) == 0;
        idx[i] = (int)(n - 1 - i);
    }
    const float *all = n ? npymap_rows(&m, 0, n, buf, &e) : x;
    ok &= all && memcmp(all, x, sizeof(float) * (size_t)(n * d)) == 0;
    npymap_release(&m, 0, n);
    ok &= npymap_gather(&m, idx, n, buf, &e) == LDE_OK;
    for (long i = 0; ok && i < n; i++)
        ok &= memcmp(buf + i * d, x + (n - 1 - i) * d, sizeof(float) * (size_t)d) == 0;
    free(buf), free(idx), free(x);
    npymap_close(&m);
    return ok;
}

static void test_npymap_rows_equal_npy_read_f32_for_every_float_dtype(void) {
    const char *files[] = {GOOD "f4_2d.npy", GOOD "f2_2d.npy",         GOOD "f8_2d.npy",
                           GOOD "f4_v2.npy", GOOD "f2_special_1d.npy", GOOD "f4_empty_0x3.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        if (CHECK(same_as_read(files[k]))) fprintf(stderr, "  %s\n", files[k]);
}

static void test_npymap_float32_rows_are_read_in_place(void) {
    NpyMap m;
    Err e;
    float buf[12];
    CHECK(npymap_open(GOOD "f4_2d.npy", &m, &e) == LDE_OK);
    const float *r = npymap_rows(&m, 1, 2, buf, &e);
    CHECK(r != NULL && r != buf && (const unsigned char *)r == m.data + 4 * 4);
    npymap_close(&m);
    CHECK(npymap_open(GOOD "f2_2d.npy", &m, &e) == LDE_OK);
    CHECK(npymap_rows(&m, 1, 2, buf, &e) == buf);
    npymap_close(&m);
}

/* The refusals npy_read_f32 gives, from npymap_open or from reading every row. */
static void test_npymap_refuses_like_npy_read_f32(void) {
    const char *files[] = {BAD "nan_row2.npy",          BAD "inf_row5.npy",
                           BAD "f8_beyond_float32.npy", BAD "f2_nan_1d.npy",
                           BAD "truncated_data.npy",    BAD "truncated_big_shape.npy",
                           BAD "trailing_bytes.npy",    GOOD "i8_1d.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        Err want = {{0}}, got = {{0}};
        float *x = NULL;
        NpyShape s;
        CHECK(npy_read_f32(files[k], &x, &s, &want) == LDE_EINPUT);
        NpyMap m;
        int rc = npymap_open(files[k], &m, &got);
        if (rc == LDE_OK) {
            float *buf = malloc(sizeof(float) * (size_t)(m.rows * m.cols));
            rc = npymap_rows(&m, 0, m.rows, buf, &got) ? LDE_OK : LDE_EINPUT;
            free(buf);
            npymap_close(&m);
        }
        /* The integer file: the mapped reader names the float dtypes it takes. */
        int same = strstr(files[k], "i8") ? strstr(got.msg, "dtype <i8") != NULL
                                          : strcmp(want.msg, got.msg) == 0;
        if (CHECK(rc == LDE_EINPUT && same)) fprintf(stderr, "  %s\n  %s\n", want.msg, got.msg);
    }
}

/* A header declaring more than the file holds is refused by the size check alone. */
static void test_npymap_refuses_a_shape_beyond_the_file(void) {
    NpyMap m;
    Err e = {{0}};
    CHECK(npymap_open(BAD "shape_beyond_memory.npy", &m, &e) == LDE_EINPUT);
    if (CHECK(strstr(e.msg, "truncated: shape") != NULL)) fprintf(stderr, "  %s\n", e.msg);
}

/* A float16 file of (rows, 1024) whose float32 copy needs more than physical memory,
 * sparse (all zeros): npy_read_f32 refuses it for memory, npymap reads its first and
 * last rows. */
static void test_npymap_reads_a_file_larger_than_its_float32_copy_may_fit(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/big_f2.npy", unit_tmpdir());
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    long rows = (long)(phys / 4096.0) + 1;
    char dict[118];
    snprintf(dict, sizeof dict, "{'descr': '<f2', 'fortran_order': False, 'shape': (%ld, 1024), }",
             rows);
    char header[136];
    memcpy(header, "\x93NUMPY\x01\x00\x76\x00", 10);
    snprintf(header + 10, sizeof header - 10, "%-117s\n", dict);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    int made = fd >= 0 && write(fd, header, 128) == 128 && ftruncate(fd, 128 + rows * 2048) == 0;
    if (fd >= 0) close(fd);
    if (CHECK(made)) return;
    Err e = {{0}};
    float *x = NULL;
    NpyShape s;
    CHECK(npy_read_f32(path, &x, &s, &e) == LDE_EINPUT && strstr(e.msg, "more than this machine"));
    NpyMap m;
    CHECK(npymap_open(path, &m, &e) == LDE_OK);
    if (m.rows == rows) {
        float buf[1024];
        const float *first = npymap_rows(&m, 0, 1, buf, &e);
        CHECK(first && first[0] == 0.0f && first[1023] == 0.0f);
        const float *last = npymap_rows(&m, rows - 1, 1, buf, &e);
        CHECK(last && last[0] == 0.0f && last[1023] == 0.0f);
        npymap_release(&m, 0, 1);
    }
    npymap_close(&m);
    unlink(path);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_npymap_rows_equal_npy_read_f32_for_every_float_dtype),
        UNIT(test_npymap_float32_rows_are_read_in_place),
        UNIT(test_npymap_refuses_like_npy_read_f32),
        UNIT(test_npymap_refuses_a_shape_beyond_the_file),
        UNIT(test_npymap_reads_a_file_larger_than_its_float32_copy_may_fit),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
