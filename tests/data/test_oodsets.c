/* test_oodsets.c — each OOD set has its count, shape and range; the noise sets are
 * the same bits on every build and have the documented moments; vflip reverses
 * rows; heldout and id_classes_keep split the test set by class. The "test split"
 * here is a small synthetic labelled set, so the tests need no data files. */
#include "data/oodsets.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 30 images of 28x28, label i % 10, pixel (y, x) of image i = (i + y * 28 + x) mod
 * 97 / 96 — distinct rows, so a flip is visible. */
static Images fake_test(void) {
    Images t;
    Err e;
    images_alloc(&t, 30, 28, 28, 1, "fake", &e);
    for (long i = 0; i < 30; i++) {
        t.labels[i] = i % 10;
        for (int k = 0; k < 784; k++) t.pix[i * 784 + k] = (float)((i + k) % 97) / 96.0f;
    }
    return t;
}

static void moments(const Images *im, double *mean, double *sd, float *lo, float *hi) {
    long n = im->n * im->h * im->w;
    double s = 0, s2 = 0;
    *lo = 1, *hi = 0;
    for (long k = 0; k < n; k++) {
        s += im->pix[k], s2 += (double)im->pix[k] * im->pix[k];
        *lo = im->pix[k] < *lo ? im->pix[k] : *lo;
        *hi = im->pix[k] > *hi ? im->pix[k] : *hi;
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_ood_names_lists_five_sets(void) {
    const char *const *names = ood_names();
    int n = 0;
    while (names[n]) n++;
    CHECK(n == 5);
    CHECK(strcmp(names[0], "digits") == 0 && strcmp(names[4], "heldout") == 0);
}

static void test_noise_sets_have_count_range_and_moments(void) {
    Images g, u;
    Err e;
    CHECK(ood_build("gaussian", NULL, NULL, &g, &e) == LDE_OK);
    CHECK(ood_build("uniform", NULL, NULL, &u, &e) == LDE_OK);
    CHECK(g.n == 2000 && g.h == 28 && g.w == 28 && g.labels == NULL);
    CHECK(u.n == 2000 && u.h == 28 && u.w == 28 && u.labels == NULL);
    double mean, sd;
    float lo, hi;
    /* 1.57M pixels: the standard error of the mean is ~2e-4, so 2e-3 is ~10 sigma. */
    moments(&g, &mean, &sd, &lo, &hi);
    CHECK(lo == 0.0f && hi == 1.0f); /* N(0.5, 0.25) passes 0 and 1 at 2 sigma: clipped */
    CHECK_NEAR(mean, 0.5, 2e-3);     /* clipping is symmetric about 0.5 */
    /* Clipping (censoring) Z ~ N(0,1) at +-2: E[Z^2] = (1 - 2 Phi(-2)) - 4 phi(2) +
     * 2 * 4 * Phi(-2) = 0.9205, so sd = 0.25 * sqrt(0.9205) = 0.2399. */
    CHECK_NEAR(sd, 0.2399, 2e-3);
    moments(&u, &mean, &sd, &lo, &hi);
    CHECK(lo >= 0.0f && hi < 1.0f);
    CHECK_NEAR(mean, 0.5, 2e-3);
    CHECK_NEAR(sd, sqrt(1.0 / 12), 2e-3); /* U(0, 1) */
    images_free(&g);
    images_free(&u);
}

static void test_noise_sets_are_identical_on_rebuild_and_golden(void) {
    Images a, b;
    Err e;
    const char *names[2] = {"gaussian", "uniform"};
    uint64_t h[2];
    for (int k = 0; k < 2; k++) {
        ood_build(names[k], NULL, NULL, &a, &e);
        ood_build(names[k], NULL, NULL, &b, &e);
        h[k] = images_checksum(&a);
        CHECK(h[k] == images_checksum(&b));
        CHECK(memcmp(a.pix, b.pix, sizeof(float) * 2000 * 784) == 0);
        images_free(&a);
        images_free(&b);
    }
    CHECK(h[0] != h[1]);
    /* Golden values: the noise sets are data; a change to rng.c or to the seed would
     * silently change every cached feature, so it must show here. */
    CHECK(h[0] == 0xc0b5a0fe36679f9eULL);
    CHECK(h[1] == 0x188060f3e0e2c41dULL);
}

static void test_digits_set_is_1797_images_with_zero_border(void) {
    Images d;
    Err e = {{0}};
    int rc = ood_build("digits", NULL, NULL, &d, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(d.n == 1797 && d.h == 28 && d.w == 28);
    int zero = 1;
    for (long i = 0; i < d.n; i++)
        for (int x = 0; x < 28; x++)
            zero &= d.pix[i * 784 + x] == 0 && d.pix[i * 784 + 27 * 28 + x] == 0 &&
                    d.pix[i * 784 + x * 28] == 0 && d.pix[i * 784 + x * 28 + 27] == 0;
    CHECK(zero);
    images_free(&d);
}

static void test_vflip_reverses_rows_of_id_classes(void) {
    Images t = fake_test(), v, all;
    Err e;
    int mask[10];
    CHECK(id_classes_parse("1,3", mask, &e) == LDE_OK);
    CHECK(ood_build("vflip", &t, mask, &v, &e) == LDE_OK);
    CHECK(v.n == 6 && v.labels && v.labels[0] == 1 && v.labels[1] == 3 && v.labels[2] == 1);
    /* v image 1 is test image 3 upside down: row r of v = row 27 - r of the source. */
    int ok = v.pix != NULL;
    for (int r = 0; ok && r < 28; r++)
        ok = memcmp(v.pix + 784 + r * 28, t.pix + 3 * 784 + (27 - r) * 28, 28 * sizeof(float)) == 0;
    CHECK(ok);
    CHECK(ood_build("vflip", &t, NULL, &all, &e) == LDE_OK);
    CHECK(all.n == 30);
    images_free(&v);
    images_free(&all);
    images_free(&t);
}

static void test_heldout_is_the_complement_of_id_classes_keep(void) {
    Images t = fake_test(), h, k;
    Err e = {{0}};
    int mask[10];
    CHECK(id_classes_parse(" 0, 2,4,6 ,8", mask, &e) == LDE_OK);
    CHECK(ood_build("heldout", &t, mask, &h, &e) == LDE_OK);
    CHECK(id_classes_keep(&t, mask, &k, &e) == LDE_OK);
    CHECK(h.n == 15 && k.n == 15);
    int odd = 1, even = 1;
    for (long i = 0; i < 15; i++) odd &= h.labels[i] % 2 == 1, even &= k.labels[i] % 2 == 0;
    CHECK(odd && even);
    /* Unflipped copies: heldout image 0 is test image 1 as is. */
    CHECK(memcmp(h.pix, t.pix + 784, 784 * sizeof(float)) == 0);
    images_free(&h);
    images_free(&k);
    int all[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(ood_build("heldout", &t, all, &h, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "heldout") && strstr(e.msg, "leave some classes out"));
    CHECK(ood_build("heldout", &t, NULL, &h, &e) == LDE_EINPUT);
    images_free(&t);
}

static void test_id_classes_parse_and_unknown_set_errors(void) {
    int mask[10];
    Err e = {{0}};
    CHECK(id_classes_parse("0,1,9", mask, &e) == LDE_OK);
    CHECK(mask[0] && mask[1] && mask[9] && !mask[2] && !mask[8]);
    const char *bad[] = {"", "1,,2", "10", "1;2", "3,3", "a", "1,"};
    const char *why[] = {"expected a class",     "character 3", "character 1", "expected ','",
                         "class 3 listed twice", "character 1", "character 3"};
    for (int k = 0; k < 7; k++) {
        int rc = id_classes_parse(bad[k], mask, &e);
        if (CHECK(rc == LDE_EINPUT && strstr(e.msg, why[k])))
            fprintf(stderr, "  '%s': %s\n", bad[k], e.msg);
    }
    Images o;
    CHECK(ood_build("svhn", NULL, NULL, &o, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "unknown OOD set 'svhn'") != NULL);
    CHECK(ood_build("vflip", NULL, NULL, &o, &e) == LDE_EINPUT);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_ood_names_lists_five_sets),
        UNIT(test_noise_sets_have_count_range_and_moments),
        UNIT(test_noise_sets_are_identical_on_rebuild_and_golden),
        UNIT(test_digits_set_is_1797_images_with_zero_border),
        UNIT(test_vflip_reverses_rows_of_id_classes),
        UNIT(test_heldout_is_the_complement_of_id_classes_keep),
        UNIT(test_id_classes_parse_and_unknown_set_errors),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
