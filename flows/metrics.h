/* metrics.h — OOD detection metrics and bpd summaries (DESIGN.md, Training and
 * evaluation).
 *
 * The score is bpd: higher means "more OOD". OOD samples are the positive class.
 * With P = OOD scores (n_ood of them) and N = ID scores (n_id):
 *
 *   AUROC    = (1 / (n_ood·n_id)) · Σ_{p∈P, q∈N} ([p > q] + ½[p = q])
 *              — the Mann–Whitney U statistic: a tie counts half. It equals the
 *              area under the ROC curve with tied scores forming one diagonal step
 *              (sklearn.metrics.roc_auc_score).
 *   FPR95    = #{q ∈ N : q >= t} / n_id, where t is the largest threshold whose
 *              TPR = #{p ∈ P : p >= t} / n_ood is >= 0.95, i.e. t is the
 *              ceil(0.95·n_ood)-th largest OOD score: the fraction of ID samples
 *              flagged by the threshold that flags (at least) 95% of OOD samples.
 *              (sklearn: fpr[searchsorted(tpr, 0.95)] of roc_curve without
 *              drop_intermediate.)
 *   AUPR-Out = average precision with OOD positive and score bpd;
 *   AUPR-In  = average precision with ID positive and score −bpd.
 *              Average precision (sklearn.metrics.average_precision_score):
 *              AP = Σ_k (R_k − R_{k−1}) · P_k over the distinct score values in
 *              decreasing order, P_k / R_k the precision / recall of "score >= the
 *              k-th value" (tied samples enter together; R_0 = 0).
 *
 * NaN scores (a flow that produced no density) are treated as +∞: maximally OOD.
 * Everything is O(n log n) (one sort of n_id + n_ood scores); sums in double. */
#ifndef LDE_METRICS_H
#define LDE_METRICS_H

typedef struct {
    double auroc, fpr95, aupr_in, aupr_out;
} OodMetrics;

/* id (nid), ood (nood) scores -> m. Both counts must be >= 1. Returns 0, or -1 when a
 * count is < 1 or memory runs out (m is then all NaN). */
int metrics_ood(const float *id, long nid, const float *ood, long nood, OodMetrics *m);

/* x (n) -> mean (summed in double, index order) and median (mean of the two middle
 * values when n is even; NaN counts as +∞). n = 0 gives NaN for both; returns -1 only
 * when memory runs out. */
int metrics_summary(const float *x, long n, double *mean, double *median);

#endif
