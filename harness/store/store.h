/* store.h — the SQLite database of experiments, runs and evaluations
 * (DESIGN.md, Store; default results/lde.db).
 *
 * Tables (schema version STORE_SCHEMA_VERSION in PRAGMA user_version):
 *   experiments(name, config_yaml, created_at)
 *   runs(id, params_json, seed, status, started_at, finished_at, wall_s,
 *        lde_version, git_rev, host, threads, blas, compiler, error, attempts)
 *   experiment_runs(experiment, run_id, position)   a run shared by two experiments
 *                                                    is one row in runs
 *   evals(run_id, step, epoch, split, mean_bpd, median_bpd, auroc, fpr95, aupr_in,
 *         aupr_out, train_loss)                       metrics NULL for train and val
 *   scores(run_id, step, split, n, bpd)               bpd: n float32, little-endian
 *   baselines(features, method, ood, auroc, fpr95, aupr_in, aupr_out, n_id, n_ood,
 *             id_scores, ood_scores, created_at)     keyed by the feature cache key:
 *                                                    baselines depend on the
 *                                                    features only, not on the grid
 *   experiment_features(experiment, features)        (version 2) the feature keys an
 *                                                    experiment read: its baselines
 *   arrays(run_id, name, h, w, c, data)              (version 3) float32 images a run
 *                                                    leaves for its figures (data:
 *                                                    h·w·c, HWC order, little-endian)
 *   inputs(run_id, role, path, digest, bytes, mtime_ns)   (version 4, issue 23) the
 *                                                    files a run is keyed by: role
 *                                                    ("train", "ood.svhn"), XXH3-128
 *                                                    digest; path, bytes and mtime are
 *                                                    provenance, one row per place
 *                                                    the same bytes were seen
 *   experiment_inputs(experiment, role, path, digest) (version 4) the files the
 *                                                    experiment's config named at its
 *                                                    latest lde run, with the digests
 *                                                    they had then
 *   runs.claim_worker, claim_host, claim_pid, claimed_at, heartbeat_at
 *                                                    (version 5, issue 20) who holds a
 *                                                    running run ("host:pid:start",
 *                                                    util/procid.h) and when it last
 *                                                    said it is alive (Unix seconds)
 *
 * Stale runs: when a config's file changes, its runs get new ids; the runs of the
 * old bytes stay members of the experiment (after the current ones), so the
 * read-only commands can count them and show them with --all. A run recorded
 * before version 4 with user files has no inputs rows: `inputs unknown`, kept the
 * same way, never matched to the new ids.
 *
 * Crash safety: WAL journal, synchronous=FULL, and every change that belongs
 * together is one transaction — an evaluation point (all its evals and scores
 * rows), a run's start, its end, an experiment with its runs. A process killed at
 * any instant leaves a consistent database in which every evaluation point is
 * complete or absent. A run left `running` by a killed process is re-run:
 * store_begin_run deletes the rows of the earlier attempt first.
 *
 * Concurrency: a Store is one connection, for one thread of control. Parallel jobs
 * open one Store each; busy_timeout makes a writer wait for another's transaction.
 * Many processes share a database through claims (store_claim_run): a run is
 * computed by the one worker that holds it, and a worker whose claim was taken
 * over writes nothing more of that run (STORE_ELOST).
 *
 * Damage: store_open checks an existing file (PRAGMA quick_check) before it
 * writes anything to it; a file that is not an SQLite database, or a damaged one,
 * is LDE_EINPUT and left as it is, and so is a read-only one. A full disk is
 * LDE_ERUN "PATH: no space left on the device (what)"; the transaction of that
 * moment rolls back.
 * Every statement is prepared with named parameters; no SQL is built from data.
 * Errors: LDE_EINPUT for a database that is missing (read-only open) or from a
 * newer lde; LDE_ERUN for an SQLite failure, naming the database path. */
#ifndef LDE_STORE_H
#define LDE_STORE_H

#include "flows/metrics.h"
#include "store/provenance.h"
#include "util/err.h"

enum { STORE_SCHEMA_VERSION = 5, STORE_BUSY_TIMEOUT_MS = 30000 };

typedef struct Store Store;

typedef enum {
    RUN_NONE = -1, /* not in the database */
    RUN_PENDING,
    RUN_RUNNING,
    RUN_DONE,
    RUN_FAILED,
    RUN_DIVERGED,
} RunStatus;

