/* mahalanobis.c — the Mahalanobis detector of Lee et al. (2018) on the
 * penultimate features: class-conditional Gaussians with one shared covariance
 * (LDA), score = the squared distance to the nearest class mean (see baselines.h).
 *
 * Σ is the within-class covariance (1/n) Σ_i (z_i − μ_{y_i})(z_i − μ_{y_i})ᵀ. Dead
 * feature dimensions make it singular, so Cholesky runs on Σ + λI with
 * λ = 1e-6·trace(Σ)/d (LAPACK dpotrf, then dtrtri for L⁻¹). With y = L⁻¹(z − z̄)
 * and m_c = L⁻¹(μ_c − z̄), (z − μ_c)ᵀ(Σ + λI)⁻¹(z − μ_c) = ‖y − m_c‖²: one GEMM
 * whitens all samples and the distances are plain sums of squares, in double. The
 * global mean z̄ is taken out first so whitened values stay small and the float
 * GEMM loses nothing to cancellation. */
#include "baselines/baselines.h"

#include "flows/blas.h"
#include "flows/gemm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAHALANOBIS_MAX_CLASSES = 100000 };
static const double MAHALANOBIS_RIDGE = 1e-6; /* λ = this · trace(Σ) / d */

void mahalanobis_free(Mahalanobis *m) {
    free(m->count), free(m->center), free(m->mean_w), free(m->whiten);
    memset(m, 0, sizeof *m);
}

/* Class means (K, d) and the global mean (d) in double, summed in index order. */
static void means(const float *x, const int64_t *y, long n, int d, int K, const int *count,
                  double *mu, double *center) {
    memset(mu, 0, sizeof(double) * (size_t)K * d);
    memset(center, 0, sizeof(double) * (size_t)d);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[y[i] * d + j] += x[i * d + j], center[j] += x[i * d + j];
    for (int c = 0; c < K; c++)
        for (int j = 0; j < d; j++) mu[(long)c * d + j] /= count[c] ? count[c] : 1;
    for (int j = 0; j < d; j++) center[j] /= (double)n;
}

/* A (d × d, symmetric, overwritten) = Σ + λI -> L⁻¹ in A's lower triangle
 * (column-major, as LAPACK sees a row-major symmetric matrix). */
static int whitening(double *A, int d, double *ridge, Err *e) {
    double tr = 0;
    for (int j = 0; j < d; j++) tr += A[(long)j * d + j];
    *ridge = MAHALANOBIS_RIDGE * (tr > 0 ? tr / d : 1.0);
    for (int j = 0; j < d; j++) A[(long)j * d + j] += *ridge;
    int info = 0;
    dpotrf_("L", &d, A, &d, &info);
    if (info != 0)
        return fail(e, LDE_ERUN,
                    "mahalanobis: the covariance (+ ridge %.3g) is not positive "
                    "definite (dpotrf info %d)",
                    *ridge, info);
    dtrtri_("L", "N", &d, A, &d, &info);
    if (info != 0) return fail(e, LDE_ERUN, "mahalanobis: dtrtri info %d", info);
    return LDE_OK;
}

/* The part of fit after the class counts: means, covariance, whitening. */
static int fit_gaussians(Mahalanobis *m, const float *x, const int64_t *y, long n, Err *e) {
    int d = m->d, K = m->K;
    double *mu = malloc(sizeof(double) * (size_t)K * d), *center = malloc(sizeof(double) * d);
    double *A = malloc(sizeof(double) * (size_t)d * d);
    float *xc = malloc(sizeof(float) * (size_t)n * d), *S = malloc(sizeof(float) * (size_t)d * d);
    if (!mu || !center || !A || !xc || !S) {
        free(mu), free(center), free(A), free(xc), free(S);
        return fail(e, LDE_ERUN, "mahalanobis: out of memory");
    }
    means(x, y, n, d, K, m->count, mu, center);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++) xc[i * d + j] = (float)(x[i * d + j] - mu[y[i] * d + j]);
    /* Σ = Xcᵀ·Xc / n (d × d). */
    gemm(1, 0, d, d, (int)n, 1.0f / (float)n, xc, d, xc, d, 0.0f, S, d);
    for (long i = 0; i < (long)d * d; i++) A[i] = S[i];
    int rc = whitening(A, d, &m->ridge, e);
    if (rc == LDE_OK) {
        for (int j = 0; j < d; j++) m->center[j] = (float)center[j];
        /* Row-major L⁻¹: (L⁻¹)_ij = A[i + j·d] for j <= i. */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                m->whiten[(long)i * d + j] = j <= i ? (float)A[i + (long)j * d] : 0.0f;
        for (int c = 0; c < K; c++)
            for (int i = 0; i < d; i++) {
                double s = 0;
                for (int j = 0; j <= i; j++)
                    s += A[i + (long)j * d] * (mu[(long)c * d + j] - center[j]);
                m->mean_w[(long)c * d + i] = (float)s;
            }
    }
    free(mu), free(center), free(A), free(xc), free(S);
    return rc;
}

int mahalanobis_fit(Mahalanobis *m, const float *x, const int64_t *labels, long n, int d, Err *e) {
    memset(m, 0, sizeof *m);
    if (n < 2) return fail(e, LDE_EINPUT, "mahalanobis: %ld training rows, need at least 2", n);
    int64_t top = 0;
    for (long i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= MAHALANOBIS_MAX_CLASSES)
            return fail(e, LDE_EINPUT,
                        "train_labels: row %ld is %lld, expected a class id in 0..%d", i,
                        (long long)labels[i], MAHALANOBIS_MAX_CLASSES - 1);
        if (labels[i] > top) top = labels[i];
    }
    m->d = d, m->K = (int)top + 1;
    m->count = calloc((size_t)m->K, sizeof *m->count);
    m->center = malloc(sizeof(float) * (size_t)d);
    m->mean_w = malloc(sizeof(float) * (size_t)m->K * d);
    m->whiten = malloc(sizeof(float) * (size_t)d * d);
    if (!m->count || !m->center || !m->mean_w || !m->whiten) {
        mahalanobis_free(m);
        return fail(e, LDE_ERUN, "mahalanobis: out of memory");
    }
    for (long i = 0; i < n; i++) m->count[labels[i]]++;
    int rc = fit_gaussians(m, x, labels, n, e);
    if (rc != LDE_OK) mahalanobis_free(m);
    return rc;
}

int mahalanobis_score(const Mahalanobis *m, const float *x, long n, float *score, Err *e) {
    int d = m->d;
    float *xc = malloc(sizeof(float) * (size_t)(n ? n : 1) * d);
    float *yw = malloc(sizeof(float) * (size_t)(n ? n : 1) * d);
    if (!xc || !yw) {
        free(xc), free(yw);
        return fail(e, LDE_ERUN, "mahalanobis: out of memory for %ld rows", n);
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++) xc[i * d + j] = x[i * d + j] - m->center[j];
    /* y = L⁻¹(z − z̄) for every row: Y (n, d) = Xc · (L⁻¹)ᵀ. */
    if (n > 0) gemm(0, 1, (int)n, d, d, 1.0f, xc, d, m->whiten, d, 0.0f, yw, d);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        double best = INFINITY;
        for (int c = 0; c < m->K; c++) {
            if (!m->count[c]) continue;
            double s = 0;
            for (int j = 0; j < d; j++) {
                double t = (double)yw[i * d + j] - m->mean_w[(long)c * d + j];
                s += t * t;
            }
            best = fmin(best, s);
        }
        score[i] = (float)fmin(best, FLT_MAX);
    }
    free(xc), free(yw);
    return LDE_OK;
}
