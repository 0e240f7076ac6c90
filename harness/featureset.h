/* featureset.h — the flow's input, whatever its source (DESIGN.md, Features):
 * train, val and named OOD sets of d-dimensional latents, with the optional
 * place they came from (the key baselines are stored under).
 *
 * Built-in features are first made (or found) in the feature cache by the
 * backbone (feature_cache.h) and then read from their .npy files exactly like a
 * user's, so both sources take one code path. Arrays are owned by the FeatureSet. */
#ifndef LDE_FEATURESET_H
#define LDE_FEATURESET_H

#include "err.h"
#include "plan.h"

#include <stdint.h>

typedef struct {
    char name[32]; /* "train", "val" or the OOD set's name */
    float *x;      /* n × d */
    long n;
} FeatureSplit;

typedef struct {
    char key[80];   /* the feature cache key, or a hash of the user's files: baselines key */
    char dir[4096]; /* where the .npy files are (the cache directory; "" for user files) */
    int d;
    FeatureSplit train, val;
    int n_ood;
    FeatureSplit ood[FEAT_MAX_OOD];
    /* The health check over train (preprocess_health): dimensions that are constant,
     * and that are more than 90% exact zeros. Flows on such features are unstable. */
    int n_constant, n_mostly_zero;
} FeatureSet;

/* Loads the features of run spec s: the built-in ones through the cache under
 * cache_root (training the backbone when they are not there yet), or the user's
 * .npy files. Only the OOD sets s asks for are kept, in its order. */
int featureset_load(const RunSpec *s, const char *cache_root, FeatureSet *fs, Err *e);

/* True when runs a and b read the same features (the runner then loads them once). */
int featureset_same_source(const PlanRun *a, const PlanRun *b);

void featureset_free(FeatureSet *fs);

#endif
