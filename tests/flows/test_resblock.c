/* test_resblock.c — the Residual Flow pieces: LipSwish, spectral normalisation,
 * the log-det series and the residual block (gradients, exact and estimated
 * log-determinants, Lipschitz bound, inverse, thread-count independence). */
#include "flows/lipswish.h"
#include "flows/logdet_series.h"
#include "flows/resblock.h"
#include "flows/rng.h"
#include "flows/spectral_norm.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- LipSwish ---------------------------------------------------------------- */

/* φ', φ'' and the β derivatives against central differences of the forward in
 * float, step 1e-2 on values of order 1: truncation ~1e-5, rounding ~1e-5, so 1e-3. */
static void test_lipswish_derivatives_match_finite_differences(void) {
    float br = 0.3f, eps = 1e-2f;
    int bad = 0;
    for (int i = -20; i <= 20; i++) {
        float a = 0.25f * i, one = 1.0f, yp, ym, dp, dm, y, d1;
        lipswish_forward(br, &a, &y, &d1, 1);
        float ap = a + eps, am = a - eps;
        lipswish_forward(br, &ap, &yp, &dp, 1);
        lipswish_forward(br, &am, &ym, &dm, 1);
        bad += fabsf((yp - ym) / (2 * eps) - d1) > 1e-3f;
        /* dy = 1: da = φ'(a), and the return value is ∂φ/∂β_raw. */
        float da, dt;
        double dbr = lipswish_backward(br, &a, &one, NULL, NULL, &da, NULL, 1);
        bad += fabsf(da - d1) > 1e-6f;
        float bp = br + eps, bm = br - eps, ybp, ybm, dbp, dbm;
        lipswish_forward(bp, &a, &ybp, &dbp, 1);
        lipswish_forward(bm, &a, &ybm, &dbm, 1);
        bad += fabs((ybp - ybm) / (2 * eps) - dbr) > 1e-3;
        /* dq = 1, t = 1: da = φ''(a), dt = φ'(a), return = ∂φ'/∂β_raw. */
        dbr = lipswish_backward(br, &a, NULL, &one, &one, &da, &dt, 1);
        bad += fabsf((dp - dm) / (2 * eps) - da) > 1e-3f;
        bad += fabsf(dt - d1) > 1e-6f;
        bad += fabs((dbp - dbm) / (2 * eps) - dbr) > 1e-3;
    }
    CHECK(bad == 0);
}

/* |φ'| ≤ 1 for any β (the point of the 1/1.1), and the peak is close to 1. */
static void test_lipswish_is_one_lipschitz(void) {
    float worst = 0;
    for (float br = -3.0f; br <= 3.0f; br += 0.5f)
        for (int i = -4000; i <= 4000; i++) {
            float a = 0.005f * i, y, d1;
            lipswish_forward(br, &a, &y, &d1, 1);
            worst = fabsf(d1) > worst ? fabsf(d1) : worst;
        }
    CHECK(worst <= 1.0f);
    CHECK(worst > 0.99f);
}

/* ---- spectral normalisation ------------------------------------------------------ */

/* σ(W) of a (out,in) float matrix by power iteration on WᵀW in double, 3000 steps:
 * an independent reference. */
static double sigma_reference(const float *W, int out, int in) {
    double *v = malloc(sizeof(double) * in), *u = malloc(sizeof(double) * out), s = 0;
    for (int j = 0; j < in; j++) v[j] = 1.0 + 0.01 * j;
    for (int it = 0; it < 3000; it++) {
        for (int i = 0; i < out; i++) {
            u[i] = 0;
            for (int j = 0; j < in; j++) u[i] += (double)W[(long)i * in + j] * v[j];
        }
        double nv = 0;
        for (int j = 0; j < in; j++) {
            v[j] = 0;
            for (int i = 0; i < out; i++) v[j] += (double)W[(long)i * in + j] * u[i];
            nv += v[j] * v[j];
        }
        nv = sqrt(nv);
        for (int j = 0; j < in; j++) v[j] /= nv;
        s = sqrt(nv);
    }
    free(u), free(v);
    return s;
}

