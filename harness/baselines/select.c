/* select.c — the k-th smallest value (ReAct's percentile, KNN's k-th neighbour). */
#include "baselines/baselines.h"

static void swap(float *v, long i, long j) {
    float t = v[i];
    v[i] = v[j], v[j] = t;
}

float select_kth(float *v, long n, long k) {
    long lo = 0, hi = n - 1;
    while (hi > lo) {
        /* Median of three as pivot, moved to v[hi]; then Lomuto's partition
         * (strictly smaller to the left). The value returned is an order statistic,
         * whatever the pivots: only the running time depends on them. */
        long mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap(v, mid, lo);
        if (v[hi] < v[lo]) swap(v, hi, lo);
        if (v[mid] < v[hi]) swap(v, mid, hi);
        float p = v[hi];
        long s = lo;
        for (long i = lo; i < hi; i++)
            if (v[i] < p) swap(v, i, s++);
        swap(v, s, hi);
        /* v[lo..s) < p = v[s] <= v(s..hi]. Elements equal to p may sit right of s:
         * gather them next to s so a run of equal values ends the search at once. */
        long e = s + 1;
        for (long i = s + 1; i <= hi; i++)
            if (v[i] == p) swap(v, i, e++);
        if (k < s)
            hi = s - 1;
        else if (k < e)
            return p;
        else
            lo = e;
    }
    return v[k];
}
