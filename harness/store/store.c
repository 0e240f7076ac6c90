/* store.c — see store.h: opening, the schema, and every write. Queries are in
 * store_query.c. */
#include "store/store.h"
#include "store/store_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const status_names[] = {"pending", "running", "done", "failed", "diverged"};

const char *store_status_name(RunStatus st) {
    return st >= RUN_PENDING && st <= RUN_DIVERGED ? status_names[st] : "none";
}

/* ---- opening and the schema ---- */

static const char *SCHEMA_V1 =
    "CREATE TABLE experiments ("
    "  name TEXT PRIMARY KEY,"
    "  config_yaml TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  params_json TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (status IN ('pending', 'running', 'done', 'failed', 'diverged')),"
    "  started_at TEXT, finished_at TEXT, wall_s REAL,"
    "  lde_version TEXT, git_rev TEXT, host TEXT, threads INTEGER, blas TEXT, compiler TEXT,"
    "  error TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE experiment_runs ("
    "  experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE,"
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  position INTEGER NOT NULL,"
    "  PRIMARY KEY (experiment, run_id));"
    "CREATE INDEX experiment_runs_run ON experiment_runs(run_id);"
    "CREATE TABLE evals ("
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  step INTEGER NOT NULL,"
    "  epoch REAL NOT NULL,"
    "  split TEXT NOT NULL,"
    "  mean_bpd REAL, median_bpd REAL,"
    "  auroc REAL, fpr95 REAL, aupr_in REAL, aupr_out REAL,"
    "  train_loss REAL,"
    "  PRIMARY KEY (run_id, step, split));"
    "CREATE TABLE scores ("
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  step INTEGER NOT NULL,"
    "  split TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  bpd BLOB NOT NULL,"
    "  PRIMARY KEY (run_id, step, split));"
    "CREATE TABLE baselines ("
    "  features TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  ood TEXT NOT NULL,"
    "  auroc REAL, fpr95 REAL, aupr_in REAL, aupr_out REAL,"
    "  n_id INTEGER, n_ood INTEGER, id_scores BLOB, ood_scores BLOB,"
    "  created_at TEXT NOT NULL,"
    "  PRIMARY KEY (features, method, ood));"
    "PRAGMA user_version = 1;";

/* Version 2: which feature sets (feature cache keys) an experiment reads, so that
 * its baselines, stored by key, can be found from the experiment's name. */
static const char *SCHEMA_V2 = "CREATE TABLE experiment_features ("
                               "  experiment TEXT NOT NULL,"
                               "  features TEXT NOT NULL,"
                               "  PRIMARY KEY (experiment, features));"
                               "PRAGMA user_version = 2;";

/* Version 3: arrays a run leaves for its figures (issue 15: what each coupling
 * layer of a flow on pixels does to an image, its latent), so that lde plot, which
 * reads only the database, can draw them. */
static const char *SCHEMA_V3 = "CREATE TABLE arrays ("
                               "  run_id TEXT NOT NULL REFERENCES runs(id),"
                               "  name TEXT NOT NULL,"
                               "  h INTEGER NOT NULL, w INTEGER NOT NULL, c INTEGER NOT NULL,"
                               "  data BLOB NOT NULL,"
                               "  PRIMARY KEY (run_id, name));"
                               "PRAGMA user_version = 3;";

/* Version 4 (issue 23): runs keyed by the content of their files. The files a run
 * read, by digest (its id hashes the digests), with where they were and their size
 * and mtime as provenance; and the files each experiment's config names, so the
 * read-only commands can tell which of its runs read other bytes (stale). Runs of
 * older versions keep their rows; with user files and no inputs rows they are
 * `inputs unknown` (store.h). */
static const char *SCHEMA_V4 = "CREATE TABLE inputs ("
                               "  run_id TEXT NOT NULL REFERENCES runs(id),"
                               "  role TEXT NOT NULL,"
                               "  path TEXT NOT NULL,"
                               "  digest TEXT NOT NULL,"
                               "  bytes INTEGER NOT NULL,"
                               "  mtime_ns INTEGER NOT NULL,"
                               "  PRIMARY KEY (run_id, role, path));"
                               "CREATE TABLE experiment_inputs ("
                               "  experiment TEXT NOT NULL,"
                               "  role TEXT NOT NULL,"
                               "  path TEXT NOT NULL,"
                               "  digest TEXT NOT NULL,"
                               "  PRIMARY KEY (experiment, path));"
                               "PRAGMA user_version = 4;";

