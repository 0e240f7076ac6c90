/* plot_images.c — see plot_images.h. Array names (run/figarrays.h):
 *   image/SET                  the image, values in [0, 1]
 *   coupling/SET/LL/input|s|t  coupling layer LL (two digits, from 00) of the flow
 *   latent/SET/z|zmean         z at the midpoints, and averaged over dequantizations
 * SET is "val" for the in-distribution image and the OOD set's name for the other. */
#include "report/plot_images.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IMG_MAX_SETS = 2 };

/* The two image sets of a run's arrays, val first: their names in sets. */
static int image_sets(const StoreArrayRow *rows, int n, char sets[IMG_MAX_SETS][64]) {
    int k = 0;
    for (int want_val = 1; want_val >= 0; want_val--)
        for (int i = 0; i < n && k < IMG_MAX_SETS; i++) {
            if (strncmp(rows[i].name, "image/", 6) != 0) continue;
            int is_val = strcmp(rows[i].name + 6, "val") == 0;
            if (is_val == want_val) snprintf(sets[k++], 64, "%s", rows[i].name + 6);
        }
    return k;
}

static const StoreArrayRow *find(const StoreArrayRow *rows, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, name) == 0) return &rows[i];
    return NULL;
}

/* One panel: the array's first channel as a matrix block of the .dat file (rows top
 * to bottom), and its plot command; sign -1 draws −a (the shift −t of the paper). */
static void panel(FILE *dat, FILE *g, const char *file, int *index, const StoreArrayRow *a,
                  double sign, const char *title) {
    double lo = INFINITY, hi = -INFINITY;
    for (int y = 0; y < a->h; y++) {
        for (int x = 0; x < a->w; x++) {
            double v = sign * a->data[((size_t)y * a->w + x) * a->c];
            lo = fmin(lo, v), hi = fmax(hi, v);
            fprintf(dat, "%s%.6g", x ? "\t" : "", v); /* the scripts read tab-separated */
        }
        fputc('\n', dat);
    }
    fprintf(dat, "\n\n");
    char t[256];
    plot_text(t, sizeof t, "%s\n[%.2g, %.2g]", title, lo, hi);
    fprintf(g, "  set title ");
    fig_quote(g, t);
    fprintf(g, " font ',8'");
    /* A constant panel gets a range of its own, or gnuplot refuses an empty cbrange. */
    if (hi > lo)
        fprintf(g, "\n  set cbrange [%.6g:%.6g]\n", lo, hi);
    else
        fprintf(g, "\n  set cbrange [%.6g:%.6g]\n", lo - 0.5, lo + 0.5);
    fprintf(g, "  plot ");
    fig_quote(g, file);
    fprintf(g, " index %d matrix with image notitle\n", (*index)++);
}

/* A panel of a figure: its array (NULL = an empty cell), sign and title. */
typedef struct {
    const StoreArrayRow *a;
    double sign;
    char title[96];
} Panel;

/* The figure of run r: rows × cols panels, row by row. */
static int images_figure(const ExpData *x, int r, const char *kind, const Panel *p, int rows,
                         int cols, const PlotArgs *args, const char *dir, FigList *out, Err *e) {
    char name[200], label[256], caption[512], title[600];
    plot_text(name, sizeof name, "%s_%.8s", kind, x->runs[r].id);
    plot_run_label(x, r, 1, label, sizeof label);
    FigOptions o = args->fig;
    if (!args->sized) o.width = 170 * cols, o.height = 170 * rows + 60;
    Figure f;
    int rc = fig_begin(&f, dir, name, &o, e);
    if (rc) return rc;
    AtomicFile a;
    char file[256];
    if ((rc = fig_data_open(&f, "", &a, file, e))) {
        fig_abort(&f);
        return rc;
    }
    plot_text(title, sizeof title, "%s: run %.8s%s%s%s", x->name, x->runs[r].id,
              label[0] ? " (" : "", label, label[0] ? ")" : "");
    FILE *g = f.body;
    fprintf(g, "  set palette grey\n  unset colorbox\n  unset xtics\n  unset ytics\n"
               "  unset border\n  unset key\n  set size ratio -1\n  set yrange [*:*] reverse\n"
               "  set autoscale xfix\n  set autoscale yfix\n");
    fprintf(g, "  set multiplot layout %d,%d title ", rows, cols);
    fig_quote(g, title);
    fprintf(g, "\n");
    int index = 0;
    for (int i = 0; i < rows * cols; i++) {
        if (p[i].a)
            panel(a.f, g, file, &index, p[i].a, p[i].sign, p[i].title);
        else
            fprintf(g, "  set multiplot next\n");
    }
    fprintf(g, "  unset multiplot\n");
    if ((rc = fig_data_commit(&f, &a, e))) {
        fig_abort(&f);
        return rc;
    }
    if (strcmp(kind, "coupling") == 0)
        plot_text(caption, sizeof caption,
                  "Each coupling layer's input, scale s and shift -t for an in- and an "
                  "out-of-distribution image, run %.8s (Kirichenko et al. Fig. 3)",
                  x->runs[r].id);
    else
        plot_text(caption, sizeof caption,
                  "Image, latent z and z averaged over 40 dequantizations, run %.8s "
                  "(Kirichenko et al. Fig. 2)",
                  x->runs[r].id);
    char comment[1024];
    plot_text(comment, sizeof comment,
              "%s.\nExperiment %s. The data file holds one matrix per panel (first channel),\n"
              "separated by two blank lines, in the order the panels are drawn.",
              caption, x->name);
    if ((rc = fig_finish(&f, comment, e))) return rc;
    return figlist_add(out, name, caption) ? fail(e, LDE_ERUN, "out of memory") : LDE_OK;
}

