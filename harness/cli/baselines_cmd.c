/* baselines_cmd.c — `lde baselines CONFIG`: only the post-hoc baselines of a
 * config's feature sets (issue 7), computed when the database lacks them, then a
 * table of AUROC (%) per method and OOD set, like LDE paper Table 1. With several
 * feature sets (seeds of the backbone) a cell is the mean ± sample std over them. */
#include "baselines/baselines.h"
#include "cli/commands.h"
#include "config/config.h"
#include "config/plan.h"
#include "store/store.h"
#include "util/filedigest.h"
#include "util/paths.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *config, *db, *features;
} BaselinesArgs;

static int parse_args(int argc, char **argv, BaselinesArgs *a, Err *e) {
    *a = (BaselinesArgs){.db = "results/lde.db", .features = "results/features"};
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--db") == 0         ? &a->db
                            : strcmp(argv[i], "--features") == 0 ? &a->features
                                                                 : NULL;
        if (slot) {
            if (i + 1 >= argc)
                return fail(e, LDE_EINPUT, "%s needs a value (lde baselines --help)", argv[i]);
            *slot = argv[++i];
        } else if (argv[i][0] == '-') {
            return fail(e, LDE_EINPUT, "unknown option %s (lde baselines --help)", argv[i]);
        } else if (a->config) {
            return fail(e, LDE_EINPUT, "one config at a time (got %s and %s)", a->config, argv[i]);
        } else {
            a->config = argv[i];
        }
    }
    if (!a->config) return fail(e, LDE_EINPUT, "no config given (lde baselines CONFIG.yaml)");
    return LDE_OK;
}

/* The OOD set names of run r, in the config's order: the table's columns. */
static int ood_columns(const RunSpec *r, const char **names) {
    const FeatureSource *src = r->data.features;
    if (!src->builtin) {
        for (int i = 0; i < src->n_ood; i++) names[i] = src->ood[i].name;
        return src->n_ood;
    }
    for (int i = 0; i < r->data.ood.n; i++) names[i] = ood_set_name(r->data.ood.v[i]);
    return r->data.ood.n;
}

/* The stored baselines of one feature key. */
typedef struct {
    StoreBaselineRow *rows;
    int n;
} KeyRows;

/* One cell: the AUROC of (label, ood) over every key that has it. */
static void print_cell(const KeyRows *kr, int nkeys, const char *label, const char *ood) {
    double sum = 0, sq = 0;
    int n = 0;
    for (int k = 0; k < nkeys; k++)
        for (int r = 0; r < kr[k].n; r++)
            if (!strcmp(kr[k].rows[r].method, label) && !strcmp(kr[k].rows[r].ood, ood)) {
                double v = 100.0 * kr[k].rows[r].metrics.auroc;
                sum += v, sq += v * v, n++;
            }
    char cell[64];
    if (n == 0)
        snprintf(cell, sizeof cell, "n/a");
    else if (n == 1)
        snprintf(cell, sizeof cell, "%.2f", sum);
    else {
        double mean = sum / n, var = (sq - n * mean * mean) / (n - 1);
        snprintf(cell, sizeof cell, "%.2f ± %.2f", mean, sqrt(var > 0 ? var : 0));
    }
    printf(" | %-15s", cell);
}

static int print_table(Store *st, const Plan *p, const BaselineSpec *b, int nb,
                       char (*keys)[FEAT_KEY_SIZE], int nkeys, Err *e) {
    const char *cols[FEAT_MAX_OOD];
    int ncols = ood_columns(&p->runs[0].spec, cols);
    KeyRows *kr = calloc((size_t)nkeys, sizeof *kr);
    if (!kr) return fail(e, LDE_ERUN, "out of memory reading the baselines");
    int rc = LDE_OK;
    for (int k = 0; rc == LDE_OK && k < nkeys; k++)
        rc = store_get_baselines(st, keys[k], &kr[k].rows, &kr[k].n, e);
    if (rc == LDE_OK) {
        printf("\nAUROC %% (OOD = positive, ID = val), %d feature set%s%s\n\n", nkeys,
               nkeys == 1 ? "" : "s", nkeys > 1 ? ": mean ± std" : "");
        printf("| %-24s", "method");
        for (int c = 0; c < ncols; c++) printf(" | %-15s", cols[c]);
        printf(" |\n|%s", "--------------------------");
        for (int c = 0; c < ncols; c++) printf("|%s", "-----------------");
        printf("|\n");
        for (int j = 0; j < nb; j++) {
            char label[160];
            baseline_label(&b[j], label, sizeof label);
            printf("| %-24s", label);
            for (int c = 0; c < ncols; c++) print_cell(kr, nkeys, label, cols[c]);
            printf(" |\n");
        }
    }
    for (int k = 0; k < nkeys; k++) store_baselines_free(kr[k].rows, kr[k].n);
    free(kr);
    return rc;
}

