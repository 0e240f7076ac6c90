/* test_resflow.c — the whole Residual Flow (ActNorm -> residual block per block):
 * its stochastic gradient against finite differences of the exact NLL, inverse after
 * training, exact log-det against a brute-force Jacobian, a trained 2-D density
 * integrating to 1, learning a 2-D mixture, and the same bits with 1 and 2 threads. */
#include "flows/flow_optim.h"
#include "flows/metrics.h"
#include "flows/rng.h"
#include "tests/fdcheck.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_resflow(Flow *f, int d, int hidden, int blocks) {
    FlowConfig cfg = flow_config_default(FLOW_RESFLOW, d);
    cfg.hidden = hidden, cfg.blocks = blocks;
    CHECK(flow_create(f, &cfg, 5) == 0);
}

/* A correlated, shifted Gaussian: x0 = 0.5 + 0.8a, x_j = 0.5 + 0.8a + 0.5·x_{j-1}. */
static void make_data(float *x, int n, int d, uint64_t stream) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) {
            float a = rng_normal(8, stream, (uint64_t)r * d + j);
            float b = j > 0 ? x[(long)r * d + j - 1] : 0.0f;
            x[(long)r * d + j] = 0.5f + 0.8f * a + 0.5f * b;
        }
}

/* A 2-D mixture of two Gaussians, centres (±1.2, 0), std 0.5, equal weights. */
static const double MIX_C = 1.2, MIX_S = 0.5;
static void make_mixture(float *x, int n, uint64_t stream) {
    for (int r = 0; r < n; r++) {
        float sgn = rng_uniform(9, stream, 3 * (uint64_t)r) < 0.5f ? -1.0f : 1.0f;
        x[2 * r] = (float)(sgn * MIX_C + MIX_S * rng_normal(9, stream, 3 * (uint64_t)r + 1));
        x[2 * r + 1] = (float)(MIX_S * rng_normal(9, stream, 3 * (uint64_t)r + 2));
    }
}
static double mixture_nll(const float *x) {
    double s2 = MIX_S * MIX_S, y2 = (double)x[1] * x[1];
    double a = (x[0] - MIX_C) * (x[0] - MIX_C), b = (x[0] + MIX_C) * (x[0] + MIX_C);
    double p = 0.5 * (exp(-(a + y2) / (2 * s2)) + exp(-(b + y2) / (2 * s2))) / (2 * M_PI * s2);
    return -log(p);
}

typedef void (*DataFn)(float *x, int n, int d, uint64_t stream);
static void mixture_data(float *x, int n, int d, uint64_t stream) {
    (void)d;
    make_mixture(x, n, stream);
}

/* `steps` Adam steps on fresh batches from `data`. */
static void train(Flow *f, FlowWork *w, int B, int steps, float lr, DataFn data) {
    FlowOptim o;
    AdamConfig a = adam_defaults();
    a.lr = lr;
    CHECK(flow_optim_init(&o, f, &a, 10.0) == 0);
    float *x = malloc(sizeof(float) * B * f->cfg.d);
    for (int s = 0; s < steps; s++) {
        data(x, B, f->cfg.d, 100 + (uint64_t)s);
        double gn, loss = flow_train_step(f, &o, x, B, w, 1, &gn);
        CHECK(isfinite(loss) && isfinite(gn));
    }
    free(x);
    flow_optim_destroy(&o);
}

static double exact_nll(Flow *f, FlowWork *w, const float *x, int B) {
    double lp[16], s = 0;
    flow_log_prob(f, x, lp, B, w);
    for (int r = 0; r < B; r++) s -= lp[r];
    return s / B;
}

/* The training gradient is an unbiased estimate of the exact NLL's gradient: its
 * mean over S = 3000 (seed, step) draws is within 4 standard errors + 2e-3 (float
 * central differences, step 1e-3, of a loss of order 10) of the central difference of
 * the exact NLL, for every parameter and input. A 5% error in the mean fails. */
