/* test_table.c — `lde table` end to end on a hand-made database whose every number
 * is chosen, so the Markdown, LaTeX and CSV outputs can be compared as exact text.
 *
 * Experiment "tab": preprocess.normalize [false, true] × seed [0, 1], OOD sets
 * digits, gaussian (far) and vflip (near), evaluated at steps 0 and 10:
 *
 *   AUROC at step 10   digits  gaussian  vflip
 *   false, seed 0      0.80    0.90      0.60
 *   false, seed 1      0.82    0.92      0.62
 *   true,  seed 0      0.95    0.99      0.55
 *   true,  seed 1      0.97    0.97      0.57
 *
 * (all 0.5 at step 0), so e.g. false/digits = 81.00 ± 1.41 (sample std of 80 and 82
 * is √2) and the far-OOD mean of true is 97 in both seeds: 97.00 ± 0.00. A fifth
 * run (true, seed 2) failed and must not count. Baselines for features "feat01":
 * msp 0.90 / 0.85 / 0.70 and energy 0.88 / 0.95 / 0.65; for "feat02" msp only,
 * 0.02 higher. */
#include "store/store.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char db[512];

static int lde(const char *args, char *buf, size_t n) {
    const char *bin = getenv("LDE");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin ? bin : "./lde", args);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(buf, 1, n - 1, p) : 0;
    buf[got] = 0;
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void make_db(void) {
    static const double auroc[4][3] = {
        {0.80, 0.90, 0.60}, {0.82, 0.92, 0.62}, {0.95, 0.99, 0.55}, {0.97, 0.97, 0.57}};
    static const char *const ood[3] = {"digits", "gaussian", "vflip"};
    static const StoreRunSpec runs[5] = {
        {"r0000000aaaa", "{\"preprocess\":{\"normalize\":false},\"seed\":0}", 0, NULL, 0},
        {"r1000000aaaa", "{\"preprocess\":{\"normalize\":false},\"seed\":1}", 1, NULL, 0},
        {"r2000000aaaa", "{\"preprocess\":{\"normalize\":true},\"seed\":0}", 0, NULL, 0},
        {"r3000000aaaa", "{\"preprocess\":{\"normalize\":true},\"seed\":1}", 1, NULL, 0},
        {"r4000000aaaa", "{\"preprocess\":{\"normalize\":true},\"seed\":2}", 2, NULL, 0},
    };
    snprintf(db, sizeof db, "%s/lde.db", unit_tmpdir());
    Store *s;
    Err e = {{0}};
    Provenance p;
    provenance_collect(&p, "0.1.0", "abc");
    CHECK(store_open(db, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "tab", "experiment: tab\n", runs, 5, &e) == LDE_OK);
    for (int r = 0; r < 4; r++) {
        CHECK(store_begin_run(s, runs[r].id, &p, &e) == LDE_OK);
        for (long step = 0; step <= 10; step += 10) {
            OodMetrics m[3];
            StoreSplit sp[4] = {{.split = "val", .mean_bpd = 3, .median_bpd = 3}};
            for (int k = 0; k < 3; k++) {
                double a = step ? auroc[r][k] : 0.5;
                m[k] = (OodMetrics){a, 1 - a, a, a};
                sp[1 + k] = (StoreSplit){
                    .split = ood[k], .mean_bpd = 4 + k + r, .median_bpd = 4, .metrics = &m[k]};
            }
            CHECK(store_add_eval(s, runs[r].id, step, step / 10.0, NAN, sp, 4, &e) == LDE_OK);
        }
        CHECK(store_finish_run(s, runs[r].id, RUN_DONE, NULL, 60, &e) == LDE_OK);
    }
    CHECK(store_begin_run(s, runs[4].id, &p, &e) == LDE_OK);
    CHECK(store_finish_run(s, runs[4].id, RUN_FAILED, "boom", 1, &e) == LDE_OK);
    StoreBaseline b[6];
    static const double base[2][3] = {{0.90, 0.85, 0.70}, {0.88, 0.95, 0.65}};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++)
            b[m * 3 + k] = (StoreBaseline){.features = "feat01",
                                           .method = m ? "energy" : "msp",
                                           .ood = ood[k],
                                           .metrics = {base[m][k], 0.5, 0.5, 0.5},
                                           .n_id = 10,
                                           .n_ood = 10};
    CHECK(store_put_baselines(s, b, 6, &e) == LDE_OK);
    /* A second feature set (another backbone seed): msp 0.92 / 0.87 / 0.72. */
    for (int k = 0; k < 3; k++) {
        b[k].features = "feat02";
        b[k].metrics.auroc += 0.02;
    }
    CHECK(store_put_baselines(s, b, 3, &e) == LDE_OK);
    /* "zipped": seed and data.backbone.seed move together — both are seeds. */
    static const StoreRunSpec zipped[2] = {
        {"z0000000aaaa", "{\"data\":{\"backbone\":{\"seed\":0}},\"seed\":0}", 0, NULL, 0},
        {"z1000000aaaa", "{\"data\":{\"backbone\":{\"seed\":1}},\"seed\":1}", 1, NULL, 0},
    };
    CHECK(store_add_experiment(s, "zipped", "experiment: zipped\n", zipped, 2, &e) == LDE_OK);
    for (int r = 0; r < 2; r++) {
        OodMetrics m = {0.6 + 0.1 * r, 0.5, 0.5, 0.5};
        StoreSplit sp[2] = {{.split = "val", .mean_bpd = 3, .median_bpd = 3},
                            {.split = "digits", .mean_bpd = 4, .median_bpd = 4, .metrics = &m}};
        CHECK(store_begin_run(s, zipped[r].id, &p, &e) == LDE_OK);
        CHECK(store_add_eval(s, zipped[r].id, 0, 0, NAN, sp, 2, &e) == LDE_OK);
        CHECK(store_finish_run(s, zipped[r].id, RUN_DONE, NULL, 1, &e) == LDE_OK);
    }
    store_close(s);
}

