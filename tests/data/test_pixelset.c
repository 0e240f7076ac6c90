/* test_pixelset.c — 8-bit image sets (pixelset.h). The built-in sets are the real
 * Fashion-MNIST bytes, the sklearn digits and the noise sets, 28×28×1, every value
 * an integer 0..255; ID-class filtering keeps exactly the ID images. User .npy
 * images written by NumPy (tests/fixtures/images/) load exactly as uint8 and
 * quantize exactly from float; every file in tests/bad_inputs/images/ is refused
 * with exit code 2 and the one line its expect.txt names, leaving nothing
 * allocated. Fixtures come from tests/fixtures/make_npy_fixtures.py; paths are
 * relative to the repository root, where tests/run-tests starts every test. */
#include "data/fmnist.h"
#include "data/npy.h"
#include "data/pixelset.h"
#include "tests/unit.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG "tests/fixtures/images/"
#define BAD "tests/bad_inputs/images/"

/* The fixtures' formula (make_npy_fixtures.py): the level of image i, row y,
 * column x, channel ch. */
static int level_at(long i, int y, int x, int ch) {
    return (int)((97 * i + 29 * y + 7 * x + 61 * ch + 255) % 256);
}

/* 1 when sp holds n images of h×w×c whose values are the formula's levels. */
static int split_is_formula(const PixelSplit *sp, long n, int h, int w, int c) {
    if (sp->n != n || !sp->v) return 0;
    int ok = 1;
    for (long i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    ok &= sp->v[((i * h + y) * w + x) * c + ch] == (float)level_at(i, y, x, ch);
    return ok;
}

/* 1 when *ps is all zeros: what a failed load must leave. */
static int is_zeroed(const PixelSet *ps) {
    static const PixelSet zero;
    return memcmp(ps, &zero, sizeof zero) == 0;
}

/* 1 when every value of sp is an integer 0..255. */
static int all_levels(const PixelSplit *sp, long d) {
    int ok = sp->v != NULL;
    for (long k = 0; ok && k < sp->n * d; k++)
        ok = sp->v[k] >= 0.0f && sp->v[k] <= 255.0f && sp->v[k] == floorf(sp->v[k]);
    return ok;
}

/* ---- user files --------------------------------------------------------------- */

static void test_pixelset_user_uint8_nhw_loads_exactly(void) {
    PixelSet ps;
    Err e = {{0}};
    const char *names[] = {"same", "again"};
    const char *paths[] = {IMG "u8_nhw.npy", IMG "u8_nhw.npy"};
    int rc = pixelset_user(IMG "u8_nhw.npy", IMG "u8_nhw.npy", names, paths, 2, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.h == 4 && ps.w == 5 && ps.c == 1 && ps.n_ood == 2);
    CHECK(strcmp(ps.train.name, "train") == 0 && strcmp(ps.val.name, "val") == 0);
    CHECK(strcmp(ps.ood[0].name, "same") == 0 && strcmp(ps.ood[1].name, "again") == 0);
    CHECK(split_is_formula(&ps.train, 3, 4, 5, 1));
    CHECK(split_is_formula(&ps.val, 3, 4, 5, 1));
    CHECK(split_is_formula(&ps.ood[1], 3, 4, 5, 1));
    CHECK(ps.train.v[0] == 255.0f); /* level (0, 0, 0): the top of the range */
    pixelset_free(&ps);
    CHECK(is_zeroed(&ps));
    pixelset_free(&ps); /* safe twice */
}

static void test_pixelset_user_uint8_nhwc_is_channels_last(void) {
    PixelSet ps;
    Err e = {{0}};
    int rc = pixelset_user(IMG "u8_nhwc3.npy", IMG "u8_nhwc3.npy", NULL, NULL, 0, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.h == 4 && ps.w == 5 && ps.c == 3 && ps.n_ood == 0);
    CHECK(split_is_formula(&ps.train, 2, 4, 5, 3));
    /* Channel is the fastest index: pixel (0, 0, 1) channel 2 sits at (0·5 + 1)·3 + 2. */
    CHECK(ps.train.v[5] == (float)level_at(0, 0, 1, 2));
    pixelset_free(&ps);
}

/* float32, float16 and float64 (N, H, W, 1) of level/255 — the float64 nudged by up
 * to 0.3 of a level — all round back to the levels; (N, H, W, 1) agrees with
 * (N, H, W). */
static void test_pixelset_user_float_in_unit_range_quantizes_to_levels(void) {
    PixelSet ps;
    Err e = {{0}};
    const char *names[] = {"half", "double"};
    const char *paths[] = {IMG "f2_nhw.npy", IMG "f8_nhwc1.npy"};
    int rc = pixelset_user(IMG "f4_nhw.npy", IMG "u8_nhw.npy", names, paths, 2, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.h == 4 && ps.w == 5 && ps.c == 1);
    CHECK(split_is_formula(&ps.train, 3, 4, 5, 1));
    CHECK(split_is_formula(&ps.ood[0], 3, 4, 5, 1));
    CHECK(split_is_formula(&ps.ood[1], 2, 4, 5, 1));
    pixelset_free(&ps);
}

/* lde's own uint8 writer gives files the image loader reads back bit for bit. */
static void test_pixelset_user_reads_uint8_written_by_npy_write_u8(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/imgs.npy", unit_tmpdir());
    uint8_t px[2 * 3 * 2 * 4];
    for (int k = 0; k < (int)sizeof px; k++) px[k] = (uint8_t)(k * 37 % 256);
    Err e = {{0}};
    CHECK(npy_write_u8(path, px, (NpyDims){4, {2, 3, 2, 4}}, &e) == LDE_OK);
    PixelSet ps;
    int rc = pixelset_user(path, path, NULL, NULL, 0, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.train.n == 2 && ps.h == 3 && ps.w == 2 && ps.c == 4);
    int same = 1;
    for (int k = 0; k < (int)sizeof px; k++) same &= ps.val.v[k] == (float)px[k];
    CHECK(same);
    pixelset_free(&ps);
}

static void test_pixelset_shape_reads_the_header_only(void) {
    long n = -1;
    int h = -1, w = -1, c = -1;
    Err e = {{0}};
    CHECK(pixelset_shape(IMG "u8_nhwc3.npy", &n, &h, &w, &c, &e) == LDE_OK);
    CHECK(n == 2 && h == 4 && w == 5 && c == 3);
    CHECK(pixelset_shape(IMG "f8_nhwc1.npy", &n, &h, &w, &c, &e) == LDE_OK);
    CHECK(n == 2 && h == 4 && w == 5 && c == 1);
    CHECK(pixelset_shape(IMG "u8_nhw.npy", &n, &h, &w, &c, &e) == LDE_OK);
    CHECK(n == 3 && h == 4 && w == 5 && c == 1);
    /* A value outside [0, 1] is in the data, which the header check never reads. */
    CHECK(pixelset_shape(BAD "f4_above_one.npy", &n, &h, &w, &c, &e) == LDE_OK);
    /* The rank, dtype and channel rules are header rules. */
    CHECK(pixelset_shape(BAD "flat_2d.npy", &n, &h, &w, &c, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, BAD "flat_2d.npy: shape (10, 784): expected (N, H, W) or (N, H, W, C)"));
    CHECK(pixelset_shape(BAD "int64_nhw.npy", &n, &h, &w, &c, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "dtype <i8 (int64): expected uint8") != NULL);
    CHECK(pixelset_shape(BAD "nchw_pytorch.npy", &n, &h, &w, &c, &e) == LDE_EINPUT);
    CHECK(pixelset_shape(BAD "truncated_nhw.npy", &n, &h, &w, &c, &e) == LDE_EINPUT);
}

/* One line of expect.txt, run: the bad file in its split, u8_nhw.npy elsewhere. */
static void bad_case(const char *file, const char *split, const char *pattern) {
    char path[1100];
    snprintf(path, sizeof path, BAD "%s", file);
    const char *good = IMG "u8_nhw.npy";
    const char *train = strcmp(split, "train") == 0 ? path : good;
    const char *val = strcmp(split, "val") == 0 ? path : good;
    const char *names[] = {"a", "b"};
    const char *paths[] = {good, strcmp(split, "ood") == 0 ? path : good};
    PixelSet ps;
    Err e = {{0}};
    int rc = pixelset_user(train, val, names, paths, 2, &ps, &e);
    regex_t re;
    int compiled = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
    CHECK(compiled);
    int ok = rc == LDE_EINPUT && strstr(e.msg, path) == e.msg && strchr(e.msg, '\n') == NULL &&
             compiled && regexec(&re, e.msg, 0, NULL, 0) == 0 && is_zeroed(&ps);
    if (CHECK(ok))
        fprintf(stderr, "  %s as %s: rc %d: %s\n  want /%s/\n", file, split, rc, e.msg, pattern);
    if (compiled) regfree(&re);
    if (rc == LDE_OK) pixelset_free(&ps);
}

static void count_file(const char *path) {
    (void)path;
}

static void test_pixelset_bad_image_files_fail_naming_file_and_expectation(void) {
    FILE *f = fopen(BAD "expect.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || line[0] == 0) continue;
        char *split = strchr(line, '\t'), *pattern = split ? strchr(split + 1, '\t') : NULL;
        if (CHECK(pattern != NULL)) fprintf(stderr, "  bad expect.txt line: %s\n", line);
        if (!pattern) continue;
        *split++ = 0, *pattern++ = 0;
        bad_case(line, split, pattern);
        cases++;
    }
    fclose(f);
    /* Every fixture is listed (14 files, each a different rule). */
    CHECK(cases == 14);
    CHECK(unit_each_file(BAD, count_file) == cases + 1); /* + expect.txt */
}

static void test_pixelset_user_missing_file_and_bad_names_are_refused(void) {
    PixelSet ps;
    Err e = {{0}};
    const char *good = IMG "u8_nhw.npy";
    CHECK(pixelset_user(good, BAD "no_such.npy", NULL, NULL, 0, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, BAD "no_such.npy: cannot open") == e.msg && is_zeroed(&ps));

    const char *twice[] = {"x", "x"}, *paths[17];
    for (int i = 0; i < 17; i++) paths[i] = good;
    CHECK(pixelset_user(good, good, twice, paths, 2, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "OOD set 'x' is named twice") != NULL && is_zeroed(&ps));

    const char *empty[] = {""};
    CHECK(pixelset_user(good, good, empty, paths, 1, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "must have 1 to 32 characters") != NULL);

    /* 32 characters fit (the config allows them), 33 do not. */
    const char *n32[] = {"abcdefghijklmnopqrstuvwxyz012345"};
    const char *n33[] = {"abcdefghijklmnopqrstuvwxyz0123456"};
    CHECK(pixelset_user(good, good, n32, paths, 1, &ps, &e) == LDE_OK);
    CHECK(strcmp(ps.ood[0].name, n32[0]) == 0);
    pixelset_free(&ps);
    CHECK(pixelset_user(good, good, n33, paths, 1, &ps, &e) == LDE_EINPUT);

    const char *many[17];
    char buf[17][8];
    for (int i = 0; i < 17; i++) snprintf(buf[i], sizeof buf[i], "o%d", i), many[i] = buf[i];
    CHECK(pixelset_user(good, good, many, paths, 17, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "17 OOD sets: expected 0 to 16") != NULL && is_zeroed(&ps));
    CHECK(pixelset_user(good, good, many, paths, 16, &ps, &e) == LDE_OK && ps.n_ood == 16);
    pixelset_free(&ps);
}

/* ---- built-in --------------------------------------------------------------- */

/* The raw bytes of a Fashion-MNIST idx file (header included), or NULL. */
static unsigned char *idx_bytes(const char *name, int images, long n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", fmnist_dir(), name);
    unsigned char *data = NULL;
    Err e = {{0}};
    if (CHECK(fmnist_read_idx(path, images, n, &data, &e) == LDE_OK))
        fprintf(stderr, "  %s\n", e.msg);
    return data;
}

/* 1 when image k of sp is image i of the idx file (bytes from offset 16). */
static int is_idx_image(const PixelSplit *sp, long k, const unsigned char *idx, long i) {
    int same = 1;
    for (int p = 0; p < 784; p++) same &= sp->v[k * 784 + p] == (float)idx[16 + i * 784 + p];
    return same;
}

/* All classes, 100 images a set: train and val are the first 100 training and test
 * images, byte for byte; vflip is val upside down; every set is 28×28×1 levels. */
static void test_pixelset_builtin_fmnist_values_are_the_idx_bytes(void) {
    const char *ood[] = {"digits", "gaussian", "uniform", "vflip"};
    PixelSet ps;
    Err e = {{0}};
    int rc = pixelset_builtin(ood, 4, NULL, 100, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.h == 28 && ps.w == 28 && ps.c == 1 && ps.n_ood == 4);
    CHECK(ps.train.n == 100 && ps.val.n == 100);
    for (int i = 0; i < 4; i++) CHECK(ps.ood[i].n == 100 && strcmp(ps.ood[i].name, ood[i]) == 0);
    unsigned char *tr = idx_bytes("train-images-idx3-ubyte.gz", 1, FMNIST_TRAIN_N);
    unsigned char *te = idx_bytes("t10k-images-idx3-ubyte.gz", 1, FMNIST_TEST_N);
    int same = tr && te;
    for (long i = 0; same && i < 100; i++)
        same = is_idx_image(&ps.train, i, tr, i) && is_idx_image(&ps.val, i, te, i);
    CHECK(same);
    int flipped = 1;
    for (long k = 0; k < 100 * 784; k++) {
        long i = k / 784, y = k / 28 % 28, x = k % 28;
        flipped &= ps.ood[3].v[k] == ps.val.v[i * 784 + (27 - y) * 28 + x];
    }
    CHECK(flipped);
    CHECK(all_levels(&ps.train, 784) && all_levels(&ps.val, 784));
    for (int i = 0; i < 4; i++) CHECK(all_levels(&ps.ood[i], 784));
    /* Quantized, not thresholded: digits and noise use many levels, and reach 0 and
     * 255 (uniform noise spans the range; the digits have black borders). */
    for (int i = 0; i < 3; i++) {
        int seen[256] = {0}, distinct = 0;
        for (long k = 0; k < 100 * 784; k++) seen[(int)ps.ood[i].v[k]] = 1;
        for (int l = 0; l < 256; l++) distinct += seen[l];
        if (CHECK(distinct > 16 && seen[0] && seen[255]))
            fprintf(stderr, "  %s: %d levels\n", ood[i], distinct);
    }
    free(tr), free(te);
    pixelset_free(&ps);
    CHECK(is_zeroed(&ps));
}

/* No limit, ID classes {2, 7} (one builtin load serves both properties: each
 * reads all 70,000 images). The sets have their documented sizes (oodsets.h,
 * digits.h), val is exactly the test images of class 2 or 7 and heldout those of
 * the other classes, in file order, byte for byte. */
static void test_pixelset_builtin_id_classes_select_images_and_sets_have_their_sizes(void) {
    const char *ood[] = {"digits", "gaussian", "uniform", "vflip", "heldout"};
    int mask[10] = {0, 0, 1, 0, 0, 0, 0, 1, 0, 0};
    PixelSet ps;
    Err e = {{0}};
    int rc = pixelset_builtin(ood, 5, mask, 0, &ps, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(ps.train.n == 12000 && ps.val.n == 2000);
    const long want[5] = {1797, 2000, 2000, 2000, 8000};
    for (int i = 0; i < 5; i++)
        if (CHECK(ps.ood[i].n == want[i])) fprintf(stderr, "  %s: %ld\n", ood[i], ps.ood[i].n);
    unsigned char *te = idx_bytes("t10k-images-idx3-ubyte.gz", 1, FMNIST_TEST_N);
    unsigned char *lab = idx_bytes("t10k-labels-idx1-ubyte.gz", 0, FMNIST_TEST_N);
    long kv = 0, kh = 0;
    int same = te && lab && ps.val.n == 2000 && ps.ood[4].n == 8000;
    for (long i = 0; same && i < FMNIST_TEST_N; i++) {
        if (mask[lab[8 + i]])
            same = is_idx_image(&ps.val, kv++, te, i);
        else
            same = is_idx_image(&ps.ood[4], kh++, te, i);
    }
    CHECK(same && kv == 2000 && kh == 8000);
    free(te), free(lab);
    pixelset_free(&ps);
}

static void test_pixelset_builtin_refuses_unknown_sets_and_heldout_without_classes(void) {
    PixelSet ps;
    Err e = {{0}};
    const char *svhn[] = {"digits", "svhn"};
    CHECK(pixelset_builtin(svhn, 2, NULL, 10, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "unknown OOD set 'svhn'") != NULL && is_zeroed(&ps));
    const char *heldout[] = {"heldout"};
    CHECK(pixelset_builtin(heldout, 1, NULL, 10, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "heldout") != NULL && strstr(e.msg, "id_classes") != NULL);
    CHECK(is_zeroed(&ps));
    const char *twice[] = {"vflip", "vflip"};
    CHECK(pixelset_builtin(twice, 2, NULL, 10, &ps, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "OOD set 'vflip' is named twice") != NULL && is_zeroed(&ps));
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_pixelset_user_uint8_nhw_loads_exactly),
        UNIT(test_pixelset_user_uint8_nhwc_is_channels_last),
        UNIT(test_pixelset_user_float_in_unit_range_quantizes_to_levels),
        UNIT(test_pixelset_user_reads_uint8_written_by_npy_write_u8),
        UNIT(test_pixelset_shape_reads_the_header_only),
        UNIT(test_pixelset_bad_image_files_fail_naming_file_and_expectation),
        UNIT(test_pixelset_user_missing_file_and_bad_names_are_refused),
        UNIT(test_pixelset_builtin_fmnist_values_are_the_idx_bytes),
        UNIT(test_pixelset_builtin_id_classes_select_images_and_sets_have_their_sizes),
        UNIT(test_pixelset_builtin_refuses_unknown_sets_and_heldout_without_classes),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
