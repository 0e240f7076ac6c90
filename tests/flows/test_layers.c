/* test_layers.c — ActNorm, invertible linear and affine coupling, each on its own:
 * gradients (parameters and inputs) against finite differences, with a mutated
 * gradient that must fail the same check; inverse round trip; log-determinant
 * against a brute-force Jacobian at d = 8; ActNorm's init on constant dimensions;
 * the invertible linear's rotation and permutation starts. */
#include "flows/actnorm.h"
#include "flows/coupling.h"
#include "flows/invlinear.h"
#include "flows/rng.h"
#include "tests/fdcheck.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 5, D = 8, H = 12, L = 4 };

/* One layer behind a common interface, with its parameters, state and buffers. */
typedef enum { K_ACTNORM, K_INVLINEAR, K_COUPLING, K_COUPLING_BOTTLENECK } Kind;

typedef struct {
    Kind kind;
    Coupling c;
    long np;
    float *params, *state, *T, *saved, *scratch;
    float x[B * D], y[B * D], c_y[B * D]; /* c_y: the loss's weights on y */
    double logdet[B], w;                  /* w: the loss's weight on each log-det */
} Layer;

static float *randn(long n, float std, uint64_t stream) {
    float *a = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    rng_fill_normal(a, n, 0.0f, std, 5, stream, 0);
    return a;
}

/* Random parameters (not the identity init, so every path carries gradient). */
static Layer layer_make(Kind kind) {
    Layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.c = coupling_make(D, H, kind == K_COUPLING_BOTTLENECK ? L : 0, 1);
    l.np = kind == K_ACTNORM     ? actnorm_nparams(D)
           : kind == K_INVLINEAR ? invlinear_nparams(D)
                                 : coupling_nparams(&l.c);
    l.params = randn(l.np, 0.3f, 1);
    l.state = calloc(2 * D, sizeof(float)); /* the invertible linear's perm and signs */
    l.T = calloc(D * D, sizeof(float));
    l.saved = calloc((size_t)B * coupling_nsaved(&l.c) + B * D, sizeof(float));
    l.scratch = calloc((size_t)B * coupling_nscratch(&l.c) + 2 * D * D, sizeof(float));
    if (kind == K_INVLINEAR) {
        float *p = randn(l.np, 0.3f, 1);
        /* a rotation's perm and signs (some diagonal signs negative, the case a
         * permutation start never exercises), then random factors on top */
        if (invlinear_init_rotation(l.params, l.state, D, 5, 2) != 0) abort();
        /* keep the random factors, but the unused diagonal stays 0 */
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) l.params[i * D + j] = i == j ? 0.0f : p[i * D + j];
        for (int i = 0; i < D; i++) l.params[D * D + i] = p[D * D + i];
        free(p);
    }
    rng_fill_normal(l.x, B * D, 0.0f, 1.0f, 5, 3, 0);
    rng_fill_normal(l.c_y, B * D, 0.0f, 1.0f, 5, 4, 0);
    l.w = 0.7;
    return l;
}

static void layer_free(Layer *l) {
    free(l->params), free(l->state), free(l->T), free(l->saved), free(l->scratch);
}

static void layer_forward(Layer *l, const float *x, float *y, int rows) {
    for (int r = 0; r < rows; r++) l->logdet[r] = 0.0;
    switch (l->kind) {
    case K_ACTNORM:
        actnorm_forward(l->params, x, y, l->logdet, rows, D);
        break;
    case K_INVLINEAR:
        invlinear_factors(l->params, l->state, l->T, D);
        invlinear_forward(l->params, l->state, l->T, x, l->saved, y, l->logdet, rows, D);
        break;
    case K_COUPLING:
    case K_COUPLING_BOTTLENECK:
        coupling_forward(&l->c, l->params, x, y, l->logdet, l->saved, rows);
        break;
    }
}

/* dx (B,D) and dparams for the loss below. */
static void layer_backward(Layer *l, float *dx, float *dparams) {
    float dy[B * D];
    memcpy(dy, l->c_y, sizeof dy);
    layer_forward(l, l->x, l->y, B);
    switch (l->kind) {
    case K_ACTNORM:
        actnorm_backward(l->params, l->x, dy, (float)l->w, dx, dparams, B, D);
        break;
    case K_INVLINEAR:
        invlinear_backward(l->state, l->T, l->x, l->saved, dy, (float)l->w, dx, dparams, l->scratch,
                           B, D);
        break;
    case K_COUPLING:
    case K_COUPLING_BOTTLENECK:
        coupling_backward(&l->c, l->params, l->x, l->saved, dy, (float)l->w, dx, dparams,
                          l->scratch, B);
        break;
    }
}

static void layer_inverse(Layer *l, const float *y, float *x) {
    switch (l->kind) {
    case K_ACTNORM:
        actnorm_inverse(l->params, y, x, B, D);
        break;
    case K_INVLINEAR:
        invlinear_factors(l->params, l->state, l->T, D);
        invlinear_inverse(l->state, l->T, y, x, l->scratch, B, D);
        break;
    case K_COUPLING:
    case K_COUPLING_BOTTLENECK:
        coupling_inverse(&l->c, l->params, y, x, l->saved, B);
        break;
    }
}

