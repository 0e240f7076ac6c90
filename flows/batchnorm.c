/* batchnorm.c — see batchnorm.h. */
#include "flows/batchnorm.h"

#include <math.h>

void batchnorm_init(float *params, float *state, int C) {
    for (int c = 0; c < C; c++) {
        params[c] = 1.0f, params[C + c] = 0.0f;
        state[c] = 0.0f, state[C + c] = 1.0f;
    }
}

void batchnorm_forward_train(const float *params, float *state, const float *x, float *y,
                             float *mean, float *invstd, int C, long P) {
    const float *gamma = params, *beta = params + C;
    float *rmean = state, *rvar = state + C;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + c * P;
        double s = 0.0;
        for (long i = 0; i < P; i++) s += xc[i];
        double mu = s / (double)P, ss = 0.0;
        /* Two passes: the variance of (x - mean) does not cancel catastrophically. */
        for (long i = 0; i < P; i++) ss += ((double)xc[i] - mu) * ((double)xc[i] - mu);
        double var = ss / (double)P;
        float m = (float)mu, is = (float)(1.0 / sqrt(var + BATCHNORM_EPS));
        float scale = gamma[c] * is, shift = beta[c] - m * scale;
        float *yc = y + c * P;
        for (long i = 0; i < P; i++) yc[i] = xc[i] * scale + shift;
        mean[c] = m, invstd[c] = is;
        rmean[c] = (1.0f - BATCHNORM_MOMENTUM) * rmean[c] + BATCHNORM_MOMENTUM * m;
        rvar[c] = (1.0f - BATCHNORM_MOMENTUM) * rvar[c] +
                  BATCHNORM_MOMENTUM * (float)(ss / (double)(P - 1));
    }
}

void batchnorm_forward_eval(const float *params, const float *state, const float *x, float *y,
                            int C, long P) {
    const float *gamma = params, *beta = params + C, *rmean = state, *rvar = state + C;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float scale = gamma[c] / sqrtf(rvar[c] + BATCHNORM_EPS);
        float shift = beta[c] - rmean[c] * scale;
        for (long i = 0; i < P; i++) y[c * P + i] = x[c * P + i] * scale + shift;
    }
}

void batchnorm_backward_train(const float *params, const float *x, const float *mean,
                              const float *invstd, const float *dy, float *dx, float *dparams,
                              int accumulate, int C, long P) {
    const float *gamma = params;
    float *dgamma = dparams, *dbeta = dparams + C;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + c * P, *dyc = dy + c * P;
        float m = mean[c], is = invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (long i = 0; i < P; i++) {
            sdy += dyc[i];
            sdyx += (double)dyc[i] * ((xc[i] - m) * is);
        }
        dgamma[c] = (float)sdyx + (accumulate ? dgamma[c] : 0.0f);
        dbeta[c] = (float)sdy + (accumulate ? dbeta[c] : 0.0f);
        /* dx = gamma·invstd/P · (P·dy - Σdy - x̂·Σ(dy·x̂))   (Ioffe & Szegedy, §3) */
        float k = gamma[c] * is, a = (float)(sdy / (double)P), b = (float)(sdyx / (double)P);
        float *dxc = dx + c * P;
        for (long i = 0; i < P; i++) dxc[i] = k * (dyc[i] - a - (xc[i] - m) * is * b);
    }
}

void batchnorm_backward_eval(const float *params, const float *state, const float *dy, float *dx,
                             int C, long P) {
    const float *gamma = params, *rvar = state + C;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float k = gamma[c] / sqrtf(rvar[c] + BATCHNORM_EPS);
        for (long i = 0; i < P; i++) dx[c * P + i] = k * dy[c * P + i];
    }
}

/* The blocked versions: channel block k (16 channels) of image b is the (hw, 16) slab
 * at x + (b·C/16 + k)·hw·16. Each loop below runs over (b, p) in order with the 16
 * channels of a block side by side, so every channel sees the operations of the
 * (C, P) version above in the same order: the same bits. */
static const float *slab(const float *x, int C, long hw, int b, int k) {
    return x + ((long)b * (C / 16) + k) * hw * 16;
}

/* y = x·scale + shift over channel block k of every image, per channel of the block. */
static void scale_shift_block(const float *x, float *y, const float *scale, const float *shift,
                              int C, int B, long hw, int k) {
    for (int b = 0; b < B; b++) {
        const float *xs = slab(x, C, hw, b, k);
        float *ys = y + (xs - x);
        for (long p = 0; p < hw; p++)
            for (int l = 0; l < 16; l++) ys[p * 16 + l] = xs[p * 16 + l] * scale[l] + shift[l];
    }
}

