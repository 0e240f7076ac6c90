/* flow_pass.c — the passes over a flow's chain of layers (flow.h; the chain itself
 * is built in flow.c). Every pass is a loop over the chain with a switch on the
 * layer kind:
 *   forward   acts[l] -> acts[l+1], each layer adding its log|det J| per row
 *   backward  from dL/dz = z/B and dL/dlogdet = -1/B back through the chain
 *   inverse   the chain in reverse.
 * A new layer kind is one case in each switch (and one in flow.c's flow_build).
 *
 * Layer l maps rows of din values to rows of dout (equal except at a split), stored
 * contiguously (B, din). A split (multi-scale image flows) also writes its factored
 * half to columns [dout, din) of a full-width z buffer (FlowWork.zt in training,
 * .ev_z in evaluation); z is that buffer once the last layer's output fills columns
 * [0, dout_last). Backward turns zt into dL/dz in place and each split reads its
 * columns back; the inverse reads them from the caller's z. A flow without splits
 * never touches these buffers: z is the last layer's output. */
#include "flows/flow.h"

#include "flows/actnorm.h"
#include "flows/invlinear.h"
#include "flows/resblock.h"
#include "flows/rng.h"
#include "flows/squeeze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Training keeps every layer's input and internals for backward (max_batch rows).
 * Evaluation, forward and inverse keep nothing: they run in chunks of eval_rows
 * through two ping-pong buffers and one layer-sized scratch, so scoring a data set
 * uses large products (weights are packed once per chunk, not once per 64 rows). */
struct FlowWork {
    int max_batch, eval_rows;
    float **acts;          /* nlayers + 1 buffers (max_batch, d): each layer's input, then z */
    float **saved;         /* per layer: what backward needs (max_batch rows) */
    float *scratch;        /* shared by the layers' backward passes */
    float *dy, *dx;        /* (max_batch, d): the gradient flowing back, ping-pong */
    float *ev_a, *ev_b;    /* (eval_rows, d) each */
    float *ev_saved;       /* one layer's internals for eval_rows rows */
    long ev_saved_row;     /* its per-row size: the largest over layers */
    float *zt, *ev_z;      /* multi-scale only: z (max_batch, d) (then dL/dz), z (eval_rows, d) */
    double *logdet, *logp; /* (max(max_batch, eval_rows)) each */
    double *pixld;         /* image ActNorm / 1×1 conv: a log-det per pixel row (rows·h·w) */
    float *block;          /* the one allocation all float buffers point into */
    double *dblock;
};

/* Values per row out of the last layer: d, or fewer when splits factored some out. */
static int out_width(const Flow *f) {
    return f->nlayers > 0 ? f->layers[f->nlayers - 1].dout : f->cfg.d;
}

