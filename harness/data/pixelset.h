/* pixelset.h — 8-bit image sets for flows on pixels (DESIGN.md, Features item 3;
 * issue 15): train, val and named OOD sets of H×W×C images, from the built-in
 * Fashion-MNIST sets or from the user's .npy files.
 *
 * Invariants of a loaded PixelSet:
 *   - every value is an integer 0..255 stored exactly as a float (the flow core's
 *     float buffers take them directly; dequantization and the logit transform
 *     are the flow's business, not this file's);
 *   - a split's v holds n·h·w·c floats, image i at v + i·h·w·c, in NHWC order:
 *     row-major over rows (row 0 the top), then columns, then channels;
 *   - every split has the same h, w, c, and n >= 1;
 *   - one owner frees everything with pixelset_free; a failed load leaves *ps
 *     zeroed, with nothing allocated.
 *
 * Float pixels p in [0, 1] (the built-in sets, user float files) become
 * round(p·255), computed in double, halves rounding up: Fashion-MNIST's stored
 * bytes come back exactly, and the digits and noise sets become 8-bit like it. */
#ifndef LDE_PIXELSET_H
#define LDE_PIXELSET_H

#include "util/err.h"

enum {
    PIXELSET_MAX_OOD = 16,      /* as many as data.features.ood allows (FEAT_MAX_OOD) */
    PIXELSET_NAME_MAX = 32,     /* characters of an OOD set's name, as the config allows */
    PIXELSET_MAX_SIDE = 1 << 14 /* H and W beyond this are refused (no real image set is) */
};

typedef struct {
    char name[PIXELSET_NAME_MAX + 1]; /* "train", "val" or the OOD set's name */
    long n;
    float *v; /* n × (h·w·c) values, each an integer 0..255, NHWC */
} PixelSplit;

typedef struct {
    int h, w, c;
    PixelSplit train, val;
    int n_ood;
    PixelSplit ood[PIXELSET_MAX_OOD];
} PixelSet;

/* Built-in, 28×28×1: the Fashion-MNIST (fmnist.h) train images of the ID classes
 * as train, the test images of the ID classes as val — exactly the images the
 * built-in backbone's features come from (feature_cache.c) — and the OOD sets
 * named by ood[0..n_ood-1] (oodsets.h: digits, gaussian, uniform, vflip, heldout),
 * in that order. id_mask: 10 flags, NULL = all classes; limit > 0 keeps the first
 * `limit` images of each set (tests). LDE_EINPUT for an unknown or repeated OOD
 * name, more than PIXELSET_MAX_OOD, heldout without held-out classes, or a missing
 * or corrupt data file (naming it). */
int pixelset_builtin(const char *const *ood, int n_ood, const int *id_mask, long limit,
                     PixelSet *ps, Err *e);

/* The user's images: train, val and the OOD sets ood_paths[i] named ood_names[i],
 * each a .npy of uint8 (|u1) images (N, H, W) or (N, H, W, C), C in 1..4 — the
 * layout torchvision and Keras arrays have when saved with np.save — or of float
 * (<f4, <f8, <f2) values in [0, 1] of the same ranks, quantized to round(x·255).
 * (N, H, W) is C = 1, so it agrees with (N, H, W, 1). Every header is checked
 * before any data is read. LDE_EINPUT, one line naming the file and what was
 * expected, for: a wrong rank ("PATH: shape (10, 784): expected (N, H, W) or
 * (N, H, W, C) images"), a wrong dtype, C outside 1..4, N = 0, H or W outside
 * 1..PIXELSET_MAX_SIDE, H, W or C unlike train's (naming both files and shapes), a
 * float value outside [0, 1] or NaN (naming image, row, column and channel, all
 * 0-based), an OOD name that is empty, longer than PIXELSET_NAME_MAX or repeated,
 * more than PIXELSET_MAX_OOD sets, and every .npy-level problem (npy.h). */
int pixelset_user(const char *train, const char *val, const char *const *ood_names,
                  const char *const *ood_paths, int n_ood, PixelSet *ps, Err *e);

/* Header only (for config time, before anything runs): the shape of an image
 * .npy as (n, h, w, c) under the rank, dtype, channel, N and side rules of
 * pixelset_user; no data is read, so a float value outside [0, 1] is only found
 * by pixelset_user. */
int pixelset_shape(const char *path, long *n, int *h, int *w, int *c, Err *e);

/* Frees every split and zeroes *ps; safe on a zeroed or already freed set. */
void pixelset_free(PixelSet *ps);

#endif
