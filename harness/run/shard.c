/* shard.c — a grid split between tasks (see shard.h). */
#include "run/shard.h"

#include "util/atomicfile.h"
#include "util/paths.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SHARD_MAX_TASKS = 100000 };

int shard_parse(const char *text, Shard *s, Err *e) {
    char *end;
    long k = strtol(text, &end, 10), n = 0;
    if (end != text && *end == '/') {
        const char *ns = end + 1;
        n = strtol(ns, &end, 10);
        if (end == ns) n = 0;
    }
    if (*end || n < 1 || n > SHARD_MAX_TASKS || k < 0 || k >= n)
        return fail(e, LDE_EINPUT, "--shard %s: expected K/N with 0 <= K < N <= %d (e.g. 0/4)",
                    text, SHARD_MAX_TASKS);
    s->k = (int)k, s->n = (int)n;
    return LDE_OK;
}

/* Index of id among the plan's runs, -1 when absent. */
static int plan_index(const Plan *p, const char *id) {
    for (int i = 0; i < p->n_runs; i++)
        if (strcmp(p->runs[i].id, id) == 0) return i;
    return -1;
}

/* Sets listed[i] = 1 for every plan point the run list names. */
static int read_runs(const char *path, const Plan *p, int *listed, Err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return fail(e, LDE_EINPUT, "%s: cannot open the run list", path);
    char line[256];
    int rc = LDE_OK;
    for (long no = 1; rc == LDE_OK && fgets(line, sizeof line, f); no++) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        int i = plan_index(p, line);
        if (i < 0)
            rc = fail(e, LDE_EINPUT,
                      "%s:%ld: run %.40s is not in the config's plan (was the config edited "
                      "after the list was written?)",
                      path, no, line);
        else
            listed[i] = 1;
    }
    fclose(f);
    return rc;
}

int shard_select(const Plan *p, const Shard *s, const char *runs_file, int *keep, Err *e) {
    for (int i = 0; i < p->n_runs; i++) keep[i] = 1;
    if (runs_file) {
        memset(keep, 0, sizeof *keep * (size_t)p->n_runs);
        int rc = read_runs(runs_file, p, keep, e);
        if (rc != LDE_OK) return rc;
    }
    if (s->n == 0) return LDE_OK;
    /* index among the eligible points, in plan order */
    for (int i = 0, eligible = 0; i < p->n_runs; i++)
        if (keep[i]) keep[i] = eligible++ % s->n == s->k;
    return LDE_OK;
}

int shard_write_runs(const char *path, const Plan *p, const int *todo, int ntodo, Err *e) {
    AtomicFile a;
    int rc = atomic_open(&a, path, e);
    if (rc != LDE_OK) return rc;
    fprintf(a.f, "# lde run list: %d run id(s), one per line (shard.h)\n", ntodo);
    for (int k = 0; k < ntodo; k++) fprintf(a.f, "%s\n", p->runs[todo[k]].id);
    return atomic_commit(&a, e);
}

void shard_db_path(const char *dir, const char *experiment, int k, char *out, size_t n) {
    snprintf(out, n, "%s/%s-%d.db", dir, experiment, k);
}

void shard_dir(const char *db, char *out, size_t n) {
    char dir[4096];
    paths_dirname(db, dir, sizeof dir);
    snprintf(out, n, "%s/shards", dir);
}

/* k when name is "<experiment>-<k>.db", else -1. */
static long shard_number(const char *name, const char *experiment) {
    size_t len = strlen(experiment);
    if (strncmp(name, experiment, len) != 0 || name[len] != '-') return -1;
    const char *digits = name + len + 1;
    char *end;
    long k = strtol(digits, &end, 10);
    if (end == digits || *digits < '0' || *digits > '9' || strcmp(end, ".db") != 0) return -1;
    return k;
}

typedef struct {
    long k;
    char *path;
} Found;

static int by_k(const void *a, const void *b) {
    long x = ((const Found *)a)->k, y = ((const Found *)b)->k;
    return (x > y) - (x < y);
}

int shard_find(const char *dir, const char *experiment, char ***paths, int *n, Err *e) {
    *paths = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d) return LDE_OK;
    Found *found = NULL;
    int count = 0, rc = LDE_OK;
    struct dirent *ent;
    while (rc == LDE_OK && (ent = readdir(d))) {
        long k = shard_number(ent->d_name, experiment);
        if (k < 0) continue;
        Found *grown = realloc(found, sizeof *found * (size_t)(count + 1));
        size_t len = strlen(dir) + strlen(ent->d_name) + 2;
        char *path = malloc(len);
        if (grown) found = grown;
        if (!grown || !path) {
            free(path);
            rc = fail(e, LDE_ERUN, "out of memory listing %s", dir);
            break;
        }
        snprintf(path, len, "%s/%s", dir, ent->d_name);
        found[count++] = (Found){k, path};
    }
    closedir(d);
    if (count) qsort(found, (size_t)count, sizeof *found, by_k);
    char **out = rc == LDE_OK ? malloc(sizeof *out * (size_t)(count + 1)) : NULL;
    if (rc == LDE_OK && !out) rc = fail(e, LDE_ERUN, "out of memory listing %s", dir);
    for (int i = 0; i < count; i++) {
        if (out)
            out[i] = found[i].path;
        else
            free(found[i].path);
    }
    free(found);
    if (rc == LDE_OK) *paths = out, *n = count;
    return rc;
}
