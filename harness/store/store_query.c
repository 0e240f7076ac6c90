/* store_query.c — the read side of the store (see store.h): what `lde status`,
 * plots and tables ask of the database. */
#include "store/store.h"
#include "store/store_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column i as a malloc'd string, NULL for SQL NULL (or when out of memory). */
static char *column_dup(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? strdup(t) : NULL;
}

/* Column i copied into a fixed buffer ("" for NULL). */
static void column_copy(sqlite3_stmt *st, int i, char *buf, size_t size) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, size, "%s", t ? t : "");
}

/* Grows *array (of elem-byte items, *cap of them) to hold n + 1. 0 or -1. */
static int grow(void **array, int n, int *cap, size_t elem) {
    if (n < *cap) return 0;
    int ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(*array, elem * (size_t)ncap);
    if (!p) return -1;
    *array = p;
    *cap = ncap;
    return 0;
}

/* Ends a loop over rows: r is the last sqlite3_step result, SQLITE_ROW when the loop
 * stopped early because memory ran out. Finalizes st after reading the error. */
static int rows_end(Store *s, sqlite3_stmt *st, int r, Err *e, const char *what) {
    int rc = LDE_OK;
    if (r == SQLITE_ROW)
        rc = fail(e, LDE_ERUN, "%s: out of memory while %s", s->path, what);
    else if (r != SQLITE_DONE)
        rc = sql_fail(s, e, what);
    sqlite3_finalize(st);
    return rc;
}

static const char *SQL_EXPERIMENT_RUNS =
    "SELECT r.id, r.params_json, r.seed, r.status, r.wall_s, r.error, r.started_at,"
    " r.finished_at, r.lde_version FROM experiment_runs er JOIN runs r ON r.id = er.run_id"
    " WHERE er.experiment = :name ORDER BY er.position";

int store_experiment_runs(Store *s, const char *experiment, StoreRun **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_EXPERIMENT_RUNS, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":name", experiment);
    StoreRun *runs = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&runs, *n, &cap, sizeof *runs)) break;
        StoreRun *x = &runs[(*n)++];
        memset(x, 0, sizeof *x);
        x->id = column_dup(st, 0);
        x->params_json = column_dup(st, 1);
        x->seed = (long)sqlite3_column_int64(st, 2);
        RunStatus status = RUN_NONE;
        const char *name = (const char *)sqlite3_column_text(st, 3);
        for (int k = RUN_PENDING; k <= RUN_DIVERGED; k++)
            if (name && strcmp(name, store_status_name((RunStatus)k)) == 0) status = (RunStatus)k;
        x->status = status;
        x->wall_s = sql_column_real(st, 4);
        x->error = column_dup(st, 5);
        column_copy(st, 6, x->started_at, sizeof x->started_at);
        column_copy(st, 7, x->finished_at, sizeof x->finished_at);
        column_copy(st, 8, x->lde_version, sizeof x->lde_version);
    }
    if ((rc = rows_end(s, st, r, e, "reading an experiment's runs"))) {
        store_runs_free(runs, *n);
        *out = NULL, *n = 0;
        return rc;
    }
    *out = runs;
    return LDE_OK;
}

void store_runs_free(StoreRun *runs, int n) {
    for (int i = 0; i < n; i++) free(runs[i].id), free(runs[i].params_json), free(runs[i].error);
    free(runs);
}

void store_strings_free(char **strings, int n) {
    for (int i = 0; i < n; i++) free(strings[i]);
    free(strings);
}

/* Collects column 0 of every row of a prepared statement as strings. */
static int collect_strings(Store *s, sqlite3_stmt *st, char ***out, int *n, Err *e,
                           const char *what) {
    char **v = NULL;
    int cap = 0, r;
    *n = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&v, *n, &cap, sizeof *v)) break;
        v[(*n)++] = column_dup(st, 0);
    }
    int rc = rows_end(s, st, r, e, what);
    if (rc) {
        store_strings_free(v, *n);
        *out = NULL, *n = 0;
        return rc;
    }
    *out = v;
    return LDE_OK;
}

static const char *SQL_EXPERIMENTS = "SELECT name FROM experiments ORDER BY created_at, rowid";

int store_experiments(Store *s, char ***names, int *n, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_EXPERIMENTS, &st, e);
    if (rc) return rc;
    return collect_strings(s, st, names, n, e, "listing experiments");
}

/* Leaves of every run's params_json (SQLite's json_tree): a path varies when its
 * values are not all equal (compared with their JSON type) or when some run lacks
 * it. substr(fullkey, 3) drops the leading "$."; SQLite quotes a key with an
 * underscore in fullkey ($.flow."linear_init"), and the quotes are dropped so that a
 * path reads as the parameter table spells it (no parameter name holds a quote). */
