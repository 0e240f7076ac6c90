/* feature_cache.h — the built-in features: train the backbone once per setting,
 * extract every set, and keep the result under results/features/<key>/.
 *
 * The key is XXH3-64 (hex) of a canonical text that names everything that changes
 * the features: a format version, the backbone shape, the training settings, the
 * in-distribution classes, the test-only image limit, the OOD noise seed and the
 * XXH3 of the data files' bytes (the four Fashion-MNIST idx files and digits.csv.gz).
 * Any other change — thread count, output directory, lde's version — reuses it.
 *
 * A key's directory holds (N = images of the set, d = feature width, K = classes):
 *   train.npy (N,d) train_labels.npy (N) train_logits.npy (N,K)   ID training images
 *   val.npy (N,d) val_labels.npy (N) val_logits.npy (N,K)         ID test images
 *   ood_<name>.npy (N,d) ood_<name>_logits.npy (N,K)   digits, gaussian, uniform,
 *                                                      vflip, and heldout with id classes
 *   head_W.npy (K,d) head_b.npy (K)   logits = features · Wᵀ + b
 *   backbone.bin   the trained network (backbone.h)
 *   manifest.json  the canonical settings, accuracy, zero statistics, timings
 * Labels are the original Fashion-MNIST class ids; the head keeps all 10 outputs
 * even when training sees only some classes.
 *
 * Crash safety: a build writes into root/.tmp-<key>-<pid> and renames it to
 * root/<key> only when every file is written, so a directory named by a key is
 * always complete; leftovers of a killed build are removed by the next build of
 * that key. A build holds flock(2) on root/<key>.lock, so two processes never
 * build the same key at once: the second waits, then finds the cache. */
#ifndef LDE_FEATURE_CACHE_H
#define LDE_FEATURE_CACHE_H

#include "backbone/backbone.h"
#include "backbone/backbone_train.h"
#include "util/err.h"

#include <stddef.h>

enum { FEATURES_FORMAT = 1 };

typedef struct {
    BackboneShape shape;
    BackboneTrainConfig train;
    int id_mask[10];         /* 1 for each in-distribution class */
    long limit;              /* tests only: at most this many images per set (0 = all) */
    const char *lde_version; /* written into the manifest; not part of the key */
} FeaturesConfig;

/* cnn defaults, backbone_train_defaults(), all 10 classes, no limit. */
FeaturesConfig features_config_default(void);

/* What one features_ensure call reports. */
typedef struct {
    const char *phase; /* "train" or "extract" */
    long done, total;  /* training steps, or images extracted */
    int epoch, epochs; /* train phase */
    double loss, accuracy;
    int epoch_done;
} FeaturesProgress;

typedef void (*FeaturesProgressFn)(void *ctx, const FeaturesProgress *p);

/* What a cache holds, from the build or, on a hit, from its manifest. */
typedef struct {
    int hit;              /* 1 when the cache existed */
    double test_accuracy; /* on val (ID test images) */
    double zero_fraction; /* exact zeros among train features */
    int dims_mostly_zero; /* feature dims that are > 90% zero on train */
    double train_seconds; /* of the build (0 on a hit) */
    double build_seconds;
    double seconds;     /* of this call */
    char damaged[4400]; /* a file of the entry whose checksum failed: the entry was
                           removed and built again ("" when none) */
} FeaturesSummary;

/* The key (16 hex digits + NUL) and, when canon is not NULL, the canonical text.
 * Reads the data files to checksum them: LDE_EINPUT naming a missing one. */
int features_key(const FeaturesConfig *c, char key[17], char *canon, size_t ncanon, Err *e);

/* Makes sure root/<key> exists (building it if needed; root is created) and
 * writes its path into dir (n bytes). progress may be NULL. An entry whose files
 * do not match the digests in its manifest (a truncated .npy) is never used: it
 * is removed and built again, and sum->damaged names the file. */
int features_ensure(const FeaturesConfig *c, const char *root, char *dir, size_t n,
                    FeaturesProgressFn progress, void *ctx, FeaturesSummary *sum, Err *e);

#endif
