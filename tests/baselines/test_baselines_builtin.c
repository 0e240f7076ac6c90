/* test_baselines_builtin.c — the baselines on a real (tiny) built-in feature cache:
 * a small cnn trained one epoch on 200 Fashion-MNIST images. The head's logits
 * equal the cached ones, ODIN rebuilds exactly the cached images (with ε = 0 its
 * score is the tempered MSP of the cached logits), and every method runs on
 * every split with finite scores. */
#include "backbone/feature_cache.h"
#include "baselines/baselines.h"
#include "data/npy.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const OOD[] = {"digits", "gaussian", "vflip"};
enum { N_OOD = 3, LIMIT = 200 };

/* Builds the cache once (a few seconds) into the test's tmpdir. */
static const char *tiny_cache(void) {
    static char dir[4096];
    if (dir[0]) return dir;
    FeaturesConfig c = features_config_default();
    c.shape.nstages = 2, c.shape.width[0] = 4, c.shape.width[1] = 8;
    c.shape.stride[0] = 2, c.shape.stride[1] = 2;
    c.train.epochs = 1, c.limit = LIMIT;
    char root[4096];
    snprintf(root, sizeof root, "%s/features", unit_tmpdir());
    FeaturesSummary sum;
    Err e;
    CHECK(features_ensure(&c, root, dir, sizeof dir, NULL, NULL, &sum, &e) == LDE_OK);
    return dir;
}

static void load(FeatureSet *fs) {
    int all[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    Err e;
    CHECK(featureset_from_cache(tiny_cache(), OOD, N_OOD, all, LIMIT, fs, &e) == LDE_OK);
}

static void test_head_logits_equal_the_cached_logits(void) {
    FeatureSet fs;
    load(&fs);
    CHECK(fs.K == 10 && fs.builtin && fs.train_labels && fs.val_labels);
    char path[4200];
    snprintf(path, sizeof path, "%s/val_logits.npy", fs.dir);
    float *cached;
    NpyShape s;
    Err e;
    CHECK(npy_read_f32(path, &cached, &s, &e) == LDE_OK);
    CHECK(s.rows == fs.val.n && s.cols == 10);
    double worst = 0;
    for (long i = 0; i < s.rows * 10; i++)
        worst = fmax(worst, fabs(cached[i] - fs.val.logits[i]) / (1 + fabs(cached[i])));
    /* Two float32 products of 8 terms (the backbone's head and gemm): ~1e-6. */
    CHECK(worst < 1e-5);
    free(cached);
    featureset_free(&fs);
}

static void test_odin_without_a_step_is_the_tempered_msp_of_the_cached_features(void) {
    FeatureSet fs;
    load(&fs);
    BaselineSpec b = baseline_default(BL_ODIN);
    b.eps = 0;
    float *odin[1 + N_OOD];
    Err e;
    CHECK(baseline_scores(&fs, &b, odin, &e) == LDE_OK);
    /* The same images through the same network: the rebuilt val and OOD images are
     * the cached ones, so the scores match to float rounding. */
    double worst = 0;
    for (int i = 0; i <= N_OOD; i++) {
        const FeatureSplit *sp = i == 0 ? &fs.val : &fs.ood[i - 1];
        float *msp = malloc(sizeof(float) * (size_t)sp->n);
        baseline_msp(sp->logits, sp->n, fs.K, 1000.0, msp);
        for (long j = 0; j < sp->n; j++) worst = fmax(worst, fabs(msp[j] - odin[i][j]));
        free(msp), free(odin[i]);
    }
    /* Scores near −0.1 (T = 1000 flattens the softmax): 1e-6 is float rounding. */
    CHECK(worst < 1e-6);
    featureset_free(&fs);
}

static void test_every_method_scores_every_split(void) {
    FeatureSet fs;
    load(&fs);
    int bad = 0;
    for (int m = 0; m < BL_COUNT; m++) {
        BaselineSpec b = baseline_default((BaselineMethod)m);
        if (m == BL_KNN) b.k = 5; /* 200 training rows */
        CHECK(baseline_unavailable(&fs, &b) == NULL);
        float *s[1 + N_OOD];
        Err e;
        int rc = baseline_scores(&fs, &b, s, &e);
        CHECK(rc == LDE_OK);
        if (rc != LDE_OK) continue;
        for (int i = 0; i <= N_OOD; i++) {
            long n = i == 0 ? fs.val.n : fs.ood[i - 1].n;
            for (long j = 0; j < n; j++) bad += !isfinite(s[i][j]);
            free(s[i]);
        }
    }
    CHECK(bad == 0);
    featureset_free(&fs);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_head_logits_equal_the_cached_logits),
        UNIT(test_odin_without_a_step_is_the_tempered_msp_of_the_cached_features),
        UNIT(test_every_method_scores_every_split),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
}
