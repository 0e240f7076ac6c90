/* run.c — `lde run CONFIG`: every planned point not yet done, in plan order, then a
 * summary and the AUROC table (issue 5; DESIGN.md, Training and evaluation).
 *
 * Resuming is the store's job: a done run is skipped, a run left `running` by a
 * killed process starts again from scratch (store_begin_run drops its partial
 * rows). Exit 0 when nothing failed, 1 when a run failed (a diverged run is a
 * result, not a failure: it is reported and the exit stays 0), 2 on bad input —
 * found before anything is written. `--shard K/N` computes one task's share of the
 * grid (shard.h) into its own database, for lde merge to combine.
 *
 * Many workers (issue 20): any number of lde run processes may share one
 * database. Each claims a run before computing it (store_claim_run), skips the
 * runs another live worker holds, takes over those of a worker that died (its
 * process gone, or no heartbeat for the grace period), and at the end waits for
 * the runs others hold, so every worker's summary and table cover the whole grid.
 * A heartbeat thread (heartbeat.h) keeps this process's claims alive. */
#include "baselines/baselines.h"
#include "cli/commands.h"
#include "config/config.h"
#include "config/plan.h"
#include "run/featureset.h"
#include "run/heartbeat.h"
#include "run/runinputs.h"
#include "run/runner.h"
#include "run/shard.h"
#include "store/store.h"
#include "util/filedigest.h"
#include "util/paths.h"
#include "util/procid.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { RUN_MAX_ONLY = 256 };

typedef struct {
    const char *config, *db, *models, *features, *runs;
    const char *only[RUN_MAX_ONLY]; /* --only, repeated: id prefixes */
    int nonly;
    int jobs, fail_fast;
    double heartbeat_s, grace_s; /* claims (heartbeat.h) */
    Shard shard;                 /* n = 0: the whole grid */
} RunArgs;

/* --heartbeat S / --grace S: seconds above 0. */
static int parse_seconds(const char *opt, const char *v, double *out, Err *e) {
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0) || !isfinite(x))
        return fail(e, LDE_EINPUT, "%s %s: expected a number of seconds above 0", opt, v);
    *out = x;
    return LDE_OK;
}

/* The options that take a value but are not a slot: repeated --only and the
 * claim timings. 1 when argv[i] was one of them (i moves past its value). */
static int parse_more(int argc, char **argv, int *i, RunArgs *a, int *rc, Err *e) {
    int only = strcmp(argv[*i], "--only") == 0, hb = strcmp(argv[*i], "--heartbeat") == 0,
        grace = strcmp(argv[*i], "--grace") == 0;
    if (!only && !hb && !grace) return 0;
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!v)
        *rc = fail(e, LDE_EINPUT, "%s needs a value (lde run --help)", argv[*i]);
    else if (only && a->nonly == RUN_MAX_ONLY)
        *rc = fail(e, LDE_EINPUT, "--only: at most %d of them", RUN_MAX_ONLY);
    else if (only)
        a->only[a->nonly++] = v;
    else
        *rc = parse_seconds(argv[*i], v, hb ? &a->heartbeat_s : &a->grace_s, e);
    (*i)++;
    return 1;
}

