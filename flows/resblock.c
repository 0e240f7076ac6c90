/* resblock.c — see resblock.h. Every matrix product is a gemm() with the layer's
 * spectral-norm scale s as alpha, so Ŵ = s·W is never formed. */
#include "flows/resblock.h"

#include "flows/gemm.h"
#include "flows/linear.h"
#include "flows/lipswish.h"
#include "flows/spectral_norm.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of the parameter layout in resblock.h. */
typedef struct {
    long W1, b1, W2, b2, W3, b3, beta, n;
} Layout;

static Layout layout(const ResBlock *rb) {
    long d = rb->d, h = rb->h;
    Layout L;
    L.W1 = 0, L.b1 = h * d;
    L.W2 = L.b1 + h, L.b2 = L.W2 + h * h;
    L.W3 = L.b2 + h, L.b3 = L.W3 + d * h;
    L.beta = L.b3 + d, L.n = L.beta + 2;
    return L;
}

/* Offsets of u1, v1, u2, v2, u3, v3 in the state. */
static void state_offsets(const ResBlock *rb, long off[6]) {
    long d = rb->d, h = rb->h;
    off[0] = 0, off[1] = h;                     /* u1 (h), v1 (d) */
    off[2] = h + d, off[3] = 2 * h + d;         /* u2 (h), v2 (h) */
    off[4] = 3 * h + d, off[5] = 3 * h + 2 * d; /* u3 (d), v3 (h) */
}

long resblock_nparams(const ResBlock *rb) {
    return layout(rb).n;
}

long resblock_nstate(const ResBlock *rb) {
    return 4L * rb->h + 2L * rb->d;
}

long resblock_acts_floats(const ResBlock *rb, int B) {
    return 6L * B * rb->h + 2L * B * rb->d;
}

/* Six (B,h) and two (B,d) arrays, and one vector for σ. */
long resblock_scratch_floats(const ResBlock *rb, int B) {
    long d = rb->d, h = rb->h;
    return 6L * B * h + 2L * B * d + (h > d ? h : d);
}

void resblock_acts_bind(const ResBlock *rb, ResBlockActs *acts, float *buf, int B) {
    long bh = (long)B * rb->h, bd = (long)B * rb->d;
    acts->a1 = buf, acts->h1 = buf + bh, acts->p1 = buf + 2 * bh;
    acts->a2 = buf + 3 * bh, acts->h2 = buf + 4 * bh, acts->p2 = buf + 5 * bh;
    acts->v = buf + 6 * bh, acts->w = buf + 6 * bh + bd;
}

void resblock_init(const ResBlock *rb, float *params, float *state, uint64_t seed,
                   uint64_t stream) {
    Layout L = layout(rb);
    int d = rb->d, h = rb->h;
    long so[6];
    state_offsets(rb, so);
    linear_init(params + L.W1, d, h, seed, stream);
    linear_init(params + L.W2, h, h, seed, stream + 1);
    linear_init(params + L.W3, h, d, seed, stream + 2);
    params[L.beta] = params[L.beta + 1] = lipswish_beta_raw_init();
    spectral_norm_init(params + L.W1, state + so[0], state + so[1], h, d, seed, stream + 3);
    spectral_norm_init(params + L.W2, state + so[2], state + so[3], h, h, seed, stream + 4);
    spectral_norm_init(params + L.W3, state + so[4], state + so[5], d, h, seed, stream + 5);
}

/* The three weight matrices: offset in params, shape (out,in), and the offsets of
 * their u, v in the state. */
static void layer_shapes(const ResBlock *rb, long W[3], int out[3], int in[3], long so[6]) {
    Layout L = layout(rb);
    W[0] = L.W1, W[1] = L.W2, W[2] = L.W3;
    out[0] = rb->h, out[1] = rb->h, out[2] = rb->d;
    in[0] = rb->d, in[1] = rb->h, in[2] = rb->h;
    state_offsets(rb, so);
}

void resblock_power_iterate(const ResBlock *rb, const float *params, float *state) {
    long W[3], so[6];
    int out[3], in[3];
    layer_shapes(rb, W, out, in, so);
    for (int i = 0; i < 3; i++)
        spectral_norm_iterate(params + W[i], state + so[2L * i], state + so[2L * i + 1], out[i],
                              in[i], SPECTRAL_NORM_STEP_ITERS);
}

