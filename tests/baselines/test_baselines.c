/* test_baselines.c — the post-hoc baselines (harness/baselines/): each score
 * against a hand-computed value on a few 2-D points, KNN against brute force,
 * Mahalanobis against a direct inverse, ODIN's step against finite differences of
 * the cross-entropy, the percentile against numpy's rule, thread-count
 * independence, the stored labels and which methods a feature set can run. */
#include "baselines/baselines.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Scores are float32 from double arithmetic: 1e-6 relative is their rounding. */
static const double TOL = 1e-6;

static void test_msp_and_energy_match_hand_computed_values(void) {
    /* Row 0: equal logits, softmax (½, ½). Row 1: logits (ln 3, 0), softmax (¾, ¼). */
    float l[4] = {0, 0, (float)log(3.0), 0}, s[2];
    baseline_msp(l, 2, 2, 1.0, s);
    CHECK_NEAR(s[0], -0.5, TOL);
    CHECK_NEAR(s[1], -0.75, TOL);
    baseline_energy(l, 2, 2, 1.0, s);
    CHECK_NEAR(s[0], -log(2.0), TOL);
    CHECK_NEAR(s[1], -log(4.0), TOL);
    /* T = 2: logits/2 = (ln √3, 0). */
    baseline_energy(l, 2, 2, 2.0, s);
    CHECK_NEAR(s[1], -2.0 * log(sqrt(3.0) + 1.0), TOL);
    baseline_msp(l, 2, 2, 2.0, s);
    CHECK_NEAR(s[1], -sqrt(3.0) / (sqrt(3.0) + 1.0), TOL);
    /* Huge logits stay finite (the max is shifted out). */
    float big[2] = {1000, 999};
    baseline_energy(big, 1, 2, 1.0, s);
    CHECK_NEAR(s[0], -(1000.0 + log(1.0 + exp(-1.0))), 1e-3);
}