static void test_spectral_norm_matches_reference_sigma(void) {
    enum { OUT = 30, IN = 17 };
    float W[OUT * IN], u[OUT], v[IN], tmp[OUT];
    rng_fill_normal(W, OUT * IN, 0, 1, 3, 0, 0);
    spectral_norm_init(W, u, v, OUT, IN, 3, 1);
    double ref = sigma_reference(W, OUT, IN);
    /* Converged to SPECTRAL_NORM_TOL = 1e-5 relative, σ from below: 1e-4 relative. */
    CHECK_NEAR(spectral_norm_sigma(W, u, v, OUT, IN, tmp), ref, 1e-4 * ref);
    /* One step of training changes W a little; a few warm iterations follow it. */
    for (int i = 0; i < OUT * IN; i++) W[i] *= 1.0f + 0.01f * rng_normal(3, 2, (uint64_t)i);
    spectral_norm_iterate(W, u, v, OUT, IN, SPECTRAL_NORM_STEP_ITERS);
    ref = sigma_reference(W, OUT, IN);
    CHECK_NEAR(spectral_norm_sigma(W, u, v, OUT, IN, tmp), ref, 1e-4 * ref);
}

/* L = ⟨C, s(W)·W⟩ with u, v fixed; dL/dW from spectral_norm_backward against central
 * differences in float (step 1e-3, L of order 10: rounding ~1e-3 relative ·
 * 1e-6/1e-3, so tolerance 2e-3). */
static double sn_loss(const float *W, const float *C, const float *u, const float *v, int out,
                      int in, float c) {
    float tmp[64];
    float s = spectral_norm_scale(spectral_norm_sigma(W, u, v, out, in, tmp), c);
    double L = 0;
    for (int i = 0; i < out * in; i++) L += (double)C[i] * s * W[i];
    return L;
}

/* spectral_norm_backward's ⟨G,W⟩ is 64 fixed chunks of ⌈n/64⌉ terms, each summed in
 * index order in double, the partials then added in chunk order: the same bits at 1
 * and 2 threads however the chunks are interleaved. Checked against that plain loop
 * for a size past the parallel threshold whose last chunk is short (n = 300·250). */
static void test_spectral_norm_backward_has_the_sequential_bits(void) {
    enum { OUT = 300, IN = 250, N = OUT * IN, CHUNKS = 64 };
    float *W = malloc(sizeof(float) * N), *G = malloc(sizeof(float) * N);
    float *want = malloc(sizeof(float) * N), *got = malloc(sizeof(float) * N);
    float u[OUT], v[IN], tmp[OUT], c = 0.5f;
    rng_fill_normal(W, N, 0, 1, 5, 0, 0);
    rng_fill_normal(G, N, 0, 1, 5, 1, 0);
    spectral_norm_init(W, u, v, OUT, IN, 5, 2);
    double sigma = spectral_norm_sigma(W, u, v, OUT, IN, tmp);
    CHECK(sigma > c);
    long chunk = (N + CHUNKS - 1) / CHUNKS;
    double gw = 0;
    for (int k = 0; k < CHUNKS; k++) {
        double acc = 0;
        for (long i = k * chunk; i < (k + 1) * chunk && i < N; i++) acc += (double)G[i] * W[i];
        gw += acc;
    }
    double sc = c / sigma;
    float coef = (float)(sc / sigma * gw);
    for (int i = 0; i < OUT; i++)
        for (int j = 0; j < IN; j++)
            want[i * IN + j] = (float)sc * G[i * IN + j] - coef * u[i] * v[j];
    for (int threads = 1; threads <= 2; threads++) {
        memcpy(got, G, sizeof(float) * N);
        omp_set_num_threads(threads);
        spectral_norm_backward(W, u, v, sigma, c, got, OUT, IN);
        CHECK(memcmp(got, want, sizeof(float) * N) == 0);
    }
    free(W), free(G), free(want), free(got);
}

static void test_spectral_norm_backward_matches_finite_differences(void) {
    enum { OUT = 6, IN = 5 };
    float W[OUT * IN], C[OUT * IN], G[OUT * IN], u[OUT], v[IN], tmp[OUT], c = 0.97f;
    rng_fill_normal(W, OUT * IN, 0, 1, 4, 0, 0);
    rng_fill_normal(C, OUT * IN, 0, 1, 4, 1, 0);
    spectral_norm_init(W, u, v, OUT, IN, 4, 2);
    double sigma = spectral_norm_sigma(W, u, v, OUT, IN, tmp);
    CHECK(sigma > c); /* the normalisation is active, so its gradient is tested */
    float s = spectral_norm_scale(sigma, c);
    /* dL/dŴ = C. */
    memcpy(G, C, sizeof G);
    spectral_norm_backward(W, u, v, sigma, c, G, OUT, IN);
    int bad = 0;
    float eps = 1e-3f;
    for (int i = 0; i < OUT * IN; i++) {
        float keep = W[i];
        W[i] = keep + eps;
        double lp = sn_loss(W, C, u, v, OUT, IN, c);
        W[i] = keep - eps;
        double lm = sn_loss(W, C, u, v, OUT, IN, c);
        W[i] = keep;
        bad += fabs((lp - lm) / (2 * eps) - G[i]) > 2e-3;
    }
    CHECK(bad == 0);
    CHECK(s < 1.0f);
}

