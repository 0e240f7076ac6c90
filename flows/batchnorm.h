/* batchnorm.h — batch normalization over channels (Ioffe & Szegedy 2015, Alg. 1–2).
 *
 * Layout is channel-major, as in conv2d.h: x (C, P) with P = B·h·w, so channel c
 * is the contiguous row x[c]. Training mode normalizes by the batch mean and
 * (biased) variance and updates the running statistics as PyTorch does:
 *   running = (1 - momentum)·running + momentum·batch, with the unbiased variance;
 * evaluation mode normalizes by the running statistics. Each channel is reduced
 * in double by one thread in index order, so the bits do not depend on threads.
 * Params (2·C floats, trained): gamma[C], beta[C].
 * State (2·C floats, saved, not trained): running_mean[C], running_var[C]. */
#ifndef LDE_BATCHNORM_H
#define LDE_BATCHNORM_H

enum { BATCHNORM_NPARAMS_PER_CHANNEL = 2 };
#define BATCHNORM_EPS      1e-5f
#define BATCHNORM_MOMENTUM 0.1f

/* gamma = 1, beta = 0; running mean 0, running variance 1. */
void batchnorm_init(float *params, float *state, int C);

/* x (C,P) -> y (C,P) with batch statistics; writes mean[C] and invstd[C] (kept for
 * backward) and updates state. P >= 2. y may not alias x. */
void batchnorm_forward_train(const float *params, float *state, const float *x, float *y,
                             float *mean, float *invstd, int C, long P);

/* x (C,P) -> y (C,P) with the running statistics. y may alias x. */
void batchnorm_forward_eval(const float *params, const float *state, const float *x, float *y,
                            int C, long P);

/* Training-mode backward: x, mean, invstd from forward, dy (C,P) -> dx (C,P) and
 * dparams (2·C), added to when accumulate is nonzero. dx may alias dy. */
void batchnorm_backward_train(const float *params, const float *x, const float *mean,
                              const float *invstd, const float *dy, float *dx, float *dparams,
                              int accumulate, int C, long P);

/* Evaluation-mode backward, input gradient only: dx = dy · gamma / sqrt(running_var
 * + eps) (the statistics are constants). dx may alias dy. */
void batchnorm_backward_eval(const float *params, const float *state, const float *dy, float *dx,
                             int C, long P);

/* The same four on oneDNN's blocked layout (conv2d_onednn.h): x, y, dy, dx as
 * (B, C/16, hw, 16), C a multiple of 16, P = B·hw. Every channel gets the operations
 * of the (C, P) versions in the same order: the same bits. */
void batchnorm_forward_train_blocked(const float *params, float *state, const float *x, float *y,
                                     float *mean, float *invstd, int C, int B, long hw);
void batchnorm_forward_eval_blocked(const float *params, const float *state, const float *x,
                                    float *y, int C, int B, long hw);
void batchnorm_backward_train_blocked(const float *params, const float *x, const float *mean,
                                      const float *invstd, const float *dy, float *dx,
                                      float *dparams, int accumulate, int C, int B, long hw);
void batchnorm_backward_eval_blocked(const float *params, const float *state, const float *dy,
                                     float *dx, int C, int B, long hw);

#endif
