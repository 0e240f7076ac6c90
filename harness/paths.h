/* paths.h — creating the directories lde writes into (results/, results/models,
 * the database's directory). */
#ifndef LDE_PATHS_H
#define LDE_PATHS_H

#include "err.h"

/* mkdir -p path; LDE_ERUN naming the component that cannot be created. */
int make_dirs(const char *path, Err *e);

/* make_dirs of the directory part of a file path (nothing for a bare file name). */
int make_parent_dirs(const char *file, Err *e);

#endif
