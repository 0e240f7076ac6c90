/* invlinear.h — invertible linear layer y = W x with W = L·U·P (Glow §3.2, LU form,
 * here on vectors: Glow's invertible 1×1 convolution with a 1×1 image). Glow writes
 * W = P·L·U; putting the fixed permutation first instead is the same family
 * (W ↦ PᵀWP) and lets the permutation be a gather of the input.
 *
 * P is a fixed permutation (state, drawn at init), L unit lower-triangular, U upper
 * triangular with diagonal sign·exp(logs), the signs fixed (state) and logs = log|U_ii|
 * learned, as Glow's LU form has it: log|det W| = Σ logs. W is never formed; a batch
 * is pushed through the triangular factors with BLAS trmm (forward) and trsm
 * (inverse), O(B·d²) per step instead of a d³ product.
 * Params (d*d + d floats, in this order): M[d][d] row-major — its strictly lower part
 * is L, its strictly upper part is U's off-diagonal, its diagonal is unused (kept at
 * zero, zero gradient) — then logs[d]. State (2*d floats): perm, the permutation as
 * exact small integers, (P x)_i = x_{perm[i]}; then sign[d], each +1 or -1.
 *
 * Two starts (FlowConfig.linear_init):
 *   rotation     Glow's (Kingma & Dhariwal 2018 §3.2): W = a random rotation Q, the
 *                Q of the QR of a Gaussian matrix with the sign fix R_ii > 0
 *                (Mezzadri 2007, so Q is Haar-distributed), factorised exactly as
 *                W = L·U·P by Gaussian elimination with column pivoting (Q·Pᵀ = L·U).
 *   permutation  L = U = I, sign = +1, P random: a new layer is a permutation (the
 *                start of nflows' LULinear, and lde's before issue 17). */
#ifndef LDE_INVLINEAR_H
#define LDE_INVLINEAR_H

#include <stdint.h>

long invlinear_nparams(int d);
long invlinear_nstate(int d);

/* L = U = I, sign = +1 and a random permutation drawn from (seed, stream). */
void invlinear_init_permutation(float *params, float *state, int d, uint64_t seed, uint64_t stream);

/* W = a random rotation from the Gaussian of (seed, stream), factorised as above.
 * Returns 0, or -1 when memory runs out (params and state then untouched). */
int invlinear_init_rotation(float *params, float *state, int d, uint64_t seed, uint64_t stream);

/* params, state -> T (d,d): the packed factors with U's diagonal sign·exp(logs) filled
 * in. Built once per forward pass and shared by forward, backward and inverse. */
void invlinear_factors(const float *params, const float *state, float *T, int d);

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
