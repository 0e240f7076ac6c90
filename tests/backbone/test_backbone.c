/* test_backbone.c — the whole backbone: parameter and input gradients against
 * finite differences (cnn and mlp, small shapes), the broken-gradient control, and
 * the backbone.bin round trip. */
#include "backbone/backbone.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { B = 3 };

/* A small network so that finite differences over many entries stay fast. */
static BackboneShape small_shape(BackboneArch arch) {
    BackboneShape s = backbone_shape_default(arch);
    s.nstages = 2, s.width[0] = 3, s.width[1] = 4, s.stride[0] = 2, s.stride[1] = 2;
    s.nclasses = 5;
    return s;
}

typedef struct {
    Backbone bb;
    BackboneWork *w;
    float x[B * BACKBONE_PIXELS];
    int64_t labels[B];
    int train;
} Net;

static void net_init(Net *n, BackboneArch arch, int train) {
    BackboneShape s = small_shape(arch);
    Err e;
    CHECK(backbone_init(&n->bb, &s, 9, &e) == LDE_OK);
    n->bb.in_mean = 0.3f, n->bb.in_std = 0.4f;
    n->w = backbone_work_new(&n->bb, B);
    rng_fill_uniform(n->x, B * BACKBONE_PIXELS, 0, 1, 9, 100, 0);
    n->labels[0] = 1, n->labels[1] = 4, n->labels[2] = 0;
    n->train = train;
}

static void net_free(Net *n) {
    backbone_work_free(n->w);
    backbone_free(&n->bb);
}

/* Mean cross-entropy (with temperature T) in double from the float forward. */
static double net_loss(Net *n, float T) {
    const float *feat, *logits;
    backbone_forward(&n->bb, n->w, n->x, B, n->train, &feat, &logits);
    int K = n->bb.shape.nclasses;
    double loss = 0;
    for (int i = 0; i < B; i++) {
        double mx = -1e30, z = 0;
        for (int k = 0; k < K; k++) mx = fmax(mx, logits[i * K + k] / T);
        for (int k = 0; k < K; k++) z += exp(logits[i * K + k] / T - mx);
        loss += log(z) + mx - logits[i * K + n->labels[i]] / T;
    }
    return loss / B;
}

/* Counts entries of v (every `every`-th of n) whose central difference (step h =
 * 1e-3) is off the analytic gradient by more than 2% of the largest checked
 * gradient. The loss is ~1.6 in float: rounding ~2e-7 over the step 2h gives
 * ~1e-4, 0.05% of the scale (~0.2). A step of 1e-2 measured 2.5% errors (BatchNorm
 * curvature and ReLU kinks), so the step stays small. */
static int fd_bad(Net *n, float *v, long len, long every, const float *g, float T) {
    const float h = 1e-3f;
    double scale = 0;
    for (long i = 0; i < len; i += every) scale = fmax(scale, fabs(g[i]));
    int bad = 0;
    for (long i = 0; i < len; i += every) {
        float keep = v[i];
        v[i] = keep + h;
        double lp = net_loss(n, T);
        v[i] = keep - h;
        double lm = net_loss(n, T);
        v[i] = keep;
        double fd = (lp - lm) / (2 * h);
        if (fabs(fd - g[i]) > 0.02 * scale) bad++;
    }
    return bad;
}

static int param_gradcheck(BackboneArch arch, int break_it) {
    Net n;
    net_init(&n, arch, 1);
    float *g = malloc(sizeof(float) * n.bb.nparams);
    const float *feat, *logits;
    backbone_forward(&n.bb, n.w, n.x, B, 1, &feat, &logits);
    double loss = backbone_backward(&n.bb, n.w, n.labels, B, g);
    CHECK_NEAR(loss, net_loss(&n, 1.0f), 1e-5);
    if (break_it) g[0] += 0.1f * fabsf(g[0]) + 1e-2f;
    /* The mlp has 800k weights: every 997th covers each layer. */
    int bad = fd_bad(&n, n.bb.params, n.bb.nparams, arch == BACKBONE_CNN ? 1 : 997, g, 1.0f);
    free(g);
    net_free(&n);
    return bad;
}

