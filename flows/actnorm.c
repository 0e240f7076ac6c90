/* actnorm.c — see actnorm.h. Row loops are parallel (independent rows); column
 * reductions run one column per iteration with rows summed in order, so the bits do
 * not depend on the thread count. */
#include "actnorm.h"

#include <math.h>

long actnorm_nparams(int d) {
    return 2L * d;
}

void actnorm_init(float *params, int d) {
    for (long i = 0; i < 2L * d; i++) params[i] = 0.0f;
}

void actnorm_init_from_data(float *params, const float *x, int B, int d) {
    float *b = params, *logs = params + d;
#pragma omp parallel for schedule(static) if ((long)B * d > 65536)
    for (int j = 0; j < d; j++) {
        double s = 0.0, ss = 0.0;
        for (int r = 0; r < B; r++) s += x[(long)r * d + j];
        double mean = s / B;
        for (int r = 0; r < B; r++) {
            double c = x[(long)r * d + j] - mean;
            ss += c * c;
        }
        b[j] = (float)-mean;
        logs[j] = (float)-log(sqrt(ss / B) + ACTNORM_STD_FLOOR);
    }
}

void actnorm_forward(const float *params, const float *x, float *y, double *logdet, int B, int d) {
    const float *b = params, *logs = params + d;
    double sum_logs = 0.0;
    for (int j = 0; j < d; j++) sum_logs += logs[j];
#pragma omp parallel for schedule(static) if ((long)B * d > 65536)
    for (int r = 0; r < B; r++) {
        const float *xr = x + (long)r * d;
        float *yr = y + (long)r * d;
        for (int j = 0; j < d; j++) yr[j] = (xr[j] + b[j]) * expf(logs[j]);
        logdet[r] += sum_logs;
    }
}

void actnorm_backward(const float *params, const float *x, const float *dy, float dlogdet,
                      float *dx, float *dparams, int B, int d) {
    const float *b = params, *logs = params + d;
    float *db = dparams, *dlogs = dparams + d;
    /* y = (x + b)·e^logs:  ∂y/∂x = ∂y/∂b = e^logs,  ∂y/∂logs = y,  ∂logdet/∂logs = 1. */
#pragma omp parallel for schedule(static) if ((long)B * d > 65536)
    for (int j = 0; j < d; j++) {
        float scale = expf(logs[j]);
        double sdy = 0.0, sdyy = 0.0;
        for (int r = 0; r < B; r++) {
            long i = (long)r * d + j;
            sdy += dy[i];
            sdyy += (double)dy[i] * (x[i] + b[j]) * scale;
            dx[i] = dy[i] * scale;
        }
        db[j] = (float)(sdy * scale);
        dlogs[j] = (float)(sdyy + (double)dlogdet * B);
    }
}

void actnorm_inverse(const float *params, const float *y, float *x, int B, int d) {
    const float *b = params, *logs = params + d;
#pragma omp parallel for schedule(static) if ((long)B * d > 65536)
    for (int r = 0; r < B; r++) {
        const float *yr = y + (long)r * d;
        float *xr = x + (long)r * d;
        for (int j = 0; j < d; j++) xr[j] = yr[j] * expf(-logs[j]) - b[j];
    }
}
