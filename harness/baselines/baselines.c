/* baselines.c — a feature set's baselines: which can run, their scores on val and
 * every OOD set, and the store rows, computed only when missing (baselines.h). */
#include "baselines/baselines.h"

#include "data/fmnist.h"
#include "data/oodsets.h"
#include "flows/metrics.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void baseline_label(const BaselineSpec *b, char *buf, size_t n) {
    BaselineSpec d = baseline_default(b->method);
    const char *name = baseline_name(b->method);
    int k = snprintf(buf, n, "%s", name);
    char opts[128] = "";
    int m = 0;
    /* Only the options the method takes (config.c) can differ from the defaults. */
    if (b->method != BL_MSP && b->method != BL_MAHALANOBIS && b->method != BL_KNN && b->T != d.T)
        m += snprintf(opts + m, sizeof opts - (size_t)m, "%sT=%g", m ? "," : "", b->T);
    if (b->method == BL_ODIN && b->eps != d.eps)
        m += snprintf(opts + m, sizeof opts - (size_t)m, "%seps=%g", m ? "," : "", b->eps);
    if (b->method == BL_REACT && b->percentile != d.percentile)
        m += snprintf(opts + m, sizeof opts - (size_t)m, "%spercentile=%g", m ? "," : "",
                      b->percentile);
    if (b->method == BL_KNN && b->k != d.k)
        m += snprintf(opts + m, sizeof opts - (size_t)m, "%sk=%d", m ? "," : "", b->k);
    if (m > 0 && k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, "[%s]", opts);
}

const char *baseline_unavailable(const FeatureSet *fs, const BaselineSpec *b) {
    switch (b->method) {
    case BL_ODIN:
        if (!fs->builtin)
            return "it perturbs the input images through the network, so it needs the built-in "
                   "backbone (user features have neither)";
        return NULL;
    case BL_MSP:
    case BL_ENERGY:
    case BL_REACT:
        return fs->head_W ? NULL : "it needs the classifier head (data.features.head: {W, b})";
    case BL_MAHALANOBIS:
        return fs->train_labels ? NULL
                                : "it needs the training labels (data.features.train_labels)";
    default:
        return NULL;
    }
}

/* The splits scored: val first, then the OOD sets in fs's order. */
static const FeatureSplit *split_at(const FeatureSet *fs, int i) {
    return i == 0 ? &fs->val : &fs->ood[i - 1];
}

/* ODIN: the backbone from the cache, and the images of every split rebuilt
 * exactly as the cache built them (the same ID classes and limit; nothing else
 * varies). */
static int odin_scores(const FeatureSet *fs, const BaselineSpec *b, float **scores, Err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/backbone.bin", fs->dir);
    Backbone bb = {0};
    Images test = {0}, img = {0};
    int rc = backbone_load(&bb, path, e);
    if (rc == LDE_OK) rc = fmnist_load(0, &test, e);
    for (int i = 0; rc == LDE_OK && i <= fs->n_ood; i++) {
        const FeatureSplit *sp = split_at(fs, i);
        rc = i == 0 ? id_classes_keep(&test, fs->id_mask, &img, e)
                    : ood_build(sp->name, &test, fs->id_mask, &img, e);
        if (fs->limit > 0 && img.n > fs->limit) img.n = fs->limit;
        if (rc == LDE_OK && img.n != sp->n)
            rc = fail(e, LDE_ERUN, "odin: %s has %ld images but %ld cached features (%s)", sp->name,
                      img.n, sp->n, fs->dir);
        if (rc == LDE_OK) rc = baseline_odin(&bb, img.pix, img.n, b->T, b->eps, scores[i], e);
        images_free(&img);
    }
    images_free(&test);
    backbone_free(&bb);
    return rc;
}

/* The methods fitted on the training features: ReAct, Mahalanobis, KNN (on the
 * whole training matrix in float32: featureset_train_x). */
static int fitted_scores(const FeatureSet *fs, const BaselineSpec *b, float **scores, Err *e) {
    int d = fs->d, rc = LDE_OK;
    float *owned;
    const float *train = featureset_train_x(fs, &owned, e);
    if (!train) return LDE_EINPUT;
    if (b->method == BL_REACT) {
        float c;
        rc = react_threshold(train, fs->train.n, d, b->percentile, &c, e);
        for (int i = 0; rc == LDE_OK && i <= fs->n_ood; i++) {
            const FeatureSplit *sp = split_at(fs, i);
            rc = baseline_react(sp->x, sp->n, d, c, fs->head_W, fs->head_b, fs->K, b->T, scores[i],
                                e);
        }
    } else if (b->method == BL_MAHALANOBIS) {
        Mahalanobis m;
        rc = mahalanobis_fit(&m, train, fs->train_labels, fs->train.n, d, e);
        int fitted = rc == LDE_OK;
        for (int i = 0; rc == LDE_OK && i <= fs->n_ood; i++)
            rc = mahalanobis_score(&m, split_at(fs, i)->x, split_at(fs, i)->n, scores[i], e);
        if (fitted) mahalanobis_free(&m);
    } else {
        Knn m;
        rc = knn_fit(&m, train, fs->train.n, d, b->k, e);
        int fitted = rc == LDE_OK;
        for (int i = 0; rc == LDE_OK && i <= fs->n_ood; i++)
            rc = knn_score(&m, split_at(fs, i)->x, split_at(fs, i)->n, scores[i], e);
        if (fitted) knn_free(&m);
    }
    free(owned);
    return rc;
}

