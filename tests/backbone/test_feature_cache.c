/* test_feature_cache.c — the cache key covers what changes the features and nothing
 * else, data files included; a missing data file is a one-line input error. */
#include "backbone/feature_cache.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_of(const FeaturesConfig *c, char key[17]) {
    Err e;
    CHECK(features_key(c, key, NULL, 0, &e) == LDE_OK);
}

/* Each setting that changes the features changes the key. */
static void test_key_changes_with_every_setting(void) {
    FeaturesConfig base = features_config_default();
    char k0[17], k[17];
    key_of(&base, k0);
    FeaturesConfig c = base;
    c.train.seed = 1;
    key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.train.epochs = 5, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.train.lr = 2e-3f, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.train.batch = 64, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.train.augment = 1, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.shape.width[2] = 96, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.shape = backbone_shape_default(BACKBONE_MLP), key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.id_mask[9] = 0, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    c = base, c.limit = 100, key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
}

/* The version string and a repeated call do not change it; the canonical text
 * names the settings. */
static void test_key_is_stable_and_ignores_the_version(void) {
    FeaturesConfig c = features_config_default();
    char k1[17], k2[17], canon[1024];
    Err e;
    CHECK(features_key(&c, k1, canon, sizeof canon, &e) == LDE_OK);
    c.lde_version = "9.9.9";
    key_of(&c, k2);
    CHECK(strcmp(k1, k2) == 0 && strlen(k1) == 16);
    CHECK(strstr(canon, "widths=32,64,128,256 strides=1,2,1,2") != NULL);
    CHECK(strstr(canon, "id_classes=0,1,2,3,4,5,6,7,8,9") != NULL);
}

static void copy_file(const char *from, const char *to, const char *extra) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out);
    if (!in || !out) return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fputs(extra, out);
    fclose(in), fclose(out);
}

/* A data file's bytes are part of the key: an identical copy keeps it, one byte
 * more changes it, a missing file is refused naming it. */
static void test_key_follows_the_data_files(void) {
    FeaturesConfig c = features_config_default();
    char k0[17], k[17], same[512], changed[512];
    key_of(&c, k0);
    const char *orig = getenv("LDE_DIGITS") ? getenv("LDE_DIGITS") : "results/cache/digits.csv.gz";
    snprintf(same, sizeof same, "%s/same.csv.gz", unit_tmpdir());
    snprintf(changed, sizeof changed, "%s/changed.csv.gz", unit_tmpdir());
    copy_file(orig, same, "");
    copy_file(orig, changed, "x");
    setenv("LDE_DIGITS", same, 1);
    key_of(&c, k);
    CHECK(strcmp(k, k0) == 0);
    setenv("LDE_DIGITS", changed, 1);
    key_of(&c, k);
    CHECK(strcmp(k, k0) != 0);
    setenv("LDE_DIGITS", "/nonexistent/digits.csv.gz", 1);
    Err e;
    CHECK(features_key(&c, k, NULL, 0, &e) == LDE_EINPUT &&
          strstr(e.msg, "/nonexistent/digits.csv.gz") != NULL);
    setenv("LDE_DIGITS", orig, 1);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_key_changes_with_every_setting),
        UNIT(test_key_is_stable_and_ignores_the_version),
        UNIT(test_key_follows_the_data_files),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
