/* params.c — the parameter table, value parsing and validation (canonical JSON:
 * paramjson.c). */
#include "config/params.h"

#include "config/keyerror.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const flow_archs[] = {"realnvp", "glow", "resflow", NULL};
static const char *const flow_masks[] = {"checkerboard", "horizontal", "cycle", "channel", NULL};
/* In FlowLinearInit's order (flows/flow.h). */
static const char *const flow_linear_inits[] = {"rotation", "permutation", NULL};
static const char *const backbone_archs[] = {"cnn", "mlp", NULL};
/* In ConvImpl's order (flows/conv2d_onednn.h). */
static const char *const conv_impls[] = {"im2col", "onednn", NULL};
static const char *const ood_sets[] = {"digits", "gaussian", "uniform", "vflip", "heldout", NULL};

#define OFF(field) offsetof(RunSpec, field)

/* Ranges are what the code can run, not what is sensible: a user may try odd values.
 * Fields left out are 0 / NULL: no lower bound beyond 0, no derived default. */
const Param params[] = {
    {.path = "seed",
     .type = PT_LONG,
     .offset = OFF(seed),
     .dflt = "0",
     .max = 4294967295.0,
     .help = "flow initialisation, batch order and dequantization noise"},
    {.path = "data.features",
     .type = PT_FEATURES,
     .offset = OFF(data.features),
     .dflt = "fashion-mnist",
     .help = "`fashion-mnist` (built-in backbone), `fashion-mnist-pixels` (the images, for a "
             "flow on pixels) or {train, val, ood: {name: path}, head: {W, b}, train_labels, "
             "val_labels} .npy files"},
    {.path = "data.images",
     .type = PT_IMAGES,
     .offset = OFF(data.images),
     .scope = SCOPE_NONE,
     .help = "images for a flow on pixels instead of data.features: {train, val, ood: {name: "
             "path}}, uint8 (N,H,W) or (N,H,W,C), or float in [0,1]"},
    {.path = "data.ood",
     .type = PT_ENUM_LIST,
     .offset = OFF(data.ood),
     .dflt = "[digits, gaussian, uniform, vflip]",
     .max_len = OOD_COUNT,
     .unique = 1,
     .choices = ood_sets,
     .scope = SCOPE_BUILTIN,
     .help = "built-in OOD sets: digits, gaussian, uniform, vflip, heldout"},
    {.path = "data.id_classes",
     .type = PT_INT_LIST,
     .offset = OFF(data.id_classes),
     .dflt = "[]",
     .max = 9,
     .max_len = 9,
     .unique = 1,
     .scope = SCOPE_BUILTIN,
     .help = "Fashion-MNIST classes kept in-distribution ([] = all); `heldout` is the others"},
    {.path = "data.backbone.arch",
     .type = PT_ENUM,
     .offset = OFF(data.backbone.arch),
     .dflt = "cnn",
     .choices = backbone_archs,
     .scope = SCOPE_BACKBONE,
     .help = "built-in classifier: cnn (conv stages + global pooling) or mlp"},
    {.path = "data.backbone.channels",
     .type = PT_INT_LIST,
     .offset = OFF(data.backbone.channels),
     .dflt = "[32, 64, 128, 256]",
     .min = 1,
     .max = 4096,
     .max_len = 8,
     .scope = SCOPE_BACKBONE,
     .help = "widths of the conv stages (mlp: hidden layers); the last is d"},
    {.path = "data.backbone.conv",
     .type = PT_ENUM,
     .offset = OFF(data.backbone.conv),
     .dflt = "im2col",
     .choices = conv_impls,
     .scope = SCOPE_BACKBONE,
     .id_unless_default = 1,
     .help = "cnn conv layers: im2col (+ OpenBLAS GEMM) or onednn (oneDNN's Winograd and "
             "direct kernels, 1.7-2x faster here; other last bits, so other features)"},
    {.path = "data.backbone.epochs",
     .type = PT_INT,
     .offset = OFF(data.backbone.epochs),
     .dflt = "4",
     .min = 1,
     .max = 1000,
     .scope = SCOPE_BACKBONE,
     .help = "backbone training epochs"},
    {.path = "data.backbone.seed",
     .type = PT_LONG,
     .offset = OFF(data.backbone.seed),
     .dflt = "0",
     .max = 4294967295.0,
     .scope = SCOPE_BACKBONE,
     .help = "backbone initialisation and batch order"},
    {.path = "data.backbone.augment",
     .type = PT_BOOL,
     .offset = OFF(data.backbone.augment),
     .dflt = "false",
     .scope = SCOPE_BACKBONE,
     .help = "random shifts and flips while training the backbone"},
    {.path = "data.backbone.batch_size",
     .type = PT_INT,
     .offset = OFF(data.backbone.batch_size),
     .dflt = "128",
     .min = 1,
     .max = 65536,
     .scope = SCOPE_BACKBONE,
     .help = "backbone batch size"},
    {.path = "data.backbone.lr",
     .type = PT_FLOAT,
     .offset = OFF(data.backbone.lr),
     .dflt = "0.001",
     .max = 10,
     .min_open = 1,
     .scope = SCOPE_BACKBONE,
     .help = "backbone Adam learning rate"},
    {.path = "preprocess.normalize",
     .type = PT_BOOL,
     .offset = OFF(preprocess.normalize),
     .dflt = "true",
     .scope = SCOPE_LATENT,
     .help = "divide each latent by its L2 norm (LDE paper 6.3)"},
    {.path = "preprocess.pca",
     .type = PT_INT,
     .offset = OFF(preprocess.pca),
     .dflt = "0",
     .max = 1000000,
     .scope = SCOPE_LATENT,
     .help = "keep the top-k principal components; 0 = off (LDE paper 6.1)"},
    {.path = "preprocess.epsilon",
     .type = PT_FLOAT,
     .offset = OFF(preprocess.epsilon),
     .dflt = "0.0009765625",
     .max = 1,
     .min_open = 1,
     .scope = SCOPE_LATENT,
     .help = "dequantization noise width: U(-eps/2, eps/2) on training batches"},
    {.path = "preprocess.drop_constant",
     .type = PT_BOOL,
     .offset = OFF(preprocess.drop_constant),
     .dflt = "false",
     .scope = SCOPE_LATENT,
     .help = "remove dimensions constant over the training set first"},
    {.path = "preprocess.logit",
     .type = PT_FLOAT,
     .offset = OFF(preprocess.logit),
     .dflt = "0.05",
     .max = 0.49,
     .scope = SCOPE_PIXELS,
     .help = "pixels: alpha of RealNVP's logit transform logit(alpha + (1-2 alpha) x); 0 = none"},
    {.path = "flow.arch",
     .type = PT_ENUM,
     .offset = OFF(flow.arch),
     .dflt = "glow",
     .choices = flow_archs,
     .help = "realnvp, glow or resflow"},
    {.path = "flow.blocks",
     .type = PT_INT,
     .offset = OFF(flow.blocks),
     .dflt = "10",
     .min = 1,
     .max = 1000,
     .help = "number of blocks"},
    {.path = "flow.hidden",
     .type = PT_INT,
     .offset = OFF(flow.hidden),
     .dflt = "2048",
     .min = 1,
     .max = 65536,
     .help = "width of the coupling nets / residual MLPs"},
    {.path = "flow.bottleneck",
     .type = PT_INT,
     .offset = OFF(flow.bottleneck),
     .dflt = "0",
     .max = 65536,
     .help = "0 = none; l inserts Linear(h->l) -> Linear(l->h) (Kirichenko 7)"},
    {.path = "flow.lipschitz",
     .type = PT_FLOAT,
     .offset = OFF(flow.lipschitz),
     .dflt = "0.97",
     .max = 0.999,
     .min_open = 1,
     .help = "resflow: spectral-norm bound of each residual branch (must be < 1)"},
    {.path = "flow.eval_terms",
     .type = PT_INT,
     .offset = OFF(flow.eval_terms),
     .dflt = "0",
     .min = 0,
     .max = 64,
     .help = "resflow evaluation log-det: 0 = exact (LU per sample), n = n-term series "
             "with 2 probes (mean error < 0.01 bpd, tested; 20-30x faster)"},
    {.path = "flow.linear_init",
     .type = PT_ENUM,
     .offset = OFF(flow.linear_init),
     .dflt = "rotation",
     .choices = flow_linear_inits,
     .help = "glow: start of the invertible linears, a random rotation (Glow 3.2) or a random "
             "permutation; other archs ignore it"},
    {.path = "flow.mask",
     .type = PT_ENUM,
     .offset = OFF(flow.mask),
     .dflt = "checkerboard",
     .choices = flow_masks,
     .scope = SCOPE_PIXELS,
     .help = "pixels: coupling masks checkerboard, horizontal, cycle or channel (needs squeeze) "
             "(Kirichenko 6-7)"},
    {.path = "flow.conv",
     .type = PT_ENUM,
     .offset = OFF(flow.conv),
     .dflt = "im2col",
     .choices = conv_impls,
     .scope = SCOPE_PIXELS,
     .id_unless_default = 1,
     .help = "pixels: st-network convs, im2col (+ OpenBLAS GEMM) or onednn (oneDNN's Winograd "
             "and lde's narrow kernel, about 4x faster training here; other last bits)"},
    {.path = "flow.squeeze",
     .type = PT_INT,
     .offset = OFF(flow.squeeze),
     .dflt = "0",
     .max = 4,
     .scope = SCOPE_PIXELS,
     .help = "pixels: multi-scale levels (squeeze 2x2, factor out half the channels); 0 = none"},
    {.path = "train.epochs",
     .type = PT_FLOAT,
     .offset = OFF(train.epochs),
     .dflt = "1",
     .max = 10000,
     .min_open = 1,
     .help = "flow training epochs, fractional allowed"},
    {.path = "train.batch_size",
     .type = PT_INT,
     .offset = OFF(train.batch_size),
     .dflt = "64",
     .min = 1,
     .max = 1 << 20,
     .help = "flow batch size"},
    {.path = "train.lr",
     .type = PT_FLOAT,
     .offset = OFF(train.lr),
     .dflt = "0.0001",
     .max = 10,
     .min_open = 1,
     .help = "Adam learning rate"},
    {.path = "train.weight_decay",
     .type = PT_FLOAT,
     .offset = OFF(train.weight_decay),
     .dflt = "0",
     .max = 10,
     .help = "decoupled weight decay"},
    {.path = "train.clip_grad",
     .type = PT_FLOAT,
     .offset = OFF(train.clip_grad),
     .dflt = "0",
     .max = 1e30,
     .help = "gradient-norm clipping bound; 0 = off"},
    {.path = "train.eval_every",
     .type = PT_FLOAT,
     .offset = OFF(train.eval_every),
     .max = 10000,
     .min_open = 1,
     .word = "log",
     .word_value = EVAL_EVERY_LOG,
     .help = "epochs between evaluations (default: only at the start and the end); `log`: at "
             "0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, ... epochs and the end"},
    {.path = "train.eval_at",
     .type = PT_FLOAT_LIST,
     .offset = OFF(train.eval_at),
     .dflt = "[]",
     .max = 10000,
     .max_len = SPEC_MAX_EPOCHS,
     .id_unless_default = 1,
     .help = "epochs to evaluate at, ascending, instead of every eval_every (0 and the end "
             "are always evaluated)"},
    {.path = "train.eval_train_samples",
     .type = PT_INT,
     .offset = OFF(train.eval_train_samples),
     .dflt = "10000",
     .min = 1,
     .max = 100000000,
     .help = "size of the fixed training subset evaluated"},
    {.path = "train.diverge_bpd",
     .type = PT_FLOAT,
     .offset = OFF(train.diverge_bpd),
     .dflt = "10000",
     .max = 1e300,
     .min_open = 1,
     .help = "mean training bpd beyond which a run is marked diverged"},
};
const int n_params = (int)(sizeof params / sizeof params[0]);

