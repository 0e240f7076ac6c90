/* status.c — `lde status [--db PATH] [EXPERIMENT]`: one line per run of an
 * experiment (or of every experiment): its short id, the parameters that vary
 * across the experiment's runs, its status, the AUROC per OOD set at its latest
 * evaluation point, and its wall time; under a running run, who holds it (host,
 * pid, age of its heartbeat) and whether that claim is stale. Reads the database
 * only. */
#include "cli/cliopt.h"
#include "cli/commands.h"
#include "report/expdata.h"
#include "run/heartbeat.h"
#include "run/shard.h"
#include "store/store.h"
#include "util/version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char STATUS_USAGE[] =
    "usage: lde status [--db PATH] [--all] [--grace S] [EXPERIMENT]\n"
    "\n"
    "One line per run of EXPERIMENT (default: every experiment in the database):\n"
    "the run id (first 8 characters), the parameters that differ between the\n"
    "experiment's runs, the status (pending, running, done, failed, diverged), the\n"
    "AUROC of each OOD set against val at the run's latest evaluation, and the wall\n"
    "time. Failed and diverged runs show their error; a run recorded by another lde\n"
    "version says which (\"done (lde 0.1.0)\"). Runs whose input files have changed\n"
    "since (stale) or were recorded before runs were keyed by file digests (inputs\n"
    "unknown) are left out and counted; --all shows them, in a column `inputs`.\n"
    "For an experiment split into\n"
    "shards (lde slurm, lde run --shard), one line per shard database in shards/\n"
    "beside the database: its runs done, running, failed, and those not merged yet.\n"
    "Under each running run: the worker that holds it (host, pid) and the age of\n"
    "its last heartbeat; `stale` when that is older than the grace or the worker's\n"
    "process on this host has ended (the next lde run takes the run over).\n"
    "\n"
    "  --db PATH   the database (default results/lde.db)\n"
    "  --all       show stale runs and runs with unknown inputs too\n"
    "  --grace S   a claim is stale after S seconds without a heartbeat (default 60,\n"
    "              or $LDE_GRACE_S: use lde run's --grace)\n";

enum { CELL = 48, ID_SHORT = 8 };

/* A table of text cells, printed with every column padded to its widest cell. */
typedef struct {
    int ncols, nrows, cap;
    char (*cells)[CELL]; /* nrows × ncols */
    char **notes;        /* one optional line under each row (errors), malloc'd */
} Table;

static char *table_cell(Table *t, int row, int col) {
    return t->cells[(long)row * t->ncols + col];
}

/* Appends an empty row; -1 when out of memory. */
static int table_add_row(Table *t) {
    if (t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        void *c = realloc(t->cells, sizeof *t->cells * (size_t)cap * (size_t)t->ncols);
        if (!c) return -1;
        t->cells = c;
        void *n = realloc(t->notes, sizeof *t->notes * (size_t)cap);
        if (!n) return -1;
        t->notes = n;
        t->cap = cap;
    }
    memset(table_cell(t, t->nrows, 0), 0, sizeof *t->cells * (size_t)t->ncols);
    t->notes[t->nrows] = NULL;
    return t->nrows++;
}

static void table_print(const Table *t, FILE *f) {
    int *w = calloc((size_t)t->ncols, sizeof(int));
    if (!w) return;
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            int len = (int)strlen(t->cells[(long)r * t->ncols + c]);
            if (len > w[c]) w[c] = len;
        }
    for (int r = 0; r < t->nrows; r++) {
        fputs("  ", f);
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[(long)r * t->ncols + c];
            if (c == t->ncols - 1)
                fprintf(f, "%s\n", cell);
            else
                fprintf(f, "%-*s  ", w[c], cell);
        }
        if (t->notes[r]) fprintf(f, "    %s\n", t->notes[r]);
    }
    free(w);
}

static void table_free(Table *t) {
    for (int r = 0; r < t->nrows; r++) free(t->notes[r]);
    free(t->cells), free(t->notes);
}

