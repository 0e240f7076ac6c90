/* invlinear.h — invertible linear layer y = W x with W = L·U·P (Glow §3.2, LU form,
 * here on vectors: Glow's invertible 1×1 convolution with a 1×1 image). Glow writes
 * W = P·L·U; putting the fixed permutation first instead is the same family
 * (W ↦ PᵀWP) and lets the permutation be a gather of the input.
 *
 * P is a fixed permutation (state, drawn at init), L unit lower-triangular, U upper
 * triangular with diagonal exp(logs): log|det W| = Σ logs. W is never formed; a batch
 * is pushed through the triangular factors with BLAS trmm (forward) and trsm
 * (inverse), O(B·d²) per step instead of a d³ product.
 * Params (d*d + d floats, in this order): M[d][d] row-major — its strictly lower part
 * is L, its strictly upper part is U's off-diagonal, its diagonal is unused (kept at
 * zero, zero gradient) — then logs[d]. State (d floats): perm, the permutation as
 * exact small integers: (P x)_i = x_{perm[i]}. Init: P random, L = U = I, so a new
 * layer is a permutation. */
#ifndef LDE_INVLINEAR_H
#define LDE_INVLINEAR_H

#include <stdint.h>

long invlinear_nparams(int d);
long invlinear_nstate(int d);

/* L = U = I and a random permutation drawn from (seed, stream). */
void invlinear_init(float *params, float *state, int d, uint64_t seed, uint64_t stream);

/* params -> T (d,d): the packed factors with U's diagonal exp(logs) filled in. Built
 * once per forward pass and shared by forward, backward and inverse. */
void invlinear_factors(const float *params, float *T, int d);

/* x (B,d) -> y (B,d), keeps a = (P x)·Uᵀ (B,d) for backward; adds Σ logs to
 * logdet[B]. T from invlinear_factors. */
void invlinear_forward(const float *params, const float *state, const float *T, const float *x,
                       float *a, float *y, double *logdet, int B, int d);

/* x (B,d), a (B,d) from forward, dy (B,d) (overwritten: scratch), dlogdet -> dx (B,d)
 * and dparams (d*d + d, overwritten). scratch: 2*d*d floats. */
void invlinear_backward(const float *state, const float *T, const float *x, const float *a,
                        float *dy, float dlogdet, float *dx, float *dparams, float *scratch, int B,
                        int d);

/* y (B,d) -> x (B,d); scratch (B,d). */
void invlinear_inverse(const float *state, const float *T, const float *y, float *x, float *scratch,
                       int B, int d);

#endif
