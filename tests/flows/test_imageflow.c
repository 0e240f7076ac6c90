/* test_imageflow.c — flows on images (conv couplings, masks, squeeze and factor-out,
 * Glow's per-channel ActNorm and 1×1 convolution), through flow.h's entry points:
 * for every mask, with and without squeeze and bottleneck, on 4×4×1 and 4×4×4 images:
 * inverse round trip, log-det against a brute-force Jacobian, parameter and input
 * gradients against finite differences (with a mutated gradient that must fail),
 * the same bits at 1 and 2 threads; the cycle mask's dependency structure; a new
 * flow is the identity; training lowers the loss; masks, squeeze, names and
 * validation on their own. */
#include "flows/flow_optim.h"
#include "flows/mask.h"
#include "flows/rng.h"
#include "flows/squeeze.h"
#include "tests/fdcheck.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FlowArch arch;
    int c, h, w;
    FlowMask mask;
    int squeeze, blocks, hidden, bottleneck;
    ConvImpl conv; /* im2col unless named */
} Case;

/* Every mask, squeeze 0, 1 and 2, bottleneck or not, one and four channels, both
 * archs. The cycle mask gets 5 couplings so its stripe index wraps around. */
static const Case CASES[] = {
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHECKERBOARD, 0, 3, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_HORIZONTAL, 0, 3, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CYCLE, 0, 5, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 4, 4, 4, FLOW_MASK_CHANNEL, 0, 2, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHECKERBOARD, 1, 2, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 4, 4, 4, FLOW_MASK_HORIZONTAL, 1, 2, 3, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHANNEL, 1, 2, 4, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHANNEL, 2, 2, 3, 0, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHECKERBOARD, 0, 3, 4, 3, CONV_IM2COL},
    {FLOW_REALNVP, 4, 4, 4, FLOW_MASK_CYCLE, 0, 4, 3, 2, CONV_IM2COL},
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHECKERBOARD, 1, 2, 3, 2, CONV_IM2COL},
    {FLOW_GLOW, 4, 4, 4, FLOW_MASK_CHECKERBOARD, 0, 2, 3, 0, CONV_IM2COL},
    {FLOW_GLOW, 1, 4, 4, FLOW_MASK_CHANNEL, 1, 2, 3, 3, CONV_IM2COL},
    {FLOW_GLOW, 1, 4, 4, FLOW_MASK_HORIZONTAL, 0, 2, 4, 0, CONV_IM2COL},
    /* oneDNN convs: 16 hidden channels take its Winograd kernel, the last conv lde's
     * narrow one (conv2d_narrow.h) */
    {FLOW_REALNVP, 1, 4, 4, FLOW_MASK_CHECKERBOARD, 0, 3, 16, 0, CONV_ONEDNN},
    {FLOW_GLOW, 1, 4, 4, FLOW_MASK_CHANNEL, 1, 2, 16, 3, CONV_ONEDNN},
};
enum { NCASES = sizeof CASES / sizeof CASES[0] };

static FlowConfig case_config(const Case *k) {
    FlowConfig cfg = flow_config_image(k->arch, k->c, k->h, k->w);
    cfg.mask = k->mask, cfg.squeeze = k->squeeze;
    cfg.blocks = k->blocks, cfg.hidden = k->hidden, cfg.bottleneck = k->bottleneck;
    cfg.conv = k->conv;
    return cfg;
}

static void case_name(const Case *k, char *buf, size_t n) {
    snprintf(buf, n, "%s %dx%dx%d %s squeeze %d bottleneck %d%s", flow_arch_name(k->arch), k->h,
             k->w, k->c, flow_mask_name(k->mask), k->squeeze, k->bottleneck,
             k->conv == CONV_ONEDNN ? " onednn" : "");
}

/* Images with structure: a per-image offset plus each value leaning on its left
 * neighbour, so ActNorm and the couplings have correlations to model. */
static void make_images(float *x, int n, int h, int w, int c, uint64_t stream) {
    long d = (long)h * w * c;
    for (int r = 0; r < n; r++) {
        float off = 0.5f * rng_normal(8, stream, (uint64_t)r * (d + 1) + d);
        for (long i = 0; i < d; i++) {
            float a = rng_normal(8, stream, (uint64_t)r * (d + 1) + i);
            float left = i >= c ? x[r * d + i - c] : 0.0f;
            x[r * d + i] = off + 0.8f * a + 0.4f * left;
        }
    }
}

/* A flow of case k whose ActNorms have seen data and whose every parameter is moved
 * away from its init: the zero last convs would otherwise hide the gradients and
 * log-dets of everything before them. By 0.1: at 0.2 a multi-scale 4×4×4 flow's
 * scales compound to a mean NLL of 2000 nats, whose float noise swamps a difference
 * quotient. The tests on these tiny flows run on one thread (a parallel region costs
 * more than their products); the thread test shows 2 threads give the same bits. */
