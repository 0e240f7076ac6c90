/* fuzz_npy.c — libFuzzer target for the .npy readers: the full reader (npy.h:
 * npy_shape — the header-only read config validation uses — npy_read_f32 and
 * npy_read_i64) and the N-D ones images use (npy_shape_nd, npy_read_f32_nd,
 * npy_read_u8).
 *
 * Each input is written to a file and read by all six. Besides the sanitizers,
 * two properties are checked: a refusal is LDE_EINPUT with one line naming the
 * file, and an accepted array has exactly the shape the header reader saw. */
#include "data/npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256], path[300];

static void check_refusal(int rc, const Err *e) {
    if (rc != LDE_OK && (rc != LDE_EINPUT || !strstr(e->msg, path) || strchr(e->msg, '\n'))) {
        fprintf(stderr, "bad error (rc %d): %s\n", rc, e->msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_npy_XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/fuzz.npy", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data, 1, size, f);
    fclose(f);

    Err e = {{0}};
    NpyShape s, s2;
    char dtype[8];
    int rc = npy_shape(path, &s, dtype, &e);
    check_refusal(rc, &e);

    float *x = NULL;
    int rf = npy_read_f32(path, &x, &s2, &e);
    check_refusal(rf, &e);
    if (rf == LDE_OK && (rc != LDE_OK || s2.rows != s.rows || s2.cols != s.cols)) abort();
    free(x);

    int64_t *y = NULL;
    int ri = npy_read_i64(path, &y, &s2, &e);
    check_refusal(ri, &e);
    if (ri == LDE_OK && (rc != LDE_OK || s2.rows != s.rows || s2.cols != s.cols)) abort();
    free(y);

    NpyDims d, d2;
    int rn = npy_shape_nd(path, &d, dtype, &e);
    check_refusal(rn, &e);
    /* What the 2-D header reader accepts, the N-D one accepts with the same shape. */
    if (rc == LDE_OK && (rn != LDE_OK || d.ndim != s.ndim || d.dims[0] != s.rows)) abort();
    float *xn = NULL;
    int rfn = npy_read_f32_nd(path, &xn, &d2, &e);
    check_refusal(rfn, &e);
    if (rfn == LDE_OK && (rn != LDE_OK || memcmp(d2.dims, d.dims, sizeof d.dims) != 0)) abort();
    free(xn);
    uint8_t *u = NULL;
    int ru = npy_read_u8(path, &u, &d2, &e);
    check_refusal(ru, &e);
    if (ru == LDE_OK && (rn != LDE_OK || memcmp(d2.dims, d.dims, sizeof d.dims) != 0)) abort();
    free(u);

    return 0;
}