static int resflow_gradcheck(int break_it) {
    enum { B = 6, D = 4, S = 3000 };
    Flow f;
    make_resflow(&f, D, 8, 2);
    FlowWork *w = flow_work_create(&f, B);
    long np = f.nparams, n = np + B * D;
    float x[B * D], dx[B * D], *g = malloc(sizeof(float) * np);
    double *m = calloc((size_t)n, sizeof(double)), *m2 = calloc((size_t)n, sizeof(double));
    make_data(x, B, D, 1);
    flow_loss_grad(&f, x, B, g, w, 0, 0); /* ActNorm's data-dependent init */
    for (long i = 0; i < np; i++) f.params[i] += 0.3f * rng_normal(4, 9, (uint64_t)i);
    for (int s = 0; s < 30; s++) flow_loss_grad(&f, x, B, g, w, 0, 0); /* converge u, v */
    for (int s = 0; s < S; s++) {
        flow_loss_grad_input(&f, x, B, g, dx, w, 7, (uint64_t)s);
        for (long i = 0; i < n; i++) {
            double v = i < np ? g[i] : dx[i - np];
            m[i] += v, m2[i] += v * v;
        }
    }
    int bad = 0;
    float eps = 1e-3f;
    for (long i = 0; i < n; i++) {
        float *p = i < np ? &f.params[i] : &x[i - np];
        float keep = *p;
        *p = keep + eps;
        double lp = exact_nll(&f, w, x, B);
        *p = keep - eps;
        double lm = exact_nll(&f, w, x, B);
        *p = keep;
        double mean = m[i] / S, se = sqrt(fmax(m2[i] / S - mean * mean, 0) / S);
        if (break_it) mean *= 1.05;
        bad += fabs(mean - (lp - lm) / (2 * eps)) > 4 * se + 2e-3;
    }
    free(g), free(m), free(m2);
    flow_work_destroy(w);
    flow_destroy(&f);
    return bad;
}

static void test_resflow_gradient_is_unbiased_for_exact_nll(void) {
    CHECK(resflow_gradcheck(0) == 0);
}

static void test_resflow_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(resflow_gradcheck(1) > 0);
}

