/* backbone.c — see backbone.h. Forward and backward passes are the layer calls of
 * flows/ in order; this file only owns the layout of params and of the buffers. */
#include "backbone/backbone.h"

#include "flows/avgpool.h"
#include "flows/batchnorm.h"
#include "flows/conv2d.h"
#include "flows/conv2d_onednn.h"
#include "flows/linear.h"
#include "flows/relu.h"
#include "flows/softmax_xent.h"
#include "util/atomicfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where each layer's parameters and state start, and the shapes between layers. */
typedef struct {
    long w[BACKBONE_MAX_STAGES];     /* conv W (cnn) or Linear W,b (mlp) */
    long bn[BACKBONE_MAX_STAGES];    /* cnn: gamma, beta */
    long state[BACKBONE_MAX_STAGES]; /* cnn: running mean, var */
    long head, nparams, nstate;
    int in[BACKBONE_MAX_STAGES];       /* input channels (cnn) or units (mlp) of stage s */
    int side[BACKBONE_MAX_STAGES + 1]; /* cnn: image side before stage s; side[S] = last */
} Layout;

static void layout(const BackboneShape *sh, Layout *L) {
    long p = 0, st = 0;
    int in = sh->arch == BACKBONE_CNN ? 1 : BACKBONE_PIXELS, side = BACKBONE_SIDE;
    for (int s = 0; s < sh->nstages; s++) {
        int out = sh->width[s];
        L->in[s] = in, L->side[s] = side, L->w[s] = p;
        if (sh->arch == BACKBONE_CNN) {
            p += conv2d_nparams(in, out);
            L->bn[s] = p, L->state[s] = st;
            p += (long)BATCHNORM_NPARAMS_PER_CHANNEL * out, st += 2L * out;
            side = conv2d_out_size(side, sh->stride[s]);
        } else {
            p += linear_nparams(in, out);
        }
        in = out;
    }
    L->side[sh->nstages] = side;
    L->head = p;
    L->nparams = p + linear_nparams(in, sh->nclasses);
    L->nstate = st;
}

BackboneShape backbone_shape_default(BackboneArch arch) {
    BackboneShape s = {arch, 0, {0}, {0}, 10, CONV_IM2COL};
    if (arch == BACKBONE_CNN) {
        static const int w[4] = {32, 64, 128, 256}, st[4] = {1, 2, 1, 2};
        s.nstages = 4;
        for (int i = 0; i < 4; i++) s.width[i] = w[i], s.stride[i] = st[i];
    } else {
        s.nstages = 2, s.width[0] = 1024, s.width[1] = 512;
        s.stride[0] = s.stride[1] = 1;
    }
    return s;
}

const char *backbone_arch_name(BackboneArch arch) {
    return arch == BACKBONE_CNN ? "cnn" : "mlp";
}

static int check_shape(const BackboneShape *sh, Err *e) {
    if (sh->arch != BACKBONE_CNN && sh->arch != BACKBONE_MLP)
        return fail(e, LDE_EINPUT, "backbone: unknown architecture %d", (int)sh->arch);
    if (sh->nstages < 1 || sh->nstages > BACKBONE_MAX_STAGES)
        return fail(e, LDE_EINPUT, "backbone: %d stages, expected 1..%d", sh->nstages,
                    BACKBONE_MAX_STAGES);
    for (int s = 0; s < sh->nstages; s++) {
        if (sh->width[s] < 1 || sh->width[s] > 4096)
            return fail(e, LDE_EINPUT, "backbone: stage %d width %d, expected 1..4096", s,
                        sh->width[s]);
        if (sh->arch == BACKBONE_CNN && sh->stride[s] != 1 && sh->stride[s] != 2)
            return fail(e, LDE_EINPUT, "backbone: stage %d stride %d, expected 1 or 2", s,
                        sh->stride[s]);
    }
    if (sh->nclasses < 2 || sh->nclasses > 4096)
        return fail(e, LDE_EINPUT, "backbone: %d classes, expected 2..4096", sh->nclasses);
    return LDE_OK;
}

