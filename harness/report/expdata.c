/* expdata.c — see expdata.h. */
#include "report/expdata.h"

#include "util/filedigest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends ", item" (or "item" first) to a message list, truncating quietly. */
static void list_add(char *buf, size_t n, const char *item) {
    size_t len = strlen(buf);
    if (len + 1 < n) snprintf(buf + len, n - len, "%s%s", len ? ", " : "", item);
}

/* LDE_OK when experiment `name` exists (with no runs); LDE_EINPUT listing the
 * experiments otherwise. */
static int experiment_check(Store *s, const char *db, const char *name, Err *e) {
    char **names = NULL, list[512] = "";
    int n = 0, rc = store_experiments(s, &names, &n, e), exists = 0;
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        list_add(list, sizeof list, names[i]);
        exists |= strcmp(names[i], name) == 0;
    }
    store_strings_free(names, n);
    if (exists) return LDE_OK;
    return fail(e, LDE_EINPUT, "%s: no experiment '%s' (%s%s)", db, name,
                n ? "experiments: " : "the database has no experiments yet", list);
}

/* The OOD splits (rows with an AUROC) of one run's evals, merged in first-seen order. */
static void collect_ood_sets(ExpData *x, const StoreEval *ev, int nev) {
    for (int i = 0; i < nev; i++) {
        if (isnan(ev[i].auroc)) continue;
        int seen = 0;
        for (int k = 0; k < x->nood; k++) seen |= strcmp(x->ood[k], ev[i].split) == 0;
        if (!seen && x->nood < EXP_MAX_OOD)
            snprintf(x->ood[x->nood++], EXP_SPLIT, "%s", ev[i].split);
    }
}

int expdata_is_seed(const char *path) {
    size_t n = strlen(path);
    return strcmp(path, "seed") == 0 || (n > 5 && strcmp(path + n - 5, ".seed") == 0);
}

/* Groups runs whose varying parameters other than seeds all agree. */
static void assign_groups(ExpData *x) {
    for (int r = 0; r < x->nruns; r++) {
        x->group[r] = -1;
        for (int q = 0; q < r && x->group[r] < 0; q++) {
            int same = 1;
            for (int p = 0; p < x->nvarying && same; p++)
                if (!expdata_is_seed(x->varying[p]))
                    same = strcmp(expdata_value(x, r, p), expdata_value(x, q, p)) == 0;
            if (same) x->group[r] = x->group[q];
        }
        if (x->group[r] < 0) x->group[r] = x->ngroups++;
    }
}

int expdata_open(const char *db, const char *name, int all, Store **s, ExpData *x, Err *e) {
    int rc = store_open_readonly(db, s, e);
    if (rc) return rc;
    if ((rc = expdata_load(*s, db, name, all, x, e))) store_close(*s);
    return rc;
}

/* The state of run r's inputs against the experiment's files now (cur: n of them,
 * with today's digests). */
static int run_inputs_state(Store *s, const StoreRun *run, const StoreInputRow *cur, int n,
                            int *state, Err *e) {
    StoreInputRow *rows;
    int nrows, rc = store_run_inputs(s, run->id, &rows, &nrows, e);
    if (rc) return rc;
    *state = EXP_INPUTS_CURRENT;
    /* No inputs rows but user files in its parameters: recorded before version 4. */
    if (nrows == 0 && run->params_json &&
        (strstr(run->params_json, "\"features\":{") || strstr(run->params_json, "\"images\":{")))
        *state = EXP_INPUTS_UNKNOWN;
    for (int i = 0; i < nrows; i++)
        for (int k = 0; k < n; k++)
            if (strcmp(rows[i].path, cur[k].path) == 0 &&
                strcmp(rows[i].digest, cur[k].digest) != 0)
                *state = EXP_INPUTS_STALE;
    store_inputs_free(rows, nrows);
    return LDE_OK;
}

/* Sets x->inputs for every run and, unless x->all, drops the runs that are not
 * current. A file that cannot be read now keeps the digest it was recorded with
 * (gone is not changed). */
static int classify_inputs(Store *s, ExpData *x, Err *e) {
    StoreInputRow *cur;
    int n, rc = store_experiment_inputs(s, x->name, &cur, &n, e);
    if (rc) return rc;
    for (int k = 0; k < n; k++) {
        FileDigest d;
        Err ignored = {{0}};
        if (filedigest_get(cur[k].path, &d, &ignored) == LDE_OK)
            memcpy(cur[k].digest, d.hex, sizeof cur[k].digest);
    }
    x->inputs = calloc((size_t)x->nruns + 1, sizeof *x->inputs);
    if (!x->inputs) rc = fail(e, LDE_ERUN, "out of memory loading experiment '%s'", x->name);
    int kept = 0;
    for (int r = 0; r < x->nruns && rc == LDE_OK; r++) {
        int st = EXP_INPUTS_CURRENT;
        if ((rc = run_inputs_state(s, &x->runs[r], cur, n, &st, e))) break;
        x->n_stale += st == EXP_INPUTS_STALE;
        x->n_unknown += st == EXP_INPUTS_UNKNOWN;
        if (st != EXP_INPUTS_CURRENT && !x->all) {
            free(x->runs[r].id), free(x->runs[r].params_json), free(x->runs[r].error);
            continue;
        }
        x->inputs[kept] = st;
        if (kept != r) x->runs[kept] = x->runs[r];
        kept++;
    }
    store_inputs_free(cur, n);
    if (rc == LDE_OK) x->nruns = kept;
    return rc;
}

