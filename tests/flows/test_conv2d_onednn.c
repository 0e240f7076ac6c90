/* test_conv2d_onednn.c — the oneDNN convolution against conv2d.h's (itself checked
 * by finite differences and the direct definition): forward, both gradients and
 * accumulation, for Winograd shapes (stride 1, channels a multiple of 16), direct
 * ones (stride 2, one input channel, odd widths) and batches that are not a whole
 * number of chunks; a gradient check of its own on a tiny case; same bits at 1 and 2
 * threads and from inside a parallel loop; the image-major layout (B, C, h, w) the
 * image flows use against the same images one at a time, and the blocked layout
 * against the image-major one. */
#include "flows/conv2d.h"
#include "flows/conv2d_onednn.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const ConvLayouts CBHW = {CONV_CBHW, CONV_CBHW}, BCHW = {CONV_BCHW, CONV_BCHW};

typedef struct {
    int cin, cout, B, h, w, stride;
    long nx, ny, nW;
    float *W, *x, *dy;
} Case;

static Case make(int cin, int cout, int B, int h, int w, int stride) {
    Case k = {cin, cout, B, h, w, stride, 0, 0, 0, NULL, NULL, NULL};
    k.nx = (long)cin * B * h * w;
    k.ny = (long)cout * B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride);
    k.nW = conv2d_nparams(cin, cout);
    k.W = malloc(sizeof(float) * k.nW), k.x = malloc(sizeof(float) * k.nx);
    k.dy = malloc(sizeof(float) * k.ny);
    conv2d_init(k.W, cin, cout, 5, 0);
    rng_fill_normal(k.x, k.nx, 0, 1, 5, 1, 0);
    rng_fill_normal(k.dy, k.ny, 0, 1, 5, 2, 0);
    return k;
}

static void drop(Case *k) {
    free(k->W), free(k->x), free(k->dy);
}

