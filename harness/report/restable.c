/* restable.c — see restable.h: building the results table and printing it. */
#include "report/restable.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What a value column holds: one split, or a class mean ('f' far, 'n' near). */
static int col_class(const ResultTable *t, int c) {
    if (strcmp(t->cols[c], "far-OOD mean") == 0) return 'f';
    if (strcmp(t->cols[c], "near-OOD mean") == 0) return 'n';
    return 0;
}

/* The value of column c for run r at step: the split's metric, or the mean over the
 * class's OOD sets (NaN when one of them is missing). */
static double col_value(const ExpData *x, const ResultTable *t, int c, int r, long step) {
    int cls = col_class(t, c);
    if (!cls) return metric_value(expdata_eval(x, r, step, t->cols[c]), t->metric);
    double sum = 0;
    int k = 0;
    for (int j = 0; j < t->ncols; j++)
        if (!col_class(t, j) && ood_tag(t->cols[j]) == cls) {
            sum += metric_value(expdata_eval(x, r, step, t->cols[j]), t->metric);
            k++;
        }
    return k ? sum / k : NAN;
}

static void add_columns(const ExpData *x, ResultTable *t) {
    if (t->metric == MET_MEAN_BPD) {
        snprintf(t->cols[t->ncols++], RT_TEXT, "train");
        snprintf(t->cols[t->ncols++], RT_TEXT, "val");
    }
    int nfar = 0, nnear = 0;
    for (int k = 0; k < x->nood && t->ncols < RT_MAX_COLS - 2; k++) {
        snprintf(t->cols[t->ncols++], RT_TEXT, "%s", x->ood[k]);
        nfar += ood_tag(x->ood[k]) == 'f';
        nnear += ood_tag(x->ood[k]) == 'n';
    }
    if (t->metric == MET_MEAN_BPD) return;
    if (nfar >= 2) snprintf(t->cols[t->ncols++], RT_TEXT, "far-OOD mean");
    if (nnear >= 2) snprintf(t->cols[t->ncols++], RT_TEXT, "near-OOD mean");
}

/* Rank of run r's value of axis p among the values in plan order. */
static int value_rank(const ExpData *x, int p, int r) {
    int rank = 0;
    for (int q = 0; q < r; q++) {
        int first = 1;
        for (int k = 0; k < q && first; k++)
            first = strcmp(expdata_value(x, k, p), expdata_value(x, q, p)) != 0;
        if (!first) continue;
        if (strcmp(expdata_value(x, q, p), expdata_value(x, r, p)) == 0) return rank;
        rank++;
    }
    return rank;
}

int restable_build(const ExpData *x, int axis, Metric metric, const char *step, ResultTable *t,
                   Err *e) {
    memset(t, 0, sizeof *t);
    t->metric = metric;
    long *steps = malloc(sizeof *steps * (size_t)x->nruns);
    int *order = malloc(sizeof *order * (size_t)(x->ngroups + 1));
    int *rank = calloc((size_t)x->ngroups + 1, sizeof *rank);
    int *rep = malloc(sizeof *rep * (size_t)(x->ngroups + 1));
    t->rows = calloc((size_t)x->ngroups + 1, sizeof *t->rows);
    int rc;
    if (!steps || !order || !rank || !rep || !t->rows) {
        rc = fail(e, LDE_ERUN, "out of memory");
        goto out;
    }
    if ((rc = expdata_pick_steps(x, step, steps, e))) goto out;
    int kp[RT_MAX_KEYS] = {0};
    if (axis >= 0) kp[t->nkeys++] = axis;
    for (int p = 0; p < x->nvarying && t->nkeys < RT_MAX_KEYS; p++)
        if (p != axis && !expdata_is_seed(x->varying[p])) kp[t->nkeys++] = p;
    int nparam = t->nkeys; /* 0: nothing but seeds varies, one row named by the experiment */
    for (int k = 0; k < nparam; k++)
        snprintf(t->keys[k], RT_TEXT, "%s", param_header(x->varying, x->nvarying, kp[k]));
    if (nparam == 0) snprintf(t->keys[t->nkeys++], RT_TEXT, "experiment");
    add_columns(x, t);

    /* Groups with a contributing run, ordered by the rows axis (stable). */
    int ng = 0, seeds = 0;
    for (int g = 0; g < x->ngroups; g++) {
        rep[g] = -1;
        for (int r = 0; r < x->nruns && rep[g] < 0; r++)
            if (x->group[r] == g && steps[r] >= 0) rep[g] = r;
        if (rep[g] < 0) continue;
        rank[g] = axis >= 0 ? value_rank(x, axis, rep[g]) : 0;
        int i = ng++;
        while (i > 0 && rank[order[i - 1]] > rank[g]) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = g;
    }
    for (int i = 0; i < ng; i++) {
        int g = order[i];
        RtRow *row = &t->rows[t->nrows++];
        for (int k = 0; k < t->nkeys; k++)
            snprintf(row->label[k], RT_TEXT, "%.63s",
                     nparam ? expdata_value(x, rep[g], kp[k]) : x->name);
        for (int c = 0; c < t->ncols; c++) {
            double v[256];
            int nv = 0;
            for (int r = 0; r < x->nruns && nv < 256; r++)
                if (x->group[r] == g && steps[r] >= 0) v[nv++] = col_value(x, t, c, r, steps[r]);
            mean_std(v, nv, &row->mean[c], &row->sd[c], &row->n[c]);
            seeds = row->n[c] > seeds ? row->n[c] : seeds;
        }
    }
    snprintf(t->title, sizeof t->title, "%s at step %s%s", metric_label(metric), step,
             seeds > 1 ? "; mean ± std over seeds" : "");
out:
    free(steps);
    free(order);
    free(rank);
    free(rep);
    if (rc) restable_free(t);
    return rc;
}

