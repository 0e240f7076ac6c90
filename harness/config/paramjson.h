/* paramjson.h — the canonical JSON of a parameter's value: the text a run id is
 * hashed from (plan.h). One text per value: numbers in their shortest round-trip
 * form (1e-4 and 0.0001, 1 and 1.0 for a float, write the same), files by their
 * content digest, never their path, and the OOD sets of a feature source sorted by
 * name. */
#ifndef LDE_PARAMJSON_H
#define LDE_PARAMJSON_H

#include "config/params.h"

#include <stddef.h>

/* Appends the canonical JSON of p's value in s to buf (of size cap, at *len).
 * Returns 0, or -1 when buf is too small. */
int param_json(const Param *p, const RunSpec *s, char *buf, size_t cap, size_t *len);

/* 1 when p's value in s writes the same canonical JSON as in defaults (a list of
 * epochs is at most 64 numbers, so a fixed buffer holds either). */
int param_is_default(const Param *p, const RunSpec *s, const RunSpec *defaults);

#endif
