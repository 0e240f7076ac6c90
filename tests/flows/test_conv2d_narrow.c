/* test_conv2d_narrow.c — the narrow direct convolution, bit for bit against a scalar
 * reference that performs the same fused multiply-adds (fmaf) in the order
 * conv2d_narrow.h documents: whichever clone (AVX-512, FMA or baseline) the machine
 * runs must give these bits, so any machine gives them. Shapes: the image flows'
 * 64 → 2 conv, odd sizes, a row of three 16-lane segments, several images in both
 * layouts. (Its agreement with conv2d.h and its gradients are checked through
 * conv2d_onednn.h in test_conv2d_onednn.c.) */
#include "flows/conv2d_narrow.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { VL = 16, ROWS = 4 }; /* the kernel's lanes and row block */

typedef struct {
    int cin, cout, n, h, w;
    ConvStrides xs, ys;
    float *W, *x, *dy;
} Case;

/* Image-major (n, c, h, w) when bchw, else channel-major (c, n, h, w). */
static Case make(int cin, int cout, int n, int h, int w, int bchw) {
    long hw = (long)h * w;
    Case k = {cin, cout, n, h, w, {hw, n * hw}, {hw, n * hw}, NULL, NULL, NULL};
    if (bchw) k.xs = (ConvStrides){cin * hw, hw}, k.ys = (ConvStrides){cout * hw, hw};
    k.W = malloc(sizeof(float) * 9 * cin * cout);
    k.x = malloc(sizeof(float) * cin * n * hw), k.dy = malloc(sizeof(float) * cout * n * hw);
    rng_fill_normal(k.W, 9L * cin * cout, 0, 0.2f, 6, 0, 0);
    rng_fill_normal(k.x, (long)cin * n * hw, 0, 1, 6, 1, 0);
    rng_fill_normal(k.dy, (long)cout * n * hw, 0, 1, 6, 2, 0);
    return k;
}

static void drop(Case *k) {
    free(k->W), free(k->x), free(k->dy);
}

/* Plane c of image b at (y, x); 0 outside the image (the padding). */
static float at(const float *t, ConvStrides s, int b, int c, int h, int w, int y, int x) {
    if (y < 0 || y >= h || x < 0 || x >= w) return 0.0f;
    return t[b * s.img + c * s.ch + (long)y * w + x];
}

static float wgt(const Case *k, int co, int ci, int ky, int kx) {
    return k->W[((long)co * k->cin + ci) * 9 + ky * 3 + kx];
}

/* forward: y(o) = fmaf chain over i, then kx, then ky, from bias[o] (or 0); then
 * max(·, 0) when relu */
static void ref_forward(const Case *k, const float *bias, int relu, float *y) {
    for (int b = 0; b < k->n; b++)
        for (int o = 0; o < k->cout; o++)
            for (int py = 0; py < k->h; py++)
                for (int px = 0; px < k->w; px++) {
                    float acc = bias ? bias[o] : 0.0f;
                    for (int i = 0; i < k->cin; i++)
                        for (int kx = 0; kx < 3; kx++)
                            for (int ky = 0; ky < 3; ky++)
                                acc = fmaf(
                                    wgt(k, o, i, ky, kx),
                                    at(k->x, k->xs, b, i, k->h, k->w, py + ky - 1, px + kx - 1),
                                    acc);
                    if (relu) acc = acc > 0.0f ? acc : 0.0f;
                    y[b * k->ys.img + o * k->ys.ch + (long)py * k->w + px] = acc;
                }
}

/* backward data: dx(i) = fmaf chain over the output planes co, then kx, then ky, of
 * the flipped weight times dy at (y + ky - 1, x + kx - 1) */
static void ref_backward_data(const Case *k, float *dx) {
    for (int b = 0; b < k->n; b++)
        for (int i = 0; i < k->cin; i++)
            for (int py = 0; py < k->h; py++)
                for (int px = 0; px < k->w; px++) {
                    float acc = 0.0f;
                    for (int co = 0; co < k->cout; co++)
                        for (int kx = 0; kx < 3; kx++)
                            for (int ky = 0; ky < 3; ky++)
                                acc = fmaf(
                                    wgt(k, co, i, 2 - ky, 2 - kx),
                                    at(k->dy, k->ys, b, co, k->h, k->w, py + ky - 1, px + kx - 1),
                                    acc);
                    dx[b * k->xs.img + i * k->xs.ch + (long)py * k->w + px] = acc;
                }
}

