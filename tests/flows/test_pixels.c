/* test_pixels.c — 8-bit images to the flow's input and back (flows/pixels.h): the
 * log-determinant against finite differences, the inverse, the bits/dim
 * convention, and noise that depends on (seed, step, position) only. */
#include "flows/pixels.h"
#include "tests/unit.h"

#include <math.h>
#include <omp.h>
#include <string.h>

enum { N = 3, D = 7 };

static const float V[N * D] = {0,  1,  2,  127, 128, 254, 255, 10, 20, 30, 40,
                               50, 60, 70, 255, 255, 255, 0,   0,  0,  99};

/* y as a function of one dequantized x, for the finite differences below. */
static double logit_y(double x, double a) {
    double p = a + (1 - 2 * a) * x;
    return log(p / (1 - p));
}

/* The log-det of each image is the sum of log dy/dx of its sub-pixels, measured by
 * central differences in double (h = 1e-6: truncation error ~h² of a smooth
 * function, far below the 1e-6 tolerance on a sum of 7 terms of size ~3). */
static void test_pixels_logdet_matches_finite_differences(void) {
    float y[N * D];
    double ld[N];
    for (int k = 0; k < 2; k++) {
        double a = k ? 0.05 : 0.2;
        pixels_to_flow(V, y, ld, N, D, (float)a, 0, 0, 0);
        for (int r = 0; r < N; r++) {
            double fd = 0, h = 1e-6;
            for (int j = 0; j < D; j++) {
                double x = (V[r * D + j] + 0.5) / 256.0;
                fd += log((logit_y(x + h, a) - logit_y(x - h, a)) / (2 * h));
            }
            CHECK_NEAR(ld[r], fd, 1e-6);
        }
    }
}

/* Midpoints map back to the 8-bit values (float rounding of y: within 1e-3). */
static void test_pixels_inverse_roundtrip(void) {
    float y[N * D], v[N * D];
    for (int k = 0; k < 2; k++) {
        float a = k ? 0.05f : 0.0f;
        pixels_to_flow(V, y, NULL, N, D, a, 0, 0, 0);
        pixels_from_flow(y, v, N, D, a);
        for (int i = 0; i < N * D; i++) CHECK_NEAR(v[i], V[i], 1e-3);
    }
}

/* α = 0: y = x − 1/2 and log-det 0; a density of 1 on [0,1]^D (log p(x) = 0) is
 * 8 bits per sub-pixel, the uniform distribution over 256 levels. */
static void test_pixels_bpd_convention(void) {
    float y[N * D];
    double ld[N];
    pixels_to_flow(V, y, ld, N, D, 0.0f, 0, 0, 0);
    CHECK(ld[0] == 0 && ld[2] == 0);
    CHECK_NEAR(y[0], 0.5 / 256 - 0.5, 1e-7);
    CHECK_NEAR(y[6], 255.5 / 256 - 0.5, 1e-7);
    CHECK(pixels_bpd(0.0, D) == 8.0);
    CHECK_NEAR(pixels_bpd(-D * M_LN2, D), 9.0, 1e-12);
}

/* Training offsets stay inside each value's bin, differ by step, and are the same
 * bits at 1 and 2 threads (keyed by position, not by thread). */
static void test_pixels_noise_in_bin_and_thread_independent(void) {
    enum { M = 4096, W = 32 }; /* 131072 values: above the parallel threshold */
    static float v[M * W], y1[M * W], y2[M * W], y3[M * W];
    for (int i = 0; i < M * W; i++) v[i] = (float)(i % 256);
    omp_set_num_threads(1);
    pixels_to_flow(v, y1, NULL, M, W, 0.0f, 1, 7, 3);
    omp_set_num_threads(2);
    pixels_to_flow(v, y2, NULL, M, W, 0.0f, 1, 7, 3);
    pixels_to_flow(v, y3, NULL, M, W, 0.0f, 1, 7, 4);
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    int inside = 1, differ = 0;
    for (int i = 0; i < M * W; i++) {
        double x = y1[i] + 0.5;
        inside &= x >= v[i] / 256.0 - 1e-6 && x <= (v[i] + 1) / 256.0 + 1e-6;
        differ += y1[i] != y3[i];
    }
    CHECK(inside);
    CHECK(differ > M * W / 2);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_pixels_logdet_matches_finite_differences),
        UNIT(test_pixels_inverse_roundtrip),
        UNIT(test_pixels_bpd_convention),
        UNIT(test_pixels_noise_in_bin_and_thread_independent),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
}