static const char *SQL_VARYING_PARAMS =
    "WITH leaves AS ("
    "  SELECT er.run_id AS run_id, replace(substr(t.fullkey, 3), '\"', '') AS path,"
    "         t.type || ':' || quote(t.atom) AS value"
    "  FROM experiment_runs er JOIN runs r ON r.id = er.run_id, json_tree(r.params_json) t"
    "  WHERE er.experiment = :name AND t.type NOT IN ('object', 'array'))"
    " SELECT path FROM leaves GROUP BY path HAVING COUNT(DISTINCT value) > 1 ORDER BY path";

int store_varying_params(Store *s, const char *experiment, char ***paths, int *n, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_VARYING_PARAMS, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":name", experiment);
    return collect_strings(s, st, paths, n, e, "comparing run parameters");
}

/* json_tree's row for exactly this path: booleans read as true/false, not 1/0. */
static const char *SQL_RUN_PARAM =
    "SELECT CASE t.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
    " WHEN 'null' THEN 'null' ELSE t.atom END"
    " FROM runs r, json_tree(r.params_json) t"
    " WHERE r.id = :id AND replace(t.fullkey, '\"', '') = '$.' || :path"
    "   AND t.type NOT IN ('object', 'array')";

int store_run_param(Store *s, const char *id, const char *path, char *buf, int size, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_RUN_PARAM, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_text(st, ":path", path);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        column_copy(st, 0, buf, (size_t)size);
    else
        snprintf(buf, (size_t)size, "-");
    return rows_end(s, st, r == SQLITE_ROW ? SQLITE_DONE : r, e, "reading a run parameter");
}

static const char *SQL_RUN_EVALS =
    "SELECT step, epoch, split, mean_bpd, median_bpd, auroc, fpr95, aupr_in, aupr_out,"
    " train_loss FROM evals WHERE run_id = :id ORDER BY step, split";

int store_run_evals(Store *s, const char *id, StoreEval **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_RUN_EVALS, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    StoreEval *ev = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&ev, *n, &cap, sizeof *ev)) break;
        StoreEval *x = &ev[(*n)++];
        x->step = (long)sqlite3_column_int64(st, 0);
        x->epoch = sqlite3_column_double(st, 1);
        column_copy(st, 2, x->split, sizeof x->split);
        double *v[7] = {&x->mean_bpd, &x->median_bpd, &x->auroc,     &x->fpr95,
                        &x->aupr_in,  &x->aupr_out,   &x->train_loss};
        for (int k = 0; k < 7; k++) *v[k] = sql_column_real(st, 3 + k);
    }
    if ((rc = rows_end(s, st, r, e, "reading a run's evaluations"))) {
        free(ev);
        *n = 0;
        return rc;
    }
    *out = ev;
    return LDE_OK;
}

/* A float32 BLOB column as a malloc'd array of n floats (NULL when NULL or empty). */
static float *column_floats(sqlite3_stmt *st, int i, long *n) {
    long bytes = sqlite3_column_bytes(st, i);
    const void *p = sqlite3_column_blob(st, i);
    *n = 0;
    if (!p || bytes < (long)sizeof(float)) return NULL;
    *n = bytes / (long)sizeof(float);
    float *v = malloc((size_t)bytes);
    if (v)
        memcpy(v, p, (size_t)*n * sizeof(float));
    else
        *n = 0;
    return v;
}

static const char *SQL_SCORES =
    "SELECT bpd FROM scores WHERE run_id = :id AND step = :step AND split = :split";

int store_scores(Store *s, const char *id, long step, const char *split, float **bpd, long *n,
                 Err *e) {
    sqlite3_stmt *st;
    *bpd = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_SCORES, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_int(st, ":step", step);
    sql_bind_text(st, ":split", split);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) *bpd = column_floats(st, 0, n);
    return rows_end(s, st, r == SQLITE_ROW ? SQLITE_DONE : r, e, "reading per-sample bpd");
}

/* A prefix match by substr, not LIKE: a prefix holding % or _ needs no escaping. */
static const char *SQL_GET_ARRAYS = "SELECT name, h, w, c, data FROM arrays WHERE run_id = :id"
                                    " AND substr(name, 1, length(:prefix)) = :prefix ORDER BY name";

int store_get_arrays(Store *s, const char *id, const char *prefix, StoreArrayRow **out, int *n,
                     Err *e) {
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_GET_ARRAYS, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_text(st, ":prefix", prefix);
    StoreArrayRow *rows = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, *n, &cap, sizeof *rows)) break;
        StoreArrayRow *x = &rows[(*n)++];
        column_copy(st, 0, x->name, sizeof x->name);
        x->h = sqlite3_column_int(st, 1), x->w = sqlite3_column_int(st, 2);
        x->c = sqlite3_column_int(st, 3);
        long count = 0;
        x->data = column_floats(st, 4, &count);
        if (count != (long)x->h * x->w * x->c) {
            free(x->data), x->data = NULL;
            rc = fail(e, LDE_ERUN, "%s: array %s of run %s has %ld values, not %d×%d×%d", s->path,
                      x->name, id, count, x->h, x->w, x->c);
            break;
        }
    }
    if (rc == LDE_OK)
        rc = rows_end(s, st, r, e, "reading a run's arrays");
    else
        sqlite3_finalize(st);
    if (rc != LDE_OK) store_arrays_free(rows, *n), rows = NULL, *n = 0;
    *out = rows;
    return rc;
}

