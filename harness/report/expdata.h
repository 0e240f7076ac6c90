/* expdata.h — an experiment's runs and evaluations as the read-only commands see
 * them (`lde status`, `lde plot`, `lde table`, `lde report`): loaded from the store
 * once, then looked up by run, step and split without more queries.
 *
 * Groups: runs whose parameters differ only in seeds are one group (one point of
 * the grid); figures and tables show the mean (± std or min–max) over a group. A
 * seed is `seed` or any parameter named `.seed` (data.backbone.seed moves with the
 * flow's seed when each seed trains its own backbone, configs/baselines.yaml).
 * Missing names (experiment, run, step, axis) are LDE_EINPUT with a message that
 * lists what exists, so a user sees the valid choices in the error itself.
 *
 * Inputs (issue 23): a run that read one of the experiment's files (store.h,
 * experiment_inputs) with other bytes than the file holds now is stale; one
 * recorded before runs had digests, with user files, has unknown inputs. Both are
 * left out unless `all`, and counted; with `all` they stay, and a varying
 * parameter "inputs" (current / stale / unknown) marks them in every view. The
 * files are re-hashed only when their stat changed (util/filedigest.h). */
#ifndef LDE_EXPDATA_H
#define LDE_EXPDATA_H

#include "store/store.h"

#include <stddef.h>
#include <stdio.h>

enum { EXP_MAX_OOD = 32, EXP_SPLIT = 64, EXP_VALUE = 64 };

typedef struct {
    char name[256];
    StoreRun *runs; /* plan order */
    int nruns;
    StoreEval **ev; /* ev[r]: run r's evals rows, by step then split */
    int *nev;
    char **varying; /* parameter paths that differ between runs, sorted (may hold "seed") */
    int nvarying;
    char (*values)[EXP_VALUE]; /* nruns × nvarying: run r's value of varying[p], "-" if none */
    char ood[EXP_MAX_OOD][EXP_SPLIT]; /* OOD splits (evals rows with an AUROC), first seen */
    int nood;
    int *group; /* run r's group: 0, 1, ... in order of first appearance */
    int ngroups;
    int *inputs;            /* run r's EXP_INPUTS_* */
    int n_stale, n_unknown; /* runs of each kind, left out unless loaded with all */
    int all;
} ExpData;

enum { EXP_INPUTS_CURRENT, EXP_INPUTS_STALE, EXP_INPUTS_UNKNOWN };

/* Loads experiment `name` from s (all = 1: stale runs and runs with unknown
 * inputs too). An unknown experiment is LDE_EINPUT:
 * "DB: no experiment 'x' (experiments: a, b)"; db names the file in messages. */
int expdata_load(Store *s, const char *db, const char *name, int all, ExpData *x, Err *e);
void expdata_free(ExpData *x);

/* Opens db read-only and loads experiment `name` from it: on success *s is open
 * (store_close it after expdata_free), on failure nothing is left open. */
int expdata_open(const char *db, const char *name, int all, Store **s, ExpData *x, Err *e);

/* Prints "EXPERIMENT: N runs left out as stale (inputs changed), M with inputs
 * unknown; --all shows them" (or "shown, marked" with all) on f; nothing when
 * there are none. */
void expdata_note_inputs(const ExpData *x, FILE *f);

/* The value of varying parameter p in run r. */
const char *expdata_value(const ExpData *x, int r, int p);

/* 1 for "seed" and any path ending in ".seed": parameters seeds average over. */
int expdata_is_seed(const char *path);

/* Resolves a user's --axis/--rows KEY to a varying parameter index: an exact path or
 * a unique last component ("pca" for "preprocess.pca"). Seeds are refused unless
 * allow_seed. LDE_EINPUT listing the varying parameters otherwise. */
int expdata_axis(const ExpData *x, const char *key, int allow_seed, int *p, Err *e);

/* Finds a run by full id or unique prefix (status shows 8 characters); LDE_EINPUT
 * listing the experiment's runs otherwise. */
int expdata_find_run(const ExpData *x, const char *id, int *r, Err *e);

/* Run r's distinct steps, ascending, into a malloc'd array (*n may be 0). */
int expdata_steps(const ExpData *x, int r, long **steps, int *n, Err *e);

/* The evals row of (run r, step, split), or NULL. */
const StoreEval *expdata_eval(const ExpData *x, int r, long step, const char *split);

/* Resolves one step spec for run r: "first", "last", "best" (the step with the
 * highest mean AUROC over the OOD sets; the last step on ties) or a step number.
 * LDE_EINPUT listing the run's steps when it has no such step (or none at all). */
int expdata_resolve_step(const ExpData *x, int r, const char *spec, long *step, Err *e);

/* The step each run contributes to a table or sweep, by spec (as for
 * expdata_resolve_step): steps[r] for every run whose status is done, -1 for the
 * others (pending, running, failed and diverged runs are left out: their last
 * evaluation is not a result), and for a numeric spec -1 for a done run without that
 * step. LDE_EINPUT when no run contributes, listing the steps or statuses there are.
 * steps holds nruns entries. */
int expdata_pick_steps(const ExpData *x, const char *spec, long *steps, Err *e);

/* The metrics a table or sweep can show. */
typedef enum { MET_AUROC, MET_FPR95, MET_AUPR_IN, MET_AUPR_OUT, MET_MEAN_BPD } Metric;

/* "auroc" ... "mean_bpd" -> *m; LDE_EINPUT listing the choices. */
int metric_parse(const char *name, Metric *m, Err *e);
const char *metric_name(Metric m);
/* The axis label with its unit: "AUROC (%)", "mean bpd (bits/dim)". */
const char *metric_label(Metric m);
/* +1 when higher is better, -1 when lower is, 0 when neither (mean bpd). */
int metric_direction(Metric m);
/* The value of m in an evals row, in display units (percent for the detection
 * metrics, bits/dim for mean bpd); NaN when absent. */
double metric_value(const StoreEval *ev, Metric m);

/* 'f' for the built-in far-OOD sets (digits, gaussian, uniform), 'n' for near-OOD
 * (vflip, heldout), 0 for sets lde does not know. */
int ood_tag(const char *split);

/* Mean and sample standard deviation (n − 1; 0 when n = 1) of the finite v[i]; *k
 * receives how many were finite. NaN mean when none is. */
void mean_std(const double *v, int n, double *mean, double *sd, int *k);

/* 3.2s, 4m05s, 2h03m; "-" when s is NaN. */
void format_wall(double s, char *buf, size_t n);

/* A short header for varying[i]: its last component ("preprocess.pca" -> "pca")
 * unless another varying path ends the same way, then the whole path. */
const char *param_header(char **paths, int n, int i);

#endif
