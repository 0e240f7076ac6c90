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
