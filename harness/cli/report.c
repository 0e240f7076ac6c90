/* report.c — `lde report EXPERIMENT`: one Markdown page, OUT/EXPERIMENT/report.md,
 * with everything a reader needs to judge an experiment without re-running it: the
 * results table (with the classifier baselines when the database has them), every
 * figure (a bpd histogram of the first seed of each grid point at its first and last
 * step, the training curves of each grid point, a sweep per grid axis), the provenance of each run
 * (lde version, git revision, host, threads, wall time, errors) and the config. Reads the database
 * only; the figures are drawn by plot.h and sit beside the page. */
#include "cli/cliopt.h"
#include "cli/report_cmd.h"
#include "cli/commands.h"
#include "report/plot_curves.h"
#include "report/plot_hist.h"
#include "report/plot_images.h"
#include "report/plot_sweep.h"
#include "report/restable.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char REPORT_USAGE[] =
    "usage: lde report EXPERIMENT [--db PATH] [--all] [--out DIR]\n"
    "\n"
    "Writes DIR/EXPERIMENT/report.md (DIR default plots): the AUROC table at the last\n"
    "step, every figure (PNG, with PDF and the gnuplot script beside it), the\n"
    "provenance of every run (lde version, git revision, host, threads, wall time,\n"
    "errors) and the experiment's config. Needs gnuplot (Debian package gnuplot-nox).\n"
    "\n"
    "  --db PATH   the database (default results/lde.db)\n"
    "  --all       also the stale runs (input files changed since) and runs with\n"
    "              unknown inputs, marked by a parameter `inputs`\n"
    "  --out DIR   default plots\n";

enum { NOTE = 1024, MAX_NOTES = 8 };

typedef struct {
    char text[MAX_NOTES][NOTE];
    int n;
} Notes;

/* A kind of figure that has nothing to show (LDE_EINPUT) becomes a note in the
 * report; any other failure stops it. */
static int soft(int rc, const Err *e, Notes *notes) {
    if (rc != LDE_EINPUT) return rc;
    if (notes->n < MAX_NOTES) snprintf(notes->text[notes->n++], NOTE, "%s", e->msg);
    return LDE_OK;
}

static int draw_figures(Store *s, const ExpData *x, const char *dir, FigList *figs, Notes *notes,
                        Err *e) {
    PlotArgs a = {.metric = MET_AUROC, .fig = {FIG_PNG | FIG_PDF, 960, 600}};
    int rc = LDE_OK, axes = 0;
    for (int g = 0; g < x->ngroups && rc == LDE_OK; g++)
        for (int r = 0; r < x->nruns; r++)
            if (x->group[r] == g && x->nev[r] > 0) {
                a.run = x->runs[r].id;
                rc = soft(plot_hist(s, x, &a, dir, figs, e), e, notes);
                /* a flow on pixels: what its couplings do, its latents (none: nothing) */
                if (rc == LDE_OK) rc = plot_images(s, x, "coupling", &a, dir, figs, 1, e);
                if (rc == LDE_OK) rc = plot_images(s, x, "latent", &a, dir, figs, 1, e);
                break;
            }
    a.run = NULL;
    if (rc == LDE_OK) rc = soft(plot_hist_pixels_vs_latent(s, x, &a, dir, figs, e), e, notes);
    if (rc == LDE_OK) rc = soft(plot_curves(x, &a, dir, figs, e), e, notes);
    for (int p = 0; p < x->nvarying; p++) axes += !expdata_is_seed(x->varying[p]);
    if (rc == LDE_OK && axes) rc = soft(plot_sweep(x, &a, dir, figs, e), e, notes);
    return rc;
}

static void write_runs(Store *s, const ExpData *x, FILE *f, Err *e) {
    fprintf(f, "## Runs\n\n| run | parameters | status | evaluations | wall | lde | git | host "
               "| threads | started |\n|---|---|---|--:|--:|---|---|---|--:|---|\n");
    char blas[4][256] = {{0}}, compiler[4][128] = {{0}};
    int nblas = 0, ncompiler = 0;
    for (int r = 0; r < x->nruns; r++) {
        Provenance p;
        if (store_run_provenance(s, x->runs[r].id, &p, e) != LDE_OK) memset(&p, 0, sizeof p);
        char label[256], wall[32];
        plot_run_label(x, r, 1, label, sizeof label);
        format_wall(x->runs[r].wall_s, wall, sizeof wall);
        long *steps = NULL;
        int nsteps = 0;
        if (expdata_steps(x, r, &steps, &nsteps, e) != LDE_OK) nsteps = 0;
        free(steps);
        fprintf(f, "| `%.8s` | %s | %s | %d | %s | %s | %s | %s | %d | %s |\n", x->runs[r].id,
                label[0] ? label : "-", store_status_name(x->runs[r].status), nsteps, wall,
                p.lde_version[0] ? p.lde_version : "-", p.git_rev[0] ? p.git_rev : "-",
                p.host[0] ? p.host : "-", p.threads, p.time[0] ? p.time : "-");
        int seen = !p.blas[0];
        for (int i = 0; i < nblas; i++) seen |= strcmp(blas[i], p.blas) == 0;
        if (!seen && nblas < 4) snprintf(blas[nblas++], sizeof blas[0], "%s", p.blas);
        seen = !p.compiler[0];
        for (int i = 0; i < ncompiler; i++) seen |= strcmp(compiler[i], p.compiler) == 0;
        if (!seen && ncompiler < 4)
            snprintf(compiler[ncompiler++], sizeof compiler[0], "%s", p.compiler);
    }
    fputc('\n', f);
    for (int r = 0; r < x->nruns; r++)
        if (x->runs[r].error)
            fprintf(f, "- `%.8s` %s: %s\n", x->runs[r].id, store_status_name(x->runs[r].status),
                    x->runs[r].error);
    for (int i = 0; i < nblas; i++) fprintf(f, "- BLAS: %s\n", blas[i]);
    for (int i = 0; i < ncompiler; i++) fprintf(f, "- compiler: %s\n", compiler[i]);
    fputc('\n', f);
}

