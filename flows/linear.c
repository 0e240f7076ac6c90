/* linear.c — see linear.h. Three SGEMMs; the bias sums run over fixed column
 * blocks so the result does not depend on the thread count. */
#include "flows/linear.h"

#include "flows/gemm.h"
#include "flows/rng.h"

#include <math.h>

long linear_nparams(int in, int out) {
    return (long)out * in + out;
}

void linear_init(float *params, int in, int out, uint64_t seed, uint64_t stream) {
    float bound = 1.0f / sqrtf((float)in);
    rng_fill_uniform(params, linear_nparams(in, out), -bound, bound, seed, stream, 0);
}

void linear_forward(const float *params, const float *x, float *y, int B, int in, int out) {
    const float *W = params, *b = params + (long)out * in;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < out; o++) y[(long)r * out + o] = b[o];
    /* y += x · Wᵀ   (B,in)·(in,out) */
    gemm(0, 1, B, out, in, 1.0f, x, in, W, in, 1.0f, y, out);
}

void linear_backward(const float *params, const float *x, const float *dy, float *dx,
                     float *dparams, int accumulate, int B, int in, int out) {
    const float *W = params;
    float *dW = dparams, *db = dparams + (long)out * in;
    /* dx = dy · W   (B,out)·(out,in) */
    if (dx) gemm(0, 0, B, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
    /* dW (+)= dyᵀ · x   (out,B)·(B,in) */
    gemm(1, 0, out, in, B, 1.0f, dy, out, x, in, accumulate ? 1.0f : 0.0f, dW, in);
    /* db (+)= column sums of dy, each column summed over rows in order. */
#pragma omp parallel for schedule(static) if ((long)B * out > 32768)
    for (int o = 0; o < out; o++) {
        float s = accumulate ? db[o] : 0.0f;
        for (int r = 0; r < B; r++) s += dy[(long)r * out + o];
        db[o] = s;
    }
}
