/* rng.h — counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * Every random number is a pure function of (seed, stream, index): no state is
 * advanced, so a value does not depend on which thread asked first or how many
 * threads there are. Streams separate independent uses within one run (weight
 * init of block k, dequantization noise, batch shuffling, Hutchinson probes ...);
 * index counts within a stream. */
#ifndef LDE_RNG_H
#define LDE_RNG_H

#include <stdint.h>

/* Four independent 32-bit words for (seed, stream, index). */
void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);

/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Standard normal by Box-Muller on two words of the same Philox block. */
float rng_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Fills x[0..n) with uniform [lo, hi) / normal(mean, std) values; value i uses index
 * first + i, so filling a buffer in pieces gives the same numbers as in one go. */
void rng_fill_uniform(float *x, long n, float lo, float hi, uint64_t seed, uint64_t stream,
                      uint64_t first);
void rng_fill_normal(float *x, long n, float mean, float std, uint64_t seed, uint64_t stream,
                     uint64_t first);

/* A uniformly random permutation of 0..n-1 (Fisher-Yates, swap k drawn at index k). */
void rng_permutation(long *perm, long n, uint64_t seed, uint64_t stream);

#endif