FlowWork *flow_work_create(const Flow *f, int max_batch) {
    if (max_batch < 1) return NULL;
    FlowWork *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    int d = f->cfg.d, L = f->nlayers, image = flow_config_is_image(&f->cfg);
    int ev = image || max_batch > FLOW_EVAL_ROWS ? max_batch : FLOW_EVAL_ROWS;
    int multiscale = out_width(f) != d;
    long rows = max_batch, act = rows * d, once = 0, ev_row = 0, pix = 0;
    long total = (L + 1) * act + 2 * act, scratch = image ? 0 : 2L * d * d;
    for (int i = 0; i < L; i++) {
        const FlowLayer *l = &f->layers[i];
        long hw = (long)l->h * l->w;
        total += l->saved_row * rows + l->saved_once;
        /* the scratch serves training (rows) and evaluation (ev >= rows) alike */
        long need = l->scratch_row * ev + l->scratch_once;
        if (need > scratch) scratch = need;
        if (l->saved_row > ev_row) ev_row = l->saved_row;
        if (l->saved_once > once) once = l->saved_once;
        if ((l->kind == FLOW_LAYER_ACTNORM || l->kind == FLOW_LAYER_INVLINEAR) && hw > 1 &&
            hw > pix)
            pix = hw;
    }
    total += scratch + 2L * ev * d + ev_row * ev + once;
    if (multiscale) total += act + (long)ev * d;
    w->max_batch = max_batch, w->eval_rows = ev, w->ev_saved_row = ev_row;
    w->acts = malloc(sizeof(float *) * (size_t)(L + 1));
    w->saved = malloc(sizeof(float *) * (size_t)(L > 0 ? L : 1));
    w->block = malloc(sizeof(float) * (size_t)total);
    w->dblock = malloc(sizeof(double) * (size_t)ev * (2 + pix));
    if (!w->acts || !w->saved || !w->block || !w->dblock) {
        flow_work_destroy(w);
        return NULL;
    }
    float *p = w->block;
    for (int i = 0; i <= L; i++) w->acts[i] = p, p += act;
    for (int i = 0; i < L; i++) {
        w->saved[i] = p;
        p += f->layers[i].saved_row * rows + f->layers[i].saved_once;
    }
    w->dy = p, p += act;
    w->dx = p, p += act;
    w->scratch = p, p += scratch;
    w->ev_a = p, p += (long)ev * d;
    w->ev_b = p, p += (long)ev * d;
    w->ev_saved = p, p += ev_row * ev + once;
    if (multiscale) w->zt = p, w->ev_z = p + act;
    w->logdet = w->dblock, w->logp = w->dblock + ev;
    w->pixld = w->dblock + 2L * ev;
    return w;
}

void flow_work_destroy(FlowWork *w) {
    if (!w) return;
    free(w->acts), free(w->saved), free(w->block), free(w->dblock);
    free(w);
}

/* Where layer i keeps its internals: per-layer buffers when training (backward needs
 * them), the shared evaluation scratch otherwise. T: the invertible linear's factors. */
typedef struct {
    float *saved, *T;
    float *scratch; /* shared by all layers: backward, a residual block's log-det */
    float *z;       /* a split's factored half goes to its columns (row stride d) */
    double *pixld;  /* per-pixel log-dets of image ActNorm / 1×1 conv */
} LayerBuf;

static LayerBuf layer_buf(const Flow *f, int i, const FlowWork *w, int train) {
    const FlowLayer *l = &f->layers[i];
    LayerBuf b;
    b.scratch = w->scratch;
    b.z = train ? w->zt : w->ev_z;
    b.pixld = w->pixld;
    if (train) {
        b.saved = w->saved[i];
        b.T = b.saved + l->saved_row * w->max_batch;
    } else {
        b.saved = w->ev_saved;
        b.T = b.saved + w->ev_saved_row * w->eval_rows;
    }
    return b;
}

/* What a pass is for: training (keep internals; stochastic estimators keyed by
 * seed and step) or evaluation (exact, nothing kept); init: an evaluation pass of
 * flow_init_actnorm, whose log-dets nobody reads (a residual block skips its). */
typedef struct {
    int train;
    uint64_t seed, step;
    int init;
} Pass;

/* Residual-block settings of a training pass: Russian roulette with 2 exact terms
 * and continuation 1/2 (Chen et al. 2019's choice), one Gaussian probe per row.
 * Layer i's probes use rng stream 16i+6 at index (step << 32) + element, and its
 * number of terms stream 16i+7 at index step (resblock_init uses 16i..16i+5). */
enum { RESFLOW_EXACT_TERMS = 2 };
static const double RESFLOW_ROULETTE_P = 0.5;

/* Residual block i on x (B,d) -> y (B,d), adding its log-det to logdet: in training,
 * one power-iteration step and the roulette estimate; in evaluation, the exact
 * log-det (NaN rows if its buffers cannot be allocated) or, with eval_terms > 0, the
 * truncated series averaged over FLOW_EVAL_PROBES Rademacher probes per row keyed by
 * the row's own bits (stream 16i+8), so a sample's value does not depend on its batch. */
