/* gemm.h — row-major SGEMM that gives the same bits at any thread count.
 *
 * OpenBLAS splits one SGEMM across threads in a way that depends on the thread
 * count, and its summation order changes with it (measured: results differ in the
 * last bits between OMP_NUM_THREADS=1 and 2). lde promises identical numbers
 * whatever the thread count, so every matrix product goes through gemm(): C is cut
 * into tiles of a fixed size (GEMM_TILE_M x GEMM_TILE_N, independent of the thread
 * count), the tiles are shared out by an OpenMP loop, and each tile is one
 * single-threaded cblas_sgemm (OpenBLAS runs single-threaded inside a parallel
 * region). The K reduction of every element is then always done by one kernel
 * call of the same shape, in the same order. */
#ifndef LDE_GEMM_H
#define LDE_GEMM_H

enum { GEMM_TILE_M = 128, GEMM_TILE_N = 256 };

/* A product with fewer than GEMM_MIN_TILES such tiles has them cut into narrower
 * column tiles (down to GEMM_TILE_N_MIN columns, each over GEMM_SPLIT_MIN
 * multiply-adds), so two threads share it; the bits stay those of the wide tile
 * (gemm.c's tile_cols says why). */
enum { GEMM_MIN_TILES = 4, GEMM_TILE_N_MIN = 64, GEMM_SPLIT_MIN = 1 << 22 };

/* C (M,N) = alpha · op(A) · op(B) + beta · C, all row-major.
 *   op(A) is (M,K): A (M,K) with lda >= K, or Aᵀ of A (K,M) with lda >= M when transA.
 *   op(B) is (K,N): B (K,N) with ldb >= N, or Bᵀ of B (N,K) with ldb >= K when transB.
 * Safe to call from inside a parallel region (it then runs in the calling thread). */
void gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc);

/* gemm restricted to the tiles of C that hold an element C[i][j] with j <= i (the
 * lower triangle, diagonal included); other tiles are left as they were. Each
 * computed tile is the same call as in gemm, so those elements have gemm's bits:
 * a symmetric product (AᵀA, a covariance) costs about half, as SYRK would, without
 * SYRK's different summation. */
void gemm_lower(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);

#endif
