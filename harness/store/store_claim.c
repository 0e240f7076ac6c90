/* store_claim.c — many lde run workers on one database (store.h, claims; issue
 * 20). A worker claims a run in one BEGIN IMMEDIATE transaction that reads the
 * run's row and, when nobody live holds it, removes the rows of every earlier
 * attempt and marks it running with the worker's token, so two workers can never
 * both hold it: SQLite serializes IMMEDIATE transactions. A claim is live while
 * its heartbeat is younger than the grace period and, on the claimant's own host,
 * its process is still running (procid.h: a killed worker's points are taken
 * over at once, not after the grace). This is Optuna's RDB heartbeat
 * (heartbeat_interval, grace_period, fail_stale_trials) with a re-claim instead of
 * a failed trial. */
#include "store/store.h"
#include "store/store_sql.h"
#include "util/procid.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* SQLite's clock in Unix seconds with a fraction (unixepoch('subsec') needs 3.42). */
#define SQL_NOW "((julianday('now') - 2440587.5) * 86400.0)"

void store_set_claimant(Store *s, const char *worker) {
    snprintf(s->worker, sizeof s->worker, "%s", worker ? worker : "");
}

/* Whether a claim (worker token, heartbeat age in seconds, NaN when none) is
 * stale. A run marked running without a token was started by an lde before
 * version 5 or by store_begin_run: stale, as before claims existed. */
static int claim_stale(const char *worker, double age_s, double grace_s) {
    if (!worker || !worker[0] || isnan(age_s) || age_s > grace_s) return 1;
    return procid_alive(worker) == 0;
}

static const char *SQL_CLAIM_STATE =
    "SELECT status, attempts, claim_worker, claim_host, claim_pid, " SQL_NOW " - heartbeat_at"
    " FROM runs WHERE id = :id";

/* Run id's holder now (status, attempts, claimant and heartbeat age). */
static int claim_state(Store *s, const char *id, double grace_s, StoreHolder *h, int *attempts,
                       Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(
        s, s->version >= 5 ? SQL_CLAIM_STATE : "SELECT status, attempts FROM runs WHERE id = :id",
        &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    memset(h, 0, sizeof *h);
    h->status = RUN_NONE, h->age_s = NAN;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int i = RUN_PENDING; i <= RUN_DIVERGED; i++)
            if (name && strcmp(name, store_status_name((RunStatus)i)) == 0)
                h->status = (RunStatus)i;
        *attempts = sqlite3_column_int(st, 1);
        const char *w = s->version >= 5 ? (const char *)sqlite3_column_text(st, 2) : NULL;
        const char *host = s->version >= 5 ? (const char *)sqlite3_column_text(st, 3) : NULL;
        snprintf(h->worker, sizeof h->worker, "%s", w ? w : "");
        snprintf(h->host, sizeof h->host, "%s", host ? host : "");
        if (s->version >= 5)
            h->pid = sqlite3_column_int64(st, 4), h->age_s = sql_column_real(st, 5);
        h->stale = h->status == RUN_RUNNING && claim_stale(h->worker, h->age_s, grace_s);
    } else if (r != SQLITE_DONE) {
        rc = sql_fail(s, e, "reading a run's claim");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_run_holder(Store *s, const char *id, double grace_s, StoreHolder *h, Err *e) {
    int attempts;
    return claim_state(s, id, grace_s, h, &attempts, e);
}

int store_run_attempts(Store *s, const char *id, int *attempts, Err *e) {
    StoreHolder h;
    *attempts = 0;
    return claim_state(s, id, 1e300, &h, attempts, e);
}

static const char *SQL_CLAIM =
    "UPDATE runs SET claim_worker = :worker, claim_host = :host, claim_pid = :pid,"
    " claimed_at = " SQL_NOW ", heartbeat_at = " SQL_NOW " WHERE id = :id";

/* Decides, under the transaction, whether this worker may start run id. */
static ClaimResult decide(const StoreHolder *h, int attempts, int seen_attempts) {
    if (h->status == RUN_DONE) return CLAIM_FINISHED;
    /* failed or diverged since this worker looked: another worker computed it */
    if ((h->status == RUN_FAILED || h->status == RUN_DIVERGED) &&
        (seen_attempts < 0 || attempts != seen_attempts))
        return CLAIM_FINISHED;
    if (h->status == RUN_RUNNING) return h->stale ? CLAIM_TAKEN_OVER : CLAIM_HELD;
    return CLAIM_TAKEN;
}

static int claim_rows(Store *s, const char *id, int seen_attempts, double grace_s,
                      const Provenance *p, StoreClaim *out, Err *e) {
    int attempts = 0, rc = claim_state(s, id, grace_s, &out->holder, &attempts, e);
    if (rc) return rc;
    if (out->holder.status == RUN_NONE)
        return fail(e, LDE_ERUN, "%s: run %s is not in the database", s->path, id);
    out->result = decide(&out->holder, attempts, seen_attempts);
    if (out->result != CLAIM_TAKEN && out->result != CLAIM_TAKEN_OVER) return LDE_OK;
    /* store_begin_run's work (the earlier attempt's rows go: a stale claimant's
     * partial points with them), then the claim, in the same transaction. */
    if ((rc = store_begin_run_rows(s, id, p, e))) return rc;
    sqlite3_stmt *st;
    if ((rc = sql_prepare(s, SQL_CLAIM, &st, e))) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_text(st, ":worker", s->worker);
    sql_bind_text(st, ":host", p->host);
    sql_bind_int(st, ":pid", procid_pid(s->worker));
    return sql_step_done(s, st, e, "claiming a run");
}

int store_claim_run(Store *s, const char *id, int seen_attempts, double grace_s,
                    const Provenance *p, StoreClaim *out, Err *e) {
    memset(out, 0, sizeof *out);
    if (!s->worker[0]) return fail(e, LDE_ERUN, "%s: claiming a run needs a claimant", s->path);
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = claim_rows(s, id, seen_attempts, grace_s, p, out, e);
    return sql_end_transaction(s, rc, e);
}

static const char *SQL_HEARTBEAT = "UPDATE runs SET heartbeat_at = " SQL_NOW
                                   " WHERE status = 'running' AND claim_worker = :worker";

int store_heartbeat(Store *s, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_HEARTBEAT, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":worker", s->worker);
    return sql_step_done(s, st, e, "recording a heartbeat");
}