/* Allocates params and state for a valid shape; contents undefined. */
static int backbone_alloc(Backbone *bb, const BackboneShape *shape, Err *e) {
    memset(bb, 0, sizeof *bb);
    int rc = check_shape(shape, e);
    if (rc) return rc;
    Layout L;
    layout(shape, &L);
    bb->shape = *shape;
    bb->feat_dim = shape->width[shape->nstages - 1];
    bb->nparams = L.nparams, bb->nstate = L.nstate;
    bb->params = malloc(sizeof(float) * L.nparams);
    bb->state = malloc(sizeof(float) * (L.nstate > 0 ? L.nstate : 1));
    bb->in_mean = 0.0f, bb->in_std = 1.0f;
    if (!bb->params || !bb->state) {
        backbone_free(bb);
        return fail(e, LDE_ERUN, "backbone: out of memory for %ld parameters", L.nparams);
    }
    return LDE_OK;
}

/* rng streams: stage s uses stream s, the head stream 1000. */
enum { HEAD_STREAM = 1000 };

int backbone_init(Backbone *bb, const BackboneShape *shape, uint64_t seed, Err *e) {
    int rc = backbone_alloc(bb, shape, e);
    if (rc) return rc;
    Layout L;
    layout(shape, &L);
    for (int s = 0; s < shape->nstages; s++) {
        if (shape->arch == BACKBONE_CNN) {
            conv2d_init(bb->params + L.w[s], L.in[s], shape->width[s], seed, (uint64_t)s);
            batchnorm_init(bb->params + L.bn[s], bb->state + L.state[s], shape->width[s]);
        } else {
            linear_init(bb->params + L.w[s], L.in[s], shape->width[s], seed, (uint64_t)s);
        }
    }
    linear_init(bb->params + L.head, bb->feat_dim, shape->nclasses, seed, HEAD_STREAM);
    return LDE_OK;
}

void backbone_free(Backbone *bb) {
    free(bb->params);
    free(bb->state);
    bb->params = bb->state = NULL;
}

struct BackboneWork {
    int cap;
    float *x0;                        /* standardized input (B, 784) */
    float *cols[BACKBONE_MAX_STAGES]; /* cnn, im2col: im2col of stage s's input */
    float *z[BACKBONE_MAX_STAGES];    /* conv (cnn) or linear (mlp) output */
    float *a[BACKBONE_MAX_STAGES];    /* after BatchNorm + ReLU (cnn) or ReLU (mlp) */
    float *mean[BACKBONE_MAX_STAGES]; /* cnn: batch statistics for backward */
    float *invstd[BACKBONE_MAX_STAGES];
    float *feat, *logits, *probs, *dfeat;
    float *g1, *g2; /* activation gradients, the largest activation each */
    float *work;    /* cnn: the largest conv2d_workspace (or conv2d_onednn_workspace) */
    float *dx0;     /* gradient w.r.t. the standardized input */
    float *scratch; /* parameter gradients that backbone_input_grad discards */
};

void backbone_work_free(BackboneWork *w) {
    if (!w) return;
    free(w->x0);
    for (int s = 0; s < BACKBONE_MAX_STAGES; s++)
        free(w->cols[s]), free(w->z[s]), free(w->a[s]), free(w->mean[s]), free(w->invstd[s]);
    free(w->feat), free(w->logits), free(w->probs), free(w->dfeat);
    free(w->g1), free(w->g2), free(w->work), free(w->dx0), free(w->scratch);
    free(w);
}

static float *alloc_floats(long n, int *ok) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    *ok &= p != NULL;
    return p;
}