/* The note under a running run: who holds it and since when it said so. */
static int holder_note(Store *s, const char *id, double grace_s, char *status, char **note,
                       Err *e) {
    StoreHolder h;
    int rc = store_run_holder(s, id, grace_s, &h, e);
    if (rc || h.status != RUN_RUNNING) return rc;
    if (h.stale) snprintf(status, CELL, "running (stale)");
    size_t len = 512;
    if (!(*note = malloc(len))) return fail(e, LDE_ERUN, "out of memory");
    if (!h.worker[0])
        snprintf(*note, len, "stale: no worker holds it (left by an older lde or a killed one)");
    else
        snprintf(*note, len, "%s%s pid %ld, heartbeat %.0f s ago%s",
                 h.stale ? "stale: " : "held by ", h.host, h.pid, h.age_s,
                 h.stale ? " (its worker is gone; the next lde run takes it over)" : "");
    return LDE_OK;
}

/* Fills the table row of run r; the OOD columns come after the parameters. */
static int run_row(Table *t, const ExpData *x, int r, Store *s, double grace_s, Err *e) {
    const StoreRun *run = &x->runs[r];
    int row = table_add_row(t), np = x->nvarying;
    if (row < 0) return fail(e, LDE_ERUN, "out of memory");
    snprintf(table_cell(t, row, 0), CELL, "%.*s", ID_SHORT, run->id);
    for (int p = 0; p < np; p++)
        snprintf(table_cell(t, row, 1 + p), CELL, "%s", expdata_value(x, r, p));
    /* A run recorded by another lde version: information, not a reason to re-run. */
    if (run->lde_version[0] && strcmp(run->lde_version, lde_version) != 0)
        snprintf(table_cell(t, row, 1 + np), CELL, "%s (lde %s)", store_status_name(run->status),
                 run->lde_version);
    else
        snprintf(table_cell(t, row, 1 + np), CELL, "%s", store_status_name(run->status));
    long last = x->nev[r] ? x->ev[r][x->nev[r] - 1].step : -1;
    for (int k = 0; k < x->nood; k++) {
        const StoreEval *ev = expdata_eval(x, r, last, x->ood[k]);
        char *cell = table_cell(t, row, 2 + np + k);
        if (ev && !isnan(ev->auroc))
            snprintf(cell, CELL, "%.3f", ev->auroc);
        else
            snprintf(cell, CELL, "-");
    }
    format_wall(run->wall_s, table_cell(t, row, 2 + np + x->nood), CELL);
    if (run->status == RUN_RUNNING)
        return holder_note(s, run->id, grace_s, table_cell(t, row, 1 + np), &t->notes[row], e);
    if (run->error && (run->status == RUN_FAILED || run->status == RUN_DIVERGED)) {
        size_t len = strlen(run->error) + 8;
        t->notes[row] = malloc(len);
        if (t->notes[row]) snprintf(t->notes[row], len, "error: %s", run->error);
    }
    return LDE_OK;
}

/* Prints one experiment: a summary line, then the table of its runs. */
static int show_experiment(Store *s, const char *db, const char *name, int all, double grace_s,
                           FILE *f, Err *e) {
    ExpData x;
    Table t = {0};
    int rc = expdata_load(s, db, name, all, &x, e);
    if (rc) return rc;
    int count[RUN_DIVERGED + 1] = {0};
    for (int i = 0; i < x.nruns; i++)
        if (x.runs[i].status >= RUN_PENDING) count[x.runs[i].status]++;
    fprintf(f, "%s: %d run%s", name, x.nruns, x.nruns == 1 ? "" : "s");
    for (int k = RUN_PENDING; k <= RUN_DIVERGED; k++)
        if (count[k]) fprintf(f, ", %d %s", count[k], store_status_name((RunStatus)k));
    fputc('\n', f);
    expdata_note_inputs(&x, f);
    int np = x.nvarying;
    t.ncols = 1 + np + 1 + x.nood + 1;
    int h = table_add_row(&t);
    if (h < 0) {
        rc = fail(e, LDE_ERUN, "out of memory");
        goto out;
    }
    snprintf(table_cell(&t, h, 0), CELL, "run");
    for (int p = 0; p < np; p++)
        snprintf(table_cell(&t, h, 1 + p), CELL, "%s", param_header(x.varying, np, p));
    snprintf(table_cell(&t, h, 1 + np), CELL, "status");
    for (int k = 0; k < x.nood; k++)
        snprintf(table_cell(&t, h, 2 + np + k), CELL, "%.*s", CELL - 1, x.ood[k]);
    snprintf(table_cell(&t, h, 2 + np + x.nood), CELL, "wall");
    for (int i = 0; i < x.nruns; i++)
        if ((rc = run_row(&t, &x, i, s, grace_s, e))) goto out;
    table_print(&t, f);
out:
    table_free(&t);
    expdata_free(&x);
    return rc;
}