/* ---- log-det series -------------------------------------------------------------- */

/* The roulette's weights are 1/P(N ≥ k): its mean number of terms is n_exact + (1−p)/p. */
static void test_roulette_number_of_terms_is_geometric(void) {
    LogdetSeries s;
    double sum = 0;
    int n = 40000;
    for (int i = 0; i < n; i++) {
        logdet_series_roulette(&s, 2, 0.5, 9, 0, (uint64_t)i);
        sum += s.n;
        if (s.n >= 4) CHECK_NEAR(s.coef[4], 4.0, 1e-12);
    }
    /* Var(G) = (1−p)/p² = 2: standard error sqrt(2/n) ≈ 0.007; 5 of them. */
    CHECK_NEAR(sum / n, 3.0, 5 * sqrt(2.0 / n));
}

/* ---- residual block ---------------------------------------------------------------- */

typedef struct {
    ResBlock rb;
    float *params, *state, *actbuf, *scratch;
    ResBlockActs acts;
    ResBlockNorm norm;
    int B;
} Fixture;

static Fixture fixture(int d, int h, int B, float c, uint64_t seed) {
    Fixture f;
    f.rb = (ResBlock){d, h, c};
    f.B = B;
    f.params = calloc((size_t)resblock_nparams(&f.rb), sizeof(float));
    f.state = calloc((size_t)resblock_nstate(&f.rb), sizeof(float));
    f.actbuf = calloc((size_t)resblock_acts_floats(&f.rb, B), sizeof(float));
    f.scratch = calloc((size_t)resblock_scratch_floats(&f.rb, B), sizeof(float));
    resblock_acts_bind(&f.rb, &f.acts, f.actbuf, B);
    resblock_init(&f.rb, f.params, f.state, seed, 10);
    resblock_normalize(&f.rb, f.params, f.state, &f.norm, f.scratch);
    return f;
}

static void fixture_free(Fixture *f) {
    free(f->params), free(f->state), free(f->actbuf), free(f->scratch);
}

/* log|det A| of a small dense double matrix (Gaussian elimination, partial pivoting). */
static double logdet_reference(double *A, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) {
        int p = k;
        for (int i = k + 1; i < d; i++)
            if (fabs(A[i * d + k]) > fabs(A[p * d + k])) p = i;
        for (int j = 0; j < d; j++) {
            double t = A[k * d + j];
            A[k * d + j] = A[p * d + j], A[p * d + j] = t;
        }
        s += log(fabs(A[k * d + k]));
        for (int i = k + 1; i < d; i++) {
            double m = A[i * d + k] / A[k * d + k];
            for (int j = k; j < d; j++) A[i * d + j] -= m * A[k * d + j];
        }
    }
    return s;
}

/* Exact log-det (LU of I + J from the MLP's factors) against the log-det of a
 * Jacobian by central differences of the forward (d = 8, step 1e-2: truncation
 * and float rounding both ~1e-5 per entry, so < 1e-3 on the log-det). */
static void test_resblock_exact_logdet_matches_finite_difference_jacobian(void) {
    enum { D = 8, H = 16 };
    Fixture f = fixture(D, H, 1, 0.97f, 5);
    float x[D], xp[D], yp[D], ym[D];
    double A[D * D], logdet = 0;
    rng_fill_normal(x, D, 0, 1, 5, 1, 0);
    resblock_forward(&f.rb, f.params, &f.norm, x, yp, &f.acts, 1);
    CHECK(resblock_logdet_exact(&f.rb, f.params, &f.norm, &f.acts, &logdet, 1) == 0);
    float eps = 1e-2f;
    for (int j = 0; j < D; j++) {
        memcpy(xp, x, sizeof x);
        xp[j] = x[j] + eps;
        resblock_forward(&f.rb, f.params, &f.norm, xp, yp, &f.acts, 1);
        xp[j] = x[j] - eps;
        resblock_forward(&f.rb, f.params, &f.norm, xp, ym, &f.acts, 1);
        for (int i = 0; i < D; i++) A[i * D + j] = (yp[i] - ym[i]) / (2.0 * eps);
    }
    double ref = logdet_reference(A, D);
    CHECK_NEAR(logdet, ref, 1e-3);
    CHECK(fabs(ref) > 1e-2); /* a non-trivial Jacobian */
    fixture_free(&f);
}

