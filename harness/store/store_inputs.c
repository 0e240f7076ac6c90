/* store_inputs.c — the files runs are keyed by (store.h, tables inputs and
 * experiment_inputs; schema version 4, issue 23): writing them with an
 * experiment, keeping its stale members, reading them back. */
#include "store/store.h"
#include "store/store_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SQL_PUT_INPUT =
    "INSERT OR REPLACE INTO inputs (run_id, role, path, digest, bytes, mtime_ns)"
    " VALUES (:id, :role, :path, :digest, :bytes, :mtime)";
static const char *SQL_CLEAR_EXP_INPUTS = "DELETE FROM experiment_inputs WHERE experiment = :name";
static const char *SQL_PUT_EXP_INPUT =
    "INSERT OR REPLACE INTO experiment_inputs (experiment, role, path, digest)"
    " VALUES (:name, :role, :path, :digest)";
/* A former member stays when it read one of the experiment's files with other
 * bytes (stale), or has user files (a mapping under data.features or data.images)
 * and no inputs rows at all (recorded before version 4: inputs unknown). */
static const char *SQL_KEEP_OLD =
    "INSERT OR IGNORE INTO experiment_runs (experiment, run_id, position)"
    " SELECT :name, :id, :position WHERE"
    " EXISTS (SELECT 1 FROM inputs i JOIN experiment_inputs x ON x.path = i.path"
    "         WHERE x.experiment = :name AND i.run_id = :id AND i.digest <> x.digest)"
    " OR (NOT EXISTS (SELECT 1 FROM inputs WHERE run_id = :id) AND EXISTS (SELECT 1 FROM runs"
    "     WHERE id = :id AND (json_type(params_json, '$.data.features') = 'object'"
    "                         OR json_type(params_json, '$.data.images') = 'object')))";

static int put_input(Store *s, const char *sql, const char *key, const char *keyval,
                     const StoreInput *in, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, sql, &st, e);
    if (rc) return rc;
    sql_bind_text(st, key, keyval);
    sql_bind_text(st, ":role", in->role);
    sql_bind_text(st, ":path", in->path);
    sql_bind_text(st, ":digest", in->digest);
    if (sqlite3_bind_parameter_index(st, ":bytes")) {
        sql_bind_int(st, ":bytes", (long)in->bytes);
        sql_bind_int(st, ":mtime", (long)in->mtime_ns);
    }
    return sql_step_done(s, st, e, "recording a run's input files");
}

int inputs_record(Store *s, const char *experiment, const struct StoreRunSpec *runs, int nruns,
                  char **old_ids, int nold, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_CLEAR_EXP_INPUTS, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":name", experiment);
    if ((rc = sql_step_done(s, st, e, "updating the experiment's files"))) return rc;
    for (int i = 0; i < nruns; i++)
        for (int k = 0; k < runs[i].ninputs && rc == LDE_OK; k++) {
            rc = put_input(s, SQL_PUT_INPUT, ":id", runs[i].id, &runs[i].inputs[k], e);
            if (rc == LDE_OK)
                rc = put_input(s, SQL_PUT_EXP_INPUT, ":name", experiment, &runs[i].inputs[k], e);
        }
    for (int j = 0; j < nold && rc == LDE_OK; j++) {
        if ((rc = sql_prepare(s, SQL_KEEP_OLD, &st, e))) return rc;
        sql_bind_text(st, ":name", experiment);
        sql_bind_text(st, ":id", old_ids[j]);
        sql_bind_int(st, ":position", nruns + j);
        rc = sql_step_done(s, st, e, "keeping an experiment's stale runs");
    }
    return rc;
}

static const char *SQL_RUN_INPUTS = "SELECT role, path, digest, bytes, mtime_ns FROM inputs"
                                    " WHERE run_id = :key ORDER BY role, path";
static const char *SQL_EXP_INPUTS = "SELECT role, path, digest, 0, 0 FROM experiment_inputs"
                                    " WHERE experiment = :key ORDER BY path";

static int read_inputs(Store *s, const char *sql, const char *key, StoreInputRow **rows, int *n,
                       Err *e) {
    sqlite3_stmt *st;
    *rows = NULL, *n = 0;
    /* A database of version 3 or older, opened read-only, has no inputs tables: its
     * runs have no recorded files (inputs unknown for user files). */
    if (s->version < 4) return LDE_OK;
    int rc = sql_prepare(s, sql, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":key", key);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            StoreInputRow *v = realloc(*rows, (size_t)cap * sizeof *v);
            if (!v) break;
            *rows = v;
        }
        StoreInputRow *x = &(*rows)[*n];
        const char *role = (const char *)sqlite3_column_text(st, 0);
        const char *path = (const char *)sqlite3_column_text(st, 1);
        const char *digest = (const char *)sqlite3_column_text(st, 2);
        x->role = strdup(role ? role : "");
        x->path = strdup(path ? path : "");
        snprintf(x->digest, sizeof x->digest, "%s", digest ? digest : "");
        x->bytes = sqlite3_column_int64(st, 3);
        x->mtime_ns = sqlite3_column_int64(st, 4);
        (*n)++;
        if (!x->role || !x->path) break;
    }
    rc = r == SQLITE_DONE  ? LDE_OK
         : r == SQLITE_ROW ? fail(e, LDE_ERUN, "%s: out of memory reading input files", s->path)
                           : sql_fail(s, e, "reading input files");
    sqlite3_finalize(st);
    if (rc) {
        store_inputs_free(*rows, *n);
        *rows = NULL, *n = 0;
    }
    return rc;
}

int store_run_inputs(Store *s, const char *id, StoreInputRow **rows, int *n, Err *e) {
    return read_inputs(s, SQL_RUN_INPUTS, id, rows, n, e);
}

int store_experiment_inputs(Store *s, const char *experiment, StoreInputRow **rows, int *n,
                            Err *e) {
    return read_inputs(s, SQL_EXP_INPUTS, experiment, rows, n, e);
}

void store_inputs_free(StoreInputRow *rows, int n) {
    for (int i = 0; i < n; i++) free(rows[i].role), free(rows[i].path);
    free(rows);
}
