/* test_images.c — bilinear resize follows the aligned-centres convention, and the
 * checksum separates sets that differ in one pixel bit, one label or the shape. */
#include "data/images.h"
#include "tests/unit.h"

#include <math.h>
#include <string.h>

static void test_resize_bilinear_2x2_to_4x4_aligned_centres(void) {
    const float src[4] = {0, 1, 2, 3};
    float dst[16];
    images_resize_bilinear(src, 2, 2, dst, 4, 4);
    /* Column x of the 4-wide row samples src at (x + 0.5)/2 - 0.5 = -0.25, 0.25,
     * 0.75, 1.25, clamped to [0, 1]: weights 0, 0.25, 0.75, 1. Same for rows (x2). */
    const float want_row0[4] = {0, 0.25f, 0.75f, 1};
    for (int x = 0; x < 4; x++) {
        CHECK_NEAR(dst[x], want_row0[x], 1e-6);          /* float rounding only */
        CHECK_NEAR(dst[12 + x], 2 + want_row0[x], 1e-6); /* bottom row = top + 2 */
    }
    CHECK_NEAR(dst[1 * 4 + 1], 0.25f * 2 + 0.25f, 1e-6); /* y weight 0.25, x weight 0.25 */
}

static void test_resize_bilinear_same_size_is_identity_and_constant_stays(void) {
    float src[8 * 8], dst[8 * 8], big[20 * 20];
    for (int i = 0; i < 64; i++) src[i] = (float)((i * 37) % 17) / 16.0f;
    images_resize_bilinear(src, 8, 8, dst, 8, 8);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    for (int i = 0; i < 64; i++) src[i] = 0.375f;
    images_resize_bilinear(src, 8, 8, big, 20, 20);
    int ok = 1;
    for (int i = 0; i < 400; i++) ok &= big[i] == 0.375f;
    CHECK(ok);
}

static void test_images_checksum_changes_with_pixel_label_and_shape(void) {
    Images a, b;
    Err e;
    CHECK(images_alloc(&a, 3, 4, 5, 1, "a", &e) == LDE_OK);
    CHECK(images_alloc(&b, 3, 4, 5, 1, "b", &e) == LDE_OK);
    for (int i = 0; i < 60; i++) a.pix[i] = b.pix[i] = (float)i / 60.0f;
    for (int i = 0; i < 3; i++) a.labels[i] = b.labels[i] = i;
    uint64_t h = images_checksum(&a);
    CHECK(h == images_checksum(&b));
    b.pix[17] = nextafterf(b.pix[17], 1.0f);
    CHECK(images_checksum(&b) != h);
    b.pix[17] = a.pix[17];
    b.labels[2] = 7;
    CHECK(images_checksum(&b) != h);
    b.labels[2] = 2;
    b.h = 5, b.w = 4; /* same bytes, another shape */
    CHECK(images_checksum(&b) != h);
    images_free(&a);
    images_free(&b);
    CHECK(a.pix == NULL && a.labels == NULL && a.n == 0);
    images_free(&a); /* a second free is harmless */
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_resize_bilinear_2x2_to_4x4_aligned_centres),
        UNIT(test_resize_bilinear_same_size_is_identity_and_constant_stays),
        UNIT(test_images_checksum_changes_with_pixel_label_and_shape),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
