/* conv2d.c — see conv2d.h. im2col + gemm(); col2im for the input gradient. Every
 * output element is written by one thread in a fixed order, so the bits do not
 * depend on the thread count. */
#include "conv2d.h"

#include "gemm.h"
#include "rng.h"

#include <math.h>

long conv2d_nparams(int cin, int cout) {
    return (long)cout * cin * 9;
}

int conv2d_out_size(int h, int stride) {
    return (h - 1) / stride + 1;
}

void conv2d_init(float *W, int cin, int cout, uint64_t seed, uint64_t stream) {
    float bound = 1.0f / sqrtf((float)cin * 9.0f);
    rng_fill_uniform(W, conv2d_nparams(cin, cout), -bound, bound, seed, stream, 0);
}

/* cols[ci·9 + ky·3 + kx][n, oy, ox] = x[ci][n][oy·s + ky - 1][ox·s + kx - 1], 0 outside. */
static void im2col(const float *x, float *cols, int cin, int B, int h, int w, int stride) {
    int ho = conv2d_out_size(h, stride), wo = conv2d_out_size(w, stride);
    long plane = (long)ho * wo, P = (long)B * plane;
#pragma omp parallel for collapse(2) schedule(static)
    for (int r = 0; r < cin * 9; r++)
        for (int n = 0; n < B; n++) {
            int ci = r / 9, ky = r % 9 / 3 - 1, kx = r % 3 - 1;
            const float *src = x + ((long)ci * B + n) * h * w;
            float *dst = cols + r * P + n * plane;
            for (int oy = 0; oy < ho; oy++) {
                int iy = oy * stride + ky;
                float *row = dst + (long)oy * wo;
                if (iy < 0 || iy >= h) {
                    for (int ox = 0; ox < wo; ox++) row[ox] = 0.0f;
                    continue;
                }
                for (int ox = 0; ox < wo; ox++) {
                    int ix = ox * stride + kx;
                    row[ox] = ix >= 0 && ix < w ? src[(long)iy * w + ix] : 0.0f;
                }
            }
        }
}

/* The adjoint of im2col: dx[ci][n] = sum over the 9 taps of dcols, taps in order. */
static void col2im(const float *dcols, float *dx, int cin, int B, int h, int w, int stride) {
    int ho = conv2d_out_size(h, stride), wo = conv2d_out_size(w, stride);
    long plane = (long)ho * wo, P = (long)B * plane;
#pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < cin; ci++)
        for (int n = 0; n < B; n++) {
            float *dst = dx + ((long)ci * B + n) * h * w;
            for (long i = 0; i < (long)h * w; i++) dst[i] = 0.0f;
            for (int k = 0; k < 9; k++) {
                int ky = k / 3 - 1, kx = k % 3 - 1;
                const float *src = dcols + (long)(ci * 9 + k) * P + n * plane;
                for (int oy = 0; oy < ho; oy++) {
                    int iy = oy * stride + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int ox = 0; ox < wo; ox++) {
                        int ix = ox * stride + kx;
                        if (ix >= 0 && ix < w) dst[(long)iy * w + ix] += src[(long)oy * wo + ox];
                    }
                }
            }
        }
}

void conv2d_forward(const float *W, const float *x, float *cols, float *y, int cin, int cout, int B,
                    int h, int w, int stride) {
    int P = B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride), K = cin * 9;
    im2col(x, cols, cin, B, h, w, stride);
    /* y = W · cols   (Cout,K)·(K,P) */
    gemm(0, 0, cout, P, K, 1.0f, W, K, cols, P, 0.0f, y, P);
}

void conv2d_backward(const float *W, const float *cols, const float *dy, float *dcols, float *dx,
                     float *dW, int accumulate, int cin, int cout, int B, int h, int w,
                     int stride) {
    int P = B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride), K = cin * 9;
    /* dW (+)= dy · colsᵀ   (Cout,P)·(P,K) */
    gemm(0, 1, cout, K, P, 1.0f, dy, P, cols, P, accumulate ? 1.0f : 0.0f, dW, K);
    if (!dx) return;
    /* dcols = Wᵀ · dy   (K,Cout)·(Cout,P) */
    gemm(1, 0, K, P, cout, 1.0f, W, K, dy, P, 0.0f, dcols, P);
    col2im(dcols, dx, cin, B, h, w, stride);
}
