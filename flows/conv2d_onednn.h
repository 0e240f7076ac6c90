/* conv2d_onednn.h — the 3×3 convolution of conv2d.h computed by oneDNN (Debian's
 * libdnnl, the library PyTorch's CPU convolutions use): Winograd F(4×4, 3×3) where
 * oneDNN has it for the shape, its direct kernels otherwise. Same layout (C, B, h, w),
 * weights W[Cout][Cin][3][3], padding 1 and strides as conv2d.h; no im2col matrix,
 * so backward takes the layer's input x instead of cols. Tensors are (C, B, h, w) as
 * conv2d.h has them, or (B, C, h, w), the per-image layout of the image flows.
 *
 * Determinism: the batch is cut into fixed chunks of CONV_ONEDNN_CHUNK images; every
 * primitive is configured for one thread and runs a whole chunk in one thread, and
 * the chunks' weight-gradient partials are added in chunk order. The bits depend on
 * the shapes and on the instruction set oneDNN dispatches to (conv2d_onednn_isa),
 * never on the thread count. Results differ from conv2d.h in the last bits (another
 * summation order; Winograd's transforms), so the choice is a config key.
 * Buffers are flat and caller-owned; oneDNN's own blocked copies live in per-thread
 * scratch that this module keeps. */
#ifndef LDE_CONV2D_ONEDNN_H
#define LDE_CONV2D_ONEDNN_H

/* Which implementation a model's 3×3 convolutions use (a config key): conv2d.h's
 * im2col + GEMM, or this module. */
typedef enum { CONV_IM2COL, CONV_ONEDNN } ConvImpl;

enum { CONV_ONEDNN_CHUNK = 32 };

/* How a batch of images lies in memory: channel-major (C, B, h, w), as conv2d.h and
 * the backbone, or image-major (B, C, h, w), as the image flows. */
typedef enum { CONV_CBHW, CONV_BCHW } ConvLayout;

/* x (Cin, B, h, w) -> y (Cout, B, ho, wo), or (B, Cin, h, w) -> (B, Cout, ho, wo). */
void conv2d_onednn_forward(const float *W, const float *x, float *y, int cin, int cout, int B,
                           int h, int w, int stride, ConvLayout layout);

/* Floats of the workspace conv2d_onednn_backward needs: one weight-gradient partial
 * per chunk. */
long conv2d_onednn_workspace(int cin, int cout, int B);

/* x (Cin, B, h, w) and dy (Cout, B, ho, wo) -> dW (Cout·Cin·9), added to when
 * accumulate is nonzero; and, when dx is not NULL, dx (Cin, B, h, w) overwritten
 * (each in the layout named). work holds conv2d_onednn_workspace(...) floats. */
void conv2d_onednn_backward(const float *W, const float *x, const float *dy, float *work, float *dx,
                            float *dW, int accumulate, int cin, int cout, int B, int h, int w,
                            int stride, ConvLayout layout);

/* "oneDNN 2.6.3 avx512_core": the version and the instruction set its kernels use. */
const char *conv2d_onednn_describe(void);

#endif
