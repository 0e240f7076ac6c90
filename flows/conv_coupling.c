/* conv_coupling.c — see conv_coupling.h. Every loop over the batch runs over fixed
 * units of images (an OpenMP loop over units, a unit's images in order inside it):
 * CONV_COUPLING_GROUP images for im2col, whose conv of one image is one im2col and
 * one GEMM in the calling thread (gemm.h: inside a parallel region); one oneDNN
 * chunk, CONV_ONEDNN_CHUNK images, for oneDNN, which convolves a unit in one call in
 * the calling thread. Each st-network stage runs on a whole unit before the next. The
 * reductions — log-det per image, weight and bias gradients per unit, then over
 * units — run in a fixed order, so the bits do not depend on the thread count.
 *
 * Activations are NCHW per image (image b's c×h×w block at b·c·h·w), which is also
 * the (B, h·H·W) row layout of the bottleneck's Linear layers: no transposes. */
#include "flows/conv_coupling.h"

#include "flows/conv2d.h"
#include "flows/conv2d_onednn.h"
#include "flows/linear.h"
#include "flows/relu.h"
#include "flows/rng.h"
#include "flows/zero_net.h"

#include <math.h>
#include <string.h>

int conv_coupling_make(ConvCoupling *cc, int h, int w, int c, int hidden, int bottleneck,
                       FlowMask mask, int index) {
    if (h < 1 || w < 1 || c < 1 || hidden < 1 || bottleneck < 0 || index < 0 ||
        !mask_valid(mask, h, w, c))
        return -1;
    *cc = (ConvCoupling){h, w, c, hidden, bottleneck, mask, index, CONV_IM2COL};
    return 0;
}

/* Values of the feature map of one image: the bottleneck's width in and out. */
static long fmap_size(const ConvCoupling *cc) {
    return (long)cc->hidden * cc->h * cc->w;
}

typedef struct {
    long W1, b1, W2, b2, down, up, W3, b3, total;
} Offsets;

static Offsets offsets(const ConvCoupling *cc) {
    Offsets o;
    int c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    long F = fmap_size(cc);
    o.W1 = 0;
    o.b1 = o.W1 + conv2d_nparams(c, hd);
    o.W2 = o.b1 + hd;
    o.b2 = o.W2 + conv2d_nparams(hd, hd);
    o.down = o.b2 + hd;
    o.up = o.down + (l > 0 ? linear_nparams((int)F, l) : 0);
    o.W3 = o.up + (l > 0 ? linear_nparams(l, (int)F) : 0);
    o.b3 = o.W3 + conv2d_nparams(hd, 2 * c);
    o.total = o.b3 + 2L * c;
    return o;
}

long conv_coupling_nparams(const ConvCoupling *cc) {
    return offsets(cc).total;
}

/* Values of the convs' parameters (all but the bottleneck's), the size of one
 * unit's gradient partial; in it W1, b1, W2, b2 sit where they sit in params and
 * W3, b3 follow b2 directly. */
static long conv_params(const ConvCoupling *cc) {
    Offsets o = offsets(cc);
    return o.total - (o.W3 - o.down);
}

/* The activations forward keeps, NCHW per image, for a batch of B images: X (c·hw)
 * the masked input, H1 and H2 (hidden·hw) after their ReLUs, M (l) the bottleneck
 * code and U (hidden·hw) its expansion (bottleneck only), ST (2c·hw): raw_s, t. */
typedef struct {
    float *X, *H1, *H2, *M, *U, *ST;
} Acts;

static Acts acts_view(const ConvCoupling *cc, float *base, int B) {
    long hw = (long)cc->h * cc->w, F = fmap_size(cc), l = cc->bottleneck;
    Acts a;
    a.X = base;
    a.H1 = a.X + hw * cc->c * B;
    a.H2 = a.H1 + B * F;
    a.M = a.H2 + B * F;
    a.U = a.M + (l > 0 ? l * B : 0);
    a.ST = a.U + (l > 0 ? B * F : 0);
    return a;
}

