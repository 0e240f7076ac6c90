/* plot_hist.h — `lde plot --kind hist`: histograms of per-sample bpd of each run (or --run) at the
 * requested steps (see plot_hist.c for what the figure shows and which paper figure it mirrors). */
#ifndef LDE_PLOT_HIST_H
#define LDE_PLOT_HIST_H

#include "report/plot.h"

/* Writes the figures into dir and appends them to out. Nothing to show (no
 * evaluation yet, no grid axis) is LDE_EINPUT saying what exists. */
int plot_hist(Store *s, const ExpData *x, const PlotArgs *a, const char *dir, FigList *out, Err *e);

/* Kirichenko et al. Fig. 5: when the experiment has both, its first flow on raw
 * pixels and its first on embeddings (latents) side by side, each at its last
 * evaluation (hist_pixels_vs_latent). Nothing when it has only one kind. plot_hist
 * draws it after the per-run figures when a->run is NULL. */
int plot_hist_pixels_vs_latent(Store *s, const ExpData *x, const PlotArgs *a, const char *dir,
                               FigList *out, Err *e);

#endif
