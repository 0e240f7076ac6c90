/* rng.c — see rng.h. Philox4x32 with 10 rounds and the constants of the paper
 * ("Parallel random numbers: as easy as 1, 2, 3", SC 2011); the counter is
 * (index lo, index hi, stream lo, stream hi) and the key is the seed. */
#include "flows/rng.h"

#include <math.h>

static const uint32_t PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;

void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0, k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    rng_philox(seed, stream, index, w);
    return (float)(w[0] >> 8) * (1.0f / 16777216.0f);
}

float rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    rng_philox(seed, stream, index, w);
    /* u1 in (0, 1] so the log is finite; computed in double for the tails. */
    double u1 = ((double)(w[0] >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(w[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void rng_fill_uniform(float *x, long n, float lo, float hi, uint64_t seed, uint64_t stream,
                      uint64_t first) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform(seed, stream, first + (uint64_t)i);
}

void rng_fill_normal(float *x, long n, float mean, float std, uint64_t seed, uint64_t stream,
                     uint64_t first) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) x[i] = mean + std * rng_normal(seed, stream, first + (uint64_t)i);
}

void rng_permutation(long *perm, long n, uint64_t seed, uint64_t stream) {
    for (long i = 0; i < n; i++) perm[i] = i;
    for (long k = n - 1; k > 0; k--) {
        uint32_t w[4];
        rng_philox(seed, stream, (uint64_t)k, w);
        uint64_t r = ((uint64_t)w[0] << 32) | w[1];
        long j = (long)(r % (uint64_t)(k + 1)); /* bias < 2^-32 for any n we meet */
        long t = perm[k];
        perm[k] = perm[j];
        perm[j] = t;
    }
}
