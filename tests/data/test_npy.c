/* test_npy.c — .npy files written by NumPy read back with the right values, files
 * lde writes read back bit for bit, and every broken file is refused with exit code
 * 2 and one line naming the file and the problem. Fixtures: tests/fixtures/npy/
 * (NumPy's own output) and tests/bad_inputs/npy/, both from
 * tests/fixtures/make_npy_fixtures.py. Paths are relative to the repository root,
 * where tests/run-tests starts every test. */
#include "data/npy.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD "tests/fixtures/npy/"
#define BAD  "tests/bad_inputs/npy/"

/* The generator's 2-D formula a[i, j] = i*10 + j + offset, at (rows, cols). */
static int grid_matches(const float *x, long rows, long cols, double scale, double offset) {
    int ok = 1;
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            ok &= x[i * cols + j] == (float)((double)(i * 10 + j) * scale + offset);
    return ok;
}

static void test_npy_reads_numpy_float_dtypes_as_float32(void) {
    /* All three hold values exact in their dtype; f8's x/10 must equal the float32
     * rounding of the double, which is what (float) of the double gives. */
    const char *files[] = {GOOD "f4_2d.npy", GOOD "f2_2d.npy", GOOD "f8_2d.npy", GOOD "f4_v2.npy",
                           GOOD "f4_v3.npy"};
    const double scale[] = {1, 1, 0.1, 1, 1}, offset[] = {0.25, 0.25, 0, 0.25, 0.25};
    for (int k = 0; k < 5; k++) {
        float *x = NULL;
        NpyShape s;
        Err e = {{0}};
        int rc = npy_read_f32(files[k], &x, &s, &e);
        if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
        if (rc != LDE_OK) continue;
        CHECK(s.ndim == 2 && s.rows == 3 && s.cols == 4);
        if (CHECK(grid_matches(x, 3, 4, scale[k], offset[k]))) fprintf(stderr, "  %s\n", files[k]);
        free(x);
    }
}

static void test_npy_float16_special_values_convert_exactly(void) {
    float *x = NULL;
    NpyShape s;
    Err e;
    CHECK(npy_read_f32(GOOD "f2_special_1d.npy", &x, &s, &e) == LDE_OK);
    CHECK(s.ndim == 1 && s.rows == 5 && s.cols == 1);
    if (!x) return;
    CHECK(x[0] == 65504.0f);                 /* largest finite half */
    CHECK(x[1] == ldexpf(1.0f, -24));        /* smallest subnormal half */
    CHECK(x[2] == 0.0f && signbit(x[2]));    /* negative zero keeps its sign */
    CHECK(x[3] == 1.0f + ldexpf(1.0f, -10)); /* one mantissa ulp above 1 */
    CHECK(x[4] == -3.5f);
    free(x);
}

static void test_npy_reads_1d_float_and_empty_2d(void) {
    float *x = NULL;
    NpyShape s;
    Err e;
    CHECK(npy_read_f32(GOOD "f4_1d.npy", &x, &s, &e) == LDE_OK);
    CHECK(s.ndim == 1 && s.rows == 5 && s.cols == 1);
    if (x) CHECK(x[0] == 1.5f && x[1] == -2.0f && x[3] == 3.25f && x[4] == 1e-3f);
    free(x);
    x = NULL;
    CHECK(npy_read_f32(GOOD "f4_empty_0x3.npy", &x, &s, &e) == LDE_OK);
    CHECK(s.ndim == 2 && s.rows == 0 && s.cols == 3 && x != NULL);
    free(x);
}

static void test_npy_reads_integer_dtypes_as_int64(void) {
    const char *files[] = {GOOD "i8_1d.npy", GOOD "i4_1d.npy", GOOD "u1_1d.npy"};
    const int64_t want[3][5] = {
        {0, 9, -1, (int64_t)1 << 40, -((int64_t)1 << 62)},
        {3, -7, 2147483647, -2147483648LL, 0},
        {0, 1, 9, 200, 255},
    };
    const long n[3] = {5, 4, 5};
    for (int k = 0; k < 3; k++) {
        int64_t *y = NULL;
        NpyShape s;
        Err e;
        CHECK(npy_read_i64(files[k], &y, &s, &e) == LDE_OK);
        CHECK(s.ndim == 1 && s.rows == n[k] && s.cols == 1);
        for (long i = 0; y && i < n[k]; i++) CHECK(y[i] == want[k][i]);
        free(y);
    }
    int64_t *y = NULL;
    NpyShape s;
    Err e;
    CHECK(npy_read_i64(GOOD "i8_2d.npy", &y, &s, &e) == LDE_OK);
    CHECK(s.ndim == 2 && s.rows == 2 && s.cols == 3);
    for (int i = 0; y && i < 6; i++) CHECK(y[i] == i);
    free(y);
}

