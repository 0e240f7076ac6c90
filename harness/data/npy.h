/* npy.h — NumPy .npy arrays: how user features, labels and lde's caches travel.
 *
 * Reads format versions 1.0, 2.0 and 3.0 (they differ only in the width of the
 * header length and the header's text encoding), 1-D and 2-D arrays in C order,
 * little-endian dtypes <f4, <f2, <f8 (returned as float32) and <i8, <i4, |u1
 * (returned as int64, for labels). Writes version 1.0 <f4 and <i8 through
 * atomicfile.h, so `np.load` reads every file lde produces and no reader ever sees
 * half a file.
 *
 * Every check that needs only the header and the file size runs before anything
 * is allocated: a corrupt header can neither make lde allocate terabytes nor read
 * past the end of the file. Errors return LDE_EINPUT (LDE_ERUN for a failed
 * write) with one line naming the file and the problem. */
#ifndef LDE_NPY_H
#define LDE_NPY_H

#include "util/err.h"

#include <stdint.h>

/* A 1-D array of n elements is {1, n, 1}; a 2-D array is {2, rows, cols}. */
typedef struct {
    int ndim;
    long rows, cols;
} NpyShape;

/* Reads and validates the header only (magic, version, dict, dtype, order, number of
 * dimensions, shape against the file size); dtype receives the descr, e.g. "<f4". */
int npy_shape(const char *path, NpyShape *s, char dtype[8], Err *e);

/* Float array -> *data (rows*cols floats, malloc'd, caller frees). <f2 and <f8 are
 * converted to float32; NaN, Inf and <f8 values beyond float32 range are refused
 * with their row and column. An integer dtype is refused. */
int npy_read_f32(const char *path, float **data, NpyShape *s, Err *e);

/* Integer array -> *data (rows*cols int64, malloc'd, caller frees). A float dtype
 * is refused. */
int npy_read_i64(const char *path, int64_t **data, NpyShape *s, Err *e);

/* data (s.rows*s.cols) -> PATH as a version 1.0 .npy of dtype <f4 / <i8, with
 * shape (rows,) when s.ndim is 1 and (rows, cols) when it is 2. */
int npy_write_f32(const char *path, const float *data, NpyShape s, Err *e);
int npy_write_i64(const char *path, const int64_t *data, NpyShape s, Err *e);

#endif