static void test_resflow_inverts_after_training(void) {
    enum { B = 64, D = 8 };
    Flow f;
    make_resflow(&f, D, 32, 4);
    FlowWork *w = flow_work_create(&f, B);
    train(&f, w, B, 30, 1e-2f, make_data);
    float x[B * D], z[B * D], back[B * D];
    double ld[B];
    make_data(x, B, D, 7);
    flow_forward(&f, x, z, ld, B, w);
    flow_inverse(&f, z, back, B, w);
    double worst = 0;
    for (int i = 0; i < B * D; i++) worst = fmax(worst, fabs(back[i] - x[i]));
    printf("  max |f⁻¹(f(x)) - x| = %.3g\n", worst);
    CHECK(worst < 1e-3);
    flow_work_destroy(w);
    flow_destroy(&f);
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

/* Exact evaluation log-det of a trained flow against a finite-difference Jacobian of
 * the whole flow (d = 8, step 1e-2), < 1e-3. */
static void test_resflow_logdet_matches_brute_force_jacobian(void) {
    enum { D = 8, B = 32 };
    Flow f;
    make_resflow(&f, D, 16, 3);
    FlowWork *w = flow_work_create(&f, B);
    train(&f, w, B, 20, 1e-2f, make_data);
    float x[B * D], z[B * D];
    double ld[B];
    make_data(x, B, D, 3);
    flow_forward(&f, x, z, ld, 2, w);
    MapCtx mc = {&f, w};
    for (int r = 0; r < 2; r++) {
        double bf = fd_logdet(flow_map, &mc, x + r * D, D, 1e-2);
        printf("  logdet %.6f brute force %.6f\n", ld[r], bf);
        CHECK_NEAR(bf, ld[r], 1e-3);
        CHECK(fabs(ld[r]) > 0.05); /* far from the identity */
    }
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* A trained 2-D resflow's density summed over [-7,7]² on a 0.047 grid (midpoint rule on
 * a smooth density: error far below the tolerance): 1 ± 0.01. */
static void test_resflow_2d_density_integrates_to_one(void) {
    enum { N = 300 };
    Flow f;
    make_resflow(&f, 2, 32, 4);
    FlowWork *w = flow_work_create(&f, N);
    train(&f, w, 128, 100, 5e-3f, mixture_data);
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
    printf("  ∫p = %.5f\n", mass);
    CHECK_NEAR(mass, 1.0, 0.01);
    free(x), free(lp);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* Learning: on the 2-D two-Gaussian mixture, the held-out NLL (exact log-det) comes
 * within 0.1 nats of the true density's NLL on the same 2000 samples. */
static void test_resflow_learns_2d_mixture(void) {
    enum { N = 2000 };
    Flow f;
    make_resflow(&f, 2, 32, 6);
    FlowWork *w = flow_work_create(&f, N);
    train(&f, w, 128, 800, 1e-2f, mixture_data);
    float *x = malloc(sizeof(float) * N * 2);
    double *lp = malloc(sizeof(double) * N), nll = 0, truth = 0;
    make_mixture(x, N, 99999);
    flow_log_prob(&f, x, lp, N, w);
    for (int r = 0; r < N; r++) nll -= lp[r] / N, truth += mixture_nll(x + 2 * r) / N;
    printf("  held-out NLL %.4f, true density %.4f\n", nll, truth);
    CHECK(nll - truth < 0.1);
    free(x), free(lp);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* The flow of the evaluation tests: d = D, 10 blocks of hidden 64, ActNorm set on B
 * rows, every weight scaled up so each layer's spectral norm is clipped to 0.97,
 * then 30 training steps on batches of B. x (B,D) is scratch. */
static FlowWork *clipped_trained_resflow(Flow *f, float *x, int B, int D) {
    FlowConfig cfg = flow_config_default(FLOW_RESFLOW, D);
    cfg.hidden = 64, cfg.blocks = 10;
    CHECK(flow_create(f, &cfg, 6) == 0);
    FlowWork *w = flow_work_create(f, B);
    float *g = malloc(sizeof(float) * f->nparams);
    make_data(x, B, D, 1);
    flow_loss_grad(f, x, B, g, w, 0, 0); /* ActNorm init */
    for (long i = 0; i < f->nparams; i++)
        f->params[i] *= 1.0f + 0.5f * rng_uniform(6, 1, (uint64_t)i);
    train(f, w, B, 30, 1e-3f, make_data);
    free(g);
    return w;
}

/* The fast evaluation mode (eval_terms = 4, FLOW_EVAL_PROBES probes per row) against
 * the exact log-det on d = 64, 10 blocks, weights scaled up so every layer's spectral
 * norm is clipped to 0.97, then 30 training steps: the mean bpd over 256 held-out
 * samples is within 0.01 bpd of the exact one (measured 0.0003), and the per-sample
 * error's RMS, which Hutchinson's variance dominates, within 0.05 bpd (measured 0.020;
 * the same with 2, 8 or 16 terms: truncation is not the limit). */
static void test_resflow_series_eval_within_001_bpd_of_exact(void) {
    enum { B = 256, D = 64 };
    Flow f;
    float *x = malloc(sizeof(float) * B * D);
    FlowWork *w = clipped_trained_resflow(&f, x, B, D);
    make_data(x, B, D, 12345);
    double exact[B], fast[B], mean_err = 0, rms = 0, ld_scale = 0;
    flow_log_prob(&f, x, exact, B, w);
    f.cfg.eval_terms = 4;
    flow_log_prob(&f, x, fast, B, w);
    double to_bpd = 1.0 / (D * log(2.0));
    for (int r = 0; r < B; r++) {
        double e = (fast[r] - exact[r]) * to_bpd;
        mean_err += e / B, rms += e * e / B;
        ld_scale += fabs(exact[r]) / B;
    }
    printf("  mean error %.5f bpd, per-sample RMS %.5f bpd (|log p| ~ %.1f nats)\n", mean_err,
           sqrt(rms), ld_scale);
    CHECK(fabs(mean_err) < 0.01);
    CHECK(sqrt(rms) < 0.05);
    CHECK(sqrt(rms) > 1e-4); /* the fast mode really ran */
    free(x);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* -log p of x (n,D) as float scores (the bpd ordering: same D for every set). */
static void nll_scores(Flow *f, FlowWork *w, const float *x, int n, float *out) {
    double lp[512];
    flow_log_prob(f, x, lp, n, w);
    for (int r = 0; r < n; r++) out[r] = (float)-lp[r];
}

/* What configs/architectures.yaml reports is an AUROC, so its cheaper evaluation
 * (eval_terms = 2: half the vector-Jacobian products of the 4 it used) must report
 * the same AUROC as 4 terms, within 0.1 point (issue 19), and stay near the exact
 * log-det's. ID set against a near-OOD one (the same process, inputs scaled by 1.15,
 * so the AUROC sits in the informative middle, ~82%, not at 100); the flow of the
 * test above, 256 samples per set. Measured: exact 82.315%, 4 terms 81.914%, 2 terms
 * 81.912% — 2 and 4 terms agree to 0.002 point; the 0.4-point gap to exact is the
 * Hutchinson probes' noise (FLOW_EVAL_PROBES = 2 per row), not the truncation, and
 * shrinks with the number of samples, so the bound against exact is 0.6 point. */
static void test_resflow_two_term_eval_auroc_within_01_point_of_four(void) {
    enum { B = 256, D = 64 };
    Flow f;
    float *x = malloc(sizeof(float) * B * D), *o = malloc(sizeof(float) * B * D);
    FlowWork *w = clipped_trained_resflow(&f, x, B, D);
    make_data(x, B, D, 777);
    make_data(o, B, D, 778);
    for (long i = 0; i < (long)B * D; i++) o[i] = 0.5f + 1.15f * (o[i] - 0.5f);
    static float sx[B], so[B];
    OodMetrics exact, four, fast;
    nll_scores(&f, w, x, B, sx);
    nll_scores(&f, w, o, B, so);
    metrics_ood(sx, B, so, B, &exact);
    f.cfg.eval_terms = 4;
    nll_scores(&f, w, x, B, sx);
    nll_scores(&f, w, o, B, so);
    metrics_ood(sx, B, so, B, &four);
    f.cfg.eval_terms = 2;
    nll_scores(&f, w, x, B, sx);
    nll_scores(&f, w, o, B, so);
    metrics_ood(sx, B, so, B, &fast);
    printf("  AUROC exact %.3f%%, 4-term series %.3f%%, 2-term %.3f%%\n", 100 * exact.auroc,
           100 * four.auroc, 100 * fast.auroc);
    CHECK(exact.auroc > 0.6 && exact.auroc < 0.95); /* informative, not saturated */
    CHECK(fabs(100 * (fast.auroc - four.auroc)) < 0.1);
    CHECK(fabs(100 * (fast.auroc - exact.auroc)) < 0.6);
    free(x), free(o);
    flow_work_destroy(w);
    flow_destroy(&f);
}

/* 50 training steps at 1 and 2 threads give the same parameters and state (the
 * power-iteration vectors) bit for bit; shapes cross the GEMM tiles. */
static void test_resflow_training_same_bits_with_one_and_two_threads(void) {
    enum { B = 160, D = 16 };
    Flow f1, f2;
    make_resflow(&f1, D, 272, 2);
    make_resflow(&f2, D, 272, 2);
    FlowWork *w1 = flow_work_create(&f1, B), *w2 = flow_work_create(&f2, B);
    int keep = omp_get_max_threads();
    omp_set_num_threads(1);
    train(&f1, w1, B, 50, 1e-3f, make_data);
    omp_set_num_threads(2);
    train(&f2, w2, B, 50, 1e-3f, make_data);
    omp_set_num_threads(keep);
    CHECK(memcmp(f1.params, f2.params, sizeof(float) * f1.nparams) == 0);
    CHECK(memcmp(f1.state, f2.state, sizeof(float) * f1.nstate) == 0);
    flow_work_destroy(w1), flow_work_destroy(w2);
    flow_destroy(&f1), flow_destroy(&f2);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_resflow_gradient_is_unbiased_for_exact_nll),
        UNIT(test_resflow_two_term_eval_auroc_within_01_point_of_four),
        UNIT(test_resflow_gradcheck_catches_a_wrong_gradient),
        UNIT(test_resflow_inverts_after_training),
        UNIT(test_resflow_logdet_matches_brute_force_jacobian),
        UNIT(test_resflow_2d_density_integrates_to_one),
        UNIT(test_resflow_learns_2d_mixture),
        UNIT(test_resflow_series_eval_within_001_bpd_of_exact),
        UNIT(test_resflow_training_same_bits_with_one_and_two_threads),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
