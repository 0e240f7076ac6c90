/* blas.h — the one place lde includes CBLAS and declares the LAPACK routines it
 * calls (Debian's OpenBLAS ships cblas.h but not lapacke.h; the Fortran symbols
 * are in libopenblas). Column-major Fortran conventions: every argument by pointer. */
#ifndef LDE_BLAS_H
#define LDE_BLAS_H

#include <cblas.h>

/* Symmetric eigendecomposition, divide and conquer (PCA). */
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
/* LU with partial pivoting (exact log-determinants). */
void sgetrf_(const int *m, const int *n, float *a, const int *lda, int *ipiv, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
/* Cholesky factorisation and solve (Mahalanobis). */
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
/* Inverse of a triangular matrix (Mahalanobis: the whitening L⁻¹). */
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda,
             int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info);

#endif
