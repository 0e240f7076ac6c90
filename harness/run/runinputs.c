/* runinputs.c — see runinputs.h. */
#include "run/runinputs.h"

#include <stdio.h>
#include <stdlib.h>

void runinputs_of(const PlanRun *r, RunInputs *ri) {
    ri->n = featsource_inputs(r->spec.data.features, ri->in);
    for (int k = 0; k < ri->n; k++) {
        const FeatInput *in = &ri->in[k];
        ri->rows[k] = (StoreInput){.role = in->role,
                                   .path = in->path,
                                   .digest = in->digest->hex,
                                   .bytes = in->digest->bytes,
                                   .mtime_ns = in->digest->mtime_ns};
    }
}

int runinputs_specs(const Plan *p, StoreRunSpec **specs, RunInputs **inputs, Err *e) {
    size_t n = (size_t)(p->n_runs ? p->n_runs : 1);
    *specs = calloc(n, sizeof **specs);
    *inputs = calloc(n, sizeof **inputs);
    if (!*specs || !*inputs) {
        free(*specs), free(*inputs);
        *specs = NULL, *inputs = NULL;
        return fail(e, LDE_ERUN, "out of memory planning the grid");
    }
    for (int i = 0; i < p->n_runs; i++) {
        const PlanRun *r = &p->runs[i];
        runinputs_of(r, &(*inputs)[i]);
        (*specs)[i] = (StoreRunSpec){.id = r->id,
                                     .params_json = r->params_json,
                                     .seed = (long)r->spec.seed,
                                     .inputs = (*inputs)[i].rows,
                                     .ninputs = (*inputs)[i].n};
    }
    return LDE_OK;
}

int runinputs_check(const PlanRun *r, Err *e) {
    FeatInput in[FEAT_MAX_INPUTS];
    int n = featsource_inputs(r->spec.data.features, in);
    for (int k = 0; k < n; k++) {
        int rc = filedigest_check(in[k].path, in[k].digest, e);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

long runinputs_text(const PlanRun *r, char *buf, size_t cap) {
    FeatInput in[FEAT_MAX_INPUTS];
    int n = featsource_inputs(r->spec.data.features, in);
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < n; k++) {
        int w = snprintf(buf + len, cap - len, "%s %s %lld %s\n", in[k].role, in[k].digest->hex,
                         in[k].digest->bytes, in[k].path);
        if (w < 0 || len + (size_t)w >= cap) return -1;
        len += (size_t)w;
    }
    return (long)len;
}
