/* conv_coupling.c — see conv_coupling.h. The st-network runs on the whole batch in
 * conv2d's channel-major layout, so each conv is one im2col and one fixed-tile GEMM
 * (gemm.h); the affine part and the layout changes are loops over images, each image
 * written by one thread, and every reduction (log-det per image, bias gradients per
 * channel) runs in a fixed order: the bits do not depend on the thread count. */
#include "conv_coupling.h"

#include "conv2d.h"
#include "linear.h"
#include "relu.h"
#include "rng.h"

#include <math.h>
#include <string.h>

int conv_coupling_make(ConvCoupling *cc, int h, int w, int c, int hidden, int bottleneck,
                       FlowMask mask, int index) {
    if (h < 1 || w < 1 || c < 1 || hidden < 1 || bottleneck < 0 || index < 0 ||
        !mask_valid(mask, h, w, c))
        return -1;
    *cc = (ConvCoupling){h, w, c, hidden, bottleneck, mask, index};
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

/* The activations forward keeps, for a batch of B images (P = B·h·w positions):
 * X (c,P) the masked input, H1 and H2 (hidden,P) after their ReLUs, M (B,l) the
 * bottleneck code and U (hidden,P) its expansion (bottleneck only), ST (2c,P). */
typedef struct {
    float *X, *H1, *H2, *M, *U, *ST;
} Acts;

static Acts acts_view(const ConvCoupling *cc, float *base, int B) {
    long P = (long)B * cc->h * cc->w, hd = cc->hidden, l = cc->bottleneck;
    Acts a;
    a.X = base;
    a.H1 = a.X + cc->c * P;
    a.H2 = a.H1 + hd * P;
    a.M = a.H2 + hd * P;
    a.U = a.M + (l > 0 ? l * B : 0);
    a.ST = a.U + (l > 0 ? hd * P : 0);
    return a;
}

long conv_coupling_nsaved(const ConvCoupling *cc) {
    long hw = (long)cc->h * cc->w, hd = cc->hidden, l = cc->bottleneck;
    return cc->c * hw + 2 * hd * hw + (l > 0 ? l + hd * hw : 0) + 2L * cc->c * hw;
}

/* Scratch for B images: cols (the widest conv's im2col columns, 9·max(c,hidden)
 * rows of P; the bottleneck's row-major copies of the feature map, up to three of
 * B·h·H·W, live there too while no conv runs), the gradients dST (2c,P), dA and dB
 * (hidden,P), dX (c,P), dM (B,l), then conv2d's workspace, sized per image by
 * conv2d_workspace at B = 1 (it is at most B times that: its two terms are a product
 * with P and a ceiling of P over a chunk). */
typedef struct {
    float *cols, *dST, *dA, *dB, *dX, *dM, *work;
} Scratch;

static long cols_row(const ConvCoupling *cc) {
    int k = cc->c > cc->hidden ? cc->c : cc->hidden;
    return 9L * k * cc->h * cc->w;
}

static long work_row(const ConvCoupling *cc) {
    int c = cc->c, hd = cc->hidden, h = cc->h, w = cc->w;
    long a = conv2d_workspace(c, hd, 1, h, w, 1), b = conv2d_workspace(hd, hd, 1, h, w, 1);
    long d = conv2d_workspace(hd, 2 * c, 1, h, w, 1);
    long m = a > b ? a : b;
    return m > d ? m : d;
}

static Scratch scratch_view(const ConvCoupling *cc, float *base, int B) {
    long P = (long)B * cc->h * cc->w, hd = cc->hidden;
    Scratch s;
    s.cols = base;
    s.dST = s.cols + cols_row(cc) * B;
    s.dA = s.dST + 2L * cc->c * P;
    s.dB = s.dA + hd * P;
    s.dX = s.dB + hd * P;
    s.dM = s.dX + cc->c * P;
    s.work = s.dM + (long)cc->bottleneck * B;
    return s;
}

long conv_coupling_nscratch(const ConvCoupling *cc) {
    long hw = (long)cc->h * cc->w;
    return cols_row(cc) + (3L * cc->c + 2L * cc->hidden) * hw + cc->bottleneck + work_row(cc);
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

/* x (B, h·w·c) NHWC -> X (c, B, h·w), COND positions only (x ⊙ m), zeros elsewhere. */
static void masked_input(const ConvCoupling *cc, const float *x, float *X, int B) {
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w, P = B * hw;
#pragma omp parallel for schedule(static) if (P * c > 8192)
    for (int b = 0; b < B; b++)
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                long p = (long)y * w + xx;
                for (int ch = 0; ch < c; ch++) {
                    int cond = mask_role(cc->mask, cc->index, h, w, c, y, xx, ch) == MASK_COND;
                    X[ch * P + b * hw + p] = cond ? x[(b * hw + p) * c + ch] : 0.0f;
                }
            }
}

/* y (cout, B, hw) += bias per channel, then ReLU when relu is set. */
static void bias_act(float *y, const float *bias, int cout, int B, long hw, int relu) {
#pragma omp parallel for collapse(2) schedule(static) if ((long)cout * B * hw > 32768)
    for (int co = 0; co < cout; co++)
        for (int b = 0; b < B; b++) {
            float *row = y + ((long)co * B + b) * hw, v = bias[co];
            if (relu)
                for (long p = 0; p < hw; p++) row[p] = row[p] + v > 0.0f ? row[p] + v : 0.0f;
            else
                for (long p = 0; p < hw; p++) row[p] += v;
        }
}

/* db[co] = Σ over the P positions of dy (cout, P), in order, in double. */
static void bias_grad(const float *dy, float *db, int cout, long P) {
#pragma omp parallel for schedule(static) if ((long)cout * P > 32768)
    for (int co = 0; co < cout; co++) {
        double s = 0.0;
        const float *row = dy + (long)co * P;
        for (long p = 0; p < P; p++) s += row[p];
        db[co] = (float)s;
    }
}

/* Feature map (hidden, B, hw) <-> rows (B, hidden·hw) flattened (ch, p), the
 * bottleneck's Linear layout. */
static void fmap_to_rows(const float *H, float *T, int hd, int B, long hw) {
#pragma omp parallel for schedule(static) if ((long)B * hd * hw > 32768)
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < hd; ch++)
            memcpy(T + ((long)b * hd + ch) * hw, H + ((long)ch * B + b) * hw,
                   sizeof(float) * (size_t)hw);
}

