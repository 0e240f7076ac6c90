/* flow.c — see flow.h. A flow is a chain of layers (FlowLayer) built from its
 * config by flow_build, the one place that knows what a block of each arch is; the
 * passes over the chain (forward, backward, inverse, evaluation) are flow_pass.c.
 * A new layer kind is one case in flow_build's add_layer and flow_flops here, and
 * one in each pass's switch there. */
#include "flows/flow.h"

#include "flows/actnorm.h"
#include "flows/invlinear.h"
#include "flows/resblock.h"

#include <stdlib.h>
#include <string.h>

const char *flow_arch_name(FlowArch arch) {
    switch (arch) {
    case FLOW_REALNVP:
        return "realnvp";
    case FLOW_GLOW:
        return "glow";
    case FLOW_RESFLOW:
        return "resflow";
    }
    return "?";
}

int flow_arch_parse(const char *name, FlowArch *arch) {
    static const FlowArch all[] = {FLOW_REALNVP, FLOW_GLOW, FLOW_RESFLOW};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, flow_arch_name(all[i])) == 0) {
            *arch = all[i];
            return 0;
        }
    return -1;
}

FlowConfig flow_config_default(FlowArch arch, int d) {
    FlowConfig c = {arch,
                    d,
                    10,
                    2048,
                    0,
                    0.97f,
                    0,
                    0,
                    0,
                    0,
                    FLOW_MASK_CHECKERBOARD,
                    0,
                    FLOW_LINEAR_ROTATION,
                    CONV_IM2COL};
    return c;
}

FlowConfig flow_config_image(FlowArch arch, int c, int h, int w) {
    FlowConfig f = flow_config_default(arch, c * h * w);
    f.blocks = 8, f.hidden = 64;
    f.img_c = c, f.img_h = h, f.img_w = w;
    return f;
}

int flow_config_is_image(const FlowConfig *cfg) {
    return cfg->img_c != 0 || cfg->img_h != 0 || cfg->img_w != 0;
}

/* Appends one layer of the given kind on an h×w×ch input (1×1×d for vectors),
 * computing its sizes; index is a coupling's parity or mask index. -1 when the layer
 * cannot be built on that shape (an image mask that cannot split it). */
static int add_layer(FlowLayer *ls, int *n, FlowLayerKind kind, const FlowConfig *cfg, int index,
                     int h, int w, int ch, long *np, long *ns) {
    FlowLayer l;
    memset(&l, 0, sizeof l);
    long hw = (long)h * w;
    int d = (int)(hw * ch);
    l.kind = kind;
    l.h = h, l.w = w, l.ch = ch;
    l.din = l.dout = d;
    switch (kind) {
    case FLOW_LAYER_ACTNORM: /* per channel: on images, every pixel is a row of ch values */
        l.np = actnorm_nparams(ch);
        l.ns = 1; /* the "initialised" flag */
        break;
    case FLOW_LAYER_INVLINEAR: /* on images, the invertible 1×1 convolution (Glow §3.2) */
        l.np = invlinear_nparams(ch);
        l.ns = invlinear_nstate(ch);
        l.saved_row = d;              /* a = (P x)·Uᵀ, per pixel */
        l.saved_once = (long)ch * ch; /* the packed factors T */
        l.scratch_row = 0;
        /* backward's 2·ch·ch: vectors get it from flow_work_create's minimum */
        l.scratch_once = hw > 1 ? 2L * ch * ch : 0;
        break;
    case FLOW_LAYER_COUPLING:
        l.c = coupling_make(d, cfg->hidden, cfg->bottleneck, index);
        l.np = coupling_nparams(&l.c);
        l.saved_row = coupling_nsaved(&l.c);
        l.scratch_row = coupling_nscratch(&l.c);
        break;
    case FLOW_LAYER_RESBLOCK:
        l.rb = (ResBlock){d, cfg->hidden, cfg->lipschitz};
        l.np = resblock_nparams(&l.rb);
        l.ns = resblock_nstate(&l.rb);
        /* both sizes are affine in the batch: a per-row part and a constant */
        l.saved_row = resblock_acts_floats(&l.rb, 1);
        l.scratch_once = resblock_scratch_floats(&l.rb, 0);
        l.scratch_row = resblock_scratch_floats(&l.rb, 1) - l.scratch_once;
        break;
    case FLOW_LAYER_CONV_COUPLING:
        if (conv_coupling_make(&l.cc, h, w, ch, cfg->hidden, cfg->bottleneck, cfg->mask, index))
            return -1;
        l.cc.conv = cfg->conv;
        l.np = conv_coupling_nparams(&l.cc);
        l.saved_row = conv_coupling_nsaved(&l.cc);
        l.scratch_once = conv_coupling_nscratch(&l.cc, 0); /* affine in the batch */
        l.scratch_row = conv_coupling_nscratch(&l.cc, 1) - l.scratch_once;
        break;
    case FLOW_LAYER_SQUEEZE:
        if (h % 2 != 0 || w % 2 != 0) return -1;
        break;
    case FLOW_LAYER_SPLIT:
        if (ch % 2 != 0) return -1;
        l.dout = d / 2;
        break;
    }
    l.poff = *np, l.soff = *ns;
    *np += l.np, *ns += l.ns;
    if (ls) ls[*n] = l;
    (*n)++;
    return 0;
}

