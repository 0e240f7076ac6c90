/* paper.c — `lde paper`: every shipped paper config, run resumably (lde run: a done
 * run is skipped, so running it again finishes only what is missing), each
 * experiment's report and figures (lde report), then one page for both papers,
 * OUT/index.html and OUT/index.md (report/paperpage.h), with the findings
 * (report/findings.h) on top. `make paper` is this command.
 *
 * The configs are the table below, read from --configs DIR (default configs/): a
 * config missing there is shown as missing, so a directory of small configs under
 * the same names (tests/e2e/test_paper.sh) exercises the whole command in seconds.
 * They run in the order below: the points pixels_vs_latent shares with
 * normalization and pixels_masks are done by then, and the cheap configs first. */
#include "cli/commands.h"
#include "cli/report_cmd.h"
#include "config/config.h"
#include "report/gnuplot.h"
#include "report/paperpage.h"
#include "util/paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *file, *paper, *label, *title;
    int order; /* place on the page: the papers' own order */
} CONFIGS[] = {
    {"normalization", "LDE paper", "Table 3", "raw vs L2-normalized latents", 2},
    {"pca", "LDE paper", "Fig. 3", "AUROC against the PCA dimension", 1},
    {"architectures", "LDE paper", "Table 5", "RealNVP, Glow and Residual Flow", 4},
    {"baselines", "LDE paper", "Table 1", "the flow against the classifier baselines", 0},
    {"undertraining", "LDE paper", "Figs. 4–5", "AUROC and bpd along 20 epochs", 3},
    {"pixels_masks", "Kirichenko et al.", "App. I.1, Fig. 3",
     "a flow on pixels: checkerboard, horizontal and cycle masks", 5},
    {"pixels_bottleneck", "Kirichenko et al.", "Fig. 4", "st-network bottleneck l", 6},
    {"pixels_vs_latent", "Kirichenko et al.", "Fig. 5", "pixels vs embeddings", 7},
};
enum { NCONFIGS = sizeof CONFIGS / sizeof CONFIGS[0] };

static const char PAPER_USAGE[] =
    "usage: lde paper [--db PATH] [--out DIR] [--configs DIR] [--no-run]\n"
    "\n"
    "Runs every paper config that is not done yet (LDE paper: normalization, pca,\n"
    "undertraining, architectures, baselines; Kirichenko et al.: pixels_masks,\n"
    "pixels_bottleneck, pixels_vs_latent), writes each experiment's report and figures\n"
    "under DIR/EXPERIMENT/, and ends with DIR/index.html (self-contained: figures\n"
    "inline) and DIR/index.md: every table and figure under the paper's number, with\n"
    "its redraw command, config, wall time and provenance, and the findings: which of\n"
    "the papers' claims held on this data. Resumable: run it again to finish what is\n"
    "missing. Needs gnuplot.\n"
    "\n"
    "  --db PATH      the database (default results/lde.db)\n"
    "  --out DIR      default plots/paper\n"
    "  --configs DIR  where the configs are (default configs); one missing there is\n"
    "                 reported on the page, not run\n"
    "  --no-run       only write the reports and the page from the database\n"
    "  --models DIR, --features DIR   as for lde run\n"
    "\n"
    "exit: 0 the page is written and no run failed, 1 a run failed (the page is still\n"
    "written), 2 bad input\n";

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    char config[4096], experiment[256], dir[4096], note[1200];
    double this_s;
    FigList figs;
} Done;

/* Runs config i (lde run) and writes its report; a failed run is noted and counted
 * in *failed, bad input stops everything. */
