/* invlinear.c — see invlinear.h.
 *
 * With row vectors, y = L·U·P·x for every row is Y = V·Uᵀ·Lᵀ with V[r][i] = X[r][perm[i]]:
 *   forward   A = V·Uᵀ (trmm upper, non-unit), Y = A·Lᵀ (trmm lower, unit)
 *   backward  dL = dYᵀ·A, dA = dY·L, dU = dAᵀ·V, dV = dA·U, dX[r][perm[i]] = dV[r][i]
 *   inverse   A = Y·L⁻ᵀ, V = A·U⁻ᵀ (trsm), X[r][perm[i]] = V[r][i]
 * BLAS trmm/trsm run on fixed row tiles from our own OpenMP loop (single threaded
 * inside it, as gemm.h explains), so results are the same bits for any thread count. */
#include "flows/invlinear.h"

#include "flows/blas.h"
#include "flows/gemm.h"
#include "flows/rng.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Rows per trmm/trsm call: small enough that a batch of 64 splits over two threads. */
enum { ROW_TILE = 32 };

long invlinear_nparams(int d) {
    return (long)d * d + d;
}

long invlinear_nstate(int d) {
    return d;
}

void invlinear_init(float *params, float *state, int d, uint64_t seed, uint64_t stream) {
    memset(params, 0, sizeof(float) * (size_t)invlinear_nparams(d));
    long *perm = malloc(sizeof(long) * (size_t)d);
    rng_permutation(perm, d, seed, stream);
    for (int i = 0; i < d; i++) state[i] = (float)perm[i];
    free(perm);
}

void invlinear_factors(const float *params, float *T, int d) {
    memcpy(T, params, sizeof(float) * (size_t)d * d);
    for (int i = 0; i < d; i++) T[(long)i * d + i] = expf(params[(long)d * d + i]);
}

/* Bm := Bm·op(T) (trmm), or Bm := Bm·op(T)⁻¹ (trsm), Bm (rows,d), on fixed row tiles. */
static void tri_right(int solve, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans, CBLAS_DIAG diag,
                      const float *T, float *Bm, int rows, int d) {
    int ntiles = (rows + ROW_TILE - 1) / ROW_TILE;
    /* Always inside the team, even for one tile: OpenBLAS would thread a call made
     * outside a parallel region itself, with thread-count-dependent bits (gemm.c). */
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < ntiles; t++) {
        int r0 = t * ROW_TILE, m = rows - r0 < ROW_TILE ? rows - r0 : ROW_TILE;
        float *b = Bm + (long)r0 * d;
        if (solve)
            cblas_strsm(CblasRowMajor, CblasRight, uplo, trans, diag, m, d, 1.0f, T, d, b, d);
        else
            cblas_strmm(CblasRowMajor, CblasRight, uplo, trans, diag, m, d, 1.0f, T, d, b, d);
    }
}

void invlinear_forward(const float *params, const float *state, const float *T, const float *x,
                       float *a, float *y, double *logdet, int B, int d) {
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++)
        for (int i = 0; i < d; i++) a[(long)r * d + i] = x[(long)r * d + (int)state[i]];
    tri_right(0, CblasUpper, CblasTrans, CblasNonUnit, T, a, B, d); /* a = v·Uᵀ */
    memcpy(y, a, sizeof(float) * (size_t)B * d);
    tri_right(0, CblasLower, CblasTrans, CblasUnit, T, y, B, d); /* y = a·Lᵀ */
    double ld = 0.0;
    for (int i = 0; i < d; i++) ld += params[(long)d * d + i];
    for (int r = 0; r < B; r++) logdet[r] += ld;
}

void invlinear_backward(const float *state, const float *T, const float *x, const float *a,
                        float *dy, float dlogdet, float *dx, float *dparams, float *scratch, int B,
                        int d) {
    float *gL = scratch, *gU = scratch + (long)d * d;
    /* gL = dYᵀ·A   (d,B)·(B,d) */
    gemm(1, 0, d, d, B, 1.0f, dy, d, a, d, 0.0f, gL, d);
    tri_right(0, CblasLower, CblasNoTrans, CblasUnit, T, dy, B, d); /* dA = dY·L */
    /* gU = dAᵀ·X   (d,B)·(B,d); dU[i][j] = gU[i][perm[j]] since V's column j is X's perm[j] */
    gemm(1, 0, d, d, B, 1.0f, dy, d, x, d, 0.0f, gU, d);
    tri_right(0, CblasUpper, CblasNoTrans, CblasNonUnit, T, dy, B, d); /* dV = dA·U */
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++)
        for (int i = 0; i < d; i++) dx[(long)r * d + (int)state[i]] = dy[(long)r * d + i];
    float *dlogs = dparams + (long)d * d;
#pragma omp parallel for schedule(static) if ((long)d * d > 65536)
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            long k = (long)i * d + j;
            dparams[k] = i > j ? gL[k] : i < j ? gU[(long)i * d + (int)state[j]] : 0.0f;
        }
    /* U_ii = exp(logs_i): ∂/∂logs_i = dU_ii·U_ii, plus the log-det's weight on every row. */
    for (int i = 0; i < d; i++)
        dlogs[i] = gU[(long)i * d + (int)state[i]] * T[(long)i * d + i] + dlogdet * (float)B;
}

void invlinear_inverse(const float *state, const float *T, const float *y, float *x, float *scratch,
                       int B, int d) {
    memcpy(scratch, y, sizeof(float) * (size_t)B * d);
    tri_right(1, CblasLower, CblasTrans, CblasUnit, T, scratch, B, d);    /* a = y·L⁻ᵀ */
    tri_right(1, CblasUpper, CblasTrans, CblasNonUnit, T, scratch, B, d); /* v = a·U⁻ᵀ */
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++)
        for (int i = 0; i < d; i++) x[(long)r * d + (int)state[i]] = scratch[(long)r * d + i];
}