/* The varying parameters of the runs kept: those the left-out runs alone made vary
 * (their files' digests) go, and with `all` a parameter "inputs" marks each run's
 * state when not every one is current. LDE_ERUN when out of memory. */
static int refine_varying(ExpData *x, Err *e) {
    static const char *const names[] = {"current", "stale", "unknown"};
    int marked = 0, nv = 0;
    for (int r = 0; r < x->nruns; r++) marked |= x->inputs[r] != EXP_INPUTS_CURRENT;
    char(*values)[EXP_VALUE] =
        calloc((size_t)(x->nruns ? x->nruns : 1) * (size_t)(x->nvarying + 1), EXP_VALUE);
    char **varying = realloc(x->varying, sizeof *varying * (size_t)(x->nvarying + 1));
    if (!values || !varying) {
        free(values);
        if (varying) x->varying = varying;
        return fail(e, LDE_ERUN, "out of memory loading experiment '%s'", x->name);
    }
    x->varying = varying;
    int width = x->nvarying + marked;
    for (int p = 0; p < x->nvarying; p++) {
        int differs = 0;
        for (int r = 1; r < x->nruns && !differs; r++)
            differs = strcmp(expdata_value(x, r, p), expdata_value(x, 0, p)) != 0;
        if (!differs) {
            free(x->varying[p]);
            continue;
        }
        for (int r = 0; r < x->nruns; r++)
            memcpy(values[(size_t)r * (size_t)width + (size_t)nv], expdata_value(x, r, p),
                   EXP_VALUE);
        x->varying[nv++] = x->varying[p];
    }
    if (marked) {
        for (int r = 0; r < x->nruns; r++)
            snprintf(values[(size_t)r * (size_t)width + (size_t)nv], EXP_VALUE, "%s",
                     names[x->inputs[r]]);
        x->varying[nv++] = strdup("inputs");
    }
    free(x->values);
    x->values = values;
    x->nvarying = nv;
    if (marked && !x->varying[nv - 1]) {
        x->nvarying--;
        return fail(e, LDE_ERUN, "out of memory loading experiment '%s'", x->name);
    }
    return LDE_OK;
}

void expdata_note_inputs(const ExpData *x, FILE *f) {
    int n = x->n_stale + x->n_unknown;
    if (!n) return;
    fprintf(f, "%s: %d run%s %s:", x->name, n, n == 1 ? "" : "s",
            x->all ? "shown with column inputs" : "left out");
    if (x->n_stale) fprintf(f, " %d stale (inputs changed)", x->n_stale);
    if (x->n_unknown)
        fprintf(f, "%s %d inputs unknown (recorded before runs were keyed by file digests)",
                x->n_stale ? "," : "", x->n_unknown);
    fprintf(f, "%s\n", x->all ? "" : "; --all shows them");
}

int expdata_load(Store *s, const char *db, const char *name, int all, ExpData *x, Err *e) {
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->all = all;
    int rc = store_experiment_runs(s, name, &x->runs, &x->nruns, e);
    if (rc) return rc;
    if (x->nruns == 0) return experiment_check(s, db, name, e);
    filedigest_cache_beside(db);
    if ((rc = classify_inputs(s, x, e))) goto out;
    if ((rc = store_varying_params(s, name, &x->varying, &x->nvarying, e))) goto out;
    size_t nr = (size_t)x->nruns;
    x->ev = calloc(nr, sizeof(StoreEval *));
    x->nev = calloc(nr, sizeof *x->nev);
    x->group = calloc(nr, sizeof *x->group);
    x->values = calloc(nr * (size_t)(x->nvarying ? x->nvarying : 1), (size_t)EXP_VALUE);
    if (!x->ev || !x->nev || !x->group || !x->values) {
        rc = fail(e, LDE_ERUN, "out of memory loading experiment '%s'", name);
        goto out;
    }
    for (int r = 0; r < x->nruns; r++) {
        if ((rc = store_run_evals(s, x->runs[r].id, &x->ev[r], &x->nev[r], e))) goto out;
        collect_ood_sets(x, x->ev[r], x->nev[r]);
        for (int p = 0; p < x->nvarying; p++)
            if ((rc = store_run_param(s, x->runs[r].id, x->varying[p],
                                      x->values[(size_t)r * (size_t)x->nvarying + (size_t)p],
                                      EXP_VALUE, e)))
                goto out;
    }
    if ((rc = refine_varying(x, e))) goto out;
    assign_groups(x);
out:
    if (rc) expdata_free(x);
    return rc;
}

