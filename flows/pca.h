/* pca.h — principal component analysis of the training latents (LDE paper §6.1).
 *
 * Fit: mean μ and covariance Σ = (1/(n−1)) Σ_i (x_i − μ)(x_i − μ)ᵀ of the training
 * rows, accumulated in double over blocks of rows read from a RowSource (rows.h);
 * the top-k eigenvectors of Σ (LAPACK dsyevd) are the components, in order of
 * decreasing eigenvalue. Project: y = (x − μ) · Cᵀ.
 *
 * Invariants: the components are orthonormal rows; each has its entry of largest
 * magnitude positive (the first such entry on a tie), so the sign — otherwise an
 * arbitrary choice of the eigensolver — is fixed and a refit gives the same
 * projection. Fitting gives the same bits at any thread count: the covariance is a
 * sum of fixed blocks of rows, each a gemm() (thread-count independent), combined in
 * block order in double; the eigensolver runs on one thread. */
#ifndef LDE_PCA_H
#define LDE_PCA_H

#include "flows/rows.h"

typedef struct {
    int d, k;
    float *mean;         /* d */
    float *components;   /* k×d row-major: row j = the j-th principal axis */
    double *eigenvalues; /* k, decreasing: the variance along each axis */
} Pca;

/* x (n,d) -> p with k components (1 <= k <= d, n >= 2). Returns 0, or -1 when the
 * shape is invalid, memory runs out or the eigensolver fails (p is then empty). */
int pca_fit(Pca *p, const float *x, long n, int d, int k);

/* pca_fit over the rows of src, read in two passes of blocks of 1024 rows (the
 * mean, then the covariance): memory is O(d² + 1024·d) whatever n, and the result
 * has the bits of pca_fit on the same rows held in memory (pca_fit is this on an
 * array). Returns -1 also when the source fails. */
int pca_fit_rows(Pca *p, const RowSource *src, int k);

/* x (n,d) -> y (n,k). Returns 0, or -1 when memory for the scratch runs out. */
int pca_project(const Pca *p, const float *x, float *y, long n);

/* Allocates an empty Pca of the given shape (for deserialization). 0 or -1. */
int pca_alloc(Pca *p, int d, int k);

/* Frees the buffers; p becomes empty (safe to call twice). */
void pca_free(Pca *p);

#endif
