/* test_flow.c — whole flows (realnvp, glow): gradients of the mean NLL against finite
 * differences with a mutation check, inverse after training, log-det against a
 * brute-force Jacobian, normalisation of a trained 2-D density, ActNorm initialised
 * once (and from a fixed sample, flow_init_actnorm), and the same bits with 1 and 2
 * threads. */
#include "flows/flow_optim.h"
#include "flows/rng.h"
#include "tests/fdcheck.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const FlowArch ARCHS[] = {FLOW_REALNVP, FLOW_GLOW};
enum { NARCH = 2 };

/* A flow with every parameter perturbed away from its init (the zero last layers
 * would otherwise hide the gradients of everything before them). */
static void make_flow(Flow *f, FlowArch arch, int d, int hidden, int blocks, int bottleneck) {
    FlowConfig cfg = flow_config_default(arch, d);
    cfg.hidden = hidden, cfg.blocks = blocks, cfg.bottleneck = bottleneck;
    CHECK(flow_create(f, &cfg, 3) == 0);
}

static void perturb(Flow *f, float std) {
    for (long i = 0; i < f->nparams; i++) f->params[i] += std * rng_normal(4, 9, (uint64_t)i);
}

/* Data: a correlated, shifted Gaussian, so ActNorm and the couplings have work to do. */
static void make_data(float *x, int n, int d, uint64_t stream) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) {
            float a = rng_normal(8, stream, (uint64_t)r * d + j);
            float b = j > 0 ? x[(long)r * d + j - 1] : 0.0f;
            x[(long)r * d + j] = 0.5f + 0.8f * a + 0.5f * b;
        }
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

static int grad_ok(LossCtx *c, float *v, const float *g, long n) {
    FdReport r;
    /* mean NLL of 6 rows, values O(10): float rounding ~1e-5 over a 4e-3 step -> 3e-3
     * at worst (measured: a Glow coupling weight's difference quotient wandered 0.037 ->
     * 0.041 -> 0.037 at steps 4e-3, 2e-3, 1e-3 around a gradient of 0.0373) */
    int bad = fd_check(nll, c, v, g, n, 80, 2e-3, 2e-3, 1e-2, 17, &r);
    if (bad)
        printf("  %d/%d bad; worst at %ld: grad %.6g fd %.6g\n", bad, r.probed, r.worst, r.grad,
               r.fd);
    return bad == 0;
}

static void check_flow_gradients(FlowArch arch, int bottleneck) {
    enum { B = 6, D = 6 };
    Flow f;
    make_flow(&f, arch, D, 10, 3, bottleneck);
    FlowWork *w = flow_work_create(&f, B);
    float x[B * D], dx[B * D];
    float *g = malloc(sizeof(float) * f.nparams), *scratch = malloc(sizeof(float) * f.nparams);
    make_data(x, B, D, 1);
    flow_loss_grad(&f, x, B, g, w, 0, 0); /* ActNorm's data-dependent init happens here */
    perturb(&f, 0.2f);
    LossCtx c = {&f, w, x, scratch, B};
    flow_loss_grad_input(&f, x, B, g, dx, w, 0, 0);
    CHECK(grad_ok(&c, f.params, g, f.nparams));
    CHECK(grad_ok(&c, x, dx, B * D));
    for (long i = 0; i < f.nparams; i++) g[i] *= 1.05f;
    for (int i = 0; i < B * D; i++) dx[i] *= 1.05f;
    printf("  (mutated gradients, failures expected)\n");
    CHECK(!grad_ok(&c, f.params, g, f.nparams));
    CHECK(!grad_ok(&c, x, dx, B * D));
    free(g), free(scratch);
    flow_work_destroy(w);
    flow_destroy(&f);
}

static void test_realnvp_gradients_match_finite_differences(void) {
    check_flow_gradients(FLOW_REALNVP, 0);
}
static void test_glow_gradients_match_finite_differences(void) {
    check_flow_gradients(FLOW_GLOW, 0);
}
static void test_glow_bottleneck_gradients_match_finite_differences(void) {
    check_flow_gradients(FLOW_GLOW, 4);
}

/* Trains a flow for `steps` Adam steps on batches of the data above. */
static void train(Flow *f, FlowWork *w, int B, int steps, float lr) {
    FlowOptim o;
    AdamConfig a = adam_defaults();
    a.lr = lr;
    CHECK(flow_optim_init(&o, f, &a, 10.0) == 0);
    float *x = malloc(sizeof(float) * B * f->cfg.d);
    for (int s = 0; s < steps; s++) {
        make_data(x, B, f->cfg.d, 100 + (uint64_t)s);
        double gn, loss = flow_train_step(f, &o, x, B, w, 1, &gn);
        CHECK(isfinite(loss) && isfinite(gn));
    }
    free(x);
    flow_optim_destroy(&o);
}

