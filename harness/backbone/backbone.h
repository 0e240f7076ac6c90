/* backbone.h — the built-in classifier whose penultimate activations are lde's
 * built-in features (DESIGN.md, Features).
 *
 *   cnn  (default)  S stages of conv3×3 (no bias) → BatchNorm → ReLU, widths
 *                   32/64/128/256 and strides 1/2/1/2 by default, then global
 *                   average pooling → features (width of the last stage), then a
 *                   linear head → 10 logits.
 *   mlp             784 → 1024 → 512, each Linear → ReLU; the last ReLU output is
 *                   the feature vector (mostly exact zeros: kept to show why sparse
 *                   features break flows), then the linear head.
 *
 * Inputs are 28×28 images with pixels in [0,1], one image per row (B, 784); the
 * model standardizes them by the training-set pixel mean and std it stores
 * (in_mean, in_std), so a saved backbone scores new images on its own.
 *
 * Memory: all trained parameters live in one flat buffer `params` (Adam and
 * save/load are one loop each), in layer order: per stage the conv weights then
 * the BatchNorm gamma, beta (cnn) or the Linear W, b (mlp); then the head's W
 * (classes × features) and b. `state` holds BatchNorm running mean and variance
 * per stage (saved, not trained). Activations inside a cnn are channel-major
 * (C, B, h, w): see flows/conv2d.h. */
#ifndef LDE_BACKBONE_H
#define LDE_BACKBONE_H

#include "flows/conv2d_onednn.h"
#include "util/err.h"

#include <stdint.h>

enum { BACKBONE_MAX_STAGES = 8, BACKBONE_SIDE = 28, BACKBONE_PIXELS = 784 };

typedef enum { BACKBONE_CNN, BACKBONE_MLP } BackboneArch;

typedef struct {
    BackboneArch arch;
    int nstages;                     /* conv stages (cnn) or hidden layers (mlp) */
    int width[BACKBONE_MAX_STAGES];  /* channels (cnn) or units (mlp) per stage */
    int stride[BACKBONE_MAX_STAGES]; /* cnn only: 1 or 2 */
    int nclasses;                    /* head outputs */
    ConvImpl conv;                   /* cnn: im2col or oneDNN convs (data.backbone.conv);
                                      * they differ in the last bits, so a backbone keeps it */
} BackboneShape;

typedef struct {
    BackboneShape shape;
    int feat_dim;  /* width of the last stage */
    long nparams;  /* floats in params */
    long nstate;   /* floats in state */
    float *params; /* trained weights (layout above) */
    float *state;  /* BatchNorm running statistics */
    float in_mean; /* input standardization: x' = (x - in_mean) / in_std */
    float in_std;
} Backbone;

/* Per-batch buffers for forward and backward; sized for up to `cap` images. */
typedef struct BackboneWork BackboneWork;

/* The defaults: cnn 32/64/128/256, strides 1/2/1/2, 10 classes; mlp 1024/512. */
BackboneShape backbone_shape_default(BackboneArch arch);

/* "cnn" or "mlp". */
const char *backbone_arch_name(BackboneArch arch);

/* Allocates and initializes (PyTorch default inits, rng streams by layer, from
 * seed) a backbone with in_mean 0, in_std 1. LDE_EINPUT for an impossible shape
 * (no stage, a width outside 1..4096, a stride not 1 or 2, fewer than 2 classes). */
int backbone_init(Backbone *bb, const BackboneShape *shape, uint64_t seed, Err *e);

void backbone_free(Backbone *bb);

/* Buffers for batches of at most cap images (NULL when out of memory). */
BackboneWork *backbone_work_new(const Backbone *bb, int cap);
void backbone_work_free(BackboneWork *w);

/* x (B, 784) in [0,1] -> features (B, feat_dim) and logits (B, nclasses), pointers
 * into w valid until the next call. train: BatchNorm uses batch statistics and
 * updates the running ones (B >= 2); otherwise the running ones. */
void backbone_forward(Backbone *bb, BackboneWork *w, const float *x, int B, int train,
                      const float **feat, const float **logits);

/* After a training-mode forward of the same batch: the mean softmax cross-entropy
 * against labels (B) is returned and its gradient w.r.t. params written to grad
 * (nparams floats, overwritten). */
double backbone_backward(Backbone *bb, BackboneWork *w, const int64_t *labels, int B, float *grad);

/* The gradient of the cross-entropy of softmax(logits / T) against labels (B) w.r.t.
 * the input pixels x (B, 784), the network in evaluation mode: ODIN's input
 * preprocessing (Liang et al. 2018) steps against its sign. Writes dx (B, 784). */
void backbone_input_grad(Backbone *bb, BackboneWork *w, const float *x, const int64_t *labels,
                         float T, int B, float *dx);

/* The head as the harness's user-features interface wants it: W (nclasses,
 * feat_dim) and b (nclasses), pointers into params. */
const float *backbone_head_W(const Backbone *bb);
const float *backbone_head_b(const Backbone *bb);

/* backbone.bin: magic "LDEBB1\n", the shape, in_mean, in_std, params, state, as
 * little-endian int32 / float32, through atomicfile.h. */
int backbone_save(const Backbone *bb, const char *path, Err *e);
/* Reads a file backbone_save wrote into a fresh Backbone (free with backbone_free);
 * LDE_EINPUT naming the file for a wrong magic, shape or size. */
int backbone_load(Backbone *bb, const char *path, Err *e);

#endif
