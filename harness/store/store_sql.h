/* store_sql.h — private to the store's files (store.c, store_query.c,
 * store_merge.c, store_claim.c): the connection and the small helpers every statement uses
 * (prepare, bind by name, report an SQLite error), defined in store_sql.c. It
 * declares the Store type itself rather than including store.h, so the store's
 * modules include each other one way (store.c -> store_sql.h, never back). */
#ifndef LDE_STORE_SQL_H
#define LDE_STORE_SQL_H

#include "util/err.h"

#include <sqlite3.h>

typedef struct Store Store; /* the same typedef as store.h (C11 allows both) */

struct Store {
    sqlite3 *db;
    char path[4096];
    int version;      /* schema version as opened: an older one read-only (no inputs tables) */
    char worker[320]; /* the claimant whose claims this connection's writes need ("" none) */
};

/* Ends a write transaction: COMMIT after success, ROLLBACK (keeping the first
 * error message) after a failure. */
int sql_end_transaction(Store *s, int rc, Err *e);

/* store.c, inside a transaction: store_begin_run's rows (store_claim_run uses it). */
struct Provenance;
int store_begin_run_rows(Store *s, const char *id, const struct Provenance *p, Err *e);

/* store.h's STORE_ELOST (store_sql.h does not include store.h). */
enum { STORE_ELOST_CODE = 3 };

/* Inside a write transaction: STORE_ELOST when s has a claimant (store_set_claimant)
 * and run id's claim is not its own any more (another worker took it over). */
int claim_still_mine(Store *s, const char *id, Err *e);

/* Prepares sql (named parameters only) into *st; LDE_ERUN naming the path. */
int sql_prepare(Store *s, const char *sql, sqlite3_stmt **st, Err *e);

/* Reports the connection's last error as "PATH: WHAT: sqlite message". */
int sql_fail(Store *s, Err *e, const char *what);

/* Binds by parameter name (":id"); text NULL and doubles that are NaN bind NULL. */
void sql_bind_text(sqlite3_stmt *st, const char *name, const char *v);
void sql_bind_int(sqlite3_stmt *st, const char *name, long v);
void sql_bind_real(sqlite3_stmt *st, const char *name, double v);
void sql_bind_blob(sqlite3_stmt *st, const char *name, const void *v, long bytes);

/* Runs one statement with no parameters and no rows (BEGIN, COMMIT, DDL, PRAGMA). */
int sql_exec(Store *s, const char *sql, Err *e);

/* Steps a prepared write to completion and finalizes it. */
int sql_step_done(Store *s, sqlite3_stmt *st, Err *e, const char *what);

/* store_inputs.c, inside store_add_experiment's transaction, after the new
 * membership is written: the inputs rows of runs, the experiment's files, and the
 * former members old_ids (nold, in their old order) that are stale or have unknown
 * inputs kept as members after the nruns current ones (store.h). */
struct StoreRunSpec;
int inputs_record(Store *s, const char *experiment, const struct StoreRunSpec *runs, int nruns,
                  char **old_ids, int nold, Err *e);

/* Column i as a double, NaN for NULL. */
double sql_column_real(sqlite3_stmt *st, int i);

#endif
