/* lipswish.c — see lipswish.h. With s = sigmoid(βz) and u = βz:
 *   φ(z)      = z·s / 1.1
 *   φ'(z)     = s·(1 + u(1−s)) / 1.1
 *   φ''(z)    = β·s(1−s)·(2 + u(1−2s)) / 1.1
 *   ∂φ/∂β     = z²·s(1−s) / 1.1
 *   ∂φ'/∂β    = z·s(1−s)·(2 + u(1−2s)) / 1.1   (= φ''·z/β)
 * and dβ/dβ_raw = sigmoid(β_raw). */
#include "flows/lipswish.h"

#include <math.h>

enum { LIPSWISH_CHUNKS = 64 }; /* fixed partition of the β reduction */

static const float LIPSWISH_SCALE = 1.0f / 1.1f;

static float softplus(float x) {
    return x > 20.0f ? x : log1pf(expf(x));
}

static float sigmoid(float x) {
    return 1.0f / (1.0f + expf(-x));
}

float lipswish_beta_raw_init(void) {
    return logf(expf(1.0f) - 1.0f);
}

void lipswish_forward(float beta_raw, const float *a, float *y, float *dyda, long n) {
    float beta = softplus(beta_raw);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) {
        float z = a[i], s = sigmoid(beta * z);
        y[i] = z * s * LIPSWISH_SCALE;
        if (dyda) dyda[i] = s * (1.0f + beta * z * (1.0f - s)) * LIPSWISH_SCALE;
    }
}

double lipswish_backward(float beta_raw, const float *a, const float *dy, const float *dq,
                         const float *t, float *da, float *dt, long n) {
    float beta = softplus(beta_raw);
    double part[LIPSWISH_CHUNKS];
    long chunk = (n + LIPSWISH_CHUNKS - 1) / LIPSWISH_CHUNKS;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int c = 0; c < LIPSWISH_CHUNKS; c++) {
        long lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double acc = 0;
        for (long i = lo; i < hi; i++) {
            float z = a[i], s = sigmoid(beta * z), ss = s * (1.0f - s), u = beta * z;
            float d1 = s * (1.0f + u * (1.0f - s)) * LIPSWISH_SCALE;
            float g = 0, gb = 0;
            if (dy) {
                g += dy[i] * d1;
                gb += dy[i] * z * z * ss * LIPSWISH_SCALE;
            }
            if (dq) {
                float curv = ss * (2.0f + u * (1.0f - 2.0f * s)) * LIPSWISH_SCALE;
                float qt = dq[i] * t[i];
                g += qt * beta * curv;
                gb += qt * z * curv;
                if (dt) dt[i] = dq[i] * d1;
            }
            da[i] = g;
            acc += gb;
        }
        part[c] = acc;
    }
    double dbeta = 0;
    for (int c = 0; c < LIPSWISH_CHUNKS; c++) dbeta += part[c];
    return dbeta * sigmoid(beta_raw);
}
