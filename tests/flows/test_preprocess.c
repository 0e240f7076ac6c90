/* test_preprocess.c — drop_constant, L2 normalization, PCA order, dequantization
 * noise, bpd, the feature health check, and the serialized round trip. */
#include "flows/gemm.h"
#include "flows/preprocess.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { N = 500, D = 8 };

/* N×D rows: dimension 2 constant 5, dimension 5 constant 0, the others normal with
 * mean 1 and different spreads. */
static float *features(void) {
    float *x = malloc(sizeof(float) * N * D);
    rng_fill_normal(x, N * D, 1.0f, 1.0f, 3, 1, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) x[i * D + j] *= (float)(j + 1);
        x[i * D + 2] = 5.0f;
        x[i * D + 5] = 0.0f;
    }
    return x;
}

static void test_drop_constant_keeps_varying_dims_in_order(void) {
    float *x = features(), *y = malloc(sizeof(float) * N * D);
    PreprocessConfig cfg = preprocess_config_default();
    cfg.drop_constant = 1;
    Preprocess p;
    const char *why = NULL;
    CHECK(preprocess_fit(&p, &cfg, x, N, D, &why) == 0);
    CHECK(p.d_kept == 6 && p.d_out == 6);
    CHECK(preprocess_apply(&p, x, y, N) == 0);
    const int keep[6] = {0, 1, 3, 4, 6, 7};
    int same = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 6; j++) same &= y[i * 6 + j] == x[i * D + keep[j]];
    CHECK(same);
    preprocess_free(&p);
    free(x), free(y);
}

static void test_normalize_gives_unit_rows_and_keeps_zero_rows(void) {
    float *x = features(), *y = malloc(sizeof(float) * N * D);
    memset(x, 0, sizeof(float) * D); /* row 0 all zeros */
    PreprocessConfig cfg = preprocess_config_default();
    cfg.normalize = 1;
    Preprocess p;
    const char *why = NULL;
    CHECK(preprocess_fit(&p, &cfg, x, N, D, &why) == 0);
    CHECK(preprocess_apply(&p, x, y, N) == 0);
    for (int j = 0; j < D; j++) CHECK(y[j] == 0.0f);
    double worst = 0;
    for (int i = 1; i < N; i++) {
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)y[i * D + j] * y[i * D + j];
        worst = fmax(worst, fabs(sqrt(ss) - 1));
    }
    CHECK(worst < 1e-6); /* float rounding of 8 entries */
    preprocess_free(&p);
    free(x), free(y);
}

static void test_pca_is_fitted_on_normalized_latents(void) {
    /* With normalize + pca, the result equals pca_fit/pca_project of the normalized
     * rows done by hand, bit for bit. */
    float *x = features(), *xn = malloc(sizeof(float) * N * D);
    float *y = malloc(sizeof(float) * N * 3), *want = malloc(sizeof(float) * N * 3);
    PreprocessConfig cfg = preprocess_config_default();
    cfg.normalize = 1;
    Preprocess only_norm, p;
    const char *why = NULL;
    CHECK(preprocess_fit(&only_norm, &cfg, x, N, D, &why) == 0);
    CHECK(preprocess_apply(&only_norm, x, xn, N) == 0);
    Pca ref;
    CHECK(pca_fit(&ref, xn, N, D, 3) == 0);
    CHECK(pca_project(&ref, xn, want, N) == 0);
    cfg.pca = 3;
    CHECK(preprocess_fit(&p, &cfg, x, N, D, &why) == 0);
    CHECK(p.d_out == 3);
    CHECK(preprocess_apply(&p, x, y, N) == 0);
    CHECK(memcmp(y, want, sizeof(float) * N * 3) == 0);
    pca_free(&ref);
    preprocess_free(&only_norm), preprocess_free(&p);
    free(x), free(xn), free(y), free(want);
}

static void test_dequantize_noise_bounded_keyed_and_thread_independent(void) {
    enum { B = 300, DD = 256 }; /* B·DD > 65536: the fill runs in parallel */
    const float eps = 1.0f / 1024;
    float *a = calloc(B * DD, sizeof(float)), *b = calloc(B * DD, sizeof(float));
    float *c = calloc(B * DD, sizeof(float));
    omp_set_num_threads(1);
    preprocess_dequantize(a, B, DD, eps, 9, 4);
    omp_set_num_threads(2);
    preprocess_dequantize(b, B, DD, eps, 9, 4);
    preprocess_dequantize(c, B, DD, eps, 9, 5);
    CHECK(memcmp(a, b, sizeof(float) * B * DD) == 0);
    CHECK(memcmp(a, c, sizeof(float) * B * DD) != 0);
    double s = 0;
    int inside = 1;
    for (int i = 0; i < B * DD; i++) {
        inside &= a[i] >= -eps / 2 && a[i] < eps / 2;
        s += a[i];
    }
    CHECK(inside);
    /* Mean of 76,800 U(−ε/2, ε/2) values: std ε/sqrt(12·76800) ≈ 1e-6; allow 5σ. */
    CHECK_NEAR(s / (B * DD), 0.0, 5e-6);
    free(a), free(b), free(c);
}

