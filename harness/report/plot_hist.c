/* plot_hist.c — `lde plot --kind hist`: overlaid histograms of per-sample bpd for
 * train, val and every OOD set of one run, one panel per requested step (LDE paper
 * Fig. 4: before and after training; Kirichenko et al. Fig. 4–5).
 *
 * All sets of a panel share one set of bins, so their bars line up. The
 * range runs from the lowest 0.5% quantile to the highest 99.5% quantile of the
 * sets: one far-off outlier cannot squash the histograms into a single bin, and
 * the panel states how many samples fell outside. Bars are each set's share of its
 * own samples (%), so sets of different sizes compare.
 *
 * A far-off OOD set (noise scores many times val's bpd) must not squash the ID
 * sets into one bin: when the range spans more than a factor HIST_LOG_RATIO the
 * bins are equal in log(bpd) on a log axis, and the bin width is the Freedman–
 * Diaconis width 2·IQR/n^(1/3) of the narrowest set (in the axis's units), so even
 * the narrowest histogram gets enough bins to show its shape; HIST_MIN_BINS ..
 * HIST_MAX_BINS bins in all.
 *
 * An experiment with flows on raw pixels and on latents also gets one figure with
 * a run of each side by side (Kirichenko et al. Fig. 5, pixels vs embeddings).
 *
 * A panel with nothing to show is replaced when the user did not pick the steps:
 * when every sample of every set has the same bpd (the 0.5–99.5% range of all sets
 * within HIST_FLAT of it: on L2-normalized latents the initial flow gives every
 * input the same bpd, 11.33 for the quickstart), the default "first" step becomes
 * the first evaluation that is not flat — or is left out when only the last one is
 * — and the caption says so. */
#include "report/plot_hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    HIST_MIN_BINS = 40,
    HIST_MAX_BINS = 300,
    HIST_MAX_PANELS = 4,
    HIST_MAX_SETS = EXP_MAX_OOD + 2
};
static const double HIST_QLO = 0.005, HIST_QHI = 0.995, HIST_LOG_RATIO = 8;
/* Relative width (of max(1, |bpd|)) below which a panel's range counts as one value:
 * 1e-4 of 11 bpd is 0.001 bpd, under a pixel of any bin width a figure can show. */
static const double HIST_FLAT = 1e-4;

typedef struct {
    char split[EXP_SPLIT];
    float *bpd; /* sorted ascending, non-finite values removed */
    long n, nonfinite;
    double auroc; /* OOD sets: against val; NaN for train and val */
    int color;    /* gnuplot line type: train 1, val 2, OOD sets 3.. */
} HistSet;

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v (n >= 1), linear between order statistics. */
static double quantile(const float *v, long n, double q) {
    double pos = q * (double)(n - 1);
    long i = (long)pos;
    if (i >= n - 1) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* The number of bins over a range of `span` (in log units when logx): span divided
 * by the smallest Freedman–Diaconis width 2·IQR/n^(1/3) among the sets. */
static int bin_count(const HistSet *sets, int nsets, int logx, double span) {
    double h = INFINITY;
    for (int i = 0; i < nsets; i++) {
        if (sets[i].n < 4) continue;
        double q1 = quantile(sets[i].bpd, sets[i].n, 0.25),
               q3 = quantile(sets[i].bpd, sets[i].n, 0.75);
        double iqr = logx ? log(q3) - log(q1) : q3 - q1;
        if (iqr > 0) h = fmin(h, 2 * iqr / cbrt((double)sets[i].n));
    }
    double n = isfinite(h) ? ceil(span / h) : HIST_MIN_BINS;
    return n < HIST_MIN_BINS ? HIST_MIN_BINS : n > HIST_MAX_BINS ? HIST_MAX_BINS : (int)n;
}

/* Loads the sets of run r at step: train, val, then the OOD sets in the
 * experiment's order, each only when its per-sample bpd is stored. */
static int load_sets(Store *s, const ExpData *x, int r, long step, HistSet *sets, int *nsets,
                     Err *e) {
    const char *names[HIST_MAX_SETS];
    int nnames = 0, rc;
    names[nnames++] = "train";
    names[nnames++] = "val";
    for (int k = 0; k < x->nood; k++) names[nnames++] = x->ood[k];
    *nsets = 0;
    for (int i = 0; i < nnames; i++) {
        const StoreEval *ev = expdata_eval(x, r, step, names[i]);
        if (!ev) continue;
        HistSet *h = &sets[*nsets];
        memset(h, 0, sizeof *h);
        if ((rc = store_scores(s, x->runs[r].id, step, names[i], &h->bpd, &h->n, e))) return rc;
        if (!h->bpd) continue;
        long k = 0;
        for (long j = 0; j < h->n; j++)
            if (isfinite(h->bpd[j])) h->bpd[k++] = h->bpd[j];
        h->nonfinite = h->n - k;
        h->n = k;
        qsort(h->bpd, (size_t)h->n, sizeof *h->bpd, cmp_float);
        snprintf(h->split, sizeof h->split, "%s", names[i]);
        h->auroc = ev->auroc;
        h->color = i < 2 ? i + 1 : 3 + (i - 2) % 6;
        (*nsets)++;
    }
    if (*nsets == 0)
        return fail(e, LDE_EINPUT, "run %.8s has no per-sample bpd stored at step %ld",
                    x->runs[r].id, step);
    return LDE_OK;
}

static void free_sets(HistSet *sets, int n) {
    for (int i = 0; i < n; i++) free(sets[i].bpd);
}

/* The range of a panel: the lowest 0.5% and highest 99.5% quantile over the sets
 * (lo > hi when no set has a finite value). */
static void panel_range(const HistSet *sets, int nsets, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < nsets; i++) {
        if (sets[i].n == 0) continue;
        *lo = fmin(*lo, quantile(sets[i].bpd, sets[i].n, HIST_QLO));
        *hi = fmax(*hi, quantile(sets[i].bpd, sets[i].n, HIST_QHI));
    }
}

