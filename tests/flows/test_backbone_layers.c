/* test_backbone_layers.c — the backbone's layers: conv2d, batch norm, global average
 * pooling, softmax cross-entropy. Gradients against central finite differences,
 * each gradient check also run with one deliberately broken entry (it must fail),
 * forward passes against direct double-precision formulas, and same bits at 1
 * and 2 threads. */
#include "flows/avgpool.h"
#include "flows/batchnorm.h"
#include "flows/conv2d.h"
#include "flows/rng.h"
#include "flows/softmax_xent.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* A loss L(ctx) whose gradient w.r.t. the buffer `v` the test checks. */
typedef double (*LossFn)(void *ctx);

/* Central differences of L w.r.t. each entry of v (n floats) against grad; counts
 * entries off by more than tol. The losses are sums of O(1) terms accumulated in
 * double, so the float forward's rounding (~1e-7 relative per term) over the step
 * 2h = 2e-3 gives errors ~1e-4; the tolerances below are 10-20× that. */
static int gradcheck(LossFn L, void *ctx, float *v, long n, const float *grad, double tol) {
    const float h = 1e-3f;
    int bad = 0;
    for (long i = 0; i < n; i++) {
        float keep = v[i];
        v[i] = keep + h;
        double lp = L(ctx);
        v[i] = keep - h;
        double lm = L(ctx);
        v[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        bad += fabs(fd - grad[i]) > tol * (1.0 + fabs(fd));
    }
    return bad;
}

/* ---- conv2d ---- */

typedef struct {
    int cin, cout, B, h, w, stride;
    float *W, *x, *c, *cols, *y;
} ConvCase;

static long conv_out_len(const ConvCase *k) {
    return (long)k->cout * k->B * conv2d_out_size(k->h, k->stride) *
           conv2d_out_size(k->w, k->stride);
}

/* L = Σ c ⊙ conv(x) */
static double conv_loss(void *ctx) {
    ConvCase *k = ctx;
    conv2d_forward(k->W, k->x, k->cols, k->y, k->cin, k->cout, k->B, k->h, k->w, k->stride);
    double s = 0.0;
    for (long i = 0; i < conv_out_len(k); i++) s += (double)k->c[i] * k->y[i];
    return s;
}

static void conv_case_init(ConvCase *k, int cin, int cout, int B, int h, int w, int stride) {
    *k = (ConvCase){cin, cout, B, h, w, stride, NULL, NULL, NULL, NULL, NULL};
    long nx = (long)cin * B * h * w, ny = conv_out_len(k);
    long ncols = (long)cin * 9 * (ny / cout);
    k->W = malloc(sizeof(float) * conv2d_nparams(cin, cout));
    k->x = malloc(sizeof(float) * nx);
    k->c = malloc(sizeof(float) * ny);
    k->y = malloc(sizeof(float) * ny);
    k->cols = malloc(sizeof(float) * ncols);
    conv2d_init(k->W, cin, cout, 3, 0);
    rng_fill_normal(k->x, nx, 0, 1, 3, 1, 0);
    rng_fill_normal(k->c, ny, 0, 1, 3, 2, 0);
}

static void conv_case_free(ConvCase *k) {
    free(k->W), free(k->x), free(k->c), free(k->y), free(k->cols);
}

/* Broken gradients when break_it: one weight and one input entry scaled by 1.05. */
static int conv_gradcheck(int stride, int break_it) {
    ConvCase k;
    conv_case_init(&k, 2, 3, 2, 5, 6, stride);
    long nW = conv2d_nparams(2, 3), nx = 2L * 2 * 5 * 6;
    float *dW = calloc(nW, sizeof(float)), *dx = malloc(sizeof(float) * nx);
    float *dcols = malloc(sizeof(float) * conv2d_workspace(2, 3, 2, 5, 6, stride));
    conv_loss(&k);
    conv2d_backward(k.W, k.cols, k.c, dcols, dx, dW, 0, 2, 3, 2, 5, 6, stride);
    if (break_it) dW[5] *= 1.05f, dx[7] *= 1.05f;
    int bad =
        gradcheck(conv_loss, &k, k.W, nW, dW, 2e-3) + gradcheck(conv_loss, &k, k.x, nx, dx, 2e-3);
    free(dW), free(dx), free(dcols);
    conv_case_free(&k);
    return bad;
}

static void test_conv2d_gradients_match_finite_differences(void) {
    CHECK(conv_gradcheck(1, 0) == 0);
    CHECK(conv_gradcheck(2, 0) == 0);
}

static void test_conv2d_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(conv_gradcheck(1, 1) >= 2);
    CHECK(conv_gradcheck(2, 1) >= 2);
}