static void make_flow(Flow *f, FlowWork **w, const Case *k, int max_batch) {
    FlowConfig cfg = case_config(k);
    CHECK(flow_create(f, &cfg, 3) == 0);
    *w = flow_work_create(f, max_batch > 8 ? max_batch : 8);
    float *x = malloc(sizeof(float) * 8 * cfg.d), *g = malloc(sizeof(float) * f->nparams);
    make_images(x, 8, k->h, k->w, k->c, 77);
    flow_loss_grad(f, x, 8, g, *w, 0, 0); /* ActNorm's data-dependent init */
    for (long i = 0; i < f->nparams; i++) f->params[i] += 0.1f * rng_normal(4, 9, (uint64_t)i);
    free(x), free(g);
}

/* flow_init_actnorm over 10 images in evaluation chunks of 3 (the work's batch) sets
 * every per-channel ActNorm of a multi-scale Glow as a first training batch of all 10
 * would: statistics over all 10·h·w pixels, not over a chunk. */
static void test_image_actnorm_init_sees_the_whole_sample(void) {
    enum { N = 10 };
    FlowConfig cfg = flow_config_image(FLOW_GLOW, 1, 4, 4);
    cfg.mask = FLOW_MASK_CHANNEL, cfg.squeeze = 1, cfg.blocks = 2, cfg.hidden = 3;
    Flow f1, f2;
    CHECK(flow_create(&f1, &cfg, 3) == 0 && flow_create(&f2, &cfg, 3) == 0);
    FlowWork *w1 = flow_work_create(&f1, 3), *w2 = flow_work_create(&f2, N);
    float x[N * 16], *g = malloc(sizeof(float) * f2.nparams);
    make_images(x, N, 4, 4, 1, 5);
    CHECK(flow_init_actnorm(&f1, x, N, w1) == 0);
    flow_loss_grad(&f2, x, N, g, w2, 0, 0);
    double worst = 0.0;
    for (long i = 0; i < f1.nparams; i++) worst = fmax(worst, fabs(f1.params[i] - f2.params[i]));
    CHECK(worst < 1e-5);
    int n_an = 0;
    for (int i = 0; i < f1.nlayers; i++)
        if (f1.layers[i].kind == FLOW_LAYER_ACTNORM)
            n_an++, CHECK(f1.state[f1.layers[i].soff] == 1.0f);
    CHECK(n_an == 4);
    free(g);
    flow_work_destroy(w1), flow_work_destroy(w2);
    flow_destroy(&f1), flow_destroy(&f2);
}

/* Inverse round trip: float32 through up to 17 layers, |s| < 2, values O(1): the
 * rounding of each layer (~1e-7 relative, amplified at most e² by a scale) stays
 * well under 1e-5. */
static void test_image_flows_invert_to_1e5(void) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    enum { B = 5 };
    for (int t = 0; t < NCASES; t++) {
        const Case *k = &CASES[t];
        Flow f;
        FlowWork *w;
        make_flow(&f, &w, k, B);
        int d = f.cfg.d;
        float *x = malloc(sizeof(float) * B * d), *z = malloc(sizeof(float) * B * d);
        float *back = malloc(sizeof(float) * B * d);
        double ld[B];
        make_images(x, B, k->h, k->w, k->c, 5);
        flow_forward(&f, x, z, ld, B, w);
        flow_inverse(&f, z, back, B, w);
        double worst = 0.0, moved = 0.0;
        for (int i = 0; i < B * d; i++) {
            worst = fmax(worst, fabs(back[i] - x[i]));
            moved = fmax(moved, fabs(z[i] - x[i]));
        }
        char name[128];
        case_name(k, name, sizeof name);
        printf("  %-48s max |f⁻¹(f(x)) - x| = %.2g (max |z - x| = %.2g)\n", name, worst, moved);
        CHECK(worst < 1e-5);
        CHECK(moved > 0.1); /* the flow is not the identity: the test tests something */
        free(x), free(z), free(back);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
    omp_set_num_threads(threads);
}

typedef struct {
    Flow *f;
    FlowWork *w;
} MapCtx;

static void flow_map(void *ctx, const float *x, float *z) {
    MapCtx *m = ctx;
    double ld;
    flow_forward(m->f, x, z, &ld, 1, m->w);
}

/* log|det| of the whole flow against the Jacobian by central differences, factored
 * in double. The st-networks are ReLU networks: a unit that switches inside the step
 * bends a column of the difference Jacobian (measured: 10.64 against 10.72 at step
 * 1e-2, 10.7215 at 1e-3; realnvp 4×4×4 channel, image 0: 2.9598 at 1e-3 against
 * 2.9576, 2.9583 at 3e-4, with the kernel OpenBLAS picks on this Xeon), so steps
 * 1e-2 down to 3e-4 are tried and the closest must agree to 2e-3 — float rounding of
 * the outputs (~1e-7/3e-4 relative per entry, over up to 64 columns) stays under
 * 1e-3, while a wrong log-det term is off at every step. */
