/* coupling.c — see coupling.h. The net's products are linear.h's GEMMs; the affine
 * part is elementwise over rows (independent, so parallel without changing bits). */
#include "flows/coupling.h"

#include "flows/linear.h"
#include "flows/relu.h"
#include "flows/zero_net.h"

#include <math.h>
#include <string.h>

Coupling coupling_make(int d, int hidden, int bottleneck, int parity) {
    Coupling c = {d, hidden, bottleneck, 0, 0, 0, 0};
    if (parity == 0) {
        c.cond_off = 0, c.cond_n = d / 2, c.tr_off = d / 2, c.tr_n = d - d / 2;
    } else {
        c.tr_off = 0, c.tr_n = d / 2, c.cond_off = d / 2, c.cond_n = d - d / 2;
    }
    return c;
}

/* Parameter offsets of the net's layers: first, bottleneck down/up (if any), last. */
typedef struct {
    long first, down, up, last, total;
} Offsets;

static Offsets offsets(const Coupling *c) {
    Offsets o;
    int h = c->hidden, l = c->bottleneck;
    o.first = 0;
    o.down = o.first + linear_nparams(c->cond_n, h);
    o.up = o.down + (l > 0 ? linear_nparams(h, l) : 0);
    o.last = o.up + (l > 0 ? linear_nparams(l, h) : 0);
    o.total = o.last + linear_nparams(h, 2 * c->tr_n);
    return o;
}

long coupling_nparams(const Coupling *c) {
    return offsets(c).total;
}

/* Saved activations for a batch of B rows, each (B, width): xc, h1, [m, h2,] st. */
typedef struct {
    float *xc, *h1, *m, *h2, *st;
} Saved;

static Saved saved_view(const Coupling *c, float *base, int B) {
    Saved s;
    int l = c->bottleneck;
    s.xc = base;
    s.h1 = s.xc + (long)B * c->cond_n;
    s.m = s.h1 + (long)B * c->hidden;
    s.h2 = s.m + (long)B * (l > 0 ? l : 0);
    s.st = s.h2 + (long)B * (l > 0 ? c->hidden : 0);
    return s;
}

long coupling_nsaved(const Coupling *c) {
    int l = c->bottleneck > 0 ? c->bottleneck : 0;
    return c->cond_n + c->hidden + l + (l > 0 ? c->hidden : 0) + 2L * c->tr_n;
}

long coupling_nscratch(const Coupling *c) {
    return coupling_nsaved(c);
}

void coupling_init(const Coupling *c, float *params, uint64_t seed, uint64_t stream) {
    Offsets o = offsets(c);
    int h = c->hidden, l = c->bottleneck;
    linear_init(params + o.first, c->cond_n, h, seed, stream);
    if (l > 0) {
        linear_init(params + o.down, h, l, seed, stream + 1);
        linear_init(params + o.up, l, h, seed, stream + 2);
    }
    memset(params + o.last, 0, sizeof(float) * (size_t)(o.total - o.last));
}

/* x (B,d) -> st (B, 2·tr_n) through the net, keeping its activations in s. */
static void net_forward(const Coupling *c, const float *params, const float *x, Saved s, int B) {
    Offsets o = offsets(c);
    int h = c->hidden, l = c->bottleneck;
    for (int r = 0; r < B; r++)
        memcpy(s.xc + (long)r * c->cond_n, x + (long)r * c->d + c->cond_off,
               sizeof(float) * (size_t)c->cond_n);
    linear_forward(params + o.first, s.xc, s.h1, B, c->cond_n, h);
    relu_forward(s.h1, s.h1, (long)B * h);
    const float *top = s.h1;
    if (l > 0) {
        linear_forward(params + o.down, s.h1, s.m, B, h, l);
        linear_forward(params + o.up, s.m, s.h2, B, l, h);
        relu_forward(s.h2, s.h2, (long)B * h);
        top = s.h2;
    }
    linear_forward(params + o.last, top, s.st, B, h, 2 * c->tr_n);
}

/* The soft clamp s = 2·tanh(raw/2). */
static float clamp_scale(float raw) {
    return 2.0f * tanhf(0.5f * raw);
}

/* y_t = x_t ⊙ exp(s) + t from st (B, 2·tr_n) = (raw_s, t); logdet[B] += Σ s. */
static void affine_forward(const Coupling *c, const float *st_all, const float *x, float *y,
                           double *logdet, int B) {
    int d = c->d, n = c->tr_n;
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *xr = x + (long)r * d, *st = st_all + (long)r * 2 * n;
        float *yr = y + (long)r * d;
        memcpy(yr + c->cond_off, xr + c->cond_off, sizeof(float) * (size_t)c->cond_n);
        double ld = 0.0;
        for (int j = 0; j < n; j++) {
            float sc = clamp_scale(st[j]);
            yr[c->tr_off + j] = xr[c->tr_off + j] * expf(sc) + st[n + j];
            ld += sc;
        }
        logdet[r] += ld;
    }
}

void coupling_forward(const Coupling *c, const float *params, const float *x, float *y,
                      double *logdet, float *saved, int B) {
    Saved s = saved_view(c, saved, B);
    net_forward(c, params, x, s, B);
    affine_forward(c, s.st, x, y, logdet, B);
}

