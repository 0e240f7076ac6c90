/* npymap.h — a 2-D float .npy read in place: training features too large to copy
 * (issue 18; an ImageNet-size float16 file is 5.2 GB, its float32 copy 10.5 GB).
 *
 * The file is mapped read-only; rows are handed out as float32, in place for a <f4
 * file whose data is 4-byte aligned, converted into the caller's buffer for <f2 and
 * <f8 (and a misaligned <f4). Every row handed out has been checked finite: a NaN,
 * an Inf or an <f8 value beyond float32 range is refused naming its row and column,
 * as npy_read_f32 does. The header checks are npy.h's (a declared shape beyond the
 * file's size is refused) except the one against the machine's memory: the array is
 * never copied whole. npymap_release drops the pages of rows already used from this
 * process's resident set (they stay in the page cache), so a sequential pass over a
 * file larger than memory does not grow the process. */
#ifndef LDE_NPYMAP_H
#define LDE_NPYMAP_H

#include "data/npy.h"
#include "util/err.h"

#include <stddef.h>

typedef struct {
    char path[4096];
    int ndim; /* 1 or 2 */
    long rows;
    int cols;
    int elem;  /* bytes per stored value: 2 (<f2), 4 (<f4) or 8 (<f8) */
    void *map; /* the whole file, read-only; NULL when rows·cols = 0 */
    int fd;    /* the file, open while mapped (gathers pread it); else -1 */
    size_t map_len;
    const unsigned char *data; /* the first value */
} NpyMap;

/* Maps PATH, a 1-D or 2-D float array ((N,) is N rows of one column). */
int npymap_open(const char *path, NpyMap *m, Err *e);

/* Rows [r0, r0+n) as float32 (n, cols): a pointer into the map, or buf (n·cols
 * floats) filled by conversion. NULL with *e set when a value is not finite. */
const float *npymap_rows(const NpyMap *m, long r0, long n, float *buf, Err *e);

/* Rows idx[0..n) -> out (n, cols), converted and checked like npymap_rows; read
 * with pread, so rows drawn all over the file add nothing to the resident set. */
int npymap_gather(const NpyMap *m, const int *idx, long n, float *out, Err *e);

/* Drops rows [r0, r0+n)'s whole pages from the resident set (a hint; rows handed
 * out in place before must no longer be used). */
void npymap_release(const NpyMap *m, long r0, long n);

void npymap_close(NpyMap *m);

#endif