/* Version 5 (issue 20): many lde run processes on one database. A running run's
 * claimant (worker: "host:pid:start", unique per process; host and pid for
 * people) and the time of its claim and of its latest heartbeat (Unix seconds,
 * SQLite's clock), so that another worker skips a live claim and takes over a
 * stale one (store_claim.c). */
static const char *SCHEMA_V5 = "ALTER TABLE runs ADD COLUMN claim_worker TEXT;"
                               "ALTER TABLE runs ADD COLUMN claim_host TEXT;"
                               "ALTER TABLE runs ADD COLUMN claim_pid INTEGER;"
                               "ALTER TABLE runs ADD COLUMN claimed_at REAL;"
                               "ALTER TABLE runs ADD COLUMN heartbeat_at REAL;"
                               "PRAGMA user_version = 5;";

static int schema_version(Store *s, int *version, Err *e) {
    sqlite3_stmt *st;
    if (sql_prepare(s, "PRAGMA user_version", &st, e)) return LDE_ERUN;
    int rc = sqlite3_step(st) == SQLITE_ROW ? LDE_OK : sql_fail(s, e, "reading the schema version");
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Creates the schema of a new database or brings an older one up to date, one
 * version step at a time; refuses one from a newer lde. Done under
 * BEGIN IMMEDIATE so two processes opening a new file do not both create it. */
static int migrate(Store *s, Err *e) {
    int version = 0, rc;
    if ((rc = sql_exec(s, "BEGIN IMMEDIATE", e))) return rc;
    rc = schema_version(s, &version, e);
    if (rc == LDE_OK && version > STORE_SCHEMA_VERSION)
        rc = fail(e, LDE_EINPUT, "%s: database schema version %d is newer than this lde's (%d)",
                  s->path, version, STORE_SCHEMA_VERSION);
    if (rc == LDE_OK && version == 0) rc = sql_exec(s, SCHEMA_V1, e);
    if (rc == LDE_OK && version < 2) rc = sql_exec(s, SCHEMA_V2, e);
    if (rc == LDE_OK && version < 3) rc = sql_exec(s, SCHEMA_V3, e);
    if (rc == LDE_OK && version < 4) rc = sql_exec(s, SCHEMA_V4, e);
    if (rc == LDE_OK && version < 5) rc = sql_exec(s, SCHEMA_V5, e);
    return sql_end_transaction(s, rc, e);
}

static int open_db(const char *path, int flags, Store **out, Err *e) {
    *out = NULL;
    Store *s = calloc(1, sizeof *s);
    if (!s) {
        fail(e, LDE_ERUN, "%s: out of memory", path);
        return LDE_ERUN;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        sql_fail(s, e, "cannot open the database");
        store_close(s);
        return LDE_ERUN;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    *out = s;
    return LDE_OK;
}

/* An existing file is checked before anything writes to it: a file that is not
 * an SQLite database, or one whose pages are damaged, stays exactly as it is. */
static int check_intact(Store *s, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, "PRAGMA quick_check", &st, e);
    if (rc) return rc;
    int r = sqlite3_step(st);
    const char *msg = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (r != SQLITE_ROW)
        rc = sql_fail(s, e, "checking the database");
    else if (!msg || strcmp(msg, "ok") != 0)
        rc = fail(e, LDE_EINPUT,
                  "%s: damaged database (quick_check: %.200s); lde leaves the file as it is",
                  s->path, msg ? msg : "?");
    sqlite3_finalize(st);
    return rc;
}

/* The file (device and inode) this process last found intact: the connections
 * of --jobs N and the heartbeat's open the same database again, and quick_check
 * reads every page of it, so once per process is enough. */
static unsigned long long intact_file; /* read and written with __atomic builtins */

/* WAL mode. Switching a new database to it needs the file to itself, and SQLite
 * answers SQLITE_BUSY at once, without its busy handler, while another process is
 * opening the same new file (two workers started together; seen under valgrind):
 * so wait here, as the busy timeout would, in 10 ms steps. */
static int set_wal(Store *s, Err *e) {
    for (int waited = 0;; waited += 10) {
        int r = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (r == SQLITE_OK) return LDE_OK;
        if ((r != SQLITE_BUSY && r != SQLITE_LOCKED) || waited >= STORE_BUSY_TIMEOUT_MS)
            return sql_fail(s, e, "PRAGMA journal_mode = WAL");
        usleep(10000);
    }
}

int store_open(const char *path, Store **out, Err *e) {
    struct stat sb;
    int existed = stat(path, &sb) == 0 && sb.st_size > 0;
    unsigned long long file = existed ? ((unsigned long long)sb.st_dev << 40) ^ sb.st_ino : 0;
    Store *s;
    int rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s, e);
    if (rc) return rc;
    /* SQLite opens a file it may not write read-only, silently. */
    if (sqlite3_db_readonly(s->db, "main") == 1)
        rc = fail(e, LDE_EINPUT, "%s: the database is read-only (lde writes its results there)",
                  path);
    if (rc == LDE_OK && existed && __atomic_load_n(&intact_file, __ATOMIC_SEQ_CST) != file) {
        rc = check_intact(s, e);
        if (rc == LDE_OK) __atomic_store_n(&intact_file, file, __ATOMIC_SEQ_CST);
    }
    /* WAL: readers (lde status, plot) never block the writer; FULL: a committed
     * evaluation point survives a power loss, not only a killed process. */
    if (rc || (rc = set_wal(s, e)) || (rc = sql_exec(s, "PRAGMA synchronous = FULL", e)) ||
        (rc = sql_exec(s, "PRAGMA foreign_keys = ON", e)) || (rc = migrate(s, e))) {
        store_close(s);
        return rc;
    }
    s->version = STORE_SCHEMA_VERSION;
    *out = s;
    return LDE_OK;
}