static void test_msp_keeps_resolution_at_temperature_1000(void) {
    /* ODIN's T = 1000 makes softmax nearly uniform; the scores of two rows that
     * differ by 1 in a logit must still differ. */
    float l[4] = {10, 0, 11, 0}, s[2];
    baseline_msp(l, 2, 2, 1000.0, s);
    CHECK(s[1] < s[0]);
    double e0 = exp(10.0 / 1000), e1 = exp(11.0 / 1000);
    CHECK_NEAR(s[0], -e0 / (e0 + 1), TOL);
    CHECK_NEAR(s[1], -e1 / (e1 + 1), TOL);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_select_kth_matches_sorting(void) {
    enum { N = 301 };
    float v[N], sorted[N], work[N];
    /* Few distinct values: many ties, the hard case for a partition. */
    for (int i = 0; i < N; i++) v[i] = (float)floor(rng_uniform(3, 0, (uint64_t)i) * 17);
    memcpy(sorted, v, sizeof v);
    qsort(sorted, N, sizeof(float), cmp_float);
    int bad = 0;
    for (int k = 0; k < N; k++) {
        memcpy(work, v, sizeof v);
        bad += select_kth(work, N, k) != sorted[k];
    }
    CHECK(bad == 0);
}

static void test_react_threshold_interpolates_like_numpy(void) {
    /* numpy.percentile(arange(10), 90) = 8.1, (.., 50) = 4.5, (.., 100) = 9. Stored
     * as 5 rows of 2 in a shuffled order. */
    float x[10] = {3, 9, 0, 7, 5, 1, 8, 2, 6, 4}, c;
    Err e;
    CHECK(react_threshold(x, 5, 2, 90, &c, &e) == LDE_OK);
    CHECK_NEAR(c, 8.1, 1e-6);
    CHECK(react_threshold(x, 5, 2, 50, &c, &e) == LDE_OK);
    CHECK_NEAR(c, 4.5, 1e-6);
    CHECK(react_threshold(x, 5, 2, 100, &c, &e) == LDE_OK);
    CHECK_NEAR(c, 9.0, 0);
}

static void test_react_clips_features_before_the_head(void) {
    /* z = (1, 5) clipped at 2 -> (1, 2); W = I, b = (0, 1): logits (1, 3). */
    float z[2] = {1, 5}, W[4] = {1, 0, 0, 1}, b[2] = {0, 1}, s;
    Err e;
    CHECK(baseline_react(z, 1, 2, 2.0f, W, b, 2, 1.0, &s, &e) == LDE_OK);
    CHECK_NEAR(s, -log(exp(1.0) + exp(3.0)), TOL);
    /* A threshold above every feature is plain Energy: logits (1, 6). */
    CHECK(baseline_react(z, 1, 2, 100.0f, W, b, 2, 1.0, &s, &e) == LDE_OK);
    CHECK_NEAR(s, -log(exp(1.0) + exp(6.0)), TOL);
}

static void test_mahalanobis_matches_hand_computed_distances(void) {
    /* Class 0: (±1, ±1) around (0, 0); class 1: the same around (4, 0). Each class
     * has covariance I, so the distance is Euclidean (up to the ridge λ = 1e-6). */
    float x[16] = {1, 1, -1, -1, 1, -1, -1, 1, 5, 1, 3, -1, 5, -1, 3, 1};
    int64_t y[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    Mahalanobis m;
    Err e;
    CHECK(mahalanobis_fit(&m, x, y, 8, 2, &e) == LDE_OK);
    CHECK_NEAR(m.ridge, 1e-6, 1e-12);
    float q[6] = {2, 0, 0, 3, 4, -1}, s[3];
    CHECK(mahalanobis_score(&m, q, 3, s, &e) == LDE_OK);
    /* (2,0): 4 from both means; (0,3): 9 from class 0; (4,-1): 1 from class 1. The
     * ridge scales each by 1/(1 + 1e-6). */
    CHECK_NEAR(s[0], 4.0, 1e-5);
    CHECK_NEAR(s[1], 9.0, 1e-5);
    CHECK_NEAR(s[2], 1.0, 1e-5);
    mahalanobis_free(&m);
}

/* In-place Gauss–Jordan inverse of a (n × n, row-major, double). */
static void invert(double *a, int n) {
    double *aug = calloc((size_t)n * 2 * n, sizeof(double));
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) aug[i * 2 * n + j] = a[i * n + j];
        aug[i * 2 * n + n + i] = 1;
    }
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(aug[r * 2 * n + c]) > fabs(aug[p * 2 * n + c])) p = r;
        for (int j = 0; j < 2 * n; j++) {
            double t = aug[c * 2 * n + j];
            aug[c * 2 * n + j] = aug[p * 2 * n + j], aug[p * 2 * n + j] = t;
        }
        double piv = aug[c * 2 * n + c];
        for (int j = 0; j < 2 * n; j++) aug[c * 2 * n + j] /= piv;
        for (int r = 0; r < n; r++) {
            if (r == c) continue;
            double f = aug[r * 2 * n + c];
            for (int j = 0; j < 2 * n; j++) aug[r * 2 * n + j] -= f * aug[c * 2 * n + j];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) a[i * n + j] = aug[i * 2 * n + n + j];
    free(aug);
}

