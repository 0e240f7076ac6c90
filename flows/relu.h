/* relu.h — y = max(x, 0), the activation of coupling nets and the backbone. */
#ifndef LDE_RELU_H
#define LDE_RELU_H

/* x (n) -> y (n); y may alias x. */
void relu_forward(const float *x, float *y, long n);

/* dy (n), y = the forward output (n) -> dx (n); dx may alias dy. The gradient at 0 is 0. */
void relu_backward(const float *y, const float *dy, float *dx, long n);

#endif
