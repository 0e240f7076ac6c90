/* run.c — `lde run CONFIG`: every planned point not yet done, in plan order, then a
 * summary and the AUROC table (issue 5; DESIGN.md, Training and evaluation).
 *
 * Resuming is the store's job: a done run is skipped, a run left `running` by a
 * killed process starts again from scratch (store_begin_run drops its partial
 * rows). Exit 0 when nothing failed, 1 when a run failed (a diverged run is a
 * result, not a failure: it is reported and the exit stays 0), 2 on bad input —
 * found before anything is written. `--shard K/N` computes one task's share of the
 * grid (shard.h) into its own database, for lde merge to combine. */
#include "baselines/baselines.h"
#include "cli/commands.h"
#include "config/config.h"
#include "config/plan.h"
#include "run/featureset.h"
#include "run/runinputs.h"
#include "run/runner.h"
#include "run/shard.h"
#include "store/store.h"
#include "util/filedigest.h"
#include "util/paths.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *config, *db, *only, *models, *features, *runs;
    int jobs, fail_fast;
    Shard shard; /* n = 0: the whole grid */
} RunArgs;

static int parse_args(int argc, char **argv, RunArgs *a, Err *e) {
    *a = (RunArgs){.models = "results/models", .features = "results/features", .jobs = 1};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--fail-fast") == 0) {
            a->fail_fast = 1;
            continue;
        }
        const char **slot = strcmp(argv[i], "--db") == 0         ? &a->db
                            : strcmp(argv[i], "--only") == 0     ? &a->only
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
    if (!a->config) return fail(e, LDE_EINPUT, "no config given (lde run CONFIG.yaml)");
    return LDE_OK;
}

/* The plan's runs to do: this shard's (keep), not done, and matching --only (an
 * id prefix). */
static int select_runs(const Plan *p, Store *st, const RunArgs *a, const int *keep, int *todo,
                       int *ntodo, int *skipped, Err *e) {
    *ntodo = 0, *skipped = 0;
    for (int i = 0; i < p->n_runs; i++) {
        if (!keep[i]) continue;
        if (a->only && strncmp(p->runs[i].id, a->only, strlen(a->only)) != 0) continue;
        RunStatus rs;
        int rc = store_run_status(st, p->runs[i].id, &rs, e);
        if (rc != LDE_OK) return rc;
        if (rs == RUN_DONE)
            (*skipped)++;
        else
            todo[(*ntodo)++] = i;
    }
    if (a->only && *ntodo + *skipped == 0)
        return fail(e, LDE_EINPUT, "%s: no run id starts with '%s' (lde plan %s lists them)",
                    a->config, a->only, a->config);
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
    int stop; /* --fail-fast saw a failure */
} Tally;

/* Runs todo[k] in its own store connection when jobs run in parallel. */
static int run_one(const Plan *p, int k, const int *todo, int ntodo, const FeatureSet *fs,
                   const RunArgs *a, Store *st, Tally *t, Err *e) {
    const PlanRun *r = &p->runs[todo[k]];
    RunnerOptions o = {
        .models_dir = a->models, .index = k + 1, .count = ntodo, .quiet = a->jobs > 1};
    RunOutcome out;
    int rc = runner_run(r, fs, st, &o, &out, e);
    if (rc != LDE_OK) return rc;
#pragma omp critical(run_tally)
    {
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
static int run_parallel(const Plan *p, const int *todo, int ntodo, const FeatureSet *sets,
                        const int *fsi, const RunArgs *a, Tally *t, Err *e) {
    int rc_all = LDE_OK;
    int next = 0;
#pragma omp parallel num_threads(a->jobs)
    {
        Store *st = NULL;
        Err le = {{0}};
        int rc = store_open(a->db, &st, &le);
        for (;;) {
            int k;
#pragma omp atomic capture
            k = next++;
            if (k >= ntodo || rc != LDE_OK || t->stop) break;
            rc = run_one(p, k, todo, ntodo, &sets[fsi[k]], a, st, t, &le);
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

static int run_grid(const RunArgs *a, const Config *c, const Plan *p, Err *e) {
    char dir[4096];
    paths_dirname(a->db, dir, sizeof dir);
    int db_existed = access(a->db, F_OK) == 0, dir_existed = access(dir, F_OK) == 0;
    int rc = paths_mkdirs(dir, e);
    Store *st = NULL;
    if (rc == LDE_OK) rc = store_open(a->db, &st, e);
    if (rc != LDE_OK) return rc;
    StoreRunSpec *specs = NULL;
    RunInputs *inputs = NULL;
    rc = runinputs_specs(p, &specs, &inputs, e);
    int *todo = calloc((size_t)p->n_runs, sizeof *todo),
        *fsi = calloc((size_t)p->n_runs, sizeof *fsi);
    int *keep = calloc((size_t)p->n_runs, sizeof *keep);
    FeatureSet *sets = calloc((size_t)p->n_runs, sizeof *sets);
    int ntodo = 0, skipped = 0, nsets = 0;
    Tally t = {0};
    if (!specs || !todo || !fsi || !sets || !keep) {
        free(specs), free(inputs), free(todo), free(fsi), free(sets), free(keep);
        store_close(st);
        return fail(e, LDE_ERUN, "out of memory planning the grid");
    }
    /* The features are loaded (and checked) before the experiment is written. */
    if (rc == LDE_OK) rc = shard_select(p, &a->shard, a->runs, keep, e);
    if (rc == LDE_OK) rc = select_runs(p, st, a, keep, todo, &ntodo, &skipped, e);
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
    if (rc == LDE_OK && a->jobs > 1) rc = run_parallel(p, todo, ntodo, sets, fsi, a, &t, e);
    for (int k = 0; rc == LDE_OK && a->jobs == 1 && k < ntodo && !t.stop; k++)
        rc = run_one(p, k, todo, ntodo, &sets[fsi[k]], a, st, &t, e);
    if (rc == LDE_OK) {
        fprintf(stderr, "%s: %d done, %d skipped (already done), %d failed, %d diverged\n", c->name,
                t.done, skipped, t.failed, t.diverged);
        rc = print_table(p, keep, st, e);
    }
    for (int i = 0; i < nsets; i++) featureset_free(&sets[i]);
    free(specs), free(inputs), free(todo), free(fsi), free(sets), free(keep);
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
    "usage: lde run CONFIG.yaml [--db PATH] [--jobs N] [--only ID] [--fail-fast]\n"
    "               [--shard K/N [--runs FILE]]\n"
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
    "  --only ID       only the runs whose id starts with ID\n"
    "  --fail-fast     stop at the first failed run\n"
    "  --models DIR    where trained flows go (default results/models)\n"
    "  --features DIR  the feature cache (default results/features)\n"
    "  --shard K/N     only the points whose index in the plan (or in the run list)\n"
    "                  is K modulo N, 0 <= K < N: one task of a split grid; merge the\n"
    "                  shard databases with lde merge\n"
    "  --runs FILE     only the points whose run ids FILE lists, one per line (lde\n"
    "                  slurm writes it: the points not done when it submitted)\n"
    "\n"
    "exit: 0 nothing failed (diverged runs are reported, not failures), 1 a run failed,\n"
    "2 bad input (nothing is written)\n",
    run_main,
};
