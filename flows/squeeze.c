/* squeeze.c — see squeeze.h. Pure data movement, parallel over rows. */
#include "flows/squeeze.h"

/* The element of the squeezed row that input element (y, x, ch) moves to. */
static long squeezed_index(int y, int x, int ch, int w, int c) {
    int Y = y / 2, X = x / 2, k = ch * 4 + (y % 2) * 2 + x % 2;
    return ((long)Y * (w / 2) + X) * 4 * c + k;
}

void squeeze_forward(const float *x, float *y, int B, int h, int w, int c) {
    long d = (long)h * w * c;
#pragma omp parallel for schedule(static) if (B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *xr = x + r * d;
        float *yr = y + r * d;
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++)
                for (int ch = 0; ch < c; ch++)
                    yr[squeezed_index(py, px, ch, w, c)] = xr[((long)py * w + px) * c + ch];
    }
}

void squeeze_inverse(const float *y, float *x, int B, int h, int w, int c) {
    long d = (long)h * w * c;
#pragma omp parallel for schedule(static) if (B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *yr = y + r * d;
        float *xr = x + r * d;
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++)
                for (int ch = 0; ch < c; ch++)
                    xr[((long)py * w + px) * c + ch] = yr[squeezed_index(py, px, ch, w, c)];
    }
}

void split_forward(const float *x, float *y, float *side, long ld, int B, int h, int w, int c) {
    int ca = c / 2, cf = c - ca;
    long hw = (long)h * w;
#pragma omp parallel for schedule(static) if (B * hw * c > 8192)
    for (int r = 0; r < B; r++) {
        const float *xr = x + r * hw * c;
        float *yr = y + r * hw * ca, *sr = side + r * ld;
        for (long p = 0; p < hw; p++) {
            for (int ch = 0; ch < ca; ch++) yr[p * ca + ch] = xr[p * c + ch];
            for (int ch = 0; ch < cf; ch++) sr[p * cf + ch] = xr[p * c + ca + ch];
        }
    }
}

void split_inverse(const float *y, const float *side, long ld, float *x, int B, int h, int w,
                   int c) {
    int ca = c / 2, cf = c - ca;
    long hw = (long)h * w;
#pragma omp parallel for schedule(static) if (B * hw * c > 8192)
    for (int r = 0; r < B; r++) {
        const float *yr = y + r * hw * ca, *sr = side + r * ld;
        float *xr = x + r * hw * c;
        for (long p = 0; p < hw; p++) {
            for (int ch = 0; ch < ca; ch++) xr[p * c + ch] = yr[p * ca + ch];
            for (int ch = 0; ch < cf; ch++) xr[p * c + ca + ch] = sr[p * cf + ch];
        }
    }
}
