/* feature_cache.c — see feature_cache.h. */
#include "backbone/feature_cache.h"

#include "data/digits.h"
#include "data/fmnist.h"
#include "data/images.h"
#include "data/npy.h"
#include "data/oodsets.h"
#include "util/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

FeaturesConfig features_config_default(void) {
    FeaturesConfig c;
    memset(&c, 0, sizeof c);
    c.shape = backbone_shape_default(BACKBONE_CNN);
    c.train = backbone_train_defaults();
    for (int k = 0; k < 10; k++) c.id_mask[k] = 1;
    return c;
}

/* XXH3 of a file's bytes, fed into st. */
static int hash_file(XXH3_state_t *st, const char *path, Err *e) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(e, LDE_EINPUT, "%s: cannot read (%s); `make deps` installs it", path,
                    strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: not a regular file", path);
    }
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) XXH3_64bits_update(st, buf, got);
    int bad = ferror(f);
    fclose(f);
    return bad ? fail(e, LDE_EINPUT, "%s: read error", path) : LDE_OK;
}

static int data_checksum(uint64_t *out, Err *e) {
    static const char *const files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    XXH3_state_t *st = XXH3_createState();
    if (!st) return fail(e, LDE_ERUN, "features: out of memory");
    XXH3_64bits_reset(st);
    int rc = LDE_OK;
    char path[4096];
    for (int i = 0; i < 4 && rc == LDE_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", fmnist_dir(), files[i]);
        rc = hash_file(st, path, e);
    }
    if (rc == LDE_OK) rc = hash_file(st, digits_path(), e);
    *out = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return rc;
}