/* *flat = 1 when run r's panel at step would show one value (*value) for every
 * set: nothing to see. */
static int step_is_flat(Store *s, const ExpData *x, int r, long step, int *flat, double *value,
                        Err *e) {
    HistSet sets[HIST_MAX_SETS];
    int nsets = 0, rc = load_sets(s, x, r, step, sets, &nsets, e);
    double lo, hi;
    panel_range(sets, nsets, &lo, &hi);
    free_sets(sets, nsets);
    *flat = rc == LDE_OK && isfinite(lo) && hi - lo <= HIST_FLAT * fmax(1, fabs(lo));
    *value = lo;
    return rc;
}

/* Replaces each flat step of steps (run r) by the first later evaluation that is
 * not flat and not shown already, or, when there is none and other panels remain,
 * leaves it out; note says what was done (empty when nothing was). A run whose
 * every evaluation is flat keeps its steps. */
static int skip_flat_steps(Store *s, const ExpData *x, int r, long *steps, int *nsteps, char *note,
                           size_t nnote, Err *e) {
    long *all = NULL;
    int nall = 0, rc = expdata_steps(x, r, &all, &nall, e);
    note[0] = 0;
    for (int i = 0; i < *nsteps && rc == LDE_OK; i++) {
        int flat, found = 0;
        double v;
        if ((rc = step_is_flat(s, x, r, steps[i], &flat, &v, e)) || !flat) continue;
        for (int k = 0; k < nall && rc == LDE_OK && !found; k++) {
            int f2, shown = 0;
            double v2;
            for (int j = 0; j < *nsteps; j++) shown |= steps[j] == all[k];
            if (all[k] <= steps[i] || shown) continue;
            if ((rc = step_is_flat(s, x, r, all[k], &f2, &v2, e)) || f2) continue;
            plot_text(note, nnote,
                      " (step %ld left out: every sample had bpd %.4g there; step %ld is the "
                      "first informative evaluation)",
                      steps[i], v, all[k]);
            steps[i] = all[k];
            found = 1;
        }
        if (rc == LDE_OK && !found && *nsteps > 1) {
            plot_text(note, nnote, " (step %ld left out: every sample had bpd %.4g there)",
                      steps[i], v);
            for (int j = i + 1; j < *nsteps; j++) steps[j - 1] = steps[j];
            (*nsteps)--, i--;
        }
    }
    free(all);
    return rc;
}

/* One panel: its .dat file (NAME_<tag>step<step>.dat: bin centre, then each set's
 * % per bin) and the plot commands. title_prefix (the run) goes above the step
 * line; tag tells the data files of two runs at the same step apart. */
