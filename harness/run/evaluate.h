/* evaluate.h — one evaluation point of a run (DESIGN.md, Training and evaluation).
 *
 * For every split (a fixed train subset, val, each OOD set) the per-sample bpd
 * under the flow, its mean and median, and for each OOD set against val: AUROC,
 * FPR95, AUPR-In, AUPR-Out (metrics.h: OOD is the positive class, bpd the score,
 * ties count half). The whole point goes to the store in one transaction. */
#ifndef LDE_EVALUATE_H
#define LDE_EVALUATE_H

#include "flows/flow.h"
#include "flows/metrics.h"
#include "store/store.h"
#include "util/err.h"

/* A split the flow is evaluated on: rows already preprocessed (n, d). */
typedef struct {
    const char *name; /* "train", "val" or an OOD set's name */
    const float *x;
    long n;
    const double *logdet; /* pixels: log|det ∂y/∂x| of each row (flows/pixels.h); else NULL */
} EvalSplit;

/* How the flow's log p becomes bits/dim: latents −log2 p(z)/d − log2 ε
 * (preprocess.h); pixels (pixels = 1) −log2 p(x)/D + 8 with log p(x) = log p(y) +
 * logdet (pixels.h). */
typedef struct {
    int pixels;
    double epsilon; /* latents: the dequantization width */
} BpdUnits;

/* What the last evaluation found, for progress lines and the end-of-grid table.
 * metrics[i] belongs to splits[i]; val is splits[1] and train splits[0]. */
typedef struct {
    double mean_bpd[2 + 16], median_bpd[2 + 16];
    OodMetrics metrics[2 + 16];
} EvalResult;

/* bpd (n) of x (n,d) in units u; logdet (n) the pixels' transform, NULL for
 * latents. A density the flow cannot represent (log p non-finite) scores FLT_MAX,
 * the most OOD value, so the ranks stay defined and the count of such samples shows
 * in the histogram. */
void evaluate_bpd(const Flow *f, FlowWork *w, const float *x, const double *logdet, long n,
                  BpdUnits u, float *bpd);

/* Evaluates splits[0..n) (splits[0] = train subset, [1] = val, then OOD) at `step`
 * and stores them with train_loss (NaN at step 0). LDE_ERUN on a store failure. */
int evaluate_point(Store *st, const char *run_id, long step, double epoch, double train_loss,
                   const Flow *f, FlowWork *w, BpdUnits u, const EvalSplit *splits, int n,
                   EvalResult *res, Err *e);

#endif
