/* featureset.c — the flow's input from the feature cache or the user's .npy files
 * (see featureset.h). */
#include "run/featureset.h"

#include "backbone/feature_cache.h"
#include "data/npy.h"
#include "data/pixelset.h"
#include "flows/gemm.h"
#include "flows/preprocess.h"
#include "util/progress.h"
#include "util/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Reads an (n, d) float array; d = 0 accepts any width and sets it. */
static int read_rows(const char *path, float **x, long *n, int *d, Err *e) {
    NpyShape s;
    int rc = npy_read_f32(path, x, &s, e);
    if (rc != LDE_OK) return rc;
    if (s.ndim != 2 || (*d && s.cols != *d)) {
        free(*x), *x = NULL;
        return fail(e, LDE_EINPUT, "%s: shape (%ld, %ld), expected (N, %d) features", path, s.rows,
                    s.cols, *d);
    }
    *n = s.rows, *d = (int)s.cols;
    return LDE_OK;
}

static int read_split(FeatureSplit *sp, const char *name, const char *path, int *d, Err *e) {
    snprintf(sp->name, sizeof sp->name, "%s", name);
    return read_rows(path, &sp->x, &sp->n, d, e);
}

/* Labels of n rows from path (a 1-D integer .npy of length n). */
static int read_labels(const char *path, long n, int64_t **y, Err *e) {
    NpyShape s;
    int rc = npy_read_i64(path, y, &s, e);
    if (rc != LDE_OK) return rc;
    if (s.ndim != 1 || s.rows != n) {
        free(*y), *y = NULL;
        return fail(e, LDE_EINPUT, "%s: shape (%ld%s), expected (%ld,) labels", path, s.rows,
                    s.ndim == 1 ? "," : ", ...", n);
    }
    return LDE_OK;
}

/* z (n, d) -> logits (n, K) = z·Wᵀ + b: the bias fills the output, gemm adds z·Wᵀ. */
static float *head_logits(const FeatureSet *fs, const FeatureSplit *sp) {
    long n = sp->n;
    float *l = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)fs->K);
    if (!l) return NULL;
    for (long i = 0; i < n; i++) memcpy(l + i * fs->K, fs->head_b, sizeof(float) * (size_t)fs->K);
    if (n > 0)
        gemm(0, 1, (int)n, fs->K, fs->d, 1.0f, sp->x, fs->d, fs->head_W, fs->d, 1.0f, l, fs->K);
    return l;
}

/* The optional extras of the baselines: head W (K, d) and b (K), then the logits
 * of every split, and the labels. A NULL path is absent. */
static int load_extras(FeatureSet *fs, const char *W, const char *b, const char *train_labels,
                       const char *val_labels, Err *e) {
    int rc;
    if (train_labels && (rc = read_labels(train_labels, fs->train.n, &fs->train_labels, e)))
        return rc;
    if (val_labels && (rc = read_labels(val_labels, fs->val.n, &fs->val_labels, e))) return rc;
    if (!W || !b) return LDE_OK;
    NpyShape sw, sb;
    if ((rc = npy_read_f32(W, &fs->head_W, &sw, e)) || (rc = npy_read_f32(b, &fs->head_b, &sb, e)))
        return rc;
    if (sw.ndim != 2 || sw.cols != fs->d || sw.rows < 1)
        return fail(e, LDE_EINPUT, "%s: shape (%ld, %ld), expected (K, %d): the head's W", W,
                    sw.rows, sw.cols, fs->d);
    if (sb.ndim != 1 || sb.rows != sw.rows)
        return fail(e, LDE_EINPUT, "%s: shape (%ld%s), expected (%ld,): the head's b", b, sb.rows,
                    sb.ndim == 1 ? "," : ", ...", sw.rows);
    fs->K = (int)sw.rows;
    FeatureSplit *all[2 + FEAT_MAX_OOD] = {&fs->train, &fs->val};
    for (int i = 0; i < fs->n_ood; i++) all[2 + i] = &fs->ood[i];
    for (int i = 0; i < 2 + fs->n_ood; i++)
        if (!(all[i]->logits = head_logits(fs, all[i])))
            return fail(e, LDE_ERUN, "%s: out of memory for the logits", all[i]->name);
    return LDE_OK;
}

/* The cache's progress, one line per finished epoch (features_ensure's callback). */
static void on_progress(void *ctx, const FeaturesProgress *p) {
    Progress *pr = ctx;
    if (p->epoch_done)
        progress_line(pr, "backbone epoch %d/%d: loss %.4f, train accuracy %.2f%%", p->epoch + 1,
                      p->epochs, p->loss, 100.0 * p->accuracy);
}

