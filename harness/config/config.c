/* config.c — loads an experiment config: keys, values, axes, baselines (config.h). */
#include "config/config.h"

#include "config/keyerror.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sections[] = {"experiment", "seed",  "data", "preprocess",
                                       "flow",       "train", "zip",  "baselines"};
enum { N_SECTIONS = 8 };

static const char *const baseline_names[] = {"msp",   "energy",      "odin",
                                             "react", "mahalanobis", "knn"};

BaselineSpec baseline_default(BaselineMethod m) {
    return (BaselineSpec){
        .method = m, .T = m == BL_ODIN ? 1000 : 1, .eps = 0.0014, .percentile = 90, .k = 50};
}

const char *baseline_name(BaselineMethod m) {
    return m >= 0 && m < BL_COUNT ? baseline_names[m] : "?";
}

/* The loader's state: the config being filled and what errors need. */
typedef struct {
    Config *c;
    char dir[4096];
    Err *e;
} Loader;

void config_free(Config *c) {
    for (int i = 0; i < c->n_fixed; i++) param_value_free(&c->fixed[i].value);
    for (int a = 0; a < c->n_axes; a++) {
        Axis *ax = &c->axes[a];
        for (int i = 0; i < ax->n_keys * ax->n_values; i++) param_value_free(&ax->values[i].value);
        free(ax->values);
    }
    free(c->fixed);
    free(c->axes);
    yt_free(c->root);
    free(c->yaml);
    memset(c, 0, sizeof *c);
}

static int is_list_param(const Param *p) {
    return p->type == PT_INT_LIST || p->type == PT_ENUM_LIST || p->type == PT_FLOAT_LIST;
}

/* An unknown key: the nearest sibling if one is close, else the parameter whose
 * last component is exactly this key ("`pca` belongs under preprocess"), else the
 * list of valid keys. */
static int unknown_key(Loader *L, const YtNode *k, const char *where, const char *const *cands,
                       int nc) {
    const char *file = L->c->path;
    if (!nearest_name(k->str, cands, nc)) {
        for (int i = 0; i < n_params; i++) {
            const char *dot = strrchr(params[i].path, '.');
            if (dot && strcmp(dot + 1, k->str) == 0)
                return fail(L->e, LDE_EINPUT,
                            "%s:%d:%d: unknown key `%s` in %s — `%s` belongs under `%.*s`", file,
                            k->line, k->col, k->str, where, k->str, (int)(dot - params[i].path),
                            params[i].path);
        }
        if (!strcmp(where, "data") && (!strcmp(k->str, "train") || !strcmp(k->str, "val")))
            return fail(L->e, LDE_EINPUT,
                        "%s:%d:%d: unknown key `%s` in data — user feature files go "
                        "under data.features: {train: a.npy, val: b.npy, ood: {name: c.npy}}",
                        file, k->line, k->col, k->str);
    }
    return unknown_key_error(file, k, where, cands, nc, L->e);
}

/* The distinct names one level below prefix ("preprocess" -> normalize, pca, ...);
 * 0 when prefix is a parameter or nothing at all. */
static int child_names(const char *prefix, char names[][64], int cap) {
    size_t pl = strlen(prefix);
    int n = 0;
    for (int i = 0; i < n_params && n < cap; i++) {
        const char *p = params[i].path;
        if (strncmp(p, prefix, pl) != 0 || p[pl] != '.') continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p + pl + 1, "."), p + pl + 1);
        int seen = 0;
        for (int j = 0; j < n; j++) seen |= strcmp(names[j], name) == 0;
        if (!seen) memcpy(names[n++], name, sizeof name);
    }
    return n;
}

static int add_fixed(Loader *L, int param, const YtNode *v) {
    Config *c = L->c;
    Setting *f = realloc(c->fixed, (size_t)(c->n_fixed + 1) * sizeof *f);
    if (!f) return fail(L->e, LDE_EINPUT, "%s: out of memory", c->path);
    c->fixed = f;
    Setting *s = &c->fixed[c->n_fixed];
    memset(s, 0, sizeof *s);
    s->param = param;
    s->node = v;
    int rc = param_parse(&params[param], v, c->path, L->dir, &s->value, L->e);
    if (rc == LDE_OK) c->n_fixed++;
    return rc;
}

/* Appends an axis of n_keys parameters and n_values values, zeroed, and returns it. */
static Axis *add_axis(Loader *L, int n_keys, int n_values) {
    Config *c = L->c;
    Axis *a = realloc(c->axes, (size_t)(c->n_axes + 1) * sizeof *a);
    if (!a) return NULL;
    c->axes = a;
    Axis *ax = &c->axes[c->n_axes];
    ax->values = calloc((size_t)n_keys * (size_t)n_values, sizeof *ax->values);
    if (!ax->values) return NULL;
    ax->n_keys = n_keys;
    ax->n_values = n_values;
    c->n_axes++;
    return ax;
}