int store_open_readonly(const char *path, Store **out, Err *e) {
    *out = NULL;
    if (access(path, F_OK) != 0)
        return fail(e, LDE_EINPUT, "%s: no database here (lde run creates it)", path);
    Store *s;
    int version = 0, rc = open_db(path, SQLITE_OPEN_READONLY, &s, e);
    if (rc) return rc;
    if ((rc = schema_version(s, &version, e)) == LDE_OK) {
        if (version == 0)
            rc = fail(e, LDE_EINPUT, "%s: not an lde database (no schema)", path);
        else if (version > STORE_SCHEMA_VERSION)
            rc = fail(e, LDE_EINPUT, "%s: database schema version %d is newer than this lde's (%d)",
                      path, version, STORE_SCHEMA_VERSION);
    }
    if (rc) {
        store_close(s);
        return rc;
    }
    s->version = version;
    *out = s;
    return LDE_OK;
}

void store_close(Store *s) {
    if (!s) return;
    sqlite3_close(s->db);
    free(s);
}

/* ---- experiments and runs ---- */

static const char *SQL_UPSERT_EXPERIMENT =
    "INSERT INTO experiments (name, config_yaml, created_at)"
    " VALUES (:name, :config, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
    " ON CONFLICT (name) DO UPDATE SET config_yaml = excluded.config_yaml";
static const char *SQL_CLEAR_MEMBERSHIP = "DELETE FROM experiment_runs WHERE experiment = :name";
static const char *SQL_INSERT_RUN = "INSERT INTO runs (id, params_json, seed)"
                                    " VALUES (:id, :params, :seed) ON CONFLICT (id) DO NOTHING";
static const char *SQL_INSERT_MEMBER = "INSERT INTO experiment_runs (experiment, run_id, position)"
                                       " VALUES (:name, :id, :position)";

static const char *SQL_MEMBERS =
    "SELECT run_id FROM experiment_runs WHERE experiment = :name ORDER BY position";

/* The run ids of experiment name's members, in order, into *ids. */
static int old_members(Store *s, const char *name, char ***ids, int *n, Err *e) {
    sqlite3_stmt *st;
    *ids = NULL, *n = 0;
    int rc = sql_prepare(s, SQL_MEMBERS, &st, e), cap = 0, r;
    if (rc) return rc;
    sql_bind_text(st, ":name", name);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **v = realloc(*ids, (size_t)cap * sizeof *v);
            if (!v) break;
            *ids = v;
        }
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!((*ids)[*n] = strdup(id ? id : ""))) break;
        (*n)++;
    }
    rc = r == SQLITE_DONE ? LDE_OK : sql_fail(s, e, "reading an experiment's runs");
    sqlite3_finalize(st);
    return rc;
}