static void test_image_flow_logdet_matches_brute_force_jacobian(void) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int t = 0; t < NCASES; t++) {
        const Case *k = &CASES[t];
        Flow f;
        FlowWork *w;
        make_flow(&f, &w, k, 2);
        int d = f.cfg.d;
        float *x = malloc(sizeof(float) * 2 * d), *z = malloc(sizeof(float) * 2 * d);
        double ld[2];
        make_images(x, 2, k->h, k->w, k->c, 3);
        flow_forward(&f, x, z, ld, 2, w);
        MapCtx m = {&f, w};
        char name[128];
        case_name(k, name, sizeof name);
        for (int r = 0; r < 2; r++) {
            double bf = NAN;
            for (double step = 1e-2; step > 2e-4; step /= 3.16) {
                double v = fd_logdet(flow_map, &m, x + r * d, d, step);
                if (isnan(bf) || fabs(v - ld[r]) < fabs(bf - ld[r])) bf = v;
            }
            printf("  %-48s logdet %10.5f brute force %10.5f\n", name, ld[r], bf);
            CHECK_NEAR(bf, ld[r], 2e-3);
        }
        free(x), free(z);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
    omp_set_num_threads(threads);
}

typedef struct {
    Flow *f;
    FlowWork *w;
    float *x, *grad;
    int B;
} LossCtx;

static double nll(void *ctx) {
    LossCtx *c = ctx;
    return flow_loss_grad(c->f, c->x, c->B, c->grad, c->w, 0, 0);
}

/* The derivative at t0 of the parabola through (t0,l0), (t1,l1), (t2,l2). */
static double parabola_slope(double t0, double t1, double t2, double l0, double l1, double l2) {
    return l0 * (2 * t0 - t1 - t2) / ((t0 - t1) * (t0 - t2)) +
           l1 * (t0 - t2) / ((t1 - t0) * (t1 - t2)) + l2 * (t0 - t1) / ((t2 - t0) * (t2 - t1));
}

/* Whether g[i] = ∂loss/∂v[i] by differences with step h = 1e-3·max(1, |v[i]|): the
 * central one, or either one-sided second-order one. The st-networks are ReLU
 * networks, and a unit that switches inside [v-h, v+h] bends the central difference
 * (measured: 6.35 against 5.991 at h = 1.2e-3, 5.991 at 4e-4); the kink then lies on
 * one side, and the difference on the other side is smooth. Tolerances: the mean NLL
 * of 3 images is O(30) nats, summed in double from float32 z and s, with ~1e-7 of
 * noise (measured), so 2e-3 central (noise/h ~1e-4) and 5e-3 one-sided (whose
 * weights are 4× larger), plus 1% of the value. A 5% error fails all three. */
static int probe_ok(LossCtx *c, float *v, long i, double g, double *fd_out) {
    float x0 = v[i];
    double h = 1e-3 * fmax(1.0, fabs(x0)), t[5], l[5];
    for (int k = 0; k < 5; k++) {
        v[i] = (float)(x0 + (k - 2) * h);
        t[k] = v[i];
        l[k] = nll(c);
    }
    v[i] = x0;
    double central = (l[3] - l[1]) / (t[3] - t[1]);
    double left = parabola_slope(t[2], t[1], t[0], l[2], l[1], l[0]);
    double right = parabola_slope(t[2], t[3], t[4], l[2], l[3], l[4]);
    *fd_out = central;
    return fabs(g - central) <= 2e-3 + 1e-2 * fabs(central) ||
           fabs(g - left) <= 5e-3 + 1e-2 * fabs(left) ||
           fabs(g - right) <= 5e-3 + 1e-2 * fabs(right);
}

/* g against differences at up to 60 indices of v (all when n <= 60, else drawn as
 * fd_check draws them). */
static int grad_ok(LossCtx *c, float *v, const float *g, long n) {
    int bad = 0, probes = n <= 60 ? (int)n : 60;
    for (int k = 0; k < probes; k++) {
        long i = n <= 60 ? k : (long)(rng_uniform(17, 0, (uint64_t)k) * (double)n);
        double fd;
        if (!probe_ok(c, v, i, g[i], &fd)) {
            if (bad++ < 3) printf("    index %ld: grad %.6g fd %.6g\n", i, g[i], fd);
        }
    }
    if (bad) printf("    %d/%d bad\n", bad, probes);
    return bad == 0;
}