static int parse_args(int argc, char **argv, RunArgs *a, Err *e) {
    *a = (RunArgs){.models = "results/models",
                   .features = "results/features",
                   .jobs = 1,
                   .heartbeat_s = HEARTBEAT_INTERVAL_S,
                   .grace_s = HEARTBEAT_GRACE_S};
    int rc = heartbeat_env_seconds(HEARTBEAT_INTERVAL_ENV, &a->heartbeat_s, e);
    if (rc == LDE_OK) rc = heartbeat_env_seconds(HEARTBEAT_GRACE_ENV, &a->grace_s, e);
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--fail-fast") == 0) {
            a->fail_fast = 1;
            continue;
        }
        if (parse_more(argc, argv, &i, a, &rc, e)) continue;
        const char **slot = strcmp(argv[i], "--db") == 0         ? &a->db
                            : strcmp(argv[i], "--models") == 0   ? &a->models
                            : strcmp(argv[i], "--features") == 0 ? &a->features
                            : strcmp(argv[i], "--runs") == 0     ? &a->runs
                                                                 : NULL;
        int is_jobs = strcmp(argv[i], "--jobs") == 0, is_shard = strcmp(argv[i], "--shard") == 0;
        if (slot || is_jobs || is_shard) {
            if (!v) return fail(e, LDE_EINPUT, "%s needs a value (lde run --help)", argv[i]);
            if (slot) *slot = v;
            if (is_shard && shard_parse(v, &a->shard, e) != LDE_OK) return LDE_EINPUT;
            char *end;
            long j = is_jobs ? strtol(v, &end, 10) : 1;
            if (is_jobs && (*end || j < 1 || j > 256))
                return fail(e, LDE_EINPUT, "--jobs %s: expected a whole number from 1 to 256", v);
            if (is_jobs) a->jobs = (int)j;
            i++;
        } else if (argv[i][0] == '-') {
            return fail(e, LDE_EINPUT, "unknown option %s (lde run --help)", argv[i]);
        } else if (a->config) {
            return fail(e, LDE_EINPUT, "one config at a time (got %s and %s)", a->config, argv[i]);
        } else {
            a->config = argv[i];
        }
    }
    if (rc) return rc;
    if (!a->config) return fail(e, LDE_EINPUT, "no config given (lde run CONFIG.yaml)");
    if (a->grace_s <= a->heartbeat_s)
        return fail(e, LDE_EINPUT,
                    "--grace %g must be longer than --heartbeat %g (a live worker's claims would "
                    "look stale)",
                    a->grace_s, a->heartbeat_s);
    return LDE_OK;
}

/* Whether run id is chosen by --only (any of the prefixes; all when none). */
static int only_matches(const RunArgs *a, const char *id) {
    for (int k = 0; k < a->nonly; k++)
        if (strncmp(id, a->only[k], strlen(a->only[k])) == 0) return 1;
    return a->nonly == 0;
}

/* The plan's runs to do: this shard's (keep), not done, and matching --only (an
 * id prefix); seen[k]: todo[k]'s attempts now, -1 when it is running (the claim
 * then tells a run another worker finished meanwhile from one to re-run). */
static int select_runs(const Plan *p, Store *st, const RunArgs *a, const int *keep, int *todo,
                       int *seen, int *ntodo, int *skipped, Err *e) {
    *ntodo = 0, *skipped = 0;
    for (int i = 0; i < p->n_runs; i++) {
        if (!keep[i] || !only_matches(a, p->runs[i].id)) continue;
        RunStatus rs;
        int attempts = 0, rc = store_run_status(st, p->runs[i].id, &rs, e);
        if (rc == LDE_OK && rs != RUN_NONE)
            rc = store_run_attempts(st, p->runs[i].id, &attempts, e);
        if (rc != LDE_OK) return rc;
        if (rs == RUN_DONE) {
            (*skipped)++;
        } else {
            seen[*ntodo] = rs == RUN_RUNNING ? -1 : attempts;
            todo[(*ntodo)++] = i;
        }
    }
    for (int k = 0; k < a->nonly; k++) {
        int any = 0;
        for (int i = 0; i < p->n_runs && !any; i++)
            any = keep[i] && strncmp(p->runs[i].id, a->only[k], strlen(a->only[k])) == 0;
        if (!any)
            return fail(e, LDE_EINPUT, "%s: no run id starts with '%s' (lde plan %s lists them)",
                        a->config, a->only[k], a->config);
    }
    return LDE_OK;
}

/* The features of every run to do, loaded once per distinct source: fsi[k] is the
 * index into sets of todo[k]'s features. Each set's key is linked to the
 * experiment in the store (lde table finds its baselines by it). */
static int load_features(const Plan *p, const int *todo, int ntodo, const RunArgs *a,
                         const Config *c, Store *st, FeatureSet *sets, int *nsets, int *fsi,
                         Err *e) {
    *nsets = 0;
    for (int k = 0; k < ntodo; k++) {
        const PlanRun *r = &p->runs[todo[k]];
        int j = 0;
        while (j < k && !featureset_same_source(&p->runs[todo[j]], r)) j++;
        if (j < k) {
            fsi[k] = fsi[j];
            continue;
        }
        FeatureSet *fs = &sets[*nsets];
        int rc = featureset_load(&r->spec, a->features, fs, e);
        if (rc == LDE_OK && !fs->pixels) rc = store_link_features(st, c->name, fs->key, e);
        if (rc != LDE_OK) return rc;
        if (fs->n_constant || fs->n_mostly_zero)
            fprintf(stderr,
                    "warning: %s features: %d of %d dimensions are constant and %d are more than "
                    "90%% exact zeros over the training set; flows on such features are unstable "
                    "(preprocess.drop_constant: true removes the constant ones)\n",
                    fs->dir[0] ? fs->dir : r->spec.data.features->train, fs->n_constant, fs->d,
                    fs->n_mostly_zero);
        fsi[k] = (*nsets)++;
    }
    return LDE_OK;
}