void resblock_normalize(const ResBlock *rb, const float *params, const float *state,
                        ResBlockNorm *norm, float *scratch) {
    long W[3], so[6];
    int out[3], in[3];
    layer_shapes(rb, W, out, in, so);
    for (int i = 0; i < 3; i++) {
        norm->sigma[i] = spectral_norm_sigma(params + W[i], state + so[2L * i],
                                             state + so[2L * i + 1], out[i], in[i], scratch);
        norm->scale[i] = spectral_norm_scale(norm->sigma[i], rb->c);
    }
}

/* out (B,o) = s · in·Wᵀ + b   (B,i)·(i,o); out may not alias in. */
static void scaled_linear(const float *W, const float *b, float s, const float *in, float *out,
                          int B, int i, int o) {
    for (int r = 0; r < B; r++) memcpy(out + (long)r * o, b, (size_t)o * sizeof *out);
    gemm(0, 1, B, o, i, s, in, i, W, i, 1.0f, out, o);
}

void resblock_forward(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                      const float *x, float *y, ResBlockActs *acts, int B) {
    Layout L = layout(rb);
    int d = rb->d, h = rb->h;
    long bh = (long)B * h, bd = (long)B * d;
    scaled_linear(params + L.W1, params + L.b1, norm->scale[0], x, acts->a1, B, d, h);
    lipswish_forward(params[L.beta], acts->a1, acts->h1, acts->p1, bh);
    scaled_linear(params + L.W2, params + L.b2, norm->scale[1], acts->h1, acts->a2, B, h, h);
    lipswish_forward(params[L.beta + 1], acts->a2, acts->h2, acts->p2, bh);
    /* y = x + b3 + s3 · h2·W3ᵀ   (B,h)·(h,d) */
    for (long i = 0; i < bd; i++) y[i] = x[i] + params[L.b3 + i % d];
    gemm(0, 1, B, d, h, norm->scale[2], acts->h2, h, params + L.W3, h, 1.0f, y, d);
}

/* The context of one block's vector-Jacobian product (LogdetVjp). */
typedef struct {
    const ResBlock *rb;
    const float *params;
    const ResBlockNorm *norm;
    const ResBlockActs *acts;
    float *r1, *r2; /* (B,h) each */
} VjpCtx;

/* w (B,d) -> wJ = w·Ŵ3·D2·Ŵ2·D1·Ŵ1 (B,d), row by row. */
static void resblock_vjp(void *ctx, const float *w, float *wJ, int B) {
    const VjpCtx *c = ctx;
    Layout L = layout(c->rb);
    int d = c->rb->d, h = c->rb->h;
    long bh = (long)B * h;
    const float *p1 = c->acts->p1, *p2 = c->acts->p2;
    /* r2 = s3 · w·W3   (B,d)·(d,h), then ⊙ φ2' */
    gemm(0, 0, B, h, d, c->norm->scale[2], w, d, c->params + L.W3, h, 0.0f, c->r2, h);
#pragma omp parallel for schedule(static) if (bh > 65536)
    for (long i = 0; i < bh; i++) c->r2[i] *= p2[i];
    /* r1 = s2 · r2·W2   (B,h)·(h,h), then ⊙ φ1' */
    gemm(0, 0, B, h, h, c->norm->scale[1], c->r2, h, c->params + L.W2, h, 0.0f, c->r1, h);
#pragma omp parallel for schedule(static) if (bh > 65536)
    for (long i = 0; i < bh; i++) c->r1[i] *= p1[i];
    /* wJ = s1 · r1·W1   (B,h)·(h,d) */
    gemm(0, 0, B, d, h, c->norm->scale[0], c->r1, h, c->params + L.W1, d, 0.0f, wJ, d);
}

void resblock_logdet_estimate(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                              ResBlockActs *acts, const LogdetSeries *series, const float *v,
                              double *logdet, float *scratch, int B) {
    long bh = (long)B * rb->h, bd = (long)B * rb->d;
    if (v != acts->v) memcpy(acts->v, v, (size_t)bd * sizeof *v);
    VjpCtx ctx = {rb, params, norm, acts, scratch, scratch + bh};
    logdet_series_estimate(series, resblock_vjp, &ctx, acts->v, logdet, acts->w, scratch + 2 * bh,
                           B, rb->d);
}