static void resblock_layer_forward(Flow *f, int i, const float *x, float *y, double *logdet, int B,
                                   LayerBuf b, Pass pass) {
    const FlowLayer *l = &f->layers[i];
    float *p = f->params + l->poff, *s = f->state + l->soff;
    int d = f->cfg.d;
    uint64_t stream = 16u * (uint64_t)i;
    ResBlockActs acts;
    ResBlockNorm norm;
    LogdetSeries series;
    resblock_acts_bind(&l->rb, &acts, b.saved, B);
    if (pass.train) resblock_power_iterate(&l->rb, p, s);
    resblock_normalize(&l->rb, p, s, &norm, b.scratch);
    resblock_forward(&l->rb, p, &norm, x, y, &acts, B);
    if (pass.train) {
        logdet_series_roulette(&series, RESFLOW_EXACT_TERMS, RESFLOW_ROULETTE_P, pass.seed,
                               stream + 7, pass.step);
        logdet_series_probe(acts.v, (long)B * d, 0, pass.seed, stream + 6, pass.step << 32);
        resblock_logdet_estimate(&l->rb, p, &norm, &acts, &series, acts.v, logdet, b.scratch, B);
    } else if (pass.init) {
        return; /* flow_init_actnorm needs the outputs only */
    } else if (f->cfg.eval_terms > 0) {
        logdet_series_fixed(&series, f->cfg.eval_terms, 1.0 / FLOW_EVAL_PROBES);
        for (int m = 0; m < FLOW_EVAL_PROBES; m++) {
            logdet_series_probe_rows(acts.v, x, B, d, stream + 8, (uint64_t)m * d);
            resblock_logdet_estimate(&l->rb, p, &norm, &acts, &series, acts.v, logdet, b.scratch,
                                     B);
        }
    } else if (resblock_logdet_exact(&l->rb, p, &norm, &acts, logdet, B) != 0) {
        for (int r = 0; r < B; r++) logdet[r] = NAN;
    }
}

/* An image ActNorm or 1×1 convolution acts on every pixel of every image as a row of
 * ch values: its per-pixel log-dets go to b.pixld (zeroed here), and pixel_logdets
 * adds each image's h·w of them, in pixel order, to its log-det. */
static double *pixel_rows(LayerBuf b, long rows) {
    for (long r = 0; r < rows; r++) b.pixld[r] = 0.0;
    return b.pixld;
}

static void pixel_logdets(const double *pixld, double *logdet, int B, long hw) {
    for (int r = 0; r < B; r++) {
        double s = 0.0;
        for (long p = 0; p < hw; p++) s += pixld[r * hw + p];
        logdet[r] += s;
    }
}

/* Layer i on x (B,din) -> y (B,dout), adding to logdet. When training, an ActNorm that
 * has not been initialised is initialised from x first (data-dependent init: each
 * ActNorm sees the data as it arrives at it, Glow §3.1). ActNorm and the invertible
 * linear act on rows of ch values: B rows of d for vectors, B·h·w pixels for images
 * (per-channel ActNorm and the invertible 1×1 convolution, Glow §3.1–3.2). */
