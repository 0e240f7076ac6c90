/* plan_baselines.c — the baselines of every distinct feature set of a plan, for
 * lde run (before the flows) and lde baselines (see baselines.h). */
#include "baselines/baselines.h"

#include <stdio.h>
#include <string.h>

int baselines_for_plan(const char *experiment, const Plan *p, const BaselineSpec *b, int nb,
                       const char *features_root, Store *st, char (*keys)[FEAT_KEY_SIZE],
                       int *nkeys, int *computed, Err *e) {
    int n = 0, rc = LDE_OK;
    if (computed) *computed = 0;
    for (int i = 0; i < p->n_runs && rc == LDE_OK; i++) {
        /* A flow on pixels has no classifier: no baseline applies to its images. */
        if (p->runs[i].spec.data.features->pixels) continue;
        int j = 0;
        while (j < i && !featureset_same_source(&p->runs[j], &p->runs[i])) j++;
        if (j < i) continue; /* an earlier run reads the same features */
        FeatureSet fs;
        if ((rc = featureset_load(&p->runs[i].spec, features_root, &fs, e)) != LDE_OK) break;
        int done = 0;
        rc = store_link_features(st, experiment, fs.key, e);
        if (rc == LDE_OK) rc = baselines_ensure(st, &fs, b, nb, &done, e);
        if (computed) *computed += done;
        if (keys) snprintf(keys[n], FEAT_KEY_SIZE, "%s", fs.key);
        n++;
        featureset_free(&fs);
    }
    if (nkeys) *nkeys = n;
    return rc;
}
