/* relu.c — see relu.h. */
#include "relu.h"

void relu_forward(const float *x, float *y, long n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(const float *y, const float *dy, float *dx, long n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
