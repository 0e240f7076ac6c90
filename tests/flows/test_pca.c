/* test_pca.c — PCA: recovers a known covariance, orthonormal components with a fixed
 * sign, projections whose variances are the eigenvalues, same bits at 1 and 2 threads. */
#include "flows/blas.h"
#include "flows/gemm.h"
#include "flows/pca.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static float *randn(long n, uint64_t stream) {
    float *a = malloc(sizeof(float) * n);
    rng_fill_normal(a, n, 0.0f, 1.0f, 7, stream, 0);
    return a;
}

/* An orthonormal basis of R^5: identity rotated by 30° in the (0,1) plane and by 60°
 * in the (2,4) plane. Row i = u_i. */
static void rotated_basis(double u[5][5]) {
    memset(u, 0, sizeof(double) * 25);
    double c = cos(M_PI / 6), s = sin(M_PI / 6), c2 = cos(M_PI / 3), s2 = sin(M_PI / 3);
    u[0][0] = c, u[0][1] = s;
    u[1][0] = -s, u[1][1] = c;
    u[2][2] = c2, u[2][4] = s2;
    u[3][3] = 1;
    u[4][2] = -s2, u[4][4] = c2;
}

static void test_pca_recovers_known_covariance(void) {
    /* Rows ±s_i·u_i (10 rows, mean 0): the sample covariance is exactly
     * Σ_i 2 s_i² u_i u_iᵀ / 9, so the eigenvalues are 2 s_i²/9 and the axes ±u_i.
     * Only float rounding of the data separates the fit from this: tolerance 1e-5. */
    double u[5][5], sd[5] = {5, 4, 3, 2, 1};
    rotated_basis(u);
    float x[10 * 5];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            x[(2 * i) * 5 + j] = (float)(sd[i] * u[i][j]);
            x[(2 * i + 1) * 5 + j] = (float)(-sd[i] * u[i][j]);
        }
    Pca p;
    CHECK(pca_fit(&p, x, 10, 5, 3) == 0);
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(p.eigenvalues[c], 2 * sd[c] * sd[c] / 9, 1e-5 * sd[c] * sd[c]);
        double dot = 0;
        for (int j = 0; j < 5; j++) dot += p.components[c * 5 + j] * u[c][j];
        CHECK_NEAR(fabs(dot), 1.0, 1e-5);
    }
    for (int j = 0; j < 5; j++) CHECK_NEAR(p.mean[j], 0.0, 1e-6);
    pca_free(&p);
}

static void test_pca_components_orthonormal_with_fixed_sign(void) {
    enum { N = 2000, D = 40, K = 12 };
    float *x = randn((long)N * D, 1);
    for (long i = 0; i < (long)N * D; i++) x[i] *= (float)(1 + i % D); /* distinct spreads */
    Pca p;
    CHECK(pca_fit(&p, x, N, D, K) == 0);
    double worst = 0;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double dot = 0;
            for (int j = 0; j < D; j++)
                dot += (double)p.components[a * D + j] * p.components[b * D + j];
            worst = fmax(worst, fabs(dot - (a == b)));
        }
    /* double eigenvectors rounded to float: 40 terms of ~6e-8 relative error. */
    CHECK(worst < 1e-6);
    for (int c = 0; c < K; c++) {
        int big = 0;
        for (int j = 1; j < D; j++)
            if (fabsf(p.components[c * D + j]) > fabsf(p.components[c * D + big])) big = j;
        CHECK(p.components[c * D + big] > 0);
        if (c > 0) CHECK(p.eigenvalues[c] <= p.eigenvalues[c - 1]);
    }
    pca_free(&p);
    free(x);
}

static void test_pca_projection_variances_are_the_eigenvalues(void) {
    /* On the training rows, y_c = (x − μ)·v_c has sample variance v_cᵀΣv_c = λ_c. */
    enum { N = 3000, D = 30, K = 5 };
    float *x = randn((long)N * D, 2);
    for (long i = 0; i < (long)N * D; i++) x[i] = x[i] * (float)(1 + i % D) + 3.0f;
    Pca p;
    CHECK(pca_fit(&p, x, N, D, K) == 0);
    float *y = malloc(sizeof(float) * N * K);
    CHECK(pca_project(&p, x, y, N) == 0);
    for (int c = 0; c < K; c++) {
        double s = 0, ss = 0;
        for (int i = 0; i < N; i++) s += y[i * K + c], ss += (double)y[i * K + c] * y[i * K + c];
        double var = (ss - s * s / N) / (N - 1);
        /* float centring and products: relative error ~1e-6, allow 1e-4. */
        CHECK_NEAR(var / p.eigenvalues[c], 1.0, 1e-4);
        CHECK_NEAR(s / N, 0.0, 1e-3 * sqrt(p.eigenvalues[c]));
    }
    free(y);
    pca_free(&p);
    free(x);
}

static void test_pca_same_bits_with_one_and_two_threads(void) {
    /* d = 300 crosses gemm's 128x256 tiles and makes dsyevd big enough to thread. */
    enum { N = 2500, D = 300, K = 20 };
    float *x = randn((long)N * D, 3);
    Pca p1, p2;
    float *y1 = malloc(sizeof(float) * N * K), *y2 = malloc(sizeof(float) * N * K);
    omp_set_num_threads(1);
    CHECK(pca_fit(&p1, x, N, D, K) == 0);
    CHECK(pca_project(&p1, x, y1, N) == 0);
    omp_set_num_threads(2);
    CHECK(pca_fit(&p2, x, N, D, K) == 0);
    CHECK(pca_project(&p2, x, y2, N) == 0);
    CHECK(memcmp(p1.components, p2.components, sizeof(float) * D * K) == 0);
    CHECK(memcmp(p1.eigenvalues, p2.eigenvalues, sizeof(double) * K) == 0);
    CHECK(memcmp(y1, y2, sizeof(float) * N * K) == 0);
    pca_free(&p1), pca_free(&p2);
    free(x), free(y1), free(y2);
}

