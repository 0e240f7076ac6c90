/* report_cmd.h — `lde report`'s work as a function, for `lde paper`, which writes
 * every paper experiment's report and then embeds the same figures in its page. */
#ifndef LDE_REPORT_CMD_H
#define LDE_REPORT_CMD_H

#include "report/plot.h"

#include <stddef.h>

/* Draws experiment's figures into OUT/EXPERIMENT (returned in dir) and writes
 * report.md beside them; figs receives the figures drawn (the caller frees it).
 * all: stale runs too (lde report --all). gnuplot must be there (gnuplot_check). */
int report_experiment(const char *db, const char *experiment, int all, const char *out,
                      FigList *figs, char *dir, size_t ndir, Err *e);

#endif
