/* zero_net.h — proving that a coupling's st-network outputs exactly +0.
 *
 * Couplings start with the last layer of their st-network at zero (coupling.h,
 * conv_coupling.h; Glow §3.3), so a new coupling is the identity. An evaluation
 * pass before the first training step (every run's step-0 evaluation, ActNorm's
 * data-dependent init) may then skip the network, which is most of its cost, if
 * the skip gives the bits the network would: each output is the last layer's bias
 * (+0) plus a sum of products 0·a, which is +0 whenever every activation a is
 * finite (0·inf is NaN). The layers add the bias as +0 first (linear_forward) or
 * last (a conv's bias), and +0 + (-0) = +0 in round-to-nearest, so the output is +0
 * either way (tests/flows/test_zero_net.c checks it bit for bit through linear.h,
 * im2col and oneDNN convolutions). The helpers here decide the two conditions: the
 * last layer is all +0 bits, and a bound through the hidden layers keeps every
 * activation finite. */
#ifndef LDE_ZERO_NET_H
#define LDE_ZERO_NET_H

/* 1 when every one of the n floats is +0.0 (bit pattern 0; -0.0 is not), else 0.
 * Stops after the first 4096-float block that holds another value, so a trained
 * layer costs one block's read. */
int zero_net_all_zero(const float *v, long n);

/* The largest |v[i]| over n floats, or INFINITY when any is infinite or NaN. */
double zero_net_abs_max(const float *v, long n);

/* A bound on |y| for y = W·x + b with |x| <= in elementwise, fan_in inputs per
 * output, W (nw floats) and b (nb): fan_in · max|W| · in + max|b| (INFINITY when a
 * parameter is not finite). It bounds every partial sum too, so an activation
 * below it, and any ReLU of it, is finite. */
double zero_net_layer_bound(double in, const float *W, long nw, const float *b, long nb,
                            long fan_in);

/* The bound below which zero_net_layer_bound's chain proves a network finite: far
 * under FLT_MAX, so the rounding of float sums (relative 2^-24 per addition) cannot
 * carry a bounded sum past it. */
#define ZERO_NET_FINITE_BOUND 1e30

#endif
