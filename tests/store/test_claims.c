/* test_claims.c — claims of many lde run workers on one database (store_claim.c,
 * issue 20): a claim excludes a live worker, a stale one (no heartbeat for the
 * grace, or its process gone) is taken over with its rows removed, and the loser
 * writes nothing more; heartbeats renew; finished runs are not re-claimed; a
 * version 4 (and 3) database is migrated to 5 with its running runs stale. */
#include "store/store.h"
#include "tests/unit.h"
#include "util/procid.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A worker on another host: only its heartbeat can say whether it lives. */
static const char *OTHER = "otherhost:4242:99";

static const StoreRunSpec RUN = {"cafe0001", "{\"seed\":0}", 0, NULL, 0};

static const char *path_of(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
    return path;
}

/* Runs sql on a separate connection; the first column of its first row (-1 none). */
static double sql1(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    double v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* A database with RUN in it and a Store for claimant worker (host as its name). */
static Store *worker_store(const char *path, const char *worker, Provenance *p) {
    Store *s = NULL;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "x", "y", &RUN, 1, &e) == LDE_OK);
    store_set_claimant(s, worker);
    provenance_collect(p, "0.1.0", "abc");
    if (worker == OTHER) snprintf(p->host, sizeof p->host, "otherhost");
    return s;
}

static int one_eval(Store *s, long step, Err *e) {
    float v[2] = {1, 2};
    StoreSplit sp = {.split = "val", .mean_bpd = 1.5, .median_bpd = 1.5, .bpd = v, .n = 2};
    return store_add_eval(s, RUN.id, step, 0, NAN, &sp, 1, e);
}

