/* adam.c — see adam.h. */
#include "flows/adam.h"

#include <math.h>
#include <stdlib.h>

AdamConfig adam_defaults(void) {
    AdamConfig c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
    return c;
}

void adam_step(float *params, const float *grad, float *m, float *v, long n, long t,
               const AdamConfig *c) {
    /* Bias corrections folded into the step size and epsilon, as in Algorithm 1's
     * "efficient" form: p -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + eps·sqrt(1-β2^t)). */
    double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    float step = (float)(c->lr * sqrt(bc2) / bc1), eps = (float)(c->eps * sqrt(bc2));
    float b1 = c->beta1, b2 = c->beta2, wd = c->weight_decay;
    /* simd: -O2 alone leaves this loop scalar; elementwise, so the bits are unchanged.
     * (Needs -fno-math-errno for a vector sqrt.) Small models stay in one thread: on a
     * busy machine a parallel region per step cost more than the step (2-D flows). */
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) {
        float g = grad[i] + wd * params[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= step * m[i] / (sqrtf(v[i]) + eps);
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

double clip_grad_norm(float *grad, long n, double max_norm) {
    double norm = grad_norm(grad, n);
    if (norm > max_norm && norm > 0.0) {
        float s = (float)(max_norm / (norm + 1e-6));
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++) grad[i] *= s;
    }
    return norm;
}
