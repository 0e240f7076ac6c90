/* test_digits.c — the sklearn digits load as 1,797 centred 28x28 images in [0, 1]
 * whose centre box is the bilinear upscale of the 8x8 source; broken CSV files are
 * refused naming file:line:column. */
#include "data/digits.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void test_digits_are_1797_centred_images_in_unit_range(void) {
    unsetenv("LDE_DIGITS");
    Images im = {0};
    Err e = {{0}};
    int rc = digits_load(&im, &e);
    if (CHECK(rc == LDE_OK)) fprintf(stderr, "  %s\n", e.msg);
    if (rc != LDE_OK) return;
    CHECK(im.n == 1797 && im.h == 28 && im.w == 28 && im.labels == NULL);
    int border_zero = 1, in_range = 1;
    double centre = 0;
    float hi = 0;
    for (long i = 0; i < im.n; i++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                float v = im.pix[(i * 28 + y) * 28 + x];
                int inside = y >= 4 && y < 24 && x >= 4 && x < 24;
                if (!inside) border_zero &= v == 0.0f;
                in_range &= v >= 0.0f && v <= 1.0f;
                hi = v > hi ? v : hi;
                if (y >= 10 && y < 18 && x >= 10 && x < 18) centre += v;
            }
    CHECK(border_zero); /* the 4-pixel frame around the 20x20 box is empty */
    CHECK(in_range);
    CHECK(hi == 1.0f);                   /* a 16 whose neighbours are 16 stays exactly 1 */
    CHECK(centre / (1797.0 * 64) > 0.2); /* ink sits in the middle */
    images_free(&im);
}

/* The first digit's source row 0 is 0,0,5,13,9,1,0,0: the box's row 0 samples that
 * row at column coordinates clamped at the left edge, so box pixel (0, 0) = 0 and
 * the box's middle samples interpolate 13 and 9. */
static void test_digits_first_image_matches_its_source_row(void) {
    unsetenv("LDE_DIGITS");
    Images im = {0};
    Err e;
    if (CHECK(digits_load(&im, &e) == LDE_OK)) return;
    const float src[8] = {0, 0, 5, 13, 9, 1, 0, 0};
    float box[20];
    /* Row 0 of the box samples source row coordinate (0.5 * 8/20 - 0.5) < 0 -> row 0. */
    for (int x = 0; x < 20; x++) {
        float s = ((float)x + 0.5f) * 0.4f - 0.5f;
        s = s < 0 ? 0 : s > 7 ? 7 : s;
        int x0 = (int)s < 7 ? (int)s : 6;
        box[x] = (src[x0] + (s - (float)x0) * (src[x0 + 1] - src[x0])) / 16.0f;
    }
    for (int x = 0; x < 20; x++) CHECK_NEAR(im.pix[4 * 28 + 4 + x], box[x], 1e-6); /* rounding */
    images_free(&im);
}

static const char *write_csv(const char *name, const char *body, int repeat) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
    gzFile gz = gzopen(path, "wb");
    for (int i = 0; i < repeat; i++) gzputs(gz, body);
    gzclose(gz);
    return path;
}

static void expect_bad(const char *name, const char *body, int repeat, const char *message) {
    setenv("LDE_DIGITS", write_csv(name, body, repeat), 1);
    Images im = {0};
    Err e = {{0}};
    int rc = digits_load(&im, &e);
    int ok = rc == LDE_EINPUT && strstr(e.msg, name) && strstr(e.msg, message) && !im.pix;
    if (CHECK(ok)) fprintf(stderr, "  %s: rc %d: %s\n", name, rc, e.msg);
    images_free(&im);
    unsetenv("LDE_DIGITS");
}

#define ROW64                                                                                      \
    "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"                      \
    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"

static void test_digits_broken_csv_is_refused_with_line_and_column(void) {
    expect_bad("few.csv.gz", ROW64 ",3\n", 10, "10 digits, expected 1797");
    expect_bad("many.csv.gz", ROW64 ",3\n", 1798, ":1798:1: more than the expected 1797");
    expect_bad("pixel.csv.gz", "17," ROW64 "\n", 1797, ":1:1: pixel 17 outside 0..16");
    expect_bad("label.csv.gz", ROW64 ",10\n", 1797, ":1:136: label 10 outside 0..9");
    expect_bad("short.csv.gz", "1,2,3\n", 1797, ":1:6: expected ','");
    expect_bad("text.csv.gz", "a,b\n", 1797, ":1:1: expected value 1 of 65");
    setenv("LDE_DIGITS", "/nonexistent/digits.csv.gz", 1);
    Images im = {0};
    Err e = {{0}};
    CHECK(digits_load(&im, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "/nonexistent/digits.csv.gz: cannot open") != NULL);
    unsetenv("LDE_DIGITS");
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_digits_are_1797_centred_images_in_unit_range),
        UNIT(test_digits_first_image_matches_its_source_row),
        UNIT(test_digits_broken_csv_is_refused_with_line_and_column),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
