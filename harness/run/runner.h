/* runner.h — trains and evaluates one grid point (DESIGN.md, Training and
 * evaluation) and records it in the store.
 *
 * One run: fit the preprocessing on the training latents, build the flow, take
 * round(epochs · steps_per_epoch) Adam steps on dequantized minibatches (the batch
 * order is a permutation per epoch keyed by (seed, epoch)), and evaluate at step 0,
 * every eval_every epochs and at the end. A non-finite loss or a training bpd above
 * diverge_bpd ends the run as `diverged` at that step; any other failure ends it as
 * `failed` with its reason. Either way the grid goes on: only a store failure is an
 * error of the runner itself. The trained flow, with the fitted preprocessing as a
 * section, is saved to MODELS/<run id>.flow. */
#ifndef LDE_RUNNER_H
#define LDE_RUNNER_H

#include "config/plan.h"
#include "run/evaluate.h"
#include "run/featureset.h"
#include "store/store.h"

typedef struct {
    const char *models_dir; /* where <id>.flow goes */
    int index, count;       /* "run index/count" in progress lines */
    int quiet;              /* no progress lines (parallel jobs print one line per run) */
    /* Many workers (issue 20): with claim set, the run is claimed through the
     * store's claimant (store_claim_run) instead of begun, and skipped when a live
     * worker holds it or another finished it since attempts were seen_attempts. */
    int claim, seen_attempts;
    double grace_s;
} RunnerOptions;

typedef struct {
    RunStatus status; /* done, failed or diverged */
    char error[512];  /* why, when not done */
    double wall_s;
    EvalResult last;  /* the last evaluation point (mean bpd, AUROC per OOD set) */
    int evaluated;    /* 1 when `last` holds a point */
    StoreClaim claim; /* with o->claim: what the claim found (HELD, FINISHED: not run) */
    int lost;         /* another worker took the run over midway: nothing more written */
} RunOutcome;

/* Runs r on fs and records it in st. LDE_OK whatever the run's outcome (see out);
 * LDE_ERUN only when the store fails (a full disk included: the run stays
 * running, for the next worker to take over). */
int runner_run(const PlanRun *r, const FeatureSet *fs, Store *st, const RunnerOptions *o,
               RunOutcome *out, Err *e);

#endif
