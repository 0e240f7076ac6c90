/* coupling.h — affine coupling layer (Dinh et al. 2017, RealNVP §3.2–3.3).
 *
 * The input splits into a conditioning half x_c, passed through unchanged, and a
 * transformed half x_t:  y_t = x_t ⊙ exp(s) + t,  (raw_s, t) = NN(x_c),
 * s = 2·tanh(raw_s / 2) — a soft clamp to (-2, 2) with slope 1 at 0, so one layer
 * can neither blow up nor collapse a dimension. log|det J| = Σ s per row.
 * NN = Linear(d_c→h) → ReLU → Linear(h→2·d_t); with a bottleneck l > 0 (Kirichenko
 * et al. 2020 §7) it is Linear(d_c→h) → ReLU → Linear(h→l) → Linear(l→h) → ReLU →
 * Linear(h→2·d_t). The last layer starts at zero, so a new coupling is the identity.
 * Parity 0 conditions on the first d/2 dimensions, parity 1 on the last d - d/2;
 * flows alternate parity block to block so every dimension gets transformed.
 * Params, in order: the Linear layers above, each W[out][in] then b[out] (linear.h). */
#ifndef LDE_COUPLING_H
#define LDE_COUPLING_H

#include <stdint.h>

typedef struct {
    int d, hidden, bottleneck;
    int cond_off, cond_n; /* x_c = x[cond_off, cond_off + cond_n) */
    int tr_off, tr_n;     /* x_t = x[tr_off, tr_off + tr_n) */
} Coupling;

/* The shape of a coupling on d >= 2 dimensions with the given parity (0 or 1). */
Coupling coupling_make(int d, int hidden, int bottleneck, int parity);

long coupling_nparams(const Coupling *c);

/* Floats per batch row that forward keeps for backward (saved) and that backward
 * needs as scratch; a batch of B rows needs B times as many. */
long coupling_nsaved(const Coupling *c);
long coupling_nscratch(const Coupling *c);

/* Hidden layers ~ linear_init from streams stream, stream+1, stream+2; last layer 0. */
void coupling_init(const Coupling *c, float *params, uint64_t seed, uint64_t stream);

/* x (B,d) -> y (B,d); adds Σ s to logdet[B]; fills saved (B·nsaved). */
void coupling_forward(const Coupling *c, const float *params, const float *x, float *y,
                      double *logdet, float *saved, int B);

/* coupling_forward for a pass that no backward follows (evaluation): while the last
 * layer is still +0 (a new coupling), NN(x_c) is +0 and the network is skipped, with
 * the same bits (zero_net.h says when that holds); else coupling_forward. saved then
 * holds st only. */
void coupling_forward_eval(const Coupling *c, const float *params, const float *x, float *y,
                           double *logdet, float *saved, int B);

/* x (B,d), saved from forward, dy (B,d), dlogdet -> dx (B,d) and dparams (overwritten);
 * scratch (B·nscratch). */
void coupling_backward(const Coupling *c, const float *params, const float *x, const float *saved,
                       const float *dy, float dlogdet, float *dx, float *dparams, float *scratch,
                       int B);

/* y (B,d) -> x (B,d); saved (B·nsaved) is used as scratch. */
void coupling_inverse(const Coupling *c, const float *params, const float *y, float *x,
                      float *saved, int B);

/* Floating-point operations of one forward pass over B rows (the GEMMs). */
double coupling_flops(const Coupling *c, int B);

#endif
