/* resblock.h — the invertible residual block y = x + g(x) of a Residual Flow
 * (Behrmann et al. 2019; Chen et al. 2019).
 *
 *   g(x) = Ŵ3·φ2(Ŵ2·φ1(Ŵ1·x + b1) + b2) + b3,   Ŵi = si·Wi (spectral_norm.h),
 * φ = LipSwish (lipswish.h), hidden width h. Every Ŵi has spectral norm ≤ c and
 * Lip(φ) ≤ 1, so Lip(g) ≤ c³ < 1: y = x + g(x) is invertible (fixed point) and
 * J = ∂g/∂x = Ŵ3·D2·Ŵ2·D1·Ŵ1 (Di = diag φi'(ai)) has log det(I + J) given by the
 * series of logdet_series.h.
 *
 * Params (in this order): W1 (h,d), b1 (h), W2 (h,h), b2 (h), W3 (d,h), b3 (d),
 *   β_raw1, β_raw2.
 * State (saved, not trained): the power-iteration vectors u1 (h), v1 (d),
 *   u2 (h), v2 (h), u3 (d), v3 (h).
 *
 * A training step: resblock_power_iterate -> resblock_normalize -> resblock_forward ->
 * resblock_logdet_estimate -> ... -> resblock_backward. Evaluation:
 * resblock_normalize -> resblock_forward -> resblock_logdet_exact. */
#ifndef LDE_RESBLOCK_H
#define LDE_RESBLOCK_H

#include "flows/logdet_series.h"

#include <stdint.h>

typedef struct {
    int d, h;
    float c; /* Lipschitz coefficient of each normalised layer, 0.97 by default */
} ResBlock;

/* The spectral normalisation in force for one pass: σi and si = min(1, c/σi). */
typedef struct {
    double sigma[3];
    float scale[3];
} ResBlockNorm;

/* What the forward keeps for the log-det estimate and the backward, for B rows:
 * pre-activations a1, a2, activations h1, h2, slopes p1 = φ1'(a1), p2 = φ2'(a2)
 * (each (B,h)); the probe v and the Neumann vector w (each (B,d)). */
typedef struct {
    float *a1, *h1, *p1, *a2, *h2, *p2;
    float *v, *w;
} ResBlockActs;

long resblock_nparams(const ResBlock *rb);
long resblock_nstate(const ResBlock *rb);
/* Floats behind one ResBlockActs / one scratch for batches of up to B rows. */
long resblock_acts_floats(const ResBlock *rb, int B);
long resblock_scratch_floats(const ResBlock *rb, int B);
/* Points acts' arrays into buf (resblock_acts_floats(rb, B) floats). */
void resblock_acts_bind(const ResBlock *rb, ResBlockActs *acts, float *buf, int B);

/* PyTorch-default linear weights (rng streams stream..stream+2), β = 1, and
 * power iteration to convergence from random u (streams stream+3..stream+5). */
void resblock_init(const ResBlock *rb, float *params, float *state, uint64_t seed, uint64_t stream);

/* Training: power iteration from the stored u, v of each layer (updated in place),
 * at most SPECTRAL_NORM_STEP_ITERS steps to SPECTRAL_NORM_TOL. */
void resblock_power_iterate(const ResBlock *rb, const float *params, float *state);

/* σi = uᵀ·Wi·v for the stored vectors and si = min(1, c/σi): the block is then a
 * pure function of (params, state), in training, evaluation and inverse alike.
 * scratch holds max(h, d) floats. */
void resblock_normalize(const ResBlock *rb, const float *params, const float *state,
                        ResBlockNorm *norm, float *scratch);

/* x (B,d) -> y = x + g(x) (B,d), keeping the activations in acts. */
void resblock_forward(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                      const float *x, float *y, ResBlockActs *acts, int B);

/* After resblock_forward: copies the probe v (B,d) into acts->v (v may be acts->v
 * itself), adds the series
 * estimate of log det(I + J) to logdet (B) and stores the Neumann vector in
 * acts->w (logdet_series.h). */
void resblock_logdet_estimate(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                              ResBlockActs *acts, const LogdetSeries *series, const float *v,
                              double *logdet, float *scratch, int B);

/* After resblock_forward: adds the exact log|det(I + J)| to logdet (B). Per row,
 * forms J = Ŵ3·D2·Ŵ2·D1·Ŵ1 (2dh² + 2d²h flops) and LU-factorises I + J (2d³/3).
 * Allocates its per-thread buffers (2hd + d² floats each); returns 0, or -1 when
 * memory runs out (logdet untouched). */
int resblock_logdet_exact(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                          const ResBlockActs *acts, double *logdet, int B);

/* Gradient of L(y, logdet) through the block, after resblock_forward and (when
 * dlogdet != 0) resblock_logdet_estimate: dy (B,d) = dL/dy, dlogdet = dL/dlogdet
 * of every row (−1/B for a mean NLL). Writes dx (B,d) (may alias dy) and the
 * gradient dparams (resblock_nparams, overwritten), including the spectral
 * normalisation's (u, v held constant). The log-det part is ∂(wᵀ·J·v), Chen et al. 2019 §3.2. */
void resblock_backward(const ResBlock *rb, const float *params, const float *state,
                       const ResBlockNorm *norm, const float *x, const ResBlockActs *acts,
                       const float *dy, float dlogdet, float *dx, float *dparams, float *scratch,
                       int B);

/* Stop the fixed-point inverse when no element moves by more than this. With
 * Lip(g) ≤ L the error is then ≤ L/(1−L) times it (≤ 1e-4 at L = 0.913). */
#define RESBLOCK_INVERSE_TOL 1e-5f
enum { RESBLOCK_INVERSE_MAX_ITERS = 500 };

/* y (B,d) -> x (B,d) by x ← y − g(x) from x = y (Banach fixed point). Returns the
 * number of iterations, or -1 when RESBLOCK_INVERSE_MAX_ITERS did not reach the
 * tolerance (x then holds the last iterate). acts is scratch here. */
int resblock_inverse(const ResBlock *rb, const float *params, const ResBlockNorm *norm,
                     const float *y, float *x, ResBlockActs *acts, int B);

#endif
