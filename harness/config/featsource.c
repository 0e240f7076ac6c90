/* featsource.c — parses data.features and checks the user's .npy headers (featsource.h). */
#include "config/featsource.h"

#include "config/keyerror.h"
#include "data/npy.h"
#include "data/pixelset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every check needs: the source being filled and where messages point. */
typedef struct {
    FeatureSource *fs;
    const char *file, *dir;
    Err *e;
} FeatCtx;

/* The path n names (under `where`: data.features or data.images), joined to dir
 * when relative, into joined. LDE_EINPUT when n is not a path. */
static int joined_path(FeatCtx *c, const char *where, const char *key, const YtNode *n,
                       char *joined, size_t size) {
    if (n->kind != YT_SCALAR || yt_is_null(n)) {
        char got[64];
        return fail(c->e, LDE_EINPUT, "%s:%d:%d: %s.%s: expected a .npy path, got %s", c->file,
                    n->line, n->col, where, key, yt_describe(n, got, sizeof got));
    }
    if (n->str[0] == '/')
        snprintf(joined, size, "%s", n->str);
    else
        snprintf(joined, size, "%s/%s", c->dir, n->str);
    return LDE_OK;
}

/* The absolute form of joined (malloc'd, freed by featsource_free) into *out: the
 * same files give the same run id whichever directory lde runs from. */
static int absolute_path(FeatCtx *c, const char *where, const char *key, const YtNode *n,
                         const char *joined, const char **out) {
    char *abs = realpath(joined, NULL);
    if (!abs)
        return fail(c->e, LDE_EINPUT, "%s:%d:%d: %s.%s: cannot resolve %s", c->file, n->line,
                    n->col, where, key, joined);
    *out = abs;
    return LDE_OK;
}

/* Resolves a path written in the config against dir, checks its .npy header into
 * h and stores the absolute path in *out. */
static int feat_path(FeatCtx *c, const char *key, const YtNode *n, const char **out, NpyShape *h) {
    char joined[8192], dtype[8];
    int rc = joined_path(c, "data.features", key, n, joined, sizeof joined);
    if (rc != LDE_OK) return rc;
    Err inner = {{0}};
    if (npy_shape(joined, h, dtype, &inner) != LDE_OK)
        return fail(c->e, LDE_EINPUT, "%s:%d:%d: data.features.%s: %s", c->file, n->line, n->col,
                    key, inner.msg);
    return absolute_path(c, "data.features", key, n, joined, out);
}

static int shape_error(FeatCtx *c, const YtNode *n, const char *key, const NpyShape *h,
                       const char *want) {
    char got[96];
    if (h->ndim == 1)
        snprintf(got, sizeof got, "(%ld)", h->rows);
    else
        snprintf(got, sizeof got, "(%ld, %ld)", h->rows, h->cols);
    return fail(c->e, LDE_EINPUT, "%s:%d:%d: data.features.%s: %s has shape %s, expected %s",
                c->file, n->line, n->col, key, n->str, got, want);
}

/* Checks h is (rows, cols) or (rows) when cols < 0; -1 in rows/cols = any. */
static int feat_shape(FeatCtx *c, const YtNode *n, const char *key, const NpyShape *h,
                      long long rows, long long cols) {
    int ndim = cols < 0 ? 1 : 2;
    char want[96];
    if (cols < 0)
        snprintf(want, sizeof want, "(%lld)", rows);
    else if (rows < 0)
        snprintf(want, sizeof want, "(N, %lld)", cols);
    else
        snprintf(want, sizeof want, "(%lld, %lld)", rows, cols);
    if (h->ndim != ndim || (rows >= 0 && h->rows != rows) || (cols >= 0 && h->cols != cols) ||
        h->rows == 0)
        return shape_error(c, n, key, h, want);
    return LDE_OK;
}

/* Entry i of an OOD mapping (under `where`): at most FEAT_MAX_OOD, a name of
 * letters, digits, _ - . (it names a column of every table), kept in fs->ood[i]. */