static void layer_forward(Flow *f, int i, const float *x, float *y, double *logdet, int B,
                          LayerBuf b, Pass pass) {
    const FlowLayer *l = &f->layers[i];
    float *p = f->params + l->poff, *s = f->state + l->soff;
    int c = l->ch;
    long hw = (long)l->h * l->w;
    int rows = (int)(B * hw);
    switch (l->kind) {
    case FLOW_LAYER_ACTNORM:
        if (pass.train && s[0] == 0.0f) {
            actnorm_init_from_data(p, x, rows, c);
            s[0] = 1.0f;
        }
        if (hw == 1) {
            actnorm_forward(p, x, y, logdet, B, c);
        } else {
            actnorm_forward(p, x, y, pixel_rows(b, rows), rows, c);
            pixel_logdets(b.pixld, logdet, B, hw);
        }
        break;
    case FLOW_LAYER_INVLINEAR:
        invlinear_factors(p, s, b.T, c);
        if (hw == 1) {
            invlinear_forward(p, s, b.T, x, b.saved, y, logdet, B, c);
        } else {
            invlinear_forward(p, s, b.T, x, b.saved, y, pixel_rows(b, rows), rows, c);
            pixel_logdets(b.pixld, logdet, B, hw);
        }
        break;
    case FLOW_LAYER_COUPLING: /* _eval: a new coupling's identity costs no network */
        if (pass.train)
            coupling_forward(&l->c, p, x, y, logdet, b.saved, B);
        else
            coupling_forward_eval(&l->c, p, x, y, logdet, b.saved, B);
        break;
    case FLOW_LAYER_RESBLOCK:
        resblock_layer_forward(f, i, x, y, logdet, B, b, pass);
        break;
    case FLOW_LAYER_CONV_COUPLING:
        if (pass.train)
            conv_coupling_forward(&l->cc, p, x, y, logdet, b.saved, b.scratch, B);
        else
            conv_coupling_forward_eval(&l->cc, p, x, y, logdet, b.saved, b.scratch, B);
        break;
    case FLOW_LAYER_SQUEEZE:
        squeeze_forward(x, y, B, l->h, l->w, c);
        break;
    case FLOW_LAYER_SPLIT:
        split_forward(x, y, b.z + l->dout, f->cfg.d, B, l->h, l->w, c);
        break;
    }
}

/* A residual block's activations bound to b.saved and its normalisation in force
 * (a pure function of params and state), for backward and inverse. */
static void resblock_layer_bind(const FlowLayer *l, const float *p, const float *s, LayerBuf b,
                                float *scratch, ResBlockActs *acts, ResBlockNorm *norm, int B) {
    resblock_acts_bind(&l->rb, acts, b.saved, B);
    resblock_normalize(&l->rb, p, s, norm, scratch);
}

/* Layer i backward: dy (B,dout) (may be overwritten) -> dx (B,din) and its slice of
 * grad. A split takes the gradient of its factored half from w->zt (dL/dz by then). */
static void layer_backward(const Flow *f, int i, const float *x, float *dy, float dlogdet,
                           float *dx, float *grad, int B, FlowWork *w, Pass pass) {
    (void)pass; /* the stochastic parts (probes, number of terms) were drawn in forward */
    const FlowLayer *l = &f->layers[i];
    const float *p = f->params + l->poff, *s = f->state + l->soff;
    LayerBuf b = layer_buf(f, i, w, 1);
    float *g = grad + l->poff;
    int c = l->ch, rows = (int)((long)B * l->h * l->w);
    switch (l->kind) {
    case FLOW_LAYER_ACTNORM:
        actnorm_backward(p, x, dy, dlogdet, dx, g, rows, c);
        break;
    case FLOW_LAYER_INVLINEAR:
        invlinear_backward(s, b.T, x, b.saved, dy, dlogdet, dx, g, w->scratch, rows, c);
        break;
    case FLOW_LAYER_COUPLING:
        coupling_backward(&l->c, p, x, b.saved, dy, dlogdet, dx, g, w->scratch, B);
        break;
    case FLOW_LAYER_RESBLOCK: {
        /* The normalisation is a pure function of (params, state), unchanged since
         * the forward pass: recomputing it costs three matrix-vector products. */
        ResBlockActs acts;
        ResBlockNorm norm;
        resblock_layer_bind(l, p, s, b, w->scratch, &acts, &norm, B);
        resblock_backward(&l->rb, p, s, &norm, x, &acts, dy, dlogdet, dx, g, w->scratch, B);
        break;
    }
    case FLOW_LAYER_CONV_COUPLING:
        conv_coupling_backward(&l->cc, p, x, b.saved, dy, dlogdet, dx, g, w->scratch, B);
        break;
    case FLOW_LAYER_SQUEEZE: /* a permutation: its adjoint is its inverse */
        squeeze_inverse(dy, dx, B, l->h, l->w, c);
        break;
    case FLOW_LAYER_SPLIT:
        split_inverse(dy, w->zt + l->dout, f->cfg.d, dx, B, l->h, l->w, c);
        break;
    }
}

