/* findings.c — the claims of the two papers, checked against the database
 * (findings.h). */
#include "report/findings.h"

#include "report/restable.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *verdict_name(Verdict v) {
    static const char *const names[] = {"no data", "held", "not held", "mixed"};
    return names[v];
}

/* Appends to f->numbers. */
static void say(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(Finding *f, const char *fmt, ...) {
    size_t l = strlen(f->numbers);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->numbers + l, sizeof f->numbers - l, fmt, ap);
    va_end(ap);
}

/* Held when every case held, not held when none did, else mixed. */
static Verdict tally(int held, int cases) {
    return cases == 0      ? FIND_NO_DATA
           : held == cases ? FIND_HELD
           : held == 0     ? FIND_NOT_HELD
                           : FIND_MIXED;
}

/* The AUROC table of experiment `name` along axis key (NULL: every varying
 * combination). 0 when there is one; else f says why and is FIND_NO_DATA. */
static int load_table(Store *s, const char *db, const char *name, const char *key, ExpData *x,
                      ResultTable *t, Finding *f) {
    Err e;
    int p = -1;
    f->experiment = name;
    if (expdata_load(s, db, name, 0, x, &e) != LDE_OK) {
        say(f, "experiment `%s` is not in the database", name);
        return -1;
    }
    if ((key && expdata_axis(x, key, 0, &p, &e) != LDE_OK) ||
        restable_build(x, p, MET_AUROC, "last", t, &e) != LDE_OK) {
        say(f, "%s", e.msg);
        expdata_free(x);
        return -1;
    }
    return 0;
}

static void done_table(ExpData *x, ResultTable *t) {
    restable_free(t);
    expdata_free(x);
}

/* 1 for a column of one OOD set (not a class mean). */
static int is_set(const ResultTable *t, int c) {
    return strstr(t->cols[c], " mean") == NULL;
}

static int row_of(const ResultTable *t, const char *label) {
    for (int r = 0; r < t->nrows; r++)
        if (!t->rows[r].baseline && strcmp(t->rows[r].label[0], label) == 0) return r;
    return -1;
}

/* The column of the digits set (Kirichenko's MNIST analogue), else the first set. */
static int digits_col(const ResultTable *t) {
    for (int c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c], "digits") == 0) return c;
    for (int c = 0; c < t->ncols; c++)
        if (is_set(t, c)) return c;
    return -1;
}

/* The mean AUROC of row r over the single OOD sets. */
static double row_mean(const ResultTable *t, int r) {
    double s = 0;
    int k = 0;
    for (int c = 0; c < t->ncols; c++)
        if (is_set(t, c) && t->rows[r].n[c]) s += t->rows[r].mean[c], k++;
    return k ? s / k : NAN;
}

/* LDE §6.3, Table 3: normalized latents beat raw ones, per OOD set. */
static void normalization(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "normalization", "normalize", &x, &t, f)) return;
    int off = row_of(&t, "false"), on = row_of(&t, "true"), held = 0, cases = 0;
    for (int c = 0; off >= 0 && on >= 0 && c < t.ncols; c++) {
        if (!is_set(&t, c) || !t.rows[on].n[c] || !t.rows[off].n[c]) continue;
        double a = t.rows[off].mean[c], b = t.rows[on].mean[c];
        say(f, "%s%s %+.2f (%.2f → %.2f)", cases ? "; " : "", t.cols[c], b - a, a, b);
        held += b > a, cases++;
    }
    f->verdict = tally(held, cases);
    say(f, ": %d of %d OOD sets gain", held, cases);
    done_table(&x, &t);
}

/* LDE §6.1, Fig. 3: the larger the PCA dimension, the better (0 = off = all of
 * them). Held when the order of the dimensions and of the mean AUROC agree in at
 * least 80% of the pairs (and the full dimension is within 0.5 point of the best:
 * "unreduced is best or near best"); not held below 50% (no better than chance). */
