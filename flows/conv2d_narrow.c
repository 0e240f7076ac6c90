/* conv2d_narrow.c — see conv2d_narrow.h. Both passes over data (forward, backward
 * data) are one kernel, direct(): an output plane is a sum over input planes and 9
 * taps of a weight times the input plane shifted; backward data is that with the
 * weights transposed and flipped (the gradient of a correlation is the correlation
 * with the flipped kernel). */
#include "flows/conv2d_narrow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 16 floats in one value; loads and stores go through memcpy (any alignment). */
typedef float v16 __attribute__((vector_size(64)));
enum { VL = 16, ROWS = 4, OUTS = 2 }; /* lanes; output rows and planes per pass */

/* flatten: the helpers below are compiled into each clone, for its instruction set. */
#define CLONES __attribute__((target_clones("avx512f", "fma", "default"), flatten))

/* Through pointers: a v16 passed by value would need AVX-512's calling convention. */
static inline void load(v16 *v, const float *p) {
    memcpy(v, p, sizeof *v);
}

/* 16 floats of plane k of Q at offset off, or zeros when k is past the last plane. */
static inline void o_load(v16 *v, const float *Q, long plane, int k, int planes, long off) {
    if (k < planes)
        load(v, Q + k * plane + off);
    else
        memset(v, 0, sizeof *v);
}

/* The zero-bordered copy of one image's planes: plane c's value (y, x) sits at row
 * y + 1, column x + 1 of a (rows, wp) block. wp leaves room for the last 16-lane
 * segment and its two right taps; rows for the last block of ROWS output rows. */
typedef struct {
    int rows, wp;
} Pad;

static Pad pad_shape(int h, int w) {
    return (Pad){h + 2 + ROWS, (w + VL - 1) / VL * VL + 2};
}

/* Per-thread copies, grown as needed and kept: two padded images, the transposed
 * weights of backward data, one pass's weights of direct(). */
enum { BUF_A, BUF_B, BUF_W, BUF_PASS, NBUF };
static _Thread_local float *tl_buf[NBUF];
static _Thread_local size_t tl_cap[NBUF];

static float *buffer(int i, size_t floats) {
    if (floats > tl_cap[i]) {
        free(tl_buf[i]);
        tl_buf[i] = malloc(floats * sizeof(float));
        if (!tl_buf[i]) {
            fprintf(stderr, "lde: out of memory (conv2d_narrow)\n");
            abort();
        }
        tl_cap[i] = floats;
    }
    return tl_buf[i];
}

/* planes (c, h, w), plane stride ch -> P (c, rows, wp) zero-bordered; every float of
 * P written once. */
static inline void pad_planes(const float *restrict src, long ch, int c, int h, int w, Pad s,
                              float *restrict P) {
    for (int k = 0; k < c; k++)
        for (int r = 0; r < s.rows; r++) {
            float *row = P + ((long)k * s.rows + r) * s.wp;
            if (r < 1 || r > h) {
                memset(row, 0, sizeof(float) * (size_t)s.wp);
                continue;
            }
            /* a loop, not memcpy: w is short, and a library call per row costs more */
            const float *in = src + k * ch + (long)(r - 1) * w;
            row[0] = 0.0f;
#pragma omp simd
            for (int x = 0; x < w; x++) row[x + 1] = in[x];
            for (int x = w + 1; x < s.wp; x++) row[x] = 0.0f;
        }
}

/* acc += a·v lane by lane, each a fused multiply-add (one rounding: the same bits
 * from the FMA instructions the AVX-512 and FMA clones use as from the baseline's
 * libm fmaf); fma16v with a vector a. */
static inline void fma16(v16 *acc, float a, const v16 *v) {
#pragma omp simd
    for (int l = 0; l < VL; l++) (*acc)[l] = fmaf(a, (*v)[l], (*acc)[l]);
}

static inline void fma16v(v16 *acc, const v16 *a, const v16 *v) {
#pragma omp simd
    for (int l = 0; l < VL; l++) (*acc)[l] = fmaf((*a)[l], (*v)[l], (*acc)[l]);
}