static int add_members(Store *s, const char *name, const char *config_yaml,
                       const StoreRunSpec *runs, int nruns, Err *e) {
    sqlite3_stmt *st;
    int rc;
    if ((rc = sql_prepare(s, SQL_UPSERT_EXPERIMENT, &st, e))) return rc;
    sql_bind_text(st, ":name", name);
    sql_bind_text(st, ":config", config_yaml);
    if ((rc = sql_step_done(s, st, e, "recording the experiment"))) return rc;
    if ((rc = sql_prepare(s, SQL_CLEAR_MEMBERSHIP, &st, e))) return rc;
    sql_bind_text(st, ":name", name);
    if ((rc = sql_step_done(s, st, e, "updating the experiment's runs"))) return rc;
    for (int i = 0; i < nruns; i++) {
        if ((rc = sql_prepare(s, SQL_INSERT_RUN, &st, e))) return rc;
        sql_bind_text(st, ":id", runs[i].id);
        sql_bind_text(st, ":params", runs[i].params_json);
        sql_bind_int(st, ":seed", runs[i].seed);
        if ((rc = sql_step_done(s, st, e, "recording a run"))) return rc;
        if ((rc = sql_prepare(s, SQL_INSERT_MEMBER, &st, e))) return rc;
        sql_bind_text(st, ":name", name);
        sql_bind_text(st, ":id", runs[i].id);
        sql_bind_int(st, ":position", i);
        if ((rc = sql_step_done(s, st, e, "recording a run of the experiment"))) return rc;
    }
    return LDE_OK;
}

static int add_experiment_rows(Store *s, const char *name, const char *config_yaml,
                               const StoreRunSpec *runs, int nruns, Err *e) {
    char **old = NULL;
    int nold = 0, rc = old_members(s, name, &old, &nold, e);
    if (rc == LDE_OK) rc = add_members(s, name, config_yaml, runs, nruns, e);
    if (rc == LDE_OK) rc = inputs_record(s, name, runs, nruns, old, nold, e);
    for (int i = 0; i < nold; i++) free(old[i]);
    free(old);
    return rc;
}

int store_add_experiment(Store *s, const char *name, const char *config_yaml,
                         const StoreRunSpec *runs, int nruns, Err *e) {
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = add_experiment_rows(s, name, config_yaml, runs, nruns, e);
    return sql_end_transaction(s, rc, e);
}

static const char *SQL_RUN_STATUS = "SELECT status FROM runs WHERE id = :id";

int store_run_status(Store *s, const char *id, RunStatus *out, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_RUN_STATUS, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    *out = RUN_NONE;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int i = RUN_PENDING; i <= RUN_DIVERGED; i++)
            if (name && strcmp(name, status_names[i]) == 0) *out = (RunStatus)i;
    } else if (r != SQLITE_DONE) {
        rc = sql_fail(s, e, "reading a run's status");
    }
    sqlite3_finalize(st);
    return rc;
}

static const char *SQL_DELETE_EVALS = "DELETE FROM evals WHERE run_id = :id";
static const char *SQL_DELETE_SCORES = "DELETE FROM scores WHERE run_id = :id";
static const char *SQL_DELETE_ARRAYS = "DELETE FROM arrays WHERE run_id = :id";
static const char *SQL_BEGIN_RUN =
    "UPDATE runs SET status = 'running', started_at = :time, finished_at = NULL,"
    " wall_s = NULL, error = NULL, lde_version = :version, git_rev = :rev, host = :host,"
    " threads = :threads, blas = :blas, compiler = :compiler, attempts = attempts + 1"
    " WHERE id = :id";