static void pca(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "pca", "pca", &x, &t, f)) return;
    double k[64], a[64], best = -1;
    int n = 0;
    for (int r = 0; r < t.nrows && n < 64; r++) {
        if (t.rows[r].baseline) continue;
        k[n] = strtod(t.rows[r].label[0], NULL);
        if (k[n] == 0) k[n] = INFINITY;
        a[n] = row_mean(&t, r);
        if (a[n] > best) best = a[n];
        say(f, "%s%s %.2f", n ? ", " : "mean AUROC over the OOD sets: k = ",
            isinf(k[n]) ? "off" : t.rows[r].label[0], a[n]);
        n++;
    }
    int agree = 0, pairs = 0;
    double full = -1, kmax = -1;
    for (int i = 0; i < n; i++) {
        if (k[i] > kmax) kmax = k[i], full = a[i];
        for (int j = 0; j < n; j++)
            if (k[i] < k[j]) agree += a[i] < a[j], pairs++;
    }
    double frac = pairs ? (double)agree / pairs : 0;
    say(f, "; %d of %d pairs ordered as the dimensions; the largest is %.2f below the best", agree,
        pairs, best - full);
    f->verdict = pairs == 0                          ? FIND_NO_DATA
                 : frac >= 0.8 && best - full <= 0.5 ? FIND_HELD
                 : frac <= 0.5                       ? FIND_NOT_HELD
                                                     : FIND_MIXED;
    done_table(&x, &t);
}

/* LDE §6.4, Fig. 5: AUROC peaks early, then declines. Per OOD set, the mean over
 * the runs (seeds) at each evaluation; the set declines when its peak comes before
 * the last evaluation and the end is at least 0.5 point below it (0.5: above the
 * spread between seeds of a converged AUROC here, ~0.2 point). */
static void undertraining(Store *s, const char *db, Finding *f) {
    ExpData x;
    Err e;
    f->experiment = "undertraining";
    if (expdata_load(s, db, "undertraining", 0, &x, &e) != LDE_OK) {
        say(f, "experiment `undertraining` is not in the database");
        return;
    }
    long *steps = NULL;
    int nsteps = 0, r0 = -1, held = 0, cases = 0;
    for (int r = 0; r < x.nruns && r0 < 0; r++)
        if (x.runs[r].status == RUN_DONE) r0 = r;
    if (r0 < 0 || expdata_steps(&x, r0, &steps, &nsteps, &e) != LDE_OK || nsteps < 2) {
        say(f, "no finished run with two evaluations");
        free(steps);
        expdata_free(&x);
        return;
    }
    for (int o = 0; o < x.nood; o++) {
        double peak = -1, peak_ep = 0, last = NAN, last_ep = 0;
        for (int i = 0; i < nsteps; i++) {
            double sum = 0, ep = 0;
            int k = 0;
            for (int r = 0; r < x.nruns; r++) {
                const StoreEval *ev =
                    x.runs[r].status == RUN_DONE ? expdata_eval(&x, r, steps[i], x.ood[o]) : NULL;
                if (ev && isfinite(ev->auroc)) sum += 100 * ev->auroc, ep = ev->epoch, k++;
            }
            if (!k) continue;
            double m = sum / k;
            if (m > peak) peak = m, peak_ep = ep;
            last = m, last_ep = ep;
        }
        int declines = peak_ep < last_ep && peak - last >= 0.5;
        say(f, "%s%s peak %.2f at epoch %.3g, %.2f at epoch %.3g (%.2f lost)", cases ? "; " : "",
            x.ood[o], peak, peak_ep, last, last_ep, peak - last);
        held += declines, cases++;
    }
    f->verdict = tally(held, cases);
    say(f, ": %d of %d OOD sets decline by 0.5 point or more after an early peak", held, cases);
    free(steps);
    expdata_free(&x);
}

/* LDE §6.5, Table 5: the architecture matters little. Per OOD set, the spread
 * (best − worst mean AUROC over the architectures); little = at most 2 points (the
 * paper's own spreads are 4.9 and 6.0 points on CIFAR, of which it says "little";
 * 2 is stricter), held when every set's spread is at most 2, not held when every
 * one is above 5. */
