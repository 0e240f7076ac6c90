/* npyhead.h — the shape and dtype of a .npy file, from its header alone.
 *
 * Config validation must check dimensions (train/val/OOD agree, pca <= d) before
 * anything runs, without loading arrays that may be gigabytes. This reads at most
 * the header (magic, version, the dict with 'descr', 'fortran_order', 'shape') and
 * checks that the file is long enough for the declared shape. Kept small so it can
 * be replaced by the full reader's npy_shape() once that lands. */
#ifndef LDE_NPYHEAD_H
#define LDE_NPYHEAD_H

#include "err.h"

enum { NPY_MAX_NDIM = 4 };

typedef struct {
    int ndim;
    long long shape[NPY_MAX_NDIM];
    char descr[8]; /* e.g. "<f4", "<i8" */
} NpyHead;

/* Reads path's header into h. LDE_EINPUT naming the file and the problem when it is
 * missing, not a regular file, not a .npy, Fortran order, or shorter than its shape. */
int npy_head_read(const char *path, NpyHead *h, Err *e);

#endif
