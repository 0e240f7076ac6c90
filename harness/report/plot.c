/* plot.c — the helpers the kinds of figure share (plot.h). */
#include "report/plot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int figlist_add(FigList *l, const char *stem, const char *caption) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        void *s = realloc(l->stem, sizeof *l->stem * (size_t)cap);
        if (!s) return -1;
        l->stem = s;
        void *c = realloc(l->caption, sizeof *l->caption * (size_t)cap);
        if (!c) return -1;
        l->caption = c;
        l->cap = cap;
    }
    snprintf(l->stem[l->n], sizeof *l->stem, "%s", stem);
    snprintf(l->caption[l->n], sizeof *l->caption, "%s", caption);
    l->n++;
    return 0;
}

void figlist_free(FigList *l) {
    free(l->stem);
    free(l->caption);
    memset(l, 0, sizeof *l);
}

int plot_text(char *buf, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return len < 0 ? 0 : len >= (int)n ? (int)n - 1 : len;
}

void plot_safe_name(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
        out[k++] = keep ? c : '-';
    }
    out[k] = 0;
}

void plot_experiment_dir(const char *out, const char *experiment, char *dir, size_t n) {
    char safe[256];
    plot_safe_name(experiment, safe, sizeof safe);
    snprintf(dir, n, "%s/%s", out, safe);
}

void plot_run_label(const ExpData *x, int r, int with_seed, char *out, size_t n) {
    out[0] = 0;
    for (int p = 0; p < x->nvarying; p++) {
        if (!with_seed && expdata_is_seed(x->varying[p])) continue;
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s=%s", len ? ", " : "",
                 param_header(x->varying, x->nvarying, p), expdata_value(x, r, p));
    }
}
