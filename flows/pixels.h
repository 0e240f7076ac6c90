/* pixels.h — 8-bit images to a flow's input, and bits per dimension back, in the
 * image convention of the literature (RealNVP, Dinh et al. 2017 §4.1; Kirichenko
 * et al. 2020), so pixel-space numbers compare with published ones.
 *
 * A sub-pixel value v ∈ {0, ..., 255} is dequantized to x = (v + u)/256 ∈ (0, 1):
 * u ~ U(0, 1) on training batches, keyed by (seed, step, position) like the latent
 * dequantization (preprocess.h), and u = 1/2, the bin's midpoint, for evaluation —
 * fixed, and the same for in- and out-of-distribution images, so evaluation is
 * deterministic. With α > 0 the flow sees y = logit(p), p = α + (1 − 2α)·x, which
 * keeps y finite at 0 and 1; with α = 0 it sees y = x − 1/2. Per image of D
 * sub-pixels, log|det ∂y/∂x| = Σ [log(1 − 2α) − log p − log(1 − p)] (0 for α = 0).
 * Then log p(x) = log p_flow(y) + log|det|, and since a bin of v has width 1/256 in
 * each of D dimensions, bpd = −log2 P(v)/D = −log2 p(x)/D + 8. */
#ifndef LDE_PIXELS_H
#define LDE_PIXELS_H

#include <stdint.h>

/* The rng stream of the training dequantization offsets ("PIXD"). */
enum { PIXELS_RNG_STREAM = 0x50495844 };

/* v (n,D) 8-bit values as floats -> y (n,D) the flow's input, and logdet[n] the
 * log|det ∂y/∂x| of each image (may be NULL). noisy = 0: midpoints (evaluation);
 * noisy = 1: offset of value i of the batch is rng index (step << 32) + i of
 * PIXELS_RNG_STREAM. y may alias v. n·D < 2^32. */
void pixels_to_flow(const float *v, float *y, double *logdet, long n, int D, float alpha, int noisy,
                    uint64_t seed, uint64_t step);

/* y (n,D) -> v (n,D): the inverse of pixels_to_flow, before rounding (x·256 − 1/2
 * at the midpoint; a sample of the flow maps back to real-valued pixels). */
void pixels_from_flow(const float *y, float *v, long n, int D, float alpha);

/* Bits per sub-pixel of an image of D sub-pixels whose dequantized density is
 * logp_x = log p_flow(y) + log|det ∂y/∂x| (nats): −logp_x/(D·ln 2) + 8. */
double pixels_bpd(double logp_x, int D);

#endif
