/* provenance.c — see provenance.h. */
#include "store/provenance.h"

#include "flows/blas.h"
#include "flows/conv2d_onednn.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void provenance_collect(Provenance *p, const char *version, const char *git_rev) {
    memset(p, 0, sizeof *p);
    snprintf(p->lde_version, sizeof p->lde_version, "%s", version);
    snprintf(p->git_rev, sizeof p->git_rev, "%s", git_rev);
    size_t n = strlen(p->git_rev);
    p->git_dirty = n >= 6 && strcmp(p->git_rev + n - 6, "-dirty") == 0;
    if (gethostname(p->host, sizeof p->host - 1) != 0) snprintf(p->host, sizeof p->host, "unknown");
    p->threads = omp_get_max_threads();
    /* Both libraries whose kernels fix a run's bits (oneDNN's for conv: onednn). */
    snprintf(p->blas, sizeof p->blas, "%.180s; %.60s", openblas_get_config(),
             conv2d_onednn_describe());
#ifdef __clang__
    snprintf(p->compiler, sizeof p->compiler, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(p->compiler, sizeof p->compiler, "gcc %s", __VERSION__);
#else
    snprintf(p->compiler, sizeof p->compiler, "unknown");
#endif
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(p->time, sizeof p->time, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
