/* plot_cmd.c — `lde plot EXPERIMENT ...`: parses the options, loads the experiment
 * from the database and draws the requested kinds (report/plot_*.h), printing the
 * path of every figure written. */
#include "cli/cliopt.h"
#include "cli/commands.h"
#include "report/plot_curves.h"
#include "report/plot_hist.h"
#include "report/plot_images.h"
#include "report/plot_sweep.h"

#include <stdio.h>
#include <string.h>

static const char PLOT_USAGE[] =
    "usage: lde plot EXPERIMENT [--db PATH] [--all] [--kind "
    "hist|curves|sweep|coupling|latent|all]\n"
    "                [--run ID]\n"
    "                [--step N|first|last|best[,...]] [--axis KEY]\n"
    "                [--metric auroc|fpr95|aupr_in|aupr_out|mean_bpd]\n"
    "                [--format png,pdf,svg] [--size WxH] [--out DIR]\n"
    "\n"
    "Draws the figures of EXPERIMENT from the database (nothing is re-run) into\n"
    "DIR/EXPERIMENT/, each as NAME.png/.pdf/.svg beside the gnuplot script NAME.gp and\n"
    "its data NAME*.dat, so `cd DIR/EXPERIMENT && gnuplot NAME.gp` redraws it, and\n"
    "prints DIR/EXPERIMENT/NAME for each.\n"
    "\n"
    "  hist    histograms of per-sample bpd for train, val and each OOD set of a run,\n"
    "          one panel per step (default --step first,last: before and after\n"
    "          training); the legend gives each OOD set's AUROC, the x range is cut at\n"
    "          the 0.5% and 99.5% quantiles and the samples beyond are counted\n"
    "  curves  AUROC per OOD set and mean bpd per split against epoch, one figure per\n"
    "          grid point: the mean over seeds with a min-max band\n"
    "  sweep   --metric (default auroc) at --step (default last) against one grid\n"
    "          axis (--axis, default every axis), mean ± std over seeds; numeric axes\n"
    "          are lines, categorical ones bars\n"
    "  coupling  flows on pixels: each coupling layer's input, scale s and shift -t\n"
    "          for an in- and an out-of-distribution image (Kirichenko et al. Fig. 3)\n"
    "  latent  flows on pixels: each image, its latent z and z averaged over 40\n"
    "          dequantizations (Kirichenko et al. Fig. 2)\n"
    "  all     every kind (default; coupling and latent for the runs that have them)\n"
    "\n"
    "  --db PATH      the database (default results/lde.db)\n"
    "  --all          also the stale runs (input files changed since) and runs with\n"
    "                 unknown inputs, marked by a parameter `inputs`\n"
    "  --run ID       hist, coupling, latent: only this run (id or prefix, as lde\n"
    "                 status shows it)\n"
    "  --format LIST  png, pdf, svg, comma-separated (default png,pdf)\n"
    "  --size WxH     pixels (default 960x600; 1600x600 for side-by-side histograms);\n"
    "                 a PDF page is W/150 x H/150 inches (6.4 x 4 in by default)\n"
    "  --out DIR      default plots\n"
    "\n"
    "Sweeps use runs whose status is done; histograms and curves show any run with\n"
    "evaluations. Needs gnuplot (Debian package gnuplot-nox).\n";

/* Whether the experiment has a grid axis other than seed. */
static int has_axis(const ExpData *x) {
    for (int p = 0; p < x->nvarying; p++)
        if (!expdata_is_seed(x->varying[p])) return 1;
    return 0;
}

static int plot_run(int argc, char **argv, Err *e) {
    const char *db = "results/lde.db", *out = "plots", *kind = "all", *experiment = NULL;
    const char *formats = "png,pdf", *size = NULL, *metric = "auroc";
    PlotArgs a = {0};
    int rc = LDE_OK, all_runs = 0;
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        if (cli_opt(argc, argv, &i, "--db", &db, &rc, e) ||
            cli_opt(argc, argv, &i, "--out", &out, &rc, e) ||
            cli_opt(argc, argv, &i, "--kind", &kind, &rc, e) ||
            cli_opt(argc, argv, &i, "--run", &a.run, &rc, e) ||
            cli_opt(argc, argv, &i, "--step", &a.step, &rc, e) ||
            cli_opt(argc, argv, &i, "--axis", &a.axis, &rc, e) ||
            cli_opt(argc, argv, &i, "--metric", &metric, &rc, e) ||
            cli_opt(argc, argv, &i, "--format", &formats, &rc, e) ||
            cli_opt(argc, argv, &i, "--size", &size, &rc, e) ||
            cli_flag(argv, i, "--all", &all_runs))
            continue;
        rc = cli_experiment(argv[i], "plot", &experiment, e);
    }
    if (rc) return rc;
    if (!experiment) return fail(e, LDE_EINPUT, "which EXPERIMENT? (lde status lists them)");
    int want_hist = strcmp(kind, "hist") == 0, want_curves = strcmp(kind, "curves") == 0;
    int want_sweep = strcmp(kind, "sweep") == 0, all = strcmp(kind, "all") == 0;
    int want_coupling = strcmp(kind, "coupling") == 0, want_latent = strcmp(kind, "latent") == 0;
    if (!want_hist && !want_curves && !want_sweep && !want_coupling && !want_latent && !all)
        return fail(e, LDE_EINPUT,
                    "--kind '%s': expected hist, curves, sweep, coupling, latent or all", kind);
    if ((rc = metric_parse(metric, &a.metric, e)) ||
        (rc = fig_parse_formats(formats, &a.fig.formats, e)))
        return rc;
    a.fig.width = 960;
    a.fig.height = 600;
    a.sized = size != NULL;
    if (size && (rc = fig_parse_size(size, &a.fig.width, &a.fig.height, e))) return rc;
    if ((rc = gnuplot_check(e))) return rc;

    Store *s;
    ExpData x;
    FigList figs = {0};
    if ((rc = expdata_open(db, experiment, all_runs, &s, &x, e))) return rc;
    expdata_note_inputs(&x, stderr);
    char dir[4096];
    plot_experiment_dir(out, experiment, dir, sizeof dir);
    if (want_hist || all) rc = plot_hist(s, &x, &a, dir, &figs, e);
    if (rc == LDE_OK && (want_curves || all)) rc = plot_curves(&x, &a, dir, &figs, e);
    if (rc == LDE_OK && (want_sweep || (all && has_axis(&x))))
        rc = plot_sweep(&x, &a, dir, &figs, e);
    if (rc == LDE_OK && (want_coupling || all))
        rc = plot_images(s, &x, "coupling", &a, dir, &figs, all, e);
    if (rc == LDE_OK && (want_latent || all))
        rc = plot_images(s, &x, "latent", &a, dir, &figs, all, e);
    for (int i = 0; i < figs.n; i++) printf("%s/%s\n", dir, figs.stem[i]);
    figlist_free(&figs);
    expdata_free(&x);
    store_close(s);
    return rc;
}

const Command cmd_plot = {
    .name = "plot",
    .summary = "draw an experiment's figures (bpd histograms, curves, sweeps) with gnuplot",
    .usage = PLOT_USAGE,
    .run = plot_run,
};