static void test_mahalanobis_matches_a_direct_inverse(void) {
    enum { N = 300, D = 4, K = 3, Q = 20 };
    static float x[N * D], q[Q * D];
    int64_t y[N];
    /* Correlated, well-conditioned features: z = A·g + class offset. */
    for (int i = 0; i < N; i++) {
        y[i] = i % K;
        double g[D];
        for (int j = 0; j < D; j++) g[j] = rng_normal(5, 1, (uint64_t)(i * D + j));
        for (int j = 0; j < D; j++)
            x[i * D + j] =
                (float)(g[j] + 0.5 * g[(j + 1) % D] + 3.0 * (double)y[i] * (j == 0) + 1.0);
    }
    for (int i = 0; i < Q * D; i++) q[i] = (float)(3 * rng_normal(5, 2, (uint64_t)i));
    /* Reference in double: means, within-class covariance + ridge, its inverse. */
    double mu[K][D] = {{0}}, S[D * D] = {0};
    int cnt[K] = {0};
    for (int i = 0; i < N; i++) {
        cnt[y[i]]++;
        for (int j = 0; j < D; j++) mu[y[i]][j] += x[i * D + j];
    }
    for (int c = 0; c < K; c++)
        for (int j = 0; j < D; j++) mu[c][j] /= cnt[c];
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                S[a * D + b] += (x[i * D + a] - mu[y[i]][a]) * (x[i * D + b] - mu[y[i]][b]) / N;
    double tr = 0;
    for (int j = 0; j < D; j++) tr += S[j * D + j];
    for (int j = 0; j < D; j++) S[j * D + j] += 1e-6 * tr / D;
    invert(S, D);
    Mahalanobis m;
    Err e;
    float s[Q];
    CHECK(mahalanobis_fit(&m, x, y, N, D, &e) == LDE_OK);
    CHECK(mahalanobis_score(&m, q, Q, s, &e) == LDE_OK);
    double worst = 0;
    for (int i = 0; i < Q; i++) {
        double best = INFINITY;
        for (int c = 0; c < K; c++) {
            double v[D], dist = 0;
            for (int j = 0; j < D; j++) v[j] = q[i * D + j] - mu[c][j];
            for (int a = 0; a < D; a++)
                for (int b = 0; b < D; b++) dist += v[a] * S[a * D + b] * v[b];
            best = fmin(best, dist);
        }
        worst = fmax(worst, fabs(s[i] - best) / best);
    }
    /* float32 whitening GEMM and float32 covariance: ~1e-5 relative. */
    CHECK(worst < 1e-4);
    mahalanobis_free(&m);
}

static void test_knn_matches_hand_computed_distances(void) {
    /* Training directions (1,0), (0,3), (-2,0); query (2,0) normalises to (1,0):
     * distances 0, √2, 2. */
    float t[6] = {1, 0, 0, 3, -2, 0}, qv[2] = {2, 0}, s;
    Err e;
    for (int k = 1; k <= 3; k++) {
        Knn m;
        CHECK(knn_fit(&m, t, 3, 2, k, &e) == LDE_OK);
        CHECK(knn_score(&m, qv, 1, &s, &e) == LDE_OK);
        CHECK_NEAR(s, k == 1 ? 0.0 : k == 2 ? sqrt(2.0) : 2.0, 1e-3);
        knn_free(&m);
    }
    Knn m;
    CHECK(knn_fit(&m, t, 3, 2, 4, &e) == LDE_EINPUT);
}

static void test_knn_matches_brute_force(void) {
    /* More queries than one GEMM block (256), so the blocking is exercised. */
    enum { N = 400, D = 6, Q = 300, K = 7 };
    static float t[N * D], q[Q * D], s[Q];
    for (int i = 0; i < N * D; i++) t[i] = (float)rng_normal(8, 1, (uint64_t)i);
    for (int i = 0; i < Q * D; i++) q[i] = (float)rng_normal(8, 2, (uint64_t)i);
    Knn m;
    Err e;
    CHECK(knn_fit(&m, t, N, D, K, &e) == LDE_OK);
    CHECK(knn_score(&m, q, Q, s, &e) == LDE_OK);
    double worst = 0;
    static float dist[N];
    for (int i = 0; i < Q; i++) {
        double qn = 0;
        for (int j = 0; j < D; j++) qn += (double)q[i * D + j] * q[i * D + j];
        for (int r = 0; r < N; r++) {
            double tn = 0, d2 = 0;
            for (int j = 0; j < D; j++) tn += (double)t[r * D + j] * t[r * D + j];
            for (int j = 0; j < D; j++) {
                double v = q[i * D + j] / sqrt(qn) - t[r * D + j] / sqrt(tn);
                d2 += v * v;
            }
            dist[r] = (float)sqrt(d2);
        }
        qsort(dist, N, sizeof(float), cmp_float);
        worst = fmax(worst, fabs(s[i] - dist[K - 1]));
    }
    /* The GEMM expansion ‖q‖² + ‖t‖² − 2q·t of unit vectors: ~1e-6 absolute in d²,
     * so ~1e-4 near distance 0.01 and far less at the typical distance ~1. */
    CHECK(worst < 1e-4);
    knn_free(&m);
}