/* The GEMM path equals the direct definition y[o][n][oy][ox] = Σ W·x (zero padding),
 * computed in double; tolerance 1e-5: float sums of 27 O(1) products. */
static void test_conv2d_forward_matches_direct_convolution(void) {
    for (int stride = 1; stride <= 2; stride++) {
        ConvCase k;
        conv_case_init(&k, 3, 4, 2, 7, 6, stride);
        conv_loss(&k);
        int ho = conv2d_out_size(7, stride), wo = conv2d_out_size(6, stride);
        double maxerr = 0.0;
        for (int o = 0; o < 4; o++)
            for (int n = 0; n < 2; n++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        double s = 0.0;
                        for (int ci = 0; ci < 3; ci++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = oy * stride + ky - 1, ix = ox * stride + kx - 1;
                                    if (iy < 0 || iy >= 7 || ix < 0 || ix >= 6) continue;
                                    s += (double)k.W[((o * 3 + ci) * 3 + ky) * 3 + kx] *
                                         k.x[((ci * 2 + n) * 7 + iy) * 6 + ix];
                                }
                        double got = k.y[((long)(o * 2 + n) * ho + oy) * wo + ox];
                        maxerr = fmax(maxerr, fabs(got - s));
                    }
        CHECK(maxerr < 1e-5);
        CHECK(conv2d_out_size(28, 2) == 14 && conv2d_out_size(7, 2) == 4);
        conv_case_free(&k);
    }
}

/* im2col is pure data movement: every element of cols equals its definition
 * x[ci][n][oy·s + ky - 1][ox·s + kx - 1] (0 outside) exactly, for images down to
 * 1×1 (where a shifted plane is empty) and both strides; cols starts as NaN so an
 * element left unwritten fails. */
static void test_conv2d_im2col_equals_its_definition(void) {
    static const int sizes[][2] = {{1, 1}, {1, 5}, {2, 1}, {2, 2}, {3, 7}, {7, 6}, {28, 28}};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++)
        for (int stride = 1; stride <= 2; stride++) {
            int h = sizes[t][0], w = sizes[t][1], cin = 2, B = 3;
            int ho = conv2d_out_size(h, stride), wo = conv2d_out_size(w, stride);
            long nx = (long)cin * B * h * w, ncols = (long)cin * 9 * B * ho * wo;
            float *x = malloc(sizeof(float) * nx), *cols = malloc(sizeof(float) * ncols);
            for (long i = 0; i < nx; i++) x[i] = (float)(i + 1);
            for (long i = 0; i < ncols; i++) cols[i] = NAN;
            conv2d_im2col(x, cols, cin, B, h, w, stride);
            long bad = 0;
            for (int ci = 0; ci < cin; ci++)
                for (int k = 0; k < 9; k++)
                    for (int n = 0; n < B; n++)
                        for (int oy = 0; oy < ho; oy++)
                            for (int ox = 0; ox < wo; ox++) {
                                int iy = oy * stride + k / 3 - 1, ix = ox * stride + k % 3 - 1;
                                float want = iy < 0 || iy >= h || ix < 0 || ix >= w
                                                 ? 0.0f
                                                 : x[(((long)ci * B + n) * h + iy) * w + ix];
                                float got =
                                    cols[((((long)ci * 9 + k) * B + n) * ho + oy) * wo + ox];
                                bad += !(got == want);
                            }
            CHECK(bad == 0);
            free(x), free(cols);
        }
}

/* A conv big enough for several GEMM tiles and several weight-gradient chunks
 * (P = 20·144 = 2880 > 2048) gives the same bits at 1 and 2 threads. */
static void test_conv2d_same_bits_at_one_and_two_threads(void) {
    ConvCase k;
    conv_case_init(&k, 8, 160, 20, 12, 12, 1);
    long ny = conv_out_len(&k), nW = conv2d_nparams(8, 160), nx = 8L * 20 * 144;
    float *y1 = malloc(sizeof(float) * ny), *dW1 = malloc(sizeof(float) * nW),
          *dx1 = malloc(sizeof(float) * nx), *dW2 = malloc(sizeof(float) * nW),
          *dx2 = malloc(sizeof(float) * nx),
          *dcols = malloc(sizeof(float) * conv2d_workspace(8, 160, 20, 12, 12, 1));
    int keep = omp_get_max_threads();
    omp_set_num_threads(1);
    conv_loss(&k);
    memcpy(y1, k.y, sizeof(float) * ny);
    conv2d_backward(k.W, k.cols, k.c, dcols, dx1, dW1, 0, 8, 160, 20, 12, 12, 1);
    omp_set_num_threads(2);
    conv_loss(&k);
    conv2d_backward(k.W, k.cols, k.c, dcols, dx2, dW2, 0, 8, 160, 20, 12, 12, 1);
    omp_set_num_threads(keep);
    CHECK(memcmp(y1, k.y, sizeof(float) * ny) == 0);
    CHECK(memcmp(dW1, dW2, sizeof(float) * nW) == 0);
    CHECK(memcmp(dx1, dx2, sizeof(float) * nx) == 0);
    free(y1), free(dW1), free(dx1), free(dW2), free(dx2), free(dcols);
    conv_case_free(&k);
}