static int write_report(Store *s, const char *db, const ExpData *x, const char *dir,
                        const FigList *figs, const Notes *notes, Err *e) {
    char path[4200], created[32], now[32];
    char *yaml = NULL;
    int rc = store_experiment_config(s, x->name, &yaml, created, e);
    if (rc) return rc;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(path, sizeof path, "%s/report.md", dir);
    AtomicFile a;
    if ((rc = atomic_open(&a, path, e))) {
        free(yaml);
        return rc;
    }
    FILE *f = a.f;
    int count[RUN_DIVERGED + 1] = {0};
    for (int r = 0; r < x->nruns; r++)
        if (x->runs[r].status >= RUN_PENDING) count[x->runs[r].status]++;
    fprintf(f,
            "# %s\n\nWritten by `lde report` (lde %s, git %s) from `%s` on %s. The experiment "
            "was created %s and has %d run%s:",
            x->name, lde_version, lde_git_rev, db, now, created, x->nruns,
            x->nruns == 1 ? "" : "s");
    for (int k = RUN_PENDING, first = 1; k <= RUN_DIVERGED; k++)
        if (count[k]) {
            fprintf(f, "%s %d %s", first ? "" : ",", count[k], store_status_name((RunStatus)k));
            first = 0;
        }
    fprintf(f, ".\n\n## Results\n\n");
    ResultTable tab;
    Err te;
    if (restable_build(x, -1, MET_AUROC, "last", &tab, &te) == LDE_OK) {
        Err none; /* no baselines stored for these features: the table goes without */
        restable_load_baselines(s, x, NULL, &tab, &none);
        fprintf(f, "%s%s. LaTeX: `lde table %s --format latex`.\n\n", tab.title,
                tab.nrows > 1 ? "; best per column in bold" : "", x->name);
        restable_print(&tab, RT_MARKDOWN, f);
        fputc('\n', f);
        restable_free(&tab);
    } else {
        fprintf(f, "No table yet: %s\n\n", te.msg);
    }
    fprintf(f,
            "## Figures\n\nEach figure is drawn from the database by its gnuplot script "
            "beside it: `cd %s && gnuplot NAME.gp`.\n\n",
            dir);
    for (int i = 0; i < notes->n; i++)
        fprintf(f, "- %s\n%s", notes->text[i], i + 1 == notes->n ? "\n" : "");
    for (int i = 0; i < figs->n; i++)
        fprintf(f, "### %s\n\n![%s](%s.png)\n\n[PDF](%s.pdf) · [gnuplot script](%s.gp)\n\n",
                figs->caption[i], figs->caption[i], figs->stem[i], figs->stem[i], figs->stem[i]);
    write_runs(s, x, f, e);
    fprintf(f, "## Config\n\n```yaml\n%s%s```\n", yaml ? yaml : "",
            yaml && yaml[0] && yaml[strlen(yaml) - 1] != '\n' ? "\n" : "");
    free(yaml);
    return atomic_commit(&a, e);
}

static int report_run(int argc, char **argv, Err *e) {
    const char *db = "results/lde.db", *out = "plots", *experiment = NULL;
    int rc = LDE_OK, all = 0;
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        if (cli_opt(argc, argv, &i, "--db", &db, &rc, e) ||
            cli_opt(argc, argv, &i, "--out", &out, &rc, e) || cli_flag(argv, i, "--all", &all))
            continue;
        rc = cli_experiment(argv[i], "report", &experiment, e);
    }
    if (rc) return rc;
    if (!experiment) return fail(e, LDE_EINPUT, "which EXPERIMENT? (lde status lists them)");
    if ((rc = gnuplot_check(e))) return rc;
    FigList figs = {0};
    char dir[4096];
    rc = report_experiment(db, experiment, all, out, &figs, dir, sizeof dir, e);
    if (rc == LDE_OK) printf("%s/report.md\n", dir);
    figlist_free(&figs);
    return rc;
}

int report_experiment(const char *db, const char *experiment, int all, const char *out,
                      FigList *figs, char *dir, size_t ndir, Err *e) {
    Store *s;
    ExpData x;
    int rc = expdata_open(db, experiment, all, &s, &x, e);
    if (rc) return rc;
    expdata_note_inputs(&x, stderr);
    plot_experiment_dir(out, experiment, dir, ndir);
    Notes notes = {0};
    rc = draw_figures(s, &x, dir, figs, &notes, e);
    if (rc == LDE_OK) rc = write_report(s, db, &x, dir, figs, &notes, e);
    expdata_free(&x);
    store_close(s);
    return rc;
}

const Command cmd_report = {
    .name = "report",
    .summary = "write an experiment's report: table, figures, provenance, config",
    .usage = REPORT_USAGE,
    .run = report_run,
};
