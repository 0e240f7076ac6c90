/* config.h — an experiment config (YAML), loaded and validated before anything runs.
 *
 * config_load reads the file, checks every key against the parameter table
 * (params.h; a misspelt key gets the nearest valid one), parses every value
 * (types, ranges, choices, .npy headers of user features) and splits the
 * parameters into fixed settings and grid axes:
 *   - a list under seed / data / preprocess / flow / train is an axis, except for
 *     list-valued parameters (data.ood, data.id_classes, data.backbone.channels)
 *     whose list is their value — a list of lists makes those an axis;
 *   - `zip:` (a mapping "section.key: [values]", or a list of such mappings) makes
 *     one axis whose keys vary together; the lists must have equal lengths.
 * Axes keep file order (a zip group sits where `zip:` is). plan.h expands them.
 * Any error is LDE_EINPUT with file:line:column; a failed load owns nothing. */
#ifndef LDE_CONFIG_H
#define LDE_CONFIG_H

#include "config/params.h"
#include "config/yamltree.h"
#include "util/err.h"

typedef enum {
    BL_MSP,
    BL_ENERGY,
    BL_ODIN,
    BL_REACT,
    BL_MAHALANOBIS,
    BL_KNN,
    BL_COUNT
} BaselineMethod;

/* One post-hoc baseline and its options (defaults: energy and react T = 1,
 * odin T = 1000 and eps = 0.0014, react percentile 90, knn k = 50). */
typedef struct {
    BaselineMethod method;
    double T;          /* energy, odin, react: softmax / logsumexp temperature */
    double eps;        /* odin: input perturbation */
    double percentile; /* react: clip features at this percentile of ID activations */
    int k;             /* knn: neighbour rank */
} BaselineSpec;

/* A parameter set by the config: which one, where, and its parsed value. */
typedef struct {
    int param; /* index into params[] */
    const YtNode *node;
    ParamValue value;
} Setting;

/* One grid axis: n_keys parameters (1, or a zip group) taking n_values values
 * together; values[v * n_keys + k] is key k's v-th value. */
typedef struct {
    int n_keys, n_values;
    Setting *values;
} Axis;

typedef struct {
    char path[4096];
    char name[64]; /* `experiment:`, or the file's base name without .yaml */
    char *yaml;    /* the file's text, as stored with the experiment */
    YtNode *root;
    int n_fixed;
    Setting *fixed;
    int n_axes;
    Axis *axes;
    int n_baselines;
    BaselineSpec baselines[BL_COUNT]; /* in the order the config lists them */
} Config;

int config_load(const char *path, Config *c, Err *e);
void config_free(Config *c);

/* Method m with the defaults above. */
BaselineSpec baseline_default(BaselineMethod m);

/* "msp", "energy", "odin", "react", "mahalanobis", "knn". */
const char *baseline_name(BaselineMethod m);

#endif