static void test_image_flow_gradients_match_finite_differences(void) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    enum { B = 3 };
    for (int t = 0; t < NCASES; t++) {
        const Case *k = &CASES[t];
        Flow f;
        FlowWork *w;
        make_flow(&f, &w, k, B);
        int d = f.cfg.d;
        float *x = malloc(sizeof(float) * B * d), *dx = malloc(sizeof(float) * B * d);
        float *g = malloc(sizeof(float) * f.nparams), *scratch = malloc(sizeof(float) * f.nparams);
        make_images(x, B, k->h, k->w, k->c, 11);
        flow_loss_grad_input(&f, x, B, g, dx, w, 0, 0);
        LossCtx c = {&f, w, x, scratch, B};
        char name[128];
        case_name(k, name, sizeof name);
        printf("  %s\n", name);
        CHECK(grad_ok(&c, f.params, g, f.nparams));
        CHECK(grad_ok(&c, x, dx, (long)B * d));
        free(x), free(dx), free(g), free(scratch);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
    omp_set_num_threads(threads);
}

/* The check above must be able to fail: a gradient 5% off (on a multi-scale glow with
 * a bottleneck, every layer kind present) is caught on parameters and inputs. */
static void test_image_gradient_check_catches_a_wrong_gradient(void) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    enum { B = 3 };
    const Case *k = &CASES[12];
    Flow f;
    FlowWork *w;
    make_flow(&f, &w, k, B);
    int d = f.cfg.d;
    float *x = malloc(sizeof(float) * B * d), *dx = malloc(sizeof(float) * B * d);
    float *g = malloc(sizeof(float) * f.nparams), *scratch = malloc(sizeof(float) * f.nparams);
    make_images(x, B, k->h, k->w, k->c, 11);
    flow_loss_grad_input(&f, x, B, g, dx, w, 0, 0);
    for (long i = 0; i < f.nparams; i++) g[i] *= 1.05f;
    for (int i = 0; i < B * d; i++) dx[i] *= 1.05f;
    LossCtx c = {&f, w, x, scratch, B};
    printf("  (mutated gradients, failures expected)\n");
    CHECK(!grad_ok(&c, f.params, g, f.nparams));
    CHECK(!grad_ok(&c, x, dx, (long)B * d));
    free(x), free(dx), free(g), free(scratch);
    flow_work_destroy(w);
    flow_destroy(&f);
    omp_set_num_threads(threads);
}

/* Trains `steps` Adam steps on fresh batches of B images; returns the last loss. */
static double train(Flow *f, FlowWork *w, int B, int steps, float lr, uint64_t stream0) {
    FlowOptim o;
    AdamConfig a = adam_defaults();
    a.lr = lr;
    CHECK(flow_optim_init(&o, f, &a, 10.0) == 0);
    const FlowConfig *cfg = &f->cfg;
    float *x = malloc(sizeof(float) * B * cfg->d);
    double loss = NAN;
    for (int s = 0; s < steps; s++) {
        make_images(x, B, cfg->img_h, cfg->img_w, cfg->img_c, stream0 + (uint64_t)s);
        double gn;
        loss = flow_train_step(f, &o, x, B, w, 1, &gn);
        CHECK(isfinite(loss) && isfinite(gn));
    }
    free(x);
    flow_optim_destroy(&o);
    return loss;
}

/* Same seed, 1 and 2 threads: the same loss, gradient, log-densities, samples and
 * trained parameters, bit for bit. Shapes make every parallel path run: 96 images
 * are 24 groups of a conv coupling, 8×8×2 put 12288 values through the elementwise
 * loops (> 8192), and the bottleneck's products (96 rows, 1024 wide) span several
 * GEMM tiles; the squeeze case runs ActNorm and the 1×1 convolution on 96·16 pixel
 * rows. */