static void test_pca_rejects_invalid_shapes(void) {
    float x[6] = {0};
    Pca p;
    CHECK(pca_fit(&p, x, 3, 2, 3) == -1); /* k > d */
    CHECK(pca_fit(&p, x, 1, 2, 1) == -1); /* one row has no covariance */
    CHECK(p.components == NULL);
}

/* A source that hands out copies of an array's rows (never in place), as a file
 * converted from float16 would, and counts its passes. */
typedef struct {
    const float *x;
    int d;
    int passes;
} CopySource;

static const float *copy_rows(void *ctx, long r0, long m, float *buf) {
    CopySource *c = ctx;
    c->passes += r0 == 0;
    memcpy(buf, c->x + r0 * c->d, sizeof(float) * (size_t)(m * c->d));
    return buf;
}

/* The covariance as lde computed it before streaming (whole-array mean, the full
 * product per 1024-row block, summed in double): the reference of same bits. */
static void reference_covariance(const float *x, long n, int d, double *mean, double *cov) {
    memset(mean, 0, sizeof(double) * (size_t)d);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    float *block = malloc(sizeof(float) * 1024 * (size_t)d);
    float *part = malloc(sizeof(float) * (size_t)d * d);
    memset(cov, 0, sizeof(double) * (size_t)d * d);
    for (long r0 = 0; r0 < n; r0 += 1024) {
        int m = n - r0 < 1024 ? (int)(n - r0) : 1024;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < d; j++)
                block[(long)i * d + j] = (float)(x[(r0 + i) * d + j] - mean[j]);
        gemm(1, 0, d, d, m, 1.0f, block, d, block, d, 0.0f, part, d);
        for (long i = 0; i < (long)d * d; i++) cov[i] += part[i];
    }
    for (long i = 0; i < (long)d * d; i++) cov[i] /= (double)(n - 1);
    free(block), free(part);
}

/* Streamed over a copying source in two passes: the same bits as the fit on the
 * array, and as the fit before streaming (the full covariance product; dsyevd reads
 * only its lower row-major triangle, which the streamed fit reproduces). 2500 rows: two full blocks
 * and a partial one; d = 300 crosses GEMM tile edges. */
static void test_pca_streamed_fit_has_the_bits_of_the_array_fit(void) {
    enum { N = 2500, D = 300, K = 20 };
    float *x = randn((long)N * D, 5);
    for (long i = 0; i < (long)N * D; i++) x[i] = x[i] * (float)(1 + i % 7) + 0.5f;
    Pca a, b;
    CHECK(pca_fit(&a, x, N, D, K) == 0);
    CopySource c = {x, D, 0};
    RowSource src = {N, D, copy_rows, &c};
    CHECK(pca_fit_rows(&b, &src, K) == 0);
    CHECK(c.passes == 2);
    CHECK(memcmp(a.mean, b.mean, sizeof(float) * D) == 0);
    CHECK(memcmp(a.components, b.components, sizeof(float) * K * D) == 0);
    CHECK(memcmp(a.eigenvalues, b.eigenvalues, sizeof(double) * K) == 0);
    /* The whole fit as before streaming: full covariance, dsyevd on it. */
    double *mean = malloc(sizeof(double) * D), *cov = malloc(sizeof(double) * D * D);
    double *w = malloc(sizeof(double) * D);
    reference_covariance(x, N, D, mean, cov);
    int n = D, info = 0, lwork = -1, liwork = -1, iq = 0;
    double wq = 0;
    dsyevd_("V", "U", &n, cov, &n, w, &wq, &lwork, &iq, &liwork, &info);
    lwork = (int)wq, liwork = iq;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        dsyevd_("V", "U", &n, cov, &n, w, work, &lwork, iwork, &liwork, &info);
    }
    CHECK(info == 0);
    int same = 1;
    for (int c = 0; c < K; c++) {
        const double *v = cov + (long)(D - 1 - c) * D;
        int big = 0;
        for (int i = 1; i < D; i++)
            if (fabs(v[i]) > fabs(v[big])) big = i;
        double sign = v[big] < 0 ? -1.0 : 1.0;
        for (int i = 0; i < D; i++) same &= (float)(sign * v[i]) == b.components[c * D + i];
        same &= w[D - 1 - c] == b.eigenvalues[c];
    }
    for (int j = 0; j < D; j++) same &= (float)mean[j] == b.mean[j];
    CHECK(same);
    free(w), free(work), free(iwork);
    pca_free(&a), pca_free(&b);
    free(x), free(mean), free(cov);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_pca_streamed_fit_has_the_bits_of_the_array_fit),
        UNIT(test_pca_recovers_known_covariance),
        UNIT(test_pca_components_orthonormal_with_fixed_sign),
        UNIT(test_pca_projection_variances_are_the_eigenvalues),
        UNIT(test_pca_same_bits_with_one_and_two_threads),
        UNIT(test_pca_rejects_invalid_shapes),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