/* Per-shard progress of an array (lde slurm, lde run --shard): for each shard
 * database of the experiment beside the main database, how many of its runs
 * finished or are running, and how many finished runs the main database does not
 * have yet (lde merge copies them). */
static int show_shards(Store *main_db, const char *db, const char *name, FILE *f, Err *e) {
    char dir[4096];
    shard_dir(db, dir, sizeof dir);
    char **paths = NULL;
    int n = 0, rc = shard_find(dir, name, &paths, &n, e);
    if (rc == LDE_OK && n) fprintf(f, "shards of %s:\n", name);
    for (int i = 0; rc == LDE_OK && i < n; i++) {
        Store *s;
        StoreRun *runs = NULL;
        int nruns = 0, count[RUN_DIVERGED + 1] = {0}, unmerged = 0;
        if ((rc = store_open_readonly(paths[i], &s, e)) != LDE_OK) break;
        rc = store_experiment_runs(s, name, &runs, &nruns, e);
        for (int r = 0; rc == LDE_OK && r < nruns; r++) {
            RunStatus st = runs[r].status, in_main;
            if (st >= RUN_PENDING) count[st]++;
            if (st != RUN_DONE && st != RUN_DIVERGED && st != RUN_FAILED) continue;
            rc = store_run_status(main_db, runs[r].id, &in_main, e);
            unmerged += rc == LDE_OK && in_main != st && in_main != RUN_DONE;
        }
        fprintf(f, "  %s:", paths[i]);
        int any = 0;
        for (int k = RUN_RUNNING; k <= RUN_DIVERGED; k++)
            if (count[k])
                fprintf(f, "%s %d %s", any++ ? "," : "", count[k], store_status_name((RunStatus)k));
        if (!any) fprintf(f, " nothing started");
        if (unmerged) fprintf(f, "; %d not merged (lde merge --experiment %s)", unmerged, name);
        fputc('\n', f);
        store_runs_free(runs, nruns);
        store_close(s);
    }
    store_strings_free(paths, n);
    return rc;
}

static int status_run(int argc, char **argv, Err *e) {
    const char *db = "results/lde.db", *experiment = NULL, *grace = NULL;
    double grace_s = HEARTBEAT_GRACE_S;
    int rc = heartbeat_env_seconds(HEARTBEAT_GRACE_ENV, &grace_s, e), all = 0;
    for (int i = 1; i < argc && rc == LDE_OK; i++)
        if (!cli_opt(argc, argv, &i, "--db", &db, &rc, e) &&
            !cli_opt(argc, argv, &i, "--grace", &grace, &rc, e) &&
            !cli_flag(argv, i, "--all", &all))
            rc = cli_experiment(argv[i], "status", &experiment, e);
    if (rc) return rc;
    if (grace) {
        char *end;
        grace_s = strtod(grace, &end);
        if (*end || !(grace_s > 0))
            return fail(e, LDE_EINPUT, "--grace %s: expected a number of seconds above 0", grace);
    }
    Store *s;
    rc = store_open_readonly(db, &s, e);
    if (rc) return rc;
    char **names = NULL;
    int n = 0;
    if ((rc = store_experiments(s, &names, &n, e)) == LDE_OK) {
        int found = 0;
        for (int i = 0; i < n && rc == LDE_OK; i++) {
            if (experiment && strcmp(names[i], experiment) != 0) continue;
            if (found++) putchar('\n');
            rc = show_experiment(s, db, names[i], all, grace_s, stdout, e);
            if (rc == LDE_OK) rc = show_shards(s, db, names[i], stdout, e);
        }
        if (rc == LDE_OK && experiment && !found)
            rc = show_experiment(s, db, experiment, all, grace_s, stdout, e);
        if (rc == LDE_OK && !experiment && n == 0) printf("%s: no experiments yet\n", db);
    }
    store_strings_free(names, n);
    store_close(s);
    return rc;
}

const Command cmd_status = {
    .name = "status",
    .summary = "show the runs of an experiment: parameters, status, AUROC, wall time",
    .usage = STATUS_USAGE,
    .run = status_run,
};