static void test_image_training_same_bits_with_one_and_two_threads(void) {
    enum { B = 96, STEPS = 4 };
    static const Case cs[] = {
        {FLOW_REALNVP, 2, 8, 8, FLOW_MASK_CHECKERBOARD, 0, 3, 16, 5, CONV_IM2COL},
        {FLOW_GLOW, 2, 8, 8, FLOW_MASK_CHANNEL, 1, 2, 16, 0, CONV_IM2COL},
        {FLOW_REALNVP, 2, 8, 8, FLOW_MASK_CYCLE, 0, 4, 16, 0, CONV_IM2COL},
        /* oneDNN: 96 images are three units of 32 */
        {FLOW_REALNVP, 2, 8, 8, FLOW_MASK_CHECKERBOARD, 0, 3, 16, 5, CONV_ONEDNN},
    };
    int saved_threads = omp_get_max_threads();
    for (int t = 0; t < (int)(sizeof cs / sizeof *cs); t++) {
        const Case *k = &cs[t];
        FlowConfig cfg = case_config(k);
        int d = cfg.d;
        Flow f[2];
        float *x = malloc(sizeof(float) * B * d), *g[2], *smp[2];
        double loss[2], *lp[2];
        make_images(x, B, k->h, k->w, k->c, 21);
        for (int n = 0; n < 2; n++) {
            omp_set_num_threads(n + 1);
            CHECK(flow_create(&f[n], &cfg, 9) == 0);
            FlowWork *w = flow_work_create(&f[n], B);
            train(&f[n], w, B, STEPS, 1e-3f, 300);
            g[n] = malloc(sizeof(float) * f[n].nparams);
            lp[n] = malloc(sizeof(double) * B);
            smp[n] = malloc(sizeof(float) * B * d);
            loss[n] = flow_loss_grad(&f[n], x, B, g[n], w, 0, 0);
            flow_log_prob(&f[n], x, lp[n], B, w);
            flow_sample(&f[n], smp[n], B, 5, w);
            flow_work_destroy(w);
        }
        char name[128];
        case_name(k, name, sizeof name);
        printf("  %s: loss %.9g / %.9g\n", name, loss[0], loss[1]);
        CHECK(memcmp(&loss[0], &loss[1], sizeof(double)) == 0);
        CHECK(memcmp(f[0].params, f[1].params, sizeof(float) * f[0].nparams) == 0);
        CHECK(memcmp(f[0].state, f[1].state, sizeof(float) * f[0].nstate) == 0);
        CHECK(memcmp(g[0], g[1], sizeof(float) * f[0].nparams) == 0);
        CHECK(memcmp(lp[0], lp[1], sizeof(double) * B) == 0);
        CHECK(memcmp(smp[0], smp[1], sizeof(float) * B * d) == 0);
        for (int n = 0; n < 2; n++) free(g[n]), free(lp[n]), free(smp[n]), flow_destroy(&f[n]);
        free(x);
    }
    omp_set_num_threads(saved_threads);
}

/* Kirichenko App. I.1: coupling k transforms stripe (k+1) mod 4 from stripe k mod 4
 * only. Raising every pixel of one input stripe by 1 must change exactly the output
 * stripes that the chain of couplings links to it: with n couplings, out stripe
 * (k+1)%4 takes on what stripe k%4 depended on after each coupling k < n. Unrelated
 * outputs must be bit-identical (exact independence, not a tolerance). 4×4 images,
 * one row per stripe, so even stripe 3 -> stripe 0 is inside the st-network's 7×7
 * receptive field. */