long conv_coupling_nsaved(const ConvCoupling *cc) {
    long hw = (long)cc->h * cc->w, F = fmap_size(cc), l = cc->bottleneck;
    return cc->c * hw + 2 * F + (l > 0 ? l + F : 0) + 2L * cc->c * hw;
}

/* Scratch for B images. Per unit (one slot per unit of images): cols (im2col only:
 * the widest conv's columns of one image, 9·max(c,hidden)·hw, reused image after
 * image), work (the backward workspace of a conv, work_floats) and part (the unit's
 * gradient partial, conv_params floats). Per image: the gradients dST (2c·hw), dA and dB
 * (hidden·hw), dX (c·hw), dM (l). */
typedef struct {
    float *cols, *work, *part, *dST, *dA, *dB, *dX, *dM;
} Scratch;

static long cols_floats(const ConvCoupling *cc) {
    if (cc->conv == CONV_ONEDNN) return 0; /* oneDNN reads the images in place */
    int k = cc->c > cc->hidden ? cc->c : cc->hidden;
    return 9L * k * cc->h * cc->w;
}

/* The widest conv's backward workspace for one unit: conv2d.h's for one image (it
 * goes image by image), or conv2d_onednn.h's for one chunk. */
static long work_floats(const ConvCoupling *cc) {
    int c = cc->c, hd = cc->hidden, h = cc->h, w = cc->w,
        io[3][2] = {{c, hd}, {hd, hd}, {hd, 2 * c}};
    long m = 0;
    for (int k = 0; k < 3; k++) {
        int i = io[k][0], o = io[k][1];
        long n = cc->conv == CONV_ONEDNN ? conv2d_onednn_workspace(i, o, CONV_ONEDNN_CHUNK)
                                         : conv2d_workspace(i, o, 1, h, w, 1);
        m = n > m ? n : m;
    }
    return m;
}

static long unit_floats(const ConvCoupling *cc) {
    return cols_floats(cc) + work_floats(cc) + conv_params(cc);
}

static long image_floats(const ConvCoupling *cc) {
    return 3L * cc->c * cc->h * cc->w + 2 * fmap_size(cc) + cc->bottleneck;
}

/* Images per unit, and units in a batch of B (the last may be short). */
static int unit_size(const ConvCoupling *cc) {
    return cc->conv == CONV_ONEDNN ? CONV_ONEDNN_CHUNK : CONV_COUPLING_GROUP;
}

static int nunits(const ConvCoupling *cc, int B) {
    return (B + unit_size(cc) - 1) / unit_size(cc);
}

long conv_coupling_nscratch(const ConvCoupling *cc, int B) {
    /* nunits(B) <= B/u + 1: each image pays a u-th of a unit's buffers, plus one */
    long u = unit_size(cc), per_image = (unit_floats(cc) + u - 1) / u;
    return (long)B * (image_floats(cc) + per_image) + unit_floats(cc);
}

static Scratch scratch_view(const ConvCoupling *cc, float *base, int B) {
    long hw = (long)cc->h * cc->w, F = fmap_size(cc), ng = nunits(cc, B);
    Scratch s;
    s.cols = base;
    s.work = s.cols + ng * cols_floats(cc);
    s.part = s.work + ng * work_floats(cc);
    s.dST = s.part + ng * conv_params(cc);
    s.dA = s.dST + B * 2L * cc->c * hw;
    s.dB = s.dA + B * F;
    s.dX = s.dB + B * F;
    s.dM = s.dX + hw * cc->c * B;
    return s;
}

