/* yamltree.h — a YAML document as a tree of nodes that remember where they came from.
 *
 * libyaml's event parser builds the tree; every node keeps its 1-based line and
 * column so that any later error (wrong type, unknown key, impossible value) can
 * name file:line:column. Only what a config needs is kept: scalars (with whether
 * they were quoted), sequences and mappings whose keys are plain scalars.
 *
 * Invariants: a mapping never holds the same key twice (a duplicate is an error
 * naming both places); aliases are refused (no "billion laughs"); the document is
 * at most YT_MAX_BYTES long, YT_MAX_DEPTH deep, with at most YT_MAX_NODES nodes
 * and YT_MAX_KEYS keys per mapping, so a hostile file cannot make the loader use
 * unbounded memory, stack or time. */
#ifndef LDE_YAMLTREE_H
#define LDE_YAMLTREE_H

#include "util/err.h"

#include <stddef.h>

/* Limits: a config is a few kilobytes; these refuse hostile files early. A mapping
 * is capped because the duplicate-key check compares each key with its siblings. */
enum { YT_MAX_BYTES = 1 << 20, YT_MAX_DEPTH = 32, YT_MAX_NODES = 200000, YT_MAX_KEYS = 1000 };

typedef enum { YT_SCALAR, YT_SEQ, YT_MAP } YtKind;

typedef struct YtNode {
    YtKind kind;
    int line, col;        /* 1-based position of the node's first character */
    char *str;            /* YT_SCALAR: the value (NUL-terminated); NULL otherwise */
    int quoted;           /* YT_SCALAR: written '...', "..." or as a block scalar */
    int n;                /* YT_SEQ: items; YT_MAP: key/value pairs */
    struct YtNode **keys; /* YT_MAP: n scalar keys, in file order */
    struct YtNode **vals; /* YT_SEQ items or YT_MAP values, in file order */
} YtNode;

/* Parses text[0..len) (named `file` in messages) into *root. An empty document
 * gives *root = NULL and LDE_OK. Errors (LDE_EINPUT): syntax (file:line:col and
 * libyaml's reason), duplicate key, alias, more than one document, too deep, too
 * many nodes, too long. */
int yt_parse(const char *text, size_t len, const char *file, YtNode **root, Err *e);

/* Reads a whole regular file of at most YT_MAX_BYTES into *text (NUL-terminated,
 * caller frees) and parses it. A missing file, a directory or an oversized file
 * is LDE_EINPUT naming the path. */
int yt_load_file(const char *path, char **text, YtNode **root, Err *e);

void yt_free(YtNode *n);

/* The value for key in a mapping (NULL when absent or when map is not a mapping). */
const YtNode *yt_get(const YtNode *map, const char *key);

/* True for a plain empty scalar, `~` or `null`: YAML's null. */
int yt_is_null(const YtNode *n);

/* "a mapping", "a list", "nothing" (an empty plain scalar) or "the value `x`":
 * the words an error message uses for what was found. Writes into buf. */
const char *yt_describe(const YtNode *n, char *buf, size_t size);

#endif