const char *ood_set_name(int set) {
    return set >= 0 && set < OOD_COUNT ? ood_sets[set] : "?";
}

int param_applies(const Param *p, const FeatureSource *fs) {
    switch (p->scope) {
    case SCOPE_ALL:
        return 1;
    case SCOPE_BACKBONE:
        return fs->builtin && !fs->pixels;
    case SCOPE_BUILTIN:
        return fs->builtin;
    case SCOPE_LATENT:
        return !fs->pixels;
    case SCOPE_PIXELS:
        return fs->pixels;
    case SCOPE_NONE:
        return 0;
    }
    return 0;
}

const Param *param_find(const char *path) {
    for (int i = 0; i < n_params; i++)
        if (strcmp(params[i].path, path) == 0) return &params[i];
    return NULL;
}

/* ---- scalars ---- */

static int type_error(const Param *p, const YtNode *n, const char *file, const char *want, Err *e) {
    char got[64];
    return fail(e, LDE_EINPUT, "%s:%d:%d: %s: expected %s, got %s", file, n->line, n->col, p->path,
                want, yt_describe(n, got, sizeof got));
}

static int parse_bool(const Param *p, const YtNode *n, const char *file, long long *out, Err *e) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (n->kind == YT_SCALAR && !n->quoted) {
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(n->str, yes[i]) == 0) return *out = 1, LDE_OK;
            if (strcasecmp(n->str, no[i]) == 0) return *out = 0, LDE_OK;
        }
    }
    return type_error(p, n, file, "true or false", e);
}

