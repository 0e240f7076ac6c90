/* baselines.h — post-hoc OOD detectors computed from the classifier behind the
 * features, the rows beside the flow in LDE paper Tables 1–2 (issue 7).
 *
 * One convention for every method: a score per sample, HIGHER = MORE OOD, so the
 * flow's metrics (metrics.h: OOD positive, ID = the val split) apply unchanged.
 *
 *   msp          −max_k softmax(l)_k                     (Hendrycks & Gimpel 2017)
 *   energy       −T·logsumexp(l / T), T = 1              (Liu et al. 2020)
 *   odin         −max_k softmax(f(x̃) / T)_k, x̃ = x − ε·sign(∇ₓ CE(f(x)/T, ŷ)),
 *                ŷ the predicted class, T = 1000, ε = 0.0014 in pixel units
 *                (Liang et al. 2018); needs the input images, so the built-in
 *                backbone only
 *   react        energy of the head applied to min(z, c), c = the p-th
 *                percentile (p = 90) of all ID training activations (Sun et al. 2021)
 *   mahalanobis  min_c (z − μ_c)ᵀ Σ⁻¹ (z − μ_c): class means and one shared
 *                (within-class) covariance of the ID training features, Σ + λI
 *                with λ = 1e-6·trace(Σ)/d, by Cholesky (Lee et al. 2018)
 *   knn          ‖q − t_(k)‖ for L2-normalised q and training features, t_(k) the
 *                k-th nearest (k = 50), exact (Sun et al. 2022)
 *
 * Determinism: every product goes through gemm.h, selections and reductions run
 * in a fixed order per sample, so scores are the same bits at any thread count. */
#ifndef LDE_BASELINES_H
#define LDE_BASELINES_H

#include "backbone/backbone.h"
#include "config/config.h"
#include "config/plan.h"
#include "run/featureset.h"
#include "store/store.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

/* ---- softmax_scores.c ---- */

/* logits (n, K) -> score (n) = −max softmax(logits / T): MSP at T = 1, ODIN's
 * score at its T. In double, so that T = 1000 keeps its resolution. */
void baseline_msp(const float *logits, long n, int K, double T, float *score);
/* logits (n, K) -> score (n) = −T·logsumexp(logits / T), in double. */
void baseline_energy(const float *logits, long n, int K, double T, float *score);

/* ---- select.c ---- */

/* The k-th smallest of v (n), 0-based; reorders v. Quickselect with the median of
 * three as pivot: the result does not depend on v's order, only on its values. */
float select_kth(float *v, long n, long k);

/* ---- react.c ---- */

/* x (n, d) -> *c = the p-th percentile of all n·d values, interpolated linearly
 * between order statistics (numpy.percentile's default). LDE_ERUN when out of memory. */
int react_threshold(const float *x, long n, int d, double percentile, float *c, Err *e);
/* z (n, d) clipped at c, logits = min(z, c)·Wᵀ + b with W (K, d), b (K) -> score (n)
 * = energy at T. LDE_ERUN when out of memory. */
int baseline_react(const float *z, long n, int d, float c, const float *W, const float *b, int K,
                   double T, float *score, Err *e);

/* ---- mahalanobis.c ---- */

typedef struct {
    int d, K;      /* feature width; classes = 1 + the largest label */
    int *count;    /* K: training samples per class (a class with none is skipped) */
    float *center; /* d: mean of the training features (subtracted before whitening) */
    float *mean_w; /* K × d: whitened class means L⁻¹(μ_c − center) */
    float *whiten; /* d × d: L⁻¹ (row-major), L the Cholesky factor of Σ + λI */
    double ridge;  /* λ */
} Mahalanobis;

/* x (n, d) with labels (n, each >= 0) -> the class means and L⁻¹. LDE_EINPUT for a
 * negative label or n < 2, LDE_ERUN when out of memory or Cholesky fails. */
int mahalanobis_fit(Mahalanobis *m, const float *x, const int64_t *labels, long n, int d, Err *e);
/* x (n, d) -> score (n) = min over classes of the squared distance; LDE_ERUN when
 * out of memory. */
int mahalanobis_score(const Mahalanobis *m, const float *x, long n, float *score, Err *e);
void mahalanobis_free(Mahalanobis *m);

/* ---- knn.c ---- */

typedef struct {
    float *train; /* n × d, each row L2-normalised (a zero row stays zero) */
    float *sq;    /* n: squared norms of the normalised rows (1 or 0) */
    long n;
    int d, k;
} Knn;

/* train (n, d) -> the normalised copy; k must be in 1..n (LDE_EINPUT). */
int knn_fit(Knn *m, const float *train, long n, int d, int k, Err *e);
/* x (n, d) -> score (n) = the distance of normalised x to its k-th nearest
 * normalised training row; LDE_ERUN when out of memory. */
int knn_score(const Knn *m, const float *x, long n, float *score, Err *e);
void knn_free(Knn *m);

/* ---- odin.c ---- */

/* pix (n, 784) -> out (n, 784) = x − eps·sign(∇ₓ CE(softmax(f(x)/T), ŷ)), ŷ = the
 * predicted class: the step that raises the top softmax score. w holds >= B rows;
 * B <= the work's capacity. */
void odin_perturb(Backbone *bb, BackboneWork *w, const float *pix, int B, double T, double eps,
                  float *out);
/* pix (n, 784) -> score (n) = −max softmax(f(x̃)/T), x̃ = odin_perturb(x).
 * LDE_ERUN when out of memory. */
int baseline_odin(Backbone *bb, const float *pix, long n, double T, double eps, float *score,
                  Err *e);

/* ---- baselines.c: a feature set's baselines, computed and stored ---- */

/* The name a baseline is stored under: the method's name ("knn") with its
 * defaults, otherwise with its options ("knn[k=10]", "energy[T=2]"), so that a
 * change of option is a different row and never reads a stale one. */
void baseline_label(const BaselineSpec *b, char *buf, size_t n);

/* NULL when b can run on fs, else why not (a constant sentence). */
const char *baseline_unavailable(const FeatureSet *fs, const BaselineSpec *b);

/* Scores of b on val (scores[0], val.n) and each OOD set (scores[1 + i], ood[i].n),
 * malloc'd (caller frees each). b must be available. */
int baseline_scores(const FeatureSet *fs, const BaselineSpec *b, float **scores, Err *e);

/* For each of the nb baselines: when the store lacks a row of fs->key for one of
 * fs's OOD sets, computes it and stores AUROC, FPR95, AUPR-In/Out per OOD set and
 * the per-sample scores; an unavailable one is reported on stderr and skipped.
 * *computed counts the methods computed (NULL allowed). */
int baselines_ensure(Store *st, const FeatureSet *fs, const BaselineSpec *b, int nb, int *computed,
                     Err *e);

/* ---- plan_baselines.c ---- */

/* The baselines of a plan: for every distinct feature set its runs read, loaded
 * one at a time (built-in ones through the cache under features_root), records
 * experiment → key (store_link_features) and runs baselines_ensure with the nb
 * specs. keys (p->n_runs slots, or NULL) receives the keys in plan order and
 * *nkeys their number; *computed (or NULL) the methods computed in all. */
int baselines_for_plan(const char *experiment, const Plan *p, const BaselineSpec *b, int nb,
                       const char *features_root, Store *st, char (*keys)[FEAT_KEY_SIZE],
                       int *nkeys, int *computed, Err *e);

#endif
