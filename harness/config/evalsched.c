/* evalsched.c — evaluation steps of a run (evalsched.h). */
#include "config/evalsched.h"

#include <math.h>
#include <stdlib.h>

/* Appends step k when it is above the last one kept (the candidates come in
 * ascending order, so this both sorts and removes duplicates). */
static void keep(long *steps, int *n, long k) {
    if (k > steps[*n - 1]) steps[(*n)++] = k;
}

int evalsched_steps(const RunSpec *s, long per_epoch, long total, long **steps, int *n) {
    const EpochList *at = &s->train.eval_at;
    double every = s->train.eval_every;
    long step_every = every > 0 ? llround(every * (double)per_epoch) : 0;
    if (every > 0 && step_every < 1) step_every = 1;
    /* Upper bound on the count: 0, the end, and each candidate. */
    long cap = 2;
    if (at->n > 0)
        cap += at->n;
    else if (every == EVAL_EVERY_LOG)
        cap += 3 * 12; /* 1-2-5 from 0.01 epoch up to the 10000-epoch maximum */
    else
        cap += total / step_every;
    *steps = malloc(sizeof **steps * (size_t)cap);
    if (!*steps) return -1;
    long *st = *steps;
    *n = 1;
    st[0] = 0;
    if (at->n > 0) {
        for (int i = 0; i < at->n; i++) {
            long k = llround(at->v[i] * (double)per_epoch);
            if (k < total) keep(st, n, k);
        }
    } else if (every == EVAL_EVERY_LOG) {
        static const double mant[3] = {1, 2, 5};
        for (double decade = 0.01; decade * (double)per_epoch < (double)total; decade *= 10)
            for (int m = 0; m < 3; m++) {
                long k = llround(mant[m] * decade * (double)per_epoch);
                if (k < total) keep(st, n, k);
            }
    } else {
        for (long k = step_every; k < total; k += step_every) keep(st, n, k);
    }
    keep(st, n, total);
    return 0;
}