typedef struct {
    int done, failed, diverged;
    int elsewhere; /* finished by another worker (after this one chose them) */
    int stop;      /* --fail-fast saw a failure */
    int *held;     /* indices k of todo that a live worker held when claimed */
    int nheld;
} Tally;

/* What the claim found, said when it matters: a run taken over from a worker
 * that died, a run another worker took over from this one. 1 when the run was
 * not computed here (held or finished elsewhere; todo[k] goes to t->held). */
static int claim_outcome(const PlanRun *r, int k, const RunOutcome *out, Tally *t) {
    const StoreHolder *h = &out->claim.holder;
    if (out->claim.result == CLAIM_TAKEN_OVER && h->worker[0])
        fprintf(stderr, "run %.8s: taking it over from %s pid %ld (%s)\n", r->id, h->host, h->pid,
                isnan(h->age_s) ? "no heartbeat" : "its worker is gone or silent");
    if (out->lost)
        fprintf(stderr,
                "run %.8s: another worker took it over (no heartbeat within the grace); "
                "its results are that worker's\n",
                r->id);
    if (out->claim.result == CLAIM_HELD) t->held[t->nheld++] = k;
    if (out->claim.result == CLAIM_FINISHED || out->lost) t->elsewhere++;
    return out->claim.result == CLAIM_HELD || out->claim.result == CLAIM_FINISHED || out->lost;
}

/* Runs todo[k] in its own store connection when jobs run in parallel. */
static int run_one(const Plan *p, int k, const int *todo, const int *seen, int ntodo,
                   const FeatureSet *fs, const RunArgs *a, Store *st, Tally *t, Err *e) {
    const PlanRun *r = &p->runs[todo[k]];
    RunnerOptions o = {.models_dir = a->models,
                       .index = k + 1,
                       .count = ntodo,
                       .quiet = a->jobs > 1,
                       .claim = 1,
                       .seen_attempts = seen[k],
                       .grace_s = a->grace_s};
    RunOutcome out;
    int rc = runner_run(r, fs, st, &o, &out, e);
    if (rc != LDE_OK) return rc;
#pragma omp critical(run_tally)
    if (!claim_outcome(r, k, &out, t)) {
        if (out.status == RUN_DONE) t->done++;
        if (out.status == RUN_DIVERGED) t->diverged++;
        if (out.status == RUN_FAILED) t->failed++, t->stop |= a->fail_fast;
        if (out.status != RUN_DONE)
            fprintf(stderr, "run %.8s %s: %s\n", r->id, store_status_name(out.status), out.error);
        else if (a->jobs > 1)
            fprintf(stderr, "run %.8s done in %.1f s\n", r->id, out.wall_s);
    }
    return LDE_OK;
}

/* `--jobs N`: N runs at once, one thread each (a nested parallel region runs in the
 * thread that meets it, so every GEMM inside a run is single-threaded); each job
 * has its own store connection and busy_timeout orders their transactions. */
static int run_parallel(const Plan *p, const int *todo, const int *seen, int ntodo,
                        const FeatureSet *sets, const int *fsi, const RunArgs *a,
                        const char *worker, Tally *t, Err *e) {
    int rc_all = LDE_OK;
    int next = 0;
#pragma omp parallel num_threads(a->jobs)
    {
        Store *st = NULL;
        Err le = {{0}};
        int rc = store_open(a->db, &st, &le);
        if (rc == LDE_OK) store_set_claimant(st, worker);
        for (;;) {
            int k;
#pragma omp atomic capture
            k = next++;
            if (k >= ntodo || rc != LDE_OK || t->stop) break;
            rc = run_one(p, k, todo, seen, ntodo, &sets[fsi[k]], a, st, t, &le);
        }
        if (st) store_close(st);
#pragma omp critical(run_error)
        if (rc != LDE_OK && rc_all == LDE_OK) rc_all = rc, *e = le;
    }
    return rc_all;
}

