/* merge.c — `lde merge [--into DB] SHARD.db... | --experiment E`: the databases that
 * the tasks of a split grid wrote (lde run --shard) copied into the main database
 * (store_merge: one transaction per shard, done runs never overwritten, conflicts
 * reported). Merging twice changes nothing. Exit 1 when a run is done in two
 * databases with different results. */
#include "cli/merge.h"

#include "cli/commands.h"
#include "run/shard.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const char MERGE_USAGE[] =
    "usage: lde merge [--into DB] SHARD.db...\n"
    "       lde merge [--into DB] --experiment NAME\n"
    "\n"
    "Copies the runs, evaluations, per-sample scores, experiments and baselines of\n"
    "shard databases (lde run --shard, lde slurm) into the main database, one\n"
    "transaction per shard. A run already done in DB is kept; a run done in DB and in\n"
    "a shard with different numbers is a conflict: it is reported, DB keeps its own,\n"
    "and the exit status is 1. Merging the same shard again changes nothing.\n"
    "\n"
    "  --into DB          the main database (default results/lde.db; created if missing)\n"
    "  --experiment NAME  merge every shard of NAME: the files NAME-K.db in shards/\n"
    "                     beside DB (results/shards by default)\n";

int merge_shards(const char *into, char *const *shards, int n, FILE *log, int *conflicts, Err *e) {
    *conflicts = 0;
    Store *s;
    int rc = store_open(into, &s, e);
    for (int i = 0; i < n && rc == LDE_OK; i++) {
        StoreMergeReport r;
        if ((rc = store_merge(s, shards[i], &r, e)) != LDE_OK) break;
        fprintf(log, "%s: %d run(s) copied, %d kept, %d running (not copied), %d conflict(s)\n",
                shards[i], r.copied, r.kept, r.running, r.n_conflicts);
        for (int c = 0; c < r.n_conflicts; c++)
            fprintf(log,
                    "conflict: run %s is done in %s and in %s with different results; "
                    "kept the one in %s\n",
                    r.conflicts[c], into, shards[i], into);
        *conflicts += r.n_conflicts;
        store_strings_free(r.conflicts, r.n_conflicts);
    }
    store_close(s);
    return rc;
}

static int merge_run(int argc, char **argv, Err *e) {
    const char *into = "results/lde.db", *experiment = NULL;
    char **shards = calloc((size_t)argc, sizeof *shards);
    if (!shards) return fail(e, LDE_ERUN, "out of memory");
    int n = 0, found = 0, rc = LDE_OK;
    for (int i = 1; i < argc && rc == LDE_OK; i++) {
        const char **slot = strcmp(argv[i], "--into") == 0         ? &into
                            : strcmp(argv[i], "--experiment") == 0 ? &experiment
                                                                   : NULL;
        if (slot && i + 1 < argc)
            *slot = argv[++i];
        else if (slot)
            rc = fail(e, LDE_EINPUT, "%s needs a value (lde merge --help)", argv[i]);
        else if (argv[i][0] == '-')
            rc = fail(e, LDE_EINPUT, "unknown option %s (lde merge --help)", argv[i]);
        else
            shards[n++] = argv[i];
    }
    if (rc == LDE_OK && !n && !experiment)
        rc = fail(e, LDE_EINPUT, "nothing to merge: give SHARD.db files or --experiment NAME");
    if (rc == LDE_OK && n && experiment)
        rc = fail(e, LDE_EINPUT, "give SHARD.db files or --experiment, not both");
    char **listed = NULL;
    if (rc == LDE_OK && experiment) {
        char dir[4096];
        shard_dir(into, dir, sizeof dir);
        rc = shard_find(dir, experiment, &listed, &found, e);
        if (rc == LDE_OK && !found)
            rc = fail(e, LDE_EINPUT, "%s: no shard databases %s-K.db here", dir, experiment);
    }
    int conflicts = 0;
    if (rc == LDE_OK)
        rc = merge_shards(into, experiment ? listed : shards, experiment ? found : n, stderr,
                          &conflicts, e);
    if (rc == LDE_OK && conflicts)
        rc = fail(e, LDE_ERUN, "%d conflicting run(s) (see above); %s kept its own", conflicts,
                  into);
    store_strings_free(listed, found);
    free(shards);
    return rc;
}

const Command cmd_merge = {
    .name = "merge",
    .summary = "copy shard databases (lde run --shard, lde slurm) into the main one",
    .usage = MERGE_USAGE,
    .run = merge_run,
};