/* "pending", "running", ... ("none" for RUN_NONE). */
const char *store_status_name(RunStatus st);

/* Opens the database at path for reading and writing, creating the file (not its
 * directory) and the schema when new. A database from a newer lde is LDE_EINPUT. */
int store_open(const char *path, Store **s, Err *e);
/* Opens an existing database for queries. A missing file is LDE_EINPUT: "PATH: no
 * database here (lde run creates it)". */
int store_open_readonly(const char *path, Store **s, Err *e);
void store_close(Store *s);

/* ---- writing (store.c) ---- */

/* One input file of a run (an inputs row). */
typedef struct {
    const char *role, *path;
    const char *digest; /* 32 hex digits */
    long long bytes, mtime_ns;
} StoreInput;

typedef struct StoreRunSpec {
    const char *id;          /* the run id (plan.c: hash of the canonical parameters) */
    const char *params_json; /* the full resolved parameters, canonical JSON */
    long seed;
    const StoreInput *inputs; /* its files (none for the built-in data) */
    int ninputs;
} StoreRunSpec;

/* Records experiment `name` with its config text and exactly these runs, in this
 * order, in one transaction, with their inputs rows and the experiment's files
 * (experiment_inputs). Idempotent: adding the same experiment again updates its
 * config and membership; runs already present keep their status and results,
 * so a run reached from two experiments is one run in both. A former member not
 * in `runs` stays a member (after them) when it read one of the experiment's
 * files with other bytes than the file has now (stale), or has user files but no
 * inputs rows (inputs unknown); any other former member leaves. */
int store_add_experiment(Store *s, const char *name, const char *config_yaml,
                         const StoreRunSpec *runs, int nruns, Err *e);

/* The status of run id (RUN_NONE when the database does not know it). */
int store_run_status(Store *s, const char *id, RunStatus *st, Err *e);

/* Starts an attempt at run id: deletes every evals/scores row of earlier attempts
 * (an interrupted one leaves complete evaluation points of a run that will be
 * recomputed), sets status running, started_at = prov->time, the provenance and
 * attempts + 1. The run must exist (LDE_ERUN otherwise). */
int store_begin_run(Store *s, const char *id, const Provenance *prov, Err *e);

/* One split of an evaluation point. */
typedef struct {
    const char *split; /* "train", "val" or an OOD set's name */
    double mean_bpd, median_bpd;
    const OodMetrics *metrics; /* OOD splits: this split against val; NULL otherwise */
    const float *bpd;          /* n per-sample bpd (stored as a scores BLOB), or NULL */
    long n;
} StoreSplit;

/* Writes evaluation point `step` (at `epoch`) of run id: one evals row per split
 * (train_loss, NaN when there is none yet, goes to every row) and one scores row per
 * split with bpd, all in ONE transaction. NaN values are stored as NULL. */
int store_add_eval(Store *s, const char *id, long step, double epoch, double train_loss,
                   const StoreSplit *splits, int nsplits, Err *e);

/* An image-shaped array of a run for its figures (h·w·c floats, HWC order). */
typedef struct {
    const char *name; /* e.g. "coupling/id/03/s": what, for which image, which layer */
    int h, w, c;
    const float *data;
} StoreArray;

/* Inserts (or replaces) run id's arrays in one transaction. store_begin_run
 * removes those of an earlier attempt with its evaluations. */
int store_put_arrays(Store *s, const char *id, const StoreArray *a, int n, Err *e);

/* Ends the attempt: status (done / failed / diverged), error text (NULL for none;
 * for diverged the step and the value that crossed the bound), wall seconds,
 * finished_at = now. */
int store_finish_run(Store *s, const char *id, RunStatus st, const char *error, double wall_s,
                     Err *e);

/* A baseline detector's result for one OOD set (ID = the val split). */
typedef struct {
    const char *features; /* feature cache key */
    const char *method;   /* e.g. "msp", "energy", "mahalanobis" */
    const char *ood;
    OodMetrics metrics;
    const float *id_scores, *ood_scores; /* optional (NULL): the per-sample scores */
    long n_id, n_ood;
} StoreBaseline;

/* Inserts or replaces the baselines (one transaction). */
int store_put_baselines(Store *s, const StoreBaseline *b, int n, Err *e);

/* Records that experiment reads the feature set `features` (its cache key);
 * idempotent. lde run and lde baselines write it, lde table --baselines reads it. */