static void architectures(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "architectures", "arch", &x, &t, f)) return;
    int small = 0, large = 0, cases = 0;
    for (int c = 0; c < t.ncols; c++) {
        if (!is_set(&t, c)) continue;
        double lo = INFINITY, hi = -INFINITY;
        const char *best = "";
        for (int r = 0; r < t.nrows; r++) {
            if (t.rows[r].baseline || !t.rows[r].n[c]) continue;
            if (t.rows[r].mean[c] < lo) lo = t.rows[r].mean[c];
            if (t.rows[r].mean[c] > hi) hi = t.rows[r].mean[c], best = t.rows[r].label[0];
        }
        if (!isfinite(lo)) continue;
        say(f, "%s%s spread %.2f (best %s %.2f)", cases ? "; " : "", t.cols[c], hi - lo, best, hi);
        small += hi - lo <= 2, large += hi - lo > 5, cases++;
    }
    f->verdict = cases == 0       ? FIND_NO_DATA
                 : small == cases ? FIND_HELD
                 : large == cases ? FIND_NOT_HELD
                                  : FIND_MIXED;
    say(f, ": %d of %d OOD sets within 2 points", small, cases);
    done_table(&x, &t);
}

/* LDE Table 1: the flow beats the logit-based baselines (MSP, energy, ODIN, ReAct)
 * on far-OOD sets (ood_tag 'f'; every set when none is tagged). */
static void baselines(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    Err e;
    if (load_table(s, db, "baselines", NULL, &x, &t, f)) return;
    if (restable_load_baselines(s, &x, NULL, &t, &e) != LDE_OK) {
        say(f, "no baselines stored: %s", e.msg);
        done_table(&x, &t);
        return;
    }
    static const char *const logit[] = {"msp", "energy", "odin", "react"};
    int flow = -1, tagged = 0, held = 0, cases = 0;
    for (int r = 0; r < t.nrows && flow < 0; r++)
        if (!t.rows[r].baseline) flow = r;
    for (int c = 0; c < t.ncols; c++) tagged |= is_set(&t, c) && ood_tag(t.cols[c]) == 'f';
    for (int c = 0; flow >= 0 && c < t.ncols; c++) {
        if (!is_set(&t, c) || (tagged && ood_tag(t.cols[c]) != 'f')) continue;
        double best = -1;
        const char *who = "";
        for (int r = 0; r < t.nrows; r++) {
            int is_logit = 0;
            for (int k = 0; k < 4; k++) is_logit |= strcmp(t.rows[r].label[0], logit[k]) == 0;
            if (t.rows[r].baseline && is_logit && t.rows[r].n[c] && t.rows[r].mean[c] > best)
                best = t.rows[r].mean[c], who = t.rows[r].label[0];
        }
        if (best < 0) continue;
        double fl = t.rows[flow].mean[c];
        say(f, "%s%s flow %.2f vs %s %.2f (%+.2f)", cases ? "; " : "", t.cols[c], fl, who, best,
            fl - best);
        held += fl > best, cases++;
    }
    f->verdict = tally(held, cases);
    say(f, ": the flow is ahead on %d of %d far-OOD sets", held, cases);
    done_table(&x, &t);
}

/* Kirichenko §6, Fig. 5: a flow on pixels prefers the OOD digits (AUROC < 50) while
 * the flow on the classifier's features does not. */
static void pixels_vs_latent(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "pixels_vs_latent", "features", &x, &t, f)) return;
    int px = row_of(&t, "fashion-mnist-pixels"), lat = row_of(&t, "fashion-mnist");
    int c = digits_col(&t);
    if (px < 0 || lat < 0 || c < 0 || !t.rows[px].n[c] || !t.rows[lat].n[c]) {
        say(f, "the experiment lacks a finished pixel or latent run");
    } else {
        double p = t.rows[px].mean[c], l = t.rows[lat].mean[c];
        say(f, "%s AUROC: pixels %.2f, latents %.2f", t.cols[c], p, l);
        f->verdict = p < 50 && l > 50 ? FIND_HELD : p < 50 || l > p ? FIND_MIXED : FIND_NOT_HELD;
    }
    done_table(&x, &t);
}

/* Kirichenko §6–7, App. I.1: checkerboard masks are worst on digits, horizontal
 * better, cycle best. Held when checkerboard < horizontal < cycle; mixed when only
 * checkerboard is the worst. */
