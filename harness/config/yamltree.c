/* yamltree.c — builds a YtNode tree from libyaml events (see yamltree.h). */
#include "config/yamltree.h"

#include <yaml.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The parse in progress: a stack of open collections, deepest last. */
typedef struct {
    const char *file;
    YtNode *stack[YT_MAX_DEPTH + 1];
    int depth;
    long nodes;
    YtNode *root;
    Err *e;
} Builder;

void yt_free(YtNode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys) yt_free(n->keys[i]);
        yt_free(n->vals[i]);
    }
    if (n->keys) yt_free(n->keys[n->n]); /* a key still waiting for its value */
    free(n->keys);
    free(n->vals);
    free(n->str);
    free(n);
}

static YtNode *node_new(YtKind kind, yaml_mark_t mark) {
    YtNode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

/* Appends child to the open collection on top of the stack (or makes it the root).
 * In a mapping, children alternate key, value; a key must be a scalar not seen
 * before in that mapping. Takes ownership of child in every case. */
static int attach(Builder *b, YtNode *child) {
    if (++b->nodes > YT_MAX_NODES) {
        int rc =
            fail(b->e, LDE_EINPUT, "%s:%d:%d: more than %d YAML nodes; a config is far smaller",
                 b->file, child->line, child->col, YT_MAX_NODES);
        yt_free(child);
        return rc;
    }
    if (b->depth == 0) {
        if (b->root) { /* libyaml gives one root per document; be safe anyway */
            int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: a second YAML document; a config is one",
                          b->file, child->line, child->col);
            yt_free(child);
            return rc;
        }
        b->root = child;
        return LDE_OK;
    }
    YtNode *p = b->stack[b->depth - 1];
    /* A mapping stores keys[i] before vals[i]: p->n counts complete pairs, and a
     * key waiting for its value sits at keys[p->n] with vals[p->n] == NULL. */
    int want_key = p->kind == YT_MAP && (p->keys == NULL || p->keys[p->n] == NULL);
    if (want_key) {
        if (child->kind != YT_SCALAR) {
            int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: a mapping key must be a plain name, not %s",
                          b->file, child->line, child->col,
                          child->kind == YT_MAP ? "a mapping" : "a list");
            yt_free(child);
            return rc;
        }
        if (p->n >= YT_MAX_KEYS) {
            int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: a mapping with more than %d keys", b->file,
                          child->line, child->col, YT_MAX_KEYS);
            yt_free(child);
            return rc;
        }
        for (int i = 0; i < p->n; i++) {
            if (strcmp(p->keys[i]->str, child->str) != 0) continue;
            int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: duplicate key `%s` (first at line %d:%d)",
                          b->file, child->line, child->col, child->str, p->keys[i]->line,
                          p->keys[i]->col);
            yt_free(child);
            return rc;
        }
    }
    /* Grow to n+1 slots (+1 spare so keys[n] can be tested for a pending key). */
    YtNode **vals = realloc(p->vals, (size_t)(p->n + 2) * sizeof(YtNode *));
    if (vals) p->vals = vals;
    YtNode **keys =
        p->kind == YT_MAP ? realloc(p->keys, (size_t)(p->n + 2) * sizeof(YtNode *)) : NULL;
    if (keys && !p->keys) keys[0] = NULL; /* a fresh array: no pending key, for yt_free */
    if (keys) p->keys = keys;
    if (!vals || (p->kind == YT_MAP && !keys)) {
        yt_free(child);
        return fail(b->e, LDE_EINPUT, "%s: out of memory while parsing", b->file);
    }
    if (p->kind == YT_SEQ) {
        p->vals[p->n++] = child;
    } else if (want_key) {
        p->keys[p->n] = child;
        p->vals[p->n] = NULL;
    } else {
        p->vals[p->n++] = child;
        p->keys[p->n] = NULL;
    }
    return LDE_OK;
}

static int push(Builder *b, YtNode *n) {
    if (b->depth >= YT_MAX_DEPTH) {
        int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: nested deeper than %d levels", b->file, n->line,
                      n->col, YT_MAX_DEPTH);
        yt_free(n);
        return rc;
    }
    int rc = attach(b, n);
    if (rc != LDE_OK) return rc;
    b->stack[b->depth++] = n;
    return LDE_OK;
}