/* Largest |a - b| over n floats, relative to the largest |b| (at least 1). */
static double rel_diff(const float *a, const float *b, long n) {
    double d = 0.0, m = 1.0;
    for (long i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

/* y, dW (accumulated onto 1s when acc), dx by oneDNN and by conv2d.h; returns the
 * largest relative difference of the three. */
static double compare(const Case *k, int acc) {
    int P = k->ny / k->cout;
    float *y1 = malloc(sizeof(float) * k->ny), *y2 = malloc(sizeof(float) * k->ny);
    float *cols = malloc(sizeof(float) * (long)k->cin * 9 * P);
    float *dW1 = malloc(sizeof(float) * k->nW), *dW2 = malloc(sizeof(float) * k->nW);
    float *dx1 = malloc(sizeof(float) * k->nx), *dx2 = malloc(sizeof(float) * k->nx);
    float *w1 = malloc(sizeof(float) * conv2d_onednn_workspace(k->cin, k->cout, k->B));
    float *w2 =
        malloc(sizeof(float) * conv2d_workspace(k->cin, k->cout, k->B, k->h, k->w, k->stride));
    for (long i = 0; i < k->nW; i++) dW1[i] = dW2[i] = 1.0f;
    conv2d_onednn_forward(k->W, NULL, 0, k->x, y1, k->cin, k->cout, k->B, k->h, k->w, k->stride,
                          CBHW);
    conv2d_forward(k->W, k->x, cols, y2, k->cin, k->cout, k->B, k->h, k->w, k->stride);
    conv2d_onednn_backward(k->W, k->x, k->dy, w1, dx1, dW1, acc, k->cin, k->cout, k->B, k->h, k->w,
                           k->stride, CBHW);
    conv2d_backward(k->W, cols, k->dy, w2, dx2, dW2, acc, k->cin, k->cout, k->B, k->h, k->w,
                    k->stride);
    double d =
        fmax(rel_diff(y1, y2, k->ny), fmax(rel_diff(dW1, dW2, k->nW), rel_diff(dx1, dx2, k->nx)));
    free(y1), free(y2), free(cols), free(dW1), free(dW2), free(dx1), free(dx2), free(w1), free(w2);
    return d;
}

/* Winograd's transforms lose a few more bits than a direct sum of 9·Cin products:
 * 1e-5 of the largest value is about 80 float ulps at that scale, and a wrong tap
 * or a missing chunk is off by O(1). */
static void test_onednn_conv_matches_conv2d(void) {
    static const int shapes[][6] = {
        /* cin cout B  h   w  stride */
        {16, 32, 40, 12, 12, 1}, /* Winograd, two chunks */
        {64, 64, 3, 28, 28, 1},  /* the image flows' middle conv */
        {1, 32, 37, 28, 28, 1},  /* the backbone's first stage: nchw in place, 2 chunks */
        {32, 64, 16, 28, 28, 2}, /* a stride-2 stage */
        {3, 5, 2, 7, 6, 2},      /* odd sizes, direct kernels */
        {64, 2, 1, 28, 28, 1},   /* an image flow's last conv */
    };
    for (int i = 0; i < (int)(sizeof shapes / sizeof *shapes); i++) {
        const int *s = shapes[i];
        Case k = make(s[0], s[1], s[2], s[3], s[4], s[5]);
        CHECK(compare(&k, 0) < 1e-5);
        CHECK(compare(&k, 1) < 1e-5);
        drop(&k);
    }
}

/* L = Σ c ⊙ conv(x), for the finite differences below. */
static double loss(const Case *k) {
    float *y = malloc(sizeof(float) * k->ny);
    conv2d_onednn_forward(k->W, NULL, 0, k->x, y, k->cin, k->cout, k->B, k->h, k->w, k->stride,
                          CBHW);
    double s = 0.0;
    for (long i = 0; i < k->ny; i++) s += (double)k->dy[i] * y[i];
    free(y);
    return s;
}

/* Central differences (step 1e-3, tolerance 2e-3 relative as for conv2d) for every
 * weight and input of a 2→3 channel conv on a 5×6 batch of 2. */
static void test_onednn_conv_gradients_match_finite_differences(void) {
    for (int stride = 1; stride <= 2; stride++) {
        Case k = make(2, 3, 2, 5, 6, stride);
        float *dW = malloc(sizeof(float) * k.nW), *dx = malloc(sizeof(float) * k.nx);
        float *work = malloc(sizeof(float) * conv2d_onednn_workspace(2, 3, 2));
        conv2d_onednn_backward(k.W, k.x, k.dy, work, dx, dW, 0, 2, 3, 2, 5, 6, stride, CBHW);
        float *v[2] = {k.W, k.x}, *g[2] = {dW, dx};
        long n[2] = {k.nW, k.nx};
        int bad = 0;
        for (int t = 0; t < 2; t++)
            for (long i = 0; i < n[t]; i++) {
                float keep = v[t][i];
                v[t][i] = keep + 1e-3f;
                double lp = loss(&k);
                v[t][i] = keep - 1e-3f;
                double lm = loss(&k);
                v[t][i] = keep;
                double fd = (lp - lm) / 2e-3;
                bad += fabs(fd - g[t][i]) > 2e-3 * (1.0 + fabs(fd));
            }
        CHECK(bad == 0);
        free(dW), free(dx), free(work);
        drop(&k);
    }
}

/* y, dW, dx of a 3-chunk batch, at 1 and at 2 threads: the same bits. */
static void test_onednn_conv_same_bits_at_one_and_two_threads(void) {
    enum { B = 2 * CONV_ONEDNN_CHUNK + 6 };
    Case k = make(16, 48, B, 14, 14, 1);
    float *r[2][3];
    float *work = malloc(sizeof(float) * conv2d_onednn_workspace(16, 48, B));
    int keep = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        r[t][0] = malloc(sizeof(float) * k.ny), r[t][1] = malloc(sizeof(float) * k.nW);
        r[t][2] = malloc(sizeof(float) * k.nx);
        conv2d_onednn_forward(k.W, NULL, 0, k.x, r[t][0], 16, 48, B, 14, 14, 1, CBHW);
        conv2d_onednn_backward(k.W, k.x, k.dy, work, r[t][2], r[t][1], 0, 16, 48, B, 14, 14, 1,
                               CBHW);
    }
    omp_set_num_threads(keep);
    CHECK(memcmp(r[0][0], r[1][0], sizeof(float) * k.ny) == 0);
    CHECK(memcmp(r[0][1], r[1][1], sizeof(float) * k.nW) == 0);
    CHECK(memcmp(r[0][2], r[1][2], sizeof(float) * k.nx) == 0);
    for (int t = 0; t < 2; t++) free(r[t][0]), free(r[t][1]), free(r[t][2]);
    free(work);
    drop(&k);
}

/* A call from inside a parallel region (one image per call) runs its chunks in the
 * calling thread: each image's result is the bits of the same call made alone. */
static void test_onednn_conv_inside_a_parallel_loop(void) {
    enum { N = 6, C = 16, S = 10 };
    Case k = make(C, C, N, S, S, 1); /* N images of (C, S, S) each, one after another */
    long img = (long)C * S * S;
    float *alone = malloc(sizeof(float) * N * img), *par = malloc(sizeof(float) * N * img);
    float *dxa = malloc(sizeof(float) * N * img), *dxp = malloc(sizeof(float) * N * img);
    float *dWa = malloc(sizeof(float) * N * k.nW), *dWp = malloc(sizeof(float) * N * k.nW);
    float *wa = malloc(sizeof(float) * N * k.nW), *wp = malloc(sizeof(float) * N * k.nW);
    for (int n = 0; n < N; n++) {
        conv2d_onednn_forward(k.W, NULL, 0, k.x + n * img, alone + n * img, C, C, 1, S, S, 1, CBHW);
        conv2d_onednn_backward(k.W, k.x + n * img, k.dy + n * img, wa + n * k.nW, dxa + n * img,
                               dWa + n * k.nW, 0, C, C, 1, S, S, 1, CBHW);
    }
#pragma omp parallel for schedule(dynamic)
    for (int n = 0; n < N; n++) {
        conv2d_onednn_forward(k.W, NULL, 0, k.x + n * img, par + n * img, C, C, 1, S, S, 1, CBHW);
        conv2d_onednn_backward(k.W, k.x + n * img, k.dy + n * img, wp + n * k.nW, dxp + n * img,
                               dWp + n * k.nW, 0, C, C, 1, S, S, 1, CBHW);
    }
    CHECK(memcmp(alone, par, sizeof(float) * N * img) == 0);
    CHECK(memcmp(dxa, dxp, sizeof(float) * N * img) == 0);
    CHECK(memcmp(dWa, dWp, sizeof(float) * N * k.nW) == 0);
    free(alone), free(par), free(dxa), free(dxp), free(dWa), free(dWp), free(wa), free(wp);
    drop(&k);
}

/* (B, C, h, w): 40 images (a whole chunk and a short one) of the image flows' 64→64
 * and 64→2 shapes give what each image gives alone, to 1e-5 (the weight gradient sums
 * another way), and the same bits at 1 and 2 threads. */
static void test_onednn_conv_image_major_layout(void) {
    enum { N = 40, S = 7 };
    int shapes[3][2] = {{64, 64}, {64, 2}, {1, 16}};
    for (int c = 0; c < 3; c++) {
        int cin = shapes[c][0], cout = shapes[c][1];
        Case k = make(cin, cout, N, S, S, 1); /* read as N images of (cin, S, S) */
        long xi = (long)cin * S * S, yi = (long)cout * S * S;
        float *y[3], *dx[3], *dW[3], *work = malloc(sizeof(float) * k.nW * N);
        for (int t = 0; t < 3; t++) {
            y[t] = malloc(sizeof(float) * k.ny), dx[t] = malloc(sizeof(float) * k.nx);
            dW[t] = malloc(sizeof(float) * k.nW);
        }
        /* t = 0: image by image, the dW partials summed in order */
        for (int n = 0; n < N; n++) {
            conv2d_onednn_forward(k.W, NULL, 0, k.x + n * xi, y[0] + n * yi, cin, cout, 1, S, S, 1,
                                  BCHW);
            conv2d_onednn_backward(k.W, k.x + n * xi, k.dy + n * yi, work, dx[0] + n * xi, dW[0],
                                   n > 0, cin, cout, 1, S, S, 1, BCHW);
        }
        int keep = omp_get_max_threads();
        for (int t = 1; t < 3; t++) {
            omp_set_num_threads(t);
            conv2d_onednn_forward(k.W, NULL, 0, k.x, y[t], cin, cout, N, S, S, 1, BCHW);
            conv2d_onednn_backward(k.W, k.x, k.dy, work, dx[t], dW[t], 0, cin, cout, N, S, S, 1,
                                   BCHW);
        }
        omp_set_num_threads(keep);
        double d = fmax(rel_diff(y[1], y[0], k.ny),
                        fmax(rel_diff(dx[1], dx[0], k.nx), rel_diff(dW[1], dW[0], k.nW)));
        CHECK(d < 1e-5);
        CHECK(memcmp(y[1], y[2], sizeof(float) * k.ny) == 0);
        CHECK(memcmp(dx[1], dx[2], sizeof(float) * k.nx) == 0);
        CHECK(memcmp(dW[1], dW[2], sizeof(float) * k.nW) == 0);
        for (int t = 0; t < 3; t++) free(y[t]), free(dx[t]), free(dW[t]);
        free(work);
        drop(&k);
    }
}

/* The bias and ReLU fused into the forward pass give conv2d.h's conv followed by the
 * bias and max(·, 0), to 1e-5: Winograd (16 -> 32), direct (1 -> 16, read in place),
 * narrow (64 -> 2), with and without ReLU. */
static void test_onednn_conv_fused_bias_and_relu(void) {
    static const int shapes[][3] = {{16, 32, 40}, {1, 16, 3}, {64, 2, 3}};
    for (int i = 0; i < 3; i++)
        for (int relu = 0; relu < 2; relu++) {
            int cin = shapes[i][0], cout = shapes[i][1], B = shapes[i][2], S = 9;
            Case k = make(cin, cout, B, S, S, 1);
            float *bias = malloc(sizeof(float) * cout), *y1 = malloc(sizeof(float) * k.ny);
            float *y2 = malloc(sizeof(float) * k.ny);
            float *cols = malloc(sizeof(float) * (long)cin * 9 * B * S * S);
            rng_fill_normal(bias, cout, 0, 1, 5, 3, 0);
            conv2d_onednn_forward(k.W, bias, relu, k.x, y1, cin, cout, B, S, S, 1, CBHW);
            conv2d_forward(k.W, k.x, cols, y2, cin, cout, B, S, S, 1);
            long P = (long)B * S * S;
            for (long j = 0; j < k.ny; j++) {
                float t = y2[j] + bias[j / P];
                y2[j] = relu && t < 0.0f ? 0.0f : t;
            }
            CHECK(rel_diff(y1, y2, k.ny) < 1e-5);
            free(bias), free(y1), free(y2), free(cols);
            drop(&k);
        }
}

/* (B, C, h, w) <-> (B, C/16, h, w, 16), the blocked layout, written out by hand. */
static void to_blocked(const float *a, float *b, int B, int C, long hw, int back) {
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++)
            for (long p = 0; p < hw; p++) {
                long i = ((long)n * C + c) * hw + p,
                     j = (((long)n * (C / 16) + c / 16) * hw + p) * 16 + c % 16;
                if (back)
                    b[i] = a[j];
                else
                    b[j] = a[i];
            }
}