static int ood_entry(FeatCtx *c, const char *where, const YtNode *ood, int i) {
    if (i == FEAT_MAX_OOD)
        return fail(c->e, LDE_EINPUT, "%s:%d:%d: %s.ood: more than %d OOD sets", c->file, ood->line,
                    ood->col, where, FEAT_MAX_OOD);
    const char *name = ood->keys[i]->str;
    if (!name[0] || strlen(name) > 32 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name))
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: %s.ood: bad OOD set name `%s` "
                    "(letters, digits, _ - . and at most 32)",
                    c->file, ood->keys[i]->line, ood->keys[i]->col, where, name);
    c->fs->ood[i].name = strdup(name);
    c->fs->n_ood = i + 1;
    return c->fs->ood[i].name ? LDE_OK : fail(c->e, LDE_EINPUT, "%s: out of memory", c->file);
}

static int parse_features_map(FeatCtx *c, const YtNode *m) {
    static const char *const keys[] = {"train", "val", "ood", "head", "train_labels", "val_labels"};
    FeatureSource *fs = c->fs;
    for (int i = 0; i < m->n; i++) {
        int known = 0;
        for (int k = 0; k < 6; k++) known |= strcmp(m->keys[i]->str, keys[k]) == 0;
        if (!known) return unknown_key_error(c->file, m->keys[i], "data.features", keys, 6, c->e);
    }
    const YtNode *tr = yt_get(m, "train"), *va = yt_get(m, "val");
    if (!tr || !va)
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.features: `%s` is missing (user features "
                    "need train and val .npy files)",
                    c->file, m->line, m->col, tr ? "val" : "train");
    NpyShape ht = {0}, h = {0};
    int rc = feat_path(c, "train", tr, &fs->train, &ht);
    if (rc != LDE_OK) return rc;
    if (ht.ndim != 2 || ht.rows < 1 || ht.cols < 1 || ht.cols > 1 << 20)
        return shape_error(c, tr, "train", &ht, "(N, d)");
    long long N = ht.rows, d = ht.cols;
    fs->d = (int)d;
    rc = feat_path(c, "val", va, &fs->val, &h);
    if (rc == LDE_OK) rc = feat_shape(c, va, "val", &h, -1, d);
    if (rc != LDE_OK) return rc;
    long long M = h.rows;
    const YtNode *ood = yt_get(m, "ood");
    if (ood && (ood->kind != YT_MAP || ood->n == 0)) {
        char got[64];
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.features.ood: expected a mapping {name: path.npy}, got %s",
                    c->file, ood->line, ood->col, yt_describe(ood, got, sizeof got));
    }
    for (int i = 0; ood && i < ood->n; i++) {
        if ((rc = ood_entry(c, "data.features", ood, i)) != LDE_OK) return rc;
        char key[64];
        snprintf(key, sizeof key, "ood.%s", fs->ood[i].name);
        rc = feat_path(c, key, ood->vals[i], &fs->ood[i].path, &h);
        if (rc == LDE_OK) rc = feat_shape(c, ood->vals[i], key, &h, -1, d);
        if (rc != LDE_OK) return rc;
    }
    const YtNode *head = yt_get(m, "head");
    if (head) {
        static const char *const hk[] = {"W", "b"};
        if (head->kind != YT_MAP)
            return fail(c->e, LDE_EINPUT,
                        "%s:%d:%d: data.features.head: expected {W: C×d.npy, "
                        "b: C.npy}",
                        c->file, head->line, head->col);
        for (int i = 0; i < head->n; i++)
            if (strcmp(head->keys[i]->str, "W") != 0 && strcmp(head->keys[i]->str, "b") != 0)
                return unknown_key_error(c->file, head->keys[i], "data.features.head", hk, 2, c->e);
        const YtNode *w = yt_get(head, "W"), *b = yt_get(head, "b");
        if (!w || !b)
            return fail(c->e, LDE_EINPUT, "%s:%d:%d: data.features.head: needs both W and b",
                        c->file, head->line, head->col);
        rc = feat_path(c, "head.W", w, &fs->head_W, &h);
        if (rc == LDE_OK) rc = feat_shape(c, w, "head.W", &h, -1, d);
        long long C = h.rows;
        if (rc == LDE_OK) rc = feat_path(c, "head.b", b, &fs->head_b, &h);
        if (rc == LDE_OK) rc = feat_shape(c, b, "head.b", &h, C, -1);
        if (rc != LDE_OK) return rc;
    }
    const YtNode *tl = yt_get(m, "train_labels"), *vl = yt_get(m, "val_labels");
    if (tl) {
        rc = feat_path(c, "train_labels", tl, &fs->train_labels, &h);
        if (rc == LDE_OK) rc = feat_shape(c, tl, "train_labels", &h, N, -1);
        if (rc != LDE_OK) return rc;
    }
    if (vl) {
        rc = feat_path(c, "val_labels", vl, &fs->val_labels, &h);
        if (rc == LDE_OK) rc = feat_shape(c, vl, "val_labels", &h, M, -1);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

/* Resolves an image path against dir, checks its header (data/pixelset.h: uint8 or
 * float [0,1], (N,H,W) or (N,H,W,C)) and that its H, W, C are those of train. */
static int image_path(FeatCtx *c, const char *key, const YtNode *n, const char **out, long *N) {
    char joined[8192];
    int rc = joined_path(c, "data.images", key, n, joined, sizeof joined), h, w, ch;
    if (rc != LDE_OK) return rc;
    Err inner = {{0}};
    if (pixelset_shape(joined, N, &h, &w, &ch, &inner) != LDE_OK)
        return fail(c->e, LDE_EINPUT, "%s:%d:%d: data.images.%s: %s", c->file, n->line, n->col, key,
                    inner.msg);
    FeatureSource *fs = c->fs;
    if (fs->img_h == 0)
        fs->img_h = h, fs->img_w = w, fs->img_c = ch;
    else if (h != fs->img_h || w != fs->img_w || ch != fs->img_c)
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.images.%s: %s holds %d×%d×%d images, train %d×%d×%d", c->file,
                    n->line, n->col, key, n->str, h, w, ch, fs->img_h, fs->img_w, fs->img_c);
    return absolute_path(c, "data.images", key, n, joined, out);
}

