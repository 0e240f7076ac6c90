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
    int log_sched = at->n == 0 && s->train.eval_every == EVAL_EVERY_LOG;
    long step_every = llround(s->train.eval_every * (double)per_epoch);
    if (step_every < 1) step_every = 1; /* also for `log`, where it is not used */
    /* At most: 0, the end, and each candidate (3 per decade from 0.01 epoch up to
     * the 10000-epoch maximum for `log`). */
    long cap = 2 + (at->n > 0 ? at->n : log_sched ? 3L * 7L : total / step_every);
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
    } else if (log_sched) {
        static const double mant[3] = {1, 2, 5};
        for (int exp10 = -2; exp10 <= 4; exp10++)
            for (int m = 0; m < 3; m++) {
                long k = llround(mant[m] * pow(10, exp10) * (double)per_epoch);
                if (k < total) keep(st, n, k);
            }
    } else {
        for (long k = step_every; k < total; k += step_every) keep(st, n, k);
    }
    keep(st, n, total);
    return 0;
}
