/* test_basics.c — the counter-based RNG, the dense layer, ReLU and Adam. */
#include "flows/adam.h"
#include "flows/linear.h"
#include "flows/relu.h"
#include "flows/rng.h"
#include "tests/unit.h"
#include "util/err.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Known-answer vectors of Random123's kat_vectors for philox4x32_10. */
static void test_philox_known_answers(void) {
    uint32_t w[4];
    rng_philox(0, 0, 0, w);
    CHECK(w[0] == 0x6627e8d5u && w[1] == 0xe169c58du && w[2] == 0xbc57ac4cu && w[3] == 0x9b00dbd8u);
    rng_philox(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull, w);
    CHECK(w[0] == 0x408f276du && w[1] == 0x41c83b0eu && w[2] == 0xa20bc7c6u && w[3] == 0x6d5451fdu);
}

/* 200k draws: mean and variance within 5 standard errors of U(0,1) and N(0,1). */
static void test_rng_moments(void) {
    long n = 200000;
    double su = 0, suu = 0, sn = 0, snn = 0;
    for (long i = 0; i < n; i++) {
        double u = rng_uniform(7, 3, (uint64_t)i), z = rng_normal(7, 4, (uint64_t)i);
        CHECK(u >= 0.0 && u < 1.0);
        su += u, suu += u * u, sn += z, snn += z * z;
    }
    CHECK_NEAR(su / n, 0.5, 5 * sqrt(1.0 / 12 / n));
    /* Var(U) = 1/12; the sample variance's standard error is sqrt(1/180/n) ≈ 1.7e-4. */
    CHECK_NEAR(suu / n - (su / n) * (su / n), 1.0 / 12, 5 * sqrt(1.0 / 180 / n));
    CHECK_NEAR(sn / n, 0.0, 5 / sqrt(n));
    CHECK_NEAR(snn / n, 1.0, 5 * sqrt(2.0 / n));
}