static int load_builtin(const RunSpec *s, const char *root, FeatureSet *fs, Err *e) {
    FeaturesConfig c = features_config_default();
    const BackboneSpec *b = &s->data.backbone;
    c.shape = backbone_shape_default(b->arch);
    c.shape.nstages = b->channels.n;
    /* Stage strides alternate 1, 2 as in the default cnn (32/64/128/256: 1, 2, 1, 2). */
    for (int i = 0; i < b->channels.n; i++)
        c.shape.width[i] = b->channels.v[i], c.shape.stride[i] = i % 2 ? 2 : 1;
    c.train.epochs = b->epochs, c.train.seed = (uint64_t)b->seed, c.train.augment = b->augment;
    c.train.batch = b->batch_size, c.train.lr = (float)b->lr;
    if (s->data.id_classes.n > 0) {
        memset(c.id_mask, 0, sizeof c.id_mask);
        for (int i = 0; i < s->data.id_classes.n; i++) c.id_mask[s->data.id_classes.v[i]] = 1;
    }
    c.lde_version = lde_version;
    Progress pr;
    progress_begin(&pr, "features", 0);
    FeaturesSummary sum;
    char dir[4096];
    int rc = features_ensure(&c, root, dir, sizeof dir, on_progress, &pr, &sum, e);
    progress_end(&pr);
    if (rc != LDE_OK) return rc;
    if (sum.damaged[0])
        fprintf(stderr, "features: %s failed its checksum (truncated or changed): rebuilt\n",
                sum.damaged);
    if (!sum.hit)
        fprintf(stderr, "features: built %s in %.0f s (test accuracy %.2f%%)\n", dir, sum.seconds,
                100.0 * sum.test_accuracy);
    const char *names[FEAT_MAX_OOD];
    for (int i = 0; i < s->data.ood.n; i++) names[i] = ood_set_name(s->data.ood.v[i]);
    return featureset_from_cache(dir, names, s->data.ood.n, c.id_mask, c.limit, fs, e);
}

int featureset_from_cache(const char *dir, const char *const *ood, int n_ood, const int id_mask[10],
                          long limit, FeatureSet *fs, Err *e) {
    memset(fs, 0, sizeof *fs);
    fs->builtin = 1, fs->limit = limit;
    memcpy(fs->id_mask, id_mask, sizeof fs->id_mask);
    snprintf(fs->dir, sizeof fs->dir, "%s", dir);
    const char *slash = strrchr(fs->dir, '/');
    snprintf(fs->key, sizeof fs->key, "%.79s", slash ? slash + 1 : fs->dir);
    char path[4200];
    int d = 0, rc;
    snprintf(path, sizeof path, "%s/train.npy", dir);
    if ((rc = read_split(&fs->train, "train", path, &d, e)) != LDE_OK) return rc;
    snprintf(path, sizeof path, "%s/val.npy", dir);
    if ((rc = read_split(&fs->val, "val", path, &d, e)) != LDE_OK) return rc;
    for (int i = 0; i < n_ood; i++) {
        snprintf(path, sizeof path, "%s/ood_%s.npy", dir, ood[i]);
        if ((rc = read_split(&fs->ood[i], ood[i], path, &d, e)) != LDE_OK) return rc;
        fs->n_ood = i + 1;
    }
    fs->d = d;
    char hw[4200], hb[4200], trl[4200], vall[4200];
    snprintf(hw, sizeof hw, "%s/head_W.npy", dir);
    snprintf(hb, sizeof hb, "%s/head_b.npy", dir);
    snprintf(trl, sizeof trl, "%s/train_labels.npy", dir);
    snprintf(vall, sizeof vall, "%s/val_labels.npy", dir);
    return load_extras(fs, hw, hb, trl, vall, e);
}

/* User features: the key is a hash of the files' content digests by slot (the head
 * and labels included: the baselines depend on them; plan_build computed them), so
 * baselines recompute when a file's bytes change and not when it is copied or
 * moved (issue 23). */
static int load_user(const FeatureSource *src, FeatureSet *fs, Err *e) {
    int d = 0, rc;
    if ((rc = read_split(&fs->train, "train", src->train, &d, e)) != LDE_OK) return rc;
    if ((rc = read_split(&fs->val, "val", src->val, &d, e)) != LDE_OK) return rc;
    for (int i = 0; i < src->n_ood; i++) {
        if ((rc = read_split(&fs->ood[i], src->ood[i].name, src->ood[i].path, &d, e)) != LDE_OK)
            return rc;
        fs->n_ood = i + 1;
    }
    fs->d = d;
    XXH3_state_t *h = XXH3_createState();
    if (!h) return fail(e, LDE_ERUN, "features: out of memory");
    XXH3_64bits_reset(h);
    for (int k = 0; k < FEAT_MAX_INPUTS; k++) {
        if (!featsource_path(src, k)) continue;
        if (k >= FEAT_OOD) {
            const char *name = src->ood[k - FEAT_OOD].name;
            XXH3_64bits_update(h, name, strlen(name) + 1);
        }
        XXH3_64bits_update(h, &k, sizeof k);
        XXH3_64bits_update(h, src->digest[k].hex, sizeof src->digest[k].hex);
    }
    snprintf(fs->key, sizeof fs->key, "user-%016llx", (unsigned long long)XXH3_64bits_digest(h));
    XXH3_freeState(h);
    return load_extras(fs, src->head_W, src->head_b, src->train_labels, src->val_labels, e);
}

