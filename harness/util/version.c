/* version.c — the values of version.h. The Makefile compiles this one file with
 * -include build/.../version.h, which it rewrites only when the version or the git
 * revision changes, so a new commit rebuilds one object. */
#include "util/version.h"

#ifndef LDE_VERSION
#define LDE_VERSION "unknown"
#endif
#ifndef LDE_GIT_REV
#define LDE_GIT_REV "unknown"
#endif

const char lde_version[] = LDE_VERSION;
const char lde_git_rev[] = LDE_GIT_REV;