static void test_rng_fill_in_pieces_equals_whole(void) {
    float a[100], b[100];
    rng_fill_normal(a, 100, 0, 1, 11, 2, 0);
    rng_fill_normal(b, 40, 0, 1, 11, 2, 0);
    rng_fill_normal(b + 40, 60, 0, 1, 11, 2, 40);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

static void test_permutation_is_a_permutation(void) {
    long p[1000], seen[1000] = {0};
    rng_permutation(p, 1000, 5, 1);
    for (int i = 0; i < 1000; i++) seen[p[i]]++;
    int ok = 1, fixed = 0;
    for (int i = 0; i < 1000; i++) ok &= seen[i] == 1, fixed += p[i] == i;
    CHECK(ok);
    CHECK(fixed < 10); /* expected 1 fixed point; 10 would be a broken shuffle */
}

/* L = sum(c ⊙ relu(linear(x))), gradients against central differences in float
 * with step 1e-3 on values of order 1. Tolerance 2e-3 absolute: float rounding of
 * the loss (~1e-6) over the step 2e-3 gives ~5e-4; measured max error 2e-4. */
static double loss_lin(const float *p, const float *x, const float *c, int B, int in, int out,
                       float *y) {
    linear_forward(p, x, y, B, in, out);
    relu_forward(y, y, (long)B * out);
    double s = 0;
    for (long i = 0; i < (long)B * out; i++) s += (double)c[i] * y[i];
    return s;
}

static int linear_gradcheck(int break_it) {
    enum { B = 5, IN = 7, OUT = 6 };
    long np = linear_nparams(IN, OUT);
    float p[OUT * IN + OUT], g[OUT * IN + OUT], x[B * IN], dx[B * IN], c[B * OUT], y[B * OUT],
        dy[B * OUT];
    linear_init(p, IN, OUT, 1, 0);
    rng_fill_normal(x, B * IN, 0, 1, 1, 1, 0);
    rng_fill_normal(c, B * OUT, 0, 1, 1, 2, 0);
    loss_lin(p, x, c, B, IN, OUT, y);
    relu_backward(y, c, dy, B * OUT);
    memset(g, 0, sizeof g);
    linear_backward(p, x, dy, dx, g, 1, B, IN, OUT);
    if (break_it) g[3] *= 1.05f;
    int bad = 0;
    float h = 1e-3f;
    for (long i = 0; i < np; i++) {
        float keep = p[i];
        p[i] = keep + h;
        double lp = loss_lin(p, x, c, B, IN, OUT, y);
        p[i] = keep - h;
        double lm = loss_lin(p, x, c, B, IN, OUT, y);
        p[i] = keep;
        bad += fabs((lp - lm) / (2 * h) - g[i]) > 2e-3;
    }
    for (long i = 0; i < B * IN; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = loss_lin(p, x, c, B, IN, OUT, y);
        x[i] = keep - h;
        double lm = loss_lin(p, x, c, B, IN, OUT, y);
        x[i] = keep;
        bad += fabs((lp - lm) / (2 * h) - dx[i]) > 2e-3;
    }
    return bad;
}

static void test_linear_relu_gradients_match_finite_differences(void) {
    CHECK(linear_gradcheck(0) == 0);
}

static void test_linear_gradcheck_catches_a_wrong_gradient(void) {
    CHECK(linear_gradcheck(1) > 0);
}

/* Overwrite and accumulate modes agree: accumulate onto zeros = overwrite. */
static void test_linear_backward_overwrites_or_accumulates(void) {
    enum { B = 3, IN = 4, OUT = 2 };
    float p[OUT * IN + OUT], x[B * IN], dy[B * OUT], g1[OUT * IN + OUT], g2[OUT * IN + OUT];
    linear_init(p, IN, OUT, 2, 0);
    rng_fill_normal(x, B * IN, 0, 1, 2, 1, 0);
    rng_fill_normal(dy, B * OUT, 0, 1, 2, 2, 0);
    for (int i = 0; i < OUT * IN + OUT; i++) g1[i] = 123.0f, g2[i] = 0.0f;
    linear_backward(p, x, dy, NULL, g1, 0, B, IN, OUT);
    linear_backward(p, x, dy, NULL, g2, 1, B, IN, OUT);
    CHECK(memcmp(g1, g2, sizeof g1) == 0);
}

/* Adam minimises a convex quadratic sum (p - 3)^2 to within 1e-3 in 3000 steps. */
static void test_adam_minimises_a_quadratic(void) {
    float p[4] = {0, 1, -2, 10}, g[4], m[4] = {0}, v[4] = {0};
    AdamConfig c = adam_defaults();
    c.lr = 0.05f;
    for (long t = 1; t <= 3000; t++) {
        for (int i = 0; i < 4; i++) g[i] = 2 * (p[i] - 3);
        adam_step(p, g, m, v, 4, t, &c);
    }
    for (int i = 0; i < 4; i++) CHECK_NEAR(p[i], 3.0, 1e-3);
}

/* The first Adam step moves every parameter by lr·sign(g) (bias correction exact). */
static void test_adam_first_step_is_lr_sign(void) {
    float p[3] = {1, 1, 1}, g[3] = {0.5f, -2.0f, 1e-3f}, m[3] = {0}, v[3] = {0};
    AdamConfig c = adam_defaults();
    adam_step(p, g, m, v, 3, 1, &c);
    CHECK_NEAR(p[0], 1 - 1e-3, 1e-6);
    CHECK_NEAR(p[1], 1 + 1e-3, 1e-6);
    CHECK_NEAR(p[2], 1 - 1e-3, 1e-5);
}

/* adam_step runs clones per instruction set over chunks shared by threads; every
 * element must still be the plain formula's bits (a scalar loop here), for a size
 * that spans several chunks and a partial one, at 1 and 2 threads. */
static void test_adam_step_has_the_scalar_formulas_bits(void) {
    enum { N = 100003 };
    float *p = malloc(4 * N), *g = malloc(4 * N), *m = malloc(4 * N), *v = malloc(4 * N);
    float *p2 = malloc(4 * N), *m2 = malloc(4 * N), *v2 = malloc(4 * N);
    rng_fill_normal(p, N, 0, 1, 3, 1, 0);
    rng_fill_normal(g, N, 0, 1, 3, 2, 0);
    rng_fill_uniform(v, N, 0, 1, 3, 3, 0);
    rng_fill_normal(m, N, 0, 1, 3, 4, 0);
    memcpy(p2, p, 4 * N), memcpy(m2, m, 4 * N), memcpy(v2, v, 4 * N);
    AdamConfig c = adam_defaults();
    c.weight_decay = 0.01f;
    long t = 7;
    double bc1 = 1.0 - pow(c.beta1, (double)t), bc2 = 1.0 - pow(c.beta2, (double)t);
    float step = (float)(c.lr * sqrt(bc2) / bc1), eps = (float)(c.eps * sqrt(bc2));
    for (long i = 0; i < N; i++) {
        float gi = g[i] + c.weight_decay * p2[i];
        m2[i] = c.beta1 * m2[i] + (1.0f - c.beta1) * gi;
        v2[i] = c.beta2 * v2[i] + (1.0f - c.beta2) * gi * gi;
        p2[i] -= step * m2[i] / (sqrtf(v2[i]) + eps);
    }
    for (int threads = 1; threads <= 2; threads++) {
        float *pp = malloc(4 * N), *mm = malloc(4 * N), *vv = malloc(4 * N);
        memcpy(pp, p, 4 * N), memcpy(mm, m, 4 * N), memcpy(vv, v, 4 * N);
        omp_set_num_threads(threads);
        adam_step(pp, g, mm, vv, N, t, &c);
        CHECK(memcmp(pp, p2, 4 * N) == 0);
        CHECK(memcmp(mm, m2, 4 * N) == 0);
        CHECK(memcmp(vv, v2, 4 * N) == 0);
        free(pp), free(mm), free(vv);
    }
    free(p), free(g), free(m), free(v), free(p2), free(m2), free(v2);
}

/* grad_finite: 1 for finite values however large or small, 0 for one ±inf or NaN
 * anywhere (first, last, either side of a chunk edge), 1 for an empty gradient. */
static void test_grad_finite_finds_any_nonfinite_value(void) {
    enum { N = 200001 };
    float *g = malloc(4 * N);
    rng_fill_normal(g, N, 0, 1, 4, 1, 0);
    g[5] = 3.4e38f, g[6] = -3.4e38f, g[7] = 1e-45f;
    CHECK(grad_finite(g, N) == 1);
    CHECK(grad_finite(g, 0) == 1);
    const long at[] = {0, 65535, 65536, 131072, N - 1};
    const float bad[] = {INFINITY, -INFINITY, NAN};
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 3; b++) {
            float keep = g[at[i]];
            g[at[i]] = bad[b];
            CHECK(grad_finite(g, N) == 0);
            g[at[i]] = keep;
        }
    CHECK(grad_finite(g, N) == 1);
    free(g);
}