/* The last evaluation's AUROC (%) per OOD set for every run of the plan, done or
 * not, read back from the store (so runs skipped as done show too). */
/* A parameter's canonical JSON without the quotes of a string ("glow" -> glow). */
static void print_value(const char *json) {
    size_t n = strlen(json);
    if (n >= 2 && json[0] == '"')
        printf(" %-18.*s", (int)(n - 2), json + 1);
    else
        printf(" %-18s", json);
}

static int print_table(const Plan *p, const int *keep, Store *st, Err *e) {
    printf("\n%-10s", "run");
    for (int v = 0; v < p->n_varying; v++) printf(" %-18s", params[p->varying[v]].path);
    printf(" %-9s AUROC %% (last evaluation)\n", "status");
    for (int i = 0; i < p->n_runs; i++) {
        if (!keep[i]) continue;
        const PlanRun *r = &p->runs[i];
        RunStatus rs;
        StoreEval *ev = NULL;
        int n = 0, rc = store_run_status(st, r->id, &rs, e);
        if (rc == LDE_OK) rc = store_run_evals(st, r->id, &ev, &n, e);
        if (rc != LDE_OK) return rc;
        printf("%-10.8s", r->id);
        for (int v = 0; v < p->n_varying; v++) print_value(r->values[p->varying[v]]);
        printf(" %-9s", store_status_name(rs));
        long last = n ? ev[n - 1].step : -1;
        for (int j = 0; j < n; j++)
            if (ev[j].step == last && !isnan(ev[j].auroc))
                printf(" %s %.2f", ev[j].split, 100.0 * ev[j].auroc);
        printf("\n");
        free(ev);
    }
    return LDE_OK;
}

/* Bad input writes nothing: when the features of a run turn out to be bad (a NaN,
 * a corrupt data set), the database this invocation created goes again, with its
 * WAL files, and so do the directories it created (rmdir leaves non-empty ones). */