static void rows_to_fmap(const float *T, float *H, int hd, int B, long hw) {
#pragma omp parallel for schedule(static) if ((long)B * hd * hw > 32768)
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < hd; ch++)
            memcpy(H + ((long)ch * B + b) * hw, T + ((long)b * hd + ch) * hw,
                   sizeof(float) * (size_t)hw);
}

/* The input of the last conv: the middle feature map, or its bottleneck expansion. */
static const float *net_top(const ConvCoupling *cc, Acts a) {
    return cc->bottleneck > 0 ? a.U : a.H2;
}

/* in (B, h·w·c) -> a.ST (2c, B, hw) through the st-network, keeping its activations. */
static void net_forward(const ConvCoupling *cc, const float *params, const float *in, Acts a,
                        float *cols, int B) {
    Offsets o = offsets(cc);
    int h = cc->h, w = cc->w, c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    long hw = (long)h * w, F = fmap_size(cc);
    masked_input(cc, in, a.X, B);
    conv2d_forward(params + o.W1, a.X, cols, a.H1, c, hd, B, h, w, 1);
    bias_act(a.H1, params + o.b1, hd, B, hw, 1);
    conv2d_forward(params + o.W2, a.H1, cols, a.H2, hd, hd, B, h, w, 1);
    bias_act(a.H2, params + o.b2, hd, B, hw, 1);
    if (l > 0) {
        /* Kirichenko §7: the whole feature map through l numbers and back. */
        float *T = cols, *UT = cols + B * F;
        fmap_to_rows(a.H2, T, hd, B, hw);
        linear_forward(params + o.down, T, a.M, B, (int)F, l);
        linear_forward(params + o.up, a.M, UT, B, l, (int)F);
        rows_to_fmap(UT, a.U, hd, B, hw);
    }
    conv2d_forward(params + o.W3, net_top(cc, a), cols, a.ST, hd, 2 * c, B, h, w, 1);
    bias_act(a.ST, params + o.b3, 2 * c, B, hw, 0);
}

/* The soft clamp s = 2·tanh(raw/2), as in coupling.c. */
static float clamp_scale(float raw) {
    return 2.0f * tanhf(0.5f * raw);
}

void conv_coupling_forward(const ConvCoupling *cc, const float *params, const float *x, float *y,
                           double *logdet, float *saved, float *scratch, int B) {
    Acts a = acts_view(cc, saved, B);
    net_forward(cc, params, x, a, scratch_view(cc, scratch, B).cols, B);
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w, P = B * hw;
#pragma omp parallel for schedule(static) if (P * c > 8192)
    for (int b = 0; b < B; b++) {
        double ld = 0.0;
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++) {
                long p = (long)py * w + px;
                for (int ch = 0; ch < c; ch++) {
                    long i = (b * hw + p) * c + ch;
                    if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) != MASK_TRANS) {
                        y[i] = x[i];
                        continue;
                    }
                    float sc = clamp_scale(a.ST[ch * P + b * hw + p]);
                    y[i] = x[i] * expf(sc) + a.ST[(c + ch) * P + b * hw + p];
                    ld += sc;
                }
            }
        logdet[b] += ld;
    }
}