BackboneWork *backbone_work_new(const Backbone *bb, int cap) {
    BackboneWork *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    const BackboneShape *sh = &bb->shape;
    Layout L;
    layout(sh, &L);
    int ok = 1, K = sh->nclasses, F = bb->feat_dim;
    long maxact = (long)cap * BACKBONE_PIXELS, maxwork = 1;
    w->cap = cap;
    w->x0 = alloc_floats((long)cap * BACKBONE_PIXELS, &ok);
    w->dx0 = alloc_floats((long)cap * BACKBONE_PIXELS, &ok);
    for (int s = 0; s < sh->nstages; s++) {
        long act = (long)cap * sh->width[s];
        if (sh->arch == BACKBONE_CNN) {
            long plane = (long)L.side[s + 1] * L.side[s + 1];
            act *= plane;
            int dnn = sh->conv == CONV_ONEDNN; /* reads x in place: no cols */
            long cols = dnn ? 1 : (long)L.in[s] * 9 * cap * plane;
            long work = dnn ? conv2d_onednn_workspace(L.in[s], sh->width[s], cap)
                            : conv2d_workspace(L.in[s], sh->width[s], cap, L.side[s], L.side[s],
                                               sh->stride[s]);
            w->cols[s] = alloc_floats(cols, &ok);
            w->mean[s] = alloc_floats(sh->width[s], &ok);
            w->invstd[s] = alloc_floats(sh->width[s], &ok);
            maxwork = work > maxwork ? work : maxwork;
        }
        w->z[s] = alloc_floats(act, &ok);
        w->a[s] = alloc_floats(act, &ok);
        maxact = act > maxact ? act : maxact;
    }
    w->feat = alloc_floats((long)cap * F, &ok);
    w->dfeat = alloc_floats((long)cap * F, &ok);
    w->logits = alloc_floats((long)cap * K, &ok);
    w->probs = alloc_floats((long)cap * K, &ok);
    w->g1 = alloc_floats(maxact, &ok);
    w->g2 = alloc_floats(maxact, &ok);
    w->work = sh->arch == BACKBONE_CNN ? alloc_floats(maxwork, &ok) : NULL;
    w->scratch = alloc_floats(bb->nparams, &ok);
    if (!ok) {
        backbone_work_free(w);
        return NULL;
    }
    return w;
}

/* Whether the conv stages' activations stay in oneDNN's blocked layout (B, C/16, h, w,
 * 16) from one conv to the next, through batch norm, ReLU and the pooling (their
 * _blocked versions, same bits): oneDNN convs, every width a multiple of 16. Else
 * they are channel-major, (C, B, h, w), as conv2d.h has them. */
static int blocked(const BackboneShape *sh) {
    if (sh->arch != BACKBONE_CNN || sh->conv != CONV_ONEDNN) return 0;
    for (int s = 0; s < sh->nstages; s++)
        if (sh->width[s] % 16) return 0;
    return 1;
}

/* Stage s's conv layouts: the image (one channel, so (C, B, h, w) is (B, h, w)) or
 * the previous stage's output in, its own out. */
static ConvLayouts stage_layouts(const BackboneShape *sh, int s) {
    ConvLayout a = blocked(sh) ? CONV_BLOCKED : CONV_CBHW;
    return (ConvLayouts){s == 0 ? CONV_CBHW : a, a};
}

void backbone_forward(Backbone *bb, BackboneWork *w, const float *x, int B, int train,
                      const float **feat, const float **logits) {
    const BackboneShape *sh = &bb->shape;
    Layout L;
    layout(sh, &L);
    float m = bb->in_mean, inv = 1.0f / bb->in_std;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)B * BACKBONE_PIXELS; i++) w->x0[i] = (x[i] - m) * inv;
    const float *in = w->x0;
    for (int s = 0; s < sh->nstages; s++) {
        int out = sh->width[s];
        if (sh->arch == BACKBONE_CNN) {
            int side = L.side[s];
            long P = (long)B * L.side[s + 1] * L.side[s + 1];
            long hw = (long)L.side[s + 1] * L.side[s + 1];
            const float *bn = bb->params + L.bn[s];
            float *st = bb->state + L.state[s];
            if (sh->conv == CONV_ONEDNN)
                conv2d_onednn_forward(bb->params + L.w[s], NULL, 0, in, w->z[s], L.in[s], out, B,
                                      side, side, sh->stride[s], stage_layouts(sh, s));
            else
                conv2d_forward(bb->params + L.w[s], in, w->cols[s], w->z[s], L.in[s], out, B, side,
                               side, sh->stride[s]);
            if (blocked(sh) && train)
                batchnorm_forward_train_blocked(bn, st, w->z[s], w->a[s], w->mean[s], w->invstd[s],
                                                out, B, hw);
            else if (blocked(sh))
                batchnorm_forward_eval_blocked(bn, st, w->z[s], w->a[s], out, B, hw);
            else if (train)
                batchnorm_forward_train(bn, st, w->z[s], w->a[s], w->mean[s], w->invstd[s], out, P);
            else
                batchnorm_forward_eval(bn, st, w->z[s], w->a[s], out, P);
            relu_forward(w->a[s], w->a[s], (long)out * P);
        } else {
            linear_forward(bb->params + L.w[s], in, w->z[s], B, L.in[s], out);
            relu_forward(w->z[s], w->a[s], (long)B * out);
        }
        in = w->a[s];
    }
    int S = sh->nstages, F = bb->feat_dim;
    if (blocked(sh))
        avgpool_forward_blocked(w->a[S - 1], w->feat, F, B, L.side[S] * L.side[S]);
    else if (sh->arch == BACKBONE_CNN)
        avgpool_forward(w->a[S - 1], w->feat, F, B, L.side[S] * L.side[S]);
    else
        memcpy(w->feat, w->a[S - 1], sizeof(float) * B * F);
    linear_forward(bb->params + L.head, w->feat, w->logits, B, F, sh->nclasses);
    *feat = w->feat;
    *logits = w->logits;
}