static int parse_images_map(FeatCtx *c, const YtNode *m) {
    static const char *const keys[] = {"train", "val", "ood"};
    FeatureSource *fs = c->fs;
    if (m->kind != YT_MAP) {
        char got[64];
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.images: expected a mapping {train: a.npy, val: b.npy, ood: "
                    "{name: c.npy}}, got %s",
                    c->file, m->line, m->col, yt_describe(m, got, sizeof got));
    }
    for (int i = 0; i < m->n; i++) {
        int known = 0;
        for (int k = 0; k < 3; k++) known |= strcmp(m->keys[i]->str, keys[k]) == 0;
        if (!known) return unknown_key_error(c->file, m->keys[i], "data.images", keys, 3, c->e);
    }
    const YtNode *tr = yt_get(m, "train"), *va = yt_get(m, "val"), *ood = yt_get(m, "ood");
    if (!tr || !va || !ood)
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.images: `%s` is missing (images need train, val and at "
                    "least one OOD set)",
                    c->file, m->line, m->col,
                    !tr   ? "train"
                    : !va ? "val"
                          : "ood");
    long n;
    int rc = image_path(c, "train", tr, &fs->train, &n);
    if (rc == LDE_OK) rc = image_path(c, "val", va, &fs->val, &n);
    if (rc != LDE_OK) return rc;
    fs->d = fs->img_h * fs->img_w * fs->img_c;
    if (ood->kind != YT_MAP || ood->n == 0) {
        char got[64];
        return fail(c->e, LDE_EINPUT,
                    "%s:%d:%d: data.images.ood: expected a mapping {name: path.npy}, got %s",
                    c->file, ood->line, ood->col, yt_describe(ood, got, sizeof got));
    }
    for (int i = 0; i < ood->n; i++) {
        if ((rc = ood_entry(c, "data.images", ood, i)) != LDE_OK) return rc;
        char key[64];
        snprintf(key, sizeof key, "ood.%s", fs->ood[i].name);
        if ((rc = image_path(c, key, ood->vals[i], &fs->ood[i].path, &n)) != LDE_OK) return rc;
    }
    return LDE_OK;
}

int featsource_parse_images(const YtNode *n, const char *file, const char *dir, FeatureSource **out,
                            Err *e) {
    *out = NULL;
    FeatureSource *fs = calloc(1, sizeof *fs);
    if (!fs) return fail(e, LDE_EINPUT, "%s: out of memory", file);
    fs->pixels = 1;
    FeatCtx c = {fs, file, dir, e};
    int rc = parse_images_map(&c, n);
    if (rc != LDE_OK) {
        featsource_free(fs);
        return rc;
    }
    *out = fs;
    return LDE_OK;
}