/* A plain scalar that is a finite number (decimal, exponent allowed). */
static int scalar_number(const YtNode *n, double *out) {
    if (n->kind != YT_SCALAR || n->quoted || !n->str[0]) return -1;
    const char *s = n->str;
    /* strtod also takes "inf", "nan" and hex: a config number is plain decimal. */
    if (strspn(s, "+-0123456789.eE_") != strlen(s) || strchr(s, '_')) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int range_error(const Param *p, const YtNode *n, const char *file, const char *what,
                       Err *e) {
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.17g", p->min);
    snprintf(hi, sizeof hi, "%.17g", p->max);
    return fail(e, LDE_EINPUT, "%s:%d:%d: %s: %s is out of range; expected %s %s %s and <= %s",
                file, n->line, n->col, p->path, n->str, what, p->min_open ? ">" : ">=", lo, hi);
}

/* Integer-valued number (1e4 is fine, 1.5 is not) within [min, max]. */
static int parse_integer(const Param *p, const YtNode *n, const char *file, long long *out,
                         Err *e) {
    double v;
    if (scalar_number(n, &v) != 0 || v != floor(v)) return type_error(p, n, file, "an integer", e);
    if (v < p->min || v > p->max) return range_error(p, n, file, "an integer", e);
    *out = (long long)v;
    return LDE_OK;
}

static int parse_float(const Param *p, const YtNode *n, const char *file, double *out, Err *e) {
    double v;
    if (p->word && n->kind == YT_SCALAR && !n->quoted && strcmp(n->str, p->word) == 0)
        return *out = p->word_value, LDE_OK;
    if (scalar_number(n, &v) != 0) {
        char want[64];
        snprintf(want, sizeof want, "a number%s%s", p->word ? " or " : "", p->word ? p->word : "");
        return type_error(p, n, file, want, e);
    }
    if (v < p->min || (p->min_open && v == p->min) || v > p->max)
        return range_error(p, n, file, "a number", e);
    *out = v;
    return LDE_OK;
}

static int parse_choice(const Param *p, const YtNode *n, const char *file, long long *out, Err *e) {
    char want[160] = "one of:";
    int k = 0;
    for (; p->choices[k]; k++) {
        if (n->kind == YT_SCALAR && strcmp(n->str, p->choices[k]) == 0) return *out = k, LDE_OK;
        size_t l = strlen(want);
        snprintf(want + l, sizeof want - l, " %s", p->choices[k]);
    }
    if (n->kind == YT_SCALAR && !yt_is_null(n)) {
        const char *near = nearest_name(n->str, p->choices, k);
        if (near)
            return fail(e, LDE_EINPUT, "%s:%d:%d: %s: unknown value `%s` — did you mean `%s`?",
                        file, n->line, n->col, p->path, n->str, near);
        return fail(e, LDE_EINPUT, "%s:%d:%d: %s: unknown value `%s`; expected %s", file, n->line,
                    n->col, p->path, n->str, want);
    }
    return type_error(p, n, file, want, e);
}

static int parse_list(const Param *p, const YtNode *n, const char *file, IntList *out, Err *e) {
    if (n->kind != YT_SEQ) return type_error(p, n, file, "a list", e);
    if (n->n > p->max_len)
        return fail(e, LDE_EINPUT, "%s:%d:%d: %s: %d items; at most %d", file, n->line, n->col,
                    p->path, n->n, p->max_len);
    out->n = n->n;
    for (int i = 0; i < n->n; i++) {
        long long v = 0;
        int rc = p->type == PT_ENUM_LIST ? parse_choice(p, n->vals[i], file, &v, e)
                                         : parse_integer(p, n->vals[i], file, &v, e);
        if (rc != LDE_OK) return rc;
        for (int j = 0; p->unique && j < i; j++)
            if (out->v[j] == (int)v)
                return fail(e, LDE_EINPUT, "%s:%d:%d: %s: `%s` is listed twice", file,
                            n->vals[i]->line, n->vals[i]->col, p->path, n->vals[i]->str);
        out->v[i] = (int)v;
    }
    return LDE_OK;
}

/* A list of epochs: numbers within [min, max], strictly ascending. */
static int parse_epochs(const Param *p, const YtNode *n, const char *file, EpochList *out, Err *e) {
    if (n->kind != YT_SEQ) return type_error(p, n, file, "a list of epochs", e);
    if (n->n > p->max_len)
        return fail(e, LDE_EINPUT, "%s:%d:%d: %s: %d items; at most %d", file, n->line, n->col,
                    p->path, n->n, p->max_len);
    out->n = n->n;
    for (int i = 0; i < n->n; i++) {
        int rc = parse_float(p, n->vals[i], file, &out->v[i], e);
        if (rc != LDE_OK) return rc;
        if (i > 0 && out->v[i] <= out->v[i - 1])
            return fail(e, LDE_EINPUT,
                        "%s:%d:%d: %s: %s is not above the epoch before it; "
                        "expected ascending epochs",
                        file, n->vals[i]->line, n->vals[i]->col, p->path, n->vals[i]->str);
    }
    return LDE_OK;
}

/* ---- the public entry points ---- */

int param_parse(const Param *p, const YtNode *node, const char *file, const char *dir,
                ParamValue *v, Err *e) {
    memset(v, 0, sizeof *v);
    switch (p->type) {
    case PT_BOOL:
        return parse_bool(p, node, file, &v->i, e);
    case PT_INT:
    case PT_LONG:
        return parse_integer(p, node, file, &v->i, e);
    case PT_FLOAT:
        return parse_float(p, node, file, &v->f, e);
    case PT_ENUM:
        return parse_choice(p, node, file, &v->i, e);
    case PT_INT_LIST:
    case PT_ENUM_LIST:
        return parse_list(p, node, file, &v->list, e);
    case PT_FLOAT_LIST:
        return parse_epochs(p, node, file, &v->epochs, e);
    case PT_FEATURES:
        return featsource_parse(node, file, dir, &v->features, e);
    case PT_IMAGES:
        return featsource_parse_images(node, file, dir, &v->features, e);
    }
    return fail(e, LDE_EINPUT, "%s: %s: unknown parameter type", file, p->path);
}

void param_value_free(ParamValue *v) {
    featsource_free(v->features);
    v->features = NULL;
}

/* Fields are written and read with memcpy at the table's offset: the same bytes
 * as a typed store, without casting a char pointer to another object type. */
void param_apply(const Param *p, const ParamValue *v, RunSpec *s) {
    char *field = (char *)s + p->offset;
    int i = (int)v->i;
    switch (p->type) {
    case PT_BOOL:
    case PT_INT:
    case PT_ENUM:
        memcpy(field, &i, sizeof i);
        break;
    case PT_LONG:
        memcpy(field, &v->i, sizeof v->i);
        break;
    case PT_FLOAT:
        memcpy(field, &v->f, sizeof v->f);
        break;
    case PT_INT_LIST:
    case PT_ENUM_LIST:
        memcpy(field, &v->list, sizeof v->list);
        break;
    case PT_FLOAT_LIST:
        memcpy(field, &v->epochs, sizeof v->epochs);
        break;
    case PT_FEATURES: /* one parameter has this type: data.features */
        s->data.features = v->features;
        break;
    case PT_IMAGES: /* and one this: data.images */
        s->data.images = v->features;
        break;
    }
}

/* The built-in feature source every default RunSpec points at (no allocation). */
static const FeatureSource builtin_features = {.builtin = 1};

int runspec_defaults(RunSpec *s, Err *e) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n_params; i++) {
        const Param *p = &params[i];
        if (!p->dflt) continue;
        if (p->type == PT_FEATURES) {
            s->data.features = &builtin_features;
            continue;
        }
        YtNode *root;
        ParamValue v;
        int rc = yt_parse(p->dflt, strlen(p->dflt), "<default>", &root, e);
        if (rc == LDE_OK) rc = param_parse(p, root, "<default>", ".", &v, e);
        yt_free(root);
        if (rc != LDE_OK) return rc;
        param_apply(p, &v, s);
        param_value_free(&v);
    }
    return LDE_OK;
}