static int on_event(Builder *b, const yaml_event_t *ev, int *documents) {
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*documents > 1)
            return fail(b->e, LDE_EINPUT, "%s:%d:%d: a second YAML document; a config is one",
                        b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1);
        return LDE_OK;
    case YAML_ALIAS_EVENT:
        return fail(b->e, LDE_EINPUT, "%s:%d:%d: YAML aliases (*%s) are not supported in a config",
                    b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT: {
        YtNode *n = node_new(YT_SCALAR, ev->start_mark);
        if (n) n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n || !n->str) {
            yt_free(n);
            return fail(b->e, LDE_EINPUT, "%s: out of memory while parsing", b->file);
        }
        if (strlen(n->str) != ev->data.scalar.length) {
            int rc = fail(b->e, LDE_EINPUT, "%s:%d:%d: a NUL character inside a value", b->file,
                          n->line, n->col);
            yt_free(n);
            return rc;
        }
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        return attach(b, n);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        YtNode *n =
            node_new(ev->type == YAML_SEQUENCE_START_EVENT ? YT_SEQ : YT_MAP, ev->start_mark);
        if (!n) return fail(b->e, LDE_EINPUT, "%s: out of memory while parsing", b->file);
        return push(b, n);
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0) b->depth--;
        return LDE_OK;
    default:
        return LDE_OK;
    }
}

int yt_parse(const char *text, size_t len, const char *file, YtNode **root, Err *e) {
    *root = NULL;
    if (len > YT_MAX_BYTES)
        return fail(e, LDE_EINPUT, "%s: %zu bytes; a config may be at most %d bytes", file, len,
                    YT_MAX_BYTES);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return fail(e, LDE_EINPUT, "%s: cannot initialise the YAML parser", file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    Builder b = {.file = file, .e = e};
    int rc = LDE_OK, documents = 0, done = 0;
    while (!done && rc == LDE_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = fail(e, LDE_EINPUT, "%s:%d:%d: YAML syntax error: %s%s%s", file,
                      (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                      parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                      parser.context ? parser.context : "");
            break;
        }
        rc = on_event(&b, &ev, &documents);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc != LDE_OK) {
        yt_free(b.root);
        return rc;
    }
    *root = b.root;
    return LDE_OK;
}

int yt_load_file(const char *path, char **text, YtNode **root, Err *e) {
    *text = NULL;
    *root = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(e, LDE_EINPUT, "%s: cannot open config: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(e, LDE_EINPUT, "%s: is a directory, expected a YAML config file", path);
    if (!S_ISREG(st.st_mode))
        return fail(e, LDE_EINPUT, "%s: not a regular file, expected a YAML config file", path);
    if (st.st_size > YT_MAX_BYTES)
        return fail(e, LDE_EINPUT, "%s: %lld bytes; a config may be at most %d bytes", path,
                    (long long)st.st_size, YT_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(e, LDE_EINPUT, "%s: cannot open config: %s", path, strerror(errno));
    char *buf = malloc(YT_MAX_BYTES + 2);
    /* Read one byte more than the cap: a file that grew since stat is still refused. */
    size_t n = buf ? fread(buf, 1, YT_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return fail(e, LDE_EINPUT, "%s: cannot read config", path);
    }
    buf[n] = 0;
    int rc = yt_parse(buf, n, path, root, e);
    if (rc != LDE_OK) {
        free(buf);
        return rc;
    }
    *text = buf;
    return LDE_OK;
}

const YtNode *yt_get(const YtNode *map, const char *key) {
    if (!map || map->kind != YT_MAP) return NULL;
    for (int i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0) return map->vals[i];
    return NULL;
}

int yt_is_null(const YtNode *n) {
    if (!n || n->kind != YT_SCALAR || n->quoted) return 0;
    const char *s = n->str;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *yt_describe(const YtNode *n, char *buf, size_t size) {
    if (n->kind == YT_MAP)
        snprintf(buf, size, "a mapping");
    else if (n->kind == YT_SEQ)
        snprintf(buf, size, "a list");
    else if (yt_is_null(n))
        snprintf(buf, size, "nothing");
    else if (strlen(n->str) > 40)
        snprintf(buf, size, "`%.40s...`", n->str);
    else
        snprintf(buf, size, "%s`%s`", n->quoted ? "the string " : "", n->str);
    return buf;
}