/* Lip(g) ≤ c: every effective matrix s·W has spectral norm ≤ c (checked by an
 * independent double-precision power iteration), so Lip(g) ≤ Πσ ≤ c³ ≤ c — after
 * init and after the weights grow and one training step's iteration follows. */
static void test_resblock_lipschitz_at_most_c(void) {
    enum { D = 16, H = 32 };
    Fixture f = fixture(D, H, 1, 0.97f, 6);
    long n = resblock_nparams(&f.rb), offs[3] = {0, (long)H * D + H, (long)H * D + H + H * H + H};
    int out[3] = {H, H, D}, in[3] = {D, H, H};
    for (int round = 0; round < 2; round++) {
        double lip = 1;
        for (int i = 0; i < 3; i++) {
            long m = (long)out[i] * in[i];
            float *Ws = malloc(sizeof(float) * m);
            for (long k = 0; k < m; k++) Ws[k] = f.norm.scale[i] * f.params[offs[i] + k];
            double sig = sigma_reference(Ws, out[i], in[i]);
            /* σ from power iteration is accurate to ~1e-5 relative: allow 1e-4. */
            CHECK(sig <= 0.97 * (1 + 1e-4));
            if (f.norm.scale[i] < 1.0f) CHECK(sig >= 0.97 * (1 - 1e-3)); /* clipped to c */
            lip *= sig;
            free(Ws);
        }
        CHECK(lip <= 0.97);
        /* Grow the weights by 50% (a large training step), iterate once more. */
        for (long k = 0; k < n - 2; k++) f.params[k] *= 1.5f;
        resblock_power_iterate(&f.rb, f.params, f.state);
        resblock_normalize(&f.rb, f.params, f.state, &f.norm, f.scratch);
    }
    fixture_free(&f);
}

/* L = Σ c⊙y + λ·Σ logdet-estimate with a one-term series (then the estimator is
 * vᵀJv and its exact derivative is the Neumann form ∂(wᵀJv) with w = v), against
 * central differences in float; step 1e-3, L of order 10: tolerance 3e-3. */
static double block_loss(Fixture *f, const float *x, const float *cy, const float *v,
                         const LogdetSeries *s, float lambda, float *y) {
    double ld[4] = {0};
    resblock_normalize(&f->rb, f->params, f->state, &f->norm, f->scratch);
    resblock_forward(&f->rb, f->params, &f->norm, x, y, &f->acts, f->B);
    resblock_logdet_estimate(&f->rb, f->params, &f->norm, &f->acts, s, v, ld, f->scratch, f->B);
    double L = 0;
    for (int i = 0; i < f->B * f->rb.d; i++) L += (double)cy[i] * y[i];
    for (int b = 0; b < f->B; b++) L += lambda * ld[b];
    return L;
}