/* An error about path's value: at the node that set it, or "(default)". */
static int at(Err *e, const YtNode *const *src, const char *path, const char *file,
              const char *detail) {
    const Param *p = param_find(path);
    const YtNode *n = src[p - params];
    if (n) return fail(e, LDE_EINPUT, "%s:%d:%d: %s: %s", file, n->line, n->col, path, detail);
    return fail(e, LDE_EINPUT, "%s: %s (default): %s", file, path, detail);
}

/* What a flow on images needs of the image shape (flows/flow.h, FlowConfig). */
static int pixel_checks(const RunSpec *s, const YtNode *const *src, const char *file, Err *e) {
    const FeatureSource *fs = s->data.features;
    char msg[256];
    if (s->flow.arch == FLOW_RESFLOW)
        return at(e, src, "flow.arch", file,
                  "resflow takes feature vectors; a flow on pixels is realnvp or glow");
    int k = s->flow.squeeze, side = 1 << k;
    if (fs->img_h % side || fs->img_w % side) {
        snprintf(msg, sizeof msg,
                 "%d levels halve the image %d times, but %d×%d is not divisible "
                 "by %d",
                 k, k, fs->img_h, fs->img_w, side);
        return at(e, src, "flow.squeeze", file, msg);
    }
    if (s->flow.mask == FLOW_MASK_CHANNEL && k == 0 && fs->img_c < 2)
        return at(e, src, "flow.mask", file,
                  "channel masks split the channels: they need flow.squeeze >= 1 (or images "
                  "with 2 or more channels)");
    if (s->flow.mask == FLOW_MASK_CYCLE && fs->img_h / side < 4) {
        snprintf(msg, sizeof msg,
                 "the cycle mask splits the image into 4 horizontal stripes; %d "
                 "rows are too few",
                 fs->img_h / side);
        return at(e, src, "flow.mask", file, msg);
    }
    if (fs->img_h / side < 2 && s->flow.mask == FLOW_MASK_HORIZONTAL)
        return at(e, src, "flow.mask", file, "the horizontal mask needs at least 2 rows");
    /* Whatever else the flow core refuses (a mask that cannot split the image at
     * some scale, an absurd size), refused here before anything runs. */
    FlowConfig c = flow_config_image(s->flow.arch, fs->img_c, fs->img_h, fs->img_w);
    c.blocks = s->flow.blocks, c.hidden = s->flow.hidden, c.bottleneck = s->flow.bottleneck;
    c.mask = (FlowMask)s->flow.mask, c.squeeze = k;
    long np, ns;
    if (flow_size(&c, &np, &ns) != 0) {
        snprintf(msg, sizeof msg,
                 "a %s flow with %s masks and %d squeeze levels cannot be built on %d×%d×%d "
                 "images",
                 flow_arch_name(c.arch), flow_mask_name(c.mask), k, fs->img_h, fs->img_w,
                 fs->img_c);
        return at(e, src, "flow.mask", file, msg);
    }
    return LDE_OK;
}

