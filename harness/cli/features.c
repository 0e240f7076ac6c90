/* features.c — `lde features`: train the built-in backbone (or find it in the
 * cache) and print what the features are: accuracy, shapes, zeros, path, time. */
#include "backbone/feature_cache.h"
#include "cli/commands.h"
#include "data/npy.h"
#include "data/oodsets.h"
#include "util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lde features [options]\n"
    "\n"
    "Trains the built-in Fashion-MNIST backbone (or reuses the cached one with the same\n"
    "settings) and writes its features, logits and labels as .npy under OUT/<key>/.\n"
    "\n"
    "  --backbone cnn|mlp     architecture (default cnn)\n"
    "  --channels LIST        stage widths, e.g. 32,64,128,256 (cnn strides stay 1,2,1,2,...)\n"
    "  --conv im2col|onednn   how the cnn's convs compute (default im2col; onednn is\n"
    "                         faster, its features differ in the last bits)\n"
    "  --seed N               training seed (default 0)\n"
    "  --epochs N             training epochs (default 4)\n"
    "  --lr X                 peak Adam learning rate, cosine-annealed (default 0.001)\n"
    "  --batch N              batch size (default 128)\n"
    "  --augment              random ±2 px shifts and horizontal flips\n"
    "  --id-classes LIST      train on these classes only, e.g. 0,1,2; the others become\n"
    "                         the `heldout` OOD set\n"
    "  --out DIR              cache root (default results/features)\n"
    "  --limit N              for tests: at most N images per set\n";

/* Parses a non-negative integer option value; LDE_EINPUT naming the option. */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out, Err *e) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return fail(e, LDE_EINPUT, "%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
    *out = v;
    return LDE_OK;
}

static int parse_channels(const char *s, BackboneShape *sh, Err *e) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || n == BACKBONE_MAX_STAGES || (*end && *end != ','))
            return fail(e, LDE_EINPUT, "--channels: '%s' is not a list of 1..%d widths in 1..4096",
                        s, BACKBONE_MAX_STAGES);
        sh->width[n] = (int)v;
        sh->stride[n] = n % 2 ? 2 : 1;
        n++;
        p = *end ? end + 1 : end;
    }
    if (n == 0) return fail(e, LDE_EINPUT, "--channels: empty list");
    sh->nstages = n;
    return LDE_OK;
}

/* Training and extraction progress: a bar on a terminal, a line per epoch otherwise. */
static void on_progress(void *ctx, const FeaturesProgress *fp) {
    Progress *p = ctx;
    char note[96];
    if (strcmp(fp->phase, "train") == 0) {
        if (strcmp(p->label, "train") != 0) progress_begin(p, "train", fp->total);
        snprintf(note, sizeof note, "epoch %d/%d  loss %.4f  acc %.2f%%", fp->epoch + 1, fp->epochs,
                 fp->loss, 100 * fp->accuracy);
        progress_update(p, fp->done, note);
        if (fp->epoch_done)
            progress_line(p, "epoch %d/%d: loss %.4f, train accuracy %.2f%% (%.0f s)",
                          fp->epoch + 1, fp->epochs, fp->loss, 100 * fp->accuracy,
                          progress_elapsed(p));
    } else {
        if (strcmp(p->label, "extract") != 0) {
            progress_end(p);
            progress_begin(p, "extract", fp->total);
        }
        snprintf(note, sizeof note, "%ld/%ld images", fp->done, fp->total);
        progress_update(p, fp->done, note);
        if (fp->done == fp->total)
            progress_line(p, "extracted %ld images (%.0f s)", fp->total, progress_elapsed(p));
    }
}

/* "train     60000 x 256" for DIR/NAME.npy. */
static void print_shape(const char *dir, const char *name) {
    char path[4200], dtype[8];
    NpyShape s;
    Err e;
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (npy_shape(path, &s, dtype, &e) == LDE_OK)
        printf("  %-12s %ld x %ld\n", name, s.rows, s.cols);
}

