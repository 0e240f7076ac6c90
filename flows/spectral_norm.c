/* spectral_norm.c — see spectral_norm.h. */
#include "flows/spectral_norm.h"

#include "flows/gemm.h"
#include "flows/rng.h"

#include <math.h>

enum { SN_CHUNKS = 64 }; /* fixed partition of the ⟨G,W⟩ reduction */
enum { SN_LANES = 8 };   /* chunks summed side by side (divides SN_CHUNKS) */

/* x (n) /= |x| (summed in order, in double); returns |x|. */
static double normalize(float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    double norm = sqrt(s);
    if (norm > 0)
        for (int i = 0; i < n; i++) x[i] = (float)(x[i] / norm);
    return norm;
}

void spectral_norm_init(const float *W, float *u, float *v, int out, int in, uint64_t seed,
                        uint64_t stream) {
    rng_fill_normal(u, out, 0, 1, seed, stream, 0);
    normalize(u, out);
    spectral_norm_iterate(W, u, v, out, in, SPECTRAL_NORM_INIT_ITERS);
}

double spectral_norm_iterate(const float *W, float *u, float *v, int out, int in, int max_iters) {
    double sigma = 0, prev = 0;
    for (int it = 0; it < max_iters; it++) {
        /* v = Wᵀu   (1,out)·(out,in) */
        gemm(0, 0, 1, in, out, 1.0f, u, out, W, in, 0.0f, v, in);
        normalize(v, in);
        /* u = W·v   (1,in)·(in,out) */
        gemm(0, 1, 1, out, in, 1.0f, v, in, W, in, 0.0f, u, out);
        sigma = normalize(u, out);
        if (it > 0 && fabs(sigma - prev) <= SPECTRAL_NORM_TOL * sigma) break;
        prev = sigma;
    }
    return sigma;
}

double spectral_norm_sigma(const float *W, const float *u, const float *v, int out, int in,
                           float *tmp) {
    /* tmp = W·v   (1,in)·(in,out) */
    gemm(0, 1, 1, out, in, 1.0f, v, in, W, in, 0.0f, tmp, out);
    double s = 0;
    for (int i = 0; i < out; i++) s += (double)u[i] * tmp[i];
    return s;
}

float spectral_norm_scale(double sigma, float c) {
    return sigma > c ? (float)(c / sigma) : 1.0f;
}

void spectral_norm_backward(const float *W, const float *u, const float *v, double sigma, float c,
                            float *dW, int out, int in) {
    if (!(sigma > c)) return;
    long n = (long)out * in, chunk = (n + SN_CHUNKS - 1) / SN_CHUNKS;
    double part[SN_CHUNKS];
    /* Each chunk is one sequential sum in double; SN_LANES chunks advance together so
     * their additions overlap (one chain waited on each add's latency: 6% of a
     * Residual Flow step). Every chunk still adds its terms in index order, so the
     * bits are those of one chunk at a time. */
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int k0 = 0; k0 < SN_CHUNKS; k0 += SN_LANES) {
        double acc[SN_LANES] = {0};
        long len[SN_LANES];
        for (int j = 0; j < SN_LANES; j++) {
            long lo = (k0 + j) * chunk;
            len[j] = lo >= n ? 0 : lo + chunk < n ? chunk : n - lo;
        }
        for (long i = 0; i < chunk; i++)
            for (int j = 0; j < SN_LANES; j++) {
                long at = (k0 + j) * chunk + i;
                if (i < len[j]) acc[j] += (double)dW[at] * W[at];
            }
        for (int j = 0; j < SN_LANES; j++) part[k0 + j] = acc[j];
    }
    double gw = 0;
    for (int k = 0; k < SN_CHUNKS; k++) gw += part[k];
    double s = c / sigma;
    float coef = (float)(s / sigma * gw);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int i = 0; i < out; i++)
        for (int j = 0; j < in; j++) {
            long ij = (long)i * in + j;
            dW[ij] = (float)s * dW[ij] - coef * u[i] * v[j];
        }
}
