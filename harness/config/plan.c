/* plan.c — grid expansion, canonical parameters and run ids (plan.h). */
#include "config/plan.h"

#include "config/paramjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void plan_free(Plan *p) {
    for (int r = 0; r < p->n_runs; r++) {
        for (int i = 0; i < n_params; i++) free(p->runs[r].values[i]);
        free(p->runs[r].values);
        free(p->runs[r].params_json);
    }
    free(p->runs);
    free(p->varying);
    memset(p, 0, sizeof *p);
}

/* Orders key paths component by component ('.' before any other character), so
 * the sorted list nests: "data.backbone.lr" < "data.features" < "flow.arch". */
static int path_cmp(const void *a, const void *b) {
    const char *x = params[*(const int *)a].path, *y = params[*(const int *)b].path;
    for (; *x && *x == *y; x++, y++) {
    }
    int cx = *x == '.' ? 1 : *x ? (unsigned char)*x + 1 : 0;
    int cy = *y == '.' ? 1 : *y ? (unsigned char)*y + 1 : 0;
    return cx - cy;
}

/* Nested JSON object of values (sorted by path; NULL values left out). */
static char *canonical_json(char **values, const int *order) {
    size_t cap = 256, len = 0;
    for (int i = 0; i < n_params; i++) cap += (values[i] ? strlen(values[i]) : 0) + 64;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[len++] = '{';
    const char *prev = "";
    int first = 1;
    for (int k = 0; k < n_params; k++) {
        int i = order[k];
        if (!values[i]) continue;
        const char *path = params[i].path;
        /* Length of the common whole-component prefix of prev and path. */
        size_t common = 0;
        for (size_t j = 0; prev[j] && prev[j] == path[j]; j++)
            if (prev[j] == '.') common = j + 1;
        for (const char *c = prev + common; *c; c++)
            if (*c == '.') out[len++] = '}';
        const char *c = path + common;
        if (!first) out[len++] = ',';
        first = 0;
        for (const char *dot; (dot = strchr(c, '.')); c = dot + 1)
            len += (size_t)sprintf(out + len, "\"%.*s\":{", (int)(dot - c), c);
        len += (size_t)sprintf(out + len, "\"%s\":%s", c, values[i]);
        prev = path;
    }
    for (const char *c = prev; *c; c++)
        if (*c == '.') out[len++] = '}';
    out[len++] = '}';
    out[len] = 0;
    return out;
}

static void hash_hex(const char *s, char out[33]) {
    XXH128_canonical_t h;
    XXH128_canonicalFromHash(&h, XXH3_128bits(s, strlen(s)));
    for (int i = 0; i < 16; i++) sprintf(out + 2 * (size_t)i, "%02x", h.digest[i]);
}

/* Fills run r from the point pos[] (one value index per axis). */
static int make_run(const Config *c, const RunSpec *defaults, const int *pos, const int *order,
                    PlanRun *run, Err *e) {
    const YtNode **src = calloc((size_t)n_params, sizeof(const YtNode *));
    run->values = calloc((size_t)n_params, sizeof *run->values);
    if (!src || !run->values) {
        free(src);
        fail(e, LDE_EINPUT, "%s: out of memory", c->path);
        return LDE_EINPUT; /* spelt out: the analyzer cannot see fail()'s return value */
    }
    run->spec = *defaults;
    for (int i = 0; i < c->n_fixed; i++) {
        param_apply(&params[c->fixed[i].param], &c->fixed[i].value, &run->spec);
        src[c->fixed[i].param] = c->fixed[i].node;
    }
    for (int a = 0; a < c->n_axes; a++) {
        const Axis *ax = &c->axes[a];
        for (int k = 0; k < ax->n_keys; k++) {
            const Setting *s = &ax->values[pos[a] * ax->n_keys + k];
            param_apply(&params[s->param], &s->value, &run->spec);
            src[s->param] = s->node;
        }
    }
    int rc = runspec_finish(&run->spec, src, c->path, e);
    free(src);
    if (rc != LDE_OK) return rc;
    /* Every value that applies is kept (tables show it); the id's JSON leaves out
     * the late parameters still at their default. */
    char **id_values = calloc((size_t)n_params, sizeof *id_values);
    if (!id_values) return fail(e, LDE_EINPUT, "%s: out of memory", c->path);
    for (int i = 0; i < n_params; i++) {
        if (!param_applies(&params[i], run->spec.data.features)) continue;
        int omit =
            params[i].id_unless_default && param_is_default(&params[i], &run->spec, defaults);
        size_t cap = 256, len = 0;
        for (;;) {
            char *buf = malloc(cap);
            if (!buf) {
                free(id_values);
                return fail(e, LDE_EINPUT, "%s: out of memory", c->path);
            }
            len = 0;
            if (param_json(&params[i], &run->spec, buf, cap, &len) == 0) {
                run->values[i] = buf;
                break;
            }
            free(buf);
            cap *= 4;
        }
        if (!omit) id_values[i] = run->values[i];
    }
    run->params_json = canonical_json(id_values, order);
    free(id_values);
    if (!run->params_json) return fail(e, LDE_EINPUT, "%s: out of memory", c->path);
    hash_hex(run->params_json, run->id);
    return LDE_OK;
}

