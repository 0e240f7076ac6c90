/* test_config.c — configs load, validate and plan as DESIGN.md (Configs) says:
 * positions in errors, nearest-key suggestions, grid order, zip, canonical ids,
 * user .npy headers, baselines, and every shipped config. */
#include "config/config.h"
#include "config/evalsched.h"
#include "config/plan.h"
#include "config/yamltree.h"
#include "tests/unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes text to unit_tmpdir()/name and returns the path (static buffer ring). */
static const char *write_file(const char *name, const char *text) {
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 512, "%s/%s", unit_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* A float32 .npy of the given shape (zeros), written by hand: v1 header. */
static void write_npy(const char *name, int ndim, long long r, long long c) {
    char path[512], dict[128];
    snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
    if (ndim == 2)
        snprintf(dict, sizeof dict,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }", r, c);
    else
        snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld,), }",
                 r);
    size_t dl = strlen(dict), hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    fputs(dict, f);
    for (size_t i = dl; i < hl - 1; i++) fputc(' ', f);
    fputc('\n', f);
    long long n = ndim == 2 ? r * c : r;
    float zero = 0;
    for (long long i = 0; i < n; i++) fwrite(&zero, sizeof zero, 1, f);
    fclose(f);
}

/* Loads and plans text; returns the rc and leaves the message in e. */
static int load_plan(const char *name, const char *text, Config *c, Plan *p, Err *e) {
    int rc = config_load(write_file(name, text), c, e);
    if (rc != LDE_OK) return rc;
    rc = plan_build(c, p, e);
    if (rc != LDE_OK) config_free(c);
    return rc;
}

static int expect_error(const char *text, const char *needle) {
    Config c;
    Plan p;
    Err e = {{0}};
    int rc = load_plan("bad.yaml", text, &c, &p, &e);
    if (rc == LDE_OK) {
        plan_free(&p);
        config_free(&c);
        printf("  no error for: %s\n", text);
        return 0;
    }
    int ok = rc == LDE_EINPUT && strstr(e.msg, needle) && strstr(e.msg, "bad.yaml") &&
             !strchr(e.msg, '\n');
    if (!ok) printf("  message '%s' lacks '%s'\n", e.msg, needle);
    return ok;
}

static void test_yamltree_keeps_line_and_column(void) {
    const char *t = "a: 1\nb:\n  c: [x, 'y']\n";
    YtNode *root;
    Err e;
    CHECK(yt_parse(t, strlen(t), "t.yaml", &root, &e) == LDE_OK);
    const YtNode *c = yt_get(yt_get(root, "b"), "c");
    CHECK(c && c->kind == YT_SEQ && c->n == 2 && c->line == 3 && c->col == 6);
    CHECK(c && c->vals[1]->quoted && c->vals[1]->col == 10 && !c->vals[0]->quoted);
    yt_free(root);
}

static void test_yamltree_duplicate_key_names_both_places(void) {
    const char *t = "a: 1\nb: 2\na: 3\n";
    YtNode *root;
    Err e;
    CHECK(yt_parse(t, strlen(t), "t.yaml", &root, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "t.yaml:3:1: duplicate key `a` (first at line 1:1)") != NULL);
}

static void test_yamltree_caps_depth_and_size(void) {
    char deep[400] = "";
    for (int i = 0; i < 40; i++) strcat(deep, "[");
    YtNode *root;
    Err e;
    CHECK(yt_parse(deep, strlen(deep), "d.yaml", &root, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "nested deeper than 32") != NULL);
    char *big = malloc(YT_MAX_BYTES + 10);
    memset(big, '#', YT_MAX_BYTES + 9);
    big[YT_MAX_BYTES + 9] = 0;
    CHECK(yt_parse(big, strlen(big), "big.yaml", &root, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "at most") != NULL);
    free(big);
    /* Many keys in one mapping: refused quickly, not compared pairwise for seconds. */
    char *wide = malloc(20000);
    size_t len = 0;
    for (int i = 0; i <= YT_MAX_KEYS; i++) len += (size_t)sprintf(wide + len, "k%d: 1\n", i);
    CHECK(yt_parse(wide, len, "w.yaml", &root, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "w.yaml:1001:1: a mapping with more than 1000 keys") != NULL);
    free(wide);
}

static void test_yamltree_refuses_aliases(void) {
    const char *t = "a: &x 1\nb: *x\n";
    YtNode *root;
    Err e;
    CHECK(yt_parse(t, strlen(t), "t.yaml", &root, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "t.yaml:2:4: YAML aliases") != NULL);
}

