/* filedigest.c — see filedigest.h. */
#include "util/filedigest.h"

#include "util/paths.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

enum { READ_CHUNK = 4 << 20, PROGRESS_MIN = 64 << 20 };

typedef struct {
    FileDigest d;
    int persist; /* hashed here, not racy, not yet in the cache file */
} Entry;

static struct {
    char file[4096]; /* "" = memory only */
    int loaded;      /* the file's entries have been read */
    Entry *v;
    int n, cap;
    long long hashed;
} cache;

static long long mtime_ns_of(const struct stat *st) {
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int same_stat(const FileDigest *d, const struct stat *st) {
    return d->dev == (unsigned long long)st->st_dev && d->ino == (unsigned long long)st->st_ino &&
           d->bytes == (long long)st->st_size && d->mtime_ns == mtime_ns_of(st);
}

/* Adds (or replaces) the entry for d's stat key; -1 when out of memory. */
static int cache_put(const FileDigest *d, int persist) {
    for (int i = 0; i < cache.n; i++)
        if (cache.v[i].d.dev == d->dev && cache.v[i].d.ino == d->ino) {
            cache.v[i] = (Entry){*d, persist};
            return 0;
        }
    if (cache.n == cache.cap) {
        int cap = cache.cap ? 2 * cache.cap : 64;
        Entry *v = realloc(cache.v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        cache.v = v, cache.cap = cap;
    }
    cache.v[cache.n++] = (Entry){*d, persist};
    return 0;
}

/* Reads the cache file's lines once; a missing file is an empty cache. */
static void cache_load(void) {
    if (cache.loaded || !cache.file[0]) return;
    cache.loaded = 1;
    FILE *f = fopen(cache.file, "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        /* "dev ino size mtime_ns digest": four numbers, then 32 hex digits. */
        FileDigest d = {0};
        char *p = line, *end;
        unsigned long long v[4];
        int ok = 1;
        for (int k = 0; k < 4 && ok; k++, p = end) {
            errno = 0;
            v[k] = strtoull(p, &end, 10);
            ok = end != p && errno == 0 && *end == ' ';
        }
        const char *hex = p + 1;
        if (!ok || strspn(hex, "0123456789abcdef") != 32 || (hex[32] != '\n' && hex[32] != 0))
            continue;
        d.dev = v[0], d.ino = v[1], d.bytes = (long long)v[2], d.mtime_ns = (long long)v[3];
        memcpy(d.hex, hex, 32);
        d.hex[32] = 0;
        if (cache_put(&d, 0) != 0) break;
    }
    fclose(f);
}

void filedigest_cache_beside(const char *file) {
    char dir[4000] = "";
    if (file) paths_dirname(file, dir, sizeof dir);
#pragma omp critical(filedigest)
    {
        snprintf(cache.file, sizeof cache.file, "%s%s", dir, file ? "/digests.tsv" : "");
        cache.loaded = 0;
    }
}

/* Streams fd through XXH3-128 into d->hex; progress on a terminal for big files. */
static int hash_fd(int fd, const char *path, long long size, FileDigest *d, Err *e) {
    XXH3_state_t *x = XXH3_createState();
    char *buf = malloc(READ_CHUNK);
    if (!x || !buf) {
        XXH3_freeState(x);
        free(buf);
        return fail(e, LDE_EINPUT, "%s: out of memory hashing it", path);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    XXH3_128bits_reset(x);
    Progress p;
    int show = size >= PROGRESS_MIN;
    if (show) {
        const char *base = strrchr(path, '/');
        char label[64];
        snprintf(label, sizeof label, "hashing %s", base ? base + 1 : path);
        progress_begin(&p, label, (long)(size >> 20));
    }
    long long total = 0;
    int rc = LDE_OK;
    for (;;) {
        ssize_t got = read(fd, buf, READ_CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            rc = fail(e, LDE_EINPUT, "%s: cannot read it: %s", path, strerror(errno));
            break;
        }
        if (got == 0) break;
        XXH3_128bits_update(x, buf, (size_t)got);
        total += got;
        if (show) {
            char note[96];
            double s = progress_elapsed(&p);
            snprintf(note, sizeof note, "%lld of %lld MiB, %.0f MB/s", total >> 20, size >> 20,
                     s > 0 ? (double)total / 1e6 / s : 0.0);
            progress_update(&p, (long)(total >> 20), note);
        }
    }
    if (show) {
        /* Off a terminal, one line per big file: hashing is the first full read of a
         * feature file and can take a while (issue 18). */
        double s = progress_elapsed(&p);
        progress_end(&p);
        if (rc == LDE_OK)
            progress_line(&p, "%s: %lld MiB in %.1f s, %.0f MB/s", p.label, total >> 20, s,
                          s > 0 ? (double)total / 1e6 / s : 0.0);
    }
    if (rc == LDE_OK) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(x));
        for (int i = 0; i < 16; i++) snprintf(d->hex + 2 * (size_t)i, 3, "%02x", c.digest[i]);
#pragma omp atomic
        cache.hashed += total;
    }
    XXH3_freeState(x);
    free(buf);
    return rc;
}

int filedigest_get(const char *path, FileDigest *d, Err *e) {
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(e, LDE_EINPUT, "%s: cannot read it: %s", path, strerror(errno));
    int hit = 0;
#pragma omp critical(filedigest)
    {
        cache_load();
        for (int i = 0; i < cache.n && !hit; i++)
            if (same_stat(&cache.v[i].d, &st)) *d = cache.v[i].d, hit = 1;
    }
    if (hit) return LDE_OK;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(e, LDE_EINPUT, "%s: cannot read it: %s", path, strerror(errno));
    /* The stat key is taken from the open file, before reading: a change during the
     * read moves the mtime past it, so the entry is never found again. */
    struct stat before;
    int rc = fstat(fd, &before) == 0
                 ? LDE_OK
                 : fail(e, LDE_EINPUT, "%s: cannot read it: %s", path, strerror(errno));
    time_t start = time(NULL);
    *d = (FileDigest){.bytes = (long long)before.st_size,
                      .mtime_ns = mtime_ns_of(&before),
                      .dev = (unsigned long long)before.st_dev,
                      .ino = (unsigned long long)before.st_ino};
    if (rc == LDE_OK) rc = hash_fd(fd, path, d->bytes, d, e);
    close(fd);
    if (rc != LDE_OK) return rc;
    int racy = before.st_mtim.tv_sec + FILEDIGEST_RACY_S >= start, oom = 0;
#pragma omp critical(filedigest)
    oom = cache_put(d, !racy);
    return oom ? fail(e, LDE_EINPUT, "%s: out of memory caching its digest", path) : LDE_OK;
}

int filedigest_check(const char *path, const FileDigest *d, Err *e) {
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(e, LDE_ERUN, "%s changed while in use: %s", path, strerror(errno));
    if (same_stat(d, &st)) return LDE_OK;
    return fail(e, LDE_ERUN,
                "%s changed while in use (size %lld -> %lld bytes, mtime %lld -> %lld ns, inode "
                "%llu -> %llu); its results would mix two versions of the data",
                path, d->bytes, (long long)st.st_size, d->mtime_ns, mtime_ns_of(&st), d->ino,
                (unsigned long long)st.st_ino);
}

int filedigest_flush(Err *e) {
    int rc = LDE_OK;
#pragma omp critical(filedigest)
    {
        int pending = 0;
        for (int i = 0; i < cache.n; i++) pending |= cache.v[i].persist;
        FILE *f = pending && cache.file[0] ? fopen(cache.file, "a") : NULL;
        /* No directory yet (lde plan before any lde run): nothing to keep it in. */
        if (pending && cache.file[0] && !f && errno != ENOENT)
            rc = fail(e, LDE_ERUN, "%s: cannot write the digest cache: %s", cache.file,
                      strerror(errno));
        /* One fprintf per line and line buffering: each entry is one write(2) to
         * an O_APPEND file, so lines from concurrent processes do not interleave. */
        if (f) setvbuf(f, NULL, _IOLBF, 0);
        for (int i = 0; f && i < cache.n; i++) {
            const FileDigest *d = &cache.v[i].d;
            if (!cache.v[i].persist) continue;
            fprintf(f, "%llu %llu %lld %lld %s\n", d->dev, d->ino, d->bytes, d->mtime_ns, d->hex);
            cache.v[i].persist = 0;
        }
        if (f && fclose(f) != 0)
            rc = fail(e, LDE_ERUN, "%s: cannot write the digest cache", cache.file);
    }
    return rc;
}

long long filedigest_hashed_bytes(void) {
    long long v;
#pragma omp atomic read
    v = cache.hashed;
    return v;
}
