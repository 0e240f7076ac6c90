/* pixels.c — see pixels.h. */
#include "flows/pixels.h"

#include "flows/rng.h"

#include <math.h>
#include <stddef.h>

void pixels_to_flow(const float *v, float *y, double *logdet, long n, int D, float alpha, int noisy,
                    uint64_t seed, uint64_t step) {
    double a = alpha, scale = 1.0 - 2.0 * a, log_scale = log(scale);
#pragma omp parallel for schedule(static) if (n * D > 65536)
    for (long r = 0; r < n; r++) {
        double ld = 0; /* one image per iteration: its sum has a fixed order */
        for (int j = 0; j < D; j++) {
            long i = r * D + j;
            double u =
                noisy ? rng_uniform(seed, PIXELS_RNG_STREAM, (step << 32) + (uint64_t)i) : 0.5;
            double x = ((double)v[i] + u) / 256.0;
            if (a > 0) {
                double p = a + scale * x;
                y[i] = (float)log(p / (1.0 - p));
                ld += log_scale - log(p) - log1p(-p);
            } else {
                y[i] = (float)(x - 0.5);
            }
        }
        if (logdet) logdet[r] = ld;
    }
}

void pixels_from_flow(const float *y, float *v, long n, int D, float alpha) {
    double a = alpha, scale = 1.0 - 2.0 * a;
    for (long i = 0; i < n * D; i++) {
        double x = a > 0 ? (1.0 / (1.0 + exp(-(double)y[i])) - a) / scale : (double)y[i] + 0.5;
        v[i] = (float)(x * 256.0 - 0.5);
    }
}

double pixels_bpd(double logp_x, int D) {
    return -logp_x / ((double)D * M_LN2) + 8.0;
}