static void test_cycle_mask_conditions_only_on_the_previous_stripe(void) {
    enum { H = 4, W = 4, C = 1, D = H * W * C };
    for (int n = 1; n <= 6; n++) {
        Case k = {FLOW_REALNVP, C, H, W, FLOW_MASK_CYCLE, 0, n, 4, 0, CONV_IM2COL};
        Flow f;
        FlowWork *w;
        make_flow(&f, &w, &k, 1);
        int dep[4][4] = {{0}}; /* dep[out][in] expected */
        for (int s = 0; s < 4; s++) dep[s][s] = 1;
        for (int c = 0; c < n; c++)
            for (int j = 0; j < 4; j++) dep[(c + 1) % 4][j] |= dep[c % 4][j];
        float x[D], x2[D], z[D], z2[D];
        double ld;
        make_images(x, 1, H, W, C, 13);
        flow_forward(&f, x, z, &ld, 1, w);
        int ok = 1;
        for (int j = 0; j < 4; j++) {
            memcpy(x2, x, sizeof x);
            for (int i = j * W; i < (j + 1) * W; i++) x2[i] += 1.0f; /* stripe j = row j */
            flow_forward(&f, x2, z2, &ld, 1, w);
            for (int s = 0; s < 4; s++) {
                int changed = memcmp(z + s * W, z2 + s * W, sizeof(float) * W) != 0;
                if (changed != dep[s][j]) {
                    printf("  %d couplings: out stripe %d %s on in stripe %d\n", n, s,
                           changed ? "depends" : "does not depend", j);
                    ok = 0;
                }
            }
        }
        CHECK(ok);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* A new realnvp image flow is exactly the identity (last convs zero: s = t = 0). */
static void test_new_image_flow_is_the_identity(void) {
    enum { B = 4 };
    FlowConfig cfg = flow_config_image(FLOW_REALNVP, 3, 8, 8);
    cfg.blocks = 3, cfg.hidden = 8, cfg.squeeze = 1, cfg.bottleneck = 4;
    Flow f;
    CHECK(flow_create(&f, &cfg, 1) == 0);
    FlowWork *w = flow_work_create(&f, B);
    float x[B * 192], z[B * 192], back[B * 192];
    double ld[B];
    make_images(x, B, 8, 8, 3, 2);
    flow_forward(&f, x, z, ld, B, w);
    flow_inverse(&f, z, back, B, w);
    /* squeeze and split permute each row: z holds the same values as x, in another order */
    for (int r = 0; r < B; r++) {
        float xs[192], zs[192];
        memcpy(xs, x + r * 192, sizeof xs), memcpy(zs, z + r * 192, sizeof zs);
        qsort(xs, 192, sizeof(float), cmp_float), qsort(zs, 192, sizeof(float), cmp_float);
        CHECK(memcmp(xs, zs, sizeof xs) == 0);
        CHECK(ld[r] == 0.0);
    }
    CHECK(memcmp(x, back, sizeof x) == 0);
    flow_work_destroy(w);
    flow_destroy(&f);
    /* without squeeze, z = x element for element */
    cfg.squeeze = 0, cfg.mask = FLOW_MASK_CYCLE;
    CHECK(flow_create(&f, &cfg, 1) == 0);
    w = flow_work_create(&f, B);
    flow_forward(&f, x, z, ld, B, w);
    CHECK(memcmp(x, z, sizeof x) == 0);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* Mean NLL of a fixed held-out set of images. */
static double heldout_nll(const Flow *f, FlowWork *w, int n) {
    const FlowConfig *cfg = &f->cfg;
    float *x = malloc(sizeof(float) * n * cfg->d);
    double *lp = malloc(sizeof(double) * n), s = 0.0;
    make_images(x, n, cfg->img_h, cfg->img_w, cfg->img_c, 999);
    flow_log_prob(f, x, lp, n, w);
    for (int r = 0; r < n; r++) s -= lp[r];
    free(x), free(lp);
    return s / n;
}

/* 60 Adam steps on 8×8 structured images: the held-out NLL falls. The data are
 * strongly correlated (each value leans on its left neighbour and an offset shared
 * by the image), so a flow that learns anything gains several nats per image; 5 is
 * far beyond the noise of a 64-image held-out mean. */
static void test_image_flow_training_lowers_the_loss(void) {
    static const Case cs[] = {
        {FLOW_REALNVP, 1, 8, 8, FLOW_MASK_CHECKERBOARD, 0, 4, 16, 0, CONV_IM2COL},
        {FLOW_REALNVP, 1, 8, 8, FLOW_MASK_HORIZONTAL, 0, 4, 16, 10, CONV_IM2COL},
        {FLOW_GLOW, 1, 8, 8, FLOW_MASK_CHANNEL, 1, 2, 16, 0, CONV_IM2COL},
    };
    for (int t = 0; t < 3; t++) {
        FlowConfig cfg = case_config(&cs[t]);
        Flow f;
        CHECK(flow_create(&f, &cfg, 4) == 0);
        FlowWork *w = flow_work_create(&f, 32);
        double before = heldout_nll(&f, w, 64);
        train(&f, w, 32, 60, 5e-3f, 500);
        double after = heldout_nll(&f, w, 64);
        char name[128];
        case_name(&cs[t], name, sizeof name);
        printf("  %-48s held-out NLL %.3f -> %.3f nats\n", name, before, after);
        CHECK(after < before - 5.0);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
}

/* Evaluation in chunks (nothing kept) gives the training pass's log-densities for a
 * multi-scale glow; samples come back to their z through the forward pass. */
static void test_image_eval_matches_training_and_samples_invert(void) {
    enum { B = 6, N = 17 };
    const Case *k = &CASES[12];
    Flow f;
    FlowWork *w;
    make_flow(&f, &w, k, B);
    int d = f.cfg.d;
    float *x = malloc(sizeof(float) * N * d), *g = malloc(sizeof(float) * f.nparams);
    double lp[N];
    make_images(x, N, k->h, k->w, k->c, 31);
    double loss = flow_loss_grad(&f, x + (N - B) * d, B, g, w, 0, 0);
    flow_log_prob(&f, x, lp, N, w);
    double mean = 0.0;
    for (int r = N - B; r < N; r++) mean -= lp[r];
    CHECK_NEAR(mean / B, loss, 1e-6 * fabs(loss)); /* the same float operations */
    float *smp = malloc(sizeof(float) * N * d), *z = malloc(sizeof(float) * N * d);
    float *z0 = malloc(sizeof(float) * N * d);
    double ld[N];
    flow_sample(&f, smp, N, 42, w);
    rng_fill_normal(z0, (long)N * d, 0.0f, 1.0f, 42, FLOW_STREAM_SAMPLE, 0);
    flow_forward(&f, smp, z, ld, N, w);
    double worst = 0.0;
    for (int i = 0; i < N * d; i++) worst = fmax(worst, fabs(z[i] - z0[i]));
    CHECK(worst < 1e-4); /* N(0,1) tails up to ~4: 1e-5 relative */
    free(x), free(g), free(smp), free(z), free(z0);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* The masks split positions as mask.h says, on a 28×28 image (Fashion-MNIST). */
static void test_masks_split_positions_as_documented(void) {
    enum { H = 28, W = 28 };
    int cond = 0, trans = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            MaskRole r0 = mask_role(FLOW_MASK_CHECKERBOARD, 0, H, W, 1, y, x, 0);
            MaskRole r1 = mask_role(FLOW_MASK_CHECKERBOARD, 1, H, W, 1, y, x, 0);
            cond += r0 == MASK_COND, trans += r0 == MASK_TRANS;
            CHECK(r0 != r1 && r0 != MASK_PASS && r1 != MASK_PASS);
            CHECK((r0 == MASK_COND) == ((y + x) % 2 == 0));
            MaskRole h0 = mask_role(FLOW_MASK_HORIZONTAL, 0, H, W, 1, y, x, 0);
            CHECK(h0 == (y < 14 ? MASK_COND : MASK_TRANS));
            CHECK(mask_role(FLOW_MASK_HORIZONTAL, 3, H, W, 1, y, x, 0) ==
                  (y < 14 ? MASK_TRANS : MASK_COND));
            /* cycle: stripes of 7 rows; coupling 5 conditions on stripe 1, transforms 2 */
            MaskRole c5 = mask_role(FLOW_MASK_CYCLE, 5, H, W, 1, y, x, 0);
            int stripe = y / 7;
            CHECK(c5 == (stripe == 1 ? MASK_COND : stripe == 2 ? MASK_TRANS : MASK_PASS));
            MaskRole c3 = mask_role(FLOW_MASK_CYCLE, 3, H, W, 1, y, x, 0);
            CHECK(c3 == (stripe == 3 ? MASK_COND : stripe == 0 ? MASK_TRANS : MASK_PASS));
        }
    CHECK(cond == H * W / 2 && trans == H * W / 2);
    for (int ch = 0; ch < 6; ch++) {
        CHECK(mask_role(FLOW_MASK_CHANNEL, 0, 2, 2, 6, 1, 0, ch) ==
              (ch < 3 ? MASK_COND : MASK_TRANS));
        CHECK(mask_role(FLOW_MASK_CHANNEL, 1, 2, 2, 6, 1, 0, ch) ==
              (ch < 3 ? MASK_TRANS : MASK_COND));
    }
    CHECK(mask_valid(FLOW_MASK_CYCLE, 4, 1, 1) && !mask_valid(FLOW_MASK_CYCLE, 3, 8, 1));
    CHECK(mask_valid(FLOW_MASK_HORIZONTAL, 2, 1, 1) && !mask_valid(FLOW_MASK_HORIZONTAL, 1, 8, 1));
    CHECK(mask_valid(FLOW_MASK_CHANNEL, 1, 1, 2) && !mask_valid(FLOW_MASK_CHANNEL, 8, 8, 1));
    CHECK(mask_valid(FLOW_MASK_CHECKERBOARD, 1, 2, 1) &&
          !mask_valid(FLOW_MASK_CHECKERBOARD, 1, 1, 8));
}

/* Squeeze is PyTorch's pixel_unshuffle(2) in NHWC, and both permutations invert. */
static void test_squeeze_and_split_are_the_documented_permutations(void) {
    enum { B = 2, H = 4, W = 6, C = 3, D = H * W * C };
    float x[B * D], y[B * D], back[B * D], a[B * D / 2], side[B * 40];
    for (int i = 0; i < B * D; i++) x[i] = (float)i;
    squeeze_forward(x, y, B, H, W, C);
    for (int r = 0; r < B; r++)
        for (int Y = 0; Y < H / 2; Y++)
            for (int X = 0; X < W / 2; X++)
                for (int k = 0; k < 4 * C; k++) {
                    int ch = k / 4, dy = k % 4 / 2, dx = k % 2;
                    float want = x[r * D + ((2 * Y + dy) * W + 2 * X + dx) * C + ch];
                    CHECK(y[r * D + (Y * (W / 2) + X) * 4 * C + k] == want);
                }
    squeeze_inverse(y, back, B, H, W, C);
    CHECK(memcmp(x, back, sizeof x) == 0);
    /* split a 4×6×3 image... with c even: treat it as 4×3×6 */
    split_forward(x, a, side, 40, B, 4, 3, 6);
    for (int r = 0; r < B; r++)
        for (int p = 0; p < 12; p++)
            for (int ch = 0; ch < 3; ch++) {
                CHECK(a[r * 36 + p * 3 + ch] == x[r * D + p * 6 + ch]);
                CHECK(side[r * 40 + p * 3 + ch] == x[r * D + p * 6 + 3 + ch]);
            }
    split_inverse(a, side, 40, back, B, 4, 3, 6);
    CHECK(memcmp(x, back, sizeof x) == 0);
}

static void test_image_config_validation_names_and_flops(void) {
    Flow f;
    long np, ns;
    FlowConfig c = flow_config_image(FLOW_REALNVP, 1, 28, 28);
    CHECK(c.d == 784 && c.blocks == 8 && c.hidden == 64 && c.mask == FLOW_MASK_CHECKERBOARD &&
          c.squeeze == 0 && c.bottleneck == 0);
    FlowConfig v = flow_config_default(FLOW_REALNVP, 784);
    CHECK(flow_config_is_image(&c) && !flow_config_is_image(&v));
    CHECK(flow_size(&c, &np, &ns) == 0);
    /* 8 couplings: conv 1->64, 64->64, 64->2, each 9 taps, with biases */
    CHECK(np == 8L * (64 * 9 + 64 + 64 * 64 * 9 + 64 + 2 * 64 * 9 + 2) && ns == 0);
    /* flops per image: 2 · 784 positions · 9 taps · (1·64 + 64·64 + 64·2) per coupling */
    double want = 8 * 2.0 * 784 * 9 * (64 + 64 * 64 + 128);
    CHECK_NEAR(flow_flops(&c, 1, 0), want, 1.0);
    CHECK_NEAR(flow_flops(&c, 64, 1), 3 * 64 * want, 64.0);
    c.bottleneck = 10; /* + Linear(64·784 -> 10) and back, per coupling */
    CHECK_NEAR(flow_flops(&c, 1, 0), want + 8 * 2.0 * 2 * 64 * 784 * 10, 1.0);
    c.bottleneck = 0;
    /* glow with squeeze on 4×4×1: ActNorm, 1×1 conv on 2×2×4 then on 2×2×2 */
    FlowConfig g = flow_config_image(FLOW_GLOW, 1, 4, 4);
    g.squeeze = 1, g.blocks = 1, g.hidden = 2, g.mask = FLOW_MASK_CHANNEL;
    CHECK(flow_size(&g, &np, &ns) == 0);
    CHECK(flow_create(&f, &g, 0) == 0);
    CHECK(f.nparams == np && f.nstate == ns);
    CHECK(f.nlayers == 1 + 3 + 1 + 3); /* squeeze, block, split, block */
    CHECK(f.layers[0].kind == FLOW_LAYER_SQUEEZE && f.layers[4].kind == FLOW_LAYER_SPLIT);
    CHECK(f.layers[4].din == 16 && f.layers[4].dout == 8 && f.layers[7].ch == 2);
    flow_destroy(&f);
    /* invalid: each of these is refused by flow_size and flow_create */
    FlowConfig bad[8];
    for (int i = 0; i < 8; i++) bad[i] = flow_config_image(FLOW_REALNVP, 1, 8, 8);
    bad[0].d = 63;                                     /* shape does not multiply to d */
    bad[1].mask = FLOW_MASK_CHANNEL;                   /* one channel, no squeeze */
    bad[2].mask = FLOW_MASK_CYCLE, bad[2].squeeze = 2; /* 2×2 has no four stripes */
    bad[3].squeeze = 4;                                /* 8 does not divide by 16 */
    bad[4].arch = FLOW_RESFLOW;                        /* no residual flow on images */
    bad[5].img_h = 0;                                  /* a partial shape */
    bad[6] = flow_config_default(FLOW_REALNVP, 8);
    bad[6].squeeze = 1; /* squeeze on vectors */
    bad[7].mask = (FlowMask)7;
    for (int i = 0; i < 8; i++) {
        CHECK(flow_size(&bad[i], &np, &ns) == -1);
        CHECK(flow_create(&f, &bad[i], 0) == -1);
    }
    FlowConfig ok = flow_config_image(FLOW_REALNVP, 1, 8, 8);
    ok.mask = FLOW_MASK_CYCLE, ok.squeeze = 1; /* every scale is 4×4: four stripes */
    CHECK(flow_size(&ok, &np, &ns) == 0);
    /* names */
    static const FlowMask all[] = {FLOW_MASK_CHECKERBOARD, FLOW_MASK_HORIZONTAL, FLOW_MASK_CYCLE,
                                   FLOW_MASK_CHANNEL};
    for (int i = 0; i < 4; i++) {
        FlowMask m;
        CHECK(flow_mask_parse(flow_mask_name(all[i]), &m) == 0 && m == all[i]);
    }
    FlowMask m;
    CHECK(flow_mask_parse("vertical", &m) == -1);
    CHECK(strcmp(flow_mask_name(FLOW_MASK_CYCLE), "cycle") == 0);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_image_flows_invert_to_1e5),
        UNIT(test_image_flow_logdet_matches_brute_force_jacobian),
        UNIT(test_image_actnorm_init_sees_the_whole_sample),
        UNIT(test_image_flow_gradients_match_finite_differences),
        UNIT(test_image_gradient_check_catches_a_wrong_gradient),
        UNIT(test_image_training_same_bits_with_one_and_two_threads),
        UNIT(test_cycle_mask_conditions_only_on_the_previous_stripe),
        UNIT(test_new_image_flow_is_the_identity),
        UNIT(test_image_flow_training_lowers_the_loss),
        UNIT(test_image_eval_matches_training_and_samples_invert),
        UNIT(test_masks_split_positions_as_documented),
        UNIT(test_squeeze_and_split_are_the_documented_permutations),
        UNIT(test_image_config_validation_names_and_flops),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