/* Baseline method `method`'s value of column c on one feature set's rows: the OOD
 * set's metric, or the class mean (NaN when a set is missing). */
static double baseline_value(const ResultTable *t, int c, const char *method,
                             const StoreBaselineRow *b, int nb) {
    int cls = col_class(t, c), k = 0;
    double sum = 0;
    for (int j = 0; j < t->ncols; j++) {
        if (col_class(t, j) || (cls ? ood_tag(t->cols[j]) != cls : j != c)) continue;
        double v = NAN;
        for (int i = 0; i < nb; i++)
            if (strcmp(b[i].method, method) == 0 && strcmp(b[i].ood, t->cols[j]) == 0) {
                StoreEval ev = {.auroc = b[i].metrics.auroc,
                                .fpr95 = b[i].metrics.fpr95,
                                .aupr_in = b[i].metrics.aupr_in,
                                .aupr_out = b[i].metrics.aupr_out};
                v = metric_value(&ev, t->metric);
            }
        sum += v;
        k++;
    }
    return k ? sum / k : NAN;
}

int restable_add_baselines(ResultTable *t, StoreBaselineRow *const *b, const int *nb, int nsets,
                           Err *e) {
    if (t->metric == MET_MEAN_BPD)
        return fail(e, LDE_EINPUT,
                    "--baselines: baseline detectors have no bpd; pick another --metric");
    char methods[64][64];
    int nm = 0;
    for (int f = 0; f < nsets; f++)
        for (int i = 0; i < nb[f]; i++) {
            int seen = 0;
            for (int m = 0; m < nm; m++) seen |= strcmp(methods[m], b[f][i].method) == 0;
            if (!seen && nm < 64) snprintf(methods[nm++], 64, "%.63s", b[f][i].method);
        }
    RtRow *rows = realloc(t->rows, sizeof *rows * (size_t)(t->nrows + nm + 1));
    if (!rows) return fail(e, LDE_ERUN, "out of memory");
    t->rows = rows;
    /* Nothing but seeds varies: the flow's one row is named by the experiment, which
     * beside "msp", "knn", ... would read as one more method. Say it is the flow. */
    if (t->nkeys == 1 && strcmp(t->keys[0], "experiment") == 0) {
        snprintf(t->keys[0], RT_TEXT, "method");
        for (int r = 0; r < t->nrows; r++) {
            char name[RT_TEXT];
            snprintf(name, sizeof name, "%s", rows[r].label[0]);
            snprintf(rows[r].label[0], RT_TEXT, "%.40s (flow)", name);
        }
    }
    memmove(rows + nm, rows, sizeof *rows * (size_t)t->nrows);
    for (int m = 0; m < nm; m++) {
        RtRow *row = &rows[m];
        memset(row, 0, sizeof *row);
        row->baseline = 1;
        snprintf(row->label[0], RT_TEXT, "%.63s", methods[m]);
        for (int c = 0; c < t->ncols; c++) {
            double v[256];
            int nv = 0;
            for (int f = 0; f < nsets && nv < 256; f++)
                v[nv++] = baseline_value(t, c, methods[m], b[f], nb[f]);
            mean_std(v, nv, &row->mean[c], &row->sd[c], &row->n[c]);
        }
    }
    t->nrows += nm;
    return LDE_OK;
}