static void test_cnn_parameter_gradients_match_finite_differences(void) {
    CHECK(param_gradcheck(BACKBONE_CNN, 0) == 0);
}

static void test_mlp_parameter_gradients_match_finite_differences(void) {
    CHECK(param_gradcheck(BACKBONE_MLP, 0) == 0);
}

static void test_backbone_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(param_gradcheck(BACKBONE_CNN, 1) >= 1);
    CHECK(param_gradcheck(BACKBONE_MLP, 1) >= 1);
}

/* ODIN's input gradient in evaluation mode, with a temperature, for raw pixels. */
static void test_input_gradient_matches_finite_differences(void) {
    for (int arch = 0; arch < 2; arch++) {
        Net n;
        net_init(&n, (BackboneArch)arch, 0);
        rng_fill_uniform(n.bb.state, n.bb.nstate, 0.5f, 1.5f, 9, 101, 0);
        float dx[B * BACKBONE_PIXELS];
        backbone_input_grad(&n.bb, n.w, n.x, n.labels, 2.0f, B, dx);
        CHECK(fd_bad(&n, n.x, B * BACKBONE_PIXELS, 7, dx, 2.0f) == 0);
        dx[0] += 1.0f;
        CHECK(fd_bad(&n, n.x, B * BACKBONE_PIXELS, 7, dx, 2.0f) == 1);
        net_free(&n);
    }
}

/* Saved and loaded, a backbone gives the same logits bit for bit; a truncated file
 * and a wrong magic are refused with the path in the message. */
static void test_backbone_save_load_roundtrip(void) {
    Net n;
    net_init(&n, BACKBONE_CNN, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/bb.bin", unit_tmpdir());
    Err e;
    CHECK(backbone_save(&n.bb, path, &e) == LDE_OK);
    Backbone b2;
    CHECK(backbone_load(&b2, path, &e) == LDE_OK);
    CHECK(b2.nparams == n.bb.nparams && b2.in_std == n.bb.in_std);
    const float *f1, *l1, *f2, *l2;
    backbone_forward(&n.bb, n.w, n.x, B, 0, &f1, &l1);
    float keep[B * 5];
    memcpy(keep, l1, sizeof keep);
    backbone_forward(&b2, n.w, n.x, B, 0, &f2, &l2);
    CHECK(memcmp(keep, l2, sizeof keep) == 0);
    backbone_free(&b2);
    CHECK(truncate(path, 100) == 0);
    CHECK(backbone_load(&b2, path, &e) == LDE_EINPUT && strstr(e.msg, "bb.bin"));
    FILE *f = fopen(path, "wb");
    fputs("hello", f);
    fclose(f);
    CHECK(backbone_load(&b2, path, &e) == LDE_EINPUT && strstr(e.msg, "magic"));
    net_free(&n);
}

static void test_bad_shapes_are_refused(void) {
    Backbone bb;
    Err e;
    BackboneShape s = backbone_shape_default(BACKBONE_CNN);
    s.stride[1] = 3;
    CHECK(backbone_init(&bb, &s, 0, &e) == LDE_EINPUT && strstr(e.msg, "stride"));
    s = backbone_shape_default(BACKBONE_CNN);
    s.nstages = 0;
    CHECK(backbone_init(&bb, &s, 0, &e) == LDE_EINPUT);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_cnn_parameter_gradients_match_finite_differences),
        UNIT(test_mlp_parameter_gradients_match_finite_differences),
        UNIT(test_backbone_gradcheck_catches_a_wrong_gradient),
        UNIT(test_input_gradient_matches_finite_differences),
        UNIT(test_backbone_save_load_roundtrip),
        UNIT(test_bad_shapes_are_refused),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