int store_begin_run_rows(Store *s, const char *id, const Provenance *p, Err *e) {
    sqlite3_stmt *st;
    int rc;
    const char *deletes[3] = {SQL_DELETE_EVALS, SQL_DELETE_SCORES, SQL_DELETE_ARRAYS};
    for (int i = 0; i < 3; i++) {
        if ((rc = sql_prepare(s, deletes[i], &st, e))) return rc;
        sql_bind_text(st, ":id", id);
        if ((rc = sql_step_done(s, st, e, "removing an interrupted attempt's rows"))) return rc;
    }
    if ((rc = sql_prepare(s, SQL_BEGIN_RUN, &st, e))) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_text(st, ":time", p->time);
    sql_bind_text(st, ":version", p->lde_version);
    sql_bind_text(st, ":rev", p->git_rev);
    sql_bind_text(st, ":host", p->host);
    sql_bind_int(st, ":threads", p->threads);
    sql_bind_text(st, ":blas", p->blas);
    sql_bind_text(st, ":compiler", p->compiler);
    if ((rc = sql_step_done(s, st, e, "marking a run running"))) return rc;
    if (sqlite3_changes(s->db) != 1)
        return fail(e, LDE_ERUN, "%s: run %s is not in the database", s->path, id);
    return LDE_OK;
}

int store_begin_run(Store *s, const char *id, const Provenance *prov, Err *e) {
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = store_begin_run_rows(s, id, prov, e);
    return sql_end_transaction(s, rc, e);
}

static const char *SQL_INSERT_EVAL =
    "INSERT INTO evals (run_id, step, epoch, split, mean_bpd, median_bpd, auroc, fpr95,"
    " aupr_in, aupr_out, train_loss) VALUES (:id, :step, :epoch, :split, :mean, :median,"
    " :auroc, :fpr95, :aupr_in, :aupr_out, :loss)";
static const char *SQL_INSERT_SCORES = "INSERT INTO scores (run_id, step, split, n, bpd)"
                                       " VALUES (:id, :step, :split, :n, :bpd)";

static int eval_rows(Store *s, const char *id, long step, double epoch, double train_loss,
                     const StoreSplit *sp, Err *e) {
    sqlite3_stmt *st;
    int rc;
    if ((rc = sql_prepare(s, SQL_INSERT_EVAL, &st, e))) return rc;
    const OodMetrics none = {NAN, NAN, NAN, NAN}, *m = sp->metrics ? sp->metrics : &none;
    sql_bind_text(st, ":id", id);
    sql_bind_int(st, ":step", step);
    sql_bind_real(st, ":epoch", epoch);
    sql_bind_text(st, ":split", sp->split);
    sql_bind_real(st, ":mean", sp->mean_bpd);
    sql_bind_real(st, ":median", sp->median_bpd);
    sql_bind_real(st, ":auroc", m->auroc);
    sql_bind_real(st, ":fpr95", m->fpr95);
    sql_bind_real(st, ":aupr_in", m->aupr_in);
    sql_bind_real(st, ":aupr_out", m->aupr_out);
    sql_bind_real(st, ":loss", train_loss);
    if ((rc = sql_step_done(s, st, e, "recording an evaluation"))) return rc;
    if (!sp->bpd) return LDE_OK;
    if ((rc = sql_prepare(s, SQL_INSERT_SCORES, &st, e))) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_int(st, ":step", step);
    sql_bind_text(st, ":split", sp->split);
    sql_bind_int(st, ":n", sp->n);
    sql_bind_blob(st, ":bpd", sp->bpd, sp->n * (long)sizeof(float));
    return sql_step_done(s, st, e, "recording per-sample bpd");
}

static const char *SQL_PUT_ARRAY = "INSERT OR REPLACE INTO arrays (run_id, name, h, w, c, data)"
                                   " VALUES (:id, :name, :h, :w, :c, :data)";

int store_put_arrays(Store *s, const char *id, const StoreArray *a, int n, Err *e) {
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = claim_still_mine(s, id, e);
    for (int i = 0; i < n && rc == LDE_OK; i++) {
        sqlite3_stmt *st;
        if ((rc = sql_prepare(s, SQL_PUT_ARRAY, &st, e))) break;
        sql_bind_text(st, ":id", id);
        sql_bind_text(st, ":name", a[i].name);
        sql_bind_int(st, ":h", a[i].h);
        sql_bind_int(st, ":w", a[i].w);
        sql_bind_int(st, ":c", a[i].c);
        sql_bind_blob(st, ":data", a[i].data, (long)sizeof(float) * a[i].h * a[i].w * a[i].c);
        rc = sql_step_done(s, st, e, "recording a figure's arrays");
    }
    return sql_end_transaction(s, rc, e);
}

