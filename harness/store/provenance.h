/* provenance.h — where and with what a run was computed, recorded with every run
 * so that a number in the database can be traced to the code and machine that
 * made it. */
#ifndef LDE_PROVENANCE_H
#define LDE_PROVENANCE_H

typedef struct Provenance {
    char lde_version[32];
    char git_rev[64]; /* `git describe --always --dirty`: ends in "-dirty" when dirty */
    int git_dirty;    /* 1 when the build had uncommitted changes */
    char host[256];
    int threads;    /* OpenMP threads available to the run */
    char blas[256]; /* openblas_get_config() (library, version, kernel, options), then
                     * "; oneDNN <version> <isa>" (conv2d_onednn_describe) */
    char compiler[128];
    char time[32]; /* UTC, ISO 8601: 2026-11-27T09:30:00Z */
} Provenance;

/* Fills p for this process now. version and git_rev are the values baked into the
 * binary (commands.h: lde_version, lde_git_rev). */
void provenance_collect(Provenance *p, const char *version, const char *git_rev);

#endif
