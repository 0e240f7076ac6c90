/* zero_net.c — see zero_net.h. The scans read a layer per evaluation chunk while a
 * flow is new, so they are vectorised; max and OR are exact in any order. */
#include "flows/zero_net.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { SCAN_BLOCK = 4096 }; /* all_zero stops at the first block with a set bit */

int zero_net_all_zero(const float *v, long n) {
    for (long i0 = 0; i0 < n; i0 += SCAN_BLOCK) {
        long end = n - i0 < SCAN_BLOCK ? n : i0 + SCAN_BLOCK;
        uint32_t any = 0;
#pragma omp simd reduction(| : any)
        for (long i = i0; i < end; i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], sizeof bits);
            any |= bits;
        }
        if (any) return 0;
    }
    return 1;
}

double zero_net_abs_max(const float *v, long n) {
    float m = 0.0f;
    int bad = 0;
#pragma omp simd reduction(max : m) reduction(| : bad)
    for (long i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        bad |= !(a <= FLT_MAX); /* inf, or NaN (every comparison false) */
        m = a > m ? a : m;
    }
    return bad ? INFINITY : (double)m;
}

double zero_net_layer_bound(double in, const float *W, long nw, const float *b, long nb,
                            long fan_in) {
    return (double)fan_in * zero_net_abs_max(W, nw) * in + zero_net_abs_max(b, nb);
}