static void test_unknown_key_suggests_nearest(void) {
    CHECK(expect_error("preprocess:\n  normalise: true\n",
                       "bad.yaml:2:3: unknown key `normalise` in preprocess — did you mean "
                       "`normalize`?"));
    CHECK(expect_error("flow:\n  blocs: 3\n", "did you mean `blocks`?"));
    CHECK(expect_error("pca: 3\n", "`pca` belongs under `preprocess`"));
    CHECK(expect_error("flow:\n  arch: glw\n", "unknown value `glw` — did you mean `glow`?"));
}

static void test_type_and_range_errors_name_position(void) {
    CHECK(expect_error("train:\n  batch_size: 0\n", "bad.yaml:2:15: train.batch_size: 0 is out"));
    CHECK(expect_error("train:\n  lr: -1e-4\n", "bad.yaml:2:7: train.lr"));
    CHECK(expect_error("train:\n  epochs: \"1\"\n", "expected a number, got the string `1`"));
    CHECK(expect_error("flow:\n  blocks: 2.5\n", "expected an integer"));
    CHECK(expect_error("preprocess:\n  pca: 300\n",
                       "bad.yaml:2:8: preprocess.pca: 300 components are more than the feature "
                       "dimension 256"));
    CHECK(expect_error("data:\n  ood: [heldout]\n", "`heldout` needs data.id_classes"));
    /* A value spanning lines is quoted on one line (found by fuzz_config). */
    CHECK(expect_error("data:\n  ood: [digits, v\n\n  x]\n", "unknown value `v x`"));
}

/* The same point written differently (1e-4 / 0.0001, 1 / 1.0, eval_every left
 * to its default of `epochs`) has the same id; a different seed does not. */
static void test_numbers_normalized_same_point_same_id(void) {
    Config a, b, s;
    Plan pa, pb, ps;
    Err e;
    CHECK(load_plan("a.yaml", "train:\n  lr: 1e-4\n  epochs: 1\n", &a, &pa, &e) == LDE_OK);
    CHECK(load_plan("b.yaml",
                    "experiment: other\ntrain:\n  lr: 0.0001\n  epochs: 1.0\n"
                    "  eval_every: 1\n",
                    &b, &pb, &e) == LDE_OK);
    CHECK(load_plan("s.yaml", "seed: 1\n", &s, &ps, &e) == LDE_OK);
    CHECK(strcmp(pa.runs[0].id, pb.runs[0].id) == 0);
    CHECK(strcmp(pa.runs[0].params_json, pb.runs[0].params_json) == 0);
    CHECK(strcmp(pa.runs[0].id, ps.runs[0].id) != 0);
    CHECK(strstr(pa.runs[0].params_json, "\"lr\":0.0001") != NULL);
    plan_free(&pa), plan_free(&pb), plan_free(&ps);
    config_free(&a), config_free(&b), config_free(&s);
}

/* Axes cross in file order, the first slowest; a list of lists makes a list
 * parameter an axis; defaults fill the rest. */
static void test_grid_is_cartesian_in_file_order(void) {
    Config c;
    Plan p;
    Err e;
    CHECK(load_plan("g.yaml",
                    "preprocess:\n  pca: [8, 0]\nseed: [3, 4, 5]\n"
                    "data:\n  backbone:\n    channels: [[8, 8, 16], [32]]\n",
                    &c, &p, &e) == LDE_OK);
    CHECK(p.n_runs == 12 && p.n_varying == 3);
    if (p.n_runs == 12) {
        CHECK(p.runs[0].spec.preprocess.pca == 8 && p.runs[0].spec.seed == 3);
        CHECK(p.runs[1].spec.data.backbone.channels.n == 1);
        CHECK(p.runs[2].spec.seed == 4 && p.runs[6].spec.preprocess.pca == 0);
        CHECK(p.runs[11].spec.data.backbone.channels.v[0] == 32);
        /* a width may repeat */
        CHECK(p.runs[0].spec.data.backbone.channels.n == 3 &&
              p.runs[0].spec.data.backbone.channels.v[2] == 16);
        CHECK(p.runs[0].spec.flow.arch == FLOW_GLOW && p.runs[0].spec.flow.hidden == 2048);
        CHECK_NEAR(p.runs[0].spec.preprocess.epsilon, 1.0 / 1024, 0); /* exact in binary */
    }
    /* d is the last channel width, so pca is checked against each channels value. */
    plan_free(&p);
    config_free(&c);
    CHECK(
        expect_error("preprocess:\n  pca: 64\ndata:\n  backbone:\n    channels: [[8, 128], [32]]\n",
                     "64 components are more than the feature dimension 32"));
}

