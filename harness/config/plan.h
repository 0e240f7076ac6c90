/* plan.h — the grid of a config, expanded into runs with stable ids.
 *
 * The plan is the Cartesian product of the config's axes in file order (the first
 * axis varies slowest), each point overlaid on the fixed settings and the
 * defaults. A run's id is the XXH3-128 hash (32 hex digits) of its canonical
 * parameters: JSON of every parameter, keys sorted, numbers in their shortest
 * round-trip form (1e-4 == 0.0001; 1 == 1.0 for a float parameter), derived
 * values resolved (eval_every), the seed included. So the same point reached from
 * two files has the same id, and a point written twice in one grid runs once.
 * Parameters that only shape the built-in features are left out for user
 * features. User files (features, images) enter as the XXH3-128 digests of their
 * bytes, not their paths (issue 23): the same data copied, moved or mounted
 * elsewhere is the same run, and changed bytes are a new one. The built-in data
 * enter by name, their content fixed by the data.backbone parameters. */
#ifndef LDE_PLAN_H
#define LDE_PLAN_H

#include "config/config.h"

enum { PLAN_MAX_RUNS = 10000 };

typedef struct {
    char id[33];       /* hex XXH3-128 of params_json */
    char *params_json; /* canonical parameters, as stored in runs.params_json */
    RunSpec spec;      /* points into the Config's feature sources */
    char **values;     /* canonical JSON of each params[i] value (NULL if left out) */
} PlanRun;

typedef struct {
    int n_runs;
    PlanRun *runs;
    int n_varying;
    int *varying; /* indices into params[] whose value differs between runs, in axis order */
} Plan;

/* Hashes the config's user files (featsource_digest), then expands c (which must
 * outlive p) and checks every point (runspec_finish). The
 * first bad point is an LDE_EINPUT naming file:line:col. More than PLAN_MAX_RUNS
 * points is an error. */
int plan_build(const Config *c, Plan *p, Err *e);

/* The canonical JSON text of params[param] in run, or NULL when it is left out
 * (built-in-only parameters of a run on user features). */
const char *plan_value(const PlanRun *run, int param);
void plan_free(Plan *p);

#endif
