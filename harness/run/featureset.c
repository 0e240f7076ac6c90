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

/* The training split, mapped in place (featureset.h); d = 0 accepts any width. */
static int map_train(FeatureSplit *sp, const char *path, int *d, Err *e) {
    snprintf(sp->name, sizeof sp->name, "train");
    int rc = npymap_open(path, &sp->map, e);
    if (rc != LDE_OK) return rc;
    if (sp->map.ndim != 2 || (*d && sp->map.cols != *d))
        return fail(e, LDE_EINPUT, "%s: shape (%ld, %d), expected (N, %d) features", path,
                    sp->map.rows, sp->map.cols, *d);
    sp->n = sp->map.rows, *d = sp->map.cols;
    return LDE_OK;
}

/* TrainReader's rows (featureset.h): the pages of the chunk before are released,
 * the pass's progress advanced. */
static const float *reader_rows(void *ctx, long r0, long m, float *buf) {
    TrainReader *t = ctx;
    const FeatureSplit *sp = &t->fs->train;
    if (r0 == 0) t->passes++;
    if (t->prev_m > 0) npymap_release(&sp->map, t->prev_r0, t->prev_m);
    t->prev_r0 = r0, t->prev_m = m;
    t->bytes += (double)m * sp->map.cols * sp->map.elem;
    const float *x = npymap_rows(&sp->map, r0, m, buf, t->e);
    t->failed |= !x;
    if (x && t->pr.tty) {
        char note[96];
        double s = progress_elapsed(&t->pr);
        snprintf(note, sizeof note, "pass %d, %.0f MB/s", t->passes,
                 s > 0 ? t->bytes / 1e6 / s : 0.0);
        progress_update(&t->pr, r0 + m, note);
    }
    return x;
}

void featureset_train_source(const FeatureSet *fs, const char *phase, TrainReader *t, Err *e) {
    memset(t, 0, sizeof *t);
    t->fs = fs, t->e = e;
    snprintf(t->phase, sizeof t->phase, "%s", phase);
    progress_begin(&t->pr, phase, fs->train.n);
    if (fs->train.x) {
        t->array = (RowArray){fs->train.x, fs->d};
        t->src = (RowSource){fs->train.n, fs->d, rows_of_array, &t->array};
    } else {
        t->src = (RowSource){fs->train.n, fs->d, reader_rows, t};
    }
}

void featureset_train_end(TrainReader *t) {
    const FeatureSplit *sp = &t->fs->train;
    if (t->prev_m > 0) npymap_release(&sp->map, t->prev_r0, t->prev_m);
    double s = progress_elapsed(&t->pr);
    progress_end(&t->pr);
    if (t->passes > 0 && !t->failed)
        progress_line(&t->pr, "%s: %ld rows × %d (%s), %d pass%s, %.1f s, %.0f MB/s", t->phase,
                      sp->n, sp->map.cols,
                      sp->map.elem == 2   ? "float16"
                      : sp->map.elem == 8 ? "float64"
                                          : "float32",
                      t->passes, t->passes == 1 ? "" : "es", s, s > 0 ? t->bytes / 1e6 / s : 0.0);
}

int featureset_train_gather(const FeatureSet *fs, const int *idx, long n, float *out, Err *e) {
    if (!fs->train.x) return npymap_gather(&fs->train.map, idx, n, out, e);
    for (long i = 0; i < n; i++)
        memcpy(out + i * fs->d, fs->train.x + (long)idx[i] * fs->d, sizeof(float) * (size_t)fs->d);
    return LDE_OK;
}

const float *featureset_train_x(const FeatureSet *fs, float **owned, Err *e) {
    *owned = NULL;
    if (fs->train.x) return fs->train.x;
    float *buf = NULL;
    if (fs->train.map.elem != 4 || fs->train.n == 0) {
        buf = malloc(sizeof(float) * (size_t)(fs->train.n ? fs->train.n : 1) * (size_t)fs->d);
        if (!buf) {
            fail(e, LDE_ERUN, "%s: out of memory for the training features", fs->train.map.path);
            return NULL;
        }
    }
    const float *x = fs->train.n ? npymap_rows(&fs->train.map, 0, fs->train.n, buf, e) : buf;
    if (!x) free(buf), buf = NULL;
    *owned = x == buf ? buf : NULL;
    if (x != buf) free(buf);
    return x;
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

/* z (n, d) -> logits (n, K) = z·Wᵀ + b: the bias fills the output, gemm adds z·Wᵀ,
 * over chunks of rows read from src (chunks of whole 128-row tiles, so the bits are
 * those of one gemm over all rows). NULL out of memory or on a failed read. */
static float *head_logits(const FeatureSet *fs, const RowSource *src) {
    enum { LOGIT_CHUNK = 4096 };
    long n = src->n;
    float *l = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)fs->K);
    float *buf = malloc(sizeof(float) * LOGIT_CHUNK * (size_t)fs->d);
    if (!l || !buf) {
        free(l), free(buf);
        return NULL;
    }
    for (long i = 0; i < n; i++) memcpy(l + i * fs->K, fs->head_b, sizeof(float) * (size_t)fs->K);
    for (long r0 = 0; r0 < n; r0 += LOGIT_CHUNK) {
        long m = n - r0 < LOGIT_CHUNK ? n - r0 : LOGIT_CHUNK;
        const float *z = src->rows(src->ctx, r0, m, buf);
        if (!z) {
            free(l), free(buf);
            return NULL;
        }
        gemm(0, 1, (int)m, fs->K, fs->d, 1.0f, z, fs->d, fs->head_W, fs->d, 1.0f, l + r0 * fs->K,
             fs->K);
    }
    free(buf);
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
    TrainReader t;
    featureset_train_source(fs, "head logits", &t, e);
    fs->train.logits = head_logits(fs, &t.src);
    featureset_train_end(&t);
    if (!fs->train.logits)
        return t.failed ? LDE_EINPUT : fail(e, LDE_ERUN, "train: out of memory for the logits");
    for (int i = 0; i < 1 + fs->n_ood; i++) {
        FeatureSplit *sp = i == 0 ? &fs->val : &fs->ood[i - 1];
        RowArray a = {sp->x, fs->d};
        RowSource src = {sp->n, fs->d, rows_of_array, &a};
        if (!(sp->logits = head_logits(fs, &src)))
            return fail(e, LDE_ERUN, "%s: out of memory for the logits", sp->name);
    }
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
    c.shape.conv = (ConvImpl)b->conv;
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
    if ((rc = map_train(&fs->train, path, &d, e)) != LDE_OK) return rc;
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
    if ((rc = map_train(&fs->train, src->train, &d, e)) != LDE_OK) return rc;
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

/* Counts the flagged dimensions of the training features (featureset.h), reading
 * every row once: this pass also refuses a non-finite value. */
static int check_health(FeatureSet *fs, Err *e) {
    unsigned char *flags = malloc(fs->d > 0 ? (size_t)fs->d : 1);
    if (!flags) return fail(e, LDE_ERUN, "out of memory checking the features");
    TrainReader t;
    featureset_train_source(fs, "reading training features", &t, e);
    int flagged = preprocess_health_rows(&t.src, flags);
    featureset_train_end(&t);
    if (flagged < 0) {
        free(flags);
        return t.failed ? LDE_EINPUT : fail(e, LDE_ERUN, "out of memory checking the features");
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
    npymap_close(&fs->train.map);
    memset(fs, 0, sizeof *fs);
}
