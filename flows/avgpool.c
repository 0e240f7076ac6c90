/* avgpool.c — see avgpool.h. */
#include "flows/avgpool.h"

void avgpool_forward(const float *x, float *y, int C, int B, int hw) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int n = 0; n < B; n++) {
            const float *xc = x + ((long)c * B + n) * hw;
            float s = 0.0f;
            for (int i = 0; i < hw; i++) s += xc[i];
            y[(long)n * C + c] = s / (float)hw;
        }
}

void avgpool_backward(const float *dy, float *dx, int C, int B, int hw) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int n = 0; n < B; n++) {
            float g = dy[(long)n * C + c] / (float)hw;
            float *dxc = dx + ((long)c * B + n) * hw;
            for (int i = 0; i < hw; i++) dxc[i] = g;
        }
}

void avgpool_forward_blocked(const float *x, float *y, int C, int B, int hw) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < B; n++)
        for (int k = 0; k < C / 16; k++) {
            const float *xs = x + ((long)n * (C / 16) + k) * hw * 16;
            float s[16] = {0};
            for (int i = 0; i < hw; i++)
                for (int l = 0; l < 16; l++) s[l] += xs[i * 16 + l];
            for (int l = 0; l < 16; l++) y[(long)n * C + k * 16L + l] = s[l] / (float)hw;
        }
}

void avgpool_backward_blocked(const float *dy, float *dx, int C, int B, int hw) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < B; n++)
        for (int k = 0; k < C / 16; k++) {
            float *dxs = dx + ((long)n * (C / 16) + k) * hw * 16;
            for (int i = 0; i < hw; i++)
                for (int l = 0; l < 16; l++)
                    dxs[i * 16 + l] = dy[(long)n * C + k * 16L + l] / (float)hw;
        }
}