void conv_coupling_backward(const ConvCoupling *cc, const float *params, const float *x,
                            const float *saved, const float *dy, float dlogdet, float *dx,
                            float *dparams, float *scratch, int B) {
    Offsets o = offsets(cc);
    Acts a = acts_view(cc, (float *)saved, B);
    Scratch g = scratch_view(cc, scratch, B);
    int h = cc->h, w = cc->w, c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    long hw = (long)h * w, P = B * hw, F = fmap_size(cc);
    /* y = x·e^s + t on TRANS:  ∂/∂x = e^s,  ∂/∂s = x·e^s (+ 1 from the log-det),
     * ∂/∂t = 1,  ds/draw = 1 - tanh²(raw/2) = 1 - (s/2)².  Elsewhere y = x and the
     * st-network's outputs are unused (zero gradient). */
#pragma omp parallel for schedule(static) if (P * c > 8192)
    for (int b = 0; b < B; b++)
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++) {
                long p = (long)py * w + px;
                for (int ch = 0; ch < c; ch++) {
                    long i = (b * hw + p) * c + ch, js = ch * P + b * hw + p;
                    long jt = (c + ch) * P + b * hw + p;
                    if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) != MASK_TRANS) {
                        dx[i] = dy[i];
                        g.dST[js] = g.dST[jt] = 0.0f;
                        continue;
                    }
                    float sc = clamp_scale(a.ST[js]), e = expf(sc);
                    dx[i] = dy[i] * e;
                    g.dST[js] = (dy[i] * x[i] * e + dlogdet) * (1.0f - 0.25f * sc * sc);
                    g.dST[jt] = dy[i];
                }
            }
    bias_grad(g.dST, dparams + o.b3, 2 * c, P);
    conv2d_im2col(net_top(cc, a), g.cols, hd, B, h, w, 1);
    conv2d_backward(params + o.W3, g.cols, g.dST, g.work, g.dA, dparams + o.W3, 0, hd, 2 * c, B, h,
                    w, 1);
    if (l > 0) {
        float *dUT = g.cols, *T = g.cols + B * F, *dT = g.cols + 2 * B * F;
        fmap_to_rows(g.dA, dUT, hd, B, hw);
        linear_backward(params + o.up, a.M, dUT, g.dM, dparams + o.up, 0, B, l, (int)F);
        fmap_to_rows(a.H2, T, hd, B, hw);
        linear_backward(params + o.down, T, g.dM, dT, dparams + o.down, 0, B, (int)F, l);
        rows_to_fmap(dT, g.dA, hd, B, hw);
    }
    relu_backward(a.H2, g.dA, g.dA, hd * P);
    bias_grad(g.dA, dparams + o.b2, hd, P);
    conv2d_im2col(a.H1, g.cols, hd, B, h, w, 1);
    conv2d_backward(params + o.W2, g.cols, g.dA, g.work, g.dB, dparams + o.W2, 0, hd, hd, B, h, w,
                    1);
    relu_backward(a.H1, g.dB, g.dB, hd * P);
    bias_grad(g.dB, dparams + o.b1, hd, P);
    conv2d_im2col(a.X, g.cols, c, B, h, w, 1);
    conv2d_backward(params + o.W1, g.cols, g.dB, g.work, g.dX, dparams + o.W1, 0, c, hd, B, h, w,
                    1);
    /* The network saw x ⊙ m: its input gradient reaches x on COND positions only. */
#pragma omp parallel for schedule(static) if (P * c > 8192)
    for (int b = 0; b < B; b++)
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++) {
                long p = (long)py * w + px;
                for (int ch = 0; ch < c; ch++)
                    if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) == MASK_COND)
                        dx[(b * hw + p) * c + ch] += g.dX[ch * P + b * hw + p];
            }
}

void conv_coupling_inverse(const ConvCoupling *cc, const float *params, const float *y, float *x,
                           float *saved, float *scratch, int B) {
    Acts a = acts_view(cc, saved, B);
    /* y equals x on COND positions, so the network sees what it saw in forward. */
    net_forward(cc, params, y, a, scratch_view(cc, scratch, B).cols, B);
    int h = cc->h, w = cc->w, c = cc->c;
    long hw = (long)h * w, P = B * hw;
#pragma omp parallel for schedule(static) if (P * c > 8192)
    for (int b = 0; b < B; b++)
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++) {
                long p = (long)py * w + px;
                for (int ch = 0; ch < c; ch++) {
                    long i = (b * hw + p) * c + ch;
                    if (mask_role(cc->mask, cc->index, h, w, c, py, px, ch) != MASK_TRANS) {
                        x[i] = y[i];
                        continue;
                    }
                    float sc = clamp_scale(a.ST[ch * P + b * hw + p]);
                    x[i] = (y[i] - a.ST[(c + ch) * P + b * hw + p]) * expf(-sc);
                }
            }
}

double conv_coupling_flops(const ConvCoupling *cc, int B) {
    double hw = (double)cc->h * cc->w, c = cc->c, hd = cc->hidden, l = cc->bottleneck;
    double convs = 9.0 * hw * (c * hd + hd * hd + hd * 2.0 * c);
    return 2.0 * B * (convs + 2.0 * fmap_size(cc) * l);
}