static void test_claim_excludes_a_live_worker_and_takes_over_a_silent_one(void) {
    const char *path = path_of("grace.db");
    Provenance pa, pb;
    char me[320];
    procid_self(me, sizeof me);
    Store *a = worker_store(path, OTHER, &pa), *b = worker_store(path, me, &pb);
    Err e = {{0}};
    StoreClaim c;
    CHECK(store_claim_run(a, RUN.id, 0, 60, &pa, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN);
    CHECK(one_eval(a, 0, &e) == LDE_OK);
    CHECK(store_claim_run(b, RUN.id, 0, 60, &pb, &c, &e) == LDE_OK && c.result == CLAIM_HELD);
    CHECK(strcmp(c.holder.host, "otherhost") == 0 && c.holder.pid == 4242 && !c.holder.stale);
    CHECK(c.holder.age_s >= 0 && c.holder.age_s < 30);
    /* Its heartbeat two minutes old: stale for a grace of 60 s. */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE runs SET heartbeat_at = heartbeat_at - 120", 0, 0, 0) == 0);
    sqlite3_close(db);
    StoreHolder h;
    CHECK(store_run_holder(b, RUN.id, 60, &h, &e) == LDE_OK && h.stale && h.age_s > 100);
    CHECK(store_run_holder(b, RUN.id, 600, &h, &e) == LDE_OK && !h.stale);
    CHECK(store_claim_run(b, RUN.id, 0, 60, &pb, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN_OVER);
    CHECK(sql1(path, "SELECT count(*) FROM evals") == 0); /* the stale attempt's rows went */
    CHECK(sql1(path, "SELECT attempts FROM runs") == 2);
    /* The worker that lost it writes nothing more of it. */
    CHECK(one_eval(a, 8, &e) == STORE_ELOST && strstr(e.msg, "taken over"));
    CHECK(store_finish_run(a, RUN.id, RUN_DONE, NULL, 1, &e) == STORE_ELOST);
    CHECK(one_eval(b, 0, &e) == LDE_OK);
    CHECK(store_finish_run(b, RUN.id, RUN_DONE, NULL, 1, &e) == LDE_OK);
    CHECK(sql1(path, "SELECT count(*) FROM evals") == 1);
    CHECK(store_claim_run(a, RUN.id, 0, 60, &pa, &c, &e) == LDE_OK && c.result == CLAIM_FINISHED);
    store_close(a), store_close(b);
}

/* A claim of a process of this host that has ended is stale at once, fresh
 * heartbeat or not. */
static void test_claim_of_an_ended_process_is_taken_over_at_once(void) {
    const char *path = path_of("dead.db");
    Provenance p;
    char me[320];
    procid_self(me, sizeof me);
    Store *s = worker_store(path, me, &p);
    int fd[2];
    CHECK(pipe(fd) == 0);
    pid_t child = fork();
    if (child == 0) {
        char token[320];
        Err e = {{0}};
        StoreClaim c;
        procid_self(token, sizeof token);
        store_set_claimant(s, token); /* the child's own connection would do the same */
        int ok = store_claim_run(s, RUN.id, 0, 60, &p, &c, &e) == LDE_OK;
        _exit(write(fd[1], token, strlen(token) + 1) > 0 && ok ? 0 : 1);
    }
    char token[320] = "";
    CHECK(read(fd[0], token, sizeof token) > 0);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd[0]), close(fd[1]);
    CHECK(procid_alive(token) == 0 && procid_alive(me) == 1 && procid_alive(OTHER) == -1);
    CHECK(procid_pid(token) == (long)child);
    Err e = {{0}};
    StoreClaim c;
    CHECK(store_claim_run(s, RUN.id, 0, 600, &p, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN_OVER);
    CHECK(strcmp(c.holder.worker, token) == 0 && c.holder.age_s < 600);
    store_close(s);
}

static void test_heartbeat_renews_only_its_own_claims(void) {
    const char *path = path_of("beat.db");
    Provenance p;
    Store *s = worker_store(path, OTHER, &p);
    Err e = {{0}};
    StoreClaim c;
    CHECK(store_claim_run(s, RUN.id, 0, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE runs SET heartbeat_at = heartbeat_at - 500", 0, 0, 0) == 0);
    sqlite3_close(db);
    store_set_claimant(s, "someone:1:1");
    CHECK(store_heartbeat(s, &e) == LDE_OK);
    StoreHolder h;
    CHECK(store_run_holder(s, RUN.id, 60, &h, &e) == LDE_OK && h.age_s > 400 && h.stale);
    store_set_claimant(s, OTHER);
    CHECK(store_heartbeat(s, &e) == LDE_OK);
    CHECK(store_run_holder(s, RUN.id, 60, &h, &e) == LDE_OK && h.age_s < 30 && !h.stale);
    store_close(s);
}

/* A failed run is claimed again only when nobody finished it since the caller
 * chose it; a done run never. */
static void test_claim_leaves_runs_finished_by_others(void) {
    const char *path = path_of("finished.db");
    Provenance p;
    Store *s = worker_store(path, OTHER, &p);
    Err e = {{0}};
    StoreClaim c;
    int attempts = -1;
    CHECK(store_claim_run(s, RUN.id, 0, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN);
    CHECK(store_finish_run(s, RUN.id, RUN_FAILED, "nan", 1, &e) == LDE_OK);
    CHECK(store_run_attempts(s, RUN.id, &attempts, &e) == LDE_OK && attempts == 1);
    CHECK(store_claim_run(s, RUN.id, 0, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_FINISHED);
    CHECK(store_claim_run(s, RUN.id, -1, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_FINISHED);
    CHECK(store_claim_run(s, RUN.id, 1, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN);
    CHECK(store_finish_run(s, RUN.id, RUN_DONE, NULL, 1, &e) == LDE_OK);
    CHECK(store_claim_run(s, RUN.id, 2, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_FINISHED);
    store_set_claimant(s, NULL);
    CHECK(store_claim_run(s, RUN.id, 2, 60, &p, &c, &e) == LDE_ERUN && strstr(e.msg, "claimant"));
    store_close(s);
}

/* Databases of versions 4 and 3 get the claim columns; a run they left running
 * has no claimant, so it is stale and taken over. */
static void migrate_from(int version) {
    char name[32];
    snprintf(name, sizeof name, "v%d.db", version);
    const char *path = path_of(name);
    Provenance p;
    Store *s = worker_store(path, NULL, &p);
    Err e = {{0}};
    CHECK(store_begin_run(s, RUN.id, &p, &e) == LDE_OK);
    CHECK(one_eval(s, 0, &e) == LDE_OK);
    store_close(s);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "ALTER TABLE runs DROP COLUMN claim_worker; ALTER TABLE runs DROP COLUMN claim_host;"
             " ALTER TABLE runs DROP COLUMN claim_pid; ALTER TABLE runs DROP COLUMN claimed_at;"
             " ALTER TABLE runs DROP COLUMN heartbeat_at; %s PRAGMA user_version = %d",
             version == 3 ? "DROP TABLE inputs; DROP TABLE experiment_inputs;" : "", version);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, 0, 0, 0) == SQLITE_OK);
    sqlite3_close(db);
    StoreHolder h;
    CHECK(store_open_readonly(path, &s, &e) == LDE_OK);
    CHECK(store_run_holder(s, RUN.id, 60, &h, &e) == LDE_OK && h.status == RUN_RUNNING && h.stale);
    store_close(s);
    CHECK(sql1(path, "PRAGMA user_version") == version);
    char me[320];
    procid_self(me, sizeof me);
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(sql1(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION);
    store_set_claimant(s, me);
    StoreClaim c;
    CHECK(store_claim_run(s, RUN.id, -1, 60, &p, &c, &e) == LDE_OK && c.result == CLAIM_TAKEN_OVER);
    CHECK(sql1(path, "SELECT count(*) FROM evals") == 0);
    CHECK(sql1(path, "SELECT count(*) FROM runs WHERE claim_pid = (SELECT claim_pid FROM runs)"
                     " AND claim_worker IS NOT NULL AND heartbeat_at > 0") == 1);
    store_close(s);
}

static void test_claims_migrate_from_version_4(void) {
    migrate_from(4);
}

static void test_claims_migrate_from_version_3(void) {
    migrate_from(3);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_claim_excludes_a_live_worker_and_takes_over_a_silent_one),
        UNIT(test_claim_of_an_ended_process_is_taken_over_at_once),
        UNIT(test_heartbeat_renews_only_its_own_claims),
        UNIT(test_claim_leaves_runs_finished_by_others),
        UNIT(test_claims_migrate_from_version_4),
        UNIT(test_claims_migrate_from_version_3),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) != 0;
}
