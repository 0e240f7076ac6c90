/* odin.c — ODIN (Liang, Li, Srikant 2018): temperature scaling plus a small input
 * perturbation that raises the top softmax score, more for ID than for OOD inputs
 * (see baselines.h). It needs the images and the network, so it runs on the
 * built-in backbone only.
 *
 * The step is taken in pixel units (x in [0, 1]); the backbone standardizes its
 * input inside, so a pixel step of ε is a step of ε/std on the standardized input —
 * the same as the reference implementation, which divides its gradient by the
 * normalization std. No clipping to [0, 1], as in the reference. */
#include "baselines/baselines.h"

#include <math.h>
#include <stdlib.h>

enum { ODIN_BATCH = 256 };

void odin_perturb(Backbone *bb, BackboneWork *w, const float *pix, int B, double T, double eps,
                  float *out) {
    const float *feat, *logits;
    int K = bb->shape.nclasses;
    int64_t pred[ODIN_BATCH];
    /* ŷ: the predicted class, first on ties (unperturbed, evaluation mode). */
    backbone_forward(bb, w, pix, B, 0, &feat, &logits);
    for (int i = 0; i < B; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (logits[i * K + k] > logits[i * K + best]) best = k;
        pred[i] = best;
    }
    backbone_input_grad(bb, w, pix, pred, (float)T, B, out);
    /* x̃ = x − ε·sign(∇ₓ CE): descends the cross-entropy of ŷ, i.e. raises its
     * softmax score. sign(0) = 0 leaves a pixel with no gradient alone. */
    for (long i = 0; i < (long)B * BACKBONE_PIXELS; i++) {
        float g = out[i];
        float s = g > 0 ? 1.0f : g < 0 ? -1.0f : 0.0f;
        out[i] = pix[i] - (float)eps * s;
    }
}

int baseline_odin(Backbone *bb, const float *pix, long n, double T, double eps, float *score,
                  Err *e) {
    BackboneWork *w = backbone_work_new(bb, ODIN_BATCH);
    float *xt = malloc(sizeof(float) * ODIN_BATCH * BACKBONE_PIXELS);
    if (!w || !xt) {
        backbone_work_free(w), free(xt);
        return fail(e, LDE_ERUN, "odin: out of memory for a batch of %d images", ODIN_BATCH);
    }
    int K = bb->shape.nclasses;
    for (long first = 0; first < n; first += ODIN_BATCH) {
        int B = n - first < ODIN_BATCH ? (int)(n - first) : ODIN_BATCH;
        odin_perturb(bb, w, pix + first * BACKBONE_PIXELS, B, T, eps, xt);
        const float *feat, *logits;
        backbone_forward(bb, w, xt, B, 0, &feat, &logits);
        baseline_msp(logits, B, K, T, score + first);
    }
    backbone_work_free(w), free(xt);
    return LDE_OK;
}
