/* inspect.c — `lde inspect FILE.npy`: what an array file holds, before it is used.
 *
 * Reads the whole file with the same reader the runner uses (npy.h), so every
 * problem the runner would refuse (truncation, Fortran order, NaN at row r, ...)
 * is reported here the same way, with exit code 2. */
#include "cli/commands.h"
#include "data/npy.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: lde inspect FILE.npy\n"
    "\n"
    "Prints the array's dtype, shape, min / max / mean, the fraction of exact zeros\n"
    "and, for 2-D float features, how many columns never vary (dead units). Float\n"
    "files must be finite: a NaN or Inf is reported with its row, exit code 2.\n";

/* Summary of n values; constant columns counted over a rows x cols layout. */
typedef struct {
    double min, max, mean, zeros;
    long constant_cols;
} Summary;

static Summary summarize_f32(const float *x, long rows, long cols) {
    Summary s = {0, 0, 0, 0, 0};
    long n = rows * cols, zeros = 0;
    double sum = 0;
    for (long k = 0; k < n; k++) {
        if (k == 0 || x[k] < s.min) s.min = x[k];
        if (k == 0 || x[k] > s.max) s.max = x[k];
        sum += x[k];
        zeros += x[k] == 0.0f;
    }
    for (long j = 0; j < cols && rows > 0; j++) {
        long i = 1;
        while (i < rows && x[i * cols + j] == x[j]) i++;
        s.constant_cols += i == rows;
    }
    s.mean = n ? sum / (double)n : 0;
    s.zeros = n ? (double)zeros / (double)n : 0;
    return s;
}

static Summary summarize_i64(const int64_t *x, long n) {
    Summary s = {0, 0, 0, 0, 0};
    long zeros = 0;
    double sum = 0;
    for (long k = 0; k < n; k++) {
        if (k == 0 || (double)x[k] < s.min) s.min = (double)x[k];
        if (k == 0 || (double)x[k] > s.max) s.max = (double)x[k];
        sum += (double)x[k];
        zeros += x[k] == 0;
    }
    s.mean = n ? sum / (double)n : 0;
    s.zeros = n ? (double)zeros / (double)n : 0;
    return s;
}

static int inspect_run(int argc, char **argv, Err *e) {
    if (argc != 2) return fail(e, LDE_EINPUT, "expected one FILE.npy (lde inspect --help)");
    const char *path = argv[1];
    NpyShape s;
    char dtype[8];
    int rc = npy_shape(path, &s, dtype, e);
    if (rc != LDE_OK) return rc;
    int is_float = dtype[1] == 'f';
    Summary sum;
    if (is_float) {
        float *x;
        rc = npy_read_f32(path, &x, &s, e);
        if (rc != LDE_OK) return rc;
        sum = summarize_f32(x, s.rows, s.cols);
        free(x);
    } else {
        int64_t *y;
        rc = npy_read_i64(path, &y, &s, e);
        if (rc != LDE_OK) return rc;
        sum = summarize_i64(y, s.rows * s.cols);
        free(y);
    }
    printf("file      %s\n", path);
    printf("dtype     %s (read as %s)\n", dtype, is_float ? "float32" : "int64");
    if (s.ndim == 1)
        printf("shape     (%ld,)\n", s.rows);
    else
        printf("shape     (%ld, %ld)\n", s.rows, s.cols);
    printf("min       %.9g\nmax       %.9g\nmean      %.9g\n", sum.min, sum.max, sum.mean);
    printf("zeros     %.4f of the values are exactly 0\n", sum.zeros);
    if (is_float && s.ndim == 2)
        printf("constant  %ld of %ld columns never vary\n", sum.constant_cols, s.cols);
    if (is_float) printf("finite    yes (no NaN or Inf)\n");
    return LDE_OK;
}

const Command cmd_inspect = {
    "inspect", "describe a .npy file: shape, dtype, range, zeros, NaN check", usage, inspect_run};
