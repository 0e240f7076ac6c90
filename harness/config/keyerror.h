/* keyerror.h — the error for an unknown YAML key: the nearest valid name by edit
 * distance ("did you mean"), or the list of valid keys. Shared by the parameter
 * table (params.c), the config's top level (config.c) and data.features
 * (featsource.c), which all check keys against a list of candidates. */
#ifndef LDE_KEYERROR_H
#define LDE_KEYERROR_H

#include "config/yamltree.h"
#include "util/err.h"

/* The valid name in cands[0..n) nearest to key by edit distance, or NULL when
 * none is within a third of the key's length (at least 2 edits allowed). */
const char *nearest_name(const char *key, const char *const *cands, int n);

/* "file:line:col: unknown key `k` in WHERE — did you mean `x`?" when a candidate
 * is near, else the list of valid keys. Returns LDE_EINPUT. */
int unknown_key_error(const char *file, const YtNode *k, const char *where,
                      const char *const *cands, int nc, Err *e);

#endif
