/* restable.h — the results table of an experiment (LDE paper Tables 3–5; with
 * baselines, Table 1): one row per grid point, one column per OOD set, each cell the
 * mean over seeds (± sample std when there are several) of a metric at a chosen
 * step, the best per column in bold. Printed as Markdown, LaTeX (booktabs tabular)
 * or CSV by `lde table` and `lde report` (a one-row table has nothing in bold).
 *
 * Rows: the groups of expdata.h (runs differing only in seed) among runs that are
 * done, labelled by the non-seed parameters that vary; with a rows axis, that axis
 * is the first label column and orders the rows (config order). Columns: the OOD
 * sets, and "far-OOD mean" / "near-OOD mean" for a class of built-in sets (ood_tag)
 * that has at least two members — each run's mean over the class, then the mean over
 * seeds. For mean_bpd the columns are train, val and the OOD sets, and nothing is
 * bold (lower bpd is better on val, higher on OOD sets: no single "best"). */
#ifndef LDE_RESTABLE_H
#define LDE_RESTABLE_H

#include "report/expdata.h"

#include <stdio.h>

enum { RT_MAX_KEYS = 8, RT_MAX_COLS = EXP_MAX_OOD + 4, RT_TEXT = 64 };

typedef struct {
    char label[RT_MAX_KEYS][RT_TEXT]; /* one per key column */
    double mean[RT_MAX_COLS], sd[RT_MAX_COLS];
    int n[RT_MAX_COLS]; /* runs behind each cell (0 = empty cell) */
    int baseline;       /* a baseline method's row */
} RtRow;

typedef struct {
    char title[256];                 /* what the cells are, for captions and comments */
    char keys[RT_MAX_KEYS][RT_TEXT]; /* label column headers */
    int nkeys;
    char cols[RT_MAX_COLS][RT_TEXT];
    int ncols;
    RtRow *rows;
    int nrows;
    Metric metric;
} ResultTable;

/* Builds the table of x: metric at step spec (expdata_pick_steps), rows along
 * varying parameter `axis` (-1: every varying combination in plan order). */
int restable_build(const ExpData *x, int axis, Metric metric, const char *step, ResultTable *t,
                   Err *e);

/* Adds one row per baseline method, above the others: b[f] (nb[f] rows) are the
 * baselines of feature set f — one per seed when each seed trains its own backbone
 * — and a cell is the mean ± std over the feature sets of the method's value for the
 * column's OOD set (or class mean). */
int restable_add_baselines(ResultTable *t, StoreBaselineRow *const *b, const int *nb, int nsets,
                           Err *e);

/* The feature cache keys whose baselines belong beside experiment x: the
 * feature sets lde run / lde baselines linked to it (store_experiment_features),
 * else the only key in the baselines table. LDE_EINPUT when there are none, or several to
 * choose from (listing them; `lde table --features KEY,...` then picks). Free with
 * store_strings_free. */
int restable_baselines_keys(Store *s, const ExpData *x, char ***keys, int *nk, Err *e);

/* Loads the baselines of x's feature sets (restable_baselines_keys, or the comma-
 * separated keys in `features` when not NULL) and adds them to t; t is unchanged on
 * failure (LDE_EINPUT: no baselines, or a key without any). */
int restable_load_baselines(Store *s, const ExpData *x, const char *features, ResultTable *t,
                            Err *e);

void restable_free(ResultTable *t);

typedef enum { RT_MARKDOWN, RT_LATEX, RT_CSV } RtFormat;

/* "md", "latex", "csv" -> *f; LDE_EINPUT listing the choices. */
int restable_parse_format(const char *s, RtFormat *f, Err *e);

/* Prints t. Cells: two decimals in Markdown and LaTeX ("96.48 ± 0.12"), %.6g in CSV
 * (columns NAME and NAME_std per value column, then runs). */
void restable_print(const ResultTable *t, RtFormat format, FILE *f);

#endif
