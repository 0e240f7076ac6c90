/* actnorm.c — see actnorm.h. Row loops are parallel (independent rows); column
 * reductions run one column per iteration with rows summed in order, so the bits do
 * not depend on the thread count. */
#include "flows/actnorm.h"

#include <math.h>

long actnorm_nparams(int d) {
    return 2L * d;
}

void actnorm_init(float *params, int d) {
    for (long i = 0; i < 2L * d; i++) params[i] = 0.0f;
}

void actnorm_init_from_data(float *params, const float *x, int B, int d) {
    float *b = params, *logs = params + d;
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
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

/* Columns per block: exp(logs) is computed once per column of a block, not once per
 * element, and the block's scales stay in a small stack array. */
enum { COLS = 256 };

void actnorm_forward(const float *params, const float *x, float *y, double *logdet, int B, int d) {
    const float *b = params, *logs = params + d;
    double sum_logs = 0.0;
    for (int j = 0; j < d; j++) sum_logs += logs[j];
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *xr = x + (long)r * d;
        float *yr = y + (long)r * d, scale[COLS];
        for (int j0 = 0; j0 < d; j0 += COLS) {
            int n = d - j0 < COLS ? d - j0 : COLS;
            for (int j = 0; j < n; j++) scale[j] = expf(logs[j0 + j]);
            for (int j = 0; j < n; j++) yr[j0 + j] = (xr[j0 + j] + b[j0 + j]) * scale[j];
        }
        logdet[r] += sum_logs;
    }
}

void actnorm_backward(const float *params, const float *x, const float *dy, float dlogdet,
                      float *dx, float *dparams, int B, int d) {
    const float *b = params, *logs = params + d;
    float *db = dparams, *dlogs = dparams + d;
    /* y = (x + b)·e^logs:  ∂y/∂x = ∂y/∂b = e^logs,  ∂y/∂logs = y,  ∂logdet/∂logs = 1. */
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
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
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *yr = y + (long)r * d;
        float *xr = x + (long)r * d, inv[COLS];
        for (int j0 = 0; j0 < d; j0 += COLS) {
            int n = d - j0 < COLS ? d - j0 : COLS;
            for (int j = 0; j < n; j++) inv[j] = expf(-logs[j0 + j]);
            for (int j = 0; j < n; j++) xr[j0 + j] = yr[j0 + j] * inv[j] - b[j0 + j];
        }
    }
}
