/* conv2d.c — see conv2d.h. im2col + gemm(); col2im for the input gradient. Every
 * output element is written by one thread in a fixed order, so the bits do not
 * depend on the thread count. */
#include "conv2d.h"

#include "gemm.h"
#include "rng.h"

#include <math.h>
#include <string.h>

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

/* Output columns [lo, hi) of a row read input columns inside 0..w-1 for tap kx:
 * ix = ox·stride + kx lies in [0, w). The rest of the row is padding. */
static void valid_range(int wo, int w, int stride, int kx, int *lo, int *hi) {
    int a = kx < 0 ? (-kx + stride - 1) / stride : 0;
    int b = w - 1 - kx < 0 ? 0 : (w - 1 - kx) / stride + 1;
    *lo = a;
    *hi = b < wo ? b : wo;
}

/* cols[ci·9 + ky·3 + kx][n, oy, ox] = x[ci][n][oy·s + ky - 1][ox·s + kx - 1], 0 outside.
 * Pure data movement; the valid span of each row is a plain copy (contiguous for
 * stride 1) so the loop carries no per-pixel bounds test. */
static void im2col(const float *x, float *cols, int cin, int B, int h, int w, int stride) {
    int ho = conv2d_out_size(h, stride), wo = conv2d_out_size(w, stride);
    long plane = (long)ho * wo, P = (long)B * plane;
#pragma omp parallel for collapse(2) schedule(static)
    for (int r = 0; r < cin * 9; r++)
        for (int n = 0; n < B; n++) {
            int ci = r / 9, ky = r % 9 / 3 - 1, kx = r % 3 - 1, lo, hi;
            valid_range(wo, w, stride, kx, &lo, &hi);
            const float *src = x + ((long)ci * B + n) * h * w;
            float *dst = cols + r * P + n * plane;
            for (int oy = 0; oy < ho; oy++) {
                int iy = oy * stride + ky;
                float *row = dst + (long)oy * wo;
                if (iy < 0 || iy >= h) {
                    for (int ox = 0; ox < wo; ox++) row[ox] = 0.0f;
                    continue;
                }
                const float *in = src + (long)iy * w;
                for (int ox = 0; ox < lo; ox++) row[ox] = 0.0f;
                if (stride == 1) /* one copy: im2col was 20% of an image flow's step */
                    memcpy(row + lo, in + lo + kx, sizeof(float) * (size_t)(hi - lo));
                else
                    for (int ox = lo; ox < hi; ox++) row[ox] = in[ox * stride + kx];
                for (int ox = hi; ox < wo; ox++) row[ox] = 0.0f;
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
                int ky = k / 3 - 1, kx = k % 3 - 1, lo, hi;
                valid_range(wo, w, stride, kx, &lo, &hi);
                const float *src = dcols + (long)(ci * 9 + k) * P + n * plane;
                for (int oy = 0; oy < ho; oy++) {
                    int iy = oy * stride + ky;
                    if (iy < 0 || iy >= h) continue;
                    float *out = dst + (long)iy * w;
                    const float *g = src + (long)oy * wo;
                    if (stride == 1) /* unit stride: the loop vectorizes */
                        for (int ox = lo; ox < hi; ox++) out[ox + kx] += g[ox];
                    else
                        for (int ox = lo; ox < hi; ox++) out[ox * stride + kx] += g[ox];
                }
            }
        }
}

void conv2d_im2col(const float *x, float *cols, int cin, int B, int h, int w, int stride) {
    im2col(x, cols, cin, B, h, w, stride);
}

void conv2d_forward(const float *W, const float *x, float *cols, float *y, int cin, int cout, int B,
                    int h, int w, int stride) {
    int P = B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride), K = cin * 9;
    im2col(x, cols, cin, B, h, w, stride);
    /* y = W · cols   (Cout,K)·(K,P) */
    gemm(0, 0, cout, P, K, 1.0f, W, K, cols, P, 0.0f, y, P);
}

/* The weight gradient sums over P = B·ho·wo positions, often with a dW too small
 * to give two threads a GEMM tile each. So P is cut into chunks of a fixed
 * DW_CHUNK columns, dW into gemm.h's fixed tiles, each (chunk, tile) partial is one
 * single-threaded GEMM, and the partials are added in chunk order: same bits at
 * any thread count, and tens of work units to share out even for stage 4. */
enum { DW_CHUNK = 2048 };

long conv2d_workspace(int cin, int cout, int B, int h, int w, int stride) {
    long P = (long)B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride), K = cin * 9L;
    long partials = (P + DW_CHUNK - 1) / DW_CHUNK * cout * K;
    return K * P > partials ? K * P : partials;
}

void conv2d_backward(const float *W, const float *cols, const float *dy, float *work, float *dx,
                     float *dW, int accumulate, int cin, int cout, int B, int h, int w,
                     int stride) {
    int P = B * conv2d_out_size(h, stride) * conv2d_out_size(w, stride), K = cin * 9;
    int nchunks = (P + DW_CHUNK - 1) / DW_CHUNK;
    long nW = (long)cout * K;
    int tm = (cout + GEMM_TILE_M - 1) / GEMM_TILE_M, tn = (K + GEMM_TILE_N - 1) / GEMM_TILE_N;
    /* partial[c] tile (i0, j0) = dy[i0.., chunk c] · cols[j0.., chunk c]ᵀ   (m,len)·(len,n) */
#pragma omp parallel for schedule(dynamic)
    for (int u = 0; u < nchunks * tm * tn; u++) {
        int c = u / (tm * tn), t = u % (tm * tn);
        int lo = c * DW_CHUNK, len = P - lo < DW_CHUNK ? P - lo : DW_CHUNK;
        int i0 = t / tn * GEMM_TILE_M, j0 = t % tn * GEMM_TILE_N;
        int m = cout - i0 < GEMM_TILE_M ? cout - i0 : GEMM_TILE_M;
        int n = K - j0 < GEMM_TILE_N ? K - j0 : GEMM_TILE_N;
        gemm(0, 1, m, n, len, 1.0f, dy + (long)i0 * P + lo, P, cols + (long)j0 * P + lo, P, 0.0f,
             work + c * nW + (long)i0 * K + j0, K);
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < nW; i++) {
        float s = accumulate ? dW[i] : 0.0f;
        for (int c = 0; c < nchunks; c++) s += work[c * nW + i];
        dW[i] = s;
    }
    if (!dx) return;
    /* dcols = Wᵀ · dy   (K,Cout)·(Cout,P), into the workspace */
    gemm(1, 0, K, P, cout, 1.0f, W, K, dy, P, 0.0f, work, P);
    col2im(work, dx, cin, B, h, w, stride);
}
