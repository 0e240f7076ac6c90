/* gzfile.c — see gzfile.h. */
#include "data/gzfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The gzip magic (RFC 1952 §2.3.1): ID1 = 0x1f, ID2 = 0x8b. */
static int is_gzip(int fd) {
    unsigned char id[2];
    int ok = pread(fd, id, 2, 0) == 2 && id[0] == 0x1f && id[1] == 0x8b;
    return ok;
}

int gz_read_all(const char *path, size_t max_size, unsigned char **data, size_t *size, Err *e) {
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(e, LDE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(e, LDE_EINPUT, "%s: not a regular file", path);
    }
    if (!is_gzip(fd)) {
        close(fd);
        return fail(e, LDE_EINPUT, "%s: not a gzip file (no 1f 8b magic)", path);
    }
    gzFile gz = gzdopen(fd, "rb"); /* owns fd from here on */
    if (!gz) {
        close(fd);
        return fail(e, LDE_ERUN, "%s: out of memory opening gzip stream", path);
    }
    /* Grow geometrically up to max_size + 1: one byte past the bound proves the file
     * is too large without decompressing the rest of it. */
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    int rc = LDE_OK;
    while (buf) {
        if (n == cap) {
            if (cap > max_size) {
                rc = fail(e, LDE_EINPUT, "%s: decompresses to more than the expected %zu bytes",
                          path, max_size);
                break;
            }
            size_t grown = cap * 2 < max_size + 1 ? cap * 2 : max_size + 1;
            unsigned char *p = realloc(buf, grown + 1);
            if (!p) break;
            buf = p, cap = grown;
        }
        size_t want = cap - n < (1u << 30) ? cap - n : (1u << 30);
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            rc = fail(e, LDE_EINPUT, "%s: corrupt gzip data: %s", path, msg);
            break;
        }
        if (got == 0) {
            /* zlib reports a stream cut short as a soft error (Z_BUF_ERROR) at EOF. */
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK) rc = fail(e, LDE_EINPUT, "%s: corrupt gzip data: %s", path, msg);
            break;
        }
        n += (size_t)got;
    }
    if (!buf) {
        rc = LDE_ERUN;
        fail(e, rc, "%s: out of memory", path);
    }
    if (rc == LDE_OK && n > max_size)
        rc = fail(e, LDE_EINPUT, "%s: decompresses to more than the expected %zu bytes", path,
                  max_size);
    gzclose(gz);
    if (rc != LDE_OK || !buf) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return LDE_OK;
}
