/* shard.h — which points of a grid one task of a split run computes
 * (`lde run CONFIG --shard K/N [--runs FILE]`, issue 9).
 *
 * The eligible points are the plan's points in plan order (plan.h), or, with a run
 * list, only those whose id the list holds — still in plan order, whatever the
 * order of the file. Task K of N takes the eligible points whose index i among
 * them (0-based) has i mod N == K. The assignment depends on nothing but the
 * config and the list, so a task started late, or twice, computes exactly the
 * same points, and the N tasks together cover every eligible point once.
 *
 * A run list is a text file, one run id (32 hex digits) per line; blank lines and
 * lines starting with '#' are ignored. `lde slurm` writes one per submission with
 * the points not yet done in the main database, so a resubmission splits only the
 * missing points between its tasks. An id the plan does not have is an error (the
 * config was edited since the list was written). */
#ifndef LDE_SHARD_H
#define LDE_SHARD_H

#include "config/plan.h"
#include "util/err.h"

typedef struct {
    int k, n; /* task k of n, 0 <= k < n; n = 0: the whole grid */
} Shard;

/* Parses "K/N" (0 <= K < N <= 100000); LDE_EINPUT naming what is wrong. */
int shard_parse(const char *text, Shard *s, Err *e);

/* Sets keep[i] (p->n_runs entries) to 1 for the points of plan p that shard s
 * computes, 0 for the others. runs_file NULL: every point is eligible. */
int shard_select(const Plan *p, const Shard *s, const char *runs_file, int *keep, Err *e);

/* Writes the run list path (atomically): the ids of p->runs[todo[0..ntodo-1]]. */
int shard_write_runs(const char *path, const Plan *p, const int *todo, int ntodo, Err *e);

/* The database of task k of an experiment: DIR/<experiment>-<k>.db. */
void shard_db_path(const char *dir, const char *experiment, int k, char *out, size_t n);

/* Where the shards of the main database db live: the folder shards/ beside it
 * (results/lde.db -> results/shards, lde run --shard's default). */
void shard_dir(const char *db, char *out, size_t n);

/* The shard databases of an experiment in dir (<experiment>-<k>.db, k digits only,
 * so "grid" never picks up "grid-x-0.db"), by k. None found (or no dir) is *n = 0.
 * Free with store_strings_free. */
int shard_find(const char *dir, const char *experiment, char ***paths, int *n, Err *e);

#endif