static int hist_panel(Store *s, const ExpData *x, int r, long step, const char *title_prefix,
                      const char *tag, Figure *f, Err *e) {
    HistSet sets[HIST_MAX_SETS];
    int nsets = 0, rc = load_sets(s, x, r, step, sets, &nsets, e);
    if (rc) {
        free_sets(sets, nsets);
        return rc;
    }
    double lo, hi;
    long total = 0, outside = 0;
    for (int i = 0; i < nsets; i++) {
        total += sets[i].n + sets[i].nonfinite;
        outside += sets[i].nonfinite;
    }
    panel_range(sets, nsets, &lo, &hi);
    if (!isfinite(lo)) { /* every value non-finite: an empty panel */
        lo = 0;
        hi = 1;
    }
    if (hi <= lo) hi = lo + 1e-3 * fmax(1, fabs(lo)); /* all equal: one narrow bin range */
    int logx = lo > 0 && hi / lo > HIST_LOG_RATIO;
    double tlo = logx ? log(lo) : lo, thi = logx ? log(hi) : hi;
    int nbins = bin_count(sets, nsets, logx, thi - tlo);
    double width = (thi - tlo) / nbins;
    double *pct = calloc((size_t)nsets * (size_t)nbins + 1, sizeof *pct); /* nsets × nbins */
    if (!pct) {
        rc = fail(e, LDE_ERUN, "out of memory");
        goto out;
    }
    for (int i = 0; i < nsets; i++) {
        for (long j = 0; j < sets[i].n; j++) {
            double v = sets[i].bpd[j];
            if (v < lo || v > hi) {
                outside++;
                continue;
            }
            int b = (int)(((logx ? log(v) : v) - tlo) / width);
            pct[(size_t)i * (size_t)nbins + (size_t)(b < nbins ? b : nbins - 1)] += 1;
        }
        long n = sets[i].n + sets[i].nonfinite;
        for (int b = 0; b < nbins; b++)
            pct[(size_t)i * (size_t)nbins + (size_t)b] *= n ? 100.0 / (double)n : 0;
    }
    AtomicFile a;
    char suffix[64], file[256];
    snprintf(suffix, sizeof suffix, "_%sstep%ld", tag, step);
    if ((rc = fig_data_open(f, suffix, &a, file, e))) goto out;
    /* One row per bin edge: a bin's value on its left edge, repeated on the last
     * edge so that `steps` closes the last bin. */
    fprintf(a.f, "# bpd (bits/dim, left bin edge)");
    for (int i = 0; i < nsets; i++) fprintf(a.f, "\t%s (%% of set)", sets[i].split);
    fputc('\n', a.f);
    for (int b = 0; b <= nbins; b++) {
        double edge = tlo + b * width;
        fprintf(a.f, "%.6g", logx ? exp(edge) : edge);
        for (int i = 0; i < nsets; i++)
            fprintf(a.f, "\t%.6g",
                    pct[(size_t)i * (size_t)nbins + (size_t)(b < nbins ? b : b - 1)]);
        fputc('\n', a.f);
    }
    if ((rc = fig_data_commit(f, &a, e))) goto out;

    const StoreEval *ev = expdata_eval(x, r, step, sets[0].split);
    char title[512];
    plot_text(title, sizeof title,
              "%s\nstep %ld (epoch %.3g): %ld of %ld samples outside [%.4g, %.4g]", title_prefix,
              step, ev ? ev->epoch : NAN, outside, total, lo, hi);
    FILE *g = f->body;
    fprintf(g, "  set title ");
    fig_quote(g, title);
    fprintf(g,
            "\n  set xlabel 'bpd (bits/dim)'\n  set ylabel 'samples per bin (%% of set)'\n"
            "  set key above horizontal\n  set style fill transparent solid 0.25 noborder\n"
            "  %s\n  set xrange [%.6g:%.6g]\n  set yrange [0:*]\n",
            logx ? "set logscale x" : "unset logscale x", lo, hi);
    if (logx) { /* gnuplot labels only decades: label 1, 2, 5 × 10^k instead */
        fprintf(g, "  set xtics (");
        int first = 1;
        static const int mant[3] = {1, 2, 5};
        for (int k = (int)floor(log10(lo)); k <= (int)ceil(log10(hi)); k++)
            for (int j = 0; j < 3; j++) {
                double v = mant[j] * pow(10, k);
                if (v < lo || v > hi) continue;
                fprintf(g, "%s%g", first ? "" : ", ", v);
                first = 0;
            }
        fprintf(g, ")\n");
    } else {
        fprintf(g, "  set xtics autofreq\n");
    }
    fprintf(g, "  plot ");
    for (int i = 0; i < nsets; i++) {
        char key[128];
        if (isnan(sets[i].auroc))
            plot_text(key, sizeof key, "%s", sets[i].split);
        else
            plot_text(key, sizeof key, "%s (AUROC %.1f%%)", sets[i].split, 100 * sets[i].auroc);
        fig_quote(g, file);
        fprintf(g, " using 1:%d with fillsteps lt %d notitle, \\\n    ", i + 2, sets[i].color);
        fig_quote(g, file);
        fprintf(g, " using 1:%d with steps lt %d title ", i + 2, sets[i].color);
        fig_quote(g, key);
        fprintf(g, "%s", i + 1 < nsets ? ", \\\n    " : "\n");
    }
out:
    free(pct);
    free_sets(sets, nsets);
    return rc;
}