/* ---- batch norm ---- */

enum { BN_C = 3, BN_P = 10 };

typedef struct {
    float params[2 * BN_C], state[2 * BN_C], x[BN_C * BN_P], c[BN_C * BN_P], y[BN_C * BN_P];
    float mean[BN_C], invstd[BN_C];
    int train;
} BnCase;

/* L = Σ c ⊙ bn(x); the state is restored so each evaluation sees the same one. */
static double bn_loss(void *ctx) {
    BnCase *k = ctx;
    float keep[2 * BN_C];
    memcpy(keep, k->state, sizeof keep);
    if (k->train)
        batchnorm_forward_train(k->params, k->state, k->x, k->y, k->mean, k->invstd, BN_C, BN_P);
    else
        batchnorm_forward_eval(k->params, k->state, k->x, k->y, BN_C, BN_P);
    memcpy(k->state, keep, sizeof keep);
    double s = 0.0;
    for (int i = 0; i < BN_C * BN_P; i++) s += (double)k->c[i] * k->y[i];
    return s;
}

static void bn_case_init(BnCase *k, int train) {
    batchnorm_init(k->params, k->state, BN_C);
    rng_fill_uniform(k->params, 2 * BN_C, 0.5f, 1.5f, 4, 0, 0);
    rng_fill_uniform(k->state, BN_C, -0.5f, 0.5f, 4, 3, 0);
    rng_fill_uniform(k->state + BN_C, BN_C, 0.5f, 2.0f, 4, 4, 0);
    rng_fill_normal(k->x, BN_C * BN_P, 1, 2, 4, 1, 0);
    rng_fill_normal(k->c, BN_C * BN_P, 0, 1, 4, 2, 0);
    k->train = train;
}

static int bn_gradcheck(int break_it) {
    BnCase k;
    bn_case_init(&k, 1);
    float dx[BN_C * BN_P], dp[2 * BN_C];
    bn_loss(&k);
    batchnorm_backward_train(k.params, k.x, k.mean, k.invstd, k.c, dx, dp, 0, BN_C, BN_P);
    if (break_it) dp[1] *= 1.05f, dx[4] += 0.05f;
    return gradcheck(bn_loss, &k, k.params, 2 * BN_C, dp, 2e-3) +
           gradcheck(bn_loss, &k, k.x, BN_C * BN_P, dx, 2e-3);
}

static void test_batchnorm_train_gradients_match_finite_differences(void) {
    CHECK(bn_gradcheck(0) == 0);
}

static void test_batchnorm_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(bn_gradcheck(1) >= 2);
}

static void test_batchnorm_eval_input_gradient_matches_finite_differences(void) {
    BnCase k;
    bn_case_init(&k, 0);
    float dx[BN_C * BN_P];
    batchnorm_backward_eval(k.params, k.state, k.c, dx, BN_C, BN_P);
    CHECK(gradcheck(bn_loss, &k, k.x, BN_C * BN_P, dx, 2e-3) == 0);
    dx[2] *= 1.05f;
    CHECK(gradcheck(bn_loss, &k, k.x, BN_C * BN_P, dx, 2e-3) == 1);
}

/* Training output has per-channel mean beta and std gamma (up to eps); the running
 * statistics move 10% of the way to the batch mean and the unbiased variance. */
