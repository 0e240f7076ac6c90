/* conv_coupling.h — affine coupling on images with a convolutional st-network
 * (RealNVP, Dinh et al. 2017 §3.3–3.4; masks and bottleneck from Kirichenko et al.
 * 2020 §6–7).
 *
 * An h×w×c image, NHWC per sample (mask.h), is split by a mask into conditioning
 * (COND), transformed (TRANS) and untouched (PASS) positions. With m = 1 on COND:
 *   (raw_s, t) = NN(x ⊙ m),  s = 2·tanh(raw_s / 2)
 *   y = x ⊙ exp(s) + t on TRANS,  y = x elsewhere,  log|det J| = Σ_TRANS s.
 * NN = conv3×3(c→h) → ReLU → conv3×3(h→h) → ReLU → conv3×3(h→2c), padding 1, with
 * biases; channel ch of its output is raw_s of image channel ch, channel c + ch is t.
 * With a bottleneck l > 0 (Kirichenko §7) the middle ReLU's feature map, h·H·W values
 * per image, goes through Linear(h·H·W → l) → Linear(l → h·H·W) before the last conv.
 * The last conv starts at zero, so a new coupling is the identity. The tanh clamp is
 * the vector coupling's (coupling.h). NN sees only COND positions, so TRANS outputs
 * depend on the input only through them: the inverse recomputes NN from y.
 * Three 3×3 convs see 7×7: without a bottleneck, a horizontal or cycle coupling
 * updates a pixel from the COND rows within 3 rows of it only (a cycle coupling from
 * stripe 3 to stripe 0 of a 28-row image, 21 rows apart, gets s and t from the biases
 * alone); the bottleneck's fully connected layers see the whole image.
 *
 * The convs are conv2d.h's (im2col + GEMM) or, when conv is CONV_ONEDNN,
 * conv2d_onednn.h's (the same weights). Images go in fixed units to an OpenMP loop,
 * and the weight gradients are per-unit partials summed in unit order (the same bits
 * at any thread count). im2col: units of CONV_COUPLING_GROUP images, each conv run one
 * image at a time on its (c, h, w) block, so that an image's im2col columns (9·h·H·W
 * floats, 1.8 MB at h = 64 on 28×28) are still in cache when its GEMM reads them.
 * oneDNN: units of CONV_ONEDNN_CHUNK images, each conv one call on the unit's
 * (n, c, h, w) block: its kernels and its weight reorders pay off over many images;
 * the first conv's output stays in oneDNN's blocked layout through its bias, ReLU
 * and the middle conv (hidden a multiple of 16), which saves the copies in and out.
 * Forward keeps the convs' inputs, not their 9× larger columns; backward rebuilds
 * them.
 * Params, in order: W1[h][c][3][3], b1[h], W2[h][h][3][3], b2[h], (bottleneck:
 * Linear down W[l][h·H·W], b[l], Linear up W[h·H·W][l], b[h·H·W], see linear.h; the
 * feature map is flattened channel-major, (ch, y, x)), W3[2c][h][3][3], b3[2c]. */
#ifndef LDE_CONV_COUPLING_H
#define LDE_CONV_COUPLING_H

#include "flows/conv2d_onednn.h"
#include "flows/mask.h"

#include <stdint.h>

typedef struct {
    int h, w, c;            /* image shape */
    int hidden, bottleneck; /* st-network channels; 0 = no bottleneck */
    FlowMask mask;
    int index;     /* the coupling's number within its scale: parity, or stripe for cycle */
    ConvImpl conv; /* im2col (conv2d.h) or oneDNN (conv2d_onednn.h); set after _make */
} ConvCoupling;

/* The shape of a coupling; 0 on success, -1 when the mask cannot split h×w×c
 * (mask_valid) or a size is not positive. */
int conv_coupling_make(ConvCoupling *cc, int h, int w, int c, int hidden, int bottleneck,
                       FlowMask mask, int index);

long conv_coupling_nparams(const ConvCoupling *cc);

/* Images per im2col unit (see above): 16 units of work for a batch of 64. */
enum { CONV_COUPLING_GROUP = 4 };

/* Floats per image that forward keeps for backward (a batch of B needs B times as
 * many), and the scratch forward, backward and inverse need for a batch of B images:
 * affine in B (a per-image part and one unit's buffers per unit of u images,
 * bounded by B·(that part + a u-th of a unit) + a unit). */
long conv_coupling_nsaved(const ConvCoupling *cc);
long conv_coupling_nscratch(const ConvCoupling *cc, int B);

/* First two convs (and the bottleneck) as PyTorch's defaults, U(±1/sqrt(fan_in)),
 * from streams stream .. stream+5; the last conv and its bias 0. */
void conv_coupling_init(const ConvCoupling *cc, float *params, uint64_t seed, uint64_t stream);

/* x (B, h·w·c) -> y (B, h·w·c); adds Σ s to logdet[B]; fills saved (B·nsaved);
 * scratch (nscratch(B)), here and below. */
void conv_coupling_forward(const ConvCoupling *cc, const float *params, const float *x, float *y,
                           double *logdet, float *saved, float *scratch, int B);

/* conv_coupling_forward for a pass that no backward follows (evaluation): while the
 * last conv is still +0 (a new coupling) the network's output is +0 and it is
 * skipped, with the same bits (zero_net.h says when that holds); else
 * conv_coupling_forward. saved then holds the network's output (s, t) only, which is
 * what conv_coupling_st reads. */
void conv_coupling_forward_eval(const ConvCoupling *cc, const float *params, const float *x,
                                float *y, double *logdet, float *saved, float *scratch, int B);

/* x (B, h·w·c), saved from forward, dy (B, h·w·c), dlogdet (the loss's weight on each
 * image's log-det) -> dx (B, h·w·c) and dparams (nparams, overwritten). */
void conv_coupling_backward(const ConvCoupling *cc, const float *params, const float *x,
                            const float *saved, const float *dy, float dlogdet, float *dx,
                            float *dparams, float *scratch, int B);

/* y (B, h·w·c) -> x (B, h·w·c); saved (B·nsaved) is used as scratch too. */
void conv_coupling_inverse(const ConvCoupling *cc, const float *params, const float *y, float *x,
                           float *saved, float *scratch, int B);

/* After conv_coupling_forward (or _eval) over B images with this saved: the layer's scale s
 * (clamped, as applied) and shift t, NHWC (B, h·w·c) each, 0 where the layer does
 * not transform (what Kirichenko et al. Fig. 3 draws). */
void conv_coupling_st(const ConvCoupling *cc, const float *saved, float *s, float *t, int B);

/* Floating-point operations of one forward pass over B images (convs and bottleneck
 * products, 2 per multiply-add). */
double conv_coupling_flops(const ConvCoupling *cc, int B);

#endif