/* The panels of run r's figure of `kind` from its arrays; 0 panels when it has
 * none of that kind. */
static int run_figure(Store *s, const ExpData *x, int r, const char *kind, const PlotArgs *args,
                      const char *dir, FigList *out, int *drawn, Err *e) {
    StoreArrayRow *rows;
    int n, rc = store_get_arrays(s, x->runs[r].id, "", &rows, &n, e);
    if (rc) return rc;
    char sets[IMG_MAX_SETS][64];
    int nsets = image_sets(rows, n, sets), layers = 0;
    char key[192];
    for (;; layers++) {
        snprintf(key, sizeof key, "coupling/val/%02d/s", layers);
        if (!find(rows, n, key)) break;
    }
    int coupling = strcmp(kind, "coupling") == 0;
    int nrows = coupling ? layers : nsets, ncols = coupling ? 3 * nsets : 3;
    Panel *p = calloc((size_t)(nrows * ncols > 0 ? nrows * ncols : 1), sizeof *p);
    if (!p) rc = fail(e, LDE_ERUN, "out of memory");
    int have = 0;
    for (int i = 0; rc == LDE_OK && i < nrows; i++)
        for (int j = 0; j < ncols; j++) {
            Panel *q = &p[i * ncols + j];
            const char *set = coupling ? sets[j / 3] : sets[i];
            const char *who = strcmp(set, "val") == 0 ? "ID" : set;
            static const char *const cpart[3] = {"input", "s", "t"};
            static const char *const lpart[3] = {"image", "z", "zmean"};
            if (coupling) {
                snprintf(key, sizeof key, "coupling/%s/%02d/%s", set, i, cpart[j % 3]);
                snprintf(q->title, sizeof q->title, "%s layer %d: %s", who, i + 1,
                         j % 3 == 0   ? "input"
                         : j % 3 == 1 ? "s"
                                      : "-t");
                q->sign = j % 3 == 2 ? -1 : 1;
            } else {
                if (j == 0)
                    snprintf(key, sizeof key, "image/%s", set);
                else
                    snprintf(key, sizeof key, "latent/%s/%s", set, lpart[j]);
                snprintf(q->title, sizeof q->title, "%s: %s", who,
                         j == 0   ? "image"
                         : j == 1 ? "z"
                                  : "z, mean of 40");
                q->sign = 1;
            }
            q->a = find(rows, n, key);
            have += q->a != NULL;
        }
    if (rc == LDE_OK && have > 0) {
        rc = images_figure(x, r, kind, p, nrows, ncols, args, dir, out, e);
        (*drawn)++;
    }
    free(p);
    store_arrays_free(rows, n);
    return rc;
}

int plot_images(Store *s, const ExpData *x, const char *kind, const PlotArgs *a, const char *dir,
                FigList *out, int none_ok, Err *e) {
    int drawn = 0, rc;
    if (a->run) {
        int r;
        if ((rc = expdata_find_run(x, a->run, &r, e)) ||
            (rc = run_figure(s, x, r, kind, a, dir, out, &drawn, e)))
            return rc;
    } else {
        for (int r = 0; r < x->nruns; r++)
            if ((rc = run_figure(s, x, r, kind, a, dir, out, &drawn, e))) return rc;
    }
    if (!drawn && !none_ok)
        return fail(e, LDE_EINPUT,
                    "experiment '%s'%s%s: no %s arrays stored; a flow on pixels "
                    "(data.features: fashion-mnist-pixels or data.images) stores them when "
                    "its run ends",
                    x->name, a->run ? ", run " : "", a->run ? a->run : "", kind);
    return LDE_OK;
}
