/* plot_curves.c — `lde plot --kind curves`: training curves of one grid point (LDE
 * paper Fig. 5, the finding that AUROC peaks early while bpd keeps falling). Left
 * panel: AUROC of each OOD set against epoch; right panel: mean bpd of train, val
 * and each OOD set. With several seeds a line is the mean over the seeds at each
 * evaluation step and a band spans their minimum to maximum. */
#include "report/plot_curves.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CURVE_MAX_SETS = EXP_MAX_OOD + 2 };

/* The runs of group g that have evaluations, and the union of their steps. */
typedef struct {
    int runs[256], nruns;
    long *steps;
    int nsteps;
} Curves;

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int collect(const ExpData *x, int g, Curves *c, Err *e) {
    memset(c, 0, sizeof *c);
    int total = 0;
    for (int r = 0; r < x->nruns; r++)
        if (x->group[r] == g && x->nev[r] > 0 && c->nruns < 256) {
            c->runs[c->nruns++] = r;
            total += x->nev[r];
        }
    c->steps = malloc(sizeof *c->steps * (size_t)(total ? total : 1));
    if (!c->steps) return fail(e, LDE_ERUN, "out of memory");
    for (int i = 0; i < c->nruns; i++) {
        int r = c->runs[i];
        for (int j = 0; j < x->nev[r]; j++) {
            int seen = 0;
            for (int k = 0; k < c->nsteps; k++) seen |= c->steps[k] == x->ev[r][j].step;
            if (!seen) c->steps[c->nsteps++] = x->ev[r][j].step;
        }
    }
    qsort(c->steps, (size_t)c->nsteps, sizeof *c->steps, cmp_long);
    return LDE_OK;
}

/* One .dat file: epoch, then mean, min, max over the group's runs of `metric` for
 * each split. Tracks the smallest and largest mean for the log-scale choice. */
static int write_dat(const ExpData *x, const Curves *c, const char (*splits)[EXP_SPLIT],
                     int nsplits, Metric metric, Figure *f, const char *suffix, char file[256],
                     double *vmin, double *vmax, Err *e) {
    AtomicFile a;
    int rc = fig_data_open(f, suffix, &a, file, e);
    if (rc) return rc;
    fprintf(a.f, "# epoch");
    for (int k = 0; k < nsplits; k++)
        fprintf(a.f, "\t%s mean\t%s min\t%s max", splits[k], splits[k], splits[k]);
    fprintf(a.f, "\t(%s over %d run%s)\n", metric_label(metric), c->nruns,
            c->nruns == 1 ? "" : "s");
    *vmin = INFINITY;
    *vmax = -INFINITY;
    for (int i = 0; i < c->nsteps; i++) {
        double epoch = NAN;
        for (int j = 0; j < c->nruns && isnan(epoch); j++)
            for (int k = 0; k < nsplits && isnan(epoch); k++) {
                const StoreEval *ev = expdata_eval(x, c->runs[j], c->steps[i], splits[k]);
                if (ev) epoch = ev->epoch;
            }
        fprintf(a.f, "%.6g", epoch);
        for (int k = 0; k < nsplits; k++) {
            double v[256], lo = INFINITY, hi = -INFINITY, mean, sd;
            int nv = 0, finite;
            for (int j = 0; j < c->nruns; j++) {
                v[nv] = metric_value(expdata_eval(x, c->runs[j], c->steps[i], splits[k]), metric);
                if (isfinite(v[nv])) {
                    lo = fmin(lo, v[nv]);
                    hi = fmax(hi, v[nv]);
                }
                nv++;
            }
            mean_std(v, nv, &mean, &sd, &finite);
            if (finite) {
                fprintf(a.f, "\t%.6g\t%.6g\t%.6g", mean, lo, hi);
                *vmin = fmin(*vmin, mean);
                *vmax = fmax(*vmax, mean);
            } else {
                fprintf(a.f, "\tnan\tnan\tnan");
            }
        }
        fputc('\n', a.f);
    }
    return fig_data_commit(f, &a, e);
}

/* The plot command of one panel: a band (several runs) and a line per split. */
static void plot_lines(FILE *g, const char *file, const char (*splits)[EXP_SPLIT], int nsplits,
                       const int *colors, int band) {
    fprintf(g, "  plot ");
    for (int k = 0; k < nsplits; k++) {
        int col = 2 + 3 * k;
        if (band) {
            fig_quote(g, file);
            fprintf(g, " using 1:%d:%d with filledcurves lt %d notitle, \\\n    ", col + 1, col + 2,
                    colors[k]);
        }
        fig_quote(g, file);
        fprintf(g, " using 1:%d with linespoints lt %d title ", col, colors[k]);
        fig_quote(g, splits[k]);
        fprintf(g, "%s", k + 1 < nsplits ? ", \\\n    " : "\n");
    }
}

/* "normalize-true_pca-64" for group g's non-seed parameters; "all" when none. */
static void group_name(const ExpData *x, int r, char *out, size_t n) {
    char raw[512] = "";
    for (int p = 0; p < x->nvarying; p++) {
        if (expdata_is_seed(x->varying[p])) continue;
        size_t len = strlen(raw);
        snprintf(raw + len, sizeof raw - len, "%s%s-%s", len ? "_" : "",
                 param_header(x->varying, x->nvarying, p), expdata_value(x, r, p));
    }
    plot_safe_name(raw[0] ? raw : "all", out, n);
}