/* A side in the blocked layout gives the bits of the same side image-major: the image
 * flows keep the middle conv's input in it (64 -> 64 both sides; 1 -> 16 its output
 * side, as the first conv writes it). */
static void test_onednn_conv_blocked_layout(void) {
    enum { N = 40, S = 7 };
    int shapes[2][2] = {{64, 64}, {1, 16}};
    for (int c = 0; c < 2; c++) {
        int cin = shapes[c][0], cout = shapes[c][1];
        Case k = make(cin, cout, N, S, S, 1);
        long hw = S * S;
        float *y[2], *dx[2], *dW[2], *xb = malloc(sizeof(float) * k.nx);
        float *dyb = malloc(sizeof(float) * k.ny),
              *t = malloc(sizeof(float) * (k.nx > k.ny ? k.nx : k.ny));
        float *work = malloc(sizeof(float) * conv2d_onednn_workspace(cin, cout, N));
        for (int i = 0; i < 2; i++) {
            y[i] = malloc(sizeof(float) * k.ny), dx[i] = malloc(sizeof(float) * k.nx);
            dW[i] = malloc(sizeof(float) * k.nW);
        }
        conv2d_onednn_forward(k.W, NULL, 0, k.x, y[0], cin, cout, N, S, S, 1, BCHW);
        conv2d_onednn_backward(k.W, k.x, k.dy, work, dx[0], dW[0], 0, cin, cout, N, S, S, 1, BCHW);
        /* output side blocked */
        ConvLayouts ob = {CONV_BCHW, CONV_BLOCKED};
        to_blocked(k.dy, dyb, N, cout, hw, 0);
        conv2d_onednn_forward(k.W, NULL, 0, k.x, t, cin, cout, N, S, S, 1, ob);
        to_blocked(t, y[1], N, cout, hw, 1);
        conv2d_onednn_backward(k.W, k.x, dyb, work, dx[1], dW[1], 0, cin, cout, N, S, S, 1, ob);
        CHECK(memcmp(y[0], y[1], sizeof(float) * k.ny) == 0);
        CHECK(memcmp(dx[0], dx[1], sizeof(float) * k.nx) == 0);
        CHECK(memcmp(dW[0], dW[1], sizeof(float) * k.nW) == 0);
        if (cin % 16 == 0) { /* input side blocked */
            ConvLayouts ib = {CONV_BLOCKED, CONV_BCHW};
            to_blocked(k.x, xb, N, cin, hw, 0);
            conv2d_onednn_forward(k.W, NULL, 0, xb, y[1], cin, cout, N, S, S, 1, ib);
            conv2d_onednn_backward(k.W, xb, k.dy, work, t, dW[1], 0, cin, cout, N, S, S, 1, ib);
            to_blocked(t, dx[1], N, cin, hw, 1);
            CHECK(memcmp(y[0], y[1], sizeof(float) * k.ny) == 0);
            CHECK(memcmp(dx[0], dx[1], sizeof(float) * k.nx) == 0);
            CHECK(memcmp(dW[0], dW[1], sizeof(float) * k.nW) == 0);
        }
        for (int i = 0; i < 2; i++) free(y[i]), free(dx[i]), free(dW[i]);
        free(xb), free(dyb), free(t), free(work);
        drop(&k);
    }
}

static void test_onednn_describe_names_version_and_isa(void) {
    const char *d = conv2d_onednn_describe();
    CHECK(strncmp(d, "oneDNN 2.", 9) == 0);
    CHECK(strchr(d + 9, ' ') != NULL && strstr(d, " other") == NULL);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_onednn_conv_matches_conv2d),
        UNIT(test_onednn_conv_gradients_match_finite_differences),
        UNIT(test_onednn_conv_same_bits_at_one_and_two_threads),
        UNIT(test_onednn_conv_inside_a_parallel_loop),
        UNIT(test_onednn_conv_image_major_layout),
        UNIT(test_onednn_conv_blocked_layout),
        UNIT(test_onednn_conv_fused_bias_and_relu),
        UNIT(test_onednn_describe_names_version_and_isa),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof *tests), argc, argv);
}