/* Widths beyond these are refused, so that every size below fits in a long: a layer
 * has at most ~6 * 2^24 * 2^24 < 2^53 parameters, and building stops once the total
 * passes FLOW_MAX_PARAMS (2^40 floats, 4 TiB: no machine holds such a flow). */
enum { FLOW_MAX_WIDTH = 1 << 24, FLOW_MAX_BLOCKS = 100000 };
static const long FLOW_MAX_PARAMS = 1L << 40;

/* The image chain (see flow.h): k = squeeze levels of [squeeze, blocks, split], then
 * blocks on what is left; a block is a conv coupling, after ActNorm and the 1×1
 * convolution for glow. Couplings are numbered from 0 within each scale, so masks
 * alternate (and the cycle mask's stripes advance) the same way at every scale.
 * The squeeze comes first in a level, as in Glow §3, so that a one-channel image
 * has channels to split by the time a channel-masked coupling sees it. */
static int build_image(const FlowConfig *cfg, FlowLayer *ls, int *n, long *np, long *ns) {
    int h = cfg->img_h, w = cfg->img_w, c = cfg->img_c, k = cfg->squeeze;
    if (h < 1 || w < 1 || c < 1 || (long)h * w * c != cfg->d || k < 0 || k > 30) return -1;
    if (cfg->arch != FLOW_REALNVP && cfg->arch != FLOW_GLOW) return -1;
    /* the bottleneck's Linear layers take a whole feature map as one int-sized row */
    if (cfg->bottleneck > 0 && (long)cfg->hidden * h * w > FLOW_MAX_WIDTH) return -1;
    for (int level = 0; level <= k; level++) {
        if (level < k) {
            if (add_layer(ls, n, FLOW_LAYER_SQUEEZE, cfg, 0, h, w, c, np, ns)) return -1;
            h /= 2, w /= 2, c *= 4;
        }
        for (int b = 0; b < cfg->blocks && *np <= FLOW_MAX_PARAMS; b++) {
            if (cfg->arch == FLOW_GLOW) {
                add_layer(ls, n, FLOW_LAYER_ACTNORM, cfg, 0, h, w, c, np, ns);
                add_layer(ls, n, FLOW_LAYER_INVLINEAR, cfg, 0, h, w, c, np, ns);
            }
            if (add_layer(ls, n, FLOW_LAYER_CONV_COUPLING, cfg, b, h, w, c, np, ns)) return -1;
        }
        if (level < k) {
            if (add_layer(ls, n, FLOW_LAYER_SPLIT, cfg, 0, h, w, c, np, ns)) return -1;
            c /= 2;
        }
    }
    return *np <= FLOW_MAX_PARAMS ? 0 : -1;
}

