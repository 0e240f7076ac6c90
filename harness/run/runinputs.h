/* runinputs.h — a run's input files (issue 23) as the store, the model file and
 * the end-of-run check see them: every user file of its feature or image source
 * with its role, path and content digest (config/featsource.h). The built-in data
 * have none: their parameters name their content.
 *
 * A run reads its files once, when the features are loaded, but its id was made
 * from their digests earlier (lde plan/run hash them first): a file rewritten in
 * between, or while the run trains, would leave results of other bytes under the
 * id. runinputs_check, called before a run is marked done, compares each file's
 * device, inode, size and mtime with those it had when hashed. */
#ifndef LDE_RUNINPUTS_H
#define LDE_RUNINPUTS_H

#include "config/plan.h"
#include "store/store.h"

#include <stddef.h>

typedef struct {
    int n;
    FeatInput in[FEAT_MAX_INPUTS];
    StoreInput rows[FEAT_MAX_INPUTS]; /* point into in[] */
} RunInputs;

/* The files of r into ri (whose rows point into it: keep it in place). */
void runinputs_of(const PlanRun *r, RunInputs *ri);

/* The store's view of every run of p: (*specs)[i] with its inputs in (*inputs)[i].
 * Free both with free(). LDE_ERUN when out of memory. */
int runinputs_specs(const Plan *p, StoreRunSpec **specs, RunInputs **inputs, Err *e);

/* LDE_OK when every file of r is as it was when hashed; LDE_ERUN naming the first
 * one that changed (filedigest_check). */
int runinputs_check(const PlanRun *r, Err *e);

/* "role digest bytes path" lines of r's files into buf (a model file section);
 * returns the length, or -1 when cap is too small. */
long runinputs_text(const PlanRun *r, char *buf, size_t cap);

#endif
