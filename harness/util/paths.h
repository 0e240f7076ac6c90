/* paths.h — the two path chores of commands that write under results/: creating a
 * folder with its parents, and the folder part of a file path. */
#ifndef LDE_PATHS_H
#define LDE_PATHS_H

#include "util/err.h"

#include <stddef.h>

/* mkdir -p path; LDE_ERUN naming the first folder that cannot be created. */
int paths_mkdirs(const char *path, Err *e);

/* The folder part of a file path into out ("." when it has none). */
void paths_dirname(const char *path, char *out, size_t n);

#endif
