/* version.h — the version and git revision baked into lde at build time (the
 * Makefile writes them into build/.../version.h, which version.c is compiled with).
 * Read by what records provenance: the runner, the feature cache's manifest and
 * `lde --version`. */
#ifndef LDE_VERSION_H
#define LDE_VERSION_H

extern const char lde_version[];
extern const char lde_git_rev[];

#endif