static void test_bpd_formula(void) {
    /* log p = 0 in any d: bpd = −log2 ε = 10 for ε = 1/1024; a density of 2^-d per
     * unit volume adds exactly 1 bit per dimension. */
    CHECK_NEAR(preprocess_bpd(0.0, 10, 1.0 / 1024), 10.0, 1e-12);
    CHECK_NEAR(preprocess_bpd(-7 * M_LN2, 7, 1.0 / 1024), 11.0, 1e-12);
    CHECK_NEAR(preprocess_bpd(-3.0, 3, 0.5), 1.0 / M_LN2 + 1.0, 1e-12);
}

static void test_health_flags_constant_and_mostly_zero_dims(void) {
    /* 20 rows: dim 0 constant 5; dim 1 has 19 zeros (95%); dim 2 has 18 (exactly
     * 90%, not more); dim 3 varies; dim 4 constant 0 (both flags). */
    float x[20 * 5];
    for (int i = 0; i < 20; i++) {
        x[i * 5 + 0] = 5;
        x[i * 5 + 1] = i == 0 ? 1.0f : 0.0f;
        x[i * 5 + 2] = i < 2 ? 1.0f : 0.0f;
        x[i * 5 + 3] = (float)i;
        x[i * 5 + 4] = 0;
    }
    unsigned char f[5];
    CHECK(preprocess_health(x, 20, 5, f) == 3);
    CHECK(f[0] == HEALTH_CONSTANT);
    CHECK(f[1] == HEALTH_MOSTLY_ZERO);
    CHECK(f[2] == 0);
    CHECK(f[3] == 0);
    CHECK(f[4] == (HEALTH_CONSTANT | HEALTH_MOSTLY_ZERO));
}

/* A source that copies rows out of an array (as a converted file would), in the
 * chunks the reader asks for. */
typedef struct {
    const float *x;
    int d;
} Copier;

static const float *copied_rows(void *ctx, long r0, long m, float *buf) {
    const Copier *c = ctx;
    memcpy(buf, c->x + r0 * c->d, sizeof(float) * (size_t)(m * c->d));
    return buf;
}

/* The streamed health check and fit (drop_constant, normalize, PCA) over a copying
 * source: the same flags and the same serialized bytes as on the array. 2100 rows
 * cross the 1024-row chunks. */
static void test_streamed_fit_and_health_match_the_array(void) {
    enum { R = 2100, W = 40 };
    float *x = malloc(sizeof(float) * R * W);
    rng_fill_normal(x, R * W, 0.5f, 1.0f, 9, 2, 0);
    for (int i = 0; i < R; i++) x[i * W + 7] = 2.0f, x[i * W + 9] = i % 20 ? 0.0f : x[i * W + 9];
    Copier c = {x, W};
    RowSource src = {R, W, copied_rows, &c};
    unsigned char fa[W], fb[W];
    CHECK(preprocess_health(x, R, W, fa) == preprocess_health_rows(&src, fb));
    CHECK(memcmp(fa, fb, W) == 0 && fa[7] == HEALTH_CONSTANT && fa[9] == HEALTH_MOSTLY_ZERO);
    PreprocessConfig cfg = {.drop_constant = 1, .normalize = 1, .pca = 12, .epsilon = 1e-3f};
    Preprocess a, b;
    const char *why = NULL;
    CHECK(preprocess_fit(&a, &cfg, x, R, W, &why) == 0);
    CHECK(preprocess_fit_rows(&b, &cfg, &src, &why) == 0);
    long na = preprocess_serialized_size(&a), nb = preprocess_serialized_size(&b);
    unsigned char *sa = malloc((size_t)na), *sb = malloc((size_t)nb);
    preprocess_serialize(&a, sa);
    preprocess_serialize(&b, sb);
    CHECK(na == nb && memcmp(sa, sb, (size_t)na) == 0);
    free(sa), free(sb), free(x);
    preprocess_free(&a), preprocess_free(&b);
}

/* Rows gathered from anywhere (a batch of 1, 64, 200 or 300 rows in shuffled
 * order) come out of preprocess_apply_batch with the bits preprocess_apply gives
 * them in the whole set, for every row in a full 128-row tile; d = 256 and k = 64
 * as the built-in features with PCA. */