int restable_baselines_keys(Store *s, const ExpData *x, char ***keys, int *nk, Err *e) {
    *keys = NULL;
    *nk = 0;
    /* Rule 1: the feature sets lde run / lde baselines linked to the experiment. */
    int rc1 = store_experiment_features(s, x->name, keys, nk, e);
    if (rc1) return rc1;
    if (*nk) return LDE_OK;
    /* Rule 2: the only feature key the baselines table holds. */
    char **all = NULL, list[512] = "";
    int n = 0, rc = store_baseline_features(s, &all, &n, e);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", all[i]);
    }
    if (n == 1) {
        *keys = all;
        *nk = 1;
        return LDE_OK;
    }
    store_strings_free(all, n);
    if (n == 0)
        return fail(e, LDE_EINPUT,
                    "--baselines: the database holds no baselines yet (lde run "
                    "computes them for features with a classifier head)");
    return fail(e, LDE_EINPUT,
                "--baselines: experiment '%s' does not record its features; pick "
                "them with --features KEY[,KEY...] (%s)",
                x->name, list);
}

int restable_load_baselines(Store *s, const ExpData *x, const char *features, ResultTable *t,
                            Err *e) {
    char **keys = NULL;
    int nk = 0, rc = LDE_OK;
    if (features) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", features);
        keys = calloc(64, sizeof *keys);
        if (!keys) return fail(e, LDE_ERUN, "out of memory");
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && nk < 64;
             tok = strtok_r(NULL, ",", &save))
            keys[nk++] = strdup(tok);
    } else if ((rc = restable_baselines_keys(s, x, &keys, &nk, e))) {
        return rc;
    }
    StoreBaselineRow **b = calloc((size_t)nk + 1, sizeof(StoreBaselineRow *));
    int *nb = calloc((size_t)nk + 1, sizeof(int));
    if (!b || !nb) {
        free(b);
        free(nb);
        store_strings_free(keys, nk);
        return fail(e, LDE_ERUN, "out of memory");
    }
    for (int k = 0; k < nk && rc == LDE_OK; k++) {
        if (!keys[k]) rc = fail(e, LDE_ERUN, "out of memory");
        if (rc == LDE_OK) rc = store_get_baselines(s, keys[k], &b[k], &nb[k], e);
        if (rc == LDE_OK && nb[k] == 0)
            rc = fail(e, LDE_EINPUT, "--baselines: no baselines for features '%s'", keys[k]);
    }
    if (rc == LDE_OK) rc = restable_add_baselines(t, b, nb, nk, e);
    for (int k = 0; k < nk; k++) store_baselines_free(b[k], nb[k]);
    free(b);
    free(nb);
    store_strings_free(keys, nk);
    return rc;
}

void restable_free(ResultTable *t) {
    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
}

int restable_parse_format(const char *s, RtFormat *f, Err *e) {
    static const char *const names[] = {"md", "latex", "csv"};
    for (int k = 0; k < 3; k++)
        if (strcmp(s, names[k]) == 0) {
            *f = (RtFormat)k;
            return LDE_OK;
        }
    return fail(e, LDE_EINPUT, "--format '%s': expected md, latex or csv", s);
}

/* Whether row r holds the best value of column c (ties at the printed precision
 * all count as best). */
static int is_best(const ResultTable *t, int r, int c) {
    int dir = metric_direction(t->metric);
    if (!dir || t->nrows < 2 || t->rows[r].n[c] == 0) return 0; /* one row: nothing to compare */
    double mine = round(100 * t->rows[r].mean[c]);
    for (int i = 0; i < t->nrows; i++)
        if (t->rows[i].n[c] && dir * (round(100 * t->rows[i].mean[c]) - mine) > 0) return 0;
    return 1;
}