static int run(int argc, char **argv, Err *e) {
    FeaturesConfig c = features_config_default();
    const char *out = "results/features";
    int rc = LDE_OK, onednn = 0; /* applied after --backbone, which resets the shape */
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        if (strcmp(a, "--augment") == 0) {
            c.train.augment = 1;
            continue;
        }
        if (!v) return fail(e, LDE_EINPUT, "%s: missing value (lde features --help)", a);
        i++;
        if (strcmp(a, "--backbone") == 0) {
            if (strcmp(v, "cnn") != 0 && strcmp(v, "mlp") != 0)
                return fail(e, LDE_EINPUT, "--backbone: '%s', expected cnn or mlp", v);
            c.shape = backbone_shape_default(strcmp(v, "cnn") == 0 ? BACKBONE_CNN : BACKBONE_MLP);
        } else if (strcmp(a, "--conv") == 0) {
            if (strcmp(v, "im2col") != 0 && strcmp(v, "onednn") != 0)
                return fail(e, LDE_EINPUT, "--conv: '%s', expected im2col or onednn", v);
            onednn = strcmp(v, "onednn") == 0;
        } else if (strcmp(a, "--channels") == 0) {
            rc = parse_channels(v, &c.shape, e);
        } else if (strcmp(a, "--seed") == 0) {
            if ((rc = parse_long(a, v, 0, 2147483647L, &x, e)) == LDE_OK)
                c.train.seed = (uint64_t)x;
        } else if (strcmp(a, "--epochs") == 0) {
            if ((rc = parse_long(a, v, 1, 1000, &x, e)) == LDE_OK) c.train.epochs = (int)x;
        } else if (strcmp(a, "--batch") == 0) {
            if ((rc = parse_long(a, v, 2, 4096, &x, e)) == LDE_OK) c.train.batch = (int)x;
        } else if (strcmp(a, "--limit") == 0) {
            if ((rc = parse_long(a, v, 1, 1000000, &x, e)) == LDE_OK) c.limit = x;
        } else if (strcmp(a, "--lr") == 0) {
            char *end;
            double lr = strtod(v, &end);
            if (!*v || *end || !(lr > 0 && lr < 10))
                return fail(e, LDE_EINPUT, "--lr: '%s' is not a number in (0, 10)", v);
            c.train.lr = (float)lr;
        } else if (strcmp(a, "--id-classes") == 0) {
            rc = id_classes_parse(v, c.id_mask, e);
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else {
            return fail(e, LDE_EINPUT, "unknown option '%s' (lde features --help)", a);
        }
    }
    if (rc) return rc;
    c.shape.conv = onednn ? CONV_ONEDNN : CONV_IM2COL;
    c.lde_version = lde_version;
    Progress p;
    progress_begin(&p, "", 1);
    char dir[4096];
    FeaturesSummary s;
    rc = features_ensure(&c, out, dir, sizeof dir, on_progress, &p, &s, e);
    progress_end(&p);
    if (rc) return rc;
    if (s.damaged[0])
        fprintf(stderr, "features: %s failed its checksum (truncated or changed): rebuilt\n",
                s.damaged);
    if (s.hit)
        printf("features   %s (cache hit, %.2f s)\n", dir, s.seconds);
    else
        printf("features   %s (built in %.1f s, training %.1f s)\n", dir, s.build_seconds,
               s.train_seconds);
    printf("backbone   %s", backbone_arch_name(c.shape.arch));
    for (int i = 0; i < c.shape.nstages; i++) printf("%c%d", i ? '/' : ' ', c.shape.width[i]);
    printf(", seed %llu, %d epochs, lr %g, batch %d%s%s\n", (unsigned long long)c.train.seed,
           c.train.epochs, (double)c.train.lr, c.train.batch, c.train.augment ? ", augmented" : "",
           c.shape.conv == CONV_ONEDNN ? ", oneDNN convs" : "");
    printf("accuracy   %.2f%% on the in-distribution test images\n", 100 * s.test_accuracy);
    printf("zeros      %.3f%% of train feature values; %d dims are > 90%% zero\n",
           100 * s.zero_fraction, s.dims_mostly_zero);
    printf("shapes\n");
    print_shape(dir, "train");
    print_shape(dir, "val");
    const char *const *names = ood_names();
    for (int i = 0; names[i]; i++) {
        char name[64];
        snprintf(name, sizeof name, "ood_%s", names[i]);
        print_shape(dir, name);
    }
    return LDE_OK;
}

const Command cmd_features = {"features", "train the built-in backbone and cache its features",
                              usage, run};
