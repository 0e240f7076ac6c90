/* rows.h — a source of float rows read chunk by chunk (issue 18): the training
 * features of a fit that never holds them whole (pca.h, preprocess.h). A caller
 * hands rows out of an array in memory, a mapped file (converting float16) or
 * another transformation; the fit sees only this interface.
 *
 * Invariant: rows(ctx, r0, m, buf) returns rows [r0, r0+m) of an (n, d) matrix,
 * always the same values for the same rows, either in place or written into buf
 * (m·d floats, the caller's); NULL when they cannot be produced (the source keeps
 * the reason). A pointer returned stays valid until the next call. */
#ifndef LDE_ROWS_H
#define LDE_ROWS_H

typedef struct {
    long n;
    int d;
    const float *(*rows)(void *ctx, long r0, long m, float *buf);
    void *ctx;
} RowSource;

/* An array x (n, d) in memory: RowArray a = {x, d};
 * RowSource src = {n, d, rows_of_array, &a} hands its rows out in place. */
typedef struct {
    const float *x;
    int d;
} RowArray;

static inline const float *rows_of_array(void *ctx, long r0, long m, float *buf) {
    (void)m, (void)buf;
    const RowArray *a = ctx;
    return a->x + r0 * a->d;
}

#endif
