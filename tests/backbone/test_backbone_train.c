/* test_backbone_train.c — backbone training on small synthetic image sets: it
 * learns a separable task, it gives the same bits at 1 and 2 threads, and the
 * extracted features do not depend on the extraction batch. */
#include "backbone/backbone_train.h"
#include "flows/rng.h"
#include "tests/unit.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* n images of 3 classes: class k brightens horizontal band k (rows 9k..9k+9) on
 * top of uniform noise in [0, 0.5). */
static void synthetic(long n, float *pix, int64_t *labels) {
    rng_fill_uniform(pix, n * BACKBONE_PIXELS, 0.0f, 0.5f, 42, 0, 0);
    for (long i = 0; i < n; i++) {
        labels[i] = i % 3;
        for (int p = 0; p < BACKBONE_PIXELS; p++)
            if (p / BACKBONE_SIDE / 9 == labels[i]) pix[i * BACKBONE_PIXELS + p] += 0.5f;
    }
}

static BackboneShape tiny_cnn(void) {
    BackboneShape s = backbone_shape_default(BACKBONE_CNN);
    s.width[0] = 4, s.width[1] = 8, s.width[2] = 8, s.width[3] = 16, s.nclasses = 3;
    return s;
}

static void train_tiny(BackboneShape s, int augment, long n, const float *pix,
                       const int64_t *labels, Backbone *bb) {
    Err e;
    BackboneTrainConfig c = backbone_train_defaults();
    c.seed = 5, c.epochs = 2, c.batch = 32, c.augment = augment, c.lr = 3e-3f;
    CHECK(backbone_init(bb, &s, c.seed, &e) == LDE_OK);
    CHECK(backbone_train(bb, &c, pix, labels, n, NULL, NULL, &e) == LDE_OK);
}

/* Bands are trivially separable: both architectures reach >= 95% on held-out
 * images (chance is 33%). */
static void test_training_learns_a_separable_task(void) {
    enum { N = 300, NT = 90 };
    float *pix = malloc(sizeof(float) * (N + NT) * BACKBONE_PIXELS);
    int64_t labels[N + NT];
    synthetic(N + NT, pix, labels);
    for (int arch = 0; arch < 2; arch++) {
        Backbone bb;
        BackboneShape s = arch == 0 ? tiny_cnn() : backbone_shape_default(BACKBONE_MLP);
        s.nclasses = 3;
        train_tiny(s, 0, N, pix, labels, &bb);
        float logits[NT * 3];
        Err e;
        CHECK(backbone_extract(&bb, pix + (long)N * BACKBONE_PIXELS, NT, NULL, logits, &e) ==
              LDE_OK);
        CHECK(backbone_accuracy(logits, labels + N, NT, 3) >= 0.95);
        backbone_free(&bb);
    }
    free(pix);
}

/* Same seed, 1 and 2 threads, augmentation on: identical parameters, running
 * statistics and features. */
static void test_training_same_bits_at_one_and_two_threads(void) {
    enum { N = 100 };
    float *pix = malloc(sizeof(float) * N * BACKBONE_PIXELS);
    int64_t labels[N];
    synthetic(N, pix, labels);
    Backbone b1, b2;
    int keep = omp_get_max_threads();
    omp_set_num_threads(1);
    train_tiny(tiny_cnn(), 1, N, pix, labels, &b1);
    omp_set_num_threads(2);
    train_tiny(tiny_cnn(), 1, N, pix, labels, &b2);
    CHECK(memcmp(b1.params, b2.params, sizeof(float) * b1.nparams) == 0);
    CHECK(memcmp(b1.state, b2.state, sizeof(float) * b1.nstate) == 0);
    float f1[N * 16], f2[N * 16];
    Err e;
    omp_set_num_threads(1);
    backbone_extract(&b1, pix, N, f1, NULL, &e);
    omp_set_num_threads(2);
    backbone_extract(&b2, pix, N, f2, NULL, &e);
    omp_set_num_threads(keep);
    CHECK(memcmp(f1, f2, sizeof f1) == 0);
    backbone_free(&b1), backbone_free(&b2);
    free(pix);
}

/* Evaluation mode treats images independently: extracting 7 images alone gives the
 * same features as inside a larger pass (to float rounding of differently shaped
 * GEMMs: 1e-5 on O(1) features). */
static void test_extraction_is_per_image(void) {
    enum { N = 20 };
    float *pix = malloc(sizeof(float) * N * BACKBONE_PIXELS);
    int64_t labels[N];
    synthetic(N, pix, labels);
    Backbone bb;
    Err e;
    BackboneShape s = tiny_cnn();
    CHECK(backbone_init(&bb, &s, 1, &e) == LDE_OK);
    float all[N * 16], part[7 * 16];
    backbone_extract(&bb, pix, N, all, NULL, &e);
    backbone_extract(&bb, pix + 13L * BACKBONE_PIXELS, 7, part, NULL, &e);
    for (int i = 0; i < 7 * 16; i++) CHECK_NEAR(part[i], all[13 * 16 + i], 1e-5);
    backbone_free(&bb);
    free(pix);
}

static void test_bad_labels_and_config_are_refused(void) {
    float pix[2 * BACKBONE_PIXELS] = {0};
    int64_t labels[2] = {0, 7};
    Backbone bb;
    Err e;
    BackboneShape s = tiny_cnn();
    CHECK(backbone_init(&bb, &s, 1, &e) == LDE_OK);
    BackboneTrainConfig c = backbone_train_defaults();
    CHECK(backbone_train(&bb, &c, pix, labels, 2, NULL, NULL, &e) == LDE_EINPUT);
    labels[1] = 1, c.epochs = 0;
    CHECK(backbone_train(&bb, &c, pix, labels, 2, NULL, NULL, &e) == LDE_EINPUT);
    backbone_free(&bb);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_training_learns_a_separable_task),
        UNIT(test_training_same_bits_at_one_and_two_threads),
        UNIT(test_extraction_is_per_image),
        UNIT(test_bad_labels_and_config_are_refused),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