/* The chain of layers of cfg into ls (NULL: count and sizes only); -1 if cfg is
 * invalid, too large or its arch is not available. */
static int flow_build(const FlowConfig *cfg, FlowLayer *ls, int *n, long *np, long *ns) {
    if (cfg->d < 2 || cfg->blocks < 1 || cfg->hidden < 1 || cfg->bottleneck < 0 ||
        cfg->d > FLOW_MAX_WIDTH || cfg->hidden > FLOW_MAX_WIDTH ||
        cfg->bottleneck > FLOW_MAX_WIDTH || cfg->blocks > FLOW_MAX_BLOCKS ||
        (unsigned)cfg->mask > FLOW_MASK_CHANNEL ||
        (unsigned)cfg->linear_init > FLOW_LINEAR_PERMUTATION || (unsigned)cfg->conv > CONV_ONEDNN)
        return -1;
    *n = 0, *np = 0, *ns = 0;
    if (flow_config_is_image(cfg)) return build_image(cfg, ls, n, np, ns);
    if (cfg->squeeze != 0 || cfg->conv != CONV_IM2COL) return -1;
    int d = cfg->d;
    for (int k = 0; k < cfg->blocks && *np <= FLOW_MAX_PARAMS; k++) {
        switch (cfg->arch) {
        case FLOW_REALNVP:
            add_layer(ls, n, FLOW_LAYER_COUPLING, cfg, k % 2, 1, 1, d, np, ns);
            break;
        case FLOW_GLOW:
            add_layer(ls, n, FLOW_LAYER_ACTNORM, cfg, 0, 1, 1, d, np, ns);
            add_layer(ls, n, FLOW_LAYER_INVLINEAR, cfg, 0, 1, 1, d, np, ns);
            add_layer(ls, n, FLOW_LAYER_COUPLING, cfg, k % 2, 1, 1, d, np, ns);
            break;
        case FLOW_RESFLOW:
            if (!(cfg->lipschitz > 0.0f && cfg->lipschitz < 1.0f)) return -1;
            if (cfg->eval_terms < 0 || cfg->eval_terms > LOGDET_MAX_TERMS) return -1;
            add_layer(ls, n, FLOW_LAYER_ACTNORM, cfg, 0, 1, 1, d, np, ns);
            add_layer(ls, n, FLOW_LAYER_RESBLOCK, cfg, 0, 1, 1, d, np, ns);
            break;
        default:
            return -1;
        }
    }
    return *np <= FLOW_MAX_PARAMS ? 0 : -1;
}

/* The layers of cfg in a new array (*n of them), or NULL when cfg is invalid or
 * memory runs out. */
static FlowLayer *build_layers(const FlowConfig *cfg, int *n, long *np, long *ns) {
    if (flow_build(cfg, NULL, n, np, ns) != 0) return NULL;
    FlowLayer *ls = malloc(sizeof(FlowLayer) * (size_t)(*n > 0 ? *n : 1));
    if (ls && flow_build(cfg, ls, n, np, ns) == 0) return ls;
    free(ls);
    return NULL;
}

int flow_size(const FlowConfig *cfg, long *nparams, long *nstate) {
    int n;
    return flow_build(cfg, NULL, &n, nparams, nstate);
}

