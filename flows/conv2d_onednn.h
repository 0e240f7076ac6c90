/* conv2d_onednn.h — the 3×3 convolution of conv2d.h computed by oneDNN (Debian's
 * libdnnl, the library PyTorch's CPU convolutions use): Winograd F(4×4, 3×3) where
 * oneDNN has it for the shape, its direct kernels otherwise; a stride-1 conv with
 * fewer than 16 output channels goes to lde's own direct kernel (conv2d_narrow.h),
 * because oneDNN pads output channels to 16. Weights W[Cout][Cin][3][3], padding 1
 * and strides as conv2d.h; no im2col matrix, so backward takes the layer's input x
 * instead of cols. Tensors are (C, B, h, w) as conv2d.h has them, (B, C, h, w) as the
 * image flows have them, or oneDNN's blocked layout (ConvLayout).
 *
 * Determinism: the batch is cut into fixed chunks of CONV_ONEDNN_CHUNK images; every
 * primitive is configured for one thread and runs a whole chunk in one thread, and
 * the chunks' weight-gradient partials are added in chunk order. The bits depend on
 * the shapes and on the instruction set oneDNN dispatches to (conv2d_onednn_describe),
 * never on the thread count or the layouts. Results differ from conv2d.h in the last
 * bits (another summation order; Winograd's transforms), so the choice is a config
 * key. Buffers are flat and caller-owned; oneDNN's own blocked copies live in
 * per-thread scratch that this module keeps. */
#ifndef LDE_CONV2D_ONEDNN_H
#define LDE_CONV2D_ONEDNN_H

/* Which implementation a model's 3×3 convolutions use (a config key): conv2d.h's
 * im2col + GEMM, or this module. */
typedef enum { CONV_IM2COL, CONV_ONEDNN } ConvImpl;

enum { CONV_ONEDNN_CHUNK = 32 };

/* How a batch of images lies in memory: channel-major (C, B, h, w), as conv2d.h and
 * the backbone; image-major (B, C, h, w), as the image flows; or oneDNN's own blocked
 * layout (B, C/16, h, w, 16), channels in blocks of 16 with a pixel's 16 together
 * (C a multiple of 16): the layout its kernels compute in, so a tensor kept in it
 * from one conv to the next skips two copies. */
typedef enum { CONV_CBHW, CONV_BCHW, CONV_BLOCKED } ConvLayout;

/* The layouts of a conv's input side (x, dx) and output side (y, dy). */
typedef struct {
    ConvLayout x, y;
} ConvLayouts;

/* x (Cin, B, h, w) -> y (Cout, B, ho, wo), each in its layout; then, fused into the
 * same pass over y, + bias[co] when bias is not NULL and max(·, 0) when relu is set. */
void conv2d_onednn_forward(const float *W, const float *bias, int relu, const float *x, float *y,
                           int cin, int cout, int B, int h, int w, int stride, ConvLayouts lay);

/* Floats of the workspace conv2d_onednn_backward needs: one weight-gradient partial
 * per chunk. */
long conv2d_onednn_workspace(int cin, int cout, int B);

/* x (Cin, B, h, w) and dy (Cout, B, ho, wo) -> dW (Cout·Cin·9), added to when
 * accumulate is nonzero; and, when dx is not NULL, dx (Cin, B, h, w) overwritten
 * (each in the layout named). work holds conv2d_onednn_workspace(...) floats. */
void conv2d_onednn_backward(const float *W, const float *x, const float *dy, float *work, float *dx,
                            float *dW, int accumulate, int cin, int cout, int B, int h, int w,
                            int stride, ConvLayouts lay);

/* "oneDNN 2.6.3 avx512_core": the version and the instruction set its kernels use. */
const char *conv2d_onednn_describe(void);

#endif