/* Counts the flagged dimensions of the training features (featureset.h). */
static int check_health(FeatureSet *fs, Err *e) {
    unsigned char *flags = malloc(fs->d > 0 ? (size_t)fs->d : 1);
    if (!flags || preprocess_health(fs->train.x, fs->train.n, fs->d, flags) < 0) {
        free(flags);
        return fail(e, LDE_ERUN, "out of memory checking the features");
    }
    for (int j = 0; j < fs->d; j++) {
        fs->n_constant += (flags[j] & HEALTH_CONSTANT) != 0;
        fs->n_mostly_zero += (flags[j] & HEALTH_MOSTLY_ZERO) != 0;
    }
    free(flags);
    return LDE_OK;
}

/* Moves a split's values into the feature set (the PixelSet no longer owns them). */
static void take_split(FeatureSplit *dst, PixelSplit *src) {
    snprintf(dst->name, sizeof dst->name, "%s", src->name);
    dst->x = src->v, dst->n = src->n;
    src->v = NULL;
}

/* Images for a flow on pixels: the built-in Fashion-MNIST sets or the user's. */
static int load_pixels(const RunSpec *s, FeatureSet *fs, Err *e) {
    const FeatureSource *src = s->data.features;
    const char *names[FEAT_MAX_OOD], *paths[FEAT_MAX_OOD];
    PixelSet ps;
    int rc;
    if (src->builtin) {
        int mask[10] = {0};
        for (int i = 0; i < s->data.id_classes.n; i++) mask[s->data.id_classes.v[i]] = 1;
        for (int i = 0; i < s->data.ood.n; i++) names[i] = ood_set_name(s->data.ood.v[i]);
        rc = pixelset_builtin(names, s->data.ood.n, s->data.id_classes.n ? mask : NULL, 0, &ps, e);
        snprintf(fs->key, sizeof fs->key, "fashion-mnist-pixels");
    } else {
        for (int i = 0; i < src->n_ood; i++)
            names[i] = src->ood[i].name, paths[i] = src->ood[i].path;
        rc = pixelset_user(src->train, src->val, names, paths, src->n_ood, &ps, e);
        snprintf(fs->key, sizeof fs->key, "user-images");
    }
    if (rc != LDE_OK) return rc;
    fs->pixels = 1, fs->img_h = ps.h, fs->img_w = ps.w, fs->img_c = ps.c;
    fs->d = ps.h * ps.w * ps.c;
    take_split(&fs->train, &ps.train);
    take_split(&fs->val, &ps.val);
    for (int i = 0; i < ps.n_ood; i++) take_split(&fs->ood[i], &ps.ood[i]);
    fs->n_ood = ps.n_ood;
    pixelset_free(&ps);
    return LDE_OK;
}

int featureset_load(const RunSpec *s, const char *cache_root, FeatureSet *fs, Err *e) {
    memset(fs, 0, sizeof *fs);
    if (s->data.features->pixels) {
        int rc = load_pixels(s, fs, e);
        if (rc != LDE_OK) featureset_free(fs);
        return rc;
    }
    int rc = s->data.features->builtin ? load_builtin(s, cache_root, fs, e)
                                       : load_user(s->data.features, fs, e);
    if (rc == LDE_OK) rc = check_health(fs, e);
    if (rc != LDE_OK) featureset_free(fs);
    return rc;
}

int featureset_same_source(const PlanRun *a, const PlanRun *b) {
    if (a->spec.data.features != b->spec.data.features) return 0;
    /* Every data.* parameter shapes the features; their canonical JSON compares them. */
    for (int i = 0; i < n_params; i++) {
        if (strncmp(params[i].path, "data.", 5) != 0) continue;
        const char *x = a->values[i], *y = b->values[i];
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0)) return 0;
    }
    return 1;
}

void featureset_free(FeatureSet *fs) {
    free(fs->train.x), free(fs->val.x), free(fs->train.logits), free(fs->val.logits);
    for (int i = 0; i < fs->n_ood; i++) free(fs->ood[i].x), free(fs->ood[i].logits);
    free(fs->head_W), free(fs->head_b), free(fs->train_labels), free(fs->val_labels);
    memset(fs, 0, sizeof *fs);
}