static void test_batchnorm_train_normalizes_and_updates_running_stats(void) {
    BnCase k;
    bn_case_init(&k, 1);
    float rm0 = k.state[0], rv0 = k.state[BN_C];
    batchnorm_forward_train(k.params, k.state, k.x, k.y, k.mean, k.invstd, BN_C, BN_P);
    double m = 0, mx = 0, v = 0, vx = 0;
    for (int i = 0; i < BN_P; i++) m += k.y[i], mx += k.x[i];
    m /= BN_P, mx /= BN_P;
    for (int i = 0; i < BN_P; i++)
        v += (k.y[i] - m) * (k.y[i] - m), vx += (k.x[i] - mx) * (k.x[i] - mx);
    CHECK_NEAR(m, k.params[BN_C], 1e-5);
    /* sqrt(var/(var+eps)) differs from 1 by ~eps/2var ~ 1e-6 for var ~ 4. */
    CHECK_NEAR(sqrt(v / BN_P), k.params[0], 1e-4);
    CHECK_NEAR(k.state[0], 0.9 * rm0 + 0.1 * mx, 1e-6);
    CHECK_NEAR(k.state[BN_C], 0.9 * rv0 + 0.1 * vx / (BN_P - 1), 1e-5);
}

/* ---- average pooling ---- */

typedef struct {
    float x[2 * 3 * 4], c[3 * 2], y[3 * 2];
} PoolCase;

static double pool_loss(void *ctx) {
    PoolCase *k = ctx;
    avgpool_forward(k->x, k->y, 2, 3, 4);
    double s = 0.0;
    for (int i = 0; i < 6; i++) s += (double)k->c[i] * k->y[i];
    return s;
}

static void test_avgpool_forward_and_gradient(void) {
    PoolCase k;
    rng_fill_normal(k.x, 24, 0, 1, 5, 1, 0);
    rng_fill_normal(k.c, 6, 0, 1, 5, 2, 0);
    pool_loss(&k);
    /* y[n=1][c=1] is the mean of x[1][1][0..4). */
    CHECK_NEAR(k.y[1 * 2 + 1], (k.x[16] + k.x[17] + k.x[18] + k.x[19]) / 4.0, 1e-6);
    float dx[24];
    avgpool_backward(k.c, dx, 2, 3, 4);
    CHECK(gradcheck(pool_loss, &k, k.x, 24, dx, 2e-3) == 0);
    dx[9] += 0.05f;
    CHECK(gradcheck(pool_loss, &k, k.x, 24, dx, 2e-3) == 1);
}

/* ---- softmax cross-entropy ---- */

typedef struct {
    float logits[4 * 5], probs[4 * 5];
    int64_t labels[4];
} XentCase;

static double xent_loss(void *ctx) {
    XentCase *k = ctx;
    return softmax_xent_forward(k->logits, k->labels, k->probs, 4, 5);
}

static int xent_gradcheck(int break_it) {
    XentCase k = {.labels = {0, 3, 4, 3}};
    rng_fill_normal(k.logits, 20, 0, 2, 6, 1, 0);
    float d[20];
    xent_loss(&k);
    softmax_xent_backward(k.probs, k.labels, d, 4, 5);
    if (break_it) d[6] += 0.01f;
    /* The loss is O(1), so the absolute errors are ~1e-5; tolerance 1e-3. */
    return gradcheck(xent_loss, &k, k.logits, 20, d, 1e-3);
}

/* (C, B, hw) <-> (B, C/16, hw, 16), oneDNN's blocked layout, written out by hand. */
static void to_blocked(const float *a, float *b, int C, int B, long hw, int back) {
    for (int c = 0; c < C; c++)
        for (int n = 0; n < B; n++)
            for (long p = 0; p < hw; p++) {
                long i = ((long)c * B + n) * hw + p;
                long j = (((long)n * (C / 16) + c / 16) * hw + p) * 16 + c % 16;
                if (back)
                    b[i] = a[j];
                else
                    b[j] = a[i];
            }
}

/* The _blocked batch norm and pooling give the bits of the (C, P) ones on the same
 * values: the backbone with conv: onednn keeps its activations blocked and must not
 * change a bit by it. Both batch-norm modes, 2 channel blocks, 3 images of 5×5. */
