/* logdet_series.c — see logdet_series.h. */
#include "flows/logdet_series.h"

#include "flows/blas.h"
#include "flows/rng.h"

#include <math.h>
#include <string.h>

void logdet_series_roulette(LogdetSeries *s, int n_exact, double p, uint64_t seed, uint64_t stream,
                            uint64_t index) {
    /* G = floor(log U / log(1−p)) has P(G ≥ j) = P(U ≤ (1−p)^j) = (1−p)^j. U > 0:
     * rng_uniform is in [0,1), so use 1 − U. */
    double u = 1.0 - rng_uniform(seed, stream, index);
    double g = floor(log(u) / log(1.0 - p));
    int n = n_exact + (g > LOGDET_MAX_TERMS ? LOGDET_MAX_TERMS : (int)g);
    s->n = n > LOGDET_MAX_TERMS ? LOGDET_MAX_TERMS : n;
    s->coef[0] = 1.0;
    for (int k = 1; k <= s->n; k++)
        s->coef[k] = k <= n_exact ? 1.0 : pow(1.0 - p, -(double)(k - n_exact));
}

void logdet_series_fixed(LogdetSeries *s, int n, double weight) {
    s->n = n > LOGDET_MAX_TERMS ? LOGDET_MAX_TERMS : n;
    for (int k = 0; k <= s->n; k++) s->coef[k] = weight;
}

void logdet_series_probe(float *v, long n, int rademacher, uint64_t seed, uint64_t stream,
                         uint64_t first) {
    if (!rademacher) {
        rng_fill_normal(v, n, 0, 1, seed, stream, first);
        return;
    }
    for (long i = 0; i < n; i++)
        v[i] = rng_uniform(seed, stream, first + (uint64_t)i) < 0.5f ? -1.0f : 1.0f;
}

void logdet_series_probe_rows(float *v, const float *x, int B, int d, uint64_t stream,
                              uint64_t first) {
#pragma omp parallel for schedule(static) if ((long)B * d > 65536)
    for (int r = 0; r < B; r++) {
        const unsigned char *bytes = (const unsigned char *)(x + (long)r * d);
        uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a, 64 bit */
        for (size_t i = 0; i < sizeof(float) * (size_t)d; i++)
            hash = (hash ^ bytes[i]) * 0x100000001b3ull;
        logdet_series_probe(v + (long)r * d, d, 1, hash, stream, first);
    }
}

void logdet_series_estimate(const LogdetSeries *s, LogdetVjp vjp, void *ctx, const float *v,
                            double *logdet, float *wneu, float *tmp, int B, int d) {
    long n = (long)B * d;
    float *cur = tmp, *next = tmp + n;
    memcpy(cur, v, (size_t)n * sizeof *cur);
    if (wneu) memset(wneu, 0, (size_t)n * sizeof *wneu);
    for (int k = 1; k <= s->n; k++) {
        double sign = (k % 2) ? 1.0 : -1.0, c = sign * s->coef[k];
        /* cur = vᵀJ^{k−1}: its share of the Neumann vector, then one more product. */
        if (wneu)
            for (long i = 0; i < n; i++) wneu[i] += (float)c * cur[i];
        vjp(ctx, cur, next, B);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int b = 0; b < B; b++) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double)next[(long)b * d + j] * v[(long)b * d + j];
            logdet[b] += c * dot / k;
        }
        float *t = cur;
        cur = next, next = t;
    }
}

double logdet_lu(float *A, int d, int *ipiv) {
    int info = 0;
    /* Row-major A is column-major Aᵀ; det Aᵀ = det A. */
    sgetrf_(&d, &d, A, &d, ipiv, &info);
    if (info > 0) return -INFINITY;
    double s = 0;
    for (int i = 0; i < d; i++) s += log(fabs((double)A[(long)i * d + i]));
    return s;
}