static void test_zip_varies_together(void) {
    Config c;
    Plan p;
    Err e;
    CHECK(load_plan("z.yaml",
                    "seed: [0, 1]\nzip:\n  preprocess.pca: [64, 128, 0]\n"
                    "  train.lr: [1.0e-4, 1.0e-4, 5.0e-5]\n",
                    &c, &p, &e) == LDE_OK);
    CHECK(p.n_runs == 6);
    if (p.n_runs == 6) {
        CHECK(p.runs[2].spec.preprocess.pca == 0 && p.runs[2].spec.train.lr == 5.0e-5);
        CHECK(p.runs[3].spec.seed == 1 && p.runs[3].spec.preprocess.pca == 64);
    }
    plan_free(&p);
    config_free(&c);
    CHECK(expect_error("zip:\n  preprocess.pca: [64, 128]\n  train.lr: [1, 2, 3]\n",
                       "bad.yaml:3:13: zip: `train.lr` has 3 values but `preprocess.pca` has 2"));
    CHECK(expect_error("preprocess:\n  pca: 4\nzip:\n  preprocess.pca: [64]\n  seed: [1]\n",
                       "set twice"));
}

static void test_duplicate_points_run_once(void) {
    Config c;
    Plan p;
    Err e;
    CHECK(load_plan("d.yaml", "seed: [0, 0, 1]\n", &c, &p, &e) == LDE_OK);
    CHECK(p.n_runs == 2);
    plan_free(&p);
    config_free(&c);
}

static void test_user_features_check_npy_shapes(void) {
    write_npy("tr.npy", 2, 100, 8);
    write_npy("va.npy", 2, 20, 8);
    write_npy("oo.npy", 2, 30, 8);
    write_npy("bad.npy", 2, 30, 7);
    write_npy("W.npy", 2, 10, 8);
    write_npy("b.npy", 1, 10, 0);
    write_npy("lab.npy", 1, 100, 0);
    Err e;
    Config c;
    Plan p;
    CHECK(load_plan("u.yaml",
                    "data:\n  features: {train: tr.npy, val: va.npy, ood: {far: oo.npy},\n"
                    "             head: {W: W.npy, b: b.npy}, train_labels: lab.npy}\n"
                    "preprocess:\n  pca: 8\n",
                    &c, &p, &e) == LDE_OK);
    if (p.n_runs == 1) {
        const FeatureSource *fs = p.runs[0].spec.data.features;
        CHECK(!fs->builtin && fs->d == 8 && fs->n_ood == 1 && fs->head_W && fs->train_labels);
        CHECK(strstr(p.runs[0].params_json, "backbone") == NULL); /* not in a user run's id */
        CHECK(fs->train[0] == '/');
        plan_free(&p);
        config_free(&c);
    }
    CHECK(expect_error("data:\n  features: {train: tr.npy, val: va.npy, ood: {far: bad.npy}}\n",
                       "bad.yaml:2:53: data.features.ood.far: bad.npy has shape (30, 7), "
                       "expected (N, 8)"));
    CHECK(expect_error("data:\n  features: {train: tr.npy, val: nope.npy, ood: {f: oo.npy}}\n",
                       "data.features.val:"));
    CHECK(expect_error("data:\n  features: {train: tr.npy, val: va.npy, ood: {f: oo.npy}}\n"
                       "preprocess:\n  pca: 9\n",
                       "9 components are more than the feature dimension 8"));
    CHECK(expect_error("data:\n  features: {train: tr.npy, val: va.npy, ood: {f: oo.npy},"
                       " train_labels: b.npy}\n",
                       "has shape (10), expected (100)"));
}

static void test_baselines_defaults_and_options(void) {
    Config c;
    Err e;
    CHECK(config_load(
              write_file("b1.yaml", "baselines: [msp, energy, odin, react, mahalanobis, knn]\n"),
              &c, &e) == LDE_OK);
    CHECK(c.n_baselines == 6);
    if (c.n_baselines == 6) {
        CHECK(c.baselines[1].T == 1 && c.baselines[2].T == 1000 && c.baselines[2].eps == 0.0014);
        CHECK(c.baselines[3].percentile == 90 && c.baselines[5].k == 50);
        CHECK(strcmp(baseline_name(c.baselines[4].method), "mahalanobis") == 0);
    }
    config_free(&c);
    CHECK(config_load(write_file("b2.yaml", "baselines:\n  knn: {k: 5}\n  odin: {T: 10}\n"), &c,
                      &e) == LDE_OK);
    CHECK(c.n_baselines == 2 && c.baselines[0].k == 5 && c.baselines[1].T == 10 &&
          c.baselines[1].eps == 0.0014);
    config_free(&c);
    CHECK(expect_error("baselines: [msp, enrgy]\n", "did you mean `energy`?"));
    CHECK(expect_error("baselines:\n  knn: {T: 3}\n", "unknown key `T` in baselines.knn"));
}

