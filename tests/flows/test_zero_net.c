/* test_zero_net.c — a new coupling's evaluation skips its st-network (zero_net.h)
 * and gives the bits of the full forward: vector and image couplings, with and
 * without a bottleneck, im2col and oneDNN, inputs with -0, negatives, NaN and values
 * too large to bound. Each case also checks whether the network ran (a sentinel in
 * the saved activations), so a skip that stopped happening, or one taken where it
 * must not be, fails here. */
#include "flows/conv_coupling.h"
#include "flows/coupling.h"
#include "flows/rng.h"
#include "flows/zero_net.h"
#include "tests/unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float SENTINEL = 12345.0f;

static void test_zero_net_scans(void) {
    enum { N = 3 * 4096 + 5 };
    float *v = calloc(N, sizeof(float));
    CHECK(zero_net_all_zero(v, N) == 1);
    v[N - 1] = -0.0f; /* -0 is not +0: its sign could reach an output */
    CHECK(zero_net_all_zero(v, N) == 0);
    v[N - 1] = 0.0f, v[4096] = 1e-40f; /* a denormal in the second block */
    CHECK(zero_net_all_zero(v, N) == 0);
    v[4096] = -3.5f, v[7] = 2.0f;
    CHECK(zero_net_abs_max(v, N) == 3.5);
    v[9] = NAN;
    CHECK(isinf(zero_net_abs_max(v, N)));
    v[9] = -INFINITY;
    CHECK(isinf(zero_net_abs_max(v, N)));
    float W[4] = {0.5f, -2.0f, 1.0f, 0.0f}, b[2] = {-3.0f, 1.0f};
    CHECK(zero_net_layer_bound(10.0, W, 4, b, 2, 2) == 2 * 2.0 * 10.0 + 3.0);
    free(v);
}

enum { B = 7, D = 12, H = 16, L = 3 };

/* Runs coupling_forward and coupling_forward_eval on x; 1 when y and logdet agree
 * bit for bit. *skipped: whether the eval left the saved activations untouched. */
static int vector_agrees(const Coupling *c, const float *p, const float *x, int *skipped) {
    long ns = (long)B * coupling_nsaved(c);
    float *s1 = malloc(sizeof(float) * ns), *s2 = malloc(sizeof(float) * ns);
    float y1[B * D], y2[B * D];
    double ld1[B], ld2[B];
    for (long i = 0; i < ns; i++) s2[i] = SENTINEL;
    for (int r = 0; r < B; r++) ld1[r] = ld2[r] = 0.25 * r;
    coupling_forward(c, p, x, y1, ld1, s1, B);
    coupling_forward_eval(c, p, x, y2, ld2, s2, B);
    *skipped = s2[0] == SENTINEL; /* saved starts with the net's input x_c */
    int same = memcmp(y1, y2, sizeof y1) == 0 && memcmp(ld1, ld2, sizeof ld1) == 0;
    free(s1), free(s2);
    return same;
}

static void check_vector_coupling(int bottleneck) {
    Coupling c = coupling_make(D, H, bottleneck, 1);
    float *p = malloc(sizeof(float) * coupling_nparams(&c));
    coupling_init(&c, p, 3, 10);
    float x[B * D];
    rng_fill_normal(x, B * D, 0.0f, 2.0f, 4, 1, 0);
    x[0] = -0.0f, x[D + 1] = -0.0f, x[2 * D + D - 1] = -0.0f; /* both halves */
    int skipped;
    CHECK(vector_agrees(&c, p, x, &skipped) && skipped);
    x[D + D - 2] = NAN; /* in x_c (parity 1 conditions on the last half) */
    CHECK(vector_agrees(&c, p, x, &skipped) && !skipped);
    x[D + D - 2] = 1e37f; /* finite, but no bound proves the hidden layers finite */
    CHECK(vector_agrees(&c, p, x, &skipped) && !skipped);
    x[D + D - 2] = 1.0f;
    p[coupling_nparams(&c) - 1] = 1e-3f; /* a trained last layer: the full network */
    CHECK(vector_agrees(&c, p, x, &skipped) && !skipped);
    free(p);
}

static void test_new_vector_coupling_skips_its_network_with_the_same_bits(void) {
    check_vector_coupling(0);
    check_vector_coupling(L); /* the bottleneck: Linear(h→l) → Linear(l→h), no ReLU between */
}

enum { IH = 6, IW = 6, IC = 2, IB = 5 };

/* As vector_agrees, for an image coupling. */
static int image_agrees(const ConvCoupling *cc, const float *p, const float *x, int *skipped) {
    long d = IH * IW * IC, ns = IB * conv_coupling_nsaved(cc), nw = conv_coupling_nscratch(cc, IB);
    float *s1 = malloc(sizeof(float) * ns), *s2 = malloc(sizeof(float) * ns);
    float *w = malloc(sizeof(float) * nw), *y1 = malloc(sizeof(float) * IB * d),
          *y2 = malloc(sizeof(float) * IB * d);
    double ld1[IB], ld2[IB];
    for (long i = 0; i < ns; i++) s2[i] = SENTINEL;
    for (int r = 0; r < IB; r++) ld1[r] = ld2[r] = -0.5 * r;
    conv_coupling_forward(cc, p, x, y1, ld1, s1, w, IB);
    conv_coupling_forward_eval(cc, p, x, y2, ld2, s2, w, IB);
    *skipped = s2[0] == SENTINEL; /* saved starts with the masked input */
    int same = memcmp(y1, y2, sizeof(float) * IB * d) == 0 && memcmp(ld1, ld2, sizeof ld1) == 0;
    free(s1), free(s2), free(w), free(y1), free(y2);
    return same;
}

static void check_image_coupling(ConvImpl impl, int bottleneck, FlowMask mask) {
    ConvCoupling cc;
    CHECK(conv_coupling_make(&cc, IH, IW, IC, H, bottleneck, mask, 1) == 0);
    cc.conv = impl;
    long np = conv_coupling_nparams(&cc), d = IH * IW * IC;
    float *p = malloc(sizeof(float) * np), *x = malloc(sizeof(float) * IB * d);
    conv_coupling_init(&cc, p, 5, 20);
    rng_fill_normal(x, IB * d, 0.0f, 3.0f, 6, 2, 0);
    for (long i = 0; i < IB * d; i += 5) x[i] = -0.0f;
    int skipped;
    CHECK(image_agrees(&cc, p, x, &skipped) && skipped);
    x[3] = INFINITY;
    CHECK(image_agrees(&cc, p, x, &skipped) && !skipped);
    x[3] = 0.5f;
    p[np - 1] = -2e-3f; /* the last conv's bias, trained */
    CHECK(image_agrees(&cc, p, x, &skipped) && !skipped);
    free(p), free(x);
}

static void test_new_image_coupling_skips_its_network_with_the_same_bits(void) {
    for (int impl = 0; impl < 2; impl++) {
        ConvImpl ci = impl ? CONV_ONEDNN : CONV_IM2COL;
        check_image_coupling(ci, 0, FLOW_MASK_CHECKERBOARD);
        /* the bottleneck's expansion is signed: the last conv sums -0 products */
        check_image_coupling(ci, L, FLOW_MASK_HORIZONTAL);
    }
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_zero_net_scans),
        UNIT(test_new_vector_coupling_skips_its_network_with_the_same_bits),
        UNIT(test_new_image_coupling_skips_its_network_with_the_same_bits),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
