/* lipswish.h — LipSwish(z) = z·sigmoid(βz) / 1.1, the activation of a residual
 * block's MLP (Chen et al. 2019, "Residual Flows", §4).
 *
 * Swish's derivative, sigmoid(βz) + βz·sigmoid'(βz), depends on βz only and peaks
 * at about 1.0998, so dividing by 1.1 makes the activation 1-Lipschitz for every
 * β: the spectral norms of the linear layers then bound Lip(g). β > 0 is learned
 * through β = softplus(β_raw); one scalar per activation layer. The log-det
 * gradient of a residual block needs φ'' and ∂φ'/∂β as well as φ' and ∂φ/∂β,
 * which is why the backward takes a second (tangent) path. */
#ifndef LDE_LIPSWISH_H
#define LDE_LIPSWISH_H

/* β_raw such that β = softplus(β_raw) = 1, the initial value. */
float lipswish_beta_raw_init(void);

/* a (n) -> y = φ(a) (n) and, when dyda is non-NULL, φ'(a) (n). */
void lipswish_forward(float beta_raw, const float *a, float *y, float *dyda, long n);

/* Backward of the two uses of one activation layer in a residual block:
 *   y = φ(a)           given dy (n) = dL/dy, or NULL when y is unused,
 *   q = φ'(a) ⊙ t      given dq (n) = dL/dq and the tangent t (n), or both NULL.
 * Writes da (n) = dy⊙φ'(a) + dq⊙t⊙φ''(a) and, when dt is non-NULL,
 * dt (n) = dq⊙φ'(a) (dt may alias dq). Returns dL/dβ_raw, summed in double over a
 * fixed partition combined in order (the same bits at any thread count). */
double lipswish_backward(float beta_raw, const float *a, const float *dy, const float *dq,
                         const float *t, float *da, float *dt, long n);

#endif