static int block_gradcheck(int break_it) {
    enum { D = 4, H = 6, B = 3 };
    /* c = 0.9 keeps every σ ≥ 7% away from the kink of min(1, c/σ) (at 0.97 one
     * layer's σ is 0.9697 and the differences straddle it); σ3 < c, so both the
     * normalised and the untouched branch are checked. */
    Fixture f = fixture(D, H, B, 0.9f, 7);
    long np = resblock_nparams(&f.rb);
    float x[B * D], cy[B * D], v[B * D], y[B * D], dx[B * D], lambda = 0.7f;
    float *g = calloc((size_t)np, sizeof(float));
    rng_fill_normal(x, B * D, 0, 1, 7, 1, 0);
    rng_fill_normal(cy, B * D, 0, 1, 7, 2, 0);
    logdet_series_probe(v, B * D, 0, 7, 3, 0);
    /* β away from 1 so its gradient is generic. */
    f.params[np - 2] = 0.2f, f.params[np - 1] = 1.1f;
    LogdetSeries s;
    logdet_series_fixed(&s, 1, 1.0);
    block_loss(&f, x, cy, v, &s, lambda, y);
    /* The mutation: the log-det's share of the gradient 10% too small. */
    resblock_backward(&f.rb, f.params, f.state, &f.norm, x, &f.acts, cy,
                      break_it ? 0.9f * lambda : lambda, dx, g, f.scratch, B);
    int bad = 0;
    float eps = 1e-3f;
    for (long i = 0; i < np; i++) {
        float keep = f.params[i];
        f.params[i] = keep + eps;
        double lp = block_loss(&f, x, cy, v, &s, lambda, y);
        f.params[i] = keep - eps;
        double lm = block_loss(&f, x, cy, v, &s, lambda, y);
        f.params[i] = keep;
        bad += fabs((lp - lm) / (2 * eps) - g[i]) > 3e-3;
    }
    for (int i = 0; i < B * D; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = block_loss(&f, x, cy, v, &s, lambda, y);
        x[i] = keep - eps;
        double lm = block_loss(&f, x, cy, v, &s, lambda, y);
        x[i] = keep;
        bad += fabs((lp - lm) / (2 * eps) - dx[i]) > 3e-3;
    }
    free(g);
    fixture_free(&f);
    return bad;
}

static void test_resblock_gradients_match_finite_differences(void) {
    CHECK(block_gradcheck(0) == 0);
}

static void test_resblock_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(block_gradcheck(1) > 0);
}

/* W2 = I and W3 = W1ᵀ, normalised: J = s·W1ᵀ·D2·D1·W1 is positive semi-definite
 * with a spectral norm near c³, so log det(I + J) is far from 0 and the series
 * needs many terms. A random init has |log det| ~ 1e-3, too small to test on. */
static void make_jacobian_large(Fixture *f) {
    int d = f->rb.d, h = f->rb.h;
    float *W1 = f->params, *W2 = W1 + (long)h * d + h, *W3 = W2 + (long)h * h + h;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < h; j++) W2[(long)i * h + j] = i == j ? 3.0f : 0.0f;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < h; j++) W3[(long)i * h + j] = W1[(long)j * d + i];
    for (int it = 0; it < 20; it++) resblock_power_iterate(&f->rb, f->params, f->state);
    resblock_normalize(&f->rb, f->params, f->state, &f->norm, f->scratch);
}

/* The Neumann gradient of a long series is the gradient of the exact log-det.
 * With the d basis vectors as probes (row i probes e_i, all rows the same x) the
 * Hutchinson sums are exact traces, so Σ_rows estimate = the series truncated at
 * 40 terms (c = 0.7, ‖J‖ ≤ c³ = 0.34: truncation < 1e-19), and Σ_rows of the backward is its
 * exact gradient. Checked against central differences of resblock_logdet_exact
 * (float, step 1e-3, log-det of order 1: tolerance 2e-3). */
static double exact_logdet_of(Fixture *f, const float *x, float *y) {
    double ld = 0;
    resblock_normalize(&f->rb, f->params, f->state, &f->norm, f->scratch);
    resblock_forward(&f->rb, f->params, &f->norm, x, y, &f->acts, 1);
    resblock_logdet_exact(&f->rb, f->params, &f->norm, &f->acts, &ld, 1);
    return ld;
}

