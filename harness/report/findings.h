/* findings.h — which of the papers' claims held on this data (issue 19): one line
 * per claim lde can test, computed from the database alone, with its numbers and a
 * verdict. A claim that does not hold is reported as not held with the numbers:
 * that is a result. A claim whose experiment is not in the database (or has no
 * finished run) says so ("no data") instead of guessing.
 *
 * Every number is the AUROC (%) at each run's last evaluation, the mean over
 * seeds (restable.h), except the under-training claim, which follows the mean
 * AUROC over seeds along the evaluations of the run. Thresholds (points of AUROC)
 * are written beside each claim in findings.c with their reason. */
#ifndef LDE_FINDINGS_H
#define LDE_FINDINGS_H

#include "store/store.h"

typedef enum { FIND_NO_DATA, FIND_HELD, FIND_NOT_HELD, FIND_MIXED } Verdict;

enum { FIND_MAX = 8, FIND_TEXT = 1024 };

typedef struct {
    const char *claim;  /* what the paper says */
    const char *source; /* where: "LDE §6.3, Table 3" */
    const char *experiment;
    Verdict verdict;
    char numbers[FIND_TEXT]; /* the evidence, or why there is none */
} Finding;

/* "held", "not held", "mixed", "no data". */
const char *verdict_name(Verdict v);

/* Fills f[0..*n) (at most FIND_MAX) from the open store s (db names the file in
 * messages). Fails only on a database error; missing experiments are FIND_NO_DATA. */
int findings_compute(Store *s, const char *db, Finding *f, int *n, Err *e);

#endif