void conv_coupling_init(const ConvCoupling *cc, float *params, uint64_t seed, uint64_t stream) {
    Offsets o = offsets(cc);
    int c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    conv2d_init(params + o.W1, c, hd, seed, stream);
    float b1 = 1.0f / sqrtf(9.0f * c), b2 = 1.0f / sqrtf(9.0f * hd);
    rng_fill_uniform(params + o.b1, hd, -b1, b1, seed, stream + 1, 0);
    conv2d_init(params + o.W2, hd, hd, seed, stream + 2);
    rng_fill_uniform(params + o.b2, hd, -b2, b2, seed, stream + 3, 0);
    if (l > 0) {
        linear_init(params + o.down, (int)fmap_size(cc), l, seed, stream + 4);
        linear_init(params + o.up, l, (int)fmap_size(cc), seed, stream + 5);
    }
    memset(params + o.W3, 0, sizeof(float) * (size_t)(o.total - o.W3));
}

/* One image: x (h·w·c) NHWC -> X (c, h·w), COND positions only (x ⊙ m), 0 elsewhere. */
static void masked_input(const ConvCoupling *cc, const float *x, float *X) {
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w;
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            long p = (long)y * w + xx;
            for (int ch = 0; ch < c; ch++) {
                int cond = mask_role(cc->mask, cc->index, h, w, c, y, xx, ch) == MASK_COND;
                X[ch * hw + p] = cond ? x[p * c + ch] : 0.0f;
            }
        }
}

/* One image: y (cout, hw) += bias per channel, then ReLU when relu is set. */
static void bias_act(float *y, const float *bias, int cout, long hw, int relu) {
    for (int co = 0; co < cout; co++) {
        float *row = y + co * hw, v = bias[co];
#pragma omp simd
        for (long p = 0; p < hw; p++) {
            float t = row[p] + v;
            row[p] = relu && !(t > 0.0f) ? 0.0f : t; /* relu.c's max(t, 0) */
        }
    }
}

/* One image: db[co] (+)= Σ over its hw positions of dy (cout, hw), in order. */
static void bias_grad(const float *dy, float *db, int cout, long hw, int accumulate) {
    for (int co = 0; co < cout; co++) {
        double s = 0.0;
        for (long p = 0; p < hw; p++) s += dy[co * hw + p];
        db[co] = (accumulate ? db[co] : 0.0f) + (float)s;
    }
}

/* The input of the last conv: the middle feature map, or its bottleneck expansion. */
static const float *net_top(const ConvCoupling *cc, Acts a) {
    return cc->bottleneck > 0 ? a.U : a.H2;
}

/* Whether H1, the first conv's output, stays in oneDNN's blocked layout (see
 * conv2d_onednn.h) through its bias, ReLU and the middle conv, forward and backward:
 * oneDNN convs and hidden a multiple of 16. H2 stays image-major: the last conv and
 * the bottleneck read it as planes. */
static int h1_blocked(const ConvCoupling *cc) {
    return cc->conv == CONV_ONEDNN && cc->hidden % 16 == 0;
}

/* The layouts of the three convs' sides: X -> H1, H1 -> H2, H2 -> ST. */
static ConvLayouts conv_layouts(const ConvCoupling *cc, int k) {
    ConvLayout h1 = h1_blocked(cc) ? CONV_BLOCKED : CONV_BCHW;
    return k == 0   ? (ConvLayouts){CONV_BCHW, h1}
           : k == 1 ? (ConvLayouts){h1, CONV_BCHW}
                    : (ConvLayouts){CONV_BCHW, CONV_BCHW};
}

/* Conv k (0, 1, 2) of the n images of a unit, x (n, cin, h, w) -> y (n, cout, h, w),
 * + bias per channel, then ReLU when relu is set: oneDNN in one call (one chunk, in
 * this thread) with the bias and ReLU fused in, or im2col image by image (cols: one
 * image's columns) and then bias_act. */
static void conv_fwd(const ConvCoupling *cc, int k, const float *W, const float *bias, int relu,
                     const float *x, float *cols, float *y, int cin, int cout, int n) {
    int h = cc->h, w = cc->w;
    if (cc->conv == CONV_ONEDNN) {
        conv2d_onednn_forward(W, bias, relu, x, y, cin, cout, n, h, w, 1, conv_layouts(cc, k));
        return;
    }
    long xs = (long)cin * h * w, ys = (long)cout * h * w;
    for (int b = 0; b < n; b++) {
        conv2d_forward(W, x + b * xs, cols, y + b * ys, cin, cout, 1, h, w, 1);
        bias_act(y + b * ys, bias, cout, (long)h * w, relu);
    }
}

