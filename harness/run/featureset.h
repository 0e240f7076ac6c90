/* featureset.h — the flow's input, whatever its source (DESIGN.md, Features):
 * train, val and named OOD sets of d-dimensional latents, with the optional
 * place they came from (the key baselines are stored under) — or, for a flow on
 * pixels (pixels = 1), of images of 8-bit values (no head, no labels, no health
 * check: a constant background pixel is normal).
 *
 * Built-in features are first made (or found) in the feature cache by the
 * backbone (feature_cache.h) and then read from their .npy files exactly like a
 * user's, so both sources take one code path. Arrays are owned by the FeatureSet.
 *
 * Latent training features are never copied whole (issue 18: an ImageNet-size
 * file is larger than its float32 copy may fit): train.x is NULL and the rows are
 * read in place from the mapped file, chunk by chunk (featureset_train_source) or
 * by index (featureset_train_gather), float16/float64 converted as they are read.
 * Loading reads them once, with progress, to check every value finite and for the
 * health check. val and the OOD sets (evaluation sets, far smaller) are held as
 * float32 arrays.
 *
 * What the baselines need besides the latents is optional: the classifier head
 * (W, b) and the class labels of train and val. The built-in cache always has
 * them; a user gives them as data.features.head and train_labels / val_labels.
 * Logits are always computed from the head, logits = z·Wᵀ + b (gemm.h), for
 * either source, so that one code path serves both (the cache's *_logits.npy
 * are the same numbers from the backbone's own head). */
#ifndef LDE_FEATURESET_H
#define LDE_FEATURESET_H

#include "config/plan.h"
#include "data/npymap.h"
#include "flows/rows.h"
#include "util/err.h"
#include "util/progress.h"

#include <stdint.h>

enum { FEAT_KEY_SIZE = 80 }; /* bytes of FeatureSet.key, NUL included */

typedef struct {
    char name[40]; /* "train", "val" or the OOD set's name (config: at most 32 chars) */
    float *x;      /* n × d; NULL for latent train features, which stay in their file */
    NpyMap map;    /* latent train features: the file, read in place (data/npymap.h) */
    long n;
    float *logits; /* n × K through the head, NULL without a head */
} FeatureSplit;

typedef struct {
    char key[FEAT_KEY_SIZE]; /* the feature cache key, or a hash of the user's files: baselines key
                              */
    char dir[4096];          /* where the .npy files are (the cache directory; "" for user files) */
    int d;
    FeatureSplit train, val;
    int n_ood;
    FeatureSplit ood[FEAT_MAX_OOD];
    /* The health check over train (preprocess_health): dimensions that are constant,
     * and that are more than 90% exact zeros. Flows on such features are unstable. */
    int n_constant, n_mostly_zero;
    int K;                   /* head outputs; 0 without a head */
    float *head_W, *head_b;  /* K × d and K, or NULL */
    int64_t *train_labels;   /* train.n class ids, or NULL */
    int64_t *val_labels;     /* val.n class ids, or NULL */
    int builtin;             /* 1: the built-in backbone (dir holds backbone.bin) */
    int pixels;              /* 1: images of 8-bit values, NHWC rows (data/pixelset.h) */
    int img_h, img_w, img_c; /* pixels: the image shape, d = h·w·c */
    int id_mask[10];         /* built-in: the in-distribution classes */
    long limit;              /* built-in: images per set (0 = all; tests only) */
} FeatureSet;

/* Loads the features of run spec s: the built-in ones through the cache under
 * cache_root (training the backbone when they are not there yet), or the user's
 * .npy files. Only the OOD sets s asks for are kept, in its order. */
int featureset_load(const RunSpec *s, const char *cache_root, FeatureSet *fs, Err *e);

/* The built-in features of one cache directory (feature_cache.h), with the OOD
 * sets named by ood (n_ood of them) and the settings the cache was built with
 * (id_mask, limit: ODIN rebuilds the same images from them). featureset_load
 * calls it after features_ensure. On failure *fs owns what was read (free it). */
int featureset_from_cache(const char *dir, const char *const *ood, int n_ood, const int id_mask[10],
                          long limit, FeatureSet *fs, Err *e);

/* True when runs a and b read the same features (the runner then loads them once). */
int featureset_same_source(const PlanRun *a, const PlanRun *b);

/* Reads the training rows chunk by chunk as a RowSource (flows/rows.h), for a pass
 * over all of them: a phase named `phase` with progress on a terminal (rows, MB/s,
 * ETA; a new pass starts when row 0 is read again) and one line per phase
 * otherwise (featureset_train_end), pages already read dropped from the resident
 * set. A failed read (a non-finite value) leaves its reason in *e. */
typedef struct {
    const FeatureSet *fs;
    Err *e;
    Progress pr;
    char phase[48];
    int passes;
    int failed; /* a read failed: *e holds why */
    long prev_r0, prev_m;
    double bytes; /* read from the file so far */
    RowArray array;
    RowSource src;
} TrainReader;
void featureset_train_source(const FeatureSet *fs, const char *phase, TrainReader *t, Err *e);
void featureset_train_end(TrainReader *t);

/* Training rows idx[0..n) -> out (n, d) as float32. */
int featureset_train_gather(const FeatureSet *fs, const int *idx, long n, float *out, Err *e);

/* All training rows as an (n, d) float32 array: train.x, the map itself (<f4), or a
 * converted copy that *owned receives (the caller frees it; NULL otherwise). For the
 * baselines fitted on the training features. NULL on failure with *e set. */
const float *featureset_train_x(const FeatureSet *fs, float **owned, Err *e);

void featureset_free(FeatureSet *fs);

#endif
