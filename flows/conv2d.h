/* conv2d.h — 3×3 convolution, padding 1, stride 1 or 2: the backbone's conv layers.
 *
 * Layout is channel-major: an activation with C channels over a batch of B images
 * of h×w pixels is (C, B, h, w), so one conv over the whole batch is one GEMM
 *   y (Cout, B·ho·wo) = W (Cout, Cin·9) · cols (Cin·9, B·ho·wo)
 * after im2col, and batch norm reduces each channel over one contiguous row.
 * There is no bias: batch norm follows every conv and would cancel it.
 * Params (Cout·Cin·9 floats): W[Cout][Cin][3][3] row-major.
 * Buffers are flat and caller-owned; nothing here allocates. */
#ifndef LDE_CONV2D_H
#define LDE_CONV2D_H

#include <stdint.h>

/* Number of floats of one layer's weights. */
long conv2d_nparams(int cin, int cout);

/* Output side for an input side h: floor((h + 2·1 - 3) / stride) + 1. */
int conv2d_out_size(int h, int stride);

/* PyTorch's default (kaiming_uniform with a = sqrt(5)): W ~ U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), fan_in = Cin·9, drawn from rng stream `stream`. */
void conv2d_init(float *W, int cin, int cout, uint64_t seed, uint64_t stream);

/* x (Cin, B, h, w) -> cols (Cin·9, B·ho·wo), the workspace kept for backward,
 * and y (Cout, B·ho·wo). */
void conv2d_forward(const float *W, const float *x, float *cols, float *y, int cin, int cout, int B,
                    int h, int w, int stride);

/* x (Cin, B, h, w) -> cols (Cin·9, B·ho·wo): the im2col conv2d_forward starts with.
 * A layer that keeps only x for backward (not the 9× larger cols) calls it again
 * there to rebuild cols (conv_coupling.c). */
void conv2d_im2col(const float *x, float *cols, int cin, int B, int h, int w, int stride);

/* Floats of the workspace conv2d_backward needs: the larger of dcols (Cin·9,
 * B·ho·wo) and the per-chunk partial weight gradients. */
long conv2d_workspace(int cin, int cout, int B, int h, int w, int stride);

/* dy (Cout, B·ho·wo), cols from forward -> dW (Cout·Cin·9), added to when accumulate
 * is nonzero; and, when dx is not NULL, dx (Cin, B, h, w) overwritten. work holds
 * conv2d_workspace(...) floats. */
void conv2d_backward(const float *W, const float *cols, const float *dy, float *dcols, float *dx,
                     float *dW, int accumulate, int cin, int cout, int B, int h, int w, int stride);

#endif