/* The figure of run r at the given steps (distinct, 1..HIST_MAX_PANELS). */
static int hist_figure(Store *s, const ExpData *x, int r, const long *steps, int nsteps,
                       const char *note, const PlotArgs *args, const char *dir, FigList *out,
                       Err *e) {
    char name[200], label[256], prefix[512], caption[256];
    int len = plot_text(name, sizeof name, "hist_%.8s", x->runs[r].id);
    for (int i = 0; i < nsteps && len < (int)sizeof name; i++)
        len += snprintf(name + len, sizeof name - (size_t)len, "_step%ld", steps[i]);
    plot_run_label(x, r, 1, label, sizeof label);
    plot_text(prefix, sizeof prefix, "%s: run %.8s%s%s%s", x->name, x->runs[r].id,
              label[0] ? " (" : "", label, label[0] ? ")" : "");
    FigOptions o = args->fig;
    if (!args->sized && nsteps > 1) o.width = 800 * nsteps;
    Figure f;
    int rc = fig_begin(&f, dir, name, &o, e);
    if (rc) return rc;
    /* Each panel's title names the run: a multiplot title would collide with the
     * keys above the panels. */
    if (nsteps > 1) fprintf(f.body, "  set multiplot layout 1,%d\n", nsteps);
    for (int i = 0; i < nsteps && rc == LDE_OK; i++)
        rc = hist_panel(s, x, r, steps[i], prefix, "", &f, e);
    if (nsteps > 1) fprintf(f.body, "  unset multiplot\n");
    if (rc) {
        fig_abort(&f);
        return rc;
    }
    int n = plot_text(caption, sizeof caption, "Per-sample bpd of run %.8s%s%s%s at step",
                      x->runs[r].id, label[0] ? " (" : "", label, label[0] ? ")" : "");
    for (int i = 0; i < nsteps && n < (int)sizeof caption; i++)
        n +=
            snprintf(caption + n, sizeof caption - (size_t)n, "%s %ld",
                     i == 0 ? (nsteps > 1 ? "s" : "") : (i + 1 == nsteps ? " and" : ","), steps[i]);
    if (n < (int)sizeof caption) plot_text(caption + n, sizeof caption - (size_t)n, "%s", note);
    char comment[1024];
    plot_text(comment, sizeof comment,
              "%s.\nExperiment %s. Columns: bin centre (bits/dim), then each set's share of\n"
              "its samples in the bin (%%).",
              caption, x->name);
    if ((rc = fig_finish(&f, comment, e))) return rc;
    if (figlist_add(out, name, caption)) return fail(e, LDE_ERUN, "out of memory");
    return LDE_OK;
}

/* Resolves the comma-separated step specs for run r into distinct steps, in order. */
static int resolve_steps(const ExpData *x, int r, const char *spec, long *steps, int *n, Err *e) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        long step;
        int rc = expdata_resolve_step(x, r, tok, &step, e), dup = 0;
        if (rc) return rc;
        for (int i = 0; i < *n; i++) dup |= steps[i] == step;
        if (dup) continue;
        if (*n == HIST_MAX_PANELS)
            return fail(e, LDE_EINPUT, "--step '%s': at most %d steps side by side", spec,
                        HIST_MAX_PANELS);
        steps[(*n)++] = step;
    }
    if (*n == 0) return fail(e, LDE_EINPUT, "--step '%s': no step given", spec);
    return LDE_OK;
}