int resblock_logdet_exact(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                          const ResBlockActs *acts, double *logdet, int B) {
    Layout L = layout(rb);
    int d = rb->d, h = rb->h, nt = omp_get_max_threads();
    long per = 2L * h * d + (long)d * d;
    float *buf = malloc((size_t)nt * per * sizeof *buf);
    int *ipiv = malloc((size_t)nt * d * sizeof *ipiv);
    if (!buf || !ipiv) {
        free(buf), free(ipiv);
        return -1;
    }
    const float *W1 = params + L.W1, *W2 = params + L.W2, *W3 = params + L.W3;
    float s1 = norm->scale[0];
    /* One row per iteration, each in its own thread's buffers: the products run
     * single-threaded inside the loop, so a row's bits do not depend on the team.
     * Small blocks (a 2-D toy flow) stay in one thread: a parallel region costs more. */
#pragma omp parallel for schedule(static) num_threads(nt) if ((double)B * h * d * (h + d) > 4e6)
    for (int b = 0; b < B; b++) {
        int t = omp_get_thread_num();
        float *M1 = buf + t * per, *M2 = M1 + (long)h * d, *A = M2 + (long)h * d;
        const float *p1 = acts->p1 + (long)b * h, *p2 = acts->p2 + (long)b * h;
        /* M1 = D1·Ŵ1 (h,d) */
        for (int i = 0; i < h; i++)
            for (int j = 0; j < d; j++) M1[(long)i * d + j] = s1 * p1[i] * W1[(long)i * d + j];
        /* M2 = D2·Ŵ2·M1   (h,h)·(h,d) */
        gemm(0, 0, h, d, h, norm->scale[1], W2, h, M1, d, 0.0f, M2, d);
        for (int i = 0; i < h; i++)
            for (int j = 0; j < d; j++) M2[(long)i * d + j] *= p2[i];
        /* A = I + Ŵ3·M2   (d,h)·(h,d) */
        gemm(0, 0, d, d, h, norm->scale[2], W3, h, M2, d, 0.0f, A, d);
        for (int i = 0; i < d; i++) A[(long)i * d + i] += 1.0f;
        logdet[b] += logdet_lu(A, d, ipiv + (long)t * d);
    }
    free(buf), free(ipiv);
    return 0;
}

/* dst (n) = column sums of M (B,n), each column summed over rows in order. */
static void colsum(float *dst, const float *M, int B, int n) {
#pragma omp parallel for schedule(static) if ((long)B * n > 65536)
    for (int j = 0; j < n; j++) {
        float s = 0;
        for (int r = 0; r < B; r++) s += M[(long)r * n + j];
        dst[j] = s;
    }
}

