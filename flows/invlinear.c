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
    return 2L * d; /* perm, sign */
}

void invlinear_init_permutation(float *params, float *state, int d, uint64_t seed,
                                uint64_t stream) {
    memset(params, 0, sizeof(float) * (size_t)invlinear_nparams(d));
    long *perm = malloc(sizeof(long) * (size_t)d);
    rng_permutation(perm, d, seed, stream);
    for (int i = 0; i < d; i++) state[i] = (float)perm[i], state[d + i] = 1.0f;
    free(perm);
}

/* a (d,d) row-major, Gaussian -> the Q (d,d) of the QR of aᵀ (again a Gaussian
 * matrix) with R_ii > 0, by modified Gram–Schmidt on the rows of a (contiguous), then
 * a transpose. Gram–Schmidt's R has a positive diagonal by construction, so its Q is
 * the sign-fixed Q of any QR, Haar-distributed (Mezzadri 2007, §5); in double it
 * stays orthogonal to ~1e-13 at the widths lde builds. t: (d,d) scratch. */
static void gaussian_to_rotation(double *a, double *t, int d) {
    for (int k = 0; k < d; k++) {
        double *rk = a + (long)k * d;
        for (int j = 0; j < k; j++) {
            const double *rj = a + (long)j * d;
            double dot = 0.0;
            for (int i = 0; i < d; i++) dot += rj[i] * rk[i];
            for (int i = 0; i < d; i++) rk[i] -= dot * rj[i];
        }
        double nrm = 0.0;
        for (int i = 0; i < d; i++) nrm += rk[i] * rk[i];
        nrm = sqrt(nrm);
        for (int i = 0; i < d; i++) rk[i] /= nrm;
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) t[(long)j * d + i] = a[(long)i * d + j];
    memcpy(a, t, sizeof(double) * (size_t)d * d);
}

/* a (d,d) -> Gaussian elimination with column pivoting, a·Π = L·U
 * with (a·Π)[:,k] = a[:,perm[k]]; L's strict lower part and U overwrite a. The pivot
 * of row k is its largest remaining entry, so |L_ij| need not be <= 1 but U_kk != 0
 * for any invertible a. */
static void lu_column_pivot(double *a, long *perm, int d) {
    for (int k = 0; k < d; k++) perm[k] = k;
    for (int k = 0; k < d; k++) {
        int p = k;
        for (int j = k + 1; j < d; j++)
            if (fabs(a[(long)k * d + j]) > fabs(a[(long)k * d + p])) p = j;
        if (p != k) {
            for (int i = 0; i < d; i++) {
                double t = a[(long)i * d + k];
                a[(long)i * d + k] = a[(long)i * d + p], a[(long)i * d + p] = t;
            }
            long t = perm[k];
            perm[k] = perm[p], perm[p] = t;
        }
        for (int i = k + 1; i < d; i++) {
            double l = a[(long)i * d + k] / a[(long)k * d + k];
            a[(long)i * d + k] = l;
            for (int j = k + 1; j < d; j++) a[(long)i * d + j] -= l * a[(long)k * d + j];
        }
    }
}

int invlinear_init_rotation(float *params, float *state, int d, uint64_t seed, uint64_t stream) {
    /* calloc, not malloc: clang-tidy cannot follow the fill loop below to d·d */
    double *a = calloc(2 * (size_t)d * d, sizeof(double));
    long *perm = malloc(sizeof(long) * (size_t)d);
    if (!a || !perm) {
        free(a), free(perm);
        return -1;
    }
    /* Gaussian entries from the same counter whatever the thread count */
    for (long k = 0; k < (long)d * d; k++) a[k] = rng_normal(seed, stream, (uint64_t)k);
    gaussian_to_rotation(a, a + (long)d * d, d);
    lu_column_pivot(a, perm, d); /* Q = L·U·P, (P x)_i = x_{perm[i]} (invlinear.h) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            params[(long)i * d + j] = i == j ? 0.0f : (float)a[(long)i * d + j];
    for (int i = 0; i < d; i++) {
        double u = a[(long)i * d + i];
        params[(long)d * d + i] = (float)log(fabs(u));
        state[i] = (float)perm[i], state[d + i] = u < 0.0 ? -1.0f : 1.0f;
    }
    free(a), free(perm);
    return 0;
}

void invlinear_factors(const float *params, const float *state, float *T, int d) {
    memcpy(T, params, sizeof(float) * (size_t)d * d);
    for (int i = 0; i < d; i++) T[(long)i * d + i] = state[d + i] * expf(params[(long)d * d + i]);
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
    /* U_ii = sign_i·exp(logs_i): ∂/∂logs_i = dU_ii·U_ii, plus the log-det's weight on every row. */
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