static void test_experiment_name_defaults_to_file_name(void) {
    Config c;
    Err e;
    CHECK(config_load(write_file("my-study.yaml", "seed: 0\n"), &c, &e) == LDE_OK);
    CHECK(strcmp(c.name, "my-study") == 0 && c.yaml && strstr(c.yaml, "seed: 0"));
    config_free(&c);
}

/* Every shipped config loads and plans (run from the repository root). */
static void test_shipped_configs_load_and_plan(void) {
    const char *names[] = {"quickstart", "normalization", "undertraining",
                           "pca",        "architectures", "baselines"};
    const int runs[] = {1, 6, 3, 15, 9, 3};
    for (int i = 0; i < 6; i++) {
        char path[128];
        snprintf(path, sizeof path, "configs/%s.yaml", names[i]);
        Config c;
        Plan p;
        Err e = {{0}};
        int ok = config_load(path, &c, &e) == LDE_OK;
        if (ok && plan_build(&c, &p, &e) == LDE_OK) {
            CHECK(p.n_runs == runs[i]);
            CHECK(strcmp(c.name, names[i]) == 0);
            plan_free(&p);
        } else {
            CHECK(!"shipped config failed");
            printf("  %s: %s\n", path, e.msg);
        }
        if (ok) config_free(&c);
    }
}

/* Golden ids: changing them silently would orphan every stored result. (Changed
 * on purpose by flow.linear_init, issue 17: Glow's start changed its results.) */
static void test_golden_ids_are_stable(void) {
    static const char *const want[] = {
        "cf2fbe93444920b37abdd5d8f269a8fb", /* quickstart */
        "835d6ae845f630814496a070b83c08e4", /* normalization: seed 0, normalize false */
        "e01ebeb6c5e93ec34e029fdad552be10", "f1c16b3f19cd7e9c6306eb58ab867e48",
        "e51169b232eb9e7b315384c890361609", "2145be2f52dca91a0ef9f6d758b75bd6",
        "6f3e06b1b6c7c465dd418d7b43b8a837"};
    const char *files[] = {"configs/quickstart.yaml", "configs/normalization.yaml"};
    int k = 0;
    for (int f = 0; f < 2; f++) {
        Config c;
        Plan p;
        Err e;
        if (config_load(files[f], &c, &e) != LDE_OK) {
            CHECK(!"load failed");
            continue;
        }
        if (plan_build(&c, &p, &e) == LDE_OK) {
            for (int r = 0; r < p.n_runs && k < 7; r++, k++)
                CHECK(strcmp(p.runs[r].id, want[k]) == 0);
            plan_free(&p);
        }
        config_free(&c);
    }
    CHECK(k == 7);
}

/* The steps of one planned point's evaluation schedule, as "0 9 19 ..." text. */
static void schedule_text(const char *yaml, long per_epoch, long total, char *out, size_t n) {
    Config c;
    Plan p;
    Err e = {{0}};
    out[0] = 0;
    if (CHECK(load_plan("sched.yaml", yaml, &c, &p, &e) == LDE_OK)) { /* 1 = failed */
        printf("  %s\n", e.msg);
        return;
    }
    long *steps;
    int k;
    if (!CHECK(evalsched_steps(&p.runs[0].spec, per_epoch, total, &steps, &k) == 0)) {
        size_t len = 0;
        for (int i = 0; i < k && len < n; i++)
            len += (size_t)snprintf(out + len, n - len, "%s%ld", i ? " " : "", steps[i]);
        free(steps);
    }
    plan_free(&p);
    config_free(&c);
}

/* eval_every: log is the 1-2-5 sequence of epochs from 0.01 (12 points over 20
 * epochs, issue 19's example), eval_at the listed epochs; both start at step 0 and
 * end at the last step, epochs rounding to one step count once. 937 steps to an
 * epoch: Fashion-MNIST's 60,000 images in batches of 64. */