static void test_npy_shape_reads_header_only(void) {
    NpyShape s;
    char dtype[8];
    Err e;
    CHECK(npy_shape(GOOD "f2_2d.npy", &s, dtype, &e) == LDE_OK);
    CHECK(s.ndim == 2 && s.rows == 3 && s.cols == 4 && strcmp(dtype, "<f2") == 0);
    CHECK(npy_shape(GOOD "u1_1d.npy", &s, dtype, &e) == LDE_OK);
    CHECK(s.ndim == 1 && s.rows == 5 && strcmp(dtype, "|u1") == 0);
    /* Header-level problems are found without reading the data. */
    CHECK(npy_shape(BAD "truncated_data.npy", &s, dtype, &e) == LDE_EINPUT);
}

static void test_npy_write_read_roundtrip_is_bit_exact(void) {
    char p2[512], p1[512], pi[512];
    snprintf(p2, sizeof p2, "%s/x2.npy", unit_tmpdir());
    snprintf(p1, sizeof p1, "%s/x1.npy", unit_tmpdir());
    snprintf(pi, sizeof pi, "%s/y.npy", unit_tmpdir());
    float x[7 * 3];
    for (int i = 0; i < 21; i++) x[i] = (float)i * 0.1f - 1.0f + ldexpf(1.0f, -30);
    int64_t y[7] = {0, -1, 5, (int64_t)1 << 50, 9, 3, -((int64_t)1 << 62)};
    Err e;
    CHECK(npy_write_f32(p2, x, (NpyShape){2, 7, 3}, &e) == LDE_OK);
    CHECK(npy_write_f32(p1, x, (NpyShape){1, 21, 1}, &e) == LDE_OK);
    CHECK(npy_write_i64(pi, y, (NpyShape){1, 7, 1}, &e) == LDE_OK);
    float *r = NULL;
    int64_t *ri = NULL;
    NpyShape s;
    CHECK(npy_read_f32(p2, &r, &s, &e) == LDE_OK);
    CHECK(s.ndim == 2 && s.rows == 7 && s.cols == 3);
    if (r) CHECK(memcmp(r, x, sizeof x) == 0);
    free(r);
    r = NULL;
    CHECK(npy_read_f32(p1, &r, &s, &e) == LDE_OK);
    CHECK(s.ndim == 1 && s.rows == 21);
    if (r) CHECK(memcmp(r, x, sizeof x) == 0);
    free(r);
    CHECK(npy_read_i64(pi, &ri, &s, &e) == LDE_OK);
    CHECK(s.ndim == 1 && s.rows == 7);
    if (ri) CHECK(memcmp(ri, y, sizeof y) == 0);
    free(ri);
}

/* NumPy aligns the data to 64 bytes and ends the header with a newline; a file lde
 * writes must look like one np.save writes, byte for byte in the header. */
static void test_npy_written_header_matches_numpy(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/w.npy", unit_tmpdir());
    float *x = NULL;
    NpyShape s;
    Err e;
    CHECK(npy_read_f32(GOOD "f4_2d.npy", &x, &s, &e) == LDE_OK);
    if (!x) return;
    CHECK(npy_write_f32(path, x, s, &e) == LDE_OK);
    free(x);
    char a[256], b[256];
    FILE *fa = fopen(path, "rb"), *fb = fopen(GOOD "f4_2d.npy", "rb");
    size_t na = fa ? fread(a, 1, sizeof a, fa) : 0, nb = fb ? fread(b, 1, sizeof b, fb) : 0;
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    CHECK(na == 176 && nb == 176 && memcmp(a, b, 176) == 0);
}

