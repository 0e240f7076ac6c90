/* backbone_train.h — training the built-in backbone and extracting its features.
 *
 * Adam (flows/adam.h) on the mean softmax cross-entropy, a cosine learning-rate
 * schedule from lr to 0 over all steps, mini-batches from a fresh permutation each
 * epoch (the last batch of an epoch may be smaller), inputs standardized by the
 * training set's pixel mean and std (stored in the Backbone). Optional augmentation:
 * a random shift of up to ±2 pixels in each direction (zero fill) and a horizontal
 * flip with probability 1/2.
 *
 * Determinism: the permutation of epoch k is rng stream TRAIN_PERM_STREAM + k, the
 * augmentation of the i-th image drawn in the run is index i of
 * TRAIN_AUG_STREAM, weights come from the seed; every layer gives the same bits at
 * any thread count, so the same seed gives the same model, bit for bit. */
#ifndef LDE_BACKBONE_TRAIN_H
#define LDE_BACKBONE_TRAIN_H

#include "backbone/backbone.h"
#include "util/err.h"

#include <stdint.h>

typedef struct {
    uint64_t seed;
    int epochs;
    float lr; /* peak learning rate (cosine-annealed to 0) */
    int batch;
    int augment; /* shifts and flips */
} BackboneTrainConfig;

/* seed 0, 4 epochs, lr 1e-3, batch 128, no augmentation. */
BackboneTrainConfig backbone_train_defaults(void);

/* What a progress callback sees after each step. */
typedef struct {
    int epoch;         /* 0-based */
    long step, nsteps; /* steps done in the run, and in all */
    double loss;       /* mean loss over this epoch's steps so far */
    double accuracy;   /* training accuracy over this epoch's images so far */
    int epoch_done;    /* 1 on the last step of an epoch */
} BackboneTrainStatus;

typedef void (*BackboneProgressFn)(void *ctx, const BackboneTrainStatus *st);

/* Trains bb (already initialized by backbone_init with the seed) on n images pix
 * (n, 784) in [0,1] with labels in [0, nclasses). progress may be NULL. LDE_EINPUT
 * for a bad config or a label out of range, LDE_ERUN when out of memory. */
int backbone_train(Backbone *bb, const BackboneTrainConfig *c, const float *pix,
                   const int64_t *labels, long n, BackboneProgressFn progress, void *ctx, Err *e);

/* Evaluation-mode pass over n images pix (n, 784): feat (n, feat_dim) and logits
 * (n, nclasses); either may be NULL. LDE_ERUN when out of memory. */
int backbone_extract(Backbone *bb, const float *pix, long n, float *feat, float *logits, Err *e);

/* Fraction of rows of logits (n, K) whose argmax (first on ties) is the label. */
double backbone_accuracy(const float *logits, const int64_t *labels, long n, int K);

#endif
