/* table.c — `lde table EXPERIMENT ...`: prints the results table of an experiment
 * (restable.h) as Markdown, LaTeX or CSV on stdout. Reads the database only. */
#include "cli/cliopt.h"
#include "cli/commands.h"
#include "report/restable.h"

#include <stdio.h>
#include <string.h>

static const char TABLE_USAGE[] =
    "usage: lde table EXPERIMENT [--db PATH] [--all] [--rows KEY]\n"
    "                 [--metric auroc|fpr95|aupr_in|aupr_out|mean_bpd]\n"
    "                 [--step last|best|first|N] [--format md|latex|csv]\n"
    "                 [--baselines [--features KEY]]\n"
    "\n"
    "One row per grid point (the runs that differ only in seed), one column per OOD\n"
    "set; a cell is the mean over seeds of --metric (default auroc, in %) at --step\n"
    "(default last; best = each run's step with the highest mean AUROC over the OOD\n"
    "sets, an oracle choice), with ± the sample standard deviation when there are\n"
    "several seeds. The best value per column is bold (lowest for fpr95; none for\n"
    "mean_bpd). Built-in far-OOD (digits, gaussian, uniform) and near-OOD (vflip,\n"
    "heldout) sets get a mean column when a class has two or more sets. Only runs\n"
    "whose status is done count.\n"
    "\n"
    "  --rows KEY     the grid axis that orders the rows and comes first (a parameter\n"
    "                 path or its last part: pca); default every varying parameter\n"
    "  --format md    Markdown (default); latex: a booktabs tabular; csv: full\n"
    "                 precision, NAME and NAME_std per column, then the run count\n"
    "  --baselines    add the classifier baselines (MSP, energy, ...) as rows above,\n"
    "                 mean ± std over the experiment's feature sets (one per seed\n"
    "                 when each seed trains its backbone) that lde run or lde\n"
    "                 baselines linked to it, else the only key in the database;\n"
    "                 --features KEY[,KEY...] picks them\n"
    "  --db PATH      the database (default results/lde.db)\n"
    "  --all          also the stale runs (input files changed since) and runs with\n"
    "                 unknown inputs, marked by a parameter `inputs`\n";

static int table_run(int argc, char **argv, Err *e) {
    const char *db = "results/lde.db", *experiment = NULL, *rows = NULL, *metric = "auroc";
    const char *step = "last", *format = "md", *features = NULL;
    int baselines = 0, all = 0, rc = LDE_OK;
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        if (cli_opt(argc, argv, &i, "--db", &db, &rc, e) ||
            cli_opt(argc, argv, &i, "--rows", &rows, &rc, e) ||
            cli_opt(argc, argv, &i, "--metric", &metric, &rc, e) ||
            cli_opt(argc, argv, &i, "--step", &step, &rc, e) ||
            cli_opt(argc, argv, &i, "--format", &format, &rc, e) ||
            cli_opt(argc, argv, &i, "--features", &features, &rc, e) ||
            cli_flag(argv, i, "--all", &all))
            continue;
        if (strcmp(argv[i], "--baselines") == 0)
            baselines = 1;
        else
            rc = cli_experiment(argv[i], "table", &experiment, e);
    }
    if (rc) return rc;
    if (!experiment) return fail(e, LDE_EINPUT, "which EXPERIMENT? (lde status lists them)");
    Metric m;
    RtFormat fmt;
    if ((rc = metric_parse(metric, &m, e)) || (rc = restable_parse_format(format, &fmt, e)))
        return rc;
    Store *s;
    ExpData x;
    ResultTable t = {0};
    int axis = -1;
    if ((rc = expdata_open(db, experiment, all, &s, &x, e))) return rc;
    expdata_note_inputs(&x, stderr);
    if (rows) rc = expdata_axis(&x, rows, 0, &axis, e);
    if (rc == LDE_OK) rc = restable_build(&x, axis, m, step, &t, e);
    if (rc == LDE_OK && baselines) rc = restable_load_baselines(s, &x, features, &t, e);
    if (rc == LDE_OK) restable_print(&t, fmt, stdout);
    restable_free(&t);
    expdata_free(&x);
    store_close(s);
    return rc;
}

const Command cmd_table = {
    .name = "table",
    .summary = "print an experiment's results table (Markdown, LaTeX or CSV)",
    .usage = TABLE_USAGE,
    .run = table_run,
};