/* dlogits (B, K) in w->probs -> grad (nparams) and, when dx is not NULL, the
 * gradient w.r.t. the standardized input. train selects BatchNorm's backward. */
static void backward_from_logits(Backbone *bb, BackboneWork *w, int B, int train, float *grad,
                                 float *dx) {
    const BackboneShape *sh = &bb->shape;
    Layout L;
    layout(sh, &L);
    int S = sh->nstages, F = bb->feat_dim;
    linear_backward(bb->params + L.head, w->feat, w->probs, w->dfeat, grad + L.head, 0, B, F,
                    sh->nclasses);
    float *g = w->g1, *gnext = w->g2;
    if (blocked(sh))
        avgpool_backward_blocked(w->dfeat, g, F, B, L.side[S] * L.side[S]);
    else if (sh->arch == BACKBONE_CNN)
        avgpool_backward(w->dfeat, g, F, B, L.side[S] * L.side[S]);
    else
        memcpy(g, w->dfeat, sizeof(float) * B * F);
    for (int s = S - 1; s >= 0; s--) {
        int out = sh->width[s];
        const float *in = s > 0 ? w->a[s - 1] : w->x0;
        float *gin = s > 0 ? gnext : dx;
        if (sh->arch == BACKBONE_CNN) {
            int side = L.side[s];
            long P = (long)B * L.side[s + 1] * L.side[s + 1];
            long hw = (long)L.side[s + 1] * L.side[s + 1];
            const float *bn = bb->params + L.bn[s], *st = bb->state + L.state[s];
            relu_backward(w->a[s], g, g, (long)out * P);
            if (blocked(sh) && train)
                batchnorm_backward_train_blocked(bn, w->z[s], w->mean[s], w->invstd[s], g, g,
                                                 grad + L.bn[s], 0, out, B, hw);
            else if (blocked(sh))
                batchnorm_backward_eval_blocked(bn, st, g, g, out, B, hw);
            else if (train)
                batchnorm_backward_train(bn, w->z[s], w->mean[s], w->invstd[s], g, g,
                                         grad + L.bn[s], 0, out, P);
            else
                batchnorm_backward_eval(bn, st, g, g, out, P);
            if (sh->conv == CONV_ONEDNN)
                conv2d_onednn_backward(bb->params + L.w[s], in, g, w->work, gin, grad + L.w[s], 0,
                                       L.in[s], out, B, side, side, sh->stride[s],
                                       stage_layouts(sh, s));
            else
                conv2d_backward(bb->params + L.w[s], w->cols[s], g, w->work, gin, grad + L.w[s], 0,
                                L.in[s], out, B, side, side, sh->stride[s]);
        } else {
            relu_backward(w->a[s], g, g, (long)B * out);
            linear_backward(bb->params + L.w[s], in, g, gin, grad + L.w[s], 0, B, L.in[s], out);
        }
        float *t = g;
        g = gnext, gnext = t;
    }
}

double backbone_backward(Backbone *bb, BackboneWork *w, const int64_t *labels, int B, float *grad) {
    int K = bb->shape.nclasses;
    double loss = softmax_xent_forward(w->logits, labels, w->probs, B, K);
    softmax_xent_backward(w->probs, labels, w->probs, B, K);
    backward_from_logits(bb, w, B, 1, grad, NULL);
    return loss;
}