const char *featsource_path(const FeatureSource *fs, int k) {
    switch (k) {
    case FEAT_TRAIN:
        return fs->train;
    case FEAT_VAL:
        return fs->val;
    case FEAT_HEAD_W:
        return fs->head_W;
    case FEAT_HEAD_B:
        return fs->head_b;
    case FEAT_TRAIN_LABELS:
        return fs->train_labels;
    case FEAT_VAL_LABELS:
        return fs->val_labels;
    default:
        return k - FEAT_OOD < fs->n_ood ? fs->ood[k - FEAT_OOD].path : NULL;
    }
}

int featsource_digest(FeatureSource *fs, Err *e) {
    for (int k = 0; !fs->builtin && k < FEAT_MAX_INPUTS; k++) {
        const char *path = featsource_path(fs, k);
        if (!path || fs->digest[k].hex[0]) continue;
        int rc = filedigest_get(path, &fs->digest[k], e);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

int featsource_inputs(const FeatureSource *fs, FeatInput *out) {
    static const char *const roles[FEAT_OOD] = {"train",  "val",          "head.W",
                                                "head.b", "train_labels", "val_labels"};
    int n = 0;
    for (int k = 0; !fs->builtin && k < FEAT_MAX_INPUTS; k++) {
        const char *path = featsource_path(fs, k);
        if (!path) continue;
        FeatInput *in = &out[n++];
        const char *prefix = fs->pixels ? "images." : "";
        if (k < FEAT_OOD)
            snprintf(in->role, sizeof in->role, "%s%s", prefix, roles[k]);
        else
            snprintf(in->role, sizeof in->role, "%sood.%s", prefix, fs->ood[k - FEAT_OOD].name);
        in->path = path;
        in->digest = &fs->digest[k];
    }
    return n;
}

void featsource_free(FeatureSource *fs) {
    if (!fs) return;
    free((char *)fs->train);
    free((char *)fs->val);
    for (int i = 0; i < fs->n_ood; i++) {
        free((char *)fs->ood[i].name);
        free((char *)fs->ood[i].path);
    }
    free((char *)fs->head_W);
    free((char *)fs->head_b);
    free((char *)fs->train_labels);
    free((char *)fs->val_labels);
    free(fs);
}

int featsource_parse(const YtNode *n, const char *file, const char *dir, FeatureSource **out,
                     Err *e) {
    *out = NULL;
    int latent = n->kind == YT_SCALAR && strcmp(n->str, "fashion-mnist") == 0;
    int pixels = n->kind == YT_SCALAR && strcmp(n->str, "fashion-mnist-pixels") == 0;
    if (n->kind == YT_SCALAR && !latent && !pixels)
        return fail(e, LDE_EINPUT,
                    "%s:%d:%d: data.features: unknown feature set `%s`; expected "
                    "`fashion-mnist`, `fashion-mnist-pixels` or a mapping {train: a.npy, val: "
                    "b.npy, ood: {name: c.npy}}",
                    file, n->line, n->col, n->str);
    if (n->kind == YT_SEQ)
        return fail(e, LDE_EINPUT,
                    "%s:%d:%d: data.features: expected `fashion-mnist`, `fashion-mnist-pixels` or "
                    "a mapping, got a list",
                    file, n->line, n->col);
    FeatureSource *fs = calloc(1, sizeof *fs);
    if (!fs) return fail(e, LDE_EINPUT, "%s: out of memory", file);
    if (n->kind == YT_SCALAR) {
        fs->builtin = 1;
        /* Fashion-MNIST's 28×28 grey-scale images, as 8-bit values. */
        if (pixels) fs->pixels = 1, fs->img_h = 28, fs->img_w = 28, fs->img_c = 1, fs->d = 784;
        *out = fs;
        return LDE_OK;
    }
    FeatCtx c = {fs, file, dir, e};
    int rc = parse_features_map(&c, n);
    if (rc != LDE_OK) {
        featsource_free(fs);
        return rc;
    }
    *out = fs;
    return LDE_OK;
}