void store_arrays_free(StoreArrayRow *rows, int n) {
    for (int i = 0; i < n; i++) free(rows[i].data);
    free(rows);
}

static const char *SQL_GET_BASELINES =
    "SELECT method, ood, auroc, fpr95, aupr_in, aupr_out, n_id, n_ood, id_scores, ood_scores"
    " FROM baselines WHERE features = :features ORDER BY method, ood";

int store_get_baselines(Store *s, const char *features, StoreBaselineRow **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_GET_BASELINES, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":features", features);
    StoreBaselineRow *rows = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, *n, &cap, sizeof *rows)) break;
        StoreBaselineRow *x = &rows[(*n)++];
        column_copy(st, 0, x->method, sizeof x->method);
        column_copy(st, 1, x->ood, sizeof x->ood);
        x->metrics = (OodMetrics){sql_column_real(st, 2), sql_column_real(st, 3),
                                  sql_column_real(st, 4), sql_column_real(st, 5)};
        long nid, nood;
        x->id_scores = column_floats(st, 8, &nid);
        x->ood_scores = column_floats(st, 9, &nood);
        x->n_id = x->id_scores ? nid : (long)sqlite3_column_int64(st, 6);
        x->n_ood = x->ood_scores ? nood : (long)sqlite3_column_int64(st, 7);
    }
    if ((rc = rows_end(s, st, r, e, "reading baselines"))) {
        store_baselines_free(rows, *n);
        *n = 0;
        return rc;
    }
    *out = rows;
    return LDE_OK;
}

void store_baselines_free(StoreBaselineRow *rows, int n) {
    for (int i = 0; i < n; i++) free(rows[i].id_scores), free(rows[i].ood_scores);
    free(rows);
}

static const char *SQL_BASELINE_FEATURES = "SELECT DISTINCT features FROM baselines ORDER BY 1";

int store_baseline_features(Store *s, char ***keys, int *n, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_BASELINE_FEATURES, &st, e);
    if (rc) return rc;
    return collect_strings(s, st, keys, n, e, "listing baseline feature keys");
}

static const char *SQL_EXPERIMENT_CONFIG =
    "SELECT config_yaml, created_at FROM experiments WHERE name = :name";

int store_experiment_config(Store *s, const char *name, char **yaml, char created_at[32], Err *e) {
    sqlite3_stmt *st;
    *yaml = NULL;
    created_at[0] = 0;
    int rc = sql_prepare(s, SQL_EXPERIMENT_CONFIG, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":name", name);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *yaml = column_dup(st, 0);
        column_copy(st, 1, created_at, 32);
    }
    return rows_end(s, st, r == SQLITE_ROW ? SQLITE_DONE : r, e, "reading an experiment's config");
}

static const char *SQL_RUN_PROVENANCE =
    "SELECT lde_version, git_rev, host, threads, blas, compiler, started_at FROM runs"
    " WHERE id = :id";

int store_run_provenance(Store *s, const char *id, Provenance *p, Err *e) {
    sqlite3_stmt *st;
    memset(p, 0, sizeof *p);
    int rc = sql_prepare(s, SQL_RUN_PROVENANCE, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        column_copy(st, 0, p->lde_version, sizeof p->lde_version);
        column_copy(st, 1, p->git_rev, sizeof p->git_rev);
        column_copy(st, 2, p->host, sizeof p->host);
        p->threads = sqlite3_column_int(st, 3);
        column_copy(st, 4, p->blas, sizeof p->blas);
        column_copy(st, 5, p->compiler, sizeof p->compiler);
        column_copy(st, 6, p->time, sizeof p->time);
        size_t n = strlen(p->git_rev);
        p->git_dirty = n >= 6 && strcmp(p->git_rev + n - 6, "-dirty") == 0;
    }
    return rows_end(s, st, r == SQLITE_ROW ? SQLITE_DONE : r, e, "reading a run's provenance");
}

static const char *SQL_EXPERIMENT_FEATURES =
    "SELECT features FROM experiment_features WHERE experiment = :experiment ORDER BY features";

int store_experiment_features(Store *s, const char *experiment, char ***keys, int *n, Err *e) {
    sqlite3_stmt *st;
    *keys = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_EXPERIMENT_FEATURES, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":experiment", experiment);
    return collect_strings(s, st, keys, n, e, "reading an experiment's features");
}
