/* filedigest.h — the content identity of an input file (issue 23): XXH3-128 of
 * its bytes, so a run is keyed by the data it read, not by where the data sat.
 *
 * Hash once: a digest is cached under the file's (device, inode, size, mtime in
 * ns), as git's index and DVC's stat cache do, so an unchanged 10 GB file is read
 * once and not at every plan, run or status; any change of the four re-hashes it.
 * The cache lives in memory and, once filedigest_cache_beside named a database,
 * in the text file digests.tsv beside it (one "dev ino size mtime_ns digest" line
 * per entry, appended by
 * filedigest_flush; a later line wins, a malformed one is ignored). Racy entries
 * are not persisted: a file modified within FILEDIGEST_RACY_S seconds of being
 * hashed could be rewritten again within the file system's timestamp granularity
 * with the same size, so another process hashes it again (git's "racily clean").
 *
 * Hashing streams the file in 4 MiB reads (no copy in memory) and draws a
 * progress bar on a terminal for files of 64 MiB or more. The calls are safe from
 * several OpenMP threads (the cache is guarded). */
#ifndef LDE_FILEDIGEST_H
#define LDE_FILEDIGEST_H

#include "util/err.h"

enum { FILEDIGEST_RACY_S = 2 };

typedef struct {
    char hex[33];       /* XXH3-128, canonical (big-endian) form, 32 hex digits */
    long long bytes;    /* the size it had when hashed */
    long long mtime_ns; /* its modification time, ns since the epoch */
    unsigned long long dev, ino;
} FileDigest;

/* Keeps the cache in digests.tsv in the directory of file (the database; NULL:
 * memory only); entries already there are read at the next lookup. */
void filedigest_cache_beside(const char *file);

/* The digest of the file at path: from the cache when its (dev, inode, size,
 * mtime) match an entry, else by reading it. LDE_EINPUT naming path when it
 * cannot be read. */
int filedigest_get(const char *path, FileDigest *d, Err *e);

/* LDE_OK when path still has d's device, inode, size and mtime; LDE_ERUN
 * "PATH changed while in use (...)" otherwise, or when it is gone. */
int filedigest_check(const char *path, const FileDigest *d, Err *e);

/* Appends the entries hashed since the last flush to the cache file (racy ones
 * left out); nothing without a cache file. A cache that cannot be written is
 * only a slower next start: the failure is returned, nothing else changes. */
int filedigest_flush(Err *e);

/* Bytes read for hashing by this process so far (tests assert the cache works). */
long long filedigest_hashed_bytes(void);

#endif