/* Layer i inverse: y (B,dout) -> x (B,din), B <= eval_rows; a split takes its
 * factored half from columns [dout, din) of z (row stride d). */
static void layer_inverse(const Flow *f, int i, const float *y, float *x, int B, FlowWork *w,
                          const float *z) {
    const FlowLayer *l = &f->layers[i];
    const float *p = f->params + l->poff, *s = f->state + l->soff;
    LayerBuf b = layer_buf(f, i, w, 0);
    int d = l->din, c = l->ch, rows = (int)((long)B * l->h * l->w);
    switch (l->kind) {
    case FLOW_LAYER_ACTNORM:
        actnorm_inverse(p, y, x, rows, c);
        break;
    case FLOW_LAYER_INVLINEAR:
        invlinear_factors(p, s, b.T, c);
        invlinear_inverse(s, b.T, y, x, b.saved, rows, c);
        break;
    case FLOW_LAYER_COUPLING:
        coupling_inverse(&l->c, p, y, x, b.saved, B);
        break;
    case FLOW_LAYER_RESBLOCK: {
        ResBlockActs acts;
        ResBlockNorm norm;
        resblock_layer_bind(l, p, s, b, w->scratch, &acts, &norm, B);
        /* No contraction (only with non-finite inputs or weights): say so with NaN. */
        if (resblock_inverse(&l->rb, p, &norm, y, x, &acts, B) < 0)
            for (long k = 0; k < (long)B * d; k++) x[k] = NAN;
        break;
    }
    case FLOW_LAYER_CONV_COUPLING:
        conv_coupling_inverse(&l->cc, p, y, x, b.saved, w->scratch, B);
        break;
    case FLOW_LAYER_SQUEEZE:
        squeeze_inverse(y, x, B, l->h, l->w, c);
        break;
    case FLOW_LAYER_SPLIT:
        split_inverse(y, z + l->dout, f->cfg.d, x, B, l->h, l->w, c);
        break;
    }
}

/* log N(z; 0, I) + logdet per row, in double. */
static void base_logp(const float *z, const double *logdet, double *logp, int B, int d) {
    double c = 0.5 * d * log(2.0 * M_PI);
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += (double)z[(long)r * d + j] * z[(long)r * d + j];
        logp[r] = -0.5 * ss - c + logdet[r];
    }
}

/* The last layer's output (B, dz) into columns [0, dz) of the full z (B, d), whose
 * other columns the splits have filled. */
static void place_active(const float *a, float *z, int B, int dz, int d) {
    for (int r = 0; r < B; r++)
        memcpy(z + (long)r * d, a + (long)r * dz, sizeof(float) * (size_t)dz);
}

/* x (B,d), B <= max_batch -> w->acts (every layer's input, then the last output) and
 * w->logp; returns z (B,d): the last output, or w->zt for a multi-scale flow. */
static const float *forward_train(Flow *f, const float *x, int B, FlowWork *w, Pass pass) {
    int d = f->cfg.d, L = f->nlayers, dz = out_width(f);
    memcpy(w->acts[0], x, sizeof(float) * (size_t)B * d);
    for (int r = 0; r < B; r++) w->logdet[r] = 0.0;
    for (int i = 0; i < L; i++)
        layer_forward(f, i, w->acts[i], w->acts[i + 1], w->logdet, B, layer_buf(f, i, w, 1), pass);
    const float *z = w->acts[L];
    if (dz != d) {
        place_active(w->acts[L], w->zt, B, dz, d);
        z = w->zt;
    }
    base_logp(z, w->logdet, w->logp, B, d);
    return z;
}

/* x (B,d), B <= eval_rows -> z (returned: one of the ping-pong buffers, or w->ev_z for
 * a multi-scale flow) and w->logdet. */
