/* store_merge.c — copying a shard database into the main one (store_merge in
 * store.h). The shard is ATTACHed as `src` to the target's connection and every
 * copy is an INSERT ... SELECT between the two, inside one transaction; both files
 * have the same schema (the version is checked first), so rows copy column for
 * column. */
#include "store/store.h"
#include "store/store_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far along a run is: a source run is copied only over a target run that is
 * less far along. */
static int rank(RunStatus st) {
    switch (st) {
    case RUN_FAILED:
        return 1;
    case RUN_DIVERGED:
        return 2;
    case RUN_DONE:
        return 3;
    default:
        return 0; /* none, pending, running */
    }
}

/* Prepares sql, binds :id when the statement has it, steps it to the end. */
static int exec_for_run(Store *s, const char *sql, const char *id, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, sql, &st, e);
    if (rc) return rc;
    if (id) sql_bind_text(st, ":id", id);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    }
    rc = r == SQLITE_DONE ? LDE_OK : sql_fail(s, e, "merging a shard");
    sqlite3_finalize(st);
    return rc;
}

static const char *SQL_COPY_EXPERIMENTS =
    "INSERT INTO main.experiments SELECT * FROM src.experiments WHERE true"
    " ON CONFLICT (name) DO NOTHING";
static const char *SQL_COPY_MEMBERS =
    "INSERT OR IGNORE INTO main.experiment_runs SELECT * FROM src.experiment_runs";
static const char *SQL_COPY_BASELINES =
    "INSERT OR IGNORE INTO main.baselines SELECT * FROM src.baselines";
/* Input files: every place a shard saw them is provenance (the ids already agree
 * when the bytes do, whatever the mount point); the target's own files of an
 * experiment are kept. */
static const char *SQL_COPY_INPUTS = "INSERT OR IGNORE INTO main.inputs SELECT * FROM src.inputs";
static const char *SQL_COPY_EXP_INPUTS =
    "INSERT OR IGNORE INTO main.experiment_inputs SELECT * FROM src.experiment_inputs s"
    " WHERE NOT EXISTS (SELECT 1 FROM main.experiment_inputs m"
    "                   WHERE m.experiment = s.experiment)";
static const char *SQL_SOURCE_RUNS = "SELECT id, status FROM src.runs ORDER BY id";
static const char *SQL_ADD_PENDING = "INSERT OR IGNORE INTO main.runs (id, params_json, seed)"
                                     " SELECT id, params_json, seed FROM src.runs WHERE id = :id";
/* The columns of a run's result (schema version 1); the claim columns of version 5
 * belong to the shard's workers, not to the merged database. */
#define RUN_COLUMNS                                                                                \
    "id, params_json, seed, status, started_at, finished_at, wall_s, lde_version, git_rev,"        \
    " host, threads, blas, compiler, error, attempts"
static const char *SQL_COPY_RUN =
    "INSERT INTO main.runs (" RUN_COLUMNS ") SELECT " RUN_COLUMNS " FROM src.runs WHERE id = :id"
    " ON CONFLICT (id) DO UPDATE SET params_json = excluded.params_json,"
    " seed = excluded.seed, status = excluded.status, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at, wall_s = excluded.wall_s,"
    " lde_version = excluded.lde_version, git_rev = excluded.git_rev, host = excluded.host,"
    " threads = excluded.threads, blas = excluded.blas, compiler = excluded.compiler,"
    " error = excluded.error, attempts = excluded.attempts";
static const char *SQL_DROP_EVALS = "DELETE FROM main.evals WHERE run_id = :id";
static const char *SQL_DROP_SCORES = "DELETE FROM main.scores WHERE run_id = :id";
static const char *SQL_COPY_EVALS =
    "INSERT INTO main.evals SELECT * FROM src.evals WHERE run_id = :id";
static const char *SQL_COPY_SCORES =
    "INSERT INTO main.scores SELECT * FROM src.scores WHERE run_id = :id";
static const char *SQL_DROP_ARRAYS = "DELETE FROM main.arrays WHERE run_id = :id";
static const char *SQL_COPY_ARRAYS =
    "INSERT INTO main.arrays SELECT * FROM src.arrays WHERE run_id = :id";
/* Rows of the run in one database and not in the other, both ways: 0 when the two
 * hold the same results. Compound SELECTs compare REALs exactly, BLOBs byte by
 * byte, and NULL equal to NULL. */
static const char *SQL_DIFFERENCES =
    "SELECT (SELECT count(*) FROM (SELECT step, epoch, split, mean_bpd, median_bpd, auroc,"
    "  fpr95, aupr_in, aupr_out, train_loss FROM src.evals WHERE run_id = :id EXCEPT"
    "  SELECT step, epoch, split, mean_bpd, median_bpd, auroc, fpr95, aupr_in, aupr_out,"
    "  train_loss FROM main.evals WHERE run_id = :id))"
    " + (SELECT count(*) FROM (SELECT step, epoch, split, mean_bpd, median_bpd, auroc,"
    "  fpr95, aupr_in, aupr_out, train_loss FROM main.evals WHERE run_id = :id EXCEPT"
    "  SELECT step, epoch, split, mean_bpd, median_bpd, auroc, fpr95, aupr_in, aupr_out,"
    "  train_loss FROM src.evals WHERE run_id = :id))"
    " + (SELECT count(*) FROM (SELECT step, split, n, bpd FROM src.scores WHERE run_id = :id"
    "  EXCEPT SELECT step, split, n, bpd FROM main.scores WHERE run_id = :id))"
    " + (SELECT count(*) FROM (SELECT step, split, n, bpd FROM main.scores WHERE run_id = :id"
    "  EXCEPT SELECT step, split, n, bpd FROM src.scores WHERE run_id = :id))";