/* True when node, as a value of p, is a list of values (an axis). */
static int is_axis_node(const Param *p, const YtNode *v) {
    if (v->kind != YT_SEQ) return 0;
    if (!is_list_param(p)) return 1;
    return v->n > 0 && v->vals[0]->kind == YT_SEQ;
}

static int add_leaf(Loader *L, int param, const YtNode *v) {
    const Param *p = &params[param];
    if (!is_axis_node(p, v)) return add_fixed(L, param, v);
    if (v->n == 0)
        return fail(L->e, LDE_EINPUT,
                    "%s:%d:%d: %s: an empty list; an axis needs at least one "
                    "value",
                    L->c->path, v->line, v->col, p->path);
    Axis *ax = add_axis(L, 1, v->n);
    if (!ax) return fail(L->e, LDE_EINPUT, "%s: out of memory", L->c->path);
    for (int i = 0; i < v->n; i++) {
        ax->values[i].param = param;
        ax->values[i].node = v->vals[i];
        int rc = param_parse(p, v->vals[i], L->c->path, L->dir, &ax->values[i].value, L->e);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

static int walk_section(Loader *L, const char *prefix, const YtNode *map) {
    if (yt_is_null(map)) return LDE_OK;
    if (map->kind != YT_MAP) {
        char got[64];
        return fail(L->e, LDE_EINPUT, "%s:%d:%d: %s: expected a mapping of settings, got %s",
                    L->c->path, map->line, map->col, prefix, yt_describe(map, got, sizeof got));
    }
    for (int i = 0; i < map->n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s.%s", prefix, map->keys[i]->str);
        const Param *p = param_find(path);
        int rc;
        if (p) {
            rc = add_leaf(L, (int)(p - params), map->vals[i]);
        } else {
            char names[64][64];
            const char *sib[64];
            if (child_names(path, names, 64) > 0) {
                rc = walk_section(L, path, map->vals[i]);
            } else {
                int n = child_names(prefix, names, 64);
                for (int j = 0; j < n; j++) sib[j] = names[j];
                rc = unknown_key(L, map->keys[i], prefix, sib, n);
            }
        }
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

/* zip: {a.b: [..], c.d: [..]} — one axis whose keys vary together. */
static int zip_group(Loader *L, const YtNode *g) {
    const char *file = L->c->path;
    if (g->kind != YT_MAP || g->n == 0)
        return fail(L->e, LDE_EINPUT,
                    "%s:%d:%d: zip: expected a mapping {section.key: [values], "
                    "...} with at least one key",
                    file, g->line, g->col);
    int n_values = -1;
    for (int k = 0; k < g->n; k++) {
        const YtNode *key = g->keys[k], *v = g->vals[k];
        const Param *p = param_find(key->str);
        if (!p) {
            const char **all = malloc((size_t)n_params * sizeof *all);
            if (!all) return fail(L->e, LDE_EINPUT, "%s: out of memory", file);
            for (int i = 0; i < n_params; i++) all[i] = params[i].path;
            int rc = unknown_key(L, key, "zip", all, n_params);
            free(all);
            return rc;
        }
        if (!is_axis_node(p, v))
            return fail(L->e, LDE_EINPUT, "%s:%d:%d: zip: `%s` needs a list of values%s", file,
                        v->line, v->col, key->str, is_list_param(p) ? " (a list of lists)" : "");
        if (n_values >= 0 && v->n != n_values)
            return fail(L->e, LDE_EINPUT,
                        "%s:%d:%d: zip: `%s` has %d values but `%s` has %d; "
                        "zipped lists must have equal lengths",
                        file, v->line, v->col, key->str, v->n, g->keys[0]->str, n_values);
        if (v->n == 0)
            return fail(L->e, LDE_EINPUT, "%s:%d:%d: zip: `%s` is an empty list", file, v->line,
                        v->col, key->str);
        n_values = v->n;
    }
    Axis *ax = add_axis(L, g->n, n_values);
    if (!ax) return fail(L->e, LDE_EINPUT, "%s: out of memory", file);
    for (int k = 0; k < g->n; k++) {
        const Param *p = param_find(g->keys[k]->str);
        for (int v = 0; v < n_values; v++) {
            Setting *s = &ax->values[v * g->n + k];
            s->param = (int)(p - params);
            s->node = g->vals[k]->vals[v];
            int rc = param_parse(p, s->node, file, L->dir, &s->value, L->e);
            if (rc != LDE_OK) return rc;
        }
    }
    return LDE_OK;
}

static int parse_zip(Loader *L, const YtNode *z) {
    if (z->kind != YT_SEQ) return zip_group(L, z);
    for (int i = 0; i < z->n; i++) {
        int rc = zip_group(L, z->vals[i]);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

/* Baseline options, parsed with the same rules as the parameters (the defaults
 * are set per method in add_baseline). */
static const Param bl_T = {.path = "baselines.T",
                           .type = PT_FLOAT,
                           .max = 1e6,
                           .min_open = 1,
                           .help = "softmax / logsumexp temperature"};
static const Param bl_eps = {
    .path = "baselines.odin.eps", .type = PT_FLOAT, .max = 1, .help = "ODIN input perturbation"};
static const Param bl_pct = {.path = "baselines.react.percentile",
                             .type = PT_FLOAT,
                             .max = 100,
                             .min_open = 1,
                             .help = "ReAct clipping percentile"};
static const Param bl_k = {
    .path = "baselines.knn.k", .type = PT_INT, .min = 1, .max = 1e6, .help = "KNN neighbour rank"};

static int baseline_options(Loader *L, BaselineSpec *b, const YtNode *opts) {
    const char *file = L->c->path;
    if (!opts || yt_is_null(opts)) return LDE_OK;
    if (opts->kind != YT_MAP)
        return fail(L->e, LDE_EINPUT, "%s:%d:%d: baselines.%s: expected a mapping of options", file,
                    opts->line, opts->col, baseline_name(b->method));
    /* Which options each method takes. */
    const char *allowed[BL_COUNT][2] = {{NULL, NULL},        {"T", NULL},  {"T", "eps"},
                                        {"percentile", "T"}, {NULL, NULL}, {"k", NULL}};
    for (int i = 0; i < opts->n; i++) {
        const char *key = opts->keys[i]->str;
        const char *cands[2] = {NULL, NULL};
        int nc = 0;
        for (int j = 0; j < 2; j++)
            if (allowed[b->method][j]) cands[nc++] = allowed[b->method][j];
        int ok = 0;
        for (int j = 0; j < nc; j++) ok |= strcmp(key, cands[j]) == 0;
        char where[64];
        snprintf(where, sizeof where, "baselines.%s", baseline_name(b->method));
        if (!ok) {
            if (nc == 0)
                return fail(L->e, LDE_EINPUT, "%s:%d:%d: %s takes no options (got `%s`)", file,
                            opts->keys[i]->line, opts->keys[i]->col, where, key);
            return unknown_key(L, opts->keys[i], where, cands, nc);
        }
        const Param *p = !strcmp(key, "T")            ? &bl_T
                         : !strcmp(key, "eps")        ? &bl_eps
                         : !strcmp(key, "percentile") ? &bl_pct
                                                      : &bl_k;
        ParamValue v;
        int rc = param_parse(p, opts->vals[i], file, L->dir, &v, L->e);
        if (rc != LDE_OK) return rc;
        if (p == &bl_T)
            b->T = v.f;
        else if (p == &bl_eps)
            b->eps = v.f;
        else if (p == &bl_pct)
            b->percentile = v.f;
        else
            b->k = (int)v.i;
    }
    return LDE_OK;
}

static int add_baseline(Loader *L, const YtNode *name, const YtNode *opts) {
    Config *c = L->c;
    const char *file = c->path;
    if (name->kind != YT_SCALAR || yt_is_null(name)) {
        char got[64];
        return fail(L->e, LDE_EINPUT, "%s:%d:%d: baselines: expected a method name, got %s", file,
                    name->line, name->col, yt_describe(name, got, sizeof got));
    }
    int m = 0;
    while (m < BL_COUNT && strcmp(name->str, baseline_names[m]) != 0) m++;
    if (m == BL_COUNT) {
        const char *near = nearest_name(name->str, baseline_names, BL_COUNT);
        if (near)
            return fail(L->e, LDE_EINPUT, "%s:%d:%d: unknown baseline `%s` — did you mean `%s`?",
                        file, name->line, name->col, name->str, near);
        return fail(L->e, LDE_EINPUT,
                    "%s:%d:%d: unknown baseline `%s`; expected msp, energy, "
                    "odin, react, mahalanobis or knn",
                    file, name->line, name->col, name->str);
    }
    for (int i = 0; i < c->n_baselines; i++)
        if (c->baselines[i].method == (BaselineMethod)m)
            return fail(L->e, LDE_EINPUT, "%s:%d:%d: baseline `%s` is listed twice", file,
                        name->line, name->col, name->str);
    BaselineSpec *b = &c->baselines[c->n_baselines++];
    *b = baseline_default((BaselineMethod)m);
    return baseline_options(L, b, opts);
}

static int parse_baselines(Loader *L, const YtNode *v) {
    if (v->kind == YT_SEQ) {
        for (int i = 0; i < v->n; i++) {
            int rc = add_baseline(L, v->vals[i], NULL);
            if (rc != LDE_OK) return rc;
        }
        return LDE_OK;
    }
    if (v->kind == YT_MAP) {
        for (int i = 0; i < v->n; i++) {
            int rc = add_baseline(L, v->keys[i], v->vals[i]);
            if (rc != LDE_OK) return rc;
        }
        return LDE_OK;
    }
    if (yt_is_null(v)) return LDE_OK;
    return add_baseline(L, v, NULL); /* `baselines: msp` */
}

static int parse_name(Loader *L, const YtNode *v) {
    const char *file = L->c->path;
    if (v->kind != YT_SCALAR || yt_is_null(v) || strlen(v->str) >= sizeof L->c->name ||
        strspn(v->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            strlen(v->str)) {
        char got[64];
        return fail(L->e, LDE_EINPUT,
                    "%s:%d:%d: experiment: expected a name of at most 63 "
                    "letters, digits, _ - or ., got %s",
                    file, v->line, v->col, yt_describe(v, got, sizeof got));
    }
    snprintf(L->c->name, sizeof L->c->name, "%s", v->str);
    return LDE_OK;
}

/* No parameter may be set twice (e.g. in its section and in zip). */
static int check_set_once(Loader *L) {
    const Config *c = L->c;
    const YtNode **first = calloc((size_t)n_params, sizeof(const YtNode *));
    if (!first) return fail(L->e, LDE_EINPUT, "%s: out of memory", c->path);
    int rc = LDE_OK;
    for (int i = 0; i < c->n_fixed + c->n_axes; i++) {
        const Setting *s = i < c->n_fixed ? &c->fixed[i] : c->axes[i - c->n_fixed].values;
        int nk = i < c->n_fixed ? 1 : c->axes[i - c->n_fixed].n_keys;
        for (int k = 0; k < nk; k++) {
            const YtNode *n = s[k].node;
            const YtNode *f = first[s[k].param];
            if (f && rc == LDE_OK)
                rc = fail(L->e, LDE_EINPUT, "%s:%d:%d: %s is set twice (also at line %d:%d)",
                          c->path, n->line, n->col, params[s[k].param].path, f->line, f->col);
            first[s[k].param] = n;
        }
    }
    free(first);
    return rc;
}

static int load_root(Loader *L) {
    Config *c = L->c;
    const YtNode *root = c->root;
    if (!root || yt_is_null(root))
        return fail(L->e, LDE_EINPUT,
                    "%s: empty config; expected a mapping with experiment, "
                    "data, preprocess, flow, train",
                    c->path);
    if (root->kind != YT_MAP) {
        char got[64];
        return fail(L->e, LDE_EINPUT,
                    "%s:%d:%d: expected a mapping of sections (experiment, "
                    "seed, data, preprocess, flow, train, zip, baselines), got %s",
                    c->path, root->line, root->col, yt_describe(root, got, sizeof got));
    }
    for (int i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->str;
        const YtNode *v = root->vals[i];
        int rc;
        if (!strcmp(k, "experiment"))
            rc = parse_name(L, v);
        else if (!strcmp(k, "seed"))
            rc = add_leaf(L, (int)(param_find("seed") - params), v);
        else if (!strcmp(k, "data") || !strcmp(k, "preprocess") || !strcmp(k, "flow") ||
                 !strcmp(k, "train"))
            rc = walk_section(L, k, v);
        else if (!strcmp(k, "zip"))
            rc = parse_zip(L, v);
        else if (!strcmp(k, "baselines"))
            rc = parse_baselines(L, v);
        else
            rc = unknown_key(L, root->keys[i], "the config", sections, N_SECTIONS);
        if (rc != LDE_OK) return rc;
    }
    return check_set_once(L);
}

int config_load(const char *path, Config *c, Err *e) {
    memset(c, 0, sizeof *c);
    if (strlen(path) >= sizeof c->path)
        return fail(e, LDE_EINPUT, "%.200s...: path too long", path);
    snprintf(c->path, sizeof c->path, "%s", path);
    Loader L = {.c = c, .e = e};
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(L.dir, sizeof L.dir, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *base = basename(tmp);
    size_t bl = strcspn(base, ".");
    snprintf(c->name, sizeof c->name, "%.*s", (int)(bl < 63 ? bl : 63), base);
    int rc = yt_load_file(path, &c->yaml, &c->root, e);
    if (rc == LDE_OK) rc = load_root(&L);
    if (rc != LDE_OK) config_free(c);
    return rc;
}