static void test_npy_write_to_missing_directory_fails_naming_path(void) {
    float x = 1;
    Err e = {{0}};
    CHECK(npy_write_f32("/nonexistent-lde-dir/x.npy", &x, (NpyShape){1, 1, 1}, &e) == LDE_ERUN);
    CHECK(strstr(e.msg, "/nonexistent-lde-dir/x.npy") != NULL);
}

/* A broken file, the reader to use, and a piece of the message it must print. */
typedef struct {
    const char *file;
    char reader; /* 'f' npy_read_f32, 'i' npy_read_i64 */
    const char *message;
} BadCase;

static const BadCase BAD_CASES[] = {
    {BAD "empty.npy", 'f', "empty file"},
    {BAD "short_magic.npy", 'f', "truncated: 4 bytes, too short for a .npy header"},
    {BAD "bad_magic.npy", 'f', "not a .npy file"},
    {BAD "text_file.npy", 'f', "not a .npy file"},
    {BAD "version_4.npy", 'f', "unsupported .npy format version 4.0"},
    {BAD "header_len_beyond_file.npy", 'f', "truncated header: it declares 5000 bytes"},
    {BAD "header_len_huge_v2.npy", 'f', "header length 4294967280 exceeds"},
    {BAD "truncated_data.npy", 'f',
     "truncated: shape (3, 4) of <f4 needs 48 data bytes, the file "
     "has 20"},
    {BAD "truncated_big_shape.npy", 'f', "truncated: shape (1000000, 4) of <f4 needs 16000000"},
    {BAD "trailing_bytes.npy", 'f', "7 unexpected bytes after the data"},
    {BAD "shape_overflow.npy", 'f', "too large (its byte size overflows)"},
    {BAD "shape_beyond_memory.npy", 'f', "GiB, more than this machine's"},
    {BAD "fortran_order.npy", 'f', "Fortran-order array; expected C order"},
    {BAD "big_endian.npy", 'f', "big-endian dtype '>f4'"},
    {BAD "complex_dtype.npy", 'f', "unsupported dtype '<c8'"},
    {BAD "bool_dtype.npy", 'i', "unsupported dtype '|b1'"},
    {BAD "structured_dtype.npy", 'f', "structured (record) dtype is not supported"},
    {BAD "three_dims.npy", 'f', "3-D array of shape (2, 3, 4); expected 1-D or 2-D"},
    {BAD "scalar_0d.npy", 'f', "0-D (scalar) array"},
    {BAD "missing_shape_key.npy", 'f', "missing key 'shape'"},
    {BAD "header_not_dict.npy", 'f', "malformed .npy header at header byte 0: expected '{'"},
    {BAD "unterminated_dict.npy", 'f', "expected ',' or '}' after a value"},
    {BAD "negative_dim.npy", 'f', "expected a non-negative integer dimension"},
    {BAD "unknown_key.npy", 'f', "unexpected or repeated key 'extra'"},
    {BAD "fortran_order_not_bool.npy", 'f', "expected True or False"},
    {BAD "nan_row2.npy", 'f', "NaN at row 2, column 1"},
    {BAD "inf_row5.npy", 'f', "-Inf at row 5, column 1"},
    {BAD "f8_beyond_float32.npy", 'f', "1e+300 at row 1, column 3 (0-based) is beyond float32"},
    {BAD "f2_nan_1d.npy", 'f', "NaN at row 2 (0-based)"},
    {GOOD "i8_1d.npy", 'f', "dtype <i8 holds integers; expected float"},
    {GOOD "f4_2d.npy", 'i', "dtype <f4 holds floats; expected integers"},
    {BAD "no_such_file.npy", 'f', "cannot open: No such file or directory"},
    {BAD, 'f', "is a directory"},
};

static void test_npy_broken_files_fail_with_exit_2_naming_file_and_problem(void) {
    for (size_t k = 0; k < sizeof BAD_CASES / sizeof BAD_CASES[0]; k++) {
        const BadCase *c = &BAD_CASES[k];
        Err e = {{0}};
        NpyShape s;
        int rc, data_null;
        if (c->reader == 'f') {
            float *x = (float *)&s; /* any non-NULL value: a failed read must set NULL */
            rc = npy_read_f32(c->file, &x, &s, &e);
            data_null = x == NULL;
            if (rc == LDE_OK) free(x);
        } else {
            int64_t *y = (int64_t *)&s;
            rc = npy_read_i64(c->file, &y, &s, &e);
            data_null = y == NULL;
            if (rc == LDE_OK) free(y);
        }
        int ok = rc == LDE_EINPUT && data_null && strstr(e.msg, c->file) == e.msg &&
                 strstr(e.msg, c->message) != NULL && strchr(e.msg, '\n') == NULL;
        if (CHECK(ok)) fprintf(stderr, "  %s: rc %d, message: %s\n", c->file, rc, e.msg);
    }
}