static void test_batch_rows_have_the_bits_of_the_whole_set(void) {
    enum { R = 1000, W = 256, KP = 64 };
    float *x = malloc(sizeof(float) * R * W), *all = malloc(sizeof(float) * R * KP);
    rng_fill_normal(x, R * W, 0.3f, 1.0f, 4, 3, 0);
    PreprocessConfig cfg = {.normalize = 1, .pca = KP, .epsilon = 1e-3f};
    Preprocess p;
    const char *why = NULL;
    CHECK(preprocess_fit(&p, &cfg, x, R, W, &why) == 0);
    CHECK(preprocess_apply(&p, x, all, R) == 0);
    long full = R - R % GEMM_TILE_M;
    const long sizes[] = {1, 64, 200, 300};
    float *batch = malloc(sizeof(float) * 300 * W), *y = malloc(sizeof(float) * 300 * KP);
    int same = 1;
    for (int s = 0; s < 4; s++) {
        long idx[300];
        for (long i = 0; i < sizes[s]; i++) {
            idx[i] = (i * 7919 + s * 31) % full;
            memcpy(batch + i * W, x + idx[i] * W, sizeof(float) * W);
        }
        CHECK(preprocess_apply_batch(&p, batch, y, sizes[s]) == 0);
        for (long i = 0; i < sizes[s]; i++)
            same &= memcmp(y + i * KP, all + idx[i] * KP, sizeof(float) * KP) == 0;
    }
    CHECK(same);
    preprocess_free(&p);
    free(x), free(all), free(batch), free(y);
}

static void test_serialized_preprocess_applies_identically(void) {
    float *x = features(), *y1 = malloc(sizeof(float) * N * 4), *y2 = malloc(sizeof(float) * N * 4);
    PreprocessConfig cfg = {.drop_constant = 1, .normalize = 1, .pca = 4, .epsilon = 0.25f};
    Preprocess p, q;
    const char *why = NULL;
    CHECK(preprocess_fit(&p, &cfg, x, N, D, &why) == 0);
    long size = preprocess_serialized_size(&p);
    unsigned char *buf = malloc((size_t)size);
    preprocess_serialize(&p, buf);
    CHECK(preprocess_deserialize(&q, buf, size, &why) == 0);
    CHECK(q.d_in == D && q.d_kept == 6 && q.d_out == 4 && q.cfg.epsilon == 0.25f);
    CHECK(preprocess_apply(&p, x, y1, N) == 0);
    CHECK(preprocess_apply(&q, x, y2, N) == 0);
    CHECK(memcmp(y1, y2, sizeof(float) * N * 4) == 0);
    preprocess_free(&q);
    /* Truncated, padded and corrupted buffers are refused with a reason. */
    CHECK(preprocess_deserialize(&q, buf, size - 1, &why) == -1);
    CHECK(preprocess_deserialize(&q, buf, 20, &why) == -1 && strstr(why, "truncated"));
    buf[0] = 'X';
    CHECK(preprocess_deserialize(&q, buf, size, &why) == -1 && strstr(why, "magic"));
    preprocess_free(&p);
    free(buf), free(x), free(y1), free(y2);
}

static void test_fit_rejects_pca_larger_than_kept_dims(void) {
    float *x = features();
    PreprocessConfig cfg = {.drop_constant = 1, .normalize = 0, .pca = 7, .epsilon = 0.001f};
    Preprocess p;
    const char *why = NULL;
    /* 8 dims, 2 constant: 6 left, pca 7 is impossible. */
    CHECK(preprocess_fit(&p, &cfg, x, N, D, &why) == -1);
    CHECK(why && strstr(why, "pca"));
    float flat[4 * 2] = {1, 2, 1, 2, 1, 2, 1, 2};
    cfg.pca = 0;
    CHECK(preprocess_fit(&p, &cfg, flat, 4, 2, &why) == -1 && strstr(why, "constant"));
    free(x);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_streamed_fit_and_health_match_the_array),
        UNIT(test_batch_rows_have_the_bits_of_the_whole_set),
        UNIT(test_drop_constant_keeps_varying_dims_in_order),
        UNIT(test_normalize_gives_unit_rows_and_keeps_zero_rows),
        UNIT(test_pca_is_fitted_on_normalized_latents),
        UNIT(test_dequantize_noise_bounded_keyed_and_thread_independent),
        UNIT(test_bpd_formula),
        UNIT(test_health_flags_constant_and_mostly_zero_dims),
        UNIT(test_serialized_preprocess_applies_identically),
        UNIT(test_fit_rejects_pca_larger_than_kept_dims),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