/* Its gradients from dy (n, cout, h, w): dW (the unit's partial, overwritten) and dx
 * (n, cin, h, w) overwritten. im2col rebuilds the columns forward did not keep and
 * adds image after image into dW. */
static void conv_bwd(const ConvCoupling *cc, int k, const float *W, const float *x, const float *dy,
                     float *cols, float *work, float *dx, float *dW, int cin, int cout, int n) {
    int h = cc->h, w = cc->w;
    if (cc->conv == CONV_ONEDNN) {
        conv2d_onednn_backward(W, x, dy, work, dx, dW, 0, cin, cout, n, h, w, 1,
                               conv_layouts(cc, k));
        return;
    }
    long xs = (long)cin * h * w, ys = (long)cout * h * w;
    for (int b = 0; b < n; b++) {
        conv2d_im2col(x + b * xs, cols, cin, 1, h, w, 1);
        conv2d_backward(W, cols, dy + b * ys, work, dx + b * xs, dW, b > 0, cin, cout, 1, h, w, 1);
    }
}

/* A unit's bias gradient, db (cout) = Σ over its images in order of bias_grad; blocked:
 * dy in (n, cout/16, hw, 16), each channel's sum over positions in the same order and
 * precision, so the same bits as the plain layout. */
static void bias_grad_unit(const float *dy, float *db, int cout, long hw, int n, int blocked) {
    if (!blocked) {
        for (int b = 0; b < n; b++) bias_grad(dy + (long)b * cout * hw, db, cout, hw, b > 0);
        return;
    }
    for (int b = 0; b < n; b++)
        for (int cb = 0; cb < cout / 16; cb++) {
            const float *v = dy + ((long)b * (cout / 16) + cb) * hw * 16;
            double s[16] = {0};
            for (long p = 0; p < hw; p++)
                for (int l = 0; l < 16; l++) s[l] += v[p * 16 + l];
            for (int l = 0; l < 16; l++)
                db[cb * 16 + l] = (b > 0 ? db[cb * 16 + l] : 0.0f) + (float)s[l];
        }
}

/* The images of unit u of a batch of B: [*b0, *b0 + n). */
static int unit_images(const ConvCoupling *cc, int u, int B, int *b0) {
    *b0 = u * unit_size(cc);
    return B - *b0 < unit_size(cc) ? B - *b0 : unit_size(cc);
}

/* in (B, h·w·c) -> a.ST (B, 2c·hw) through the st-network, keeping its activations. */
static void net_forward(const ConvCoupling *cc, const float *params, const float *in, Acts a,
                        Scratch g, int B) {
    Offsets o = offsets(cc);
    int c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    long hw = (long)cc->h * cc->w, F = fmap_size(cc), d = hw * c, ss = hw * 2 * c;
    const float *top = net_top(cc, a);
#pragma omp parallel for schedule(static) if (nunits(cc, B) > 1)
    for (int u = 0; u < nunits(cc, B); u++) {
        float *cols = g.cols + u * cols_floats(cc);
        int b0, n = unit_images(cc, u, B, &b0);
        float *X = a.X + b0 * d, *H1 = a.H1 + b0 * F, *H2 = a.H2 + b0 * F;
        for (int b = 0; b < n; b++) masked_input(cc, in + (b0 + b) * d, X + b * d);
        conv_fwd(cc, 0, params + o.W1, params + o.b1, 1, X, cols, H1, c, hd, n);
        conv_fwd(cc, 1, params + o.W2, params + o.b2, 1, H1, cols, H2, hd, hd, n);
        if (l > 0) continue; /* the last conv waits for the bottleneck */
        conv_fwd(cc, 2, params + o.W3, params + o.b3, 0, H2, cols, a.ST + b0 * ss, hd, 2 * c, n);
    }
    if (l == 0) return;
    /* Kirichenko §7: the whole feature map through l numbers and back. */
    linear_forward(params + o.down, a.H2, a.M, B, (int)F, l);
    linear_forward(params + o.up, a.M, a.U, B, l, (int)F);
#pragma omp parallel for schedule(static) if (nunits(cc, B) > 1)
    for (int u = 0; u < nunits(cc, B); u++) {
        int b0, n = unit_images(cc, u, B, &b0);
        conv_fwd(cc, 2, params + o.W3, params + o.b3, 0, top + b0 * F, g.cols + u * cols_floats(cc),
                 a.ST + b0 * ss, hd, 2 * c, n);
    }
}

