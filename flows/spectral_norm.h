/* spectral_norm.h — spectral normalisation of a weight matrix W (out,in) to a
 * Lipschitz coefficient c (Behrmann et al. 2019 §3; Chen et al. 2019 §4):
 *   Ŵ = s·W,  s = c/σ when σ > c, else 1,   σ = uᵀ·W·v,
 * with σ, u, v from power iteration. u (out) and v (in) persist between steps in
 * the flow's state buffer, so one or two iterations per training step track a
 * slowly changing W, and a saved model reproduces the same Ŵ. Layers never form
 * Ŵ: they pass s as the GEMM's alpha. Power iteration approaches σ from below, so
 * the iteration runs to a relative tolerance (SPECTRAL_NORM_TOL) or a cap.
 * Matrix-vector products go through gemm(): same bits at any thread count. */
#ifndef LDE_SPECTRAL_NORM_H
#define LDE_SPECTRAL_NORM_H

#include <stdint.h>

/* Stop when σ changes by less than this fraction between iterations. */
#define SPECTRAL_NORM_TOL 1e-5
/* Iteration caps: per training step, and for a fresh (random) u. */
enum { SPECTRAL_NORM_STEP_ITERS = 20, SPECTRAL_NORM_INIT_ITERS = 500 };

/* u (out) = a random unit vector from (seed, stream), then power iteration to the
 * tolerance (at most SPECTRAL_NORM_INIT_ITERS): u, v -> the top singular vectors. */
void spectral_norm_init(const float *W, float *u, float *v, int out, int in, uint64_t seed,
                        uint64_t stream);

/* Power iteration from the stored u (out): v = Wᵀu/|Wᵀu|, u = Wv/|Wv|, until σ's
 * relative change < SPECTRAL_NORM_TOL or max_iters (>= 1) iterations. Updates u, v
 * in place; returns σ = |Wv| = uᵀWv for the final u, v. */
double spectral_norm_iterate(const float *W, float *u, float *v, int out, int in, int max_iters);

/* σ = uᵀ·W·v for the stored vectors, without iterating (evaluation and inverse use
 * the normalisation of the last training step). tmp holds `out` floats. */
double spectral_norm_sigma(const float *W, const float *u, const float *v, int out, int in,
                           float *tmp);

/* The scale s = c/σ when σ > c, else 1. */
float spectral_norm_scale(double sigma, float c);

/* Backward through Ŵ = s·W with u, v held constant (as the papers' autograd does):
 * on entry dW (out,in) holds G = dL/dŴ; on exit dL/dW = s·G − (s/σ)·⟨G,W⟩·u·vᵀ when
 * σ > c, G unchanged otherwise. */
void spectral_norm_backward(const float *W, const float *u, const float *v, double sigma, float c,
                            float *dW, int out, int in);

#endif