/* A refusal is LDE_EINPUT and one line naming the file. */
static int clean_refusal(int rc, const Err *e, const char *path) {
    int ok = rc == LDE_OK || (rc == LDE_EINPUT && strstr(e->msg, path) && !strchr(e->msg, '\n'));
    if (CHECK(ok)) fprintf(stderr, "  %s: rc %d: %s\n", path, rc, e->msg);
    return ok;
}

/* One corpus file through the four readers, as tests/fuzz/fuzz_npy.c does. */
static void read_corpus_file(const char *path) {
    Err e = {{0}};
    NpyShape s;
    char dtype[8];
    clean_refusal(npy_shape(path, &s, dtype, &e), &e, path);
    float *x = NULL;
    clean_refusal(npy_read_f32(path, &x, &s, &e), &e, path);
    free(x);
    int64_t *y = NULL;
    clean_refusal(npy_read_i64(path, &y, &s, &e), &e, path);
    free(y);
}

/* Every fuzz seed and every crash fuzz_npy found (tests/fuzz/corpus/npy) reads or
 * fails cleanly: the regression suite for the fuzzer, also run under ASan by make
 * check SAN=1. crash_newline_in_key.npy quoted a key holding newlines into its
 * message, which then spanned three lines. */
static void test_npy_fuzz_corpus_reads_or_fails_cleanly(void) {
    CHECK(unit_each_file("tests/fuzz/corpus/npy", read_corpus_file) >= 40);
    Err e = {{0}};
    float *x = NULL;
    NpyShape s;
    CHECK(npy_read_f32("tests/fuzz/corpus/npy/crash_newline_in_key.npy", &x, &s, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "repeated key 'de1.0,2.0,3.0 4.0,5.0,6.0 der'") != NULL);
}

/* ---- N-D arrays (images) ------------------------------------------------------ */

#define IMG "tests/fixtures/images/"

/* The image fixtures' formula (make_npy_fixtures.py). */
static int level_at(long i, long y, long x, long ch) {
    return (int)((97 * i + 29 * y + 7 * x + 61 * ch + 255) % 256);
}