static int same_results(Store *s, const char *id, int *same, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_DIFFERENCES, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *same = sqlite3_column_int64(st, 0) == 0;
    else
        rc = sql_fail(s, e, "comparing a run's results");
    sqlite3_finalize(st);
    return rc;
}

static int add_conflict(StoreMergeReport *r, const char *id, Err *e) {
    char **c = realloc(r->conflicts, sizeof *c * (size_t)(r->n_conflicts + 1));
    if (!c) return fail(e, LDE_ERUN, "out of memory");
    r->conflicts = c;
    if (!(c[r->n_conflicts] = strdup(id))) return fail(e, LDE_ERUN, "out of memory");
    r->n_conflicts++;
    return LDE_OK;
}

/* One source run: copy, keep, or report a conflict (the rules in store.h). */
static int merge_run(Store *s, const char *id, RunStatus src, StoreMergeReport *r, Err *e) {
    if (rank(src) == 0) {
        r->running += src == RUN_RUNNING;
        return exec_for_run(s, SQL_ADD_PENDING, id, e);
    }
    RunStatus dst;
    int rc = store_run_status(s, id, &dst, e);
    if (rc) return rc;
    if (src == RUN_DONE && dst == RUN_DONE) {
        int same = 0;
        if ((rc = same_results(s, id, &same, e))) return rc;
        if (same) r->kept++;
        return same ? LDE_OK : add_conflict(r, id, e);
    }
    if (rank(src) <= rank(dst)) {
        r->kept++;
        return LDE_OK;
    }
    const char *steps[] = {SQL_COPY_RUN,   SQL_DROP_EVALS,  SQL_DROP_SCORES, SQL_DROP_ARRAYS,
                           SQL_COPY_EVALS, SQL_COPY_SCORES, SQL_COPY_ARRAYS};
    for (size_t i = 0; i < sizeof steps / sizeof *steps && rc == LDE_OK; i++)
        rc = exec_for_run(s, steps[i], id, e);
    if (rc == LDE_OK) r->copied++;
    return rc;
}

/* Every run of the attached source, then the membership rows that point at them. */
static int merge_rows(Store *s, StoreMergeReport *r, Err *e) {
    int rc = exec_for_run(s, SQL_COPY_EXPERIMENTS, NULL, e);
    sqlite3_stmt *st = NULL;
    if (rc == LDE_OK) rc = sql_prepare(s, SQL_SOURCE_RUNS, &st, e);
    int step = SQLITE_DONE;
    while (rc == LDE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char id[64];
        snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(st, 0));
        const char *name = (const char *)sqlite3_column_text(st, 1);
        RunStatus src = RUN_NONE;
        for (int k = RUN_PENDING; k <= RUN_DIVERGED; k++)
            if (name && strcmp(name, store_status_name((RunStatus)k)) == 0) src = (RunStatus)k;
        rc = merge_run(s, id, src, r, e);
    }
    if (rc == LDE_OK && step != SQLITE_DONE) rc = sql_fail(s, e, "reading the shard's runs");
    sqlite3_finalize(st);
    if (rc == LDE_OK) rc = exec_for_run(s, SQL_COPY_MEMBERS, NULL, e);
    if (rc == LDE_OK) rc = exec_for_run(s, SQL_COPY_BASELINES, NULL, e);
    if (rc == LDE_OK) rc = exec_for_run(s, SQL_COPY_INPUTS, NULL, e);
    if (rc == LDE_OK) rc = exec_for_run(s, SQL_COPY_EXP_INPUTS, NULL, e);
    return rc;
}

int store_merge(Store *s, const char *src_path, StoreMergeReport *r, Err *e) {
    *r = (StoreMergeReport){0};
    /* Opening it alone first checks that it is an lde database this lde can read;
     * opening it for writing then brings a shard of an older lde to this schema, so
     * every table copied below exists in both. */
    Store *src;
    int rc = store_open_readonly(src_path, &src, e);
    if (rc) return rc;
    store_close(src);
    if ((rc = store_open(src_path, &src, e))) return rc;
    store_close(src);
    sqlite3_stmt *st;
    if ((rc = sql_prepare(s, "ATTACH DATABASE :path AS src", &st, e))) return rc;
    sql_bind_text(st, ":path", src_path);
    rc = sqlite3_step(st) == SQLITE_DONE ? LDE_OK : sql_fail(s, e, "attaching a shard");
    sqlite3_finalize(st);
    if (rc) return rc;
    if ((rc = sql_exec(s, "BEGIN IMMEDIATE", e)) == LDE_OK) {
        rc = merge_rows(s, r, e);
        if (rc == LDE_OK)
            rc = sql_exec(s, "COMMIT", e);
        else
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_exec(s->db, "DETACH DATABASE src", NULL, NULL, NULL);
    if (rc) {
        store_strings_free(r->conflicts, r->n_conflicts);
        *r = (StoreMergeReport){0};
    }
    return rc;
}