int flow_create(Flow *f, const FlowConfig *cfg, uint64_t seed) {
    memset(f, 0, sizeof *f);
    int n;
    long np, ns;
    FlowLayer *ls = build_layers(cfg, &n, &np, &ns);
    if (!ls) {
        free(ls);
        return -1;
    }
    f->cfg = *cfg;
    f->layers = ls, f->nlayers = n;
    f->nparams = np, f->nstate = ns;
    f->params = calloc((size_t)np, sizeof(float));
    f->state = calloc((size_t)(ns > 0 ? ns : 1), sizeof(float));
    if (!f->params || !f->state) {
        flow_destroy(f);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const FlowLayer *l = &ls[i];
        float *p = f->params + l->poff, *s = f->state + l->soff;
        uint64_t stream = 16u * (uint64_t)i; /* each layer owns streams 16i .. 16i+15 */
        switch (l->kind) {
        case FLOW_LAYER_ACTNORM:
            actnorm_init(p, l->ch), s[0] = 0.0f;
            break;
        case FLOW_LAYER_INVLINEAR:
            if (cfg->linear_init == FLOW_LINEAR_PERMUTATION) {
                invlinear_init_permutation(p, s, l->ch, seed, stream);
            } else if (invlinear_init_rotation(p, s, l->ch, seed, stream) != 0) {
                flow_destroy(f);
                return -1;
            }
            break;
        case FLOW_LAYER_COUPLING:
            coupling_init(&l->c, p, seed, stream);
            break;
        case FLOW_LAYER_RESBLOCK:
            resblock_init(&l->rb, p, s, seed, stream);
            break;
        case FLOW_LAYER_CONV_COUPLING:
            conv_coupling_init(&l->cc, p, seed, stream);
            break;
        case FLOW_LAYER_SQUEEZE:
        case FLOW_LAYER_SPLIT:
            break; /* permutations: nothing to initialise */
        }
    }
    return 0;
}

void flow_destroy(Flow *f) {
    free(f->params), free(f->state), free(f->layers);
    memset(f, 0, sizeof *f);
}

double flow_flops(const FlowConfig *cfg, int B, int train) {
    int n = 0;
    long np, ns;
    FlowLayer *ls = build_layers(cfg, &n, &np, &ns);
    double flops = 0.0, train_flops = 0.0;
    if (ls)
        for (int i = 0; i < n; i++) switch (ls[i].kind) {
            case FLOW_LAYER_ACTNORM:
            case FLOW_LAYER_SQUEEZE:
            case FLOW_LAYER_SPLIT:
                break; /* elementwise or data movement, not counted */
            case FLOW_LAYER_INVLINEAR: {
                /* two triangular products, B·c²/2 MACs each, per pixel (c = d for vectors) */
                double px = (double)B * ls[i].h * ls[i].w, c = ls[i].ch;
                flops += 2.0 * px * c * c;
                train_flops += 3 * 2.0 * px * c * c;
                break;
            }
            case FLOW_LAYER_CONV_COUPLING:
                flops += conv_coupling_flops(&ls[i].cc, B);
                train_flops += 3 * conv_coupling_flops(&ls[i].cc, B);
                break;
            case FLOW_LAYER_COUPLING:
                flops += coupling_flops(&ls[i].c, B);
                train_flops += 3 * coupling_flops(&ls[i].c, B);
                break;
            case FLOW_LAYER_RESBLOCK: {
                /* One pass through the MLP: F = 2·(2hd + h²) per row. Evaluation adds
                 * the exact log-det, J = Ŵ3·D2·Ŵ2·D1·Ŵ1 (2dh² + 2d²h) and its LU (2d³/3),
                 * or in the series mode one vector-Jacobian product (F) per term and probe.
                 * Training: forward F, E[N] = 3 vector-Jacobian products 3F, backward
                 * with the log-det's tangent path 4F + 2h². */
                double d = cfg->d, h = cfg->hidden, F = 2.0 * (2 * h * d + h * h);
                double ld = cfg->eval_terms > 0
                                ? (double)FLOW_EVAL_PROBES * cfg->eval_terms * F
                                : 2 * d * h * h + 2 * d * d * h + 2.0 / 3.0 * d * d * d;
                flops += B * (F + ld);
                train_flops += B * (8 * F + 2 * h * h);
                break;
            }
            }
    free(ls);
    return train ? train_flops : flops;
}
