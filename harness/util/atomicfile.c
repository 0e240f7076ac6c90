/* atomicfile.c — temporary + fsync + rename (see atomicfile.h). */
#include "util/atomicfile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int atomic_open(AtomicFile *a, const char *path, Err *e) {
    size_t n = strlen(path);
    if (n >= sizeof a->path) return fail(e, LDE_EINPUT, "%.200s...: path too long", path);
    memcpy(a->path, path, n + 1);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return fail(e, LDE_ERUN, "%s: cannot write: %s", path, strerror(errno));
    return LDE_OK;
}

int atomic_commit(AtomicFile *a, Err *e) {
    int bad = ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
    int err = errno;
    if (fclose(a->f) != 0 && !bad) bad = 1, err = errno;
    a->f = NULL;
    if (!bad && rename(a->tmp, a->path) == 0) return LDE_OK;
    if (!bad) err = errno;
    remove(a->tmp);
    return atomic_write_failed(e, a->path, err);
}

int atomic_write_failed(Err *e, const char *path, int err) {
    if (err == ENOSPC || err == EFBIG)
        return fail(e, LDE_ERUN, "%s: no space left on the device (%s)", path, strerror(err));
    return fail(e, LDE_ERUN, "%s: write failed: %s", path, strerror(err));
}

void atomic_abort(AtomicFile *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}