static const float *forward_eval(const Flow *f, const float *x, int B, FlowWork *w) {
    const float *in = x;
    float *out = w->ev_a;
    Pass eval = {0, 0, 0, 0};
    for (int r = 0; r < B; r++) w->logdet[r] = 0.0;
    for (int i = 0; i < f->nlayers; i++) {
        /* train = 0: evaluation never changes the flow, so the cast is safe */
        layer_forward((Flow *)f, i, in, out, w->logdet, B, layer_buf(f, i, w, 0), eval);
        in = out;
        out = out == w->ev_a ? w->ev_b : w->ev_a;
    }
    if (out_width(f) != f->cfg.d) {
        place_active(in, w->ev_z, B, out_width(f), f->cfg.d);
        return w->ev_z;
    }
    return in;
}

void flow_log_prob(const Flow *f, const float *x, double *logp, int B, FlowWork *w) {
    int d = f->cfg.d;
    for (int r0 = 0; r0 < B; r0 += w->eval_rows) {
        int n = B - r0 < w->eval_rows ? B - r0 : w->eval_rows;
        const float *z = forward_eval(f, x + (long)r0 * d, n, w);
        base_logp(z, w->logdet, logp + r0, n, d);
    }
}

void flow_forward(const Flow *f, const float *x, float *z, double *logdet, int B, FlowWork *w) {
    int d = f->cfg.d;
    for (int r0 = 0; r0 < B; r0 += w->eval_rows) {
        int n = B - r0 < w->eval_rows ? B - r0 : w->eval_rows;
        const float *zz = forward_eval(f, x + (long)r0 * d, n, w);
        memcpy(z + (long)r0 * d, zz, sizeof(float) * (size_t)n * d);
        memcpy(logdet + r0, w->logdet, sizeof(double) * (size_t)n);
    }
}

int flow_init_actnorm(Flow *f, const float *x, int n, FlowWork *w) {
    int last = -1; /* the last ActNorm still to initialise: no layer after it runs */
    for (int i = 0; i < f->nlayers; i++)
        if (f->layers[i].kind == FLOW_LAYER_ACTNORM && f->state[f->layers[i].soff] == 0.0f)
            last = i;
    if (last < 0 || n < 1) return 0;
    size_t size = sizeof(float) * (size_t)n * (size_t)f->cfg.d;
    float *in = malloc(size), *out = malloc(size);
    if (!in || !out) {
        free(in), free(out);
        return -1;
    }
    memcpy(in, x, size);
    Pass init = {0, 0, 0, 1};
    for (int i = 0; i <= last; i++) {
        const FlowLayer *l = &f->layers[i];
        float *s = f->state + l->soff;
        if (l->kind == FLOW_LAYER_ACTNORM && s[0] == 0.0f) {
            actnorm_init_from_data(f->params + l->poff, in, (int)((long)n * l->h * l->w), l->ch);
            s[0] = 1.0f;
        }
        if (i == last) break;
        for (int r0 = 0; r0 < n; r0 += w->eval_rows) {
            int m = n - r0 < w->eval_rows ? n - r0 : w->eval_rows;
            for (int r = 0; r < m; r++) w->logdet[r] = 0.0;
            layer_forward(f, i, in + (long)r0 * l->din, out + (long)r0 * l->dout, w->logdet, m,
                          layer_buf(f, i, w, 0), init);
        }
        float *t = in;
        in = out, out = t;
    }
    free(in), free(out);
    return 0;
}

double flow_loss_grad_input(Flow *f, const float *x, int B, float *grad, float *dx, FlowWork *w,
                            uint64_t seed, uint64_t step) {
    int d = f->cfg.d, L = f->nlayers, dz = out_width(f);
    Pass pass = {1, seed, step, 0};
    const float *z = forward_train(f, x, B, w, pass);
    double loss = 0.0;
    for (int r = 0; r < B; r++) loss -= w->logp[r];
    loss /= B;
    /* L = -(1/B) Σ_r [log N(z_r) + logdet_r]:  dL/dz = z/B,  dL/dlogdet_r = -1/B. */
    float inv_b = 1.0f / (float)B;
    if (dz == d) {
        for (long i = 0; i < (long)B * d; i++) w->dy[i] = z[i] * inv_b;
    } else {
        /* z is w->zt: it becomes dL/dz, whose factored columns the splits read back */
        for (long i = 0; i < (long)B * d; i++) w->zt[i] *= inv_b;
        for (int r = 0; r < B; r++)
            memcpy(w->dy + (long)r * dz, w->zt + (long)r * d, sizeof(float) * (size_t)dz);
    }
    for (int i = L - 1; i >= 0; i--) {
        layer_backward(f, i, w->acts[i], w->dy, -inv_b, w->dx, grad, B, w, pass);
        float *t = w->dy;
        w->dy = w->dx, w->dx = t;
    }
    if (dx) memcpy(dx, w->dy, sizeof(float) * (size_t)B * d);
    return loss;
}