void batchnorm_forward_train_blocked(const float *params, float *state, const float *x, float *y,
                                     float *mean, float *invstd, int C, int B, long hw) {
    const float *gamma = params, *beta = params + C;
    float *rmean = state, *rvar = state + C;
    double P = (double)B * hw;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < C / 16; k++) {
        double s[16] = {0}, ss[16] = {0}, mu[16];
        float scale[16], shift[16];
        for (int b = 0; b < B; b++)
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++) s[l] += slab(x, C, hw, b, k)[p * 16 + l];
        for (int l = 0; l < 16; l++) mu[l] = s[l] / P;
        for (int b = 0; b < B; b++)
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++) {
                    double d = (double)slab(x, C, hw, b, k)[p * 16 + l] - mu[l];
                    ss[l] += d * d;
                }
        for (int l = 0; l < 16; l++) {
            int c = k * 16 + l;
            double var = ss[l] / P;
            float m = (float)mu[l], is = (float)(1.0 / sqrt(var + BATCHNORM_EPS));
            scale[l] = gamma[c] * is, shift[l] = beta[c] - m * scale[l];
            mean[c] = m, invstd[c] = is;
            rmean[c] = (1.0f - BATCHNORM_MOMENTUM) * rmean[c] + BATCHNORM_MOMENTUM * m;
            rvar[c] = (1.0f - BATCHNORM_MOMENTUM) * rvar[c] +
                      BATCHNORM_MOMENTUM * (float)(ss[l] / (P - 1));
        }
        scale_shift_block(x, y, scale, shift, C, B, hw, k);
    }
}

void batchnorm_forward_eval_blocked(const float *params, const float *state, const float *x,
                                    float *y, int C, int B, long hw) {
    const float *gamma = params, *beta = params + C, *rmean = state, *rvar = state + C;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < C / 16; k++) {
        float scale[16], shift[16];
        for (int l = 0; l < 16; l++) {
            int c = k * 16 + l;
            scale[l] = gamma[c] / sqrtf(rvar[c] + BATCHNORM_EPS);
            shift[l] = beta[c] - rmean[c] * scale[l];
        }
        scale_shift_block(x, y, scale, shift, C, B, hw, k);
    }
}

void batchnorm_backward_train_blocked(const float *params, const float *x, const float *mean,
                                      const float *invstd, const float *dy, float *dx,
                                      float *dparams, int accumulate, int C, int B, long hw) {
    const float *gamma = params;
    float *dgamma = dparams, *dbeta = dparams + C;
    double P = (double)B * hw;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < C / 16; k++) {
        const float *m = mean + k * 16L, *is = invstd + k * 16L;
        double sdy[16] = {0}, sdyx[16] = {0};
        float kk[16], a[16], bb[16];
        for (int b = 0; b < B; b++) {
            const float *xs = slab(x, C, hw, b, k), *ds = dy + (xs - x);
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++) {
                    sdy[l] += ds[p * 16 + l];
                    sdyx[l] += (double)ds[p * 16 + l] * ((xs[p * 16 + l] - m[l]) * is[l]);
                }
        }
        for (int l = 0; l < 16; l++) {
            int c = k * 16 + l;
            dgamma[c] = (float)sdyx[l] + (accumulate ? dgamma[c] : 0.0f);
            dbeta[c] = (float)sdy[l] + (accumulate ? dbeta[c] : 0.0f);
            kk[l] = gamma[c] * is[l], a[l] = (float)(sdy[l] / P), bb[l] = (float)(sdyx[l] / P);
        }
        for (int b = 0; b < B; b++) {
            const float *xs = slab(x, C, hw, b, k), *ds = dy + (xs - x);
            float *dxs = dx + (xs - x);
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++)
                    dxs[p * 16 + l] =
                        kk[l] * (ds[p * 16 + l] - a[l] - (xs[p * 16 + l] - m[l]) * is[l] * bb[l]);
        }
    }
}

void batchnorm_backward_eval_blocked(const float *params, const float *state, const float *dy,
                                     float *dx, int C, int B, long hw) {
    const float *gamma = params, *rvar = state + C;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < C / 16; k++) {
        float kk[16];
        for (int l = 0; l < 16; l++)
            kk[l] = gamma[k * 16 + l] / sqrtf(rvar[k * 16 + l] + BATCHNORM_EPS);
        for (int b = 0; b < B; b++) {
            const float *ds = slab(dy, C, hw, b, k);
            float *dxs = dx + (ds - dy);
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++) dxs[p * 16 + l] = kk[l] * ds[p * 16 + l];
        }
    }
}