/* Appends printf-style text to buf (size n) at *len, truncating safely. */
static void appendf(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t n, size_t *len, const char *fmt, ...) {
    if (*len >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k < n - *len ? (size_t)k : n - *len - 1;
}

int features_key(const FeaturesConfig *c, char key[17], char *canon, size_t ncanon, Err *e) {
    uint64_t data = 0;
    int rc = data_checksum(&data, e);
    if (rc) return rc;
    char text[1024];
    size_t len = 0;
    const BackboneShape *s = &c->shape;
    appendf(text, sizeof text, &len, "format=%d arch=%s widths=", FEATURES_FORMAT,
            backbone_arch_name(s->arch));
    for (int i = 0; i < s->nstages; i++)
        appendf(text, sizeof text, &len, "%s%d", i ? "," : "", s->width[i]);
    if (s->arch == BACKBONE_CNN) {
        appendf(text, sizeof text, &len, " strides=");
        for (int i = 0; i < s->nstages; i++)
            appendf(text, sizeof text, &len, "%s%d", i ? "," : "", s->stride[i]);
        /* Only when not the default, so the keys of im2col backbones stay as they were. */
        if (s->conv == CONV_ONEDNN) appendf(text, sizeof text, &len, " conv=onednn");
    }
    appendf(text, sizeof text, &len,
            " classes=%d seed=%llu epochs=%d lr=%.9g batch=%d augment=%d id_classes=", s->nclasses,
            (unsigned long long)c->train.seed, c->train.epochs, (double)c->train.lr, c->train.batch,
            c->train.augment);
    for (int k = 0, first = 1; k < 10; k++)
        if (c->id_mask[k]) appendf(text, sizeof text, &len, "%s%d", first ? "" : ",", k), first = 0;
    appendf(text, sizeof text, &len, " limit=%ld ood_seed=%d data=%016llx", c->limit, OOD_SEED,
            (unsigned long long)data);
    snprintf(key, 17, "%016llx", (unsigned long long)XXH3_64bits(text, len));
    if (canon) snprintf(canon, ncanon, "%s", text);
    return LDE_OK;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* rm -rf path (no error when it does not exist). */
static void remove_tree(const char *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Features (N, d) of one set: fraction of exact zeros and dims zero in > 90% of rows. */
static void zero_stats(const float *f, long N, int d, double *frac, int *mostly) {
    long total = 0;
    *mostly = 0;
    for (int j = 0; j < d; j++) {
        long z = 0;
        for (long i = 0; i < N; i++) z += f[i * d + j] == 0.0f;
        total += z;
        *mostly += z > 0.9 * (double)N;
    }
    *frac = N > 0 ? (double)total / ((double)N * d) : 0.0;
}

/* One set through the backbone into DIR/<name>.npy and DIR/<name>_logits.npy (and
 * DIR/<name>_labels.npy when with_labels). feat (N, d) is returned when keep is
 * not NULL (caller frees). */
typedef struct {
    const FeaturesConfig *c;
    FeaturesProgressFn progress;
    void *ctx;
    long done, total; /* images extracted so far, and in all */
} Build;

static int extract_set(Build *b, Backbone *bb, const Images *im, const char *dir, const char *name,
                       int with_labels, float **keep, double *accuracy, Err *e) {
    long N = im->n;
    int d = bb->feat_dim, K = bb->shape.nclasses;
    float *feat = malloc(sizeof(float) * (size_t)(N > 0 ? N : 1) * d);
    float *logits = malloc(sizeof(float) * (size_t)(N > 0 ? N : 1) * K);
    int rc = feat && logits ? LDE_OK : fail(e, LDE_ERUN, "features: out of memory for %s", name);
    /* In pieces of 1024 images, so the progress bar moves. */
    for (long first = 0; rc == LDE_OK && first < N; first += 1024) {
        long m = N - first < 1024 ? N - first : 1024;
        rc = backbone_extract(bb, im->pix + first * BACKBONE_PIXELS, m, feat + first * d,
                              logits + first * K, e);
        b->done += m;
        if (b->progress) {
            FeaturesProgress p = {"extract", b->done, b->total, 0, 0, 0, 0, 0};
            b->progress(b->ctx, &p);
        }
    }
    char path[4200];
    if (rc == LDE_OK) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, name);
        rc = npy_write_f32(path, feat, (NpyShape){2, N, d}, e);
    }
    if (rc == LDE_OK) {
        snprintf(path, sizeof path, "%s/%s_logits.npy", dir, name);
        rc = npy_write_f32(path, logits, (NpyShape){2, N, K}, e);
    }
    if (rc == LDE_OK && with_labels) {
        snprintf(path, sizeof path, "%s/%s_labels.npy", dir, name);
        rc = npy_write_i64(path, im->labels, (NpyShape){1, N, 1}, e);
    }
    if (rc == LDE_OK && accuracy) *accuracy = backbone_accuracy(logits, im->labels, N, K);
    free(logits);
    if (keep && rc == LDE_OK)
        *keep = feat;
    else
        free(feat);
    return rc;
}

static void train_progress(void *ctx, const BackboneTrainStatus *st) {
    Build *b = ctx;
    if (!b->progress) return;
    FeaturesProgress p = {"train",  st->step,     st->nsteps,    st->epoch, b->c->train.epochs,
                          st->loss, st->accuracy, st->epoch_done};
    b->progress(b->ctx, &p);
}

static int all_classes(const int *mask) {
    for (int k = 0; k < 10; k++)
        if (!mask[k]) return 0;
    return 1;
}

static void limit_set(Images *im, long limit) {
    if (limit > 0 && im->n > limit) im->n = limit;
}

/* XXH3-64 of one file's bytes; *ok = 0 when it cannot be read. */
static uint64_t file_digest(const char *path, int *ok) {
    XXH3_state_t *st = XXH3_createState();
    Err e;
    *ok = st != NULL;
    if (st) {
        XXH3_64bits_reset(st);
        *ok = hash_file(st, path, &e) == LDE_OK;
    }
    uint64_t d = st ? XXH3_64bits_digest(st) : 0;
    XXH3_freeState(st);
    return d;
}

/* The manifest's "files" value (issue 20): "name=16 hex digits;" for each file of
 * the entry in dir but the manifest, in name order, so a hit can tell a truncated
 * or overwritten file from the one the build wrote. */
static int entry_digests(const char *dir, char *out, size_t n, Err *e) {
    char pat[4200];
    snprintf(pat, sizeof pat, "%s/*", dir);
    glob_t g;
    size_t len = 0;
    out[0] = '\0';
    if (glob(pat, 0, NULL, &g) != 0) return fail(e, LDE_ERUN, "%s: cannot list the entry", dir);
    int rc = LDE_OK;
    for (size_t i = 0; i < g.gl_pathc && rc == LDE_OK; i++) {
        const char *name = strrchr(g.gl_pathv[i], '/') + 1;
        if (strcmp(name, "manifest.json") == 0) continue;
        int ok;
        uint64_t d = file_digest(g.gl_pathv[i], &ok);
        if (!ok || len + strlen(name) + 20 >= n)
            rc = fail(e, LDE_ERUN, "%s: cannot checksum the entry's files", g.gl_pathv[i]);
        else
            appendf(out, n, &len, "%s=%016llx;", name, (unsigned long long)d);
    }
    globfree(&g);
    return rc;
}

static int write_manifest(const char *dir, const FeaturesConfig *c, const char *key,
                          const char *canon, const FeaturesSummary *s, long ntrain, long nval,
                          int d, Err *e) {
    char path[4200], files[8192];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int rc = entry_digests(dir, files, sizeof files, e);
    if (rc) return rc;
    AtomicFile a;
    if ((rc = atomic_open(&a, path, e))) return rc;
    fprintf(a.f, "{\n  \"format\": %d,\n  \"key\": \"%s\",\n  \"settings\": \"%s\",\n",
            FEATURES_FORMAT, key, canon);
    fprintf(a.f, "  \"arch\": \"%s\",\n  \"seed\": %llu,\n  \"epochs\": %d,\n",
            backbone_arch_name(c->shape.arch), (unsigned long long)c->train.seed, c->train.epochs);
    fprintf(a.f, "  \"n_train\": %ld,\n  \"n_val\": %ld,\n  \"dim\": %d,\n", ntrain, nval, d);
    fprintf(a.f, "  \"test_accuracy\": %.6f,\n  \"zero_fraction\": %.6g,\n", s->test_accuracy,
            s->zero_fraction);
    fprintf(a.f, "  \"dims_mostly_zero\": %d,\n  \"train_seconds\": %.2f,\n", s->dims_mostly_zero,
            s->train_seconds);
    fprintf(a.f, "  \"files\": \"%s\",\n", files);
    fprintf(a.f, "  \"build_seconds\": %.2f,\n  \"threads\": %d,\n  \"lde_version\": \"%s\"\n}\n",
            s->build_seconds, omp_get_max_threads(), c->lde_version ? c->lde_version : "");
    return atomic_commit(&a, e);
}

/* Everything of a build inside tmp; fills sum. */
static int build(const FeaturesConfig *c, const char *tmp, const char *key, const char *canon,
                 FeaturesProgressFn progress, void *ctx, FeaturesSummary *sum, Err *e) {
    double t0 = omp_get_wtime();
    Images train = {0}, test = {0}, idtrain = {0}, val = {0};
    Backbone bb = {0};
    float *ftrain = NULL;
    int rc = fmnist_load(1, &train, e);
    if (rc == LDE_OK) rc = fmnist_load(0, &test, e);
    if (rc == LDE_OK) rc = id_classes_keep(&train, c->id_mask, &idtrain, e);
    if (rc == LDE_OK) rc = id_classes_keep(&test, c->id_mask, &val, e);
    images_free(&train);
    limit_set(&idtrain, c->limit);
    limit_set(&val, c->limit);
    if (rc == LDE_OK) rc = backbone_init(&bb, &c->shape, c->train.seed, e);
    Build b = {c, progress, ctx, 0, 0};
    double t1 = omp_get_wtime();
    if (rc == LDE_OK)
        rc = backbone_train(&bb, &c->train, idtrain.pix, idtrain.labels, idtrain.n, train_progress,
                            &b, e);
    sum->train_seconds = omp_get_wtime() - t1;
    /* The OOD sets: every built-in one that applies (heldout needs held-out classes). */
    const char *const *names = ood_names();
    int nood = 0;
    Images ood[8] = {{0}};
    const char *oodname[8] = {NULL};
    for (int i = 0; rc == LDE_OK && names[i] && nood < 8; i++) {
        if (strcmp(names[i], "heldout") == 0 && all_classes(c->id_mask)) continue;
        rc = ood_build(names[i], &test, c->id_mask, &ood[nood], e);
        limit_set(&ood[nood], c->limit);
        oodname[nood++] = names[i];
    }
    b.total = idtrain.n + val.n;
    for (int i = 0; i < nood; i++) b.total += ood[i].n;
    int d = bb.feat_dim;
    if (rc == LDE_OK) rc = extract_set(&b, &bb, &idtrain, tmp, "train", 1, &ftrain, NULL, e);
    if (rc == LDE_OK) rc = extract_set(&b, &bb, &val, tmp, "val", 1, NULL, &sum->test_accuracy, e);
    for (int i = 0; rc == LDE_OK && i < nood; i++) {
        char name[64];
        snprintf(name, sizeof name, "ood_%s", oodname[i]);
        rc = extract_set(&b, &bb, &ood[i], tmp, name, 0, NULL, NULL, e);
    }
    char path[4200];
    if (rc == LDE_OK) {
        snprintf(path, sizeof path, "%s/head_W.npy", tmp);
        rc = npy_write_f32(path, backbone_head_W(&bb), (NpyShape){2, bb.shape.nclasses, d}, e);
    }
    if (rc == LDE_OK) {
        snprintf(path, sizeof path, "%s/head_b.npy", tmp);
        rc = npy_write_f32(path, backbone_head_b(&bb), (NpyShape){1, bb.shape.nclasses, 1}, e);
    }
    if (rc == LDE_OK) {
        snprintf(path, sizeof path, "%s/backbone.bin", tmp);
        rc = backbone_save(&bb, path, e);
    }
    if (rc == LDE_OK) {
        zero_stats(ftrain, idtrain.n, d, &sum->zero_fraction, &sum->dims_mostly_zero);
        sum->build_seconds = omp_get_wtime() - t0;
        rc = write_manifest(tmp, c, key, canon, sum, idtrain.n, val.n, d, e);
    }
    for (int i = 0; i < nood; i++) images_free(&ood[i]);
    images_free(&test), images_free(&idtrain), images_free(&val);
    backbone_free(&bb);
    free(ftrain);
    return rc;
}

/* The number after "key": in a manifest we wrote (0 when absent). */
static double manifest_number(const char *text, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(text, pat);
    return p ? strtod(p + strlen(pat), NULL) : 0.0;
}

/* Whether every file the manifest text lists still has its digest; the first
 * that does not (truncated, overwritten, missing) goes into sum->damaged. An
 * entry written before the list existed has none to check. */
static int entry_intact(const char *dir, const char *text, FeaturesSummary *sum) {
    const char *p = strstr(text, "\"files\": \"");
    if (!p) return 1;
    p += strlen("\"files\": \"");
    while (*p && *p != '"') {
        const char *eq = strchr(p, '='), *semi = eq ? strchr(eq, ';') : NULL;
        if (!eq || !semi || eq - p > 200) return 0;
        char path[4400];
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(eq - p), p);
        int ok;
        uint64_t d = file_digest(path, &ok);
        if (!ok || d != strtoull(eq + 1, NULL, 16)) {
            snprintf(sum->damaged, sizeof sum->damaged, "%s", path);
            return 0;
        }
        p = semi + 1;
    }
    return 1;
}