int baseline_scores(const FeatureSet *fs, const BaselineSpec *b, float **scores, Err *e) {
    int ns = 1 + fs->n_ood, rc = LDE_OK;
    for (int i = 0; i < ns; i++) scores[i] = NULL;
    for (int i = 0; i < ns && rc == LDE_OK; i++) {
        long n = split_at(fs, i)->n;
        scores[i] = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!scores[i]) rc = fail(e, LDE_ERUN, "baselines: out of memory for %ld scores", n);
    }
    if (rc == LDE_OK) {
        if (b->method == BL_MSP || b->method == BL_ENERGY) {
            for (int i = 0; i < ns; i++) {
                const FeatureSplit *sp = split_at(fs, i);
                if (b->method == BL_MSP)
                    baseline_msp(sp->logits, sp->n, fs->K, 1.0, scores[i]);
                else
                    baseline_energy(sp->logits, sp->n, fs->K, b->T, scores[i]);
            }
        } else if (b->method == BL_ODIN) {
            rc = odin_scores(fs, b, scores, e);
        } else {
            rc = fitted_scores(fs, b, scores, e);
        }
    }
    if (rc != LDE_OK)
        for (int i = 0; i < ns; i++) free(scores[i]), scores[i] = NULL;
    return rc;
}

/* 1 when the store has a row of this method for every OOD set of fs. */
static int stored(const StoreBaselineRow *rows, int nrows, const char *label,
                  const FeatureSet *fs) {
    for (int i = 0; i < fs->n_ood; i++) {
        int found = 0;
        for (int r = 0; r < nrows && !found; r++)
            found = !strcmp(rows[r].method, label) && !strcmp(rows[r].ood, fs->ood[i].name);
        if (!found) return 0;
    }
    return 1;
}

/* Computes baseline b on fs and stores one row per OOD set (one transaction). */
static int compute_and_store(Store *st, const FeatureSet *fs, const BaselineSpec *b,
                             const char *label, Err *e) {
    float *scores[1 + FEAT_MAX_OOD] = {NULL};
    double t0 = omp_get_wtime();
    int rc = baseline_scores(fs, b, scores, e);
    if (rc != LDE_OK) return rc;
    StoreBaseline rows[FEAT_MAX_OOD];
    for (int i = 0; i < fs->n_ood && rc == LDE_OK; i++) {
        rows[i] = (StoreBaseline){.features = fs->key,
                                  .method = label,
                                  .ood = fs->ood[i].name,
                                  .id_scores = scores[0],
                                  .ood_scores = scores[1 + i],
                                  .n_id = fs->val.n,
                                  .n_ood = fs->ood[i].n};
        if (metrics_ood(scores[0], fs->val.n, scores[1 + i], fs->ood[i].n, &rows[i].metrics) != 0)
            rc = fail(e, LDE_ERUN, "baselines: %s on %s: no samples or out of memory", label,
                      fs->ood[i].name);
    }
    if (rc == LDE_OK) rc = store_put_baselines(st, rows, fs->n_ood, e);
    if (rc == LDE_OK) {
        fprintf(stderr, "baselines: %s on %s in %.1f s, AUROC", label, fs->key,
                omp_get_wtime() - t0);
        for (int i = 0; i < fs->n_ood; i++)
            fprintf(stderr, " %s %.2f", fs->ood[i].name, 100.0 * rows[i].metrics.auroc);
        fprintf(stderr, "\n");
    }
    for (int i = 0; i <= fs->n_ood; i++) free(scores[i]);
    return rc;
}

int baselines_ensure(Store *st, const FeatureSet *fs, const BaselineSpec *b, int nb, int *computed,
                     Err *e) {
    if (computed) *computed = 0;
    StoreBaselineRow *rows = NULL;
    int nrows = 0;
    int rc = store_get_baselines(st, fs->key, &rows, &nrows, e);
    for (int j = 0; j < nb && rc == LDE_OK; j++) {
        char label[160];
        baseline_label(&b[j], label, sizeof label);
        const char *why = baseline_unavailable(fs, &b[j]);
        if (why) {
            fprintf(stderr, "baselines: %s unavailable on features %s: %s\n", label, fs->key, why);
            continue;
        }
        if (stored(rows, nrows, label, fs)) continue;
        rc = compute_and_store(st, fs, &b[j], label, e);
        if (rc == LDE_OK && computed) (*computed)++;
    }
    store_baselines_free(rows, nrows);
    return rc;
}
