/* plot.h — what the kinds of figure share: their options, the list of figures
 * written, labels and file names. The figures of an experiment are drawn from the
 * database only (DESIGN.md, Figures and tables); three kinds, each in its own file
 * with its own header:
 *
 *   hist    plot_hist.c    per-sample bpd histograms of train, val and every OOD set
 *                          of one run at one or more steps (LDE paper Fig. 2b, 4;
 *                          Kirichenko Fig. 4–5)
 *   curves  plot_curves.c  AUROC per OOD set and mean bpd per split against epoch,
 *                          one figure per grid point, mean and min–max over seeds
 *                          (LDE paper Fig. 5)
 *   sweep   plot_sweep.c   one metric against one grid axis, mean ± std over seeds;
 *                          lines for a numeric axis, bars for a categorical one
 *                          (LDE paper Fig. 3, Table 5)
 *
 * Every figure is written through gnuplot.h into OUT/EXPERIMENT/ with a name that
 * says what it shows (hist_<run>_step0, curves_normalize-true, sweep_pca_auroc_last).
 * The plotting code also serves `lde report`, which embeds what it draws. */
#ifndef LDE_PLOT_H
#define LDE_PLOT_H

#include "report/expdata.h"
#include "report/gnuplot.h"

typedef struct {
    const char *run;  /* hist: one run (id or prefix); NULL = every run with evaluations */
    const char *step; /* NULL = the kind's default: hist "first,last", sweep "last" */
    const char *axis; /* sweep: one grid axis; NULL = every non-seed axis */
    Metric metric;    /* sweep */
    FigOptions fig;
    int sized; /* 1 when the user chose the size (else a kind may widen the default) */
} PlotArgs;

/* The stems of the figures written (dir/stem.png ...), in order, for the report. */
typedef struct {
    char (*stem)[200];
    char (*caption)[256];
    int n, cap;
} FigList;

/* Appends one figure; -1 when out of memory. */
int figlist_add(FigList *l, const char *stem, const char *caption);
void figlist_free(FigList *l);

/* snprintf for titles, captions and keys: a label longer than the buffer is cut,
 * which is harmless for text meant for a reader. Returns the length written. */
int plot_text(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A file-name-safe form of s: letters, digits, '.', '-' and '_' kept, others '-'. */
void plot_safe_name(const char *s, char *out, size_t n);

/* OUT/NAME, NAME the experiment's safe name: where lde plot draws an experiment's
 * figures and lde report writes its report beside them. */
void plot_experiment_dir(const char *out, const char *experiment, char *dir, size_t n);

/* "normalize=true, pca=64" for run r (the non-seed varying parameters; "" when
 * none); with_seed adds "seed=N" when seeds vary. */
void plot_run_label(const ExpData *x, int r, int with_seed, char *out, size_t n);

#endif