/* A hit: dir exists (it only ever appears complete) and its files have the
 * digests its manifest lists. Fills the summary from the manifest. */
static int cache_hit(const char *dir, FeaturesSummary *sum) {
    char path[4200], text[16384];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    if (!entry_intact(dir, text, sum)) return 0;
    sum->hit = 1;
    sum->test_accuracy = manifest_number(text, "test_accuracy");
    sum->zero_fraction = manifest_number(text, "zero_fraction");
    sum->dims_mostly_zero = (int)manifest_number(text, "dims_mostly_zero");
    sum->train_seconds = manifest_number(text, "train_seconds");
    sum->build_seconds = manifest_number(text, "build_seconds");
    return 1;
}

/* Leftovers of killed builds of this key (their process is gone: we hold the lock). */
static void remove_stale(const char *root, const char *key) {
    char pat[4200];
    snprintf(pat, sizeof pat, "%s/.tmp-%s-*", root, key);
    glob_t g;
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) remove_tree(g.gl_pathv[i]);
    globfree(&g);
}

int features_ensure(const FeaturesConfig *c, const char *root, char *dir, size_t n,
                    FeaturesProgressFn progress, void *ctx, FeaturesSummary *sum, Err *e) {
    double t0 = omp_get_wtime();
    memset(sum, 0, sizeof *sum);
    char key[17], canon[1024];
    int rc = features_key(c, key, canon, sizeof canon, e);
    if (rc) return rc;
    snprintf(dir, n, "%s/%s", root, key);
    if (cache_hit(dir, sum)) {
        sum->seconds = omp_get_wtime() - t0;
        return LDE_OK;
    }
    if (mkdir(root, 0777) != 0 && errno != EEXIST)
        return fail(e, LDE_ERUN, "%s: cannot create (%s)", root, strerror(errno));
    char lock[4096], tmp[4096];
    snprintf(lock, sizeof lock, "%s/%s.lock", root, key);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return fail(e, LDE_ERUN, "%s: cannot open (%s)", lock, strerror(errno));
    /* Blocks while another process builds this key; released by close or its death. */
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return fail(e, LDE_ERUN, "%s: cannot lock (%s)", lock, strerror(errno));
    }
    if (!cache_hit(dir, sum)) {
        remove_stale(root, key);
        if (sum->damaged[0]) remove_tree(dir); /* never used: built again below */
        snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld", root, key, (long)getpid());
        if (mkdir(tmp, 0777) != 0)
            rc = fail(e, LDE_ERUN, "%s: cannot create (%s)", tmp, strerror(errno));
        if (rc == LDE_OK) rc = build(c, tmp, key, canon, progress, ctx, sum, e);
        if (rc == LDE_OK && rename(tmp, dir) != 0)
            rc = fail(e, LDE_ERUN, "%s: cannot rename to %s (%s)", tmp, dir, strerror(errno));
        if (rc != LDE_OK) remove_tree(tmp);
    }
    /* Bad input writes nothing: the lock file goes, and the root too when it is now
     * empty (rmdir refuses otherwise). A process waiting on this lock reads the same
     * bad data sets and fails the same way, so unlinking the held lock is safe. */
    if (rc == LDE_EINPUT) {
        unlink(lock);
        rmdir(root);
    }
    close(fd);
    sum->seconds = omp_get_wtime() - t0;
    return rc;
}
