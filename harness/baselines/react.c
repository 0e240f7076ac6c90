/* react.c — ReAct (Sun, Guo, Li 2021): rectified activations. Penultimate
 * features are clipped at a high percentile of the ID training activations
 * before the head, which removes the few abnormally large activations OOD inputs
 * cause; the score is then the energy of the clipped logits (see baselines.h). */
#include "baselines/baselines.h"

#include "flows/gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int react_threshold(const float *x, long n, int d, double percentile, float *c, Err *e) {
    long N = n * d;
    float *v = malloc(sizeof(float) * (size_t)(N ? N : 1));
    if (!v) return fail(e, LDE_ERUN, "react: out of memory for %ld activations", N);
    memcpy(v, x, sizeof(float) * (size_t)N);
    /* numpy's linear rule: position p/100·(N − 1) between the order statistics
     * on either side. */
    double pos = percentile / 100.0 * (double)(N - 1);
    long lo = (long)floor(pos);
    double a = select_kth(v, N, lo), b = a;
    if (lo + 1 < N) {
        /* The next order statistic is the smallest value right of position lo. */
        b = v[lo + 1];
        for (long i = lo + 2; i < N; i++) b = fmin(b, v[i]);
    }
    *c = (float)(a + (pos - (double)lo) * (b - a));
    free(v);
    return LDE_OK;
}

int baseline_react(const float *z, long n, int d, float c, const float *W, const float *b, int K,
                   double T, float *score, Err *e) {
    float *zc = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)d);
    float *l = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)K);
    if (!zc || !l) {
        free(zc), free(l);
        return fail(e, LDE_ERUN, "react: out of memory for %ld rows", n);
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n * d; i++) zc[i] = fminf(z[i], c);
    for (long i = 0; i < n; i++) memcpy(l + i * K, b, sizeof(float) * (size_t)K);
    if (n > 0) gemm(0, 1, (int)n, K, d, 1.0f, zc, d, W, d, 1.0f, l, K);
    baseline_energy(l, n, K, T, score);
    free(zc), free(l);
    return LDE_OK;
}