int store_link_features(Store *s, const char *experiment, const char *features, Err *e);

/* ---- claims: many workers on one database (store_claim.c) ---- */

/* Returned by the writes of a run (store_add_eval, store_put_arrays,
 * store_finish_run) on a Store with a claimant whose claim on that run another
 * worker took over: the run's results are that worker's now. Not an exit code:
 * the runner drops the run and goes on. */
enum { STORE_ELOST = 3 }; /* = store_sql.h's STORE_ELOST_CODE */

/* From now on s writes runs as the claimant `worker` (procid_self's token; NULL:
 * none, the single-process behaviour of store_begin_run). */
void store_set_claimant(Store *s, const char *worker);

typedef struct {
    RunStatus status;
    char worker[320]; /* the claimant's token, "" when none */
    char host[256];
    long pid;
    double age_s; /* seconds since its latest heartbeat, NaN when none */
    int stale;    /* running, and its claimant gone: age > grace, or its process ended */
} StoreHolder;

/* Who holds run id (status RUN_NONE when the database does not know it). A
 * database before version 5 has no claimants: every running run is stale. */
int store_run_holder(Store *s, const char *id, double grace_s, StoreHolder *h, Err *e);

/* How many attempts run id has had (store_claim_run's seen_attempts). */
int store_run_attempts(Store *s, const char *id, int *attempts, Err *e);

typedef enum {
    CLAIM_TAKEN,      /* pending, or failed or diverged before the caller chose it: ours */
    CLAIM_TAKEN_OVER, /* running with a stale claimant: ours, its rows removed */
    CLAIM_HELD,       /* running with a live claimant: skip it */
    CLAIM_FINISHED,   /* done, or finished by another worker since seen_attempts */
} ClaimResult;

typedef struct {
    ClaimResult result;
    StoreHolder holder; /* the run as found, before the claim */
} StoreClaim;

/* Claims run id for s's claimant in one transaction: when the run is not done,
 * no live claimant holds it, and it is not a failed or diverged run that another
 * worker finished since the caller chose it (seen_attempts: the attempts it saw
 * then, or -1 when it saw the run running: then any failed or diverged run was
 * finished since), does store_begin_run's work and records the claim with a
 * fresh heartbeat. A claim is stale when its heartbeat is older than grace_s, or
 * its claimant's process on this host has ended. */
int store_claim_run(Store *s, const char *id, int seen_attempts, double grace_s,
                    const Provenance *p, StoreClaim *out, Err *e);

/* Renews the heartbeat of every running run s's claimant holds. */
int store_heartbeat(Store *s, Err *e);

/* ---- queries (store_query.c) ---- */

typedef struct {
    char *id, *params_json, *error; /* error NULL when none */
    long seed;
    RunStatus status;
    double wall_s; /* NaN until finished */
    char started_at[32], finished_at[32];
    char lde_version[32]; /* of its latest attempt ("" when none) */
} StoreRun;

/* The runs of an experiment in plan order; *n = 0 (and no error) for an unknown
 * experiment. Free with store_runs_free. */
int store_experiment_runs(Store *s, const char *experiment, StoreRun **runs, int *n, Err *e);
void store_runs_free(StoreRun *runs, int n);

/* Experiment names, oldest first. Free with store_strings_free. */
int store_experiments(Store *s, char ***names, int *n, Err *e);
void store_strings_free(char **strings, int n);

/* The parameter paths ("preprocess.pca", "seed", "data.ood[0]") that take two or
 * more values across the runs of the experiment, sorted. A path missing from some
 * runs and the same wherever present does not count: a parameter is missing only
 * where it does not apply (backbone.* on pixel runs, flow.mask on latent ones), which
 * the parameter that sets the scope (data.features) already shows. */
int store_varying_params(Store *s, const char *experiment, char ***paths, int *n, Err *e);

/* The value of parameter `path` in run id as text ("64", "true", "glow"), or "-"
 * when the run has no such parameter. */
int store_run_param(Store *s, const char *id, const char *path, char *buf, int size, Err *e);

typedef struct {
    long step;
    double epoch;
    char split[64];
    double mean_bpd, median_bpd, auroc, fpr95, aupr_in, aupr_out, train_loss; /* NaN = NULL */
} StoreEval;

/* Every evals row of run id, by step then split. Free with free(). */
int store_run_evals(Store *s, const char *id, StoreEval **evals, int *n, Err *e);

