/* pca.c — see pca.h. */
#include "flows/pca.h"

#include "flows/blas.h"
#include "flows/gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows per covariance block: a fixed partition, so the order of the double sums
 * never depends on the thread count. Each block's XᵀX is one gemm() in float over
 * at most PCA_BLOCK rows. */
enum { PCA_BLOCK = 1024 };

int pca_alloc(Pca *p, int d, int k) {
    memset(p, 0, sizeof *p);
    if (d < 1 || k < 1 || k > d) return -1;
    p->d = d, p->k = k;
    p->mean = malloc(sizeof(float) * (size_t)d);
    p->components = malloc(sizeof(float) * (size_t)k * (size_t)d);
    p->eigenvalues = malloc(sizeof(double) * (size_t)k);
    if (!p->mean || !p->components || !p->eigenvalues) {
        pca_free(p);
        return -1;
    }
    return 0;
}

void pca_free(Pca *p) {
    free(p->mean), free(p->components), free(p->eigenvalues);
    memset(p, 0, sizeof *p);
}

/* The rows of src -> mean (d) in double, summed row by row in row order. */
static int mean_of(const RowSource *src, float *block, double *mean) {
    int d = src->d;
    memset(mean, 0, sizeof(double) * (size_t)d);
    for (long r0 = 0; r0 < src->n; r0 += PCA_BLOCK) {
        long m = src->n - r0 < PCA_BLOCK ? src->n - r0 : PCA_BLOCK;
        const float *x = src->rows(src->ctx, r0, m, block);
        if (!x) return -1;
        for (long i = 0; i < m; i++)
            for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
    }
    for (int j = 0; j < d; j++) mean[j] /= (double)src->n;
    return 0;
}

/* The rows of src -> cov (d,d) in double, the unbiased covariance around mean (d).
 * Only the lower triangle (row-major, diagonal included) is computed: it is the
 * triangle dsyevd reads (its "U" of a column-major matrix); the upper one is a
 * mirror. Each block's lower tiles are gemm()'s (gemm_lower), so those entries have
 * the bits of the full product. */
static int covariance(const RowSource *src, float *block, const double *mean, double *cov) {
    long n = src->n;
    int d = src->d;
    float *centred = malloc(sizeof(float) * PCA_BLOCK * (size_t)d);
    float *part = malloc(sizeof(float) * (size_t)d * (size_t)d);
    if (!centred || !part) {
        free(centred), free(part);
        return -1;
    }
    int rc = 0;
    memset(cov, 0, sizeof(double) * (size_t)d * (size_t)d);
    for (long r0 = 0; r0 < n && rc == 0; r0 += PCA_BLOCK) {
        int m = n - r0 < PCA_BLOCK ? (int)(n - r0) : PCA_BLOCK;
        const float *x = src->rows(src->ctx, r0, m, block);
        if (!x) {
            rc = -1;
            break;
        }
#pragma omp parallel for schedule(static)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < d; j++)
                centred[(long)i * d + j] = (float)(x[(long)i * d + j] - mean[j]);
        /* part = centredᵀ · centred  (d,m)·(m,d), lower tiles */
        gemm_lower(1, 0, d, d, m, 1.0f, centred, d, centred, d, 0.0f, part, d);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) cov[(long)i * d + j] += part[(long)i * d + j];
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            cov[(long)i * d + j] /= (double)(n - 1);
            cov[(long)j * d + i] = cov[(long)i * d + j];
        }
    free(centred), free(part);
    return rc;
}

/* Symmetric a (d,d) -> eigenvalues w (ascending) and eigenvectors in a's columns
 * (column-major, i.e. a[j*d + i] is entry i of vector j). OpenBLAS threads its
 * LAPACK internals with a thread-count-dependent summation order, but runs single
 * threaded inside an active parallel region (as gemm.c relies on): one thread of a
 * two-thread team does the work, so the result is the same at any OMP_NUM_THREADS. */
static int eigh(double *a, double *w, int d) {
    int info = 0;
    int lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0;
    dsyevd_("V", "U", &d, a, &d, w, &work_query, &lwork, &iwork_query, &liwork, &info);
    if (info != 0) return -1;
    lwork = (int)work_query, liwork = iwork_query;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (!work || !iwork) {
        free(work), free(iwork);
        return -1;
    }
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        dsyevd_("V", "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info);
    }
    free(work), free(iwork);
    return info == 0 ? 0 : -1;
}

int pca_fit_rows(Pca *p, const RowSource *src, int k) {
    int d = src->d;
    if (src->n < 2 || pca_alloc(p, d, k) != 0) return -1;
    double *mean = malloc(sizeof(double) * (size_t)d);
    double *cov = malloc(sizeof(double) * (size_t)d * (size_t)d);
    double *w = malloc(sizeof(double) * (size_t)d);
    float *block = malloc(sizeof(float) * PCA_BLOCK * (size_t)d);
    int rc = -1;
    if (!mean || !cov || !w || !block) goto out;
    if (mean_of(src, block, mean) != 0 || covariance(src, block, mean, cov) != 0 ||
        eigh(cov, w, d) != 0)
        goto out;
    for (int j = 0; j < d; j++) p->mean[j] = (float)mean[j];
    for (int c = 0; c < k; c++) {
        const double *v = cov + (long)(d - 1 - c) * d; /* c-th largest eigenvalue */
        int big = 0;
        for (int i = 1; i < d; i++)
            if (fabs(v[i]) > fabs(v[big])) big = i;
        double sign = v[big] < 0 ? -1.0 : 1.0;
        for (int i = 0; i < d; i++) p->components[(long)c * d + i] = (float)(sign * v[i]);
        p->eigenvalues[c] = w[d - 1 - c];
    }
    rc = 0;
out:
    free(mean), free(cov), free(w), free(block);
    if (rc != 0) pca_free(p);
    return rc;
}

int pca_fit(Pca *p, const float *x, long n, int d, int k) {
    RowArray a = {x, d};
    RowSource src = {n, d, rows_of_array, &a};
    return pca_fit_rows(p, &src, k);
}

int pca_project(const Pca *p, const float *x, float *y, long n) {
    int d = p->d, k = p->k;
    float *block = malloc(sizeof(float) * PCA_BLOCK * (size_t)d);
    if (!block) return -1;
    for (long r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int m = n - r0 < PCA_BLOCK ? (int)(n - r0) : PCA_BLOCK;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < d; j++) block[(long)i * d + j] = x[(r0 + i) * d + j] - p->mean[j];
        /* y = block · Cᵀ  (m,d)·(d,k) */
        gemm(0, 1, m, k, d, 1.0f, block, d, p->components, d, 0.0f, y + r0 * k, k);
    }
    free(block);
    return 0;
}
