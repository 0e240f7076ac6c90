/* evaluate.c — bpd of every split, metrics against val, one store transaction. */
#include "run/evaluate.h"

#include "flows/pixels.h"
#include "flows/preprocess.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

void evaluate_bpd(const Flow *f, FlowWork *w, const float *x, const double *logdet, long n,
                  BpdUnits u, float *bpd) {
    enum { CHUNK = 4096 }; /* rows per flow_log_prob call: bounds the double buffer */
    double logp[CHUNK];
    int d = f->cfg.d;
    for (long r0 = 0; r0 < n; r0 += CHUNK) {
        int m = n - r0 < CHUNK ? (int)(n - r0) : CHUNK;
        flow_log_prob(f, x + r0 * d, logp, m, w);
        for (int i = 0; i < m; i++) {
            double b = u.pixels ? pixels_bpd(logp[i] + logdet[r0 + i], d)
                                : preprocess_bpd(logp[i], d, u.epsilon);
            bpd[r0 + i] = isfinite(b) && b < FLT_MAX ? (float)b : FLT_MAX;
        }
    }
}

int evaluate_point(Store *st, const char *run_id, long step, double epoch, double train_loss,
                   const Flow *f, FlowWork *w, BpdUnits u, const EvalSplit *splits, int n,
                   EvalResult *res, Err *e) {
    float *bpd[2 + 16] = {0};
    StoreSplit out[2 + 16];
    int rc = LDE_OK;
    for (int i = 0; i < n && rc == LDE_OK; i++) {
        bpd[i] = malloc(sizeof(float) * (size_t)(splits[i].n ? splits[i].n : 1));
        if (!bpd[i]) {
            rc = fail(e, LDE_ERUN, "run %s: out of memory evaluating %s", run_id, splits[i].name);
            break;
        }
        evaluate_bpd(f, w, splits[i].x, splits[i].logdet, splits[i].n, u, bpd[i]);
        metrics_summary(bpd[i], splits[i].n, &res->mean_bpd[i], &res->median_bpd[i]);
        out[i] = (StoreSplit){.split = splits[i].name,
                              .mean_bpd = res->mean_bpd[i],
                              .median_bpd = res->median_bpd[i],
                              .bpd = bpd[i],
                              .n = splits[i].n};
        /* OOD sets (from index 2) are scored against val, OOD positive. */
        if (i >= 2) {
            metrics_ood(bpd[1], splits[1].n, bpd[i], splits[i].n, &res->metrics[i]);
            out[i].metrics = &res->metrics[i];
        }
    }
    if (rc == LDE_OK) rc = store_add_eval(st, run_id, step, epoch, train_loss, out, n, e);
    for (int i = 0; i < n; i++) free(bpd[i]);
    return rc;
}
