/* softmax_scores.c — the scores read off the logits alone: MSP (and ODIN's
 * tempered MSP) and Energy (see baselines.h). */
#include "baselines/baselines.h"

#include <math.h>

/* max_k l_k / T of one row, the shift that keeps exp() finite. */
static double row_max(const float *l, int K, double T) {
    double mx = l[0] / T;
    for (int k = 1; k < K; k++) mx = fmax(mx, l[k] / T);
    return mx;
}

/* Σ_k exp(l_k / T − mx) >= 1 (the top term is 1). */
static double row_sumexp(const float *l, int K, double T, double mx) {
    double z = 0;
    for (int k = 0; k < K; k++) z += exp(l[k] / T - mx);
    return z;
}

void baseline_msp(const float *logits, long n, int K, double T, float *score) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        const float *l = logits + i * K;
        /* max softmax = exp(mx − mx) / Σ exp(l/T − mx) = 1 / Σ. */
        score[i] = (float)(-1.0 / row_sumexp(l, K, T, row_max(l, K, T)));
    }
}

void baseline_energy(const float *logits, long n, int K, double T, float *score) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        const float *l = logits + i * K;
        double mx = row_max(l, K, T);
        score[i] = (float)(-T * (mx + log(row_sumexp(l, K, T, mx))));
    }
}