static void test_flows_invert_after_training(void) {
    enum { B = 64, D = 8 };
    for (int a = 0; a < NARCH; a++) {
        Flow f;
        make_flow(&f, ARCHS[a], D, 32, 4, 0);
        FlowWork *w = flow_work_create(&f, B);
        train(&f, w, B, 30, 1e-2f);
        float x[B * D], z[B * D], back[B * D];
        double ld[B];
        make_data(x, B, D, 7);
        flow_forward(&f, x, z, ld, B, w);
        flow_inverse(&f, z, back, B, w);
        double worst = 0;
        for (int i = 0; i < B * D; i++) worst = fmax(worst, fabs(back[i] - x[i]));
        printf("  %s: max |f⁻¹(f(x)) - x| = %.3g\n", flow_arch_name(ARCHS[a]), worst);
        CHECK(worst < 1e-4);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
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

static void test_flow_logdet_matches_brute_force_jacobian(void) {
    enum { D = 8 };
    for (int a = 0; a < NARCH; a++) {
        Flow f;
        make_flow(&f, ARCHS[a], D, 16, 3, 0);
        FlowWork *w = flow_work_create(&f, 16);
        float x[16 * D], z[16 * D];
        double ld[16];
        make_data(x, 16, D, 3);
        float *g = malloc(sizeof(float) * f.nparams);
        flow_loss_grad(&f, x, 16, g, w, 0, 0); /* ActNorm init */
        free(g);
        perturb(&f, 0.1f);
        flow_forward(&f, x, z, ld, 2, w);
        MapCtx m = {&f, w};
        for (int r = 0; r < 2; r++) {
            double bf = fd_logdet(flow_map, &m, x + r * D, D, 1e-2);
            printf("  %s: logdet %.6f brute force %.6f\n", flow_arch_name(ARCHS[a]), ld[r], bf);
            CHECK_NEAR(bf, ld[r], 1e-3);
        }
        flow_work_destroy(w);
        flow_destroy(&f);
    }
}

/* A trained 2-D flow's density summed over [-7,7]² on a 0.02 grid: 1 ± 0.01.
 * The data (N(0.5, ~1) correlated) has negligible mass beyond ±7. */
static void test_trained_2d_density_integrates_to_one(void) {
    enum { N = 560 };
    omp_set_num_threads(1); /* tiny products: threads would only synchronise */
    for (int a = 0; a < NARCH; a++) {
        Flow f;
        make_flow(&f, ARCHS[a], 2, 32, 4, 0);
        FlowWork *w = flow_work_create(&f, 1024);
        train(&f, w, 128, 100, 5e-3f);
        float *x = malloc(sizeof(float) * N * 2);
        double *lp = malloc(sizeof(double) * N), h = 14.0 / N, mass = 0.0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                x[2 * j] = (float)(-7.0 + (i + 0.5) * h);
                x[2 * j + 1] = (float)(-7.0 + (j + 0.5) * h);
            }
            flow_log_prob(&f, x, lp, N, w);
            for (int j = 0; j < N; j++) mass += exp(lp[j]) * h * h;
        }
        printf("  %s: ∫p = %.5f\n", flow_arch_name(ARCHS[a]), mass);
        CHECK_NEAR(mass, 1.0, 0.01);
        free(x), free(lp);
        flow_work_destroy(w);
        flow_destroy(&f);
    }
}

/* Evaluation (chunked, nothing kept) gives the training pass's log-densities, also
 * for more rows than one chunk. */
