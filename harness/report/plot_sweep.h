/* plot_sweep.h — `lde plot --kind sweep`: a metric against each (or --axis) grid axis, mean ± std
 * over seeds (see plot_sweep.c for what the figure shows and which paper figure it mirrors). */
#ifndef LDE_PLOT_SWEEP_H
#define LDE_PLOT_SWEEP_H

#include "report/plot.h"

/* Writes the figures into dir and appends them to out. Nothing to show (no
 * evaluation yet, no grid axis) is LDE_EINPUT saying what exists. */
int plot_sweep(const ExpData *x, const PlotArgs *a, const char *dir, FigList *out, Err *e);

#endif
