/* plot_sweep.c — `lde plot --kind sweep`: one metric at one step against one grid
 * axis (LDE paper Fig. 3 for PCA dimension, Table 5 as a chart for the flow
 * architecture), the mean over seeds with ± one standard deviation.
 *
 * The axis values stay in the config's order and are spaced evenly: `pca: [16, 64,
 * 256, 0]` reads left to right as written, 0 (no reduction) included. A numeric axis
 * is drawn as lines with error bars, a categorical one (glow, realnvp; true, false)
 * as grouped bars. One line or bar per OOD set; when another non-seed axis varies
 * too, per OOD set and value of the others. Only runs whose status is done count
 * (expdata_pick_steps). */
#include "report/plot_sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SWEEP_MAX = 64 };

typedef struct {
    char cat[SWEEP_MAX][EXP_VALUE]; /* axis values, first-seen order */
    int ncat;
    char sub[SWEEP_MAX][256]; /* values of the other non-seed axes, first-seen order */
    int nsub;
    char sets[EXP_MAX_OOD + 2][EXP_SPLIT]; /* what a line shows: OOD sets (+ train, val) */
    int nsets;
} Sweep;

/* Index of s in list (n entries of width w), appended when new; -1 when full. */
static int intern(char *list, int w, int *n, const char *s) {
    for (int i = 0; i < *n; i++)
        if (strcmp(list + (size_t)i * (size_t)w, s) == 0) return i;
    if (*n == SWEEP_MAX) return -1;
    snprintf(list + (size_t)*n * (size_t)w, (size_t)w, "%s", s);
    return (*n)++;
}

/* "normalize=true" for the non-seed varying parameters of run r other than axis p. */
static void sub_label(const ExpData *x, int r, int p, char *out, size_t n) {
    out[0] = 0;
    for (int q = 0; q < x->nvarying; q++) {
        if (q == p || expdata_is_seed(x->varying[q])) continue;
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s=%s", len ? ", " : "",
                 param_header(x->varying, x->nvarying, q), expdata_value(x, r, q));
    }
}

static int is_number(const char *s) {
    char *end;
    strtod(s, &end);
    return end != s && *end == 0;
}