/* KNN and Mahalanobis with n threads (their GEMMs and parallel loops). */
static void scores_with_threads(int threads, float *knn, float *mah) {
    enum { N = 700, D = 16, Q = 300 };
    static float t[N * D], q[Q * D];
    int64_t y[N];
    for (int i = 0; i < N * D; i++) t[i] = (float)rng_normal(11, 1, (uint64_t)i);
    for (int i = 0; i < Q * D; i++) q[i] = (float)rng_normal(11, 2, (uint64_t)i);
    for (int i = 0; i < N; i++) y[i] = i % 5;
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    Knn k;
    Mahalanobis m;
    Err e;
    CHECK(knn_fit(&k, t, N, D, 50, &e) == LDE_OK && knn_score(&k, q, Q, knn, &e) == LDE_OK);
    CHECK(mahalanobis_fit(&m, t, y, N, D, &e) == LDE_OK &&
          mahalanobis_score(&m, q, Q, mah, &e) == LDE_OK);
    knn_free(&k), mahalanobis_free(&m);
    omp_set_num_threads(saved);
}

static void test_knn_and_mahalanobis_same_bits_at_1_and_2_threads(void) {
    static float k1[300], m1[300], k2[300], m2[300];
    scores_with_threads(1, k1, m1);
    scores_with_threads(2, k2, m2);
    CHECK(memcmp(k1, k2, sizeof k1) == 0);
    CHECK(memcmp(m1, m2, sizeof m1) == 0);
}

/* A tiny cnn: finite differences over its input stay cheap. */
typedef struct {
    Backbone bb;
    BackboneWork *w;
} Tiny;

static void tiny_init(Tiny *t, int B) {
    BackboneShape s = backbone_shape_default(BACKBONE_CNN);
    s.nstages = 2, s.width[0] = 3, s.width[1] = 4, s.stride[0] = 2, s.stride[1] = 2;
    s.nclasses = 4;
    Err e;
    CHECK(backbone_init(&t->bb, &s, 13, &e) == LDE_OK);
    t->bb.in_mean = 0.3f, t->bb.in_std = 0.4f;
    t->w = backbone_work_new(&t->bb, B);
}

/* Cross-entropy of softmax(f(x)/T) at class c, and the argmax, in double. */
static double tiny_xent(Tiny *t, const float *x, double T, int *argmax) {
    const float *feat, *l;
    backbone_forward(&t->bb, t->w, x, 1, 0, &feat, &l);
    int K = t->bb.shape.nclasses, c = 0;
    for (int k = 1; k < K; k++)
        if (l[k] > l[c]) c = k;
    double mx = l[c] / T, z = 0;
    for (int k = 0; k < K; k++) z += exp(l[k] / T - mx);
    if (*argmax < 0) *argmax = c;
    return log(z) + mx - l[*argmax] / T;
}

static void test_odin_steps_against_the_cross_entropy_gradient_by_finite_differences(void) {
    Tiny t;
    tiny_init(&t, 1);
    static float x[BACKBONE_PIXELS], xt[BACKBONE_PIXELS], xp[BACKBONE_PIXELS];
    rng_fill_uniform(x, BACKBONE_PIXELS, 0, 1, 13, 1, 0);
    const double T = 1.0, eps = 1e-3, h = 1e-2;
    odin_perturb(&t.bb, t.w, x, 1, T, eps, xt);
    int pred = -1;
    double base = tiny_xent(&t, x, T, &pred);
    /* Every 7th pixel: the step is −ε·sign of the central difference wherever the
     * difference is clearly above float noise (loss ~1, float rounding ~1e-7, so
     * |FD| > 1e-4 is ~10× above the noise 1e-7/h of a step of h = 1e-2). */
    int checked = 0, wrong = 0, magnitude = 0;
    for (int p = 0; p < BACKBONE_PIXELS; p += 7) {
        memcpy(xp, x, sizeof x);
        xp[p] = x[p] + (float)h;
        double up = tiny_xent(&t, xp, T, &pred);
        xp[p] = x[p] - (float)h;
        double down = tiny_xent(&t, xp, T, &pred);
        double g = (up - down) / (2 * h);
        double step = (double)xt[p] - x[p];
        magnitude += fabs(fabs(step) - eps) < 1e-6 || step == 0;
        if (fabs(g) < 1e-4) continue;
        checked++;
        wrong += (g > 0) != (step < 0);
    }
    CHECK(checked > 20);
    CHECK(wrong == 0);
    CHECK(magnitude == (BACKBONE_PIXELS + 6) / 7);
    /* The step descends the cross-entropy of the predicted class. */
    CHECK(tiny_xent(&t, xt, T, &pred) < base);
    backbone_work_free(t.w);
    backbone_free(&t.bb);
}

