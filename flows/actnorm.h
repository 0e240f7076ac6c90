/* actnorm.h — per-dimension affine layer y = (x + b) · exp(logs) (Glow §3.1).
 *
 * Data-dependent init (Kingma & Dhariwal 2018): on the first batch it sees,
 * b = -mean and logs = -log(std + ACTNORM_STD_FLOOR), so that batch leaves the layer
 * with zero mean and unit variance per dimension. The floor keeps a dimension that
 * never varies (a dead ReLU feature) finite: no step divides by a variance that can
 * be zero. Whether the layer has been initialised is part of the model's state
 * (flow.h), saved with it, so a loaded model is never re-initialised.
 * Params (2*d floats, in this order): b[d], logs[d]. log|det J| = Σ logs per row. */
#ifndef LDE_ACTNORM_H
#define LDE_ACTNORM_H

#define ACTNORM_STD_FLOOR 1e-6

long actnorm_nparams(int d);

/* The identity: b = 0, logs = 0 (used until the data-dependent init runs). */
void actnorm_init(float *params, int d);

/* x (B,d) -> params: b = -mean, logs = -log(std + floor), moments in double. */
void actnorm_init_from_data(float *params, const float *x, int B, int d);

/* x (B,d) -> y (B,d); adds Σ logs to logdet[B]. */
void actnorm_forward(const float *params, const float *x, float *y, double *logdet, int B, int d);

/* x (B,d), dy (B,d), dlogdet (the loss's weight on each row's log-det) -> dx (B,d)
 * and dparams (2*d, overwritten). */
void actnorm_backward(const float *params, const float *x, const float *dy, float dlogdet,
                      float *dx, float *dparams, int B, int d);

/* y (B,d) -> x (B,d). */
void actnorm_inverse(const float *params, const float *y, float *x, int B, int d);

#endif
