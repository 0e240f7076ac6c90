/* featureset.c — the flow's input from the feature cache or the user's .npy files
 * (see featureset.h). */
#include "featureset.h"

#include "commands.h"
#include "feature_cache.h"
#include "npy.h"
#include "preprocess.h"
#include "progress.h"

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
    int rc = features_ensure(&c, root, fs->dir, sizeof fs->dir, on_progress, &pr, &sum, e);
    progress_end(&pr);
    if (rc != LDE_OK) return rc;
    if (!sum.hit)
        fprintf(stderr, "features: built %s in %.0f s (test accuracy %.2f%%)\n", fs->dir,
                sum.seconds, 100.0 * sum.test_accuracy);
    const char *slash = strrchr(fs->dir, '/');
    snprintf(fs->key, sizeof fs->key, "%.79s", slash ? slash + 1 : fs->dir);

    char path[4200];
    int d = 0;
    snprintf(path, sizeof path, "%s/train.npy", fs->dir);
    if ((rc = read_split(&fs->train, "train", path, &d, e)) != LDE_OK) return rc;
    snprintf(path, sizeof path, "%s/val.npy", fs->dir);
    if ((rc = read_split(&fs->val, "val", path, &d, e)) != LDE_OK) return rc;
    for (int i = 0; i < s->data.ood.n; i++) {
        const char *name = ood_set_name(s->data.ood.v[i]);
        snprintf(path, sizeof path, "%s/ood_%s.npy", fs->dir, name);
        if ((rc = read_split(&fs->ood[i], name, path, &d, e)) != LDE_OK) return rc;
        fs->n_ood = i + 1;
    }
    fs->d = d;
    return LDE_OK;
}

/* User features: the key is a hash of the files' paths, sizes and times, so baselines
 * recompute when a file is replaced. */
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
    XXH3_64bits_reset(h);
    XXH3_64bits_update(h, src->train, strlen(src->train) + 1);
    XXH3_64bits_update(h, src->val, strlen(src->val) + 1);
    for (int i = 0; i < src->n_ood; i++)
        XXH3_64bits_update(h, src->ood[i].path, strlen(src->ood[i].path) + 1);
    snprintf(fs->key, sizeof fs->key, "user-%016llx", (unsigned long long)XXH3_64bits_digest(h));
    XXH3_freeState(h);
    return LDE_OK;
}

/* Counts the flagged dimensions of the training features (featureset.h). */
static int check_health(FeatureSet *fs, Err *e) {
    unsigned char *flags = malloc((size_t)fs->d);
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

int featureset_load(const RunSpec *s, const char *cache_root, FeatureSet *fs, Err *e) {
    memset(fs, 0, sizeof *fs);
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
    free(fs->train.x), free(fs->val.x);
    for (int i = 0; i < fs->n_ood; i++) free(fs->ood[i].x);
    memset(fs, 0, sizeof *fs);
}
