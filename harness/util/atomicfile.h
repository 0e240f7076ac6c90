/* atomicfile.h — write a file so that readers see the old file or the whole new one.
 *
 * A writer opens PATH.tmp.<pid>, writes, and commits: fflush + fsync + fclose +
 * rename(2) over PATH (atomic on POSIX file systems). A crash or a failed write
 * leaves PATH untouched and abort removes the temporary, so nothing half-written is
 * ever visible under PATH (DESIGN.md, Errors). Every file lde writes goes through
 * here: .npy arrays, model files, cache manifests, figures' data. */
#ifndef LDE_ATOMICFILE_H
#define LDE_ATOMICFILE_H

#include "util/err.h"

#include <stdio.h>

typedef struct {
    FILE *f;         /* write through this */
    char path[4096]; /* final name */
    char tmp[4200];  /* temporary name in the same directory */
} AtomicFile;

/* Opens the temporary. LDE_OK, or LDE_ERUN naming the path (missing directory, no
 * permission). */
int atomic_open(AtomicFile *a, const char *path, Err *e);

/* Flushes, syncs and renames into place. On any error (disk full, ...) the
 * temporary is removed, PATH is unchanged and LDE_ERUN is returned. */
int atomic_commit(AtomicFile *a, Err *e);

/* Gives up: closes and removes the temporary. PATH is unchanged. */
void atomic_abort(AtomicFile *a);

/* The error of a failed write of path with errno err: ENOSPC and EFBIG (a file
 * size limit) read "PATH: no space left on the device (...)" (issue 20). */
int atomic_write_failed(Err *e, const char *path, int err);

#endif