static int baselines_main(int argc, char **argv, Err *e) {
    BaselinesArgs a;
    int rc = parse_args(argc, argv, &a, e);
    if (rc != LDE_OK) return rc;
    Config c;
    if ((rc = config_load(a.config, &c, e)) != LDE_OK) return rc;
    /* A config without `baselines:` gets every method with its defaults. */
    BaselineSpec all[BL_COUNT];
    const BaselineSpec *b = c.baselines;
    int nb = c.n_baselines;
    if (nb == 0) {
        for (int m = 0; m < BL_COUNT; m++) all[m] = baseline_default((BaselineMethod)m);
        b = all, nb = BL_COUNT;
    }
    Plan p;
    Store *st = NULL;
    char(*keys)[FEAT_KEY_SIZE] = NULL;
    int nkeys = 0, computed = 0;
    filedigest_cache_beside(a.db);
    if ((rc = plan_build(&c, &p, e)) != LDE_OK) {
        config_free(&c);
        return rc;
    }
    char dir[4096];
    paths_dirname(a.db, dir, sizeof dir);
    rc = paths_mkdirs(dir, e);
    if (rc == LDE_OK) rc = store_open(a.db, &st, e);
    if (rc == LDE_OK && !(keys = calloc((size_t)p.n_runs, FEAT_KEY_SIZE)))
        rc = fail(e, LDE_ERUN, "out of memory planning the baselines");
    if (rc == LDE_OK)
        rc = baselines_for_plan(c.name, &p, b, nb, a.features, st, keys, &nkeys, &computed, e);
    if (rc == LDE_OK) {
        fprintf(stderr, "%s: %d feature set%s, %d baseline%s computed\n", c.name, nkeys,
                nkeys == 1 ? "" : "s", computed, computed == 1 ? "" : "s");
        rc = print_table(st, &p, b, nb, keys, nkeys, e);
    }
    free(keys);
    if (st) store_close(st);
    plan_free(&p);
    config_free(&c);
    return rc;
}

const Command cmd_baselines = {
    "baselines",
    "compute and show a config's post-hoc baselines (MSP, Energy, ODIN, ...)",
    "usage: lde baselines CONFIG.yaml [--db PATH] [--features DIR]\n"
    "\n"
    "Computes the baselines listed under `baselines:` in CONFIG (all six with their\n"
    "defaults when it lists none) for every distinct feature set of its grid, unless\n"
    "the database has them already, and prints AUROC (%) per method and OOD set\n"
    "(mean ± std over feature sets, e.g. backbone seeds). Trains no flow.\n"
    "\n"
    "  msp          −max softmax(logits)\n"
    "  energy       −T·logsumexp(logits / T), T = 1\n"
    "  odin         T = 1000, input step eps = 0.0014 (built-in features only)\n"
    "  react        clip at the 90th percentile of ID train activations, then energy\n"
    "  mahalanobis  min over classes, shared covariance + 1e-6·trace/d ridge\n"
    "  knn          distance to the k-th (50) nearest L2-normalised train feature\n"
    "\nA score is higher for more OOD; a method with other options is stored and shown\n"
    "as e.g. knn[k=10].\n"
    "\n"
    "User features need data.features.head (msp, energy, react) and train_labels\n"
    "(mahalanobis); a method that cannot run is reported, not silently skipped.\n"
    "\n"
    "  --db PATH       the database (default results/lde.db)\n"
    "  --features DIR  the feature cache (default results/features)\n"
    "\n"
    "exit: 0 done, 1 a computation failed, 2 bad input\n",
    baselines_main,
};
