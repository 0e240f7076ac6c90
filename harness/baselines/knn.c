/* knn.c — the deep nearest-neighbour detector of Sun et al. (2022): features are
 * L2-normalised, and a sample's score is its distance to the k-th nearest ID
 * training feature (see baselines.h).
 *
 * Exact search: for a block of queries, ‖q − t‖² = ‖q‖² + ‖t‖² − 2 q·t with the
 * q·t of the whole block from one GEMM (gemm.h: same bits at any thread count),
 * then a selection of the k-th smallest per query. Rounding can push a distance of
 * (nearly) 0 below zero; it is clamped at 0 before the square root. */
#include "baselines/baselines.h"

#include "flows/gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { KNN_BLOCK = 256 }; /* queries per GEMM: KNN_BLOCK × n floats of distances */

/* x (n, d) -> y (n, d) with unit rows (zero rows stay zero), sq (n) = ‖y_i‖². */
static void normalise_rows(const float *x, long n, int d, float *y, float *sq) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        double t = 0;
        for (int j = 0; j < d; j++) {
            y[i * d + j] = x[i * d + j] * inv;
            t += (double)y[i * d + j] * y[i * d + j];
        }
        sq[i] = (float)t;
    }
}

void knn_free(Knn *m) {
    free(m->train), free(m->sq);
    memset(m, 0, sizeof *m);
}

int knn_fit(Knn *m, const float *train, long n, int d, int k, Err *e) {
    memset(m, 0, sizeof *m);
    if (k < 1 || k > n)
        return fail(e, LDE_EINPUT, "knn: k = %d, expected 1..%ld (the training rows)", k, n);
    m->train = malloc(sizeof(float) * (size_t)n * d);
    m->sq = malloc(sizeof(float) * (size_t)n);
    if (!m->train || !m->sq) {
        knn_free(m);
        return fail(e, LDE_ERUN, "knn: out of memory for %ld training rows", n);
    }
    m->n = n, m->d = d, m->k = k;
    normalise_rows(train, n, d, m->train, m->sq);
    return LDE_OK;
}

int knn_score(const Knn *m, const float *x, long n, float *score, Err *e) {
    int d = m->d;
    long N = m->n;
    float *q = malloc(sizeof(float) * KNN_BLOCK * (size_t)d),
          *qsq = malloc(sizeof(float) * KNN_BLOCK);
    float *D = malloc(sizeof(float) * KNN_BLOCK * (size_t)N);
    if (!q || !qsq || !D) {
        free(q), free(qsq), free(D);
        return fail(e, LDE_ERUN, "knn: out of memory for %d × %ld distances", KNN_BLOCK, N);
    }
    for (long first = 0; first < n; first += KNN_BLOCK) {
        int B = n - first < KNN_BLOCK ? (int)(n - first) : KNN_BLOCK;
        normalise_rows(x + first * d, B, d, q, qsq);
        gemm(0, 1, B, (int)N, d, -2.0f, q, d, m->train, d, 0.0f, D, (int)N);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < B; i++) {
            float *row = D + (long)i * N;
            for (long t = 0; t < N; t++) row[t] += qsq[i] + m->sq[t];
            float d2 = select_kth(row, N, m->k - 1);
            score[first + i] = sqrtf(fmaxf(d2, 0.0f));
        }
    }
    free(q), free(qsq), free(D);
    return LDE_OK;
}
