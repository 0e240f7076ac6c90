/* linear.h — dense layer y = x·Wᵀ + b: the two layers of a coupling net, the MLP of
 * a residual block, and the backbone's head.
 * Params (out*in + out floats, in this order): W[out][in] row-major, then b[out].
 * Buffers are flat, row-major and caller-owned; nothing here allocates. */
#ifndef LDE_LINEAR_H
#define LDE_LINEAR_H

#include <stdint.h>

/* Number of floats of one layer's parameters. */
long linear_nparams(int in, int out);

/* PyTorch's default: W and b ~ U(-1/sqrt(in), 1/sqrt(in)), drawn from rng stream `stream`. */
void linear_init(float *params, int in, int out, uint64_t seed, uint64_t stream);

/* x (B,in) -> y (B,out). */
void linear_forward(const float *params, const float *x, float *y, int B, int in, int out);

/* dy (B,out) -> dx (B,in) (skipped when dx is NULL) and dparams (out*in + out):
 * added to when accumulate is nonzero, overwritten otherwise. */
void linear_backward(const float *params, const float *x, const float *dy, float *dx,
                     float *dparams, int accumulate, int B, int in, int out);

#endif