static void undo_new_db(const char *db, int db_existed, const char *dir, int dir_existed) {
    if (!db_existed) {
        char side[4200];
        unlink(db);
        snprintf(side, sizeof side, "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db);
        unlink(side);
    }
    if (!dir_existed) rmdir(dir);
}

/* Read-only places are bad input, found before anything is computed: the
 * database, the folder it sits in (SQLite writes its -wal and -shm files there)
 * and the models folder, or the nearest existing folder above one not made yet.
 * access() asks the kernel, so a read-only mount counts for root too. */
static int check_writable(const char *path, const char *what, Err *e) {
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    while (access(p, F_OK) != 0) {
        char up[4096];
        paths_dirname(p, up, sizeof up);
        if (strcmp(up, p) == 0) break;
        snprintf(p, sizeof p, "%s", up);
    }
    if (access(p, F_OK) == 0 && access(p, W_OK) != 0)
        return fail(e, LDE_EINPUT, "%s: read-only (%s); lde run writes there", p, what);
    return LDE_OK;
}

static int check_places(const RunArgs *a, const char *dir, Err *e) {
    int rc = check_writable(dir, "the database's folder", e);
    if (rc == LDE_OK && access(a->db, F_OK) == 0) rc = check_writable(a->db, "the database", e);
    if (rc == LDE_OK) rc = check_writable(a->models, "the models folder", e);
    return rc;
}

/* After its own pass: the runs other live workers held. Every second each is
 * claimed again: run here when its worker died, counted when finished elsewhere,
 * waited for while still held. */
static int wait_for_held(const Plan *p, const int *todo, int *seen, int ntodo,
                         const FeatureSet *sets, const int *fsi, const RunArgs *a, Store *st,
                         Tally *t, Err *e) {
    int rc = LDE_OK, *pending = malloc(sizeof(int) * (size_t)(t->nheld ? t->nheld : 1));
    if (!pending) return fail(e, LDE_ERUN, "out of memory");
    if (t->nheld) fprintf(stderr, "waiting for %d run(s) that other workers hold\n", t->nheld);
    while (t->nheld && rc == LDE_OK && !t->stop) {
        int n = t->nheld;
        memcpy(pending, t->held, sizeof(int) * (size_t)n);
        t->nheld = 0;
        nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
        for (int j = 0; j < n && rc == LDE_OK; j++) {
            seen[pending[j]] = -1; /* it was running when this worker looked */
            rc = run_one(p, pending[j], todo, seen, ntodo, &sets[fsi[pending[j]]], a, st, t, e);
        }
    }
    free(pending);
    return rc;
}

/* The pass over todo (in --jobs N parallel jobs or one after the other), then
 * the wait for the runs others held, with this worker's heartbeat running. */
static int compute(const Plan *p, const int *todo, int *seen, int ntodo, const FeatureSet *sets,
                   const int *fsi, const RunArgs *a, Store *st, Tally *t, Err *e) {
    char worker[320];
    procid_self(worker, sizeof worker);
    store_set_claimant(st, worker);
    Heartbeat *hb;
    int rc = heartbeat_start(a->db, worker, a->heartbeat_s, &hb, e);
    if (rc == LDE_OK && a->jobs > 1)
        rc = run_parallel(p, todo, seen, ntodo, sets, fsi, a, worker, t, e);
    for (int k = 0; rc == LDE_OK && a->jobs == 1 && k < ntodo && !t->stop; k++)
        rc = run_one(p, k, todo, seen, ntodo, &sets[fsi[k]], a, st, t, e);
    if (rc == LDE_OK) rc = wait_for_held(p, todo, seen, ntodo, sets, fsi, a, st, t, e);
    heartbeat_stop(hb);
    return rc;
}

static int run_grid(const RunArgs *a, const Config *c, const Plan *p, Err *e) {
    char dir[4096];
    paths_dirname(a->db, dir, sizeof dir);
    int db_existed = access(a->db, F_OK) == 0, dir_existed = access(dir, F_OK) == 0;
    int rc = check_places(a, dir, e);
    if (rc == LDE_OK) rc = paths_mkdirs(dir, e);
    Store *st = NULL;
    if (rc == LDE_OK) rc = store_open(a->db, &st, e);
    if (rc != LDE_OK) return rc;
    StoreRunSpec *specs = NULL;
    RunInputs *inputs = NULL;
    rc = runinputs_specs(p, &specs, &inputs, e);
    size_t n = (size_t)p->n_runs;
    int *todo = calloc(n, sizeof *todo), *fsi = calloc(n, sizeof *fsi);
    int *keep = calloc(n, sizeof *keep), *seen = calloc(n, sizeof *seen);
    FeatureSet *sets = calloc(n, sizeof *sets);
    int ntodo = 0, skipped = 0, nsets = 0;
    Tally t = {.held = calloc(n, sizeof(int))};
    if (!specs || !todo || !fsi || !sets || !keep || !seen || !t.held) {
        free(specs), free(inputs), free(todo), free(fsi), free(sets), free(keep), free(seen);
        free(t.held);
        store_close(st);
        return fail(e, LDE_ERUN, "out of memory planning the grid");
    }
    /* The features are loaded (and checked) before the experiment is written. */
    if (rc == LDE_OK) rc = shard_select(p, &a->shard, a->runs, keep, e);
    if (rc == LDE_OK) rc = select_runs(p, st, a, keep, todo, seen, &ntodo, &skipped, e);
    if (rc == LDE_OK) rc = load_features(p, todo, ntodo, a, c, st, sets, &nsets, fsi, e);
    if (rc == LDE_EINPUT) {
        store_close(st);
        st = NULL;
        undo_new_db(a->db, db_existed, dir, dir_existed);
    }
    if (rc == LDE_OK) rc = paths_mkdirs(a->models, e);
    if (rc == LDE_OK) rc = store_add_experiment(st, c->name, c->yaml, specs, p->n_runs, e);
    /* The baselines first: they are quick next to the flows, and a table of the
     * experiment can show them while the grid runs. */
    if (rc == LDE_OK && c->n_baselines > 0)
        rc = baselines_for_plan(c->name, p, c->baselines, c->n_baselines, a->features, st, NULL,
                                NULL, NULL, e);
    if (rc == LDE_OK) rc = compute(p, todo, seen, ntodo, sets, fsi, a, st, &t, e);
    if (rc == LDE_OK) {
        fprintf(stderr, "%s: %d done, %d skipped (already done)", c->name, t.done, skipped);
        if (t.elsewhere) fprintf(stderr, ", %d done by other workers", t.elsewhere);
        fprintf(stderr, ", %d failed, %d diverged\n", t.failed, t.diverged);
        rc = print_table(p, keep, st, e);
    }
    for (int i = 0; i < nsets; i++) featureset_free(&sets[i]);
    free(specs), free(inputs), free(todo), free(fsi), free(sets), free(keep), free(seen);
    free(t.held);
    store_close(st);
    if (rc == LDE_OK && t.failed) rc = fail(e, LDE_ERUN, "%d run(s) failed (see above)", t.failed);
    return rc;
}

static int run_main(int argc, char **argv, Err *e) {
    RunArgs a;
    int rc = parse_args(argc, argv, &a, e);
    if (rc != LDE_OK) return rc;
    Config c;
    if ((rc = config_load(a.config, &c, e)) != LDE_OK) return rc;
    /* A shard writes its own database: shards never share an SQLite file (WAL
     * locking is unreliable on the network file systems of clusters). */
    char shard_db[4096];
    if (!a.db && a.shard.n) {
        shard_db_path("results/shards", c.name, a.shard.k, shard_db, sizeof shard_db);
        a.db = shard_db;
    }
    if (!a.db) a.db = "results/lde.db";
    /* The digest cache sits beside the database, and a shard's beside the folder of
     * shards (results/, not results/shards/, which lde merge empties). */
    char shard_dir_path[4096];
    paths_dirname(a.db, shard_dir_path, sizeof shard_dir_path);
    filedigest_cache_beside(a.shard.n ? shard_dir_path : a.db);
    Plan p;
    if ((rc = plan_build(&c, &p, e)) == LDE_OK) {
        rc = run_grid(&a, &c, &p, e);
        plan_free(&p);
    }
    config_free(&c);
    return rc;
}

const Command cmd_run = {
    "run",
    "run every point of a config's grid not yet done",
    "usage: lde run CONFIG.yaml [--db PATH] [--jobs N] [--only ID]... [--fail-fast]\n"
    "               [--heartbeat S] [--grace S] [--shard K/N [--runs FILE]]\n"
    "\n"
    "Trains and evaluates every grid point of CONFIG that the database does not have\n"
    "as done, in plan order (lde plan CONFIG lists them), and ends with a summary and\n"
    "a table of AUROC per OOD set. Interrupted runs are re-run from the start.\n"
    "The config's `baselines:` are computed first, once per distinct feature set, and\n"
    "only when the database does not have them yet (lde baselines CONFIG shows them).\n"
    "\n"
    "  --db PATH       the database (default results/lde.db; with --shard,\n"
    "                  results/shards/EXPERIMENT-K.db)\n"
    "  --jobs N        run N points at once, one thread each (for small flows)\n"
    "  --only ID       only the runs whose id starts with ID (repeat it: any of them)\n"
    "  --fail-fast     stop at the first failed run\n"
    "  --models DIR    where trained flows go (default results/models)\n"
    "  --features DIR  the feature cache (default results/features)\n"
    "  --shard K/N     only the points whose index in the plan (or in the run list)\n"
    "                  is K modulo N, 0 <= K < N: one task of a split grid; merge the\n"
    "                  shard databases with lde merge\n"
    "  --runs FILE     only the points whose run ids FILE lists, one per line (lde\n"
    "                  slurm writes it: the points not done when it submitted)\n"
    "  --heartbeat S   renew this worker's claims every S seconds (default 5, or\n"
    "                  $LDE_HEARTBEAT_S)\n"
    "  --grace S       take over a run whose worker sent no heartbeat for S seconds\n"
    "                  (default 60, or $LDE_GRACE_S; more than --heartbeat)\n"
    "\n"
    "Many lde run processes may share one database (two terminals, a cron job):\n"
    "each claims a point before computing it, skips points another live worker\n"
    "holds, takes over those of a worker that died (on this host at once, elsewhere\n"
    "after the grace), and waits for the others' points before its summary.\n"
    "\n"
    "exit: 0 nothing failed (diverged runs are reported, not failures), 1 a run failed,\n"
    "2 bad input (nothing is written)\n",
    run_main,
};
