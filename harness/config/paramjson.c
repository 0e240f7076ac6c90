/* paramjson.c — see paramjson.h. */
#include "config/paramjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0 || *len + (size_t)n >= cap) return -1;
    *len += (size_t)n;
    return 0;
}

/* Shortest %.Ng that reads back as the same double: one text per number. */
static int put_double(char *buf, size_t cap, size_t *len, double v) {
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    return put(buf, cap, len, "%s", t);
}

static int put_string(char *buf, size_t cap, size_t *len, const char *s) {
    if (put(buf, cap, len, "\"") != 0) return -1;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        int rc = *c == '"' || *c == '\\' ? put(buf, cap, len, "\\%c", *c)
                 : *c < 0x20             ? put(buf, cap, len, "\\u%04x", *c)
                                         : put(buf, cap, len, "%c", *c);
        if (rc != 0) return -1;
    }
    return put(buf, cap, len, "\"");
}

/* A file's content digest, as the id sees it (plan.h: digests, never paths). */
static int put_digest(char *buf, size_t cap, size_t *len, const FeatureSource *fs, int slot) {
    return put_string(buf, cap, len, fs->digest[slot].hex);
}

/* {"head":{"W":..,"b":..},"ood":{..},"train":..,...}: keys in sorted order, each
 * file by its content digest (featsource_digest must have run). */
static int put_features(char *buf, size_t cap, size_t *len, const FeatureSource *fs) {
    if (fs->builtin)
        return put_string(buf, cap, len, fs->pixels ? "fashion-mnist-pixels" : "fashion-mnist");
    /* User images: {"images":{...}}, so the same files as features are another run. */
    int rc = put(buf, cap, len, fs->pixels ? "{\"images\":{" : "{");
    if (fs->head_W) {
        rc |= put(buf, cap, len, "\"head\":{\"W\":");
        rc |= put_digest(buf, cap, len, fs, FEAT_HEAD_W);
        rc |= put(buf, cap, len, ",\"b\":");
        rc |= put_digest(buf, cap, len, fs, FEAT_HEAD_B);
        rc |= put(buf, cap, len, "},");
    }
    /* OOD names sorted: the id must not depend on the order a file lists them. */
    int order[FEAT_MAX_OOD];
    for (int i = 0; i < fs->n_ood; i++) {
        int j = i;
        for (; j > 0 && strcmp(fs->ood[order[j - 1]].name, fs->ood[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    rc |= put(buf, cap, len, "\"ood\":{");
    for (int i = 0; i < fs->n_ood; i++) {
        rc |= put(buf, cap, len, i ? "," : "");
        rc |= put_string(buf, cap, len, fs->ood[order[i]].name);
        rc |= put(buf, cap, len, ":");
        rc |= put_digest(buf, cap, len, fs, FEAT_OOD + order[i]);
    }
    rc |= put(buf, cap, len, "},\"train\":");
    rc |= put_digest(buf, cap, len, fs, FEAT_TRAIN);
    if (fs->train_labels) {
        rc |= put(buf, cap, len, ",\"train_labels\":");
        rc |= put_digest(buf, cap, len, fs, FEAT_TRAIN_LABELS);
    }
    rc |= put(buf, cap, len, ",\"val\":");
    rc |= put_digest(buf, cap, len, fs, FEAT_VAL);
    if (fs->val_labels) {
        rc |= put(buf, cap, len, ",\"val_labels\":");
        rc |= put_digest(buf, cap, len, fs, FEAT_VAL_LABELS);
    }
    rc |= put(buf, cap, len, fs->pixels ? "}}" : "}");
    return rc ? -1 : 0;
}

int param_json(const Param *p, const RunSpec *s, char *buf, size_t cap, size_t *len) {
    const char *field = (const char *)s + p->offset;
    int i;
    long long l;
    double f;
    IntList list;
    switch (p->type) {
    case PT_BOOL:
        memcpy(&i, field, sizeof i);
        return put(buf, cap, len, "%s", i ? "true" : "false");
    case PT_INT:
        memcpy(&i, field, sizeof i);
        return put(buf, cap, len, "%d", i);
    case PT_LONG:
        memcpy(&l, field, sizeof l);
        return put(buf, cap, len, "%lld", l);
    case PT_FLOAT:
        memcpy(&f, field, sizeof f);
        if (p->word && f == p->word_value) return put_string(buf, cap, len, p->word);
        return put_double(buf, cap, len, f);
    case PT_FLOAT_LIST: {
        EpochList ep;
        memcpy(&ep, field, sizeof ep);
        int rc = put(buf, cap, len, "[");
        for (int k = 0; k < ep.n; k++) {
            rc |= put(buf, cap, len, k ? "," : "");
            rc |= put_double(buf, cap, len, ep.v[k]);
        }
        return rc | put(buf, cap, len, "]");
    }
    case PT_ENUM:
        memcpy(&i, field, sizeof i);
        return put_string(buf, cap, len, p->choices[i]);
    case PT_INT_LIST:
    case PT_ENUM_LIST: {
        memcpy(&list, field, sizeof list);
        int rc = put(buf, cap, len, "[");
        for (int k = 0; k < list.n; k++) {
            rc |= put(buf, cap, len, k ? "," : "");
            rc |= p->type == PT_INT_LIST ? put(buf, cap, len, "%d", list.v[k])
                                         : put_string(buf, cap, len, p->choices[list.v[k]]);
        }
        return rc | put(buf, cap, len, "]");
    }
    case PT_FEATURES:
        return put_features(buf, cap, len, s->data.features);
    case PT_IMAGES:
        return s->data.images ? put_features(buf, cap, len, s->data.images)
                              : put(buf, cap, len, "null");
    }
    return -1;
}

int param_is_default(const Param *p, const RunSpec *s, const RunSpec *defaults) {
    char a[2048], b[2048];
    size_t la = 0, lb = 0;
    if (param_json(p, s, a, sizeof a, &la) != 0 || param_json(p, defaults, b, sizeof b, &lb) != 0)
        return 0;
    return la == lb && memcmp(a, b, la) == 0;
}
