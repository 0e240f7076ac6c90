/* backbone_train.c — see backbone_train.h. */
#include "backbone/backbone_train.h"

#include "flows/adam.h"
#include "flows/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TRAIN_AUG_STREAM = 2000, TRAIN_PERM_STREAM = 3000, EXTRACT_BATCH = 256 };

BackboneTrainConfig backbone_train_defaults(void) {
    BackboneTrainConfig c = {0, 4, 1e-3f, 128, 0};
    return c;
}

/* Pixel mean and std of the whole training set, summed in double in index order. */
static void pixel_stats(const float *pix, long n, float *mean, float *std) {
    long len = n * BACKBONE_PIXELS;
    double s = 0.0, ss = 0.0;
    for (long i = 0; i < len; i++) s += pix[i];
    double m = s / (double)len;
    for (long i = 0; i < len; i++) ss += (pix[i] - m) * (pix[i] - m);
    *mean = (float)m;
    *std = (float)sqrt(ss / (double)len);
    if (!(*std > 1e-6f)) *std = 1.0f; /* a constant image set: leave the scale alone */
}

/* dst (784) = src shifted by (dx, dy) with zero fill, then mirrored when flip. */
static void augment_image(const float *src, float *dst, int dx, int dy, int flip) {
    for (int y = 0; y < BACKBONE_SIDE; y++)
        for (int x = 0; x < BACKBONE_SIDE; x++) {
            int sx = (flip ? BACKBONE_SIDE - 1 - x : x) - dx, sy = y - dy;
            int inside = sx >= 0 && sx < BACKBONE_SIDE && sy >= 0 && sy < BACKBONE_SIDE;
            dst[y * BACKBONE_SIDE + x] = inside ? src[sy * BACKBONE_SIDE + sx] : 0.0f;
        }
}

/* The batch of rows perm[first .. first+B): images (augmented when asked; draw
 * index `drawn` + r) and labels. */
static void gather_batch(const float *pix, const int64_t *labels, const long *perm, long first,
                         int B, int augment, uint64_t seed, uint64_t drawn, float *xb,
                         int64_t *yb) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B; r++) {
        const float *src = pix + perm[first + r] * BACKBONE_PIXELS;
        float *dst = xb + (long)r * BACKBONE_PIXELS;
        yb[r] = labels[perm[first + r]];
        if (!augment) {
            memcpy(dst, src, sizeof(float) * BACKBONE_PIXELS);
            continue;
        }
        uint32_t w[4];
        rng_philox(seed, TRAIN_AUG_STREAM, drawn + (uint64_t)r, w);
        augment_image(src, dst, (int)(w[0] % 5) - 2, (int)(w[1] % 5) - 2, (int)(w[2] & 1));
    }
}

static long argmax_hits(const float *logits, const int64_t *labels, long n, int K) {
    long hits = 0;
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (logits[i * K + k] > logits[i * K + best]) best = k;
        hits += best == labels[i];
    }
    return hits;
}

double backbone_accuracy(const float *logits, const int64_t *labels, long n, int K) {
    return n > 0 ? (double)argmax_hits(logits, labels, n, K) / (double)n : 0.0;
}

int backbone_train(Backbone *bb, const BackboneTrainConfig *c, const float *pix,
                   const int64_t *labels, long n, BackboneProgressFn progress, void *ctx, Err *e) {
    int K = bb->shape.nclasses;
    if (c->epochs < 1 || c->batch < 2 || !(c->lr > 0.0f) || n < 2)
        return fail(e, LDE_EINPUT,
                    "backbone training: epochs %d, batch %d, lr %g, %ld images "
                    "(expected >= 1, >= 2, > 0, >= 2)",
                    c->epochs, c->batch, (double)c->lr, n);
    for (long i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return fail(e, LDE_EINPUT, "backbone training: label %lld of image %ld outside 0..%d",
                        (long long)labels[i], i, K - 1);
    pixel_stats(pix, n, &bb->in_mean, &bb->in_std);
    int cap = (int)(c->batch < n ? c->batch : n);
    BackboneWork *w = backbone_work_new(bb, cap);
    float *grad = malloc(sizeof(float) * bb->nparams);
    float *m = calloc((size_t)bb->nparams, sizeof(float));
    float *v = calloc((size_t)bb->nparams, sizeof(float));
    float *xb = malloc(sizeof(float) * cap * BACKBONE_PIXELS);
    int64_t *yb = malloc(sizeof(int64_t) * cap);
    long *perm = malloc(sizeof(long) * n);
    int rc = LDE_OK;
    if (!w || !grad || !m || !v || !xb || !yb || !perm) {
        rc = fail(e, LDE_ERUN, "backbone training: out of memory");
        goto done;
    }
    long per_epoch = (n + cap - 1) / cap, nsteps = per_epoch * c->epochs, step = 0;
    AdamConfig adam = adam_defaults();
    for (int ep = 0; ep < c->epochs; ep++) {
        rng_permutation(perm, n, c->seed, TRAIN_PERM_STREAM + (uint64_t)ep);
        double loss_sum = 0.0;
        long hits = 0, seen = 0;
        for (long first = 0; first < n; first += cap) {
            int B = (int)(n - first < cap ? n - first : cap);
            gather_batch(pix, labels, perm, first, B, c->augment, c->seed,
                         (uint64_t)ep * (uint64_t)n + (uint64_t)first, xb, yb);
            const float *feat, *logits;
            backbone_forward(bb, w, xb, B, 1, &feat, &logits);
            hits += argmax_hits(logits, yb, B, K);
            loss_sum += backbone_backward(bb, w, yb, B, grad) * B;
            seen += B;
            /* Cosine annealing (Loshchilov & Hutter 2017) without restarts. */
            adam.lr = (float)(c->lr * 0.5 * (1.0 + cos(M_PI * (double)step / (double)nsteps)));
            adam_step(bb->params, grad, m, v, bb->nparams, ++step, &adam);
            if (progress) {
                BackboneTrainStatus st = {
                    ep, step, nsteps, loss_sum / seen, (double)hits / seen, first + B >= n};
                progress(ctx, &st);
            }
        }
    }
done:
    backbone_work_free(w);
    free(grad), free(m), free(v), free(xb), free(yb), free(perm);
    return rc;
}

int backbone_extract(Backbone *bb, const float *pix, long n, float *feat, float *logits, Err *e) {
    int cap = (int)(n < EXTRACT_BATCH ? (n > 0 ? n : 1) : EXTRACT_BATCH);
    BackboneWork *w = backbone_work_new(bb, cap);
    if (!w) return fail(e, LDE_ERUN, "feature extraction: out of memory");
    int F = bb->feat_dim, K = bb->shape.nclasses;
    for (long first = 0; first < n; first += cap) {
        int B = (int)(n - first < cap ? n - first : cap);
        const float *f, *l;
        backbone_forward(bb, w, pix + first * BACKBONE_PIXELS, B, 0, &f, &l);
        if (feat) memcpy(feat + first * F, f, sizeof(float) * B * F);
        if (logits) memcpy(logits + first * K, l, sizeof(float) * B * K);
    }
    backbone_work_free(w);
    return LDE_OK;
}