static void test_npy_read_u8_reads_nd_arrays_as_stored(void) {
    uint8_t *p = NULL;
    NpyDims d;
    Err e = {{0}};
    int rc = npy_read_u8(IMG "u8_nhwc3.npy", &p, &d, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(d.ndim == 4 && d.dims[0] == 2 && d.dims[1] == 4 && d.dims[2] == 5 && d.dims[3] == 3);
    int same = 1;
    for (long k = 0; k < 2 * 4 * 5 * 3; k++)
        same &= p[k] == level_at(k / 60, k / 15 % 4, k / 3 % 5, k % 3);
    CHECK(same);
    free(p);
    p = NULL;
    /* Rank 3, unused dims 1; rank 1 too. */
    CHECK(npy_read_u8(IMG "u8_nhw.npy", &p, &d, &e) == LDE_OK);
    CHECK(d.ndim == 3 && d.dims[0] == 3 && d.dims[1] == 4 && d.dims[2] == 5 && d.dims[3] == 1);
    if (p) CHECK(p[0] == 255 && p[59] == level_at(2, 3, 4, 0));
    free(p);
    p = NULL;
    CHECK(npy_read_u8(GOOD "u1_1d.npy", &p, &d, &e) == LDE_OK);
    CHECK(d.ndim == 1 && d.dims[0] == 5);
    if (p) CHECK(p[0] == 0 && p[3] == 200 && p[4] == 255);
    free(p);
}

static void test_npy_read_u8_refuses_other_dtypes_naming_them(void) {
    const char *files[] = {GOOD "f4_2d.npy", GOOD "i8_1d.npy", IMG "f2_nhw.npy"};
    const char *found[] = {"dtype <f4; expected uint8 (|u1)", "dtype <i8; expected uint8 (|u1)",
                           "dtype <f2; expected uint8 (|u1)"};
    for (int k = 0; k < 3; k++) {
        uint8_t *p = (uint8_t *)&k; /* any non-NULL value: a failed read must set NULL */
        NpyDims d;
        Err e = {{0}};
        int rc = npy_read_u8(files[k], &p, &d, &e);
        int ok = rc == LDE_EINPUT && p == NULL && strstr(e.msg, files[k]) == e.msg &&
                 strstr(e.msg, found[k]) != NULL;
        if (CHECK(ok)) fprintf(stderr, "  %s: rc %d: %s\n", files[k], rc, e.msg);
    }
}

/* The N-D readers take ranks 1 to 4; the feature readers still refuse 3-D. */
static void test_npy_nd_readers_take_ranks_1_to_4(void) {
    NpyDims d;
    NpyShape s;
    char dtype[8];
    Err e = {{0}};
    CHECK(npy_shape_nd(BAD "three_dims.npy", &d, dtype, &e) == LDE_OK);
    CHECK(d.ndim == 3 && d.dims[0] == 2 && d.dims[1] == 3 && d.dims[2] == 4 && d.dims[3] == 1);
    CHECK(strcmp(dtype, "<f4") == 0);
    CHECK(npy_shape(BAD "three_dims.npy", &s, dtype, &e) == LDE_EINPUT);
    CHECK(npy_shape_nd(GOOD "f4_2d.npy", &d, dtype, &e) == LDE_OK);
    CHECK(d.ndim == 2 && d.dims[0] == 3 && d.dims[1] == 4 && d.dims[2] == 1);
    CHECK(npy_shape_nd("tests/bad_inputs/images/five_dims.npy", &d, dtype, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "5-D array of shape (1, 2, 2, 2, 1); expected 1-D to 4-D") != NULL);
    CHECK(npy_shape_nd(BAD "scalar_0d.npy", &d, dtype, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "0-D (scalar) array; expected 1-D to 4-D") != NULL);
    /* Header problems are the same as for the 2-D reader. */
    CHECK(npy_shape_nd(BAD "truncated_data.npy", &d, dtype, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "truncated: shape (3, 4) of <f4 needs 48 data bytes") != NULL);

    float *x = NULL;
    CHECK(npy_read_f32_nd(IMG "f4_nhw.npy", &x, &d, &e) == LDE_OK);
    CHECK(d.ndim == 3 && d.dims[0] == 3 && d.dims[1] == 4 && d.dims[2] == 5);
    if (x) CHECK(x[59] == (float)(level_at(2, 3, 4, 0) / 255.0));
    free(x);
    x = NULL;
    CHECK(npy_read_f32_nd(BAD "three_dims.npy", &x, &d, &e) == LDE_OK && x && x[23] == 0.0f);
    free(x);
    x = NULL;
    CHECK(npy_read_f32_nd(IMG "u8_nhw.npy", &x, &d, &e) == LDE_EINPUT && x == NULL);
    CHECK(strstr(e.msg, "dtype |u1 holds integers; expected float") != NULL);
}

/* npy_read_f32_nd leaves the range to its caller: NaN and Inf come back as stored
 * (npy_read_f32 refuses the same files). */
static void test_npy_read_f32_nd_keeps_nan_and_inf(void) {
    float *x = NULL;
    NpyDims d;
    Err e = {{0}};
    CHECK(npy_read_f32_nd(BAD "nan_row2.npy", &x, &d, &e) == LDE_OK);
    if (x) CHECK(isnan(x[2 * 4 + 1]) && x[0] == 0.25f);
    free(x);
    x = NULL;
    CHECK(npy_read_f32_nd(BAD "inf_row5.npy", &x, &d, &e) == LDE_OK);
    if (x) CHECK(isinf(x[5 * 2 + 1]) && x[5 * 2 + 1] < 0);
    free(x);
    x = NULL;
    CHECK(npy_read_f32_nd(BAD "f8_beyond_float32.npy", &x, &d, &e) == LDE_OK);
    if (x) CHECK(isinf(x[1 * 4 + 3]));
    free(x);
}

/* npy_write_u8 writes what np.save writes for the same array, byte for byte, and
 * reads back. */
static void test_npy_write_u8_matches_numpy_and_roundtrips(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/u8.npy", unit_tmpdir());
    uint8_t px[60];
    for (int k = 0; k < 60; k++) px[k] = (uint8_t)level_at(k / 20, k / 5 % 4, k % 5, 0);
    Err e = {{0}};
    CHECK(npy_write_u8(path, px, (NpyDims){3, {3, 4, 5}}, &e) == LDE_OK);
    unsigned char a[512], b[512];
    FILE *fa = fopen(path, "rb"), *fb = fopen(IMG "u8_nhw.npy", "rb");
    size_t na = fa ? fread(a, 1, sizeof a, fa) : 0, nb = fb ? fread(b, 1, sizeof b, fb) : 0;
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    CHECK(na == 128 + 60 && nb == na && memcmp(a, b, na) == 0);

    uint8_t q[2 * 3 * 1 * 4];
    for (int k = 0; k < 24; k++) q[k] = (uint8_t)(250 + k);
    CHECK(npy_write_u8(path, q, (NpyDims){4, {2, 3, 1, 4}}, &e) == LDE_OK);
    uint8_t *r = NULL;
    NpyDims d;
    CHECK(npy_read_u8(path, &r, &d, &e) == LDE_OK);
    CHECK(d.ndim == 4 && d.dims[0] == 2 && d.dims[1] == 3 && d.dims[2] == 1 && d.dims[3] == 4);
    if (r) CHECK(memcmp(r, q, sizeof q) == 0);
    free(r);
    CHECK(npy_write_u8(path, q, (NpyDims){5, {1, 1, 1, 1}}, &e) == LDE_ERUN);
    CHECK(strstr(e.msg, "cannot write an array of shape (rank 5)") != NULL);
}

static void test_npy_dims_text_spells_shapes_like_numpy(void) {
    char buf[96];
    CHECK(strcmp(npy_dims_text((NpyDims){1, {5}}, buf, sizeof buf), "(5,)") == 0);
    CHECK(strcmp(npy_dims_text((NpyDims){4, {2, 28, 28, 3}}, buf, sizeof buf), "(2, 28, 28, 3)") ==
          0);
    CHECK(strcmp(npy_dims_text((NpyDims){0, {0}}, buf, sizeof buf), "(rank 0)") == 0);
}

/* The N-D readers on every fuzz seed and crash: read or fail cleanly. */
static void read_corpus_file_nd(const char *path) {
    Err e = {{0}};
    NpyDims d;
    char dtype[8];
    clean_refusal(npy_shape_nd(path, &d, dtype, &e), &e, path);
    float *x = NULL;
    clean_refusal(npy_read_f32_nd(path, &x, &d, &e), &e, path);
    free(x);
    uint8_t *p = NULL;
    clean_refusal(npy_read_u8(path, &p, &d, &e), &e, path);
    free(p);
}

static void test_npy_nd_readers_on_fuzz_corpus_read_or_fail_cleanly(void) {
    CHECK(unit_each_file("tests/fuzz/corpus/npy", read_corpus_file_nd) >= 40);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_npy_reads_numpy_float_dtypes_as_float32),
        UNIT(test_npy_float16_special_values_convert_exactly),
        UNIT(test_npy_reads_1d_float_and_empty_2d),
        UNIT(test_npy_reads_integer_dtypes_as_int64),
        UNIT(test_npy_shape_reads_header_only),
        UNIT(test_npy_write_read_roundtrip_is_bit_exact),
        UNIT(test_npy_written_header_matches_numpy),
        UNIT(test_npy_write_to_missing_directory_fails_naming_path),
        UNIT(test_npy_broken_files_fail_with_exit_2_naming_file_and_problem),
        UNIT(test_npy_fuzz_corpus_reads_or_fails_cleanly),
        UNIT(test_npy_read_u8_reads_nd_arrays_as_stored),
        UNIT(test_npy_read_u8_refuses_other_dtypes_naming_them),
        UNIT(test_npy_nd_readers_take_ranks_1_to_4),
        UNIT(test_npy_read_f32_nd_keeps_nan_and_inf),
        UNIT(test_npy_write_u8_matches_numpy_and_roundtrips),
        UNIT(test_npy_dims_text_spells_shapes_like_numpy),
        UNIT(test_npy_nd_readers_on_fuzz_corpus_read_or_fail_cleanly),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