/* The soft clamp s = 2·tanh(raw/2), as in coupling.c. */
static float clamp_scale(float raw) {
    return 2.0f * tanhf(0.5f * raw);
}

/* The affine part on one image, st (2c, hw) channel-major as the network wrote it:
 * dir = +1 maps x to y = x·e^s + t on TRANS positions and returns Σs (its log-det);
 * dir = -1 maps y back to x = (y - t)·e^-s. COND positions are copied. Given s and t
 * (in, out NULL) it writes s and t per value instead, 0 on COND, for the coupling
 * figure. One loop for all three, so they cannot disagree on what a mask transforms. */
static double affine_image(const ConvCoupling *cc, const float *st, const float *in, float *out,
                           int dir, float *s, float *t) {
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w;
    double ld = 0.0;
    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
            long p = (long)py * w + px;
            for (int ch = 0; ch < c; ch++) {
                long i = p * c + ch;
                int tr = mask_role(cc->mask, cc->index, h, w, c, py, px, ch) == MASK_TRANS;
                float sc = tr ? clamp_scale(st[ch * hw + p]) : 0.0f;
                float sh = tr ? st[(c + ch) * hw + p] : 0.0f;
                if (s) {
                    s[i] = sc, t[i] = sh;
                } else if (!tr) {
                    out[i] = in[i];
                } else if (dir > 0) {
                    out[i] = in[i] * expf(sc) + sh;
                    ld += sc;
                } else {
                    out[i] = (in[i] - sh) * expf(-sc);
                }
            }
        }
    return ld;
}

/* The affine part of every image from a.ST: y = x·e^s + t, logdet[B] += Σs. */
static void affine_forward(const ConvCoupling *cc, Acts a, const float *x, float *y, double *logdet,
                           int B) {
    long d = (long)cc->h * cc->w * cc->c, ss = 2 * d; /* per image: x, ST */
#pragma omp parallel for schedule(static) if (B * d > 8192)
    for (int b = 0; b < B; b++)
        logdet[b] += affine_image(cc, a.ST + b * ss, x + b * d, y + b * d, +1, NULL, NULL);
}

void conv_coupling_forward(const ConvCoupling *cc, const float *params, const float *x, float *y,
                           double *logdet, float *saved, float *scratch, int B) {
    Acts a = acts_view(cc, saved, B);
    net_forward(cc, params, x, a, scratch_view(cc, scratch, B), B);
    affine_forward(cc, a, x, y, logdet, B);
}

/* Whether NN(x ⊙ m) is exactly +0 for every image of x (zero_net.h): the last conv is
 * all +0, and a bound from max |x| (the masked input is at most that) through the
 * convs (fan-in 9·cin) and the bottleneck keeps every activation finite. */