void expdata_free(ExpData *x) {
    for (int r = 0; x->ev && r < x->nruns; r++) free(x->ev[r]);
    free(x->ev);
    free(x->nev);
    free(x->group);
    free(x->inputs);
    free(x->values);
    store_strings_free(x->varying, x->nvarying);
    store_runs_free(x->runs, x->nruns);
    memset(x, 0, sizeof *x);
}

const char *expdata_value(const ExpData *x, int r, int p) {
    return x->values[(size_t)r * (size_t)x->nvarying + (size_t)p];
}

int expdata_axis(const ExpData *x, const char *key, int allow_seed, int *p, Err *e) {
    char list[512] = "";
    int found = -1, matches = 0;
    for (int i = 0; i < x->nvarying; i++) {
        if (!allow_seed && expdata_is_seed(x->varying[i])) continue;
        list_add(list, sizeof list, x->varying[i]);
        const char *dot = strrchr(x->varying[i], '.');
        if (strcmp(x->varying[i], key) == 0) {
            *p = i;
            return LDE_OK;
        }
        if (dot && strcmp(dot + 1, key) == 0) {
            found = i;
            matches++;
        }
    }
    if (matches == 1) {
        *p = found;
        return LDE_OK;
    }
    return fail(e, LDE_EINPUT, "experiment '%s': '%s' is not a grid axis (%s%s)", x->name, key,
                list[0] ? "axes that vary: " : "no parameter varies between its runs", list);
}

int expdata_find_run(const ExpData *x, const char *id, int *r, Err *e) {
    char list[512] = "";
    int found = -1, matches = 0;
    size_t n = strlen(id);
    for (int i = 0; i < x->nruns; i++) {
        char shortid[16];
        snprintf(shortid, sizeof shortid, "%.8s", x->runs[i].id);
        list_add(list, sizeof list, shortid);
        if (n && strncmp(x->runs[i].id, id, n) == 0) {
            found = i;
            matches++;
        }
    }
    if (matches == 1) {
        *r = found;
        return LDE_OK;
    }
    return fail(e, LDE_EINPUT, "experiment '%s': %s run '%s' (runs: %s)", x->name,
                matches ? "more than one" : "no", id, list);
}

int expdata_steps(const ExpData *x, int r, long **steps, int *n, Err *e) {
    *n = 0;
    *steps = malloc(sizeof **steps * (size_t)(x->nev[r] ? x->nev[r] : 1));
    if (!*steps) return fail(e, LDE_ERUN, "out of memory");
    /* evals rows come sorted by step, so distinct steps are the changes. */
    for (int i = 0; i < x->nev[r]; i++)
        if (*n == 0 || (*steps)[*n - 1] != x->ev[r][i].step) (*steps)[(*n)++] = x->ev[r][i].step;
    return LDE_OK;
}

const StoreEval *expdata_eval(const ExpData *x, int r, long step, const char *split) {
    for (int i = 0; i < x->nev[r]; i++)
        if (x->ev[r][i].step == step && strcmp(x->ev[r][i].split, split) == 0) return &x->ev[r][i];
    return NULL;
}

/* Mean AUROC over the OOD sets at one step (NaN when none has one). */
static double mean_auroc(const ExpData *x, int r, long step) {
    double sum = 0;
    int k = 0;
    for (int i = 0; i < x->nev[r]; i++)
        if (x->ev[r][i].step == step && !isnan(x->ev[r][i].auroc)) {
            sum += x->ev[r][i].auroc;
            k++;
        }
    return k ? sum / k : NAN;
}

