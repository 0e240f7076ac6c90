/* keyerror.c — see keyerror.h. */
#include "config/keyerror.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levenshtein distance with one row of the DP table (names are short). */
static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *nearest_name(const char *key, const char *const *cands, int n) {
    const char *best = NULL;
    int bestd = INT_MAX;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(key, cands[i]);
        if (d < bestd) bestd = d, best = cands[i];
    }
    int allowed = (int)strlen(key) / 3;
    if (allowed < 2) allowed = 2;
    return bestd <= allowed ? best : NULL;
}

int unknown_key_error(const char *file, const YtNode *k, const char *where,
                      const char *const *cands, int nc, Err *e) {
    const char *near = nearest_name(k->str, cands, nc);
    if (near)
        return fail(e, LDE_EINPUT, "%s:%d:%d: unknown key `%s` in %s — did you mean `%s`?", file,
                    k->line, k->col, k->str, where, near);
    char list[512] = "";
    for (int i = 0; i < nc; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", cands[i]);
    }
    return fail(e, LDE_EINPUT, "%s:%d:%d: unknown key `%s` in %s; valid keys: %s", file, k->line,
                k->col, k->str, where, list);
}
