/* plot_images.h — `lde plot --kind coupling|latent`: what a flow on pixels does to
 * an in-distribution and an out-of-distribution image, drawn from the arrays the
 * run stored when it ended (store.h, arrays; run/figarrays.h):
 *   coupling  Kirichenko et al. Fig. 3: for each coupling layer (a row), the
 *             layer's input, its scale s and its shift −t on the transformed
 *             positions, for the ID image (val's first) and the OOD image (the
 *             first `digits` image, else the first OOD set's)
 *   latent    Kirichenko et al. Fig. 2: each image, its latent z = f(x) at the
 *             bins' midpoints, and z averaged over 40 dequantization samples
 * Each panel is a grey-scale image of the array's first channel, scaled to its own
 * range (the range is in the panel's title). */
#ifndef LDE_PLOT_IMAGES_H
#define LDE_PLOT_IMAGES_H

#include "report/plot.h"

/* Writes the figure of `kind` ("coupling" or "latent") for run a->run, or for every
 * run that stored the arrays when a->run is NULL. none_ok = 1: no such run is not
 * an error (lde plot --kind all on an experiment of latent flows); otherwise it is
 * LDE_EINPUT naming the kind and what has them. */
int plot_images(Store *s, const ExpData *x, const char *kind, const PlotArgs *a, const char *dir,
                FigList *out, int none_ok, Err *e);

#endif