static void expect(const char *args, const char *want) {
    char full[1024], out[8192];
    snprintf(full, sizeof full, "table tab --db '%s' %s", db, args);
    CHECK(lde(full, out, sizeof out) == 0);
    if (CHECK(strcmp(out, want) == 0))
        fprintf(stderr, "lde %s\ngot:\n%s\nwant:\n%s", full, out, want);
}

static void test_table_markdown_is_exact(void) {
    expect("",
           "| normalize | digits | gaussian | vflip | far-OOD mean |\n"
           "|---|--:|--:|--:|--:|\n"
           "| false | 81.00 ± 1.41 | 91.00 ± 1.41 | **61.00 ± 1.41** | 86.00 ± 1.41 |\n"
           "| true | **96.00 ± 1.41** | **98.00 ± 1.41** | 56.00 ± 1.41 | **97.00 ± 0.00** |\n");
}

static void test_table_latex_is_a_booktabs_tabular(void) {
    expect("--format latex --metric fpr95",
           "% FPR at 95% TPR (%) at step last; mean ± std over seeds; best per column in bold\n"
           "% needs \\usepackage{booktabs}\n"
           "\\begin{tabular}{lrrrr}\n"
           "\\toprule\n"
           "normalize & digits & gaussian & vflip & far-OOD mean \\\\\n"
           "\\midrule\n"
           "false & $19.00 \\pm 1.41$ & $9.00 \\pm 1.41$ & $\\mathbf{39.00 \\pm 1.41}$ & "
           "$14.00 \\pm 1.41$ \\\\\n"
           "true & $\\mathbf{4.00 \\pm 1.41}$ & $\\mathbf{2.00 \\pm 1.41}$ & $44.00 \\pm 1.41$ & "
           "$\\mathbf{3.00 \\pm 0.00}$ \\\\\n"
           "\\bottomrule\n"
           "\\end{tabular}\n");
}

static void test_table_csv_has_full_precision(void) {
    expect("--format csv --step 0",
           "normalize,digits,digits_std,gaussian,gaussian_std,vflip,vflip_std,far-OOD mean,"
           "far-OOD mean_std,runs\n"
           "false,50,0,50,0,50,0,50,0,2\n"
           "true,50,0,50,0,50,0,50,0,2\n");
}

static void test_table_baselines_are_rows_above(void) {
    expect("--baselines --features feat01 --format latex",
           "% AUROC (%) at step last; mean ± std over seeds; best per column in bold\n"
           "% needs \\usepackage{booktabs}\n"
           "\\begin{tabular}{lrrrr}\n"
           "\\toprule\n"
           "normalize & digits & gaussian & vflip & far-OOD mean \\\\\n"
           "\\midrule\n"
           "energy & 88.00 & 95.00 & 65.00 & 91.50 \\\\\n"
           "msp & 90.00 & 85.00 & \\textbf{70.00} & 87.50 \\\\\n"
           "\\midrule\n"
           "false & $81.00 \\pm 1.41$ & $91.00 \\pm 1.41$ & $61.00 \\pm 1.41$ & $86.00 \\pm 1.41$ "
           "\\\\\n"
           "true & $\\mathbf{96.00 \\pm 1.41}$ & $\\mathbf{98.00 \\pm 1.41}$ & $56.00 \\pm 1.41$ & "
           "$\\mathbf{97.00 \\pm 0.00}$ \\\\\n"
           "\\bottomrule\n"
           "\\end{tabular}\n");
}

