/* merge.h — shard databases into the main one, with a line per shard (the work of
 * `lde merge`, also done by `lde slurm` before it submits and after --wait). */
#ifndef LDE_MERGE_H
#define LDE_MERGE_H

#include "util/err.h"

#include <stdio.h>

/* Merges each of the n shard databases into the database into (created when
 * missing), one transaction per shard (store_merge), printing one summary line per
 * shard and one line per conflict to log. *conflicts counts the conflicting runs
 * (not an error here: the caller decides; lde merge exits 1). */
int merge_shards(const char *into, char *const *shards, int n, FILE *log, int *conflicts, Err *e);

#endif