static void free_run(PlanRun *run) {
    for (int i = 0; run->values && i < n_params; i++) free(run->values[i]);
    free(run->values);
    free(run->params_json);
    memset(run, 0, sizeof *run);
}

const char *plan_value(const PlanRun *run, int param) {
    return run->values ? run->values[param] : NULL;
}

/* Parameters whose canonical value differs between runs, in axis order. */
static int find_varying(const Config *c, Plan *p) {
    p->varying = calloc((size_t)n_params, sizeof *p->varying);
    if (!p->varying) return -1;
    for (int a = 0; a < c->n_axes; a++) {
        for (int k = 0; k < c->axes[a].n_keys; k++) {
            int i = c->axes[a].values[k].param, differs = 0, seen = 0;
            for (int j = 0; j < p->n_varying; j++) seen |= p->varying[j] == i;
            for (int r = 1; r < p->n_runs && !differs && !seen; r++) {
                const char *x = plan_value(&p->runs[0], i), *y = plan_value(&p->runs[r], i);
                differs = (x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0);
            }
            if (differs) p->varying[p->n_varying++] = i;
        }
    }
    return 0;
}

/* Hashes the files of every user feature or image source the config names (fixed
 * or on an axis): the ids below are made of their digests. */
static int digest_sources(const Config *c, Err *e) {
    int rc = LDE_OK;
    for (int i = 0; i < c->n_fixed && rc == LDE_OK; i++)
        if (c->fixed[i].value.features) rc = featsource_digest(c->fixed[i].value.features, e);
    for (int a = 0; a < c->n_axes && rc == LDE_OK; a++) {
        const Axis *ax = &c->axes[a];
        for (int k = 0; k < ax->n_values * ax->n_keys && rc == LDE_OK; k++)
            if (ax->values[k].value.features)
                rc = featsource_digest(ax->values[k].value.features, e);
    }
    return rc;
}

int plan_build(const Config *c, Plan *p, Err *e) {
    memset(p, 0, sizeof *p);
    int drc = digest_sources(c, e);
    if (drc != LDE_OK) return drc;
    long total = 1;
    for (int a = 0; a < c->n_axes; a++) {
        total *= c->axes[a].n_values;
        if (total > PLAN_MAX_RUNS)
            return fail(e, LDE_EINPUT,
                        "%s: the grid has more than %d runs; split it into several "
                        "configs",
                        c->path, PLAN_MAX_RUNS);
    }
    RunSpec defaults;
    int rc = runspec_defaults(&defaults, e);
    if (rc != LDE_OK) return rc;
    int *order = malloc((size_t)n_params * sizeof *order);
    int *pos = calloc((size_t)c->n_axes + 1, sizeof *pos);
    p->runs = calloc((size_t)total, sizeof *p->runs);
    if (!order || !pos || !p->runs) {
        free(order);
        free(pos);
        free(p->runs);
        p->runs = NULL;
        return fail(e, LDE_EINPUT, "%s: out of memory", c->path);
    }
    for (int i = 0; i < n_params; i++) order[i] = i;
    qsort(order, (size_t)n_params, sizeof *order, path_cmp);
    for (long r = 0; r < total && rc == LDE_OK; r++) {
        PlanRun *run = &p->runs[p->n_runs];
        rc = make_run(c, &defaults, pos, order, run, e);
        if (rc != LDE_OK) {
            free_run(run);
            break;
        }
        int dup = 0;
        for (int j = 0; j < p->n_runs && !dup; j++) dup = strcmp(p->runs[j].id, run->id) == 0;
        if (dup)
            free_run(run);
        else
            p->n_runs++;
        /* Odometer: the last axis varies fastest. */
        for (int a = c->n_axes - 1; a >= 0; a--) {
            if (++pos[a] < c->axes[a].n_values) break;
            pos[a] = 0;
        }
    }
    free(order);
    free(pos);
    if (rc == LDE_OK && find_varying(c, p) != 0)
        rc = fail(e, LDE_EINPUT, "%s: out of memory", c->path);
    if (rc != LDE_OK) plan_free(p);
    return rc;
}