static void test_eval_matches_training_forward(void) {
    enum { B = 40, N = 3 * FLOW_EVAL_ROWS + 17, D = 5 };
    Flow f;
    make_flow(&f, FLOW_GLOW, D, 12, 3, 0);
    FlowWork *w = flow_work_create(&f, B);
    float *x = malloc(sizeof(float) * N * D), *g = malloc(sizeof(float) * f.nparams);
    double *lp = malloc(sizeof(double) * N);
    make_data(x, N, D, 2);
    flow_loss_grad(&f, x, B, g, w, 0, 0);
    perturb(&f, 0.1f);
    double loss = flow_loss_grad(&f, x + (N - B) * D, B, g, w, 0, 0);
    flow_log_prob(&f, x, lp, N, w);
    double mean = 0.0;
    for (int r = N - B; r < N; r++) mean -= lp[r];
    CHECK_NEAR(mean / B, loss, 1e-5 * fabs(loss)); /* same float ops, different row tiles */
    free(x), free(g), free(lp);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* The data-dependent init runs on the first training batch and never again. */
static void test_actnorm_initialised_once(void) {
    enum { B = 32, D = 4 };
    Flow f;
    make_flow(&f, FLOW_GLOW, D, 8, 2, 0);
    FlowWork *w = flow_work_create(&f, B);
    float x[B * D], *g = malloc(sizeof(float) * f.nparams);
    make_data(x, B, D, 1);
    const FlowLayer *an = &f.layers[0];
    CHECK(an->kind == FLOW_LAYER_ACTNORM && f.state[an->soff] == 0.0f);
    flow_loss_grad(&f, x, B, g, w, 0, 0);
    CHECK(f.state[an->soff] == 1.0f);
    float b0 = f.params[an->poff];
    CHECK(b0 != 0.0f);
    for (int i = 0; i < B * D; i++) x[i] = 10.0f * x[i] + 5.0f;
    flow_loss_grad(&f, x, B, g, w, 0, 0);
    CHECK(f.params[an->poff] == b0);
    free(g);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* Largest |a - b| over n floats. */
static double max_diff(const float *a, const float *b, long n) {
    double m = 0.0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* flow_init_actnorm on n rows is the lazy init of a first training batch of those n
 * rows (each ActNorm set from the data as it reaches it), whatever the work's batch
 * size; it leaves initialised ActNorms alone (test_imageflow.c: in chunks).
 * A Residual Flow's ActNorms are set too, the first one to x's own moments. */
static void test_actnorm_init_from_a_fixed_sample(void) {
    enum { N = 40, D = 6 };
    Flow f1, f2, r;
    make_flow(&f1, FLOW_GLOW, D, 8, 3, 0);
    make_flow(&f2, FLOW_GLOW, D, 8, 3, 0);
    FlowWork *w1 = flow_work_create(&f1, 4), *w2 = flow_work_create(&f2, N);
    float x[N * D], *g = malloc(sizeof(float) * f1.nparams);
    make_data(x, N, D, 1);
    CHECK(flow_init_actnorm(&f1, x, N, w1) == 0);
    flow_loss_grad(&f2, x, N, g, w2, 0, 0);
    for (int i = 0; i < f1.nlayers; i++)
        if (f1.layers[i].kind == FLOW_LAYER_ACTNORM) CHECK(f1.state[f1.layers[i].soff] == 1.0f);
    CHECK(max_diff(f1.params, f2.params, f1.nparams) < 1e-5);
    float *before = malloc(sizeof(float) * f1.nparams);
    memcpy(before, f1.params, sizeof(float) * f1.nparams);
    for (int i = 0; i < N * D; i++) x[i] = 3.0f * x[i] - 1.0f;
    CHECK(flow_init_actnorm(&f1, x, N, w1) == 0);
    CHECK(memcmp(before, f1.params, sizeof(float) * f1.nparams) == 0);

    FlowConfig rc = flow_config_default(FLOW_RESFLOW, D);
    rc.hidden = 8, rc.blocks = 2;
    CHECK(flow_create(&r, &rc, 3) == 0);
    FlowWork *wr = flow_work_create(&r, 4);
    CHECK(flow_init_actnorm(&r, x, N, wr) == 0);
    CHECK(r.layers[2].kind == FLOW_LAYER_ACTNORM && r.state[r.layers[2].soff] == 1.0f);
    double mean = 0.0;
    for (int k = 0; k < N; k++) mean += x[k * D] / (double)N;
    CHECK_NEAR(r.params[r.layers[0].poff], -mean, 1e-5);
    free(g), free(before);
    flow_work_destroy(w1), flow_work_destroy(w2), flow_work_destroy(wr);
    flow_destroy(&f1), flow_destroy(&f2), flow_destroy(&r);
}

/* 50 steps at 1 and 2 threads; shapes cross the GEMM tiles (160 rows, hidden 300),
 * the elementwise loops run in parallel (160·64 values > 8192) and the invertible
 * linear's d×d weight gradient is a single-tile product. */
static void test_training_same_bits_with_one_and_two_threads(void) {
    enum { B = 160, D = 64 };
    for (int a = 0; a < NARCH; a++) {
        Flow f1, f2;
        make_flow(&f1, ARCHS[a], D, 300, 2, 0);
        make_flow(&f2, ARCHS[a], D, 300, 2, 0);
        FlowWork *w1 = flow_work_create(&f1, B), *w2 = flow_work_create(&f2, B);
        omp_set_num_threads(1);
        train(&f1, w1, B, 50, 1e-3f);
        omp_set_num_threads(2);
        train(&f2, w2, B, 50, 1e-3f);
        CHECK(memcmp(f1.params, f2.params, sizeof(float) * f1.nparams) == 0);
        CHECK(memcmp(f1.state, f2.state, sizeof(float) * f1.nstate) == 0);
        flow_work_destroy(w1), flow_work_destroy(w2);
        flow_destroy(&f1), flow_destroy(&f2);
    }
}

/* A batch with a NaN gives a NaN loss and leaves the parameters as they were, so the
 * caller can mark the run diverged with the last good model. */
static void test_nonfinite_loss_skips_the_update(void) {
    enum { B = 8, D = 4 };
    Flow f;
    make_flow(&f, FLOW_GLOW, D, 8, 2, 0);
    FlowWork *w = flow_work_create(&f, B);
    FlowOptim o;
    AdamConfig a = adam_defaults();
    CHECK(flow_optim_init(&o, &f, &a, 0.0) == 0);
    float x[B * D];
    make_data(x, B, D, 1);
    flow_train_step(&f, &o, x, B, w, 1, NULL);
    float *before = malloc(sizeof(float) * f.nparams);
    memcpy(before, f.params, sizeof(float) * f.nparams);
    x[5] = NAN;
    double gn, loss = flow_train_step(&f, &o, x, B, w, 1, &gn);
    CHECK(isnan(loss));
    CHECK(o.t == 1);
    CHECK(memcmp(before, f.params, sizeof(float) * f.nparams) == 0);
    free(before);
    flow_optim_destroy(&o);
    flow_work_destroy(w);
    flow_destroy(&f);
}

static void test_flow_config_validation_and_names(void) {
    Flow f;
    FlowConfig c = flow_config_default(FLOW_GLOW, 1);
    CHECK(flow_create(&f, &c, 0) == -1);
    c = flow_config_default(FLOW_GLOW, 4);
    c.blocks = 0;
    CHECK(flow_create(&f, &c, 0) == -1);
    FlowArch a;
    CHECK(flow_arch_parse("glow", &a) == 0 && a == FLOW_GLOW);
    CHECK(flow_arch_parse("realnvp", &a) == 0 && a == FLOW_REALNVP);
    CHECK(flow_arch_parse("nice", &a) == -1);
    /* glow d=512 h=2048: coupling 2·B·(256·2048 + 2048·512) + LU 2·B·512² per block */
    FlowConfig g = flow_config_default(FLOW_GLOW, 512);
    double want = 10 * (2.0 * (256 * 2048 + 2048 * 512) + 2.0 * 512 * 512);
    CHECK_NEAR(flow_flops(&g, 1, 0), want, 1.0);
    CHECK_NEAR(flow_flops(&g, 2, 1), 6 * want, 1.0);
}

/* Samples of a trained flow have the training data's mean (0.5 per dimension, ±0.1:
 * 2000 samples, std ~1, plus the fit's error). */
static void test_samples_follow_trained_density(void) {
    enum { N = 2000, D = 2 };
    Flow f;
    make_flow(&f, FLOW_GLOW, D, 32, 4, 0);
    FlowWork *w = flow_work_create(&f, 256);
    train(&f, w, 128, 100, 5e-3f);
    float *x = malloc(sizeof(float) * N * D);
    flow_sample(&f, x, N, 42, w);
    double m0 = 0, m1 = 0;
    for (int r = 0; r < N; r++) m0 += x[r * D], m1 += x[r * D + 1];
    CHECK_NEAR(m0 / N, 0.5, 0.1);
    CHECK_NEAR(m1 / N, 0.5 + 0.5 * 0.5, 0.15); /* x1 = 0.5 + 0.8a + 0.5·x0 */
    free(x);
    flow_work_destroy(w);
    flow_destroy(&f);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_realnvp_gradients_match_finite_differences),
        UNIT(test_glow_gradients_match_finite_differences),
        UNIT(test_glow_bottleneck_gradients_match_finite_differences),
        UNIT(test_flows_invert_after_training),
        UNIT(test_flow_logdet_matches_brute_force_jacobian),
        UNIT(test_trained_2d_density_integrates_to_one),
        UNIT(test_eval_matches_training_forward),
        UNIT(test_actnorm_initialised_once),
        UNIT(test_actnorm_init_from_a_fixed_sample),
        UNIT(test_training_same_bits_with_one_and_two_threads),
        UNIT(test_nonfinite_loss_skips_the_update),
        UNIT(test_flow_config_validation_and_names),
        UNIT(test_samples_follow_trained_density),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