/* loss = Σ c_y·y + w·Σ logdet, in double: dL/dy = c_y, dL/dlogdet = w. */
static double layer_loss(void *ctx) {
    Layer *l = ctx;
    layer_forward(l, l->x, l->y, B);
    double s = 0.0;
    for (int i = 0; i < B * D; i++) s += (double)l->c_y[i] * l->y[i];
    for (int r = 0; r < B; r++) s += l->w * l->logdet[r];
    return s;
}

/* Step 1e-3 (relative): float noise in the loss (~1e-6) over the step gives ~5e-4,
 * hence atol 3e-3; truncation error is O(step²). A 5% error fails at |g| > 0.1. */
static int grad_ok(Layer *l, float *x, const float *g, long n) {
    FdReport r;
    int bad = fd_check(layer_loss, l, x, g, n, 60, 1e-3, 3e-3, 1e-2, 9, &r);
    if (bad)
        printf("  %d/%d bad; worst at %ld: grad %.6g fd %.6g\n", bad, r.probed, r.worst, r.grad,
               r.fd);
    return bad == 0;
}

static void check_layer_gradients(Kind kind) {
    Layer l = layer_make(kind);
    float dx[B * D], *dp = calloc((size_t)l.np, sizeof(float));
    layer_backward(&l, dx, dp);
    CHECK(grad_ok(&l, l.params, dp, l.np));
    CHECK(grad_ok(&l, l.x, dx, B * D));
    /* Mutation: the same check must reject gradients 5% off. */
    for (long i = 0; i < l.np; i++) dp[i] *= 1.05f;
    for (int i = 0; i < B * D; i++) dx[i] *= 1.05f;
    printf("  (mutated gradients, failures expected)\n");
    CHECK(!grad_ok(&l, l.params, dp, l.np));
    CHECK(!grad_ok(&l, l.x, dx, B * D));
    free(dp);
    layer_free(&l);
}

static void test_actnorm_gradients_match_finite_differences(void) {
    check_layer_gradients(K_ACTNORM);
}
static void test_invlinear_gradients_match_finite_differences(void) {
    check_layer_gradients(K_INVLINEAR);
}
static void test_coupling_gradients_match_finite_differences(void) {
    check_layer_gradients(K_COUPLING);
}
static void test_coupling_bottleneck_gradients_match_finite_differences(void) {
    check_layer_gradients(K_COUPLING_BOTTLENECK);
}

/* A gradient that drops the log-det term (the classic bug) must fail too. */
static void test_gradient_check_rejects_missing_logdet_term(void) {
    Layer l = layer_make(K_COUPLING);
    float dx[B * D], *dp = calloc((size_t)l.np, sizeof(float));
    double w = l.w;
    l.w = 0.0;
    layer_backward(&l, dx, dp);
    l.w = w;
    printf("  (log-det term dropped, failures expected)\n");
    CHECK(!grad_ok(&l, l.params, dp, l.np));
    free(dp);
    layer_free(&l);
}

static void check_roundtrip(Kind kind) {
    Layer l = layer_make(kind);
    float back[B * D];
    layer_forward(&l, l.x, l.y, B);
    layer_inverse(&l, l.y, back);
    double worst = 0.0;
    for (int i = 0; i < B * D; i++) worst = fmax(worst, fabs(back[i] - l.x[i]));
    CHECK(worst < 1e-5); /* one layer, values O(1): a few float roundings */
    layer_free(&l);
}

static void test_layers_invert_exactly(void) {
    check_roundtrip(K_ACTNORM);
    check_roundtrip(K_INVLINEAR);
    check_roundtrip(K_COUPLING);
    check_roundtrip(K_COUPLING_BOTTLENECK);
}

static void one_row(void *ctx, const float *x, float *y) {
    layer_forward(ctx, x, y, 1);
}

static void check_logdet(Kind kind) {
    Layer l = layer_make(kind);
    float y[D];
    for (int r = 0; r < 2; r++) {
        layer_forward(&l, l.x + r * D, y, 1);
        double ld = l.logdet[0];
        /* step 1e-2: truncation O(1e-4 · third derivative), float noise ~1e-5 */
        CHECK_NEAR(fd_logdet(one_row, &l, l.x + r * D, D, 1e-2), ld, 1e-3);
    }
    layer_free(&l);
}

static void test_layer_logdets_match_brute_force_jacobian(void) {
    check_logdet(K_ACTNORM);
    check_logdet(K_INVLINEAR);
    check_logdet(K_COUPLING);
    check_logdet(K_COUPLING_BOTTLENECK);
}

/* A dimension that never varies gets a finite scale (1/floor), not a division by 0,
 * and the batch leaves with zero mean and unit variance elsewhere. */
