/* test_status.c — `lde status` end to end: a database written through the store API
 * (as `lde run` writes it), then the real ./lde binary ($LDE) reads it. */
#include "store/store.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char db[512];

/* Runs `$LDE status ARGS` (stderr merged), returns its exit code and output. */
static int lde_status(const char *args, char *out, size_t n) {
    const char *lde = getenv("LDE");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' status %s 2>&1", lde ? lde : "./lde", args);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, n - 1, p) : 0;
    out[got] = 0;
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* norm: 3 runs over normalize × seed; one done with two evaluation points, one
 * failed, one pending. A second experiment shares the done run. */
static void make_db(void) {
    snprintf(db, sizeof db, "%s/lde.db", unit_tmpdir());
    static const StoreRunSpec runs[3] = {
        {"aaaa1111deadbeef", "{\"preprocess\":{\"normalize\":false,\"pca\":0},\"seed\":0}", 0, NULL,
         0},
        {"bbbb2222deadbeef", "{\"preprocess\":{\"normalize\":true,\"pca\":0},\"seed\":0}", 0, NULL,
         0},
        {"cccc3333deadbeef", "{\"preprocess\":{\"normalize\":true,\"pca\":0},\"seed\":1}", 1, NULL,
         0},
    };
    Store *s;
    Err e = {{0}};
    Provenance p;
    provenance_collect(&p, "0.1.0", "abc");
    CHECK(store_open(db, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "norm", "experiment: norm\n", runs, 3, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "other", "experiment: other\n", runs, 1, &e) == LDE_OK);
    CHECK(store_begin_run(s, runs[0].id, &p, &e) == LDE_OK);
    for (long step = 0; step <= 10; step += 10) {
        OodMetrics digits = {0.5 + 0.001 * (double)step, 0.5, 0.5, 0.5};
        OodMetrics gauss = {0.8 + 0.01 * (double)step, 0.1, 0.9, 0.9};
        StoreSplit sp[3] = {
            {.split = "val", .mean_bpd = 3, .median_bpd = 3},
            {.split = "digits", .mean_bpd = 5, .median_bpd = 5, .metrics = &digits},
            {.split = "gaussian", .mean_bpd = 9, .median_bpd = 9, .metrics = &gauss}};
        CHECK(store_add_eval(s, runs[0].id, step, 0.1 * (double)step, NAN, sp, 3, &e) == LDE_OK);
    }
    CHECK(store_finish_run(s, runs[0].id, RUN_DONE, NULL, 75.0, &e) == LDE_OK);
    CHECK(store_begin_run(s, runs[1].id, &p, &e) == LDE_OK);
    CHECK(store_finish_run(s, runs[1].id, RUN_FAILED, "features.npy: expected 2 dimensions", 3.25,
                           &e) == LDE_OK);
    store_close(s);
}

static void test_status_prints_one_line_per_run(void) {
    char out[4096], args[1024];
    snprintf(args, sizeof args, "--db '%s' norm", db);
    CHECK(lde_status(args, out, sizeof out) == 0);
    const char *want = "norm: 3 runs, 1 pending, 1 done, 1 failed\n"
                       "  run       normalize  seed  status   digits  gaussian  wall\n"
                       "  aaaa1111  false      0     done     0.510   0.900     1m15s\n"
                       "  bbbb2222  true       0     failed   -       -         3.2s\n"
                       "    error: features.npy: expected 2 dimensions\n"
                       "  cccc3333  true       1     pending  -       -         -\n";
    if (CHECK(strcmp(out, want) == 0)) fprintf(stderr, "got:\n%s", out);
}

static void test_status_without_experiment_lists_all(void) {
    char out[4096], args[1024];
    snprintf(args, sizeof args, "--db='%s'", db);
    CHECK(lde_status(args, out, sizeof out) == 0);
    /* "other" has one run: no parameter varies, so no parameter columns. */
    CHECK(strstr(out, "norm: 3 runs") != NULL);
    CHECK(strstr(out, "\nother: 1 run, 1 done\n"
                      "  run       status  digits  gaussian  wall\n"
                      "  aaaa1111  done    0.510   0.900     1m15s\n") != NULL);
}

static void test_status_bad_input_exits_2_with_one_line(void) {
    char out[4096], args[1024];
    snprintf(args, sizeof args, "--db '%s' nosuch", db);
    CHECK(lde_status(args, out, sizeof out) == 2);
    CHECK(strstr(out, "no experiment 'nosuch'") && strchr(out, '\n') == out + strlen(out) - 1);
    snprintf(args, sizeof args, "--db '%s/missing.db'", unit_tmpdir());
    CHECK(lde_status(args, out, sizeof out) == 2);
    CHECK(strstr(out, "missing.db: no database here") != NULL);
    CHECK(lde_status("--bogus", out, sizeof out) == 2 && strstr(out, "unknown option"));
}

int main(int argc, char **argv) {
    make_db();
    static const struct unit_test tests[] = {
        UNIT(test_status_prints_one_line_per_run),
        UNIT(test_status_without_experiment_lists_all),
        UNIT(test_status_bad_input_exits_2_with_one_line),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