int store_add_eval(Store *s, const char *id, long step, double epoch, double train_loss,
                   const StoreSplit *splits, int nsplits, Err *e) {
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = claim_still_mine(s, id, e);
    for (int i = 0; i < nsplits && rc == LDE_OK; i++)
        rc = eval_rows(s, id, step, epoch, train_loss, &splits[i], e);
    return sql_end_transaction(s, rc, e);
}

static const char *SQL_FINISH_RUN =
    "UPDATE runs SET status = :status, error = :error, wall_s = :wall,"
    " finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = :id";

static int finish_row(Store *s, const char *id, RunStatus status, const char *error, double wall_s,
                      Err *e) {
    sqlite3_stmt *st;
    int rc = claim_still_mine(s, id, e);
    if (rc == LDE_OK) rc = sql_prepare(s, SQL_FINISH_RUN, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    sql_bind_text(st, ":status", status_names[status]);
    sql_bind_text(st, ":error", error);
    sql_bind_real(st, ":wall", wall_s);
    if ((rc = sql_step_done(s, st, e, "finishing a run"))) return rc;
    if (sqlite3_changes(s->db) != 1)
        return fail(e, LDE_ERUN, "%s: run %s is not in the database", s->path, id);
    return LDE_OK;
}

int store_finish_run(Store *s, const char *id, RunStatus status, const char *error, double wall_s,
                     Err *e) {
    if (status != RUN_DONE && status != RUN_FAILED && status != RUN_DIVERGED)
        return fail(e, LDE_ERUN, "%s: run %s cannot finish as '%s'", s->path, id,
                    store_status_name(status));
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    rc = finish_row(s, id, status, error, wall_s, e);
    return sql_end_transaction(s, rc, e);
}

/* ---- baselines ---- */

static const char *SQL_PUT_BASELINE =
    "INSERT OR REPLACE INTO baselines (features, method, ood, auroc, fpr95, aupr_in, aupr_out,"
    " n_id, n_ood, id_scores, ood_scores, created_at) VALUES (:features, :method, :ood,"
    " :auroc, :fpr95, :aupr_in, :aupr_out, :n_id, :n_ood, :id_scores, :ood_scores,"
    " strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))";

static int baseline_row(Store *s, const StoreBaseline *b, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_PUT_BASELINE, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":features", b->features);
    sql_bind_text(st, ":method", b->method);
    sql_bind_text(st, ":ood", b->ood);
    sql_bind_real(st, ":auroc", b->metrics.auroc);
    sql_bind_real(st, ":fpr95", b->metrics.fpr95);
    sql_bind_real(st, ":aupr_in", b->metrics.aupr_in);
    sql_bind_real(st, ":aupr_out", b->metrics.aupr_out);
    sql_bind_int(st, ":n_id", b->n_id);
    sql_bind_int(st, ":n_ood", b->n_ood);
    sql_bind_blob(st, ":id_scores", b->id_scores, b->n_id * (long)sizeof(float));
    sql_bind_blob(st, ":ood_scores", b->ood_scores, b->n_ood * (long)sizeof(float));
    return sql_step_done(s, st, e, "recording a baseline");
}

int store_put_baselines(Store *s, const StoreBaseline *b, int n, Err *e) {
    int rc = sql_exec(s, "BEGIN IMMEDIATE", e);
    if (rc) return rc;
    for (int i = 0; i < n && rc == LDE_OK; i++) rc = baseline_row(s, &b[i], e);
    return sql_end_transaction(s, rc, e);
}

static const char *SQL_LINK_FEATURES =
    "INSERT OR IGNORE INTO experiment_features (experiment, features)"
    " VALUES (:experiment, :features)";

int store_link_features(Store *s, const char *experiment, const char *features, Err *e) {
    sqlite3_stmt *st;
    int rc = sql_prepare(s, SQL_LINK_FEATURES, &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":experiment", experiment);
    sql_bind_text(st, ":features", features);
    return sql_step_done(s, st, e, "recording an experiment's features");
}
