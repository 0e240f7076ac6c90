/* npy.h — NumPy .npy arrays: how user features, labels, images and lde's caches
 * travel.
 *
 * Reads format versions 1.0, 2.0 and 3.0 (they differ only in the width of the
 * header length and the header's text encoding), arrays in C order of
 * little-endian dtypes <f4, <f2, <f8 (returned as float32), <i8, <i4, |u1
 * (returned as int64, for labels) and |u1 as is (images). Features and labels are
 * 1-D or 2-D: npy_shape, npy_read_f32 and npy_read_i64 refuse any other rank.
 * Images are 3-D or 4-D (N, H, W[, C]): the *_nd readers and npy_read_u8 take
 * ranks 1 to 4. Writes version 1.0 <f4 and <i8 (1-D, 2-D) and |u1 (ranks 1 to 4)
 * through atomicfile.h, so `np.load` reads every file lde produces and no reader
 * ever sees half a file.
 *
 * Every check that needs only the header and the file size runs before anything
 * is allocated: a corrupt header can neither make lde allocate terabytes nor read
 * past the end of the file. Errors return LDE_EINPUT (LDE_ERUN for a failed
 * write) with one line naming the file and the problem. */
#ifndef LDE_NPY_H
#define LDE_NPY_H

#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

/* A 1-D array of n elements is {1, n, 1}; a 2-D array is {2, rows, cols}. */
typedef struct {
    int ndim;
    long rows, cols;
} NpyShape;

enum { NPY_MAX_NDIM = 4 };

/* The whole shape of an array of rank 1 to 4 (images: (N, H, W) or (N, H, W, C)):
 * dims[0..ndim-1]; a reader sets the unused entries to 1, a writer ignores them.
 * A type of its own rather than more fields in NpyShape, whose callers build it as
 * {2, rows, cols} (a field they leave out is an error under -Wextra -Werror). */
typedef struct {
    int ndim;
    long dims[NPY_MAX_NDIM];
} NpyDims;

/* "(2, 3, 4)", or "(5,)" for 1-D, into buf (up to 96 bytes are enough); returns buf. */
const char *npy_dims_text(NpyDims d, char *buf, size_t cap);

/* Reads and validates the header only (magic, version, dict, dtype, order, number of
 * dimensions, shape against the file size); dtype receives the descr, e.g. "<f4".
 * A rank other than 1 or 2 is refused. */
int npy_shape(const char *path, NpyShape *s, char dtype[8], Err *e);

/* npy_shape for a file read in place (data/npymap.h): the same checks, a declared
 * shape beyond the file's size still refused, but no refusal of a shape larger than
 * this machine's memory; *data_offset receives where the data starts. */
int npy_layout(const char *path, NpyShape *s, char dtype[8], long *data_offset, Err *e);

/* IEEE 754 binary16 -> float32 (zero, subnormals, Inf and NaN included). */
float npy_half_to_float(uint16_t b);

/* The refusal of a stored float value x that is not a finite float32, at element k of
 * an array of shape s: "PATH: NaN at row r, column c (0-based); ..."; returns
 * LDE_EINPUT. */
int npy_refuse_value(const char *path, NpyShape s, long k, double x, Err *e);

/* npy_shape for ranks 1 to 4 (images): the same checks, nothing else read. */
int npy_shape_nd(const char *path, NpyDims *d, char dtype[8], Err *e);

/* Float array -> *data (rows*cols floats, malloc'd, caller frees). <f2 and <f8 are
 * converted to float32; NaN, Inf and <f8 values beyond float32 range are refused
 * with their row and column. An integer dtype is refused. */
int npy_read_f32(const char *path, float **data, NpyShape *s, Err *e);

/* Integer array -> *data (rows*cols int64, malloc'd, caller frees). A float dtype
 * is refused. */
int npy_read_i64(const char *path, int64_t **data, NpyShape *s, Err *e);

/* Float array of rank 1 to 4 -> *data (dims[0]·…·dims[ndim-1] floats in C order, malloc'd,
 * caller frees), converted to float32 like npy_read_f32 but with no finiteness
 * check: NaN and Inf come back as they are (an <f8 beyond float32 range as +-Inf),
 * for a caller that checks a range of its own and names the element in its terms
 * (pixelset.c: image, row, column, channel). An integer dtype is refused. */
int npy_read_f32_nd(const char *path, float **data, NpyDims *d, Err *e);

/* uint8 (|u1) array of rank 1 to 4 -> *data (dims[0]·…·dims[ndim-1] bytes in C
 * order, as stored, malloc'd, caller frees). Any other dtype is refused, naming it. */
int npy_read_u8(const char *path, uint8_t **data, NpyDims *d, Err *e);

/* data (s.rows*s.cols) -> PATH as a version 1.0 .npy of dtype <f4 / <i8, with
 * shape (rows,) when s.ndim is 1 and (rows, cols) when it is 2. */
int npy_write_f32(const char *path, const float *data, NpyShape s, Err *e);
int npy_write_i64(const char *path, const int64_t *data, NpyShape s, Err *e);

/* data (dims[0]·…·dims[ndim-1] bytes) -> PATH as a version 1.0 .npy of dtype |u1
 * and shape (dims[0], ..., dims[ndim-1]), ndim 1 to 4. */
int npy_write_u8(const char *path, const uint8_t *data, NpyDims d, Err *e);

#endif
