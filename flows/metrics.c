/* metrics.c — see metrics.h. All four OOD metrics come from one descending sort of
 * the pooled scores, walked in groups of tied values. */
#include "flows/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float s;
    int ood; /* 1 = positive (OOD) */
} Scored;

/* NaN as +∞, so the order is total and NaN samples rank as the most OOD. */
static float key(float s) {
    return isnan(s) ? INFINITY : s;
}

/* Descending by score; the order inside a tie group does not matter (groups are
 * always consumed whole). */
static int cmp_desc(const void *a, const void *b) {
    float x = ((const Scored *)a)->s, y = ((const Scored *)b)->s;
    return (x < y) - (x > y);
}

static int cmp_float_asc(const void *a, const void *b) {
    float x = key(*(const float *)a), y = key(*(const float *)b);
    return (x > y) - (x < y);
}

int metrics_ood(const float *id, long nid, const float *ood, long nood, OodMetrics *m) {
    m->auroc = m->fpr95 = m->aupr_in = m->aupr_out = NAN;
    if (nid < 1 || nood < 1) return -1;
    long n = nid + nood;
    Scored *v = malloc(sizeof(Scored) * (size_t)n);
    if (!v) return -1;
    for (long i = 0; i < nid; i++) v[i] = (Scored){key(id[i]), 0};
    for (long i = 0; i < nood; i++) v[nid + i] = (Scored){key(ood[i]), 1};
    qsort(v, (size_t)n, sizeof(Scored), cmp_desc);

    /* Walking down the thresholds: tp/fp = OOD/ID samples with score >= the current
     * group's value. A group of tied scores adds (tp_new − tp_old) OOD samples that
     * beat every ID sample below the group (fp_old of them are above) and tie with
     * the group's ID samples: U += Δtp · (nid − fp_new) + ½ · Δtp · Δfp. */
    double u = 0, ap_out = 0, fpr95 = NAN;
    long tp = 0, fp = 0;
    int have_fpr95 = 0;
    for (long i = 0; i < n;) {
        long j = i, dtp = 0, dfp = 0;
        for (; j < n && v[j].s == v[i].s; j++) {
            if (v[j].ood)
                dtp++;
            else
                dfp++;
        }
        tp += dtp, fp += dfp;
        u += (double)dtp * (double)(nid - fp) + 0.5 * (double)dtp * (double)dfp;
        /* AP with OOD positive: recall step Δtp/nood times precision at this threshold. */
        if (dtp) ap_out += ((double)dtp / (double)nood) * ((double)tp / (double)(tp + fp));
        /* First threshold with TPR >= 95%, compared in integers: tp/nood >= 95/100. */
        if (!have_fpr95 && tp * 100 >= 95 * nood) {
            fpr95 = (double)fp / (double)nid;
            have_fpr95 = 1;
        }
        i = j;
    }
    /* AP with ID positive and score −bpd: the same groups walked from the bottom. */
    double ap_in = 0;
    long tn = 0, fn = 0; /* ID / OOD samples with bpd <= the current group's value */
    for (long i = n - 1; i >= 0;) {
        long j = i, dtn = 0, dfn = 0;
        for (; j >= 0 && v[j].s == v[i].s; j--) {
            if (v[j].ood)
                dfn++;
            else
                dtn++;
        }
        tn += dtn, fn += dfn;
        if (dtn) ap_in += ((double)dtn / (double)nid) * ((double)tn / (double)(tn + fn));
        i = j;
    }
    free(v);
    m->auroc = u / ((double)nid * (double)nood);
    m->fpr95 = fpr95;
    m->aupr_in = ap_in;
    m->aupr_out = ap_out;
    return 0;
}

int metrics_summary(const float *x, long n, double *mean, double *median) {
    *mean = *median = NAN;
    if (n < 1) return 0;
    double s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    *mean = s / (double)n;
    float *c = malloc(sizeof(float) * (size_t)n);
    if (!c) return -1;
    memcpy(c, x, sizeof(float) * (size_t)n);
    qsort(c, (size_t)n, sizeof(float), cmp_float_asc);
    double lo = key(c[(n - 1) / 2]), hi = key(c[n / 2]);
    *median = 0.5 * (lo + hi);
    free(c);
    return 0;
}