static void test_eval_schedules_log_and_listed(void) {
    char got[1024];
    schedule_text("train:\n  epochs: 20\n  eval_every: log\n", 937, 18740, got, sizeof got);
    CHECK(strcmp(got, "0 9 19 47 94 187 469 937 1874 4685 9370 18740") == 0);
    printf("  log: %s\n", got);
    schedule_text("train:\n  epochs: 1\n  eval_at: [0, 0.001, 0.002, 0.5, 1]\n", 937, 937, got,
                  sizeof got);
    CHECK(strcmp(got, "0 1 2 469 937") == 0); /* 0.001 epoch is step 0.937 -> 1 */
    schedule_text("train:\n  epochs: 1\n  eval_at: [0.0001, 0.0011]\n", 937, 937, got, sizeof got);
    CHECK(strcmp(got, "0 1 937") == 0); /* step 0 and a repeated step 1 count once */
    schedule_text("train:\n  epochs: 1\n  eval_every: 0.25\n", 100, 100, got, sizeof got);
    CHECK(strcmp(got, "0 25 50 75 100") == 0);
    schedule_text("train:\n  epochs: 1\n", 100, 100, got, sizeof got);
    CHECK(strcmp(got, "0 100") == 0);
}

/* eval_at enters a run's id only when set (every stored id stays), `log` is
 * written as the word; errors name the position. */
static void test_eval_at_and_log_ids_and_errors(void) {
    Config a, b, l;
    Plan pa, pb, pl;
    Err e;
    CHECK(load_plan("a.yaml", "train:\n  epochs: 2\n", &a, &pa, &e) == LDE_OK);
    CHECK(load_plan("b.yaml", "train:\n  epochs: 2\n  eval_at: [0.5, 1]\n", &b, &pb, &e) == LDE_OK);
    CHECK(load_plan("l.yaml", "train:\n  epochs: 2\n  eval_every: log\n", &l, &pl, &e) == LDE_OK);
    CHECK(strstr(pa.runs[0].params_json, "eval_at") == NULL);
    CHECK(strstr(pb.runs[0].params_json, "\"eval_at\":[0.5,1]") != NULL);
    CHECK(strstr(pl.runs[0].params_json, "\"eval_every\":\"log\"") != NULL);
    CHECK(strcmp(pa.runs[0].id, pb.runs[0].id) != 0 && strcmp(pa.runs[0].id, pl.runs[0].id) != 0);
    plan_free(&pa), plan_free(&pb), plan_free(&pl);
    config_free(&a), config_free(&b), config_free(&l);
    CHECK(expect_error("train:\n  eval_at: [0.5, 0.2]\n",
                       "bad.yaml:2:18: train.eval_at: 0.2 is not above the epoch before it"));
    CHECK(expect_error("train:\n  epochs: 1\n  eval_at: [2]\n",
                       "bad.yaml:3:12: train.eval_at: 2 is after the last epoch"));
    CHECK(expect_error("train:\n  eval_every: 0.5\n  eval_at: [0.5]\n",
                       "give train.eval_every or train.eval_at, not both"));
    CHECK(expect_error("train:\n  eval_every: lin\n", "expected a number or log"));
}

/* Every fuzz seed and every crash the fuzzer found (tests/fuzz/corpus/config)
 * loads and plans, or fails with one line naming the file: the regression suite
 * for fuzz_config, run by make check (and under ASan by make check SAN=1). */
static void test_fuzz_corpus_loads_or_fails_cleanly(void) {
    const char *dir = "tests/fuzz/corpus/config";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        Config c;
        Plan p;
        Err e = {{0}};
        int rc = config_load(path, &c, &e);
        if (rc == LDE_OK) {
            rc = plan_build(&c, &p, &e);
            if (rc == LDE_OK) plan_free(&p);
            config_free(&c);
        }
        if (rc != LDE_OK && CHECK(rc == LDE_EINPUT && strstr(e.msg, path) && !strchr(e.msg, '\n')))
            printf("  %s: %s\n", path, e.msg);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 10);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_yamltree_keeps_line_and_column),
        UNIT(test_yamltree_duplicate_key_names_both_places),
        UNIT(test_yamltree_caps_depth_and_size),
        UNIT(test_yamltree_refuses_aliases),
        UNIT(test_unknown_key_suggests_nearest),
        UNIT(test_type_and_range_errors_name_position),
        UNIT(test_numbers_normalized_same_point_same_id),
        UNIT(test_grid_is_cartesian_in_file_order),
        UNIT(test_zip_varies_together),
        UNIT(test_duplicate_points_run_once),
        UNIT(test_user_features_check_npy_shapes),
        UNIT(test_baselines_defaults_and_options),
        UNIT(test_experiment_name_defaults_to_file_name),
        UNIT(test_shipped_configs_load_and_plan),
        UNIT(test_golden_ids_are_stable),
        UNIT(test_eval_schedules_log_and_listed),
        UNIT(test_eval_at_and_log_ids_and_errors),
        UNIT(test_fuzz_corpus_loads_or_fails_cleanly),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
}