/* Whether run r trained a flow on pixels: its data are images (params.c writes
 * data.features as "fashion-mnist-pixels" or {"images": ...} for them). */
static int run_on_pixels(const ExpData *x, int r) {
    const char *j = x->runs[r].params_json;
    return j && (strstr(j, "\"features\":\"fashion-mnist-pixels\"") ||
                 strstr(j, "\"features\":{\"images\""));
}

int plot_hist_pixels_vs_latent(Store *s, const ExpData *x, const PlotArgs *args, const char *dir,
                               FigList *out, Err *e) {
    int pix = -1, lat = -1;
    for (int r = 0; r < x->nruns; r++) {
        if (x->nev[r] == 0) continue;
        if (run_on_pixels(x, r) && pix < 0) pix = r;
        if (!run_on_pixels(x, r) && lat < 0) lat = r;
    }
    if (pix < 0 || lat < 0) return LDE_OK;
    const char *name = "hist_pixels_vs_latent";
    FigOptions o = args->fig;
    if (!args->sized) o.width = 1600;
    Figure f;
    int rc = fig_begin(&f, dir, name, &o, e);
    if (rc) return rc;
    fprintf(f.body, "  set multiplot layout 1,2\n");
    const int runs[2] = {pix, lat};
    for (int i = 0; i < 2 && rc == LDE_OK; i++) {
        long step;
        char prefix[512]; /* no parameter list: the two runs differ in most of them */
        if ((rc = expdata_resolve_step(x, runs[i], "last", &step, e))) break;
        plot_text(prefix, sizeof prefix, "%s: run %.8s", i == 0 ? "raw pixels" : "embeddings",
                  x->runs[runs[i]].id);
        rc = hist_panel(s, x, runs[i], step, prefix, i == 0 ? "pixels_" : "latent_", &f, e);
    }
    fprintf(f.body, "  unset multiplot\n");
    if (rc) {
        fig_abort(&f);
        return rc;
    }
    char caption[256], comment[1024];
    plot_text(caption, sizeof caption,
              "Per-sample bpd of a flow on raw pixels (run %.8s) and on embeddings (run %.8s), "
              "last evaluation (Kirichenko et al. Fig. 5)",
              x->runs[pix].id, x->runs[lat].id);
    plot_text(comment, sizeof comment,
              "%s.\nExperiment %s. Columns: bin centre (bits/dim), then each set's share of\n"
              "its samples in the bin (%%); one data file per panel.",
              caption, x->name);
    if ((rc = fig_finish(&f, comment, e))) return rc;
    return figlist_add(out, name, caption) ? fail(e, LDE_ERUN, "out of memory") : LDE_OK;
}

int plot_hist(Store *s, const ExpData *x, const PlotArgs *a, const char *dir, FigList *out,
              Err *e) {
    const char *spec = a->step ? a->step : "first,last";
    long steps[HIST_MAX_PANELS];
    int nsteps, rc, drawn = 0;
    char note[200] = "";
    if (a->run) {
        int r;
        if ((rc = expdata_find_run(x, a->run, &r, e)) ||
            (rc = resolve_steps(x, r, spec, steps, &nsteps, e)) ||
            (!a->step && (rc = skip_flat_steps(s, x, r, steps, &nsteps, note, sizeof note, e))))
            return rc;
        return hist_figure(s, x, r, steps, nsteps, note, a, dir, out, e);
    }
    for (int r = 0; r < x->nruns; r++) {
        if (x->nev[r] == 0) continue;
        if ((rc = resolve_steps(x, r, spec, steps, &nsteps, e)) ||
            (!a->step && (rc = skip_flat_steps(s, x, r, steps, &nsteps, note, sizeof note, e))) ||
            (rc = hist_figure(s, x, r, steps, nsteps, note, a, dir, out, e)))
            return rc;
        drawn++;
    }
    if (!drawn)
        return fail(e, LDE_EINPUT, "experiment '%s': no run has an evaluation yet (lde status)",
                    x->name);
    return plot_hist_pixels_vs_latent(s, x, a, dir, out, e);
}