static void test_resblock_neumann_gradient_is_exact_logdet_gradient(void) {
    enum { D = 4, H = 8 };
    Fixture f = fixture(D, H, D, 0.7f, 8);
    make_jacobian_large(&f);
    long np = resblock_nparams(&f.rb);
    float x[D * D], v[D * D] = {0}, y[D * D], dy[D * D] = {0}, dx[D * D];
    float *g = calloc((size_t)np, sizeof(float));
    rng_fill_normal(x, D, 0, 1, 8, 1, 0);
    for (int b = 0; b < D; b++) memcpy(x + b * D, x, sizeof(float) * D), v[b * D + b] = 1.0f;
    LogdetSeries s;
    logdet_series_fixed(&s, 40, 1.0);
    double ld[D] = {0}, est = 0;
    resblock_forward(&f.rb, f.params, &f.norm, x, y, &f.acts, D);
    resblock_logdet_estimate(&f.rb, f.params, &f.norm, &f.acts, &s, v, ld, f.scratch, D);
    for (int b = 0; b < D; b++) est += ld[b];
    resblock_backward(&f.rb, f.params, f.state, &f.norm, x, &f.acts, dy, 1.0f, dx, g, f.scratch, D);
    CHECK_NEAR(est, exact_logdet_of(&f, x, y), 1e-5);
    CHECK(est > 0.05); /* a Jacobian far from 0 */
    int bad = 0;
    float eps = 1e-3f;
    for (long i = 0; i < np; i++) {
        float keep = f.params[i];
        f.params[i] = keep + eps;
        double lp = exact_logdet_of(&f, x, y);
        f.params[i] = keep - eps;
        double lm = exact_logdet_of(&f, x, y);
        f.params[i] = keep;
        bad += fabs((lp - lm) / (2 * eps) - g[i]) > 2e-3;
    }
    for (int j = 0; j < D; j++) {
        double gx = 0;
        for (int b = 0; b < D; b++) gx += dx[b * D + j];
        float keep = x[j];
        x[j] = keep + eps;
        double lp = exact_logdet_of(&f, x, y);
        x[j] = keep - eps;
        double lm = exact_logdet_of(&f, x, y);
        x[j] = keep;
        bad += fabs((lp - lm) / (2 * eps) - gx) > 2e-3;
    }
    CHECK(bad == 0);
    free(g);
    fixture_free(&f);
}

/* The Russian-roulette Hutchinson estimator is unbiased: over 400 steps × 100
 * probes (fresh N each step) the mean is within 4 standard errors of the exact
 * log-det, for Gaussian and for Rademacher probes. */
static void test_logdet_estimator_is_unbiased(void) {
    enum { D = 6, H = 12, B = 100, STEPS = 400 };
    Fixture f = fixture(D, H, B, 0.97f, 9);
    make_jacobian_large(&f);
    float x[B * D], y[B * D], v[B * D];
    rng_fill_normal(x, D, 0, 1, 9, 1, 0);
    for (int b = 1; b < B; b++) memcpy(x + b * D, x, sizeof(float) * D);
    resblock_forward(&f.rb, f.params, &f.norm, x, y, &f.acts, B);
    double exact = 0;
    resblock_logdet_exact(&f.rb, f.params, &f.norm, &f.acts, &exact, 1);
    for (int rad = 0; rad <= 1; rad++) {
        double sum = 0, sum2 = 0;
        for (int step = 0; step < STEPS; step++) {
            LogdetSeries s;
            double ld[B] = {0};
            logdet_series_roulette(&s, 2, 0.5, 9, 1, (uint64_t)step);
            logdet_series_probe(v, B * D, rad, 9, 2 + rad, (uint64_t)step * B * D);
            resblock_logdet_estimate(&f.rb, f.params, &f.norm, &f.acts, &s, v, ld, f.scratch, B);
            for (int b = 0; b < B; b++) sum += ld[b], sum2 += ld[b] * ld[b];
        }
        double n = (double)B * STEPS, mean = sum / n, se = sqrt((sum2 / n - mean * mean) / n);
        CHECK_NEAR(mean, exact, 4 * se);
        CHECK(se < 0.05 * fabs(exact)); /* the test has the power to see a 20% bias */
    }
    fixture_free(&f);
}

/* x -> y = f(x) -> fixed-point inverse: max |x − f⁻¹(f(x))| < 1e-3 (the stopping
 * rule bounds it by ~1e-4 at Lip 0.913). */
static void test_resblock_inverse_roundtrip(void) {
    enum { D = 8, H = 16, B = 50 };
    Fixture f = fixture(D, H, B, 0.97f, 11);
    float x[B * D], y[B * D], xr[B * D];
    rng_fill_normal(x, B * D, 0, 2, 11, 1, 0);
    resblock_forward(&f.rb, f.params, &f.norm, x, y, &f.acts, B);
    int it = resblock_inverse(&f.rb, f.params, &f.norm, y, xr, &f.acts, B);
    CHECK(it > 0);
    float err = 0;
    for (int i = 0; i < B * D; i++) err = fmaxf(err, fabsf(xr[i] - x[i]));
    CHECK(err < 1e-3f);
    fixture_free(&f);
}

/* With a coefficient far above 1 the block is no contraction: the iteration must
 * stop at the cap and say so. */