int runspec_finish(RunSpec *s, const YtNode *const *src, const char *file, Err *e) {
    char msg[256];
    if (s->train.eval_at.n > 0 && src[param_find("train.eval_every") - params])
        return at(e, src, "train.eval_at", file,
                  "give train.eval_every or train.eval_at, not both");
    if (s->train.eval_at.n > 0 && s->train.eval_at.v[s->train.eval_at.n - 1] > s->train.epochs) {
        snprintf(msg, sizeof msg, "%g is after the last epoch (train.epochs %g)",
                 s->train.eval_at.v[s->train.eval_at.n - 1], s->train.epochs);
        return at(e, src, "train.eval_at", file, msg);
    }
    if (s->train.eval_every == 0) s->train.eval_every = s->train.epochs;
    if (s->train.eval_every > 0 && s->train.epochs / s->train.eval_every > 100000) {
        snprintf(msg, sizeof msg,
                 "%g epochs with an evaluation every %g is more than 100000 "
                 "evaluations",
                 s->train.epochs, s->train.eval_every);
        return at(e, src, "train.eval_every", file, msg);
    }
    if (s->data.images) {
        if (src[param_find("data.features") - params])
            return at(e, src, "data.images", file,
                      "give data.features or data.images, not both (images are the data of a "
                      "flow on pixels)");
        s->data.features = s->data.images;
    }
    const FeatureSource *fs = s->data.features;
    if (fs->pixels) {
        int rc = pixel_checks(s, src, file, e);
        if (rc != LDE_OK) return rc;
    }
    const IntList *ch = &s->data.backbone.channels;
    if (fs->builtin && !fs->pixels && ch->n == 0)
        return at(e, src, "data.backbone.channels", file, "needs at least one width");
    /* the backbone's last width is d */
    int d = fs->builtin && !fs->pixels ? ch->v[ch->n - 1] : fs->d;
    if (!fs->pixels && s->preprocess.pca > d) {
        snprintf(msg, sizeof msg, "%d components are more than the feature dimension %d",
                 s->preprocess.pca, d);
        return at(e, src, "preprocess.pca", file, msg);
    }
    if (!fs->pixels && s->preprocess.pca == 1)
        return at(e, src, "preprocess.pca", file, "a flow needs at least 2 dimensions (0 = off)");
    /* On pixels the bottleneck projects the whole feature map (hidden·H·W values). */
    if (!fs->pixels && s->flow.bottleneck >= s->flow.hidden) {
        snprintf(msg, sizeof msg, "bottleneck %d must be smaller than hidden %d (0 = none)",
                 s->flow.bottleneck, s->flow.hidden);
        return at(e, src, "flow.bottleneck", file, msg);
    }
    if (!fs->builtin) {
        if (src[param_find("data.ood") - params])
            return at(e, src, "data.ood", file,
                      fs->pixels ? "built-in OOD sets need the built-in data; list user OOD "
                                   "images under data.images.ood"
                                 : "built-in OOD sets need the built-in "
                                   "features; list user OOD files under data.features.ood");
        if (src[param_find("data.id_classes") - params])
            return at(e, src, "data.id_classes", file, "needs the built-in features");
        if (fs->n_ood == 0)
            return at(e, src, "data.features", file,
                      "user features need at least one OOD "
                      "set: ood: {name: path.npy}");
        s->data.ood.n = 0;
        s->data.id_classes.n = 0;
        return LDE_OK;
    }
    if (s->data.ood.n == 0) return at(e, src, "data.ood", file, "needs at least one OOD set");
    int heldout = 0;
    for (int i = 0; i < s->data.ood.n; i++) heldout |= s->data.ood.v[i] == OOD_HELDOUT;
    if (heldout && s->data.id_classes.n == 0)
        return at(e, src, "data.ood", file,
                  "`heldout` needs data.id_classes (the classes "
                  "kept in-distribution; the others are held out)");
    if (s->data.id_classes.n == 1 || s->data.id_classes.n == 10)
        return at(e, src, "data.id_classes", file, "keep between 2 and 9 of the 10 classes");
    return LDE_OK;
}
