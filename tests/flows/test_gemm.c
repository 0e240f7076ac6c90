/* test_gemm.c — the fixed-tile GEMM: right answers for every transpose, and the
 * same bits with 1 and 2 threads. */
#include "flows/blas.h"
#include "flows/gemm.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Shapes that cross tile edges in both directions (GEMM_TILE_M 128, _N 256). */
enum { M = 300, N = 517, K = 77 };

static float *randn(long n, uint64_t stream) {
    float *a = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) a[i] = (float)rng_normal(11, stream, (uint64_t)i);
    return a;
}

/* Element (i,j) of op(X) for X stored row-major with leading dimension ld. */
static double at(const float *X, int ld, int trans, int i, int j) {
    return trans ? X[(long)j * ld + i] : X[(long)i * ld + j];
}

static void test_gemm_matches_double_reference_all_transposes(void) {
    float *A = randn((long)M * K, 1), *B = randn((long)K * N, 2), *C0 = randn((long)M * N, 3);
    float *C = malloc(sizeof(float) * M * N);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = ta ? M : K, ldb = tb ? K : N;
            memcpy(C, C0, sizeof(float) * M * N);
            gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 2.0f, C, N);
            double worst = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++) s += at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                    double want = 0.5 * s + 2.0 * C0[(long)i * N + j];
                    worst = fmax(worst, fabs(C[(long)i * N + j] - want));
                }
            /* float32 sums of 77 products of N(0,1) values: error ~1e-6 relative to ~9. */
            CHECK(worst < 1e-4);
        }
    free(A), free(B), free(C0), free(C);
}

static void test_gemm_same_bits_with_one_and_two_threads(void) {
    float *A = randn((long)M * K, 4), *B = randn((long)N * K, 5);
    float *C1 = calloc((size_t)M * N, sizeof(float)), *C2 = calloc((size_t)M * N, sizeof(float));
    omp_set_num_threads(1);
    gemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
    omp_set_num_threads(2);
    gemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
    CHECK(memcmp(C1, C2, sizeof(float) * M * N) == 0);
    free(A), free(B), free(C1), free(C2);
}

/* One tile with a long K (a conv weight gradient): OpenBLAS must not split it over
 * threads of its own. */
static void test_gemm_long_k_tile_same_bits_with_one_and_two_threads(void) {
    enum { m = 32, n = 9, k = 100000 };
    float *A = randn((long)m * k, 6), *B = randn((long)n * k, 7), C1[m * n], C2[m * n];
    omp_set_num_threads(1);
    gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 0.0f, C1, n);
    omp_set_num_threads(2);
    gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 0.0f, C2, n);
    CHECK(memcmp(C1, C2, sizeof C1) == 0);
    free(A), free(B);
}

/* One tile (64×64 with K = 256, Aᵀ·B as in a weight gradient): OpenBLAS left to thread
 * it gave different bits at 1 and 2 threads before gemm kept it inside the team. */
static void test_gemm_single_tile_same_bits_with_one_and_two_threads(void) {
    enum { S = 64, KK = 256 };
    float *A = randn((long)KK * S, 6), *B = randn((long)KK * S, 7);
    float *C1 = calloc((size_t)S * S, sizeof(float)), *C2 = calloc((size_t)S * S, sizeof(float));
    omp_set_num_threads(1);
    gemm(1, 0, S, S, KK, 1.0f, A, S, B, S, 0.0f, C1, S);
    omp_set_num_threads(2);
    gemm(1, 0, S, S, KK, 1.0f, A, S, B, S, 0.0f, C2, S);
    CHECK(memcmp(C1, C2, sizeof(float) * S * S) == 0);
    free(A), free(B), free(C1), free(C2);
}

/* gemm_lower: the tiles holding lower-triangle elements have gemm's bits (the
 * covariance of pca.c relies on it); the tiles wholly above the diagonal are left as
 * they were. A symmetric AᵀA of 600 × 600 crosses tile edges both ways. */
static void test_gemm_lower_has_gemm_bits_below_the_diagonal(void) {
    enum { D = 600, R = 90 };
    float *A = randn((long)R * D, 7);
    float *full = malloc(sizeof(float) * D * D), *low = malloc(sizeof(float) * D * D);
    gemm(1, 0, D, D, R, 1.0f, A, D, A, D, 0.0f, full, D);
    for (long i = 0; i < (long)D * D; i++) low[i] = -7.0f;
    gemm_lower(1, 0, D, D, R, 1.0f, A, D, A, D, 0.0f, low, D);
    int lower_same = 1, above_untouched = 1;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            if (j <= i) lower_same &= memcmp(&low[i * D + j], &full[i * D + j], 4) == 0;
            /* Tile (rows of i, columns of j) lies wholly above the diagonal. */
            int i_end = (i / GEMM_TILE_M) * GEMM_TILE_M + GEMM_TILE_M - 1;
            if ((j / GEMM_TILE_N) * GEMM_TILE_N > i_end) above_untouched &= low[i * D + j] == -7.0f;
        }
    CHECK(lower_same);
    CHECK(above_untouched);
    free(A), free(full), free(low);
}

/* A batch of 64 rows times 256 or 128 outputs with a long K (a coupling's last layer
 * and its first layer's input gradient) is cut into narrower column tiles so two
 * threads share it. Its bits must be the same at 1 and 2 threads on any kernel. On
 * OpenBLAS's SkylakeX kernels (the project machine's) they must also be those of
 * one wide tile, one OpenBLAS call in one thread: what gemm computed before the cut,
 * and what stored results hold. (Other kernel families, Haswell and Zen, sum in an
 * order that depends on the tile width; there the cut moves the last bits once.) */
static void test_gemm_column_split_keeps_the_bits(void) {
    static const int shapes[][5] = {
        {0, 1, 64, 256, 2048}, {0, 0, 64, 128, 2048}, {0, 1, 64, 200, 2048}, {0, 0, 100, 256, 512}};
    int skylakex = strcasecmp(openblas_get_corename(), "skylakex") == 0;
    for (int s = 0; s < 4; s++) {
        int ta = shapes[s][0], tb = shapes[s][1], m = shapes[s][2], n = shapes[s][3];
        int k = shapes[s][4], lda = ta ? m : k, ldb = tb ? k : n;
        float *A = randn((long)m * k, 8), *B = randn((long)k * n, 9);
        for (int beta = 0; beta < 2; beta++) {
            float *C1 = randn((long)m * n, 10), *C2 = randn((long)m * n, 10);
            float *wide = randn((long)m * n, 10);
            omp_set_num_threads(1);
            gemm(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, (float)beta, C1, n);
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A, lda, B, ldb, (float)beta,
                        wide, n);
            omp_set_num_threads(2);
            gemm(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, (float)beta, C2, n);
            CHECK(memcmp(C1, C2, sizeof(float) * m * n) == 0);
            if (skylakex) CHECK(memcmp(C2, wide, sizeof(float) * m * n) == 0);
            free(C1), free(C2), free(wide);
        }
        free(A), free(B);
    }
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_gemm_matches_double_reference_all_transposes),
        UNIT(test_gemm_same_bits_with_one_and_two_threads),
        UNIT(test_gemm_single_tile_same_bits_with_one_and_two_threads),
        UNIT(test_gemm_lower_has_gemm_bits_below_the_diagonal),
        UNIT(test_gemm_long_k_tile_same_bits_with_one_and_two_threads),
        UNIT(test_gemm_column_split_keeps_the_bits),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