void resblock_backward(const ResBlock *rb, const float *params, const float *state,
                       const ResBlockNorm *norm, const float *x, const ResBlockActs *acts,
                       const float *dy, float dlogdet, float *dx, float *dparams, float *scratch,
                       int B) {
    Layout L = layout(rb);
    int d = rb->d, h = rb->h;
    long bh = (long)B * h, bd = (long)B * d, so[6];
    state_offsets(rb, so);
    const float *W1 = params + L.W1, *W2 = params + L.W2, *W3 = params + L.W3;
    float s1 = norm->scale[0], s2 = norm->scale[1], s3 = norm->scale[2], c = rb->c;
    float *t1 = scratch, *q1 = t1 + bh, *t2 = q1 + bh, *q2 = t2 + bh, *dh2 = q2 + bh,
          *dq2 = dh2 + bh, *wl = dq2 + bh, *G;
    int ld = dlogdet != 0.0f; /* the log-det term wᵀ·J·v contributes */

    if (ld) {
        /* wl = dlogdet · w; the tangent of v through the MLP: t1 = Ŵ1v, q1 = D1t1,
         * t2 = Ŵ2q1, q2 = D2t2 (Jv = Ŵ3q2). */
        for (long i = 0; i < bd; i++) wl[i] = dlogdet * acts->w[i];
        /* t1 = s1 · v·W1ᵀ   (B,d)·(d,h) */
        gemm(0, 1, B, h, d, s1, acts->v, d, W1, d, 0.0f, t1, h);
        for (long i = 0; i < bh; i++) q1[i] = acts->p1[i] * t1[i];
        /* t2 = s2 · q1·W2ᵀ   (B,h)·(h,h) */
        gemm(0, 1, B, h, h, s2, q1, h, W2, h, 0.0f, t2, h);
        for (long i = 0; i < bh; i++) q2[i] = acts->p2[i] * t2[i];
    }

    /* Layer 3. G = dL/dŴ3 = dyᵀ·h2 (+ wlᵀ·q2)   (d,B)·(B,h), then dL/dW3 in place */
    G = dparams + L.W3;
    gemm(1, 0, d, h, B, 1.0f, dy, d, acts->h2, h, 0.0f, G, h);
    if (ld) gemm(1, 0, d, h, B, 1.0f, wl, d, q2, h, 1.0f, G, h);
    spectral_norm_backward(W3, state + so[4], state + so[5], norm->sigma[2], c, G, d, h);
    colsum(dparams + L.b3, dy, B, d);
    /* dh2 = s3 · dy·W3, dq2 = s3 · wl·W3   (B,d)·(d,h) */
    gemm(0, 0, B, h, d, s3, dy, d, W3, h, 0.0f, dh2, h);
    if (ld) gemm(0, 0, B, h, d, s3, wl, d, W3, h, 0.0f, dq2, h);

    /* Activation 2: da2 (in dh2), dt2 (in dq2). */
    dparams[L.beta + 1] =
        (float)lipswish_backward(params[L.beta + 1], acts->a2, dh2, ld ? dq2 : NULL, ld ? t2 : NULL,
                                 dh2, ld ? dq2 : NULL, bh);
    const float *da2 = dh2, *dt2 = dq2;

    /* Layer 2. G = da2ᵀ·h1 (+ dt2ᵀ·q1)   (h,B)·(B,h) */
    G = dparams + L.W2;
    gemm(1, 0, h, h, B, 1.0f, da2, h, acts->h1, h, 0.0f, G, h);
    if (ld) gemm(1, 0, h, h, B, 1.0f, dt2, h, q1, h, 1.0f, G, h);
    spectral_norm_backward(W2, state + so[2], state + so[3], norm->sigma[1], c, G, h, h);
    colsum(dparams + L.b2, da2, B, h);
    /* dh1 = s2 · da2·W2 (in t2), dq1 = s2 · dt2·W2 (in q2)   (B,h)·(h,h) */
    float *dh1 = t2, *dq1 = q2;
    gemm(0, 0, B, h, h, s2, da2, h, W2, h, 0.0f, dh1, h);
    if (ld) gemm(0, 0, B, h, h, s2, dt2, h, W2, h, 0.0f, dq1, h);

    /* Activation 1: da1 (in dh1), dt1 (in dq1). */
    dparams[L.beta] = (float)lipswish_backward(params[L.beta], acts->a1, dh1, ld ? dq1 : NULL,
                                               ld ? t1 : NULL, dh1, ld ? dq1 : NULL, bh);
    const float *da1 = dh1, *dt1 = dq1;

    /* Layer 1. G = da1ᵀ·x (+ dt1ᵀ·v)   (h,B)·(B,d) */
    G = dparams + L.W1;
    gemm(1, 0, h, d, B, 1.0f, da1, h, x, d, 0.0f, G, d);
    if (ld) gemm(1, 0, h, d, B, 1.0f, dt1, h, acts->v, d, 1.0f, G, d);
    spectral_norm_backward(W1, state + so[0], state + so[1], norm->sigma[0], c, G, h, d);
    colsum(dparams + L.b1, da1, B, h);

    /* dx = dy + s1 · da1·W1   (B,h)·(h,d) */
    if (dx != dy) memcpy(dx, dy, (size_t)bd * sizeof *dx);
    gemm(0, 0, B, d, h, s1, da1, h, W1, d, 1.0f, dx, d);
}

int resblock_inverse(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                     const float *y, float *x, ResBlockActs *acts, int B) {
    long bd = (long)B * rb->d;
    float *fx = acts->w; /* f(x) = x + g(x) */
    memcpy(x, y, (size_t)bd * sizeof *x);
    for (int it = 1; it <= RESBLOCK_INVERSE_MAX_ITERS; it++) {
        resblock_forward(rb, params, norm, x, fx, acts, B);
        /* x ← y − g(x) = x + (y − f(x)); stop when the step is below the tolerance. */
        float step = 0;
        int finite = 1;
        for (long i = 0; i < bd; i++) {
            float delta = y[i] - fx[i];
            x[i] += delta;
            step = fabsf(delta) > step ? fabsf(delta) : step;
            finite &= isfinite(delta) != 0;
        }
        if (!finite) return -1; /* diverged: no contraction */
        if (step < RESBLOCK_INVERSE_TOL) return it;
    }
    return -1;
}