/* The first n lanes of v to out: all 16 in one store, fewer one by one. */
static inline void store(float *out, const v16 *v, int n) {
    if (n == VL) {
        memcpy(out, v, sizeof *v);
        return;
    }
    for (int l = 0; l < n; l++) out[l] = (*v)[l];
}

/* out plane o (y, x) = bias[o] + Σ_i Σ_kx Σ_ky wt[o][i][ky·3 + kx] · P[i][y + ky][x + kx],
 * for o < nout, i < nin, summed in that order from the bias (0 when bias is NULL),
 * then max(·, 0) when relu is set (NaN to 0, as relu.h). Per pass OUTS planes × ROWS rows × 16
 * columns stay in registers; each of the ROWS + 2 input rows a pass reads at one kx
 * is loaded once and feeds every (row, ky) it meets. A missing plane of the last pass
 * gets zero weights. */
static inline void direct(const float *P, Pad s, int nin, const float *wt, const float *bias,
                          int relu, int nout, float *out, long och, int h, int w) {
    long plane = (long)s.rows * s.wp;
    /* one pass's weights in the order the loop reads them: [i][kx][k][ky] */
    float *wp = buffer(BUF_PASS, 9L * OUTS * nin);
    for (int o0 = 0; o0 < nout; o0 += OUTS) {
        for (int i = 0; i < nin; i++)
            for (int kx = 0; kx < 3; kx++)
                for (int k = 0; k < OUTS; k++)
                    for (int ky = 0; ky < 3; ky++)
                        wp[((i * 3L + kx) * OUTS + k) * 3 + ky] =
                            o0 + k < nout ? wt[((long)(o0 + k) * nin + i) * 9 + ky * 3L + kx]
                                          : 0.0f;
        for (int y0 = 0; y0 < h; y0 += ROWS)
            for (int x0 = 0; x0 < w; x0 += VL) {
                v16 acc[OUTS][ROWS];
                for (int k = 0; k < OUTS; k++) {
                    float b0 = bias && o0 + k < nout ? bias[o0 + k] : 0.0f;
                    for (int r = 0; r < ROWS; r++)
                        for (int l = 0; l < VL; l++) acc[k][r][l] = b0;
                }
                for (int i = 0; i < nin; i++)
                    for (int kx = 0; kx < 3; kx++) {
                        const float *src = P + i * plane + (long)y0 * s.wp + x0 + kx;
                        const float *wo = wp + (i * 3L + kx) * OUTS * 3; /* [k][ky] */
#pragma GCC unroll 6
                        for (int j = 0; j < ROWS + 2; j++) { /* input row y0 + j */
                            v16 v;
                            load(&v, src + (long)j * s.wp);
#pragma GCC unroll 3
                            for (int ky = 0; ky < 3; ky++) { /* output row y0 + j - ky */
                                if (j - ky < 0 || j - ky >= ROWS) continue;
#pragma GCC unroll 2
                                for (int k = 0; k < OUTS; k++)
                                    fma16(&acc[k][j - ky], wo[k * 3 + ky], &v);
                            }
                        }
                    }
                int cols = w - x0 < VL ? w - x0 : VL;
                for (int k = 0; k < OUTS && o0 + k < nout; k++)
                    for (int r = 0; r < ROWS && y0 + r < h; r++) {
                        if (relu)
                            for (int l = 0; l < VL; l++)
                                acc[k][r][l] = acc[k][r][l] > 0.0f ? acc[k][r][l] : 0.0f;
                        store(out + (o0 + k) * och + (long)(y0 + r) * w + x0, &acc[k][r], cols);
                    }
            }
    }
}

CLONES void conv2d_narrow_forward(const float *W, const float *bias, int relu, const float *x,
                                  ConvStrides xs, float *y, ConvStrides ys, int cin, int cout,
                                  int n, int h, int w) {
    Pad s = pad_shape(h, w);
    float *P = buffer(BUF_A, (size_t)cin * s.rows * s.wp);
    for (int b = 0; b < n; b++) {
        pad_planes(x + b * xs.img, xs.ch, cin, h, w, s, P);
        direct(P, s, cin, W, bias, relu, cout, y + b * ys.img, ys.ch, h, w);
    }
}

