/* gemm.c — fixed-tile, thread-count-independent SGEMM over OpenBLAS (see gemm.h). */
#include "flows/gemm.h"

#include "flows/blas.h"

#include <omp.h>

/* One tile: rows [i0, i0+m) and columns [j0, j0+n) of C. */
static void gemm_tile(int transA, int transB, int i0, int j0, int m, int n, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc) {
    /* op(A) rows i0.. start at row i0 of A, or at column i0 of A when transposed. */
    const float *a = transA ? A + i0 : A + (long)i0 * lda;
    /* op(B) columns j0.. start at column j0 of B, or at row j0 of B when transposed. */
    const float *b = transB ? B + (long)j0 * ldb : B + j0;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, K, alpha, a, lda, b, ldb, beta,
                C + (long)i0 * ldc + j0, ldc);
}

/* Columns per tile of an M×N×K product: GEMM_TILE_N, halved while the product has
 * fewer than GEMM_MIN_TILES tiles and every tile would still do more than
 * GEMM_SPLIT_MIN multiply-adds. Without it, a batch of 64 rows times at most 256
 * outputs (a coupling's last layer, the input gradient of its first) is one tile and
 * one thread: a third of a latent Glow step ran on one core. A function of the
 * shape only, so never of the thread count. Why the bits do not move: OpenBLAS
 * reduces each element over K in an order set by K alone (its K blocking) on its
 * normal path; only its small-matrix kernel (m·n·K <= 100³ on SkylakeX) sums
 * otherwise, and GEMM_SPLIT_MIN keeps every narrower tile far above that.
 * test_gemm.c compares the bits with one 256-column tile. */
static int tile_cols(int M, int N, int K) {
    int tm = (M + GEMM_TILE_M - 1) / GEMM_TILE_M, lastrows = M - (tm - 1) * GEMM_TILE_M;
    int cols = GEMM_TILE_N;
    while (tm * ((N + cols - 1) / cols) < GEMM_MIN_TILES && cols / 2 >= GEMM_TILE_N_MIN) {
        int half = cols / 2, last = N - (N - 1) / half * half; /* the narrowest tile */
        if ((double)lastrows * last * K <= GEMM_SPLIT_MIN) break;
        cols = half;
    }
    return cols;
}

/* The tiles of C, all of them or (lower) only those holding an element on or below
 * the diagonal. A tile's bits never depend on which other tiles are computed. */
static void gemm_tiles(int lower, int transA, int transB, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc) {
    if (M <= 0 || N <= 0) return;
    int tm = (M + GEMM_TILE_M - 1) / GEMM_TILE_M, cols = lower ? GEMM_TILE_N : tile_cols(M, N, K);
    int tn = (N + cols - 1) / cols;
    int ntiles = tm * tn;
    /* Even a one-tile product runs inside the team (one thread works): OpenBLAS
     * called outside a parallel region threads the product itself, and its split
     * changes the bits (measured: a 64×64×256 product at 1 vs 2 threads). Products
     * of at most 65536·4 multiply-adds OpenBLAS always runs in the calling thread
     * (its SMP threshold, GEMM_MULTITHREAD_THRESHOLD = 4), so they skip the parallel
     * region, whose start-up costs more than such a product. Dynamic scheduling
     * balances the skipped tiles of a lower product; it cannot change a tile. */
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel() &&                               \
                                               (ntiles > 1 || (double)M * N * K > 65536.0 * 4))
    for (int t = 0; t < ntiles; t++) {
        int i0 = (t / tn) * GEMM_TILE_M, j0 = (t % tn) * cols;
        int m = M - i0 < GEMM_TILE_M ? M - i0 : GEMM_TILE_M;
        int n = N - j0 < cols ? N - j0 : cols;
        if (lower && j0 > i0 + m - 1) continue;
        gemm_tile(transA, transB, i0, j0, m, n, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

void gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_tiles(0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_lower(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_tiles(1, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
