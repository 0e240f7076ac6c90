/* evalsched.h — the training steps at which a run evaluates (DESIGN.md, Training
 * and evaluation): step 0 (the flow as initialised) and the last step always, and
 * between them either every train.eval_every epochs, the epochs listed in
 * train.eval_at, or — train.eval_every: log — the 1-2-5 sequence 0.01, 0.02, 0.05,
 * 0.1, 0.2, 0.5, 1, 2, 5, 10, ... epochs below train.epochs. The log schedule puts
 * the points where the LDE paper's under-training figure (Fig. 5) changes fastest,
 * the first epoch, and few on the flat tail: 12 evaluations over 20 epochs instead
 * of 201 at every 0.1.
 *
 * An epoch becomes the nearest whole step (per_epoch steps to an epoch); epochs
 * that round to the same step are one evaluation, and those that round to step 0
 * are step 0's. */
#ifndef LDE_EVALSCHED_H
#define LDE_EVALSCHED_H

#include "config/params.h"

/* Fills *steps (malloc'd, ascending, distinct, steps[0] = 0, steps[*n-1] = total)
 * for run s with per_epoch >= 1 steps per epoch and total >= 1 steps. Returns 0,
 * or -1 when out of memory. */
int evalsched_steps(const RunSpec *s, long per_epoch, long total, long **steps, int *n);

#endif