static int one_config(int i, const char *cdir, const char *db, const char *out, const char *models,
                      const char *features, int run, Done *d, int *failed, Err *e) {
    snprintf(d->config, sizeof d->config, "%s/%s.yaml", cdir, CONFIGS[i].file);
    if (access(d->config, R_OK) != 0) {
        snprintf(d->note, sizeof d->note, "%s is missing", d->config);
        return LDE_OK;
    }
    Config c;
    int rc = config_load(d->config, &c, e);
    if (rc != LDE_OK) return rc;
    snprintf(d->experiment, sizeof d->experiment, "%s", c.name);
    config_free(&c);
    double t0 = now_s();
    if (run) {
        fprintf(stderr, "lde paper: %s (%s %s)\n", d->config, CONFIGS[i].paper, CONFIGS[i].label);
        char *argv[] = {"run",          d->config,    "--db",           (char *)db, "--models",
                        (char *)models, "--features", (char *)features, NULL};
        /* lde run's tables go to stderr with its progress: lde paper's stdout is the
         * two paths of its page, for scripts. */
        fflush(stdout);
        int saved = dup(STDOUT_FILENO);
        if (saved >= 0) dup2(STDERR_FILENO, STDOUT_FILENO);
        rc = cmd_run.run(8, argv, e);
        fflush(stdout);
        if (saved >= 0) dup2(saved, STDOUT_FILENO), close(saved);
        if (rc == LDE_ERUN) {
            fprintf(stderr, "lde paper: %s: %s\n", d->config, e->msg);
            (*failed)++;
        } else if (rc != LDE_OK) {
            return rc;
        }
    }
    d->this_s = now_s() - t0;
    rc = report_experiment(db, d->experiment, 0, out, &d->figs, d->dir, sizeof d->dir, e);
    if (rc == LDE_EINPUT) { /* nothing to report yet (no finished run): a note */
        snprintf(d->note, sizeof d->note, "%s", e->msg);
        rc = LDE_OK;
    }
    return rc;
}

static int paper_run(int argc, char **argv, Err *e) {
    const char *db = "results/lde.db", *out = "plots/paper", *cdir = "configs";
    const char *models = "results/models", *features = "results/features";
    int run = 1;
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--db") == 0         ? &db
                            : strcmp(argv[i], "--out") == 0      ? &out
                            : strcmp(argv[i], "--configs") == 0  ? &cdir
                            : strcmp(argv[i], "--models") == 0   ? &models
                            : strcmp(argv[i], "--features") == 0 ? &features
                                                                 : NULL;
        if (strcmp(argv[i], "--no-run") == 0)
            run = 0;
        else if (!slot)
            return fail(e, LDE_EINPUT, "unknown argument %s (lde paper --help)", argv[i]);
        else if (i + 1 >= argc)
            return fail(e, LDE_EINPUT, "%s needs a value (lde paper --help)", argv[i]);
        else
            *slot = argv[++i];
    }
    int rc = gnuplot_check(e);
    if (rc == LDE_OK) rc = paths_mkdirs(out, e);
    if (rc != LDE_OK) return rc;
    Done *d = calloc(NCONFIGS, sizeof *d);
    if (!d) return fail(e, LDE_ERUN, "out of memory");
    int failed = 0;
    double t0 = now_s();
    for (int i = 0; i < NCONFIGS && rc == LDE_OK; i++)
        rc = one_config(i, cdir, db, out, models, features, run, &d[i], &failed, e);
    Store *s = NULL;
    if (rc == LDE_OK) rc = store_open_readonly(db, &s, e);
    if (rc == LDE_OK) {
        PaperSection sec[NCONFIGS];
        Finding f[FIND_MAX];
        int nf = 0;
        for (int i = 0; i < NCONFIGS; i++) {
            Done *x = &d[i];
            sec[CONFIGS[i].order] = (PaperSection){CONFIGS[i].paper,
                                                   CONFIGS[i].label,
                                                   CONFIGS[i].title,
                                                   x->config,
                                                   x->experiment[0] ? x->experiment : NULL,
                                                   x->dir,
                                                   x->this_s,
                                                   &x->figs,
                                                   x->note[0] ? x->note : NULL};
        }
        rc = findings_compute(s, db, f, &nf, e);
        if (rc == LDE_OK) rc = paperpage_write(s, db, out, sec, NCONFIGS, f, nf, e);
        store_close(s);
    }
    for (int i = 0; i < NCONFIGS; i++) figlist_free(&d[i].figs);
    free(d);
    if (rc != LDE_OK) return rc;
    fprintf(stderr, "lde paper: %.0f s\n", now_s() - t0);
    printf("%s/index.html\n%s/index.md\n", out, out);
    return failed ? fail(e, LDE_ERUN, "%d config(s) had a failed run (see above)", failed) : LDE_OK;
}

const Command cmd_paper = {
    .name = "paper",
    .summary = "run every paper config and write the papers' page with its findings",
    .usage = PAPER_USAGE,
    .run = paper_run,
};