/* backward weights: per image, per tap, 16 lane sums (lane l takes the columns x0 + l
 * of every 16-column segment; terms by row block, segment, row), then the lanes
 * added in order, then the images added in order. */
static void ref_backward_weights(const Case *k, float *dW) {
    memset(dW, 0, sizeof(float) * 9 * k->cin * k->cout);
    for (int b = 0; b < k->n; b++)
        for (int ci = 0; ci < k->cin; ci++)
            for (int co = 0; co < k->cout; co++)
                for (int t = 0; t < 9; t++) {
                    int ky = t / 3, kx = t % 3;
                    float acc[VL] = {0};
                    for (int y0 = 0; y0 < k->h; y0 += ROWS)
                        for (int x0 = 0; x0 < k->w; x0 += VL)
                            for (int r = 0; r < ROWS; r++)
                                for (int l = 0; l < VL; l++) {
                                    int py = y0 + r, px = x0 + l;
                                    float g = at(k->dy, k->ys, b, co, k->h, k->w, py, px);
                                    float v = at(k->x, k->xs, b, ci, k->h, k->w, py + ky - 1,
                                                 px + kx - 1);
                                    acc[l] = fmaf(g, v, acc[l]);
                                }
                    float sum = 0.0f;
                    for (int l = 0; l < VL; l++) sum += acc[l];
                    dW[((long)co * k->cin + ci) * 9 + t] += sum;
                }
}

static void test_narrow_conv_bits_match_the_scalar_reference(void) {
    static const int shapes[][6] = {
        /* cin cout n h w bchw */
        {64, 2, 3, 28, 28, 1}, /* an image flow's last conv */
        {3, 5, 2, 7, 6, 0},    /* odd sizes, channel-major, a short row block */
        {2, 3, 2, 9, 37, 1},   /* three 16-lane segments, the last of 5 columns */
        {16, 8, 2, 14, 14, 0}, /* the last conv after one squeeze (c = 4) */
    };
    for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++) {
        const int *p = shapes[s];
        Case k = make(p[0], p[1], p[2], p[3], p[4], p[5]);
        long nx = (long)k.cin * k.n * k.h * k.w, ny = (long)k.cout * k.n * k.h * k.w,
             nW = 9L * k.cin * k.cout;
        float *y[2], *dx[2], *dW[2];
        for (int t = 0; t < 2; t++) {
            y[t] = malloc(sizeof(float) * ny), dx[t] = malloc(sizeof(float) * nx);
            dW[t] = malloc(sizeof(float) * nW);
        }
        conv2d_narrow_forward(k.W, NULL, 0, k.x, k.xs, y[0], k.ys, k.cin, k.cout, k.n, k.h, k.w);
        conv2d_narrow_backward_data(k.W, k.dy, k.ys, dx[0], k.xs, k.cin, k.cout, k.n, k.h, k.w);
        conv2d_narrow_backward_weights(k.x, k.xs, k.dy, k.ys, dW[0], k.cin, k.cout, k.n, k.h, k.w);
        ref_forward(&k, NULL, 0, y[1]);
        ref_backward_data(&k, dx[1]);
        ref_backward_weights(&k, dW[1]);
        CHECK(memcmp(y[0], y[1], sizeof(float) * ny) == 0);
        CHECK(memcmp(dx[0], dx[1], sizeof(float) * nx) == 0);
        CHECK(memcmp(dW[0], dW[1], sizeof(float) * nW) == 0);
        /* forward with a bias and ReLU (the couplings' first two convs when hidden < 16) */
        float bias[16];
        rng_fill_normal(bias, k.cout, 0, 1, 6, 3, 0);
        conv2d_narrow_forward(k.W, bias, 1, k.x, k.xs, y[0], k.ys, k.cin, k.cout, k.n, k.h, k.w);
        ref_forward(&k, bias, 1, y[1]);
        CHECK(memcmp(y[0], y[1], sizeof(float) * ny) == 0);
        for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]), free(dW[t]);
        drop(&k);
    }
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_narrow_conv_bits_match_the_scalar_reference),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof *tests), argc, argv);
}