static void latex_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (strchr("&%$#_{}", *s))
            fprintf(f, "\\%c", *s);
        else if (*s == '~' || *s == '^' || *s == '\\')
            fprintf(f, "\\textascii%s{}", *s == '~' ? "tilde" : *s == '^' ? "circum" : "backslash");
        else
            fputc(*s, f);
    }
}

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_markdown(const ResultTable *t, FILE *f) {
    fputc('|', f);
    for (int k = 0; k < t->nkeys; k++) fprintf(f, " %s |", t->keys[k]);
    for (int c = 0; c < t->ncols; c++) fprintf(f, " %s |", t->cols[c]);
    fputs("\n|", f);
    for (int k = 0; k < t->nkeys; k++) fputs("---|", f);
    for (int c = 0; c < t->ncols; c++) fputs("--:|", f);
    fputc('\n', f);
    for (int r = 0; r < t->nrows; r++) {
        const RtRow *row = &t->rows[r];
        fputc('|', f);
        for (int k = 0; k < t->nkeys; k++) fprintf(f, " %s |", row->label[k]);
        for (int c = 0; c < t->ncols; c++) {
            const char *b = is_best(t, r, c) ? "**" : "";
            if (!row->n[c])
                fputs(" - |", f);
            else if (row->n[c] > 1)
                fprintf(f, " %s%.2f ± %.2f%s |", b, row->mean[c], row->sd[c], b);
            else
                fprintf(f, " %s%.2f%s |", b, row->mean[c], b);
        }
        fputc('\n', f);
    }
}

static void print_latex(const ResultTable *t, FILE *f) {
    fputs("% ", f);
    fputs(t->title, f);
    fputs(metric_direction(t->metric) && t->nrows > 1 ? "; best per column in bold\n" : "\n", f);
    fputs("% needs \\usepackage{booktabs}\n\\begin{tabular}{", f);
    for (int k = 0; k < t->nkeys; k++) fputc('l', f);
    for (int c = 0; c < t->ncols; c++) fputc('r', f);
    fputs("}\n\\toprule\n", f);
    for (int i = 0; i < t->nkeys + t->ncols; i++) {
        latex_escape(f, i < t->nkeys ? t->keys[i] : t->cols[i - t->nkeys]);
        fputs(i + 1 < t->nkeys + t->ncols ? " & " : " \\\\\n", f);
    }
    fputs("\\midrule\n", f);
    for (int r = 0; r < t->nrows; r++) {
        const RtRow *row = &t->rows[r];
        for (int k = 0; k < t->nkeys; k++) {
            latex_escape(f, row->label[k]);
            fputs(" & ", f);
        }
        for (int c = 0; c < t->ncols; c++) {
            int b = is_best(t, r, c);
            if (!row->n[c])
                fputs("--", f);
            else if (row->n[c] > 1)
                fprintf(f, b ? "$\\mathbf{%.2f \\pm %.2f}$" : "$%.2f \\pm %.2f$", row->mean[c],
                        row->sd[c]);
            else
                fprintf(f, b ? "\\textbf{%.2f}" : "%.2f", row->mean[c]);
            fputs(c + 1 < t->ncols ? " & " : " \\\\\n", f);
        }
        if (row->baseline && r + 1 < t->nrows && !t->rows[r + 1].baseline) fputs("\\midrule\n", f);
    }
    fputs("\\bottomrule\n\\end{tabular}\n", f);
}

static void print_csv(const ResultTable *t, FILE *f) {
    for (int k = 0; k < t->nkeys; k++) {
        csv_field(f, t->keys[k]);
        fputc(',', f);
    }
    for (int c = 0; c < t->ncols; c++) {
        char std[RT_TEXT + 8];
        snprintf(std, sizeof std, "%s_std", t->cols[c]);
        csv_field(f, t->cols[c]);
        fputc(',', f);
        csv_field(f, std);
        fputc(',', f);
    }
    fputs("runs\n", f);
    for (int r = 0; r < t->nrows; r++) {
        const RtRow *row = &t->rows[r];
        int runs = 0;
        for (int k = 0; k < t->nkeys; k++) {
            csv_field(f, row->label[k]);
            fputc(',', f);
        }
        for (int c = 0; c < t->ncols; c++) {
            if (row->n[c])
                fprintf(f, "%.6g,%.6g,", row->mean[c], row->sd[c]);
            else
                fputs(",,", f);
            runs = row->n[c] > runs ? row->n[c] : runs;
        }
        fprintf(f, "%d\n", runs);
    }
}

void restable_print(const ResultTable *t, RtFormat format, FILE *f) {
    if (format == RT_MARKDOWN)
        print_markdown(t, f);
    else if (format == RT_LATEX)
        print_latex(t, f);
    else
        print_csv(t, f);
}