static int net_is_zero(const ConvCoupling *cc, const float *params, const float *x, int B) {
    Offsets o = offsets(cc);
    int c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    long F = fmap_size(cc);
    if (!zero_net_all_zero(params + o.W3, o.total - o.W3)) return 0;
    const float *p = params;
    double bound = zero_net_abs_max(x, (long)B * cc->h * cc->w * c);
    bound = zero_net_layer_bound(bound, p + o.W1, o.b1 - o.W1, p + o.b1, hd, 9L * c);
    bound = zero_net_layer_bound(bound, p + o.W2, o.b2 - o.W2, p + o.b2, hd, 9L * hd);
    if (l > 0) {
        bound = zero_net_layer_bound(bound, p + o.down, F * l, p + o.down + F * l, l, F);
        bound = zero_net_layer_bound(bound, p + o.up, F * l, p + o.up + F * l, F, l);
    }
    return bound < ZERO_NET_FINITE_BOUND;
}

void conv_coupling_forward_eval(const ConvCoupling *cc, const float *params, const float *x,
                                float *y, double *logdet, float *saved, float *scratch, int B) {
    if (!net_is_zero(cc, params, x, B)) {
        conv_coupling_forward(cc, params, x, y, logdet, saved, scratch, B);
        return;
    }
    Acts a = acts_view(cc, saved, B);
    memset(a.ST, 0, sizeof(float) * (size_t)B * 2 * cc->h * cc->w * cc->c); /* NN = +0 */
    affine_forward(cc, a, x, y, logdet, B);
}

void conv_coupling_st(const ConvCoupling *cc, const float *saved, float *s, float *t, int B) {
    Acts a = acts_view(cc, (float *)saved, B); /* read only */
    long d = (long)cc->h * cc->w * cc->c, ss = 2 * d;
    for (int b = 0; b < B; b++)
        affine_image(cc, a.ST + b * ss, NULL, NULL, +1, s + b * d, t + b * d);
}

/* One image of the affine part backward: y = x·e^s + t on TRANS: ∂/∂x = e^s,
 * ∂/∂s = x·e^s (+ 1 from the log-det), ∂/∂t = 1, ds/draw = 1 - tanh²(raw/2) =
 * 1 - (s/2)². Elsewhere y = x, and the st-network's outputs are unused (zero
 * gradient). Writes dx (the whole row) and dST (2c, hw). */
static void affine_backward(const ConvCoupling *cc, const float *x, const float *st,
                            const float *dy, float dlogdet, float *dx, float *dst) {
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w;
    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
            long p = (long)py * w + px;
            for (int ch = 0; ch < c; ch++) {
                long i = p * c + ch, js = ch * hw + p, jt = (c + ch) * hw + p;
                if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) != MASK_TRANS) {
                    dx[i] = dy[i];
                    dst[js] = dst[jt] = 0.0f;
                    continue;
                }
                float sc = clamp_scale(st[js]), e = expf(sc);
                dx[i] = dy[i] * e;
                dst[js] = (dy[i] * x[i] * e + dlogdet) * (1.0f - 0.25f * sc * sc);
                dst[jt] = dy[i];
            }
        }
}

