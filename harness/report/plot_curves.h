/* plot_curves.h — `lde plot --kind curves`: AUROC and mean bpd against epoch, one figure per grid
 * point (see plot_curves.c for what the figure shows and which paper figure it mirrors). */
#ifndef LDE_PLOT_CURVES_H
#define LDE_PLOT_CURVES_H

#include "report/plot.h"

/* Writes the figures into dir and appends them to out. Nothing to show (no
 * evaluation yet, no grid axis) is LDE_EINPUT saying what exists. */
int plot_curves(const ExpData *x, const PlotArgs *a, const char *dir, FigList *out, Err *e);

#endif