static void test_actnorm_init_survives_constant_dimension(void) {
    enum { N = 64 };
    float x[N * 3], y[N * 3], p[6];
    double ld[N] = {0};
    for (int r = 0; r < N; r++) {
        x[r * 3 + 0] = rng_normal(1, 1, r) * 3.0f + 2.0f;
        x[r * 3 + 1] = 0.25f; /* dead feature */
        x[r * 3 + 2] = rng_normal(1, 2, r);
    }
    actnorm_init_from_data(p, x, N, 3);
    actnorm_forward(p, x, y, ld, N, 3);
    CHECK(isfinite(p[4]) && isfinite(ld[0]));
    CHECK_NEAR(p[4], -log(ACTNORM_STD_FLOOR), 1e-3);
    double m = 0, v = 0;
    for (int r = 0; r < N; r++) m += y[r * 3], v += (double)y[r * 3] * y[r * 3];
    CHECK_NEAR(m / N, 0.0, 1e-5);
    CHECK_NEAR(v / N, 1.0, 1e-4); /* (std/(std + 1e-6))² */
    for (int r = 0; r < N; r++) CHECK(y[r * 3 + 1] == 0.0f);
}

/* W (n,n) of an invertible linear, column j = W e_j, read back through forward. */
static void invlinear_matrix(const float *params, const float *state, int n, double *W,
                             double *logdet) {
    float *T = calloc((size_t)n * n, sizeof(float)), *e = calloc((size_t)n * n, sizeof(float));
    float *a = calloc((size_t)n * n, sizeof(float)), *y = calloc((size_t)n * n, sizeof(float));
    double *ld = calloc((size_t)n, sizeof(double));
    for (int j = 0; j < n; j++) e[j * n + j] = 1.0f;
    invlinear_factors(params, state, T, n);
    invlinear_forward(params, state, T, e, a, y, ld, n, n); /* row j = (W e_j)ᵀ */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) W[i * n + j] = y[j * n + i];
    *logdet = ld[0];
    free(T), free(e), free(a), free(y), free(ld);
}

/* Glow's start (§3.2): W a random rotation, so WᵀW = I and log|det W| = Σ logs = 0,
 * with U's diagonal signs fixed in the state (some negative) and the unused diagonal
 * of M zero; over many seeds W's entries have the Haar moments E[W_ij] = 0,
 * E[W_ij²] = 1/n (a rotation biased towards the identity, as a permutation start or
 * a missing sign fix would be for the trace, fails the trace's mean). The
 * permutation start is a permutation matrix with signs +1. */
static void test_invlinear_rotation_start_is_a_random_rotation(void) {
    enum { N = 40, SEEDS = 200, S = 6 };
    float *p = calloc(N * N + N, sizeof(float)), st[2 * N];
    double *W = calloc(N * N, sizeof(double)), ld, worst = 0.0;
    CHECK(invlinear_init_rotation(p, st, N, 7, 3) == 0);
    invlinear_matrix(p, st, N, W, &ld);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double g = 0.0;
            for (int k = 0; k < N; k++) g += W[k * N + i] * W[k * N + j];
            worst = fmax(worst, fabs(g - (i == j)));
        }
    CHECK(worst < 1e-5);
    CHECK_NEAR(ld, 0.0, 1e-4);
    int neg = 0, diag0 = 1;
    for (int i = 0; i < N; i++) neg += st[N + i] < 0, diag0 &= p[i * N + i] == 0.0f;
    CHECK(neg > 0 && neg < N && diag0);
    double tr = 0.0, sq = 0.0, w[S * S];
    float ps[S * S + S], ss[2 * S];
    for (int k = 0; k < SEEDS; k++) {
        CHECK(invlinear_init_rotation(ps, ss, S, 100 + k, 0) == 0);
        invlinear_matrix(ps, ss, S, w, &ld);
        for (int i = 0; i < S; i++) tr += w[i * S + i];
        sq += w[0] * w[0];
    }
    /* trace of a Haar rotation: mean 0, variance 1; W_00²: mean 1/S, sd < 0.4/S */
    CHECK(fabs(tr / SEEDS) < 0.3);
    CHECK_NEAR(sq / SEEDS, 1.0 / S, 0.1 / S * 3);
    invlinear_init_permutation(p, st, N, 7, 3);
    invlinear_matrix(p, st, N, W, &ld);
    double ones = 0.0;
    for (int i = 0; i < N * N; i++) ones += W[i] == 1.0 ? 1.0 : W[i] == 0.0 ? 0.0 : 1e9;
    CHECK(ones == N && ld == 0.0);
    for (int i = 0; i < N; i++) CHECK(st[N + i] == 1.0f);
    free(p), free(W);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_actnorm_gradients_match_finite_differences),
        UNIT(test_invlinear_gradients_match_finite_differences),
        UNIT(test_coupling_gradients_match_finite_differences),
        UNIT(test_coupling_bottleneck_gradients_match_finite_differences),
        UNIT(test_gradient_check_rejects_missing_logdet_term),
        UNIT(test_layers_invert_exactly),
        UNIT(test_layer_logdets_match_brute_force_jacobian),
        UNIT(test_actnorm_init_survives_constant_dimension),
        UNIT(test_invlinear_rotation_start_is_a_random_rotation),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
