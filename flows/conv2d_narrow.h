/* conv2d_narrow.h — a direct 3×3 convolution (stride 1, padding 1) of lde's own for
 * convolutions with few output channels, such as an image coupling's last conv
 * (hidden → 2c: 64 → 2 without squeeze). oneDNN's kernels pad the output channels to
 * 16: its 64 → 2 conv took half the time of the 64 → 64 conv next to it for a 32nd of
 * the arithmetic. conv2d_onednn.h hands it the convs with fewer than
 * CONV_NARROW_MAX_OUT output channels.
 *
 * Each image's planes are copied into a zero-bordered buffer, and every output row is
 * computed 16 columns at a time as explicit 16-lane vectors (GCC vector extensions),
 * so the arithmetic is the same on any instruction set: each value is a sum of
 * products (a multiply, then an add: ISO C does not contract them) in the order the
 * loops below name. The weight gradient is summed per lane, then over the 16 lanes in
 * order, per image, then over the images in order. The bits therefore depend on
 * nothing but the inputs; the function is compiled for AVX-512 and AVX2 as well as
 * the baseline and picks at run time.
 *
 * Tensors are described by strides: ConvStrides gives the floats from one image to
 * the next and from one channel to the next, so (C, B, h, w) and (B, C, h, w) both
 * work. Weights W[Cout][Cin][3][3] as conv2d.h. */
#ifndef LDE_CONV2D_NARROW_H
#define LDE_CONV2D_NARROW_H

enum { CONV_NARROW_MAX_OUT = 16 };

typedef struct {
    long img, ch; /* floats from an image to the next, from a channel to the next */
} ConvStrides;

/* x (n images of cin planes h×w) -> y (n images of cout planes), overwritten; each
 * sum starts from bias[co] (0 when bias is NULL), and max(·, 0) follows when relu is
 * set. */
void conv2d_narrow_forward(const float *W, const float *bias, int relu, const float *x,
                           ConvStrides xs, float *y, ConvStrides ys, int cin, int cout, int n,
                           int h, int w);

/* dy (n, cout planes) -> dx (n, cin planes), overwritten: the gradient of forward
 * with respect to x. */
void conv2d_narrow_backward_data(const float *W, const float *dy, ConvStrides ys, float *dx,
                                 ConvStrides xs, int cin, int cout, int n, int h, int w);

/* x and dy -> dW (Cout·Cin·9), overwritten with Σ over the n images. */
void conv2d_narrow_backward_weights(const float *x, ConvStrides xs, const float *dy, ConvStrides ys,
                                    float *dW, int cin, int cout, int n, int h, int w);

#endif
