/* avgpool.h — global average pooling: the backbone's (C, B, h, w) activation becomes
 * the B×C feature matrix (row-major, one image per row) that the head and the flows
 * read. Each output is one sum in index order. */
#ifndef LDE_AVGPOOL_H
#define LDE_AVGPOOL_H

/* x (C, B, hw) -> y (B, C): y[n][c] = mean of x[c][n][·]. */
void avgpool_forward(const float *x, float *y, int C, int B, int hw);

/* dy (B, C) -> dx (C, B, hw): dx[c][n][i] = dy[n][c] / hw. */
void avgpool_backward(const float *dy, float *dx, int C, int B, int hw);

/* The same on oneDNN's blocked layout (conv2d_onednn.h): x, dx as (B, C/16, hw, 16),
 * C a multiple of 16; each output the same sum in the same order. */
void avgpool_forward_blocked(const float *x, float *y, int C, int B, int hw);
void avgpool_backward_blocked(const float *dy, float *dx, int C, int B, int hw);

#endif