/* The figure of axis p. steps: expdata_pick_steps's choice per run. */
static int sweep_figure(const ExpData *x, int p, const long *steps, const PlotArgs *a,
                        const char *dir, FigList *out, Err *e) {
    Sweep w = {0};
    int *cat = calloc((size_t)x->nruns, sizeof *cat), *sub = calloc((size_t)x->nruns, sizeof *sub);
    if (!cat || !sub) {
        free(cat);
        free(sub);
        return fail(e, LDE_ERUN, "out of memory");
    }
    int nused = 0, seeds = 0;
    for (int r = 0; r < x->nruns; r++) {
        char label[256];
        sub_label(x, r, p, label, sizeof label);
        cat[r] = steps[r] < 0 ? -1 : intern(w.cat[0], EXP_VALUE, &w.ncat, expdata_value(x, r, p));
        sub[r] = steps[r] < 0 ? -1 : intern(w.sub[0], 256, &w.nsub, label);
        nused += cat[r] >= 0 && sub[r] >= 0;
    }
    if (a->metric == MET_MEAN_BPD) {
        snprintf(w.sets[w.nsets++], EXP_SPLIT, "train");
        snprintf(w.sets[w.nsets++], EXP_SPLIT, "val");
    }
    for (int k = 0; k < x->nood; k++) snprintf(w.sets[w.nsets++], EXP_SPLIT, "%s", x->ood[k]);
    int numeric = 1;
    for (int c = 0; c < w.ncat; c++) numeric &= is_number(w.cat[c]);

    const char *axis = param_header(x->varying, x->nvarying, p),
               *stepspec = a->step ? a->step : "last";
    char name[200], raw[200], title[512], caption[256];
    plot_text(raw, sizeof raw, "sweep_%s_%s_%s", axis, metric_name(a->metric), stepspec);
    plot_safe_name(raw, name, sizeof name);
    Figure f;
    int rc = fig_begin(&f, dir, name, &a->fig, e);
    if (rc) goto out;
    AtomicFile af;
    char file[256];
    if ((rc = fig_data_open(&f, "", &af, file, e))) goto out;
    fprintf(af.f, "# index\t%s", x->varying[p]);
    for (int s = 0; s < w.nsub; s++)
        for (int k = 0; k < w.nsets; k++)
            fprintf(af.f, "\t%s%s%s mean\tstd", w.sets[k], w.sub[s][0] ? ", " : "", w.sub[s]);
    fprintf(af.f, "\t(%s at step %s; mean and std over seeds)\n", metric_label(a->metric),
            stepspec);
    for (int c = 0; c < w.ncat; c++) {
        fprintf(af.f, "%d\t%s", c, w.cat[c]);
        for (int s = 0; s < w.nsub; s++)
            for (int k = 0; k < w.nsets; k++) {
                double v[SWEEP_MAX * 4], mean, sd;
                int nv = 0, finite;
                for (int r = 0; r < x->nruns && nv < SWEEP_MAX * 4; r++)
                    if (cat[r] == c && sub[r] == s)
                        v[nv++] = metric_value(expdata_eval(x, r, steps[r], w.sets[k]), a->metric);
                mean_std(v, nv, &mean, &sd, &finite);
                seeds = finite > seeds ? finite : seeds;
                if (finite)
                    fprintf(af.f, "\t%.6g\t%.6g", mean, sd);
                else
                    fprintf(af.f, "\tnan\tnan");
            }
        fputc('\n', af.f);
    }
    if ((rc = fig_data_commit(&f, &af, e))) goto out;

    plot_text(title, sizeof title, "%s: %s at step %s, %s", x->name, metric_label(a->metric),
              stepspec, seeds > 1 ? "mean ± std over seeds" : "one run per point");
    plot_text(caption, sizeof caption, "%s at step %s against %s%s", metric_label(a->metric),
              stepspec, x->varying[p], seeds > 1 ? " (mean ± std over seeds)" : "");
    FILE *g = f.body;
    fprintf(g, "  set title ");
    fig_quote(g, title);
    fprintf(g, "\n  set key above horizontal\n  set xlabel ");
    fig_quote(g, x->varying[p]);
    fprintf(g, "\n  set ylabel ");
    fig_quote(g, metric_label(a->metric));
    fputc('\n', g);
    int percent = a->metric != MET_MEAN_BPD;
    if (numeric)
        fprintf(g, "  set xrange [-0.5:%g]\n  set yrange [*:*]\n  set bars small\n", w.ncat - 0.5);
    else
        fprintf(g,
                "  set style data histograms\n  set style histogram clustered gap 1\n"
                "  set boxwidth 0.9\n  set xrange [-0.5:%g]\n  set yrange [%s]\n",
                w.ncat - 0.5, percent ? "0:100" : "*:*");
    /* A set keeps its colour (as in the other figures); the values of the other axes
     * are told apart by dash pattern (lines) or fill strength (bars). */
    static const double fill[4] = {0.9, 0.55, 0.3, 0.15};
    fprintf(g, "  plot ");
    for (int s = 0, i = 0; s < w.nsub; s++)
        for (int k = 0; k < w.nsets; k++, i++) {
            char key[512];
            plot_text(key, sizeof key, "%s%s%s", w.sets[k], w.sub[s][0] ? ", " : "", w.sub[s]);
            int col = 3 + 2 * i, ood = a->metric == MET_MEAN_BPD ? k - 2 : k;
            int lt = ood < 0 ? k + 1 : 3 + ood % 6; /* train 1, val 2, OOD sets 3.. */
            if (i) fprintf(g, ", \\\n    ");
            fig_quote(g, file);
            if (numeric)
                fprintf(g, " using 1:%d:%d:xtic(2) with yerrorlines lt %d dt %d title ", col,
                        col + 1, lt, 1 + s % 5);
            else
                fprintf(g, " using %d%s lt %d fs solid %.2f border lc rgb '#333333' title ", col,
                        i ? "" : ":xtic(2)", lt, fill[s % 4]);
            fig_quote(g, key);
        }
    /* Bars: gnuplot draws histogram error bars in the fill colour, invisible on the
     * bar, so they are drawn in dark grey on top. Bar i of a cluster of n (gap 1)
     * sits at x = cluster + (i − (n − 1)/2) / (n + 1). */
    int nbars = w.nsub * w.nsets;
    for (int i = 0; !numeric && seeds > 1 && i < nbars; i++) {
        fprintf(g, ", \\\n    ");
        fig_quote(g, file);
        fprintf(g,
                " using ($1 + %.6g):%d:%d with yerrorbars lc rgb '#222222' lw 1.5 ps 0 "
                "notitle",
                (i - (nbars - 1) / 2.0) / (nbars + 1), 3 + 2 * i, 4 + 2 * i);
    }
    fputc('\n', g);
    char comment[1024];
    plot_text(comment, sizeof comment,
              "%s.\nExperiment %s, %d runs. Columns: axis index, axis value, then mean and\n"
              "standard deviation over seeds per line.",
              caption, x->name, nused);
    rc = fig_finish(&f, comment, e);
    if (rc == LDE_OK && figlist_add(out, name, caption)) rc = fail(e, LDE_ERUN, "out of memory");
    free(cat);
    free(sub);
    return rc;
out:
    fig_abort(&f);
    free(cat);
    free(sub);
    return rc;
}

int plot_sweep(const ExpData *x, const PlotArgs *a, const char *dir, FigList *out, Err *e) {
    long *steps = malloc(sizeof *steps * (size_t)x->nruns);
    if (!steps) return fail(e, LDE_ERUN, "out of memory");
    int rc = expdata_pick_steps(x, a->step ? a->step : "last", steps, e), p;
    if (rc == LDE_OK && a->axis) {
        if ((rc = expdata_axis(x, a->axis, 0, &p, e)) == LDE_OK)
            rc = sweep_figure(x, p, steps, a, dir, out, e);
    } else if (rc == LDE_OK) {
        int drawn = 0;
        for (p = 0; p < x->nvarying && rc == LDE_OK; p++)
            if (!expdata_is_seed(x->varying[p])) {
                rc = sweep_figure(x, p, steps, a, dir, out, e);
                drawn++;
            }
        if (rc == LDE_OK && !drawn)
            rc = fail(e, LDE_EINPUT, "experiment '%s': no grid axis varies%s, nothing to sweep",
                      x->name, x->nvarying ? " but seed" : "");
    }
    free(steps);
    return rc;
}
