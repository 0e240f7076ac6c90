/* figarrays.h — the arrays a flow on pixels leaves for its figures (Kirichenko et
 * al. Figs. 2 and 3), computed once when its training ends and stored with the run
 * (store.h, table arrays), so that `lde plot`, which reads only the database, can
 * draw them. For two images — val's first (in-distribution) and the first of the
 * `digits` OOD set (else of the first OOD set) — named SET = "val" or the set:
 *   image/SET                  the image, 8-bit values / 255
 *   coupling/SET/LL/input|s|t  coupling LL's (two digits, from 00) input, scale s
 *                              and shift t (flow_coupling_trace), at its own shape
 *   latent/SET/z               z = f(y), y the flow's input at the bins' midpoints
 *   latent/SET/zmean           z averaged over FIGARRAYS_DRAWS dequantizations, the
 *                              noise of draw k keyed by (seed, FIGARRAYS_STEP + k)
 *                              (flows/pixels.h), beyond any training step's
 * z is shown at the image's shape: without squeeze z's values are the pixels'. */
#ifndef LDE_FIGARRAYS_H
#define LDE_FIGARRAYS_H

#include "flows/flow.h"
#include "run/featureset.h"
#include "store/store.h"
#include "util/err.h"

#include <stdint.h>

enum { FIGARRAYS_DRAWS = 40 };
#define FIGARRAYS_STEP (1ull << 30)

/* Computes and stores the arrays of run_id (one transaction). fs holds the run's
 * 8-bit images (fs->pixels), alpha the logit transform's, w a work of >= 1 row.
 * LDE_ERUN on a store failure or when memory runs out. */
int figarrays_record(Store *st, const char *run_id, const Flow *f, FlowWork *w,
                     const FeatureSet *fs, float alpha, uint64_t seed, Err *e);

#endif