void conv_coupling_backward(const ConvCoupling *cc, const float *params, const float *x,
                            const float *saved, const float *dy, float dlogdet, float *dx,
                            float *dparams, float *scratch, int B) {
    Offsets o = offsets(cc);
    Acts a = acts_view(cc, (float *)saved, B);
    Scratch g = scratch_view(cc, scratch, B);
    int h = cc->h, w = cc->w, c = cc->c, hd = cc->hidden, l = cc->bottleneck, nu = nunits(cc, B);
    long hw = (long)h * w, F = fmap_size(cc), d = hw * c, np = conv_params(cc),
         ss = hw * 2 * c; /* per image: x, ST */
    const float *top = net_top(cc, a);
    /* where a unit's partial keeps the last conv's gradient: right after b2 */
    long pW3 = o.down, pb3 = o.down + (o.b3 - o.W3);
    /* The affine part and the last conv. */
#pragma omp parallel for schedule(static) if (nu > 1)
    for (int u = 0; u < nu; u++) {
        float *cols = g.cols + u * cols_floats(cc), *work = g.work + u * work_floats(cc);
        float *part = g.part + u * np;
        int b0, n = unit_images(cc, u, B, &b0);
        for (int b = b0; b < b0 + n; b++)
            affine_backward(cc, x + b * d, a.ST + b * ss, dy + b * d, dlogdet, dx + b * d,
                            g.dST + b * ss);
        bias_grad_unit(g.dST + b0 * ss, part + pb3, 2 * c, hw, n, 0);
        conv_bwd(cc, 2, params + o.W3, top + b0 * F, g.dST + b0 * ss, cols, work, g.dA + b0 * F,
                 part + pW3, hd, 2 * c, n);
    }
    /* dH2 lands in dA without a bottleneck; with one, in dB (dA holds dU). */
    float *dH2 = g.dA, *dH1 = g.dB;
    if (l > 0) {
        linear_backward(params + o.up, a.M, g.dA, g.dM, dparams + o.up, 0, B, l, (int)F);
        linear_backward(params + o.down, a.H2, g.dM, g.dB, dparams + o.down, 0, B, (int)F, l);
        dH2 = g.dB, dH1 = g.dA;
    }
#pragma omp parallel for schedule(static) if (nu > 1)
    for (int u = 0; u < nu; u++) {
        float *cols = g.cols + u * cols_floats(cc), *work = g.work + u * work_floats(cc);
        float *part = g.part + u * np;
        int b0, n = unit_images(cc, u, B, &b0);
        float *d2 = dH2 + b0 * F, *d1 = dH1 + b0 * F, *dX = g.dX + b0 * d;
        relu_backward(a.H2 + b0 * F, d2, d2, n * F);
        bias_grad_unit(d2, part + o.b2, hd, hw, n, 0);
        conv_bwd(cc, 1, params + o.W2, a.H1 + b0 * F, d2, cols, work, d1, part + o.W2, hd, hd, n);
        relu_backward(a.H1 + b0 * F, d1, d1, n * F);
        bias_grad_unit(d1, part + o.b1, hd, hw, n, h1_blocked(cc));
        conv_bwd(cc, 0, params + o.W1, a.X + b0 * d, d1, cols, work, dX, part + o.W1, c, hd, n);
        /* The network saw x ⊙ m: its input gradient reaches x on COND positions. */
        for (int b = 0; b < n; b++) {
            float *dxb = dx + (b0 + b) * d;
            const float *dXb = dX + b * d;
            for (int py = 0; py < h; py++)
                for (int px = 0; px < w; px++) {
                    long p = (long)py * w + px;
                    for (int ch = 0; ch < c; ch++)
                        if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) == MASK_COND)
                            dxb[p * c + ch] += dXb[ch * hw + p];
                }
        }
    }
    /* The units' partials, added in unit order. */
#pragma omp parallel for schedule(static) if (np * nu > 65536)
    for (long j = 0; j < np; j++) {
        float s = 0.0f;
        for (int u = 0; u < nu; u++) s += g.part[u * np + j];
        dparams[j < o.down ? j : j + (o.W3 - o.down)] = s;
    }
}

void conv_coupling_inverse(const ConvCoupling *cc, const float *params, const float *y, float *x,
                           float *saved, float *scratch, int B) {
    Acts a = acts_view(cc, saved, B);
    /* y equals x on COND positions, so the network sees what it saw in forward. */
    net_forward(cc, params, y, a, scratch_view(cc, scratch, B), B);
    long d = (long)cc->h * cc->w * cc->c, ss = 2 * d;
#pragma omp parallel for schedule(static) if (B * d > 8192)
    for (int b = 0; b < B; b++)
        affine_image(cc, a.ST + b * ss, y + b * d, x + b * d, -1, NULL, NULL);
}

double conv_coupling_flops(const ConvCoupling *cc, int B) {
    double hw = (double)cc->h * cc->w, c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    double convs = 9.0 * hw * (c * hd + hd * hd + hd * 2.0 * c);
    return 2.0 * B * (convs + 2.0 * fmap_size(cc) * l);
}