CLONES void conv2d_narrow_backward_data(const float *W, const float *dy, ConvStrides ys, float *dx,
                                        ConvStrides xs, int cin, int cout, int n, int h, int w) {
    Pad s = pad_shape(h, w);
    float *Q = buffer(BUF_A, (size_t)cout * s.rows * s.wp), *wt = buffer(BUF_W, 9L * cin * cout);
    /* wt[ci][co][t] = W[co][ci][8 - t]: dx(y, x) = Σ W[co][ci][ky][kx]·dy(y+1-ky, x+1-kx)
     * = Σ wt[ci][co][ky'·3 + kx']·Q[co][y + ky'][x + kx'] with ky' = 2 - ky. */
    for (int ci = 0; ci < cin; ci++)
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < 9; t++)
                wt[((long)ci * cout + co) * 9 + t] = W[((long)co * cin + ci) * 9 + 8 - t];
    for (int b = 0; b < n; b++) {
        pad_planes(dy + b * ys.img, ys.ch, cout, h, w, s, Q);
        direct(Q, s, cout, wt, NULL, 0, cin, dx + b * xs.img, xs.ch, h, w);
    }
}

CLONES void conv2d_narrow_backward_weights(const float *x, ConvStrides xs, const float *dy,
                                           ConvStrides ys, float *dW, int cin, int cout, int n,
                                           int h, int w) {
    Pad s = pad_shape(h, w);
    long plane = (long)s.rows * s.wp;
    float *P = buffer(BUF_A, (size_t)cin * plane), *Q = buffer(BUF_B, (size_t)cout * plane);
    memset(dW, 0, sizeof(float) * 9 * (size_t)cin * cout);
    for (int b = 0; b < n; b++) {
        pad_planes(x + b * xs.img, xs.ch, cin, h, w, s, P);
        pad_planes(dy + b * ys.img, ys.ch, cout, h, w, s, Q);
        for (int ci = 0; ci < cin; ci++)
            for (int co0 = 0; co0 < cout; co0 += OUTS) {
                /* dW[co][ci][t] += Σ_y,x dy[co](y, x)·x[ci](y + ky - 1, x + kx - 1), for
                 * OUTS planes co at once (a missing one reads as zero); dy's columns
                 * past w are the zero border, so those lanes add nothing. */
                v16 acc[OUTS][9] = {{{0}}};
                for (int y0 = 0; y0 < h; y0 += ROWS)
                    for (int x0 = 0; x0 < w; x0 += VL) {
                        /* dy rows y0 .. y0 + ROWS - 1 (zero past h), then each input row
                         * y0 + j loaded once per kx for every (row, ky) it meets */
                        v16 g[OUTS][ROWS];
                        for (int k = 0; k < OUTS; k++)
                            for (int r = 0; r < ROWS; r++)
                                o_load(&g[k][r], Q, plane, co0 + k, cout,
                                       (long)(y0 + r + 1) * s.wp + x0 + 1);
                        const float *src = P + ci * plane + (long)y0 * s.wp + x0;
#pragma GCC unroll 6
                        for (int j = 0; j < ROWS + 2; j++)
#pragma GCC unroll 3
                            for (int kx = 0; kx < 3; kx++) {
                                v16 v;
                                load(&v, src + (long)j * s.wp + kx);
#pragma GCC unroll 3
                                for (int ky = 0; ky < 3; ky++) {
                                    if (j - ky < 0 || j - ky >= ROWS) continue;
#pragma GCC unroll 2
                                    for (int k = 0; k < OUTS; k++)
                                        fma16v(&acc[k][ky * 3 + kx], &g[k][j - ky], &v);
                                }
                            }
                    }
                for (int k = 0; k < OUTS && co0 + k < cout; k++) {
                    float *d = dW + ((long)(co0 + k) * cin + ci) * 9;
                    for (int t = 0; t < 9; t++) {
                        float sum = 0.0f;
                        for (int l = 0; l < VL; l++) sum += acc[k][t][l];
                        d[t] += sum;
                    }
                }
            }
    }
}
