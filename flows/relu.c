/* relu.c — see relu.h. The loops are `omp simd` and branch-free: at -O2 gcc left
 * them scalar with an unpredictable branch, and they took 21% of backbone training
 * (perf, 1 thread). An element-wise loop has no carried dependence, so simd is
 * valid even when the output aliases the input. */
#include "flows/relu.h"

void relu_forward(const float *x, float *y, long n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(const float *y, const float *dy, float *dx, long n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) {
        float g = dy[i]; /* read unconditionally, so the select vectorizes */
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}