static void test_batchnorm_and_avgpool_blocked_same_bits(void) {
    enum { C = 32, B = 3, HW = 25, N = C * B * HW };
    float *x = malloc(sizeof(float) * N), *dy = malloc(sizeof(float) * N);
    float *xb = malloc(sizeof(float) * N), *dyb = malloc(sizeof(float) * N);
    float *y[2], *dx[2], *t = malloc(sizeof(float) * N);
    float params[2 * C], st[2][2 * C], mean[2][C], inv[2][C], dp[2][2 * C];
    for (int i = 0; i < 2; i++) y[i] = malloc(sizeof(float) * N), dx[i] = malloc(sizeof(float) * N);
    rng_fill_normal(x, N, 0.5f, 2, 12, 0, 0);
    rng_fill_normal(dy, N, 0, 1, 12, 1, 0);
    rng_fill_normal(params, 2 * C, 1, 0.3f, 12, 2, 0);
    to_blocked(x, xb, C, B, HW, 0);
    to_blocked(dy, dyb, C, B, HW, 0);
    for (int i = 0; i < 2; i++) batchnorm_init(dp[i], st[i], C); /* dp: scratch here */
    batchnorm_forward_train(params, st[0], x, y[0], mean[0], inv[0], C, (long)B * HW);
    batchnorm_forward_train_blocked(params, st[1], xb, t, mean[1], inv[1], C, B, HW);
    to_blocked(t, y[1], C, B, HW, 1);
    CHECK(memcmp(y[0], y[1], sizeof(float) * N) == 0);
    CHECK(memcmp(st[0], st[1], sizeof st[0]) == 0 && memcmp(mean[0], mean[1], sizeof mean[0]) == 0);
    batchnorm_backward_train(params, x, mean[0], inv[0], dy, dx[0], dp[0], 0, C, (long)B * HW);
    batchnorm_backward_train_blocked(params, xb, mean[1], inv[1], dyb, t, dp[1], 0, C, B, HW);
    to_blocked(t, dx[1], C, B, HW, 1);
    CHECK(memcmp(dx[0], dx[1], sizeof(float) * N) == 0 && memcmp(dp[0], dp[1], sizeof dp[0]) == 0);
    batchnorm_forward_eval(params, st[0], x, y[0], C, (long)B * HW);
    batchnorm_forward_eval_blocked(params, st[0], xb, t, C, B, HW);
    to_blocked(t, y[1], C, B, HW, 1);
    CHECK(memcmp(y[0], y[1], sizeof(float) * N) == 0);
    batchnorm_backward_eval(params, st[0], dy, dx[0], C, (long)B * HW);
    batchnorm_backward_eval_blocked(params, st[0], dyb, t, C, B, HW);
    to_blocked(t, dx[1], C, B, HW, 1);
    CHECK(memcmp(dx[0], dx[1], sizeof(float) * N) == 0);
    float f[2][B * C];
    avgpool_forward(x, f[0], C, B, HW);
    avgpool_forward_blocked(xb, f[1], C, B, HW);
    CHECK(memcmp(f[0], f[1], sizeof f[0]) == 0);
    avgpool_backward(f[0], dx[0], C, B, HW);
    avgpool_backward_blocked(f[0], t, C, B, HW);
    to_blocked(t, dx[1], C, B, HW, 1);
    CHECK(memcmp(dx[0], dx[1], sizeof(float) * N) == 0);
    for (int i = 0; i < 2; i++) free(y[i]), free(dx[i]);
    free(x), free(dy), free(xb), free(dyb), free(t);
}

static void test_softmax_xent_gradient_matches_finite_differences(void) {
    CHECK(xent_gradcheck(0) == 0);
    CHECK(xent_gradcheck(1) == 1);
}

/* Uniform logits give log K; huge logits do not overflow. */
static void test_softmax_xent_known_values_and_large_logits(void) {
    float l[3] = {0, 0, 0}, p[3];
    int64_t y = 2;
    CHECK_NEAR(softmax_xent_forward(l, &y, p, 1, 3), log(3.0), 1e-9);
    CHECK_NEAR(p[1], 1.0 / 3, 1e-7);
    float big[3] = {1000, 0, -1000};
    y = 0;
    CHECK_NEAR(softmax_xent_forward(big, &y, p, 1, 3), 0.0, 1e-9);
    y = 1;
    CHECK_NEAR(softmax_xent_forward(big, &y, p, 1, 3), 1000.0, 1e-6);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_conv2d_gradients_match_finite_differences),
        UNIT(test_conv2d_gradcheck_catches_a_wrong_gradient),
        UNIT(test_conv2d_forward_matches_direct_convolution),
        UNIT(test_conv2d_im2col_equals_its_definition),
        UNIT(test_conv2d_same_bits_at_one_and_two_threads),
        UNIT(test_batchnorm_train_gradients_match_finite_differences),
        UNIT(test_batchnorm_gradcheck_catches_a_wrong_gradient),
        UNIT(test_batchnorm_eval_input_gradient_matches_finite_differences),
        UNIT(test_batchnorm_train_normalizes_and_updates_running_stats),
        UNIT(test_avgpool_forward_and_gradient),
        UNIT(test_batchnorm_and_avgpool_blocked_same_bits),
        UNIT(test_softmax_xent_gradient_matches_finite_differences),
        UNIT(test_softmax_xent_known_values_and_large_logits),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