static int curves_figure(const ExpData *x, const Curves *c, const PlotArgs *args, const char *dir,
                         FigList *out, Err *e) {
    char splits[CURVE_MAX_SETS][EXP_SPLIT];
    int colors[CURVE_MAX_SETS], nsplits = 0;
    /* Colours follow the histograms: train black, val blue, OOD sets from vermillion. */
    snprintf(splits[0], EXP_SPLIT, "train");
    snprintf(splits[1], EXP_SPLIT, "val");
    colors[0] = 1;
    colors[1] = 2;
    nsplits = 2;
    for (int k = 0; k < x->nood; k++) {
        snprintf(splits[nsplits], EXP_SPLIT, "%s", x->ood[k]);
        colors[nsplits++] = 3 + k % 6;
    }
    char gname[200], name[200], label[256], title[512], caption[256];
    group_name(x, c->runs[0], gname, sizeof gname);
    plot_text(name, sizeof name, "curves_%s", gname);
    plot_run_label(x, c->runs[0], 0, label, sizeof label);
    int band = c->nruns > 1;
    plot_text(title, sizeof title, "%s%s%s: %s", x->name, label[0] ? ", " : "", label,
              band ? "mean over seeds, band = min to max" : "one run");
    plot_text(caption, sizeof caption, "AUROC and mean bpd against epoch%s%s%s",
              label[0] ? " (" : "", label, label[0] ? ")" : "");
    if (band) {
        size_t len = strlen(caption);
        snprintf(caption + len, sizeof caption - len, ", mean and min-max of %d seeds", c->nruns);
    }
    Figure f;
    int rc = fig_begin(&f, dir, name, &args->fig, e);
    if (rc) return rc;
    char auroc_file[256], bpd_file[256];
    double amin, amax, bmin, bmax;
    if ((rc = write_dat(x, c, splits + 2, nsplits - 2, MET_AUROC, &f, "_auroc", auroc_file, &amin,
                        &amax, e)) ||
        (rc = write_dat(x, c, splits, nsplits, MET_MEAN_BPD, &f, "_bpd", bpd_file, &bmin, &bmax,
                        e))) {
        fig_abort(&f);
        return rc;
    }
    /* Two panels of equal size at fixed screen positions, then one key for both (a
     * set has the same colour in each), drawn by an empty plot across the whole width
     * so that it lays out in one row between the title and the panels. */
    FILE *g = f.body;
    fprintf(g, "  set multiplot\n  set label 1 ");
    fig_quote(g, title);
    fprintf(g, " at screen 0.5,0.975 center\n"
               "  set tmargin at screen 0.82\n  set bmargin at screen 0.14\n"
               "  set lmargin at screen 0.11\n  set rmargin at screen 0.47\n"
               "  set xlabel 'epoch'\n  set style fill transparent solid 0.2 noborder\n"
               "  set xrange [*:*]\n  unset logscale y\n  set yrange [*:*]\n"
               "  set ylabel 'AUROC (%%), val vs OOD set'\n  unset key\n");
    if (x->nood)
        plot_lines(g, auroc_file, splits + 2, nsplits - 2, colors + 2, band);
    else
        fprintf(g, "  plot NaN notitle  # no OOD set\n");
    /* Mean bpd of noise sets can be orders of magnitude above val's: a log axis
     * keeps every line readable. */
    int logy = bmin > 0 && bmax / bmin > 50;
    fprintf(g,
            "  unset label 1\n  set lmargin at screen 0.61\n  set rmargin at screen 0.97\n"
            "  set ylabel 'mean bpd (bits/dim)'\n%s",
            logy ? "  set logscale y\n" : "");
    plot_lines(g, bpd_file, splits, nsplits, colors, band);
    fprintf(g, "  # the shared key\n  unset logscale y\n  unset border\n  unset xtics\n"
               "  unset ytics\n  unset grid\n  unset xlabel\n  unset ylabel\n"
               "  set lmargin at screen 0.02\n  set rmargin at screen 0.98\n"
               "  set tmargin at screen 0.94\n  set bmargin at screen 0.86\n"
               "  set xrange [0:1]\n  set yrange [0:1]\n  set key inside center center horizontal\n"
               "  plot ");
    for (int k = 0; k < nsplits; k++) {
        fprintf(g, "NaN with linespoints lt %d title ", colors[k]);
        fig_quote(g, splits[k]);
        fprintf(g, "%s", k + 1 < nsplits ? ", " : "\n");
    }
    fprintf(g, "  unset multiplot\n  unset key\n  set border 3 lw 1\n"
               "  set xtics nomirror out\n  set ytics nomirror out\n  set grid\n"
               "  set tmargin\n  set bmargin\n  set lmargin\n  set rmargin\n");
    char comment[1024];
    plot_text(comment, sizeof comment,
              "%s.\nExperiment %s. Columns: epoch, then mean, min and max over the runs for each\n"
              "set (%s_auroc.dat: AUROC %%; %s_bpd.dat: bits/dim).",
              caption, x->name, name, name);
    if ((rc = fig_finish(&f, comment, e))) return rc;
    if (figlist_add(out, name, caption)) return fail(e, LDE_ERUN, "out of memory");
    return LDE_OK;
}

int plot_curves(const ExpData *x, const PlotArgs *a, const char *dir, FigList *out, Err *e) {
    int drawn = 0, rc = LDE_OK;
    for (int g = 0; g < x->ngroups && rc == LDE_OK; g++) {
        Curves c;
        if ((rc = collect(x, g, &c, e)) == LDE_OK && c.nruns > 0) {
            rc = curves_figure(x, &c, a, dir, out, e);
            drawn++;
        }
        free(c.steps);
    }
    if (rc == LDE_OK && !drawn)
        return fail(e, LDE_EINPUT, "experiment '%s': no run has an evaluation yet (lde status)",
                    x->name);
    return rc;
}