/* The per-sample bpd of (run, step, split) into a malloc'd array; *n = 0 and *bpd =
 * NULL when there is none. */
int store_scores(Store *s, const char *id, long step, const char *split, float **bpd, long *n,
                 Err *e);

typedef struct {
    char method[64], ood[64];
    OodMetrics metrics;
    float *id_scores, *ood_scores; /* NULL when not stored */
    long n_id, n_ood;
} StoreBaselineRow;

/* The baselines stored for a feature cache key, by method then ood. Free with
 * store_baselines_free. */
int store_get_baselines(Store *s, const char *features, StoreBaselineRow **rows, int *n, Err *e);
void store_baselines_free(StoreBaselineRow *rows, int n);

typedef struct {
    char name[128];
    int h, w, c;
    float *data; /* h·w·c, malloc'd */
} StoreArrayRow;

/* The arrays of run id whose name starts with prefix, by name; *n = 0 when none.
 * Free with store_arrays_free. */
int store_get_arrays(Store *s, const char *id, const char *prefix, StoreArrayRow **rows, int *n,
                     Err *e);
void store_arrays_free(StoreArrayRow *rows, int n);

/* The config text and creation time of experiment `name` (malloc'd text in *yaml;
 * NULL and "" when the experiment is unknown). */
int store_experiment_config(Store *s, const char *name, char **yaml, char created_at[32], Err *e);

/* The provenance recorded by run id's latest attempt (store_begin_run); fields the
 * run never recorded (a pending run) are "" and threads 0. p->time = started_at. */
int store_run_provenance(Store *s, const char *id, Provenance *p, Err *e);

/* The distinct feature cache keys of the baselines table, sorted. Free with
 * store_strings_free. */
int store_baseline_features(Store *s, char ***keys, int *n, Err *e);
/* ---- inputs (store_inputs.c) ---- */

typedef struct {
    char *role, *path;
    char digest[33];
    long long bytes, mtime_ns;
} StoreInputRow;

/* Run id's inputs rows, by role then path; *n = 0 when it has none (built-in
 * data, or recorded before schema version 4). Free with store_inputs_free. */
int store_run_inputs(Store *s, const char *id, StoreInputRow **rows, int *n, Err *e);
/* The files experiment's config named at its latest lde run (bytes and mtime_ns
 * 0), by path. */
int store_experiment_inputs(Store *s, const char *experiment, StoreInputRow **rows, int *n, Err *e);
void store_inputs_free(StoreInputRow *rows, int n);

/* ---- merging shard databases (store_merge.c) ---- */

typedef struct {
    int copied;       /* runs whose results came from the source */
    int kept;         /* finished in the source, already done (same results) or as far
                         along in the target: left as they are */
    int running;      /* running in the source (a task at work, or killed): not copied */
    int n_conflicts;  /* done in both with different results: the target's kept */
    char **conflicts; /* their run ids; free with store_strings_free(conflicts, n_conflicts) */
} StoreMergeReport;

/* Copies the results of the lde database at src_path (a shard: lde run --shard)
 * into s, in ONE transaction, so a merge killed midway leaves s as it was:
 *  - experiments and experiment_runs rows s does not have (s's are kept);
 *  - each run finished in the source (done, diverged, failed) with its evals and
 *    scores rows, when s does not have it or has it less far along (none, pending,
 *    running < failed < diverged < done); a run done in both is compared row by row
 *    (every evals column, every scores blob, bit for bit) and kept when equal,
 *    reported in r->conflicts and left untouched when not;
 *  - runs pending or running in the source only as pending rows s lacks;
 *  - baselines rows s does not have;
 *  - inputs rows s does not have (the paths a shard saw its files at: shards of
 *    nodes that mount the data elsewhere have the same ids, issue 23), and an
 *    experiment's files (experiment_inputs) when s has none for it.
 * So merging a source twice changes nothing. A missing source or one from a newer
 * lde is LDE_EINPUT; conflicts are not an error (the caller decides). */
int store_merge(Store *s, const char *src_path, StoreMergeReport *r, Err *e);
/* The feature keys experiment reads (store_link_features), sorted; *n = 0 for an
 * unknown experiment. With store_get_baselines on each key they give the
 * experiment's baselines. Free with store_strings_free. */
int store_experiment_features(Store *s, const char *experiment, char ***keys, int *n, Err *e);

#endif