double flow_loss_grad(Flow *f, const float *x, int B, float *grad, FlowWork *w, uint64_t seed,
                      uint64_t step) {
    return flow_loss_grad_input(f, x, B, grad, NULL, w, seed, step);
}

void flow_inverse(const Flow *f, const float *z, float *x, int B, FlowWork *w) {
    int d = f->cfg.d, L = f->nlayers, dz = out_width(f);
    for (int r0 = 0; r0 < B; r0 += w->eval_rows) {
        int n = B - r0 < w->eval_rows ? B - r0 : w->eval_rows;
        const float *zc = z + (long)r0 * d; /* read until the chunk's x is written */
        float *in = w->ev_a, *out = w->ev_b;
        for (int r = 0; r < n; r++)
            memcpy(in + (long)r * dz, zc + (long)r * d, sizeof(float) * (size_t)dz);
        for (int i = L - 1; i >= 0; i--) {
            layer_inverse(f, i, in, out, n, w, zc);
            float *t = in;
            in = out, out = t;
        }
        memcpy(x + (long)r0 * d, in, sizeof(float) * (size_t)n * d);
    }
}

/* The chain index of image coupling k, or -1. */
static int coupling_layer(const Flow *f, int k) {
    for (int i = 0; i < f->nlayers; i++)
        if (f->layers[i].kind == FLOW_LAYER_CONV_COUPLING && k-- == 0) return i;
    return -1;
}

int flow_couplings(const Flow *f) {
    int n = 0;
    for (int i = 0; i < f->nlayers; i++) n += f->layers[i].kind == FLOW_LAYER_CONV_COUPLING;
    return n;
}

void flow_coupling_shape(const Flow *f, int k, int *h, int *w, int *ch) {
    int i = coupling_layer(f, k);
    const FlowLayer *l = &f->layers[i < 0 ? 0 : i];
    *h = i < 0 ? 0 : l->h, *w = i < 0 ? 0 : l->w, *ch = i < 0 ? 0 : l->ch;
}

/* forward_eval over one row, stopping at each coupling to copy its input and read
 * its s and t from the evaluation scratch it has just filled. */
void flow_coupling_trace(const Flow *f, const float *x, float *const *in, float *const *s,
                         float *const *t, FlowWork *w) {
    const float *a = x;
    float *out = w->ev_a;
    Pass eval = {0, 0, 0, 0};
    w->logdet[0] = 0.0;
    for (int i = 0, k = 0; i < f->nlayers; i++) {
        const FlowLayer *l = &f->layers[i];
        LayerBuf b = layer_buf(f, i, w, 0);
        if (l->kind == FLOW_LAYER_CONV_COUPLING) memcpy(in[k], a, sizeof(float) * (size_t)l->din);
        layer_forward((Flow *)f, i, a, out, w->logdet, 1, b, eval);
        if (l->kind == FLOW_LAYER_CONV_COUPLING) {
            conv_coupling_st(&l->cc, b.saved, s[k], t[k], 1);
            k++;
        }
        a = out;
        out = out == w->ev_a ? w->ev_b : w->ev_a;
    }
}

void flow_sample(const Flow *f, float *x, int n, uint64_t seed, FlowWork *w) {
    rng_fill_normal(x, (long)n * f->cfg.d, 0.0f, 1.0f, seed, FLOW_STREAM_SAMPLE, 0);
    flow_inverse(f, x, x, n, w);
}