int expdata_resolve_step(const ExpData *x, int r, const char *spec, long *step, Err *e) {
    long *steps;
    int n, rc = expdata_steps(x, r, &steps, &n, e);
    if (rc) return rc;
    char *end;
    long want = strtol(spec, &end, 10);
    int numeric = end != spec && *end == 0, found = 0;
    if (n > 0 && strcmp(spec, "first") == 0) {
        *step = steps[0];
        found = 1;
    } else if (n > 0 && strcmp(spec, "last") == 0) {
        *step = steps[n - 1];
        found = 1;
    } else if (n > 0 && strcmp(spec, "best") == 0) {
        double best = -INFINITY;
        for (int i = 0; i < n; i++) {
            double a = mean_auroc(x, r, steps[i]);
            if (isnan(a)) a = -INFINITY; /* a step without OOD metrics is never best */
            if (a >= best) {
                best = a;
                *step = steps[i];
                found = 1;
            }
        }
    } else if (numeric) {
        for (int i = 0; i < n; i++) found |= steps[i] == want;
        *step = want;
    } else if (n > 0) {
        free(steps);
        return fail(e, LDE_EINPUT, "--step '%s': expected first, last, best or a step number",
                    spec);
    }
    if (!found) {
        char list[512] = "";
        for (int i = 0; i < n; i++) {
            char num[32];
            snprintf(num, sizeof num, "%ld", steps[i]);
            list_add(list, sizeof list, num);
        }
        rc = fail(e, LDE_EINPUT, "run %.8s (%s) has no step %s (%s%s)", x->runs[r].id,
                  store_status_name(x->runs[r].status), spec, n ? "steps: " : "no evaluation yet",
                  list);
    }
    free(steps);
    return rc;
}

int expdata_pick_steps(const ExpData *x, const char *spec, long *steps, Err *e) {
    int picked = 0, first_done = -1;
    for (int r = 0; r < x->nruns; r++) {
        steps[r] = -1;
        if (x->runs[r].status != RUN_DONE || x->nev[r] == 0) continue;
        if (first_done < 0) first_done = r;
        Err ignored;
        long step = -1;
        if (expdata_resolve_step(x, r, spec, &step, &ignored) == LDE_OK) {
            steps[r] = step;
            picked++;
        }
    }
    if (picked) return LDE_OK;
    if (first_done >= 0) return expdata_resolve_step(x, first_done, spec, &steps[0], e);
    char list[512] = "";
    for (int r = 0; r < x->nruns; r++) {
        char item[64];
        snprintf(item, sizeof item, "%.8s %s", x->runs[r].id, store_status_name(x->runs[r].status));
        list_add(list, sizeof list, item);
    }
    return fail(e, LDE_EINPUT, "experiment '%s': no run is done yet (%s)", x->name, list);
}

static const char *const metric_names[] = {"auroc", "fpr95", "aupr_in", "aupr_out", "mean_bpd"};
static const char *const metric_labels[] = {"AUROC (%)", "FPR at 95% TPR (%)", "AUPR-In (%)",
                                            "AUPR-Out (%)", "mean bpd (bits/dim)"};

int metric_parse(const char *name, Metric *m, Err *e) {
    for (int k = MET_AUROC; k <= MET_MEAN_BPD; k++)
        if (strcmp(name, metric_names[k]) == 0) {
            *m = (Metric)k;
            return LDE_OK;
        }
    return fail(e, LDE_EINPUT,
                "--metric '%s': expected auroc, fpr95, aupr_in, aupr_out or mean_bpd", name);
}

const char *metric_name(Metric m) {
    return metric_names[m];
}

const char *metric_label(Metric m) {
    return metric_labels[m];
}

int metric_direction(Metric m) {
    return m == MET_MEAN_BPD ? 0 : m == MET_FPR95 ? -1 : 1;
}

double metric_value(const StoreEval *ev, Metric m) {
    if (!ev) return NAN;
    switch (m) {
    case MET_AUROC:
        return 100 * ev->auroc;
    case MET_FPR95:
        return 100 * ev->fpr95;
    case MET_AUPR_IN:
        return 100 * ev->aupr_in;
    case MET_AUPR_OUT:
        return 100 * ev->aupr_out;
    case MET_MEAN_BPD:
        return ev->mean_bpd;
    }
    return NAN;
}

int ood_tag(const char *split) {
    static const char *const far[] = {"digits", "gaussian", "uniform"};
    static const char *const near[] = {"vflip", "heldout"};
    for (size_t i = 0; i < sizeof far / sizeof *far; i++)
        if (strcmp(split, far[i]) == 0) return 'f';
    for (size_t i = 0; i < sizeof near / sizeof *near; i++)
        if (strcmp(split, near[i]) == 0) return 'n';
    return 0;
}

void mean_std(const double *v, int n, double *mean, double *sd, int *k) {
    double sum = 0, ss = 0;
    *k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            sum += v[i];
            (*k)++;
        }
    *mean = *k ? sum / *k : NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = *k > 1 ? sqrt(ss / (*k - 1)) : 0;
}

void format_wall(double s, char *buf, size_t n) {
    if (isnan(s))
        snprintf(buf, n, "-");
    else if (s < 60)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

const char *param_header(char **paths, int n, int i) {
    const char *dot = strrchr(paths[i], '.'), *last = dot ? dot + 1 : paths[i];
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        const char *d2 = strrchr(paths[j], '.');
        if (strcmp(d2 ? d2 + 1 : paths[j], last) == 0) return paths[i];
    }
    return last;
}