void backbone_input_grad(Backbone *bb, BackboneWork *w, const float *x, const int64_t *labels,
                         float T, int B, float *dx) {
    const float *feat, *logits;
    int K = bb->shape.nclasses;
    backbone_forward(bb, w, x, B, 0, &feat, &logits);
    /* Cross-entropy of softmax(l / T): dL/dl = (softmax(l/T) - onehot) / (B·T). */
    for (long i = 0; i < (long)B * K; i++) w->probs[i] = w->logits[i] / T;
    softmax_xent_forward(w->probs, labels, w->probs, B, K);
    softmax_xent_backward(w->probs, labels, w->probs, B, K);
    for (long i = 0; i < (long)B * K; i++) w->probs[i] /= T;
    backward_from_logits(bb, w, B, 0, w->scratch, w->dx0);
    /* x' = (x - mean) / std, so dL/dx = dL/dx' / std. */
    for (long i = 0; i < (long)B * BACKBONE_PIXELS; i++) dx[i] = w->dx0[i] / bb->in_std;
}

const float *backbone_head_W(const Backbone *bb) {
    Layout L;
    layout(&bb->shape, &L);
    return bb->params + L.head;
}

const float *backbone_head_b(const Backbone *bb) {
    return backbone_head_W(bb) + (long)bb->shape.nclasses * bb->feat_dim;
}

/* LDEBB1: im2col convs. LDEBB2 (oneDNN convs) has the same header: the magic alone
 * says which, so the files of im2col backbones keep the bytes they always had. */
static const char MAGIC[8] = "LDEBB1\n", MAGIC_ONEDNN[8] = "LDEBB2\n";

/* The header: magic, then int32 arch, nstages, width[8], stride[8], nclasses,
 * float32 in_mean, in_std. */
typedef struct {
    char magic[8];
    int32_t arch, nstages, width[BACKBONE_MAX_STAGES], stride[BACKBONE_MAX_STAGES], nclasses;
    float in_mean, in_std;
} Header;

int backbone_save(const Backbone *bb, const char *path, Err *e) {
    Header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, bb->shape.conv == CONV_ONEDNN ? MAGIC_ONEDNN : MAGIC, sizeof h.magic);
    h.arch = bb->shape.arch, h.nstages = bb->shape.nstages, h.nclasses = bb->shape.nclasses;
    for (int s = 0; s < BACKBONE_MAX_STAGES; s++)
        h.width[s] = bb->shape.width[s], h.stride[s] = bb->shape.stride[s];
    h.in_mean = bb->in_mean, h.in_std = bb->in_std;
    AtomicFile a;
    int rc = atomic_open(&a, path, e);
    if (rc) return rc;
    if (fwrite(&h, sizeof h, 1, a.f) != 1 ||
        fwrite(bb->params, sizeof(float), (size_t)bb->nparams, a.f) != (size_t)bb->nparams ||
        fwrite(bb->state, sizeof(float), (size_t)bb->nstate, a.f) != (size_t)bb->nstate) {
        atomic_abort(&a);
        return fail(e, LDE_ERUN, "%s: write failed", path);
    }
    return atomic_commit(&a, e);
}

int backbone_load(Backbone *bb, const char *path, Err *e) {
    memset(bb, 0, sizeof *bb);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(e, LDE_EINPUT, "%s: cannot open", path);
    Header h;
    int rc = LDE_OK;
    if (fread(&h, sizeof h, 1, f) != 1 ||
        (memcmp(h.magic, MAGIC, sizeof MAGIC) != 0 &&
         memcmp(h.magic, MAGIC_ONEDNN, sizeof MAGIC_ONEDNN) != 0)) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: not an lde backbone file (bad magic)", path);
    }
    BackboneShape sh = {(BackboneArch)h.arch,
                        h.nstages,
                        {0},
                        {0},
                        h.nclasses,
                        memcmp(h.magic, MAGIC, sizeof MAGIC) ? CONV_ONEDNN : CONV_IM2COL};
    for (int s = 0; s < BACKBONE_MAX_STAGES; s++)
        sh.width[s] = h.width[s], sh.stride[s] = h.stride[s];
    Err why = {{0}};
    if (backbone_alloc(bb, &sh, &why)) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: %s", path, why.msg);
    }
    bb->in_mean = h.in_mean, bb->in_std = h.in_std;
    char extra;
    if (fread(bb->params, sizeof(float), (size_t)bb->nparams, f) != (size_t)bb->nparams ||
        fread(bb->state, sizeof(float), (size_t)bb->nstate, f) != (size_t)bb->nstate ||
        fread(&extra, 1, 1, f) != 0) {
        backbone_free(bb);
        rc = fail(e, LDE_EINPUT, "%s: size does not match the shape in its header", path);
    }
    fclose(f);
    return rc;
}
