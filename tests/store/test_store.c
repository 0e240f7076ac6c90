/* test_store.c — the SQLite store: round trips, idempotent experiments, a shared run,
 * restarting a run, baselines, clear errors, concurrent writers, and consistency
 * after SIGKILL at random moments. */
#include "flows/rng.h"
#include "store/store.h"
#include "tests/unit.h"

#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *db_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
    return path;
}

/* One integer from a query on a separate raw connection (-1 on error). */
static long query_long(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static const StoreRunSpec RUNS[3] = {
    {"aaaa1111", "{\"preprocess\":{\"normalize\":false,\"pca\":0},\"seed\":0}", 0, NULL, 0},
    {"bbbb2222", "{\"preprocess\":{\"normalize\":true,\"pca\":0},\"seed\":0}", 0, NULL, 0},
    {"cccc3333", "{\"preprocess\":{\"normalize\":true,\"pca\":0},\"seed\":1}", 1, NULL, 0},
};

static Provenance prov(void) {
    Provenance p;
    provenance_collect(&p, "0.1.0", "abc1234-dirty");
    return p;
}

/* Writes evaluation point `step` of run id: val, and digits with metrics, with n
 * per-sample values derived from step. */
static int write_eval(Store *s, const char *id, long step, long n, Err *e) {
    float *v = malloc(sizeof(float) * (size_t)n), *o = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) v[i] = (float)(step + i), o[i] = (float)(step - i);
    OodMetrics m = {0.5 + 0.001 * (double)step, 0.25, 0.75, 0.125};
    StoreSplit sp[2] = {
        {.split = "val", .mean_bpd = 3.5, .median_bpd = 3.25, .bpd = v, .n = n},
        {.split = "digits", .mean_bpd = 7, .median_bpd = NAN, .metrics = &m, .bpd = o, .n = n},
    };
    int rc = store_add_eval(s, id, step, 0.1 * (double)step, step ? 2.5 : NAN, sp, 2, e);
    free(v), free(o);
    return rc;
}