/* Whether NN(x_c) is exactly +0 on every row of x (zero_net.h): the last layer is all
 * +0, and the hidden activations are bounded, so finite, from max |x_c| through
 * each layer. */
static int net_is_zero(const Coupling *c, const float *params, const float *x, int B) {
    Offsets o = offsets(c);
    int h = c->hidden, l = c->bottleneck;
    if (!zero_net_all_zero(params + o.last, o.total - o.last)) return 0;
    double in = 0.0;
    for (int r = 0; r < B; r++) {
        double m = zero_net_abs_max(x + (long)r * c->d + c->cond_off, c->cond_n);
        if (m > in) in = m;
    }
    const float *p = params + o.first;
    double bound =
        zero_net_layer_bound(in, p, (long)h * c->cond_n, p + (long)h * c->cond_n, h, c->cond_n);
    if (l > 0) {
        p = params + o.down;
        bound = zero_net_layer_bound(bound, p, (long)l * h, p + (long)l * h, l, h);
        p = params + o.up;
        bound = zero_net_layer_bound(bound, p, (long)h * l, p + (long)h * l, h, l);
    }
    return bound < ZERO_NET_FINITE_BOUND;
}

void coupling_forward_eval(const Coupling *c, const float *params, const float *x, float *y,
                           double *logdet, float *saved, int B) {
    if (!net_is_zero(c, params, x, B)) {
        coupling_forward(c, params, x, y, logdet, saved, B);
        return;
    }
    Saved s = saved_view(c, saved, B);
    memset(s.st, 0, sizeof(float) * (size_t)B * 2 * c->tr_n); /* NN(x_c) = +0 */
    affine_forward(c, s.st, x, y, logdet, B);
}

void coupling_backward(const Coupling *c, const float *params, const float *x, const float *saved,
                       const float *dy, float dlogdet, float *dx, float *dparams, float *scratch,
                       int B) {
    Offsets o = offsets(c);
    Saved s = saved_view(c, (float *)saved, B);
    Saved g = saved_view(c, scratch, B); /* gradients, same shapes as the activations */
    int d = c->d, n = c->tr_n, h = c->hidden, l = c->bottleneck;
    /* y_t = x_t·e^s + t:  ∂/∂x_t = e^s,  ∂/∂s = x_t·e^s (+ 1 from the log-det),
     * ∂/∂t = 1,  ds/draw = 1 - tanh²(raw/2) = 1 - (s/2)². */
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *xr = x + (long)r * d, *dyr = dy + (long)r * d, *st = s.st + (long)r * 2 * n;
        float *dxr = dx + (long)r * d, *dst = g.st + (long)r * 2 * n;
        memcpy(dxr + c->cond_off, dyr + c->cond_off, sizeof(float) * (size_t)c->cond_n);
        for (int j = 0; j < n; j++) {
            float sc = clamp_scale(st[j]), e = expf(sc), dyt = dyr[c->tr_off + j];
            dxr[c->tr_off + j] = dyt * e;
            dst[j] = (dyt * xr[c->tr_off + j] * e + dlogdet) * (1.0f - 0.25f * sc * sc);
            dst[n + j] = dyt;
        }
    }
    const float *top = l > 0 ? s.h2 : s.h1;
    float *dtop = l > 0 ? g.h2 : g.h1;
    linear_backward(params + o.last, top, g.st, dtop, dparams + o.last, 0, B, h, 2 * n);
    if (l > 0) {
        relu_backward(s.h2, g.h2, g.h2, (long)B * h);
        linear_backward(params + o.up, s.m, g.h2, g.m, dparams + o.up, 0, B, l, h);
        linear_backward(params + o.down, s.h1, g.m, g.h1, dparams + o.down, 0, B, h, l);
    }
    relu_backward(s.h1, g.h1, g.h1, (long)B * h);
    linear_backward(params + o.first, s.xc, g.h1, g.xc, dparams + o.first, 0, B, c->cond_n, h);
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++)
        for (int j = 0; j < c->cond_n; j++)
            dx[(long)r * d + c->cond_off + j] += g.xc[(long)r * c->cond_n + j];
}

void coupling_inverse(const Coupling *c, const float *params, const float *y, float *x,
                      float *saved, int B) {
    Saved s = saved_view(c, saved, B);
    net_forward(c, params, y, s, B); /* y_c = x_c, so the net sees the same input */
    int d = c->d, n = c->tr_n;
#pragma omp parallel for schedule(static) if ((long)B * d > 8192)
    for (int r = 0; r < B; r++) {
        const float *yr = y + (long)r * d, *st = s.st + (long)r * 2 * n;
        float *xr = x + (long)r * d;
        memcpy(xr + c->cond_off, yr + c->cond_off, sizeof(float) * (size_t)c->cond_n);
        for (int j = 0; j < n; j++)
            xr[c->tr_off + j] = (yr[c->tr_off + j] - st[n + j]) * expf(-clamp_scale(st[j]));
    }
}

double coupling_flops(const Coupling *c, int B) {
    double h = c->hidden, l = c->bottleneck > 0 ? c->bottleneck : 0;
    return 2.0 * B * (c->cond_n * h + 2.0 * h * l + h * 2.0 * c->tr_n);
}