static void test_clip_grad_norm_scales_to_max(void) {
    float g[2] = {3, 4};
    double before = clip_grad_norm(g, 2, 1.0);
    CHECK_NEAR(before, 5.0, 1e-9);
    CHECK_NEAR(grad_norm(g, 2), 1.0, 1e-5);
    float h[2] = {0.3f, 0.4f};
    clip_grad_norm(h, 2, 1.0);
    CHECK(h[0] == 0.3f && h[1] == 0.4f);
}

/* An error message quoting input bytes stays one line: control characters become
 * spaces, everything else (UTF-8 included) is kept. */
static void test_fail_keeps_message_on_one_line(void) {
    Err e;
    CHECK(fail(&e, LDE_EINPUT, "%s: key '%s'", "x.npy", "a\nb\tc\r\x7f\xc3\xa9") == LDE_EINPUT);
    CHECK(strcmp(e.msg, "x.npy: key 'a b c  \xc3\xa9'") == 0);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_philox_known_answers),
        UNIT(test_fail_keeps_message_on_one_line),
        UNIT(test_rng_moments),
        UNIT(test_rng_fill_in_pieces_equals_whole),
        UNIT(test_permutation_is_a_permutation),
        UNIT(test_linear_relu_gradients_match_finite_differences),
        UNIT(test_linear_gradcheck_catches_a_wrong_gradient),
        UNIT(test_linear_backward_overwrites_or_accumulates),
        UNIT(test_adam_minimises_a_quadratic),
        UNIT(test_adam_first_step_is_lr_sign),
        UNIT(test_clip_grad_norm_scales_to_max),
        UNIT(test_adam_step_has_the_scalar_formulas_bits),
        UNIT(test_grad_finite_finds_any_nonfinite_value),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