static void masks(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "pixels_masks", "mask", &x, &t, f)) return;
    int cb = row_of(&t, "checkerboard"), hz = row_of(&t, "horizontal"), cy = row_of(&t, "cycle");
    int c = digits_col(&t);
    if (cb < 0 || hz < 0 || cy < 0 || c < 0) {
        say(f, "the experiment lacks a finished checkerboard, horizontal or cycle run");
    } else {
        double a = t.rows[cb].mean[c], b = t.rows[hz].mean[c], d = t.rows[cy].mean[c];
        say(f, "%s AUROC: checkerboard %.2f, horizontal %.2f, cycle %.2f", t.cols[c], a, b, d);
        f->verdict = a < b && b < d ? FIND_HELD : a < b && a < d ? FIND_MIXED : FIND_NOT_HELD;
    }
    done_table(&x, &t);
}

/* Kirichenko §7, Fig. 4: a bottleneck raises the digits' AUROC, the more the
 * smaller l. Held when every l beats none and the AUROC rises as l falls; mixed when
 * every l beats none only. */
static void bottleneck(Store *s, const char *db, Finding *f) {
    ExpData x;
    ResultTable t;
    if (load_table(s, db, "pixels_bottleneck", "bottleneck", &x, &t, f)) return;
    int none = row_of(&t, "0"), c = digits_col(&t), beat = 0, cases = 0, monotone = 1;
    double prev_l = INFINITY, prev_a = -INFINITY;
    if (none < 0 || c < 0) {
        say(f, "the experiment lacks a finished run without a bottleneck");
        done_table(&x, &t);
        return;
    }
    say(f, "%s AUROC: none %.2f", t.cols[c], t.rows[none].mean[c]);
    /* the widths in decreasing order: l = 100, 50, 10 */
    for (;;) {
        int pick = -1;
        double pl = -1;
        for (int r = 0; r < t.nrows; r++) {
            double l = strtod(t.rows[r].label[0], NULL);
            if (r != none && !t.rows[r].baseline && l < prev_l && l > pl) pl = l, pick = r;
        }
        if (pick < 0) break;
        double a = t.rows[pick].mean[c];
        say(f, ", l = %s %.2f", t.rows[pick].label[0], a);
        beat += a > t.rows[none].mean[c], cases++;
        monotone &= a > prev_a;
        prev_l = pl, prev_a = a;
    }
    f->verdict = cases == 0                  ? FIND_NO_DATA
                 : beat == cases && monotone ? FIND_HELD
                 : beat > 0                  ? FIND_MIXED
                                             : FIND_NOT_HELD;
    done_table(&x, &t);
}

int findings_compute(Store *s, const char *db, Finding *f, int *n, Err *e) {
    static const struct {
        const char *claim, *source;
        void (*check)(Store *, const char *, Finding *);
    } claims[FIND_MAX] = {
        {"L2-normalizing the latents raises OOD AUROC", "LDE §6.3, Table 3", normalization},
        {"a larger PCA dimension is better; unreduced is best or near best", "LDE §6.1, Fig. 3",
         pca},
        {"AUROC peaks early in training, then declines", "LDE §6.4, Figs. 4–5", undertraining},
        {"the flow architecture matters little", "LDE §6.5, Table 5", architectures},
        {"the flow beats the logit baselines on far-OOD sets", "LDE Table 1", baselines},
        {"a flow on pixels prefers the OOD digits; on features it does not",
         "Kirichenko et al. §6, Fig. 5", pixels_vs_latent},
        {"masks: checkerboard worst, horizontal better, cycle best (digits)",
         "Kirichenko et al. §6–7, App. I.1", masks},
        {"a bottleneck lowers the digits' likelihood, the more the smaller l",
         "Kirichenko et al. §7, Fig. 4", bottleneck},
    };
    (void)e;
    for (int i = 0; i < FIND_MAX; i++) {
        memset(&f[i], 0, sizeof f[i]);
        f[i].claim = claims[i].claim, f[i].source = claims[i].source;
        claims[i].check(s, db, &f[i]);
    }
    *n = FIND_MAX;
    return LDE_OK;
}