static void test_store_run_roundtrip(void) {
    const char *path = db_path("roundtrip.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "experiment: norm\n", RUNS, 3, &e) == LDE_OK);
    Provenance p = prov();
    CHECK(p.git_dirty == 1 && p.threads >= 1 && strstr(p.blas, "OpenBLAS"));
    CHECK(strstr(p.blas, "; oneDNN 2.") != NULL);
    CHECK(store_begin_run(s, "bbbb2222", &p, &e) == LDE_OK);
    RunStatus st;
    CHECK(store_run_status(s, "bbbb2222", &st, &e) == LDE_OK && st == RUN_RUNNING);
    CHECK(write_eval(s, "bbbb2222", 0, 100, &e) == LDE_OK);
    CHECK(write_eval(s, "bbbb2222", 10, 100, &e) == LDE_OK);
    CHECK(store_finish_run(s, "bbbb2222", RUN_DONE, NULL, 12.5, &e) == LDE_OK);
    CHECK(store_run_status(s, "bbbb2222", &st, &e) == LDE_OK && st == RUN_DONE);
    CHECK(store_run_status(s, "nope", &st, &e) == LDE_OK && st == RUN_NONE);

    StoreRun *runs;
    int n;
    CHECK(store_experiment_runs(s, "norm", &runs, &n, &e) == LDE_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(strcmp(runs[0].id, "aaaa1111") == 0 && runs[0].status == RUN_PENDING);
        CHECK(isnan(runs[0].wall_s));
        CHECK(strcmp(runs[1].id, "bbbb2222") == 0 && runs[1].status == RUN_DONE);
        CHECK(runs[1].wall_s == 12.5 && runs[1].error == NULL && runs[1].finished_at[0]);
        CHECK(runs[2].seed == 1 && strstr(runs[2].params_json, "\"seed\":1"));
    }
    store_runs_free(runs, n);

    StoreEval *ev;
    CHECK(store_run_evals(s, "bbbb2222", &ev, &n, &e) == LDE_OK);
    CHECK(n == 4);
    if (n == 4) {
        /* Ordered by step, then split: digits before val. */
        CHECK(ev[0].step == 0 && strcmp(ev[0].split, "digits") == 0);
        CHECK(ev[0].auroc == 0.5 && ev[0].fpr95 == 0.25 && ev[0].aupr_in == 0.75);
        CHECK(ev[0].aupr_out == 0.125 && isnan(ev[0].median_bpd) && isnan(ev[0].train_loss));
        CHECK(strcmp(ev[1].split, "val") == 0 && isnan(ev[1].auroc) && ev[1].median_bpd == 3.25);
        CHECK(ev[3].step == 10 && ev[3].epoch == 1.0 && ev[3].train_loss == 2.5);
    }
    free(ev);

    float *bpd;
    long nb;
    CHECK(store_scores(s, "bbbb2222", 10, "digits", &bpd, &nb, &e) == LDE_OK);
    CHECK(nb == 100 && bpd && bpd[0] == 10.0f && bpd[99] == -89.0f);
    free(bpd);
    CHECK(store_scores(s, "bbbb2222", 5, "digits", &bpd, &nb, &e) == LDE_OK);
    CHECK(nb == 0 && bpd == NULL);
    store_close(s);

    /* Provenance landed in the row. */
    CHECK(query_long(path, "SELECT COUNT(*) FROM runs WHERE id = 'bbbb2222' AND"
                           " git_rev = 'abc1234-dirty' AND lde_version = '0.1.0' AND"
                           " threads >= 1 AND blas LIKE 'OpenBLAS%' AND compiler <> ''"
                           " AND host <> '' AND attempts = 1") == 1);
    CHECK(query_long(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode") == 1);
}

static void test_store_varying_params_and_values(void) {
    const char *path = db_path("varying.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 3, &e) == LDE_OK);
    char **paths;
    int n;
    CHECK(store_varying_params(s, "norm", &paths, &n, &e) == LDE_OK);
    /* pca is 0 everywhere; normalize and seed vary. */
    CHECK(n == 2 && strcmp(paths[0], "preprocess.normalize") == 0 && strcmp(paths[1], "seed") == 0);
    store_strings_free(paths, n);
    char buf[64];
    CHECK(store_run_param(s, "aaaa1111", "preprocess.normalize", buf, sizeof buf, &e) == LDE_OK);
    CHECK(strcmp(buf, "false") == 0);
    CHECK(store_run_param(s, "cccc3333", "seed", buf, sizeof buf, &e) == LDE_OK);
    CHECK(strcmp(buf, "1") == 0);
    CHECK(store_run_param(s, "cccc3333", "flow.arch", buf, sizeof buf, &e) == LDE_OK);
    CHECK(strcmp(buf, "-") == 0);

    /* Pixels against latents: backbone.* and flow.mask exist in one run each (their
     * scope), so only data.features varies; flow.hidden differs in both. */
    static const StoreRunSpec SCOPED[2] = {
        {"dddd4444",
         "{\"data\":{\"features\":\"fashion-mnist-pixels\"},\"flow\":{\"hidden\":32,"
         "\"mask\":\"checkerboard\"},\"seed\":0}",
         0, NULL, 0},
        {"eeee5555",
         "{\"backbone\":{\"batch_size\":128},\"data\":{\"features\":\"fashion-mnist\"},"
         "\"flow\":{\"hidden\":2048},\"seed\":0}",
         0, NULL, 0},
    };
    CHECK(store_add_experiment(s, "pvl", "x", SCOPED, 2, &e) == LDE_OK);
    CHECK(store_varying_params(s, "pvl", &paths, &n, &e) == LDE_OK);
    CHECK(n == 2 && strcmp(paths[0], "data.features") == 0 && strcmp(paths[1], "flow.hidden") == 0);
    store_strings_free(paths, n);
    store_close(s);
}

/* A key with an underscore, which SQLite's json_tree quotes in its paths, reads as
 * the parameter table spells it: flow.linear_init, not flow."linear_init". */
static void test_store_varying_param_with_underscore(void) {
    static const StoreRunSpec runs[2] = {
        {"dddd4444", "{\"flow\":{\"linear_init\":\"rotation\"},\"seed\":0}", 0, NULL, 0},
        {"eeee5555", "{\"flow\":{\"linear_init\":\"permutation\"},\"seed\":0}", 1, NULL, 0},
    };
    Store *s;
    Err e = {{0}};
    CHECK(store_open(db_path("underscore.db"), &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "li", "x", runs, 2, &e) == LDE_OK);
    char **paths, buf[64];
    int n;
    CHECK(store_varying_params(s, "li", &paths, &n, &e) == LDE_OK);
    CHECK(n == 1 && strcmp(paths[0], "flow.linear_init") == 0);
    store_strings_free(paths, n);
    CHECK(store_run_param(s, "eeee5555", "flow.linear_init", buf, sizeof buf, &e) == LDE_OK);
    CHECK(strcmp(buf, "permutation") == 0);
    store_close(s);
}

static void test_store_add_experiment_idempotent_and_shared_run(void) {
    const char *path = db_path("shared.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "v1", RUNS, 3, &e) == LDE_OK);
    Provenance p = prov();
    CHECK(store_begin_run(s, "cccc3333", &p, &e) == LDE_OK);
    CHECK(store_finish_run(s, "cccc3333", RUN_DONE, NULL, 1.0, &e) == LDE_OK);
    /* Again, with an edited config: still 3 runs, the done run stays done. */
    CHECK(store_add_experiment(s, "norm", "v2", RUNS, 3, &e) == LDE_OK);
    /* A second experiment reaching cccc3333 and one new run. */
    StoreRunSpec other[2] = {RUNS[2], {"dddd4444", "{\"seed\":2}", 2, NULL, 0}};
    CHECK(store_add_experiment(s, "seeds", "y", other, 2, &e) == LDE_OK);
    char **names;
    int n;
    CHECK(store_experiments(s, &names, &n, &e) == LDE_OK);
    CHECK(n == 2 && strcmp(names[0], "norm") == 0 && strcmp(names[1], "seeds") == 0);
    store_strings_free(names, n);
    StoreRun *runs;
    CHECK(store_experiment_runs(s, "seeds", &runs, &n, &e) == LDE_OK);
    CHECK(n == 2 && runs[0].status == RUN_DONE && runs[1].status == RUN_PENDING);
    store_runs_free(runs, n);
    CHECK(store_experiment_runs(s, "unknown", &runs, &n, &e) == LDE_OK && n == 0);
    store_close(s);
    CHECK(query_long(path, "SELECT COUNT(*) FROM runs") == 4);
    CHECK(query_long(path, "SELECT COUNT(*) FROM experiment_runs") == 5);
    CHECK(query_long(path, "SELECT COUNT(*) FROM experiments WHERE config_yaml = 'v2'") == 1);
}

static void test_store_begin_run_removes_earlier_attempt(void) {
    const char *path = db_path("restart.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 1, &e) == LDE_OK);
    Provenance p = prov();
    CHECK(store_begin_run(s, "aaaa1111", &p, &e) == LDE_OK);
    for (long step = 0; step < 3; step++) CHECK(write_eval(s, "aaaa1111", step, 10, &e) == 0);
    /* (killed here) */
    CHECK(store_begin_run(s, "aaaa1111", &p, &e) == LDE_OK);
    store_close(s);
    CHECK(query_long(path, "SELECT COUNT(*) FROM evals") == 0);
    CHECK(query_long(path, "SELECT COUNT(*) FROM scores") == 0);
    CHECK(query_long(path, "SELECT attempts FROM runs WHERE id = 'aaaa1111'") == 2);
}

static void test_store_rejects_unknown_runs_and_bad_status(void) {
    Store *s;
    Err e = {{0}};
    CHECK(store_open(db_path("unknown.db"), &s, &e) == LDE_OK);
    Provenance p = prov();
    CHECK(store_begin_run(s, "missing", &p, &e) == LDE_ERUN && strstr(e.msg, "missing"));
    CHECK(store_finish_run(s, "missing", RUN_DONE, NULL, 1, &e) == LDE_ERUN);
    CHECK(store_finish_run(s, "missing", RUN_RUNNING, NULL, 1, &e) == LDE_ERUN);
    /* evals of a run that does not exist violate the foreign key: nothing written. */
    CHECK(write_eval(s, "missing", 0, 4, &e) == LDE_ERUN);
    store_close(s);
    CHECK(query_long(db_path("unknown.db"), "SELECT COUNT(*) FROM evals") == 0);
}

static void test_store_baselines_roundtrip(void) {
    Store *s;
    Err e = {{0}};
    CHECK(store_open(db_path("baselines.db"), &s, &e) == LDE_OK);
    float id[3] = {1, 2, 3}, ood[2] = {4, 5};
    StoreBaseline b[2] = {
        {.features = "feat1",
         .method = "msp",
         .ood = "digits",
         .metrics = {0.9, 0.3, 0.8, 0.7},
         .id_scores = id,
         .ood_scores = ood,
         .n_id = 3,
         .n_ood = 2},
        {.features = "feat1",
         .method = "energy",
         .ood = "digits",
         .metrics = {0.95, 0.2, 0.85, 0.75},
         .n_id = 3,
         .n_ood = 2},
    };
    CHECK(store_put_baselines(s, b, 2, &e) == LDE_OK);
    b[0].metrics.auroc = 0.91; /* replacing keeps one row per key */
    CHECK(store_put_baselines(s, b, 1, &e) == LDE_OK);
    StoreBaselineRow *rows;
    int n;
    CHECK(store_get_baselines(s, "feat1", &rows, &n, &e) == LDE_OK);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(strcmp(rows[0].method, "energy") == 0 && rows[0].id_scores == NULL);
        CHECK(rows[0].n_id == 3 && rows[0].metrics.fpr95 == 0.2);
        CHECK(strcmp(rows[1].method, "msp") == 0 && rows[1].metrics.auroc == 0.91);
        CHECK(rows[1].n_ood == 2 && rows[1].ood_scores && rows[1].ood_scores[1] == 5.0f);
    }
    store_baselines_free(rows, n);
    CHECK(store_get_baselines(s, "other", &rows, &n, &e) == LDE_OK && n == 0);
    store_close(s);
}

static void test_store_readonly_missing_file_is_clear_error(void) {
    Store *s = (Store *)1;
    Err e = {{0}};
    const char *path = db_path("does-not-exist.db");
    CHECK(store_open_readonly(path, &s, &e) == LDE_EINPUT);
    CHECK(s == NULL && strstr(e.msg, path) && strstr(e.msg, "no database"));
    CHECK(access(path, F_OK) != 0); /* and nothing was created */
}

static void test_store_refuses_newer_schema(void) {
    const char *path = db_path("newer.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(store_open(path, &s, &e) == LDE_EINPUT && strstr(e.msg, "newer"));
    CHECK(store_open_readonly(path, &s, &e) == LDE_EINPUT && strstr(e.msg, "newer"));
}

/* experiment -> feature keys: idempotent links, sorted keys, per experiment. */
static void test_store_experiment_features_roundtrip(void) {
    const char *path = db_path("links.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_link_features(s, "seeds", "ffff0000", &e) == LDE_OK);
    CHECK(store_link_features(s, "seeds", "0000aaaa", &e) == LDE_OK);
    CHECK(store_link_features(s, "seeds", "ffff0000", &e) == LDE_OK); /* again: no new row */
    CHECK(store_link_features(s, "other", "0000aaaa", &e) == LDE_OK);
    char **keys;
    int n;
    CHECK(store_experiment_features(s, "seeds", &keys, &n, &e) == LDE_OK);
    CHECK(n == 2 && !strcmp(keys[0], "0000aaaa") && !strcmp(keys[1], "ffff0000"));
    store_strings_free(keys, n);
    CHECK(store_experiment_features(s, "nothing", &keys, &n, &e) == LDE_OK);
    CHECK(n == 0 && keys == NULL);
    store_close(s);
}

/* What turns a database of this version back into one of version 4 (issue 20:
 * the claim columns of version 5). */
#define DROP_V5                                                                                    \
    " ALTER TABLE runs DROP COLUMN claim_worker; ALTER TABLE runs DROP COLUMN claim_host;"         \
    " ALTER TABLE runs DROP COLUMN claim_pid; ALTER TABLE runs DROP COLUMN claimed_at;"            \
    " ALTER TABLE runs DROP COLUMN heartbeat_at;"

/* A version 1 database (before experiment_features and arrays) is upgraded on
 * open, and keeps its rows. */
static void test_store_upgrades_version_1(void) {
    const char *path = db_path("v1.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 1, &e) == LDE_OK);
    store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "DROP TABLE experiment_features; DROP TABLE arrays; DROP TABLE inputs;"
                       " DROP TABLE experiment_inputs;" DROP_V5 " PRAGMA user_version = 1",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(query_long(path, "PRAGMA user_version") == 1);
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_link_features(s, "norm", "abc", &e) == LDE_OK);
    store_close(s);
    CHECK(query_long(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION);
    CHECK(query_long(path, "SELECT count(*) FROM experiment_features") == 1);
    CHECK(query_long(path, "SELECT count(*) FROM experiment_runs") == 1);
}

/* A run's figure arrays come back by prefix, in name order, with their shape and
 * every value; a new attempt at the run (store_begin_run) removes them. */
static void test_store_arrays_roundtrip_and_cleared_by_a_new_attempt(void) {
    const char *path = db_path("arrays.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 1, &e) == LDE_OK);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f};
    StoreArray arr[3] = {{"coupling/val/01/s", 2, 3, 1, a},
                         {"coupling/val/00/s", 1, 1, 2, b},
                         {"image/val", 1, 2, 1, b}};
    CHECK(store_put_arrays(s, RUNS[0].id, arr, 3, &e) == LDE_OK);
    StoreArrayRow *rows;
    int n;
    CHECK(store_get_arrays(s, RUNS[0].id, "coupling/", &rows, &n, &e) == LDE_OK);
    CHECK(n == 2 && strcmp(rows[0].name, "coupling/val/00/s") == 0);
    CHECK(rows[0].h == 1 && rows[0].w == 1 && rows[0].c == 2 && rows[0].data[1] == 0.5f);
    CHECK(rows[1].h == 2 && rows[1].w == 3 && memcmp(rows[1].data, a, sizeof a) == 0);
    store_arrays_free(rows, n);
    Provenance p = prov();
    CHECK(store_begin_run(s, RUNS[0].id, &p, &e) == LDE_OK);
    CHECK(store_get_arrays(s, RUNS[0].id, "", &rows, &n, &e) == LDE_OK);
    CHECK(n == 0 && rows == NULL);
    store_close(s);
}

/* A version 2 database gets the arrays table on open. */
static void test_store_upgrades_version_2(void) {
    const char *path = db_path("v2.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "DROP TABLE arrays; DROP TABLE inputs; DROP TABLE experiment_inputs;" DROP_V5
                       " PRAGMA user_version = 2",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(store_open(path, &s, &e) == LDE_OK);
    store_close(s);
    CHECK(query_long(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION);
    CHECK(query_long(path, "SELECT count(*) FROM arrays") == 0);
}

/* A version 3 database (before inputs) with a finished run on user files opens
 * read-only as it is (the run has no inputs rows), is upgraded by a writing open,
 * and keeps every row; re-adding its experiment with the run under a new id keeps
 * the old run as a member (inputs unknown), after the new one. */
static void test_store_upgrades_version_3_keeping_its_runs(void) {
    const char *path = db_path("v3.db");
    static const StoreRunSpec old = {
        "oldrun", "{\"data\":{\"features\":{\"train\":\"/d/train.npy\"}},\"seed\":0}", 0, NULL, 0};
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "x", "v3", &old, 1, &e) == LDE_OK);
    Provenance p = prov();
    CHECK(store_begin_run(s, "oldrun", &p, &e) == LDE_OK);
    CHECK(write_eval(s, "oldrun", 0, 10, &e) == LDE_OK);
    CHECK(store_finish_run(s, "oldrun", RUN_DONE, NULL, 1.0, &e) == LDE_OK);
    store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "DROP TABLE inputs; DROP TABLE experiment_inputs;" DROP_V5
                       " PRAGMA user_version = 3",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    StoreInputRow *rows;
    int n = -1;
    CHECK(store_open_readonly(path, &s, &e) == LDE_OK);
    CHECK(store_run_inputs(s, "oldrun", &rows, &n, &e) == LDE_OK && n == 0);
    store_close(s);
    CHECK(query_long(path, "PRAGMA user_version") == 3);
    CHECK(store_open(path, &s, &e) == LDE_OK);
    const StoreInput in = {"train", "/d/train.npy", "0123456789abcdef0123456789abcdef", 10, 5};
    const StoreRunSpec now = {"newrun", "{\"data\":{\"features\":{\"train\":\"0123\"}}}", 0, &in,
                              1};
    CHECK(store_add_experiment(s, "x", "v4", &now, 1, &e) == LDE_OK);
    store_close(s);
    CHECK(query_long(path, "PRAGMA user_version") == STORE_SCHEMA_VERSION);
    CHECK(query_long(path, "SELECT count(*) FROM evals WHERE run_id = 'oldrun'") == 2);
    CHECK(query_long(path, "SELECT count(*) FROM runs WHERE id = 'oldrun' AND status = 'done'") ==
          1);
    CHECK(query_long(path, "SELECT position FROM experiment_runs WHERE run_id = 'oldrun'") == 1);
    CHECK(query_long(path, "SELECT position FROM experiment_runs WHERE run_id = 'newrun'") == 0);
}

/* Inputs rows round-trip; when an experiment's file changes, the runs of its old
 * bytes stay members after the current ones (stale), while a run that merely left
 * the grid leaves the experiment as before. */
static void test_store_inputs_and_stale_members(void) {
    const char *path = db_path("inputs.db");
    const char *d1 = "11111111111111111111111111111111", *d2 = "22222222222222222222222222222222";
    const StoreInput in1[2] = {{"train", "/a/train.npy", d1, 100, 7},
                               {"val", "/a/val.npy", d1, 9, 8}};
    const StoreInput in2[1] = {{"train", "/a/train.npy", d2, 100, 9}};
    const StoreRunSpec a = {"runa", "{\"seed\":0}", 0, in1, 2},
                       b = {"runb", "{\"seed\":0}", 0, in2, 1},
                       c = {"runc", "{\"seed\":1}", 1, in2, 1};
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "x", "c", &a, 1, &e) == LDE_OK);
    StoreInputRow *rows;
    int n;
    CHECK(store_run_inputs(s, "runa", &rows, &n, &e) == LDE_OK && n == 2);
    CHECK(n == 2 && strcmp(rows[0].role, "train") == 0 && strcmp(rows[0].digest, d1) == 0 &&
          rows[0].bytes == 100 && rows[0].mtime_ns == 7 && strcmp(rows[1].path, "/a/val.npy") == 0);
    store_inputs_free(rows, n);
    const StoreRunSpec bc[2] = {b, c};
    CHECK(store_add_experiment(s, "x", "c", bc, 2, &e) == LDE_OK);
    CHECK(store_experiment_inputs(s, "x", &rows, &n, &e) == LDE_OK && n == 1);
    CHECK(n == 1 && strcmp(rows[0].digest, d2) == 0);
    store_inputs_free(rows, n);
    CHECK(store_add_experiment(s, "x", "c", &b, 1, &e) == LDE_OK);
    store_close(s);
    CHECK(query_long(path, "SELECT count(*) FROM experiment_runs") == 2);
    CHECK(query_long(path, "SELECT position FROM experiment_runs WHERE run_id = 'runa'") >= 1);
    CHECK(query_long(path, "SELECT count(*) FROM experiment_runs WHERE run_id = 'runc'") == 0);
    CHECK(query_long(path, "SELECT count(*) FROM inputs") == 4);
}

/* A child process that restarts run id forever, writing evaluation points. */
static void writer_loop(const char *path, const char *id, int forever, long points) {
    Store *s;
    Err e = {{0}};
    if (store_open(path, &s, &e) != LDE_OK) _exit(3);
    Provenance p = prov();
    do {
        if (store_begin_run(s, id, &p, &e) != LDE_OK) _exit(4);
        for (long step = 0; step < points; step++)
            if (write_eval(s, id, step, 2000, &e) != LDE_OK) _exit(5);
        if (store_finish_run(s, id, RUN_DONE, NULL, 1.0, &e) != LDE_OK) _exit(6);
    } while (forever);
    store_close(s);
    _exit(0);
}

static void test_store_consistent_after_sigkill_at_random_moments(void) {
    const char *path = db_path("killed.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 1, &e) == LDE_OK);
    store_close(s);
    int mid_run = 0;
    for (int k = 0; k < 12; k++) {
        pid_t pid = fork();
        if (pid == 0) writer_loop(path, "aaaa1111", 1, 20);
        /* 2–80 ms: lands in begin_run, inside evaluation points and in finish_run. */
        usleep(2000 + (useconds_t)(78000 * rng_uniform(5, 1, (uint64_t)k)));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status)); /* it was still writing, not failed */
        sqlite3 *db;
        char *ok = NULL;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                ok = strdup((const char *)sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
        CHECK(ok && strcmp(ok, "ok") == 0);
        free(ok);
        /* Every evaluation point is whole: 2 evals rows, each with its scores. */
        CHECK(query_long(path, "SELECT COUNT(*) FROM (SELECT step FROM evals GROUP BY step"
                               " HAVING COUNT(*) <> 2)") == 0);
        CHECK(query_long(path, "SELECT COUNT(*) FROM evals e LEFT JOIN scores s"
                               " USING (run_id, step, split) WHERE s.n IS NULL") == 0);
        CHECK(query_long(path, "SELECT COUNT(*) FROM scores WHERE length(bpd) <> 8000") == 0);
        mid_run += query_long(path, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == 1 &&
                   query_long(path, "SELECT COUNT(*) FROM evals") > 0;
        /* The next attempt starts clean. */
        CHECK(store_open(path, &s, &e) == LDE_OK);
        Provenance p = prov();
        CHECK(store_begin_run(s, "aaaa1111", &p, &e) == LDE_OK);
        store_close(s);
        CHECK(query_long(path, "SELECT COUNT(*) FROM evals") == 0);
        CHECK(query_long(path, "SELECT COUNT(*) FROM scores") == 0);
    }
    CHECK(mid_run >= 1); /* some kills interrupted a run with evaluations written */
}

static void test_store_concurrent_writers_wait_for_each_other(void) {
    /* Two processes (as `--jobs 2` would) write two runs at once through two
     * connections; busy_timeout serialises their transactions, nobody fails. */
    const char *path = db_path("jobs.db");
    Store *s;
    Err e = {{0}};
    CHECK(store_open(path, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "x", RUNS, 2, &e) == LDE_OK);
    store_close(s);
    pid_t a = fork();
    if (a == 0) writer_loop(path, "aaaa1111", 0, 15);
    pid_t b = fork();
    if (b == 0) writer_loop(path, "bbbb2222", 0, 15);
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
    CHECK(query_long(path, "SELECT COUNT(*) FROM evals") == 2 * 15 * 2);
    CHECK(query_long(path, "SELECT COUNT(*) FROM runs WHERE status = 'done'") == 2);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_store_run_roundtrip),
        UNIT(test_store_varying_params_and_values),
        UNIT(test_store_varying_param_with_underscore),
        UNIT(test_store_add_experiment_idempotent_and_shared_run),
        UNIT(test_store_begin_run_removes_earlier_attempt),
        UNIT(test_store_rejects_unknown_runs_and_bad_status),
        UNIT(test_store_baselines_roundtrip),
        UNIT(test_store_readonly_missing_file_is_clear_error),
        UNIT(test_store_refuses_newer_schema),
        UNIT(test_store_experiment_features_roundtrip),
        UNIT(test_store_upgrades_version_1),
        UNIT(test_store_upgrades_version_2),
        UNIT(test_store_upgrades_version_3_keeping_its_runs),
        UNIT(test_store_inputs_and_stale_members),
        UNIT(test_store_arrays_roundtrip_and_cleared_by_a_new_attempt),
        UNIT(test_store_consistent_after_sigkill_at_random_moments),
        UNIT(test_store_concurrent_writers_wait_for_each_other),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