static void test_resblock_inverse_reports_failure(void) {
    enum { D = 8, H = 16, B = 4 };
    Fixture f = fixture(D, H, B, 50.0f, 12);
    long np = resblock_nparams(&f.rb);
    for (long k = 0; k < np - 2; k++) f.params[k] *= 20.0f;
    resblock_normalize(&f.rb, f.params, f.state, &f.norm, f.scratch);
    float x[B * D], y[B * D], xr[B * D];
    rng_fill_normal(x, B * D, 0, 1, 12, 1, 0);
    resblock_forward(&f.rb, f.params, &f.norm, x, y, &f.acts, B);
    CHECK(resblock_inverse(&f.rb, f.params, &f.norm, y, xr, &f.acts, B) == -1);
    fixture_free(&f);
}

/* A training step (power iteration, forward, estimate, backward) and an exact
 * evaluation give the same bits with 1 and 2 threads, at a shape large enough for
 * every parallel branch (B·h > 65536). */
static void run_step(int threads, float *out_y, double *out_ld, double *out_ex, float *out_g) {
    enum { D = 32, H = 160, B = 420 };
    omp_set_num_threads(threads);
    Fixture f = fixture(D, H, B, 0.97f, 13);
    float *x = malloc(sizeof(float) * B * D), *v = malloc(sizeof(float) * B * D),
          *dx = malloc(sizeof(float) * B * D);
    rng_fill_normal(x, B * D, 0, 1, 13, 1, 0);
    logdet_series_probe(v, B * D, 0, 13, 2, 0);
    LogdetSeries s;
    logdet_series_roulette(&s, 2, 0.5, 13, 3, 0);
    resblock_power_iterate(&f.rb, f.params, f.state);
    resblock_normalize(&f.rb, f.params, f.state, &f.norm, f.scratch);
    resblock_forward(&f.rb, f.params, &f.norm, x, out_y, &f.acts, B);
    memset(out_ld, 0, sizeof(double) * B);
    resblock_logdet_estimate(&f.rb, f.params, &f.norm, &f.acts, &s, v, out_ld, f.scratch, B);
    memset(out_g, 0, sizeof(float) * resblock_nparams(&f.rb));
    resblock_backward(&f.rb, f.params, f.state, &f.norm, x, &f.acts, out_y, -1.0f / B, dx, out_g,
                      f.scratch, B);
    memset(out_ex, 0, sizeof(double) * 64);
    resblock_logdet_exact(&f.rb, f.params, &f.norm, &f.acts, out_ex, 64);
    free(x), free(v), free(dx);
    fixture_free(&f);
}

static void test_resblock_same_bits_with_1_and_2_threads(void) {
    enum { D = 32, H = 160, B = 420 };
    ResBlock rb = {D, H, 0.97f};
    long np = resblock_nparams(&rb);
    float *y1 = malloc(sizeof(float) * B * D), *y2 = malloc(sizeof(float) * B * D);
    float *g1 = malloc(sizeof(float) * np), *g2 = malloc(sizeof(float) * np);
    double ld1[B], ld2[B], ex1[64], ex2[64];
    int keep = omp_get_max_threads();
    run_step(1, y1, ld1, ex1, g1);
    run_step(2, y2, ld2, ex2, g2);
    omp_set_num_threads(keep);
    CHECK(memcmp(y1, y2, sizeof(float) * B * D) == 0);
    CHECK(memcmp(ld1, ld2, sizeof ld1) == 0);
    CHECK(memcmp(ex1, ex2, sizeof ex1) == 0);
    CHECK(memcmp(g1, g2, sizeof(float) * np) == 0);
    free(y1), free(y2), free(g1), free(g2);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_lipswish_derivatives_match_finite_differences),
        UNIT(test_lipswish_is_one_lipschitz),
        UNIT(test_spectral_norm_matches_reference_sigma),
        UNIT(test_spectral_norm_backward_matches_finite_differences),
        UNIT(test_spectral_norm_backward_has_the_sequential_bits),
        UNIT(test_roulette_number_of_terms_is_geometric),
        UNIT(test_resblock_exact_logdet_matches_finite_difference_jacobian),
        UNIT(test_resblock_lipschitz_at_most_c),
        UNIT(test_resblock_gradients_match_finite_differences),
        UNIT(test_resblock_gradcheck_catches_a_wrong_gradient),
        UNIT(test_resblock_neumann_gradient_is_exact_logdet_gradient),
        UNIT(test_logdet_estimator_is_unbiased),
        UNIT(test_resblock_inverse_roundtrip),
        UNIT(test_resblock_inverse_reports_failure),
        UNIT(test_resblock_same_bits_with_1_and_2_threads),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
