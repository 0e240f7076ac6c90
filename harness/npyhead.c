/* npyhead.c — parses the header of a .npy file (format versions 1, 2 and 3). */
#include "npyhead.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Finds 'key': in the header dict and returns the text after the colon. */
static const char *dict_value(const char *hdr, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

int npy_head_read(const char *path, NpyHead *h, Err *e) {
    memset(h, 0, sizeof *h);
    struct stat st;
    if (stat(path, &st) != 0) return fail(e, LDE_EINPUT, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(e, LDE_EINPUT, "%s: not a regular file, expected a .npy array", path);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(e, LDE_EINPUT, "%s: %s", path, strerror(errno));
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: not a .npy file (bad magic)", path);
    }
    int major = pre[6];
    long hlen, off;
    if (major == 1) {
        hlen = pre[8] | (long)pre[9] << 8;
        off = 10;
    } else if ((major == 2 || major == 3) && got == 12) {
        hlen = pre[8] | (long)pre[9] << 8 | (long)pre[10] << 16 | (long)pre[11] << 24;
        off = 12;
    } else {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: unsupported .npy version %d", path, major);
    }
    if (hlen > 65536 || off + hlen > st.st_size) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: .npy header length %ld is larger than the file", path,
                    hlen);
    }
    char *hdr = malloc((size_t)hlen + 1);
    int ok = hdr && fseek(f, off, SEEK_SET) == 0 && fread(hdr, 1, (size_t)hlen, f) == (size_t)hlen;
    fclose(f);
    if (!ok) {
        free(hdr);
        return fail(e, LDE_EINPUT, "%s: cannot read the .npy header", path);
    }
    hdr[hlen] = 0;
    int rc = LDE_OK;
    const char *d = dict_value(hdr, "descr"), *fo = dict_value(hdr, "fortran_order"),
               *sh = dict_value(hdr, "shape");
    if (!d || !fo || !sh || *d != '\'' || *sh != '(') {
        rc = fail(e, LDE_EINPUT, "%s: malformed .npy header", path);
    } else if (strncmp(fo, "False", 5) != 0) {
        rc = fail(e, LDE_EINPUT, "%s: Fortran-order array; save it in C order", path);
    } else {
        size_t n = strcspn(d + 1, "'");
        if (n == 0 || n >= sizeof h->descr)
            rc = fail(e, LDE_EINPUT, "%s: bad dtype", path);
        else
            memcpy(h->descr, d + 1, n);
        /* shape: "(N, d)", "(N,)" or "()" */
        const char *p = sh + 1;
        while (rc == LDE_OK && *p != ')') {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (end == p || errno || v < 0 || h->ndim == NPY_MAX_NDIM) {
                rc = fail(e, LDE_EINPUT, "%s: bad shape in .npy header", path);
                break;
            }
            h->shape[h->ndim++] = v;
            p = end;
            while (*p == ',' || *p == ' ') p++;
        }
    }
    free(hdr);
    if (rc != LDE_OK) return rc;
    /* The data must fit in the file: refuse a shape the file cannot hold before any
     * reader allocates for it. Item size is the digits of the descr ("<f4" -> 4). */
    long long item = strtoll(h->descr + 1 + strspn(h->descr + 1, "fiubc"), NULL, 10), need = item;
    for (int i = 0; i < h->ndim && need > 0; i++) {
        if (h->shape[i] > 0 && need > (long long)st.st_size / h->shape[i] + 1)
            need = -1;
        else
            need *= h->shape[i];
    }
    if (item <= 0 || need < 0 || off + hlen + need > st.st_size)
        return fail(e, LDE_EINPUT, "%s: the declared shape needs more bytes than the file has",
                    path);
    return LDE_OK;
}