static void test_odin_raises_the_tempered_top_softmax(void) {
    enum { B = 5 };
    Tiny t;
    tiny_init(&t, B);
    static float x[B * BACKBONE_PIXELS], xt[B * BACKBONE_PIXELS];
    rng_fill_uniform(x, B * BACKBONE_PIXELS, 0, 1, 13, 2, 0);
    float before[B], after[B];
    const float *feat, *l;
    backbone_forward(&t.bb, t.w, x, B, 0, &feat, &l);
    baseline_msp(l, B, t.bb.shape.nclasses, 1000.0, before);
    Err e;
    CHECK(baseline_odin(&t.bb, x, B, 1000.0, 0.0014, after, &e) == LDE_OK);
    /* Scores are −max softmax: lower after the step means a higher top softmax. */
    for (int i = 0; i < B; i++) CHECK(after[i] < before[i]);
    odin_perturb(&t.bb, t.w, x, B, 1000.0, 0.0014, xt);
    backbone_forward(&t.bb, t.w, xt, B, 0, &feat, &l);
    float direct[B];
    baseline_msp(l, B, t.bb.shape.nclasses, 1000.0, direct);
    CHECK(memcmp(direct, after, sizeof direct) == 0);
    backbone_work_free(t.w);
    backbone_free(&t.bb);
}

static void test_labels_name_options_that_differ_from_defaults(void) {
    char buf[160];
    BaselineSpec b = baseline_default(BL_KNN);
    baseline_label(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "knn") == 0);
    b.k = 10;
    baseline_label(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "knn[k=10]") == 0);
    b = baseline_default(BL_ODIN);
    b.eps = 0.002;
    baseline_label(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "odin[eps=0.002]") == 0);
    b = baseline_default(BL_REACT);
    b.percentile = 95, b.T = 2;
    baseline_label(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "react[T=2,percentile=95]") == 0);
}

static void test_unavailable_methods_say_why(void) {
    FeatureSet fs;
    memset(&fs, 0, sizeof fs);
    BaselineSpec odin = baseline_default(BL_ODIN), msp = baseline_default(BL_MSP),
                 mah = baseline_default(BL_MAHALANOBIS), knn = baseline_default(BL_KNN);
    /* User features without head or labels: only KNN runs. */
    CHECK(baseline_unavailable(&fs, &odin) != NULL);
    CHECK(baseline_unavailable(&fs, &msp) != NULL);
    CHECK(baseline_unavailable(&fs, &mah) != NULL);
    CHECK(baseline_unavailable(&fs, &knn) == NULL);
    float W[1] = {0};
    int64_t y[1] = {0};
    fs.head_W = W, fs.train_labels = y;
    CHECK(baseline_unavailable(&fs, &msp) == NULL);
    CHECK(baseline_unavailable(&fs, &mah) == NULL);
    CHECK(strstr(baseline_unavailable(&fs, &odin), "built-in") != NULL);
    fs.builtin = 1;
    CHECK(baseline_unavailable(&fs, &odin) == NULL);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_msp_and_energy_match_hand_computed_values),
        UNIT(test_msp_keeps_resolution_at_temperature_1000),
        UNIT(test_select_kth_matches_sorting),
        UNIT(test_react_threshold_interpolates_like_numpy),
        UNIT(test_react_clips_features_before_the_head),
        UNIT(test_mahalanobis_matches_hand_computed_distances),
        UNIT(test_mahalanobis_matches_a_direct_inverse),
        UNIT(test_knn_matches_hand_computed_distances),
        UNIT(test_knn_matches_brute_force),
        UNIT(test_knn_and_mahalanobis_same_bits_at_1_and_2_threads),
        UNIT(test_odin_steps_against_the_cross_entropy_gradient_by_finite_differences),
        UNIT(test_odin_raises_the_tempered_top_softmax),
        UNIT(test_labels_name_options_that_differ_from_defaults),
        UNIT(test_unavailable_methods_say_why),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
}