/* Two feature sets (two backbone seeds): mean ± std over them; a method missing
 * from one set is the mean of the one it has. */
static void test_table_baselines_average_over_feature_sets(void) {
    expect("--baselines --features feat01,feat02",
           "| normalize | digits | gaussian | vflip | far-OOD mean |\n"
           "|---|--:|--:|--:|--:|\n"
           "| energy | 88.00 | 95.00 | 65.00 | 91.50 |\n"
           "| msp | 91.00 ± 1.41 | 86.00 ± 1.41 | **71.00 ± 1.41** | 88.50 ± 1.41 |\n"
           "| false | 81.00 ± 1.41 | 91.00 ± 1.41 | 61.00 ± 1.41 | 86.00 ± 1.41 |\n"
           "| true | **96.00 ± 1.41** | **98.00 ± 1.41** | 56.00 ± 1.41 | **97.00 ± 0.00** |\n");
}

/* data.backbone.seed varies with seed: one row, the mean over both seeds. */
static void test_table_backbone_seed_counts_as_a_seed(void) {
    char args[1024], out[4096];
    snprintf(args, sizeof args, "table zipped --db '%s'", db);
    CHECK(lde(args, out, sizeof out) == 0);
    const char *want = "| experiment | digits |\n|---|--:|\n| zipped | 65.00 ± 7.07 |\n";
    if (CHECK(strcmp(out, want) == 0)) fprintf(stderr, "got:\n%s", out);
}

/* Only seeds vary: beside the baselines the flow's row says it is the flow. */
static void test_table_baselines_name_the_flow_row(void) {
    char args[1024], out[4096];
    snprintf(args, sizeof args, "table zipped --baselines --features feat01 --db '%s'", db);
    CHECK(lde(args, out, sizeof out) == 0);
    const char *want = "| method | digits |\n|---|--:|\n| energy | 88.00 |\n"
                       "| msp | **90.00** |\n| zipped (flow) | 65.00 ± 7.07 |\n";
    if (CHECK(strcmp(out, want) == 0)) fprintf(stderr, "got:\n%s", out);
}

/* The report carries the table; with two candidate feature sets and no record of
 * which the experiment read, it leaves the baselines out instead of failing. */
static void test_report_table_without_unambiguous_baselines(void) {
    char args[1024], out[4096], path[1024];
    snprintf(args, sizeof args, "report tab --db '%s' --out '%s/r'", db, unit_tmpdir());
    CHECK(lde(args, out, sizeof out) == 0);
    snprintf(path, sizeof path, "%s/r/tab/report.md", unit_tmpdir());
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    CHECK(strstr(out, "| true | **96.00 ± 1.41** | **98.00 ± 1.41** |") != NULL);
    CHECK(strstr(out, "| msp |") == NULL);
}

static void test_table_bad_names_exit_2_listing_what_exists(void) {
    struct {
        const char *args, *want;
    } cases[] = {
        {"table nosuch", "no experiment 'nosuch' (experiments: tab, zipped)"},
        {"table tab --rows pca", "'pca' is not a grid axis (axes that vary: preprocess.normalize)"},
        {"table tab --step 5", "has no step 5 (steps: 0, 10)"},
        {"table tab --format html", "--format 'html': expected md, latex or csv"},
        {"table tab --metric auc", "--metric 'auc': expected auroc"},
        {"table tab --baselines --features nokey", "no baselines for features 'nokey'"},
        {"table tab --baselines", "pick them with --features KEY[,KEY...] (feat01, feat02)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[1024], out[4096];
        snprintf(args, sizeof args, "%s --db '%s'", cases[i].args, db);
        int rc = lde(args, out, sizeof out);
        if (CHECK(rc == 2 && strstr(out, cases[i].want) &&
                  strchr(out, '\n') == out + strlen(out) - 1))
            fprintf(stderr, "%s: exit %d: %s", cases[i].args, rc, out);
    }
}

int main(int argc, char **argv) {
    make_db();
    static const struct unit_test tests[] = {
        UNIT(test_table_markdown_is_exact),
        UNIT(test_table_latex_is_a_booktabs_tabular),
        UNIT(test_table_csv_has_full_precision),
        UNIT(test_table_baselines_are_rows_above),
        UNIT(test_table_baselines_average_over_feature_sets),
        UNIT(test_table_backbone_seed_counts_as_a_seed),
        UNIT(test_table_baselines_name_the_flow_row),
        UNIT(test_report_table_without_unambiguous_baselines),
        UNIT(test_table_bad_names_exit_2_listing_what_exists),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
