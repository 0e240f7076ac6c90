/* featsource.h — where a run's features come from (DESIGN.md, Features).
 *
 * `data.features` is either `fashion-mnist` (the built-in backbone computes them)
 * or a mapping of user .npy files:
 *   {train: N×d, val: M×d, ood: {name: K×d, ...}, head: {W: C×d, b: C},
 *    train_labels: N, val_labels: M}
 * Only the headers are read here, before anything runs: every file must exist, be
 * a C-order .npy at least as long as its shape, and agree with train on d (and on
 * N / M for labels, on C between W and b). Paths are resolved against the
 * config's directory and kept absolute, so the same files give the same run id
 * whichever directory lde runs from. */
#ifndef LDE_FEATSOURCE_H
#define LDE_FEATSOURCE_H

#include "config/yamltree.h"
#include "util/err.h"
#include "util/filedigest.h"

enum { FEAT_MAX_OOD = 16 };

/* A user source's files by slot: the fixed ones, then OOD set i at FEAT_OOD + i. */
enum {
    FEAT_TRAIN,
    FEAT_VAL,
    FEAT_HEAD_W,
    FEAT_HEAD_B,
    FEAT_TRAIN_LABELS,
    FEAT_VAL_LABELS,
    FEAT_OOD,
    FEAT_MAX_INPUTS = FEAT_OOD + FEAT_MAX_OOD
};

typedef struct {
    const char *name, *path;
} NamedPath;

/* builtin = 1: Fashion-MNIST, through the built-in backbone (latents) or as
 * pixels (pixels = 1, `fashion-mnist-pixels`); the paths are unused. Otherwise
 * absolute paths (optional ones NULL): user features, or with pixels = 1 user
 * images (data.images: train, val and ood only). */
typedef struct {
    int builtin;
    int pixels;              /* 1: images of 8-bit values for a flow on pixels (issue 15) */
    int img_h, img_w, img_c; /* pixels: the image shape (d = h·w·c) */
    const char *train, *val;
    int n_ood;
    NamedPath ood[FEAT_MAX_OOD];
    const char *head_W, *head_b, *train_labels, *val_labels;
    int d; /* user features: d from train's header; pixels: h·w·c; built-in latents: 0 (the
            * last backbone width is d) */
    /* Each file's content digest by slot (featsource_digest; hex "" until then, and
     * for slots without a file). The run id hashes these, not the paths. */
    FileDigest digest[FEAT_MAX_INPUTS];
} FeatureSource;

/* One input file of a run: its role ("train", "ood.svhn", "head.W"; "images.train"
 * for images), where it is and what it holds. */
typedef struct {
    char role[48];
    const char *path;
    const FileDigest *digest;
} FeatInput;

/* Parses n (`fashion-mnist` or a mapping as above); relative paths resolve against
 * dir. On success *out is owned by the caller (featsource_free). Errors name
 * file:line:col of the offending entry, the file and the shape expected. */
int featsource_parse(const YtNode *n, const char *file, const char *dir, FeatureSource **out,
                     Err *e);
/* Parses data.images, {train, val, ood: {name: path}}: image .npy files (uint8
 * (N,H,W) or (N,H,W,C), or float in [0,1]) of one shape, checked by header only
 * (data/pixelset.h). *out has pixels = 1 and the image shape. */
int featsource_parse_images(const YtNode *n, const char *file, const char *dir, FeatureSource **out,
                            Err *e);
void featsource_free(FeatureSource *fs);

/* The path of slot k of a user source (NULL when the source has no such file). */
const char *featsource_path(const FeatureSource *fs, int k);

/* Hashes every file of a user source into fs->digest (util/filedigest.h: once per
 * file state, cached); nothing for the built-in data, whose cache key (the
 * data.backbone parameters) already names their content. Idempotent.
 * LDE_EINPUT naming a file that cannot be read. */
int featsource_digest(FeatureSource *fs, Err *e);

/* The files of fs into out (FEAT_MAX_INPUTS entries), in slot order; returns
 * how many (0 for the built-in data). */
int featsource_inputs(const FeatureSource *fs, FeatInput *out);

#endif
