/* adam.c — see adam.h. */
#include "flows/adam.h"

#include <math.h>
#include <stdlib.h>

AdamConfig adam_defaults(void) {
    AdamConfig c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
    return c;
}

/* The elementwise update on [lo, hi). Cloned per instruction set: -O2 for the
 * baseline x86-64 leaves it on 4-wide SSE, where its square roots and divisions
 * cost more than the memory traffic (latent Glow, 8.6 M parameters: 6.1 ms a step
 * on SSE, 5.3 ms cloned, which is then memory speed: 7 streams of 34 MB). Each
 * element is the same IEEE operations in the same order in every clone (-std=c11
 * contracts no FMA), so the bits do not depend on the clone. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adam_range(float *params, const float *grad, float *m, float *v, long lo, long hi, float step,
           float eps, float b1, float b2, float wd) {
#pragma omp simd
    for (long i = lo; i < hi; i++) {
        float g = grad[i] + wd * params[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= step * m[i] / (sqrtf(v[i]) + eps);
    }
}

enum { ADAM_CHUNK = 1 << 14 };

void adam_step(float *params, const float *grad, float *m, float *v, long n, long t,
               const AdamConfig *c) {
    /* Bias corrections folded into the step size and epsilon, as in Algorithm 1's
     * "efficient" form: p -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + eps·sqrt(1-β2^t)). */
    double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    float step = (float)(c->lr * sqrt(bc2) / bc1), eps = (float)(c->eps * sqrt(bc2));
    long nchunks = (n + ADAM_CHUNK - 1) / ADAM_CHUNK;
    /* Small models stay in one thread: on a busy machine a parallel region per step
     * cost more than the step (2-D flows). (Needs -fno-math-errno for a vector sqrt.) */
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long k = 0; k < nchunks; k++) {
        long lo = k * ADAM_CHUNK, hi = lo + ADAM_CHUNK < n ? lo + ADAM_CHUNK : n;
        adam_range(params, grad, m, v, lo, hi, step, eps, c->beta1, c->beta2, c->weight_decay);
    }
}

enum { NORM_CHUNK = 1 << 16 };

double grad_norm(const float *grad, long n) {
    long nchunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    double *partial = malloc((size_t)(nchunks > 0 ? nchunks : 1) * sizeof *partial);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (long k = 0; k < nchunks; k++) {
        long lo = k * NORM_CHUNK, hi = lo + NORM_CHUNK < n ? lo + NORM_CHUNK : n;
        double s = 0.0;
        /* a vector sum: a fixed order for a given build, whatever the thread count */
#pragma omp simd reduction(+ : s)
        for (long i = lo; i < hi; i++) s += (double)grad[i] * grad[i];
        partial[k] = s;
    }
    double s = 0.0;
    for (long k = 0; k < nchunks; k++) s += partial[k];
    free(partial);
    return sqrt(s);
}

/* x·0 is 0 for a finite x and NaN for ±inf or NaN, so the sum is 0 or NaN. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static float
nonfinite_sum(const float *x, long lo, long hi) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (long i = lo; i < hi; i++) s += x[i] * 0.0f;
    return s;
}

int grad_finite(const float *grad, long n) {
    long nchunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    int finite = 1;
#pragma omp parallel for schedule(static) reduction(&& : finite) if (nchunks > 1)
    for (long k = 0; k < nchunks; k++) {
        long lo = k * NORM_CHUNK, hi = lo + NORM_CHUNK < n ? lo + NORM_CHUNK : n;
        finite = finite && nonfinite_sum(grad, lo, hi) == 0.0f;
    }
    return finite;
}

double clip_grad_norm(float *grad, long n, double max_norm) {
    double norm = grad_norm(grad, n);
    if (norm > max_norm && norm > 0.0) {
        float s = (float)(max_norm / (norm + 1e-6));
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++) grad[i] *= s;
    }
    return norm;
}
