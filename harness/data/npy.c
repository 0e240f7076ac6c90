/* npy.c — see npy.h.
 *
 * Layout of a .npy file (NumPy's format.py, NEP 1): the magic "\x93NUMPY", a major
 * and a minor version byte, the header length as a little-endian uint16 (1.0) or
 * uint32 (2.0, 3.0), then the header: a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by a newline. The raw array data follows at once. */
#include "data/npy.h"

#include "util/atomicfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "npy.c copies little-endian data as is; a big-endian host needs byte swaps"
#endif

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

enum {
    PREAMBLE_V1 = 10,     /* magic + 2 version bytes + uint16 length */
    PREAMBLE_V2 = 12,     /* magic + 2 version bytes + uint32 length */
    MAX_HEADER = 1 << 20, /* real headers are < 200 bytes; refuse absurd lengths */
    MAX_DIMS = 32,        /* NumPy's own limit */
    CHUNK = 1 << 16,      /* elements converted per read */
    HEADER_ALIGN = 64,    /* NumPy pads preamble + header to a multiple of this */
};

typedef enum { KIND_FLOAT, KIND_INT } Kind;

/* What a reader returns: float32 with or without the finiteness check, int64, or
 * the stored bytes of a |u1 array. */
typedef enum { OUT_F32, OUT_F32_UNCHECKED, OUT_I64, OUT_U8 } Out;

typedef struct {
    const char *descr;
    int size;
    Kind kind;
} Dtype;

static const Dtype DTYPES[] = {
    {"<f4", 4, KIND_FLOAT}, {"<f2", 2, KIND_FLOAT}, {"<f8", 8, KIND_FLOAT},
    {"<i8", 8, KIND_INT},   {"<i4", 4, KIND_INT},   {"|u1", 1, KIND_INT},
};
static const char SUPPORTED[] = "<f4, <f2, <f8, <i8, <i4, |u1";

/* What a valid header says, plus where the data starts. */
typedef struct {
    NpyDims dims;   /* the whole shape */
    NpyShape shape; /* rows = dims[0], cols = dims[1]·…·dims[ndim-1] (1 for 1-D) */
    const Dtype *dtype;
    long data_offset;
    long count; /* dims[0] * ... * dims[ndim-1] = rows * cols */
} Header;

/* ---- the header dict -------------------------------------------------------- */

/* A cursor over the header text; pos is reported in error messages. */
typedef struct {
    const char *s;
    size_t n, pos;
} Cursor;

static void skip_space(Cursor *c) {
    while (c->pos < c->n && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' ||
                             c->s[c->pos] == '\r'))
        c->pos++;
}

/* Skips spaces; consumes ch and returns 1 when it comes next, else returns 0. */
static int accept(Cursor *c, char ch) {
    skip_space(c);
    if (c->pos < c->n && c->s[c->pos] == ch) {
        c->pos++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes ('...' or "...") -> out. 0 on failure. */
static int parse_string(Cursor *c, char *out, size_t cap) {
    skip_space(c);
    if (c->pos >= c->n || (c->s[c->pos] != '\'' && c->s[c->pos] != '"')) return 0;
    char q = c->s[c->pos++];
    size_t k = 0;
    while (c->pos < c->n && c->s[c->pos] != q) {
        if (k + 1 >= cap) return 0;
        out[k++] = c->s[c->pos++];
    }
    if (c->pos >= c->n) return 0;
    c->pos++;
    out[k] = 0;
    return 1;
}

/* A non-negative decimal integer, with Python 2's optional L suffix. 0 on failure. */
static int parse_dim(Cursor *c, long *v) {
    skip_space(c);
    if (c->pos >= c->n || c->s[c->pos] < '0' || c->s[c->pos] > '9') return 0;
    long x = 0;
    while (c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, c->s[c->pos] - '0', &x))
            return 0;
        c->pos++;
    }
    if (c->pos < c->n && c->s[c->pos] == 'L') c->pos++;
    *v = x;
    return 1;
}

/* "(2, 3, 4)" or "(5,)" into buf. */
static const char *shape_text(const long *dims, int ndim, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %ld" : "%ld", dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
    return buf;
}

const char *npy_dims_text(NpyDims d, char *buf, size_t cap) {
    if (d.ndim < 1 || d.ndim > NPY_MAX_NDIM) {
        snprintf(buf, cap, "(rank %d)", d.ndim);
        return buf;
    }
    return shape_text(d.dims, d.ndim, buf, cap);
}

static int malformed(const char *path, const Cursor *c, const char *expected, Err *e) {
    return fail(e, LDE_EINPUT, "%s: malformed .npy header at header byte %zu: expected %s", path,
                c->pos, expected);
}

/* Parses the header dict text into h->shape and h->dtype; a rank above max_ndim
 * (2 for features and labels, NPY_MAX_NDIM for images) is refused. */
static int parse_header(const char *path, const char *text, size_t n, int max_ndim, Header *h,
                        char descr[8], Err *e) {
    Cursor c = {text, n, 0};
    char key[32], value[64];
    long dims[MAX_DIMS] = {0};
    int ndim = -1, fortran = -1, have_descr = 0;
    if (!accept(&c, '{')) return malformed(path, &c, "'{' opening the dict", e);
    while (!accept(&c, '}')) {
        if (!parse_string(&c, key, sizeof key))
            return malformed(path, &c, "a quoted key or '}'", e);
        if (!accept(&c, ':')) return malformed(path, &c, "':' after the key", e);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            skip_space(&c);
            if (c.pos < c.n && c.s[c.pos] == '[')
                return fail(e, LDE_EINPUT,
                            "%s: structured (record) dtype is not supported; expected one of %s",
                            path, SUPPORTED);
            if (!parse_string(&c, value, sizeof value))
                return malformed(path, &c, "a quoted dtype after 'descr'", e);
            snprintf(descr, 8, "%.7s", value);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && fortran < 0) {
            skip_space(&c);
            if (c.n - c.pos >= 4 && memcmp(c.s + c.pos, "True", 4) == 0)
                fortran = 1, c.pos += 4;
            else if (c.n - c.pos >= 5 && memcmp(c.s + c.pos, "False", 5) == 0)
                fortran = 0, c.pos += 5;
            else
                return malformed(path, &c, "True or False after 'fortran_order'", e);
        } else if (strcmp(key, "shape") == 0 && ndim < 0) {
            if (!accept(&c, '(')) return malformed(path, &c, "'(' opening the shape tuple", e);
            ndim = 0;
            while (!accept(&c, ')')) {
                if (ndim == MAX_DIMS) return malformed(path, &c, "at most 32 dimensions", e);
                if (!parse_dim(&c, &dims[ndim]))
                    return malformed(path, &c, "a non-negative integer dimension", e);
                ndim++;
                if (!accept(&c, ',') && !(skip_space(&c), c.pos < c.n && c.s[c.pos] == ')'))
                    return malformed(path, &c, "',' or ')' in the shape tuple", e);
            }
        } else {
            return fail(e, LDE_EINPUT,
                        "%s: malformed .npy header: unexpected or repeated key '%s' (expected "
                        "descr, fortran_order, shape once each)",
                        path, key);
        }
        if (!accept(&c, ',') && !(skip_space(&c), c.pos < c.n && c.s[c.pos] == '}'))
            return malformed(path, &c, "',' or '}' after a value", e);
    }
    skip_space(&c);
    if (c.pos != c.n) return malformed(path, &c, "nothing but padding after '}'", e);
    if (!have_descr || fortran < 0 || ndim < 0)
        return fail(e, LDE_EINPUT, "%s: malformed .npy header: missing key '%s'", path,
                    !have_descr   ? "descr"
                    : fortran < 0 ? "fortran_order"
                                  : "shape");

    h->dtype = NULL;
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(value, DTYPES[i].descr) == 0) h->dtype = &DTYPES[i];
    if (!h->dtype && value[0] == '>')
        return fail(e, LDE_EINPUT,
                    "%s: big-endian dtype '%s'; expected little-endian (one of %s): save with "
                    "arr.astype(arr.dtype.newbyteorder('<'))",
                    path, value, SUPPORTED);
    if (!h->dtype)
        return fail(e, LDE_EINPUT, "%s: unsupported dtype '%s'; expected one of %s", path, value,
                    SUPPORTED);
    if (fortran)
        return fail(e, LDE_EINPUT,
                    "%s: Fortran-order array; expected C order (save np.ascontiguousarray(arr))",
                    path);
    char text_buf[MAX_DIMS * 22 + 4];
    const char *ranks = max_ndim == 2 ? "1-D or 2-D" : "1-D to 4-D";
    if (ndim == 0) return fail(e, LDE_EINPUT, "%s: 0-D (scalar) array; expected %s", path, ranks);
    if (ndim > max_ndim)
        return fail(e, LDE_EINPUT, "%s: %d-D array of shape %s; expected %s", path, ndim,
                    shape_text(dims, ndim, text_buf, sizeof text_buf), ranks);
    h->dims.ndim = h->shape.ndim = ndim;
    h->shape.rows = dims[0];
    h->shape.cols = 1;
    for (int k = 0; k < NPY_MAX_NDIM; k++) h->dims.dims[k] = k < ndim ? dims[k] : 1;
    /* cols may overflow here for an absurd shape: npy_open refuses that next. */
    for (int k = 1; k < ndim; k++)
        if (__builtin_mul_overflow(h->shape.cols, dims[k], &h->shape.cols)) h->shape.cols = -1;
    return LDE_OK;
}

/* ---- the file --------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Opens PATH, validates everything the header and the file size can tell (ranks up
 * to max_ndim), and leaves *f positioned at the first data byte (the caller closes
 * it). Nothing of the array's size is allocated here. in_memory: the caller will
 * hold the whole array in memory, so a shape needing more than the machine has is
 * refused; a file read in place (npy_layout) is not. */
static int npy_open(const char *path, int max_ndim, int in_memory, FILE **out, Header *h,
                    char descr[8], Err *e) {
    *out = NULL;
    int rc = LDE_EINPUT; /* until every check has passed */
    char *text = NULL;
    struct stat st;
    unsigned char pre[PREAMBLE_V2];
    char shape_buf[96];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(e, LDE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &st) != 0) {
        fail(e, LDE_EINPUT, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        fail(e, LDE_EINPUT, "%s: is a directory, expected a .npy file", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(e, LDE_EINPUT, "%s: not a regular file, expected a .npy file", path);
        goto done;
    }
    long size = (long)st.st_size;
    if (size == 0) {
        fail(e, LDE_EINPUT, "%s: empty file, expected a .npy array", path);
        goto done;
    }
    size_t got = fread(pre, 1, PREAMBLE_V1, f);
    if (memcmp(pre, NPY_MAGIC, got < sizeof NPY_MAGIC ? got : sizeof NPY_MAGIC) != 0) {
        fail(e, LDE_EINPUT, "%s: not a .npy file (it does not start with \\x93NUMPY)", path);
        goto done;
    }
    if (got < PREAMBLE_V1) {
        fail(e, LDE_EINPUT, "%s: truncated: %ld bytes, too short for a .npy header", path, size);
        goto done;
    }
    int major = pre[6], minor = pre[7];
    long header_len, preamble;
    if (major == 1 && minor == 0) {
        preamble = PREAMBLE_V1;
        header_len = (long)pre[8] | (long)pre[9] << 8;
    } else if ((major == 2 || major == 3) && minor == 0) {
        preamble = PREAMBLE_V2;
        if (fread(pre + PREAMBLE_V1, 1, 2, f) != 2) {
            fail(e, LDE_EINPUT, "%s: truncated: %ld bytes, too short for a .npy header", path,
                 size);
            goto done;
        }
        header_len = (long)le32(pre + 8);
    } else {
        fail(e, LDE_EINPUT, "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
             path, major, minor);
        goto done;
    }
    if (header_len > MAX_HEADER) {
        fail(e, LDE_EINPUT, "%s: .npy header length %ld exceeds the %d-byte limit", path,
             header_len, MAX_HEADER);
        goto done;
    }
    if (preamble + header_len > size) {
        fail(e, LDE_EINPUT, "%s: truncated header: it declares %ld bytes, the file has %ld", path,
             header_len, size - preamble);
        goto done;
    }
    text = malloc((size_t)header_len + 1);
    if (!text || fread(text, 1, (size_t)header_len, f) != (size_t)header_len) {
        fail(e, LDE_EINPUT, "%s: cannot read the .npy header", path);
        goto done;
    }
    text[header_len] = 0;
    if (parse_header(path, text, (size_t)header_len, max_ndim, h, descr, e) != LDE_OK || !h->dtype)
        goto done;

    npy_dims_text(h->dims, shape_buf, sizeof shape_buf);
    h->data_offset = preamble + header_len;
    /* The output is float32 or int64 whatever the stored dtype (|u1 read as is is
     * smaller): size both. */
    long count = 1, data_bytes, mem_bytes;
    long out_size = h->dtype->kind == KIND_FLOAT ? 4 : 8;
    int overflow = 0;
    for (int k = 0; k < h->dims.ndim; k++)
        overflow |= __builtin_mul_overflow(count, h->dims.dims[k], &count);
    if (overflow || __builtin_mul_overflow(count, (long)h->dtype->size, &data_bytes) ||
        __builtin_mul_overflow(count, out_size, &mem_bytes)) {
        fail(e, LDE_EINPUT, "%s: shape %s of %s is too large (its byte size overflows)", path,
             shape_buf, h->dtype->descr);
        goto done;
    }
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (in_memory && (double)mem_bytes > phys) {
        fail(e, LDE_EINPUT, "%s: shape %s of %s needs %.3g GiB, more than this machine's %.3g GiB",
             path, shape_buf, h->dtype->descr, (double)mem_bytes / 1073741824.0,
             phys / 1073741824.0);
        goto done;
    }
    long have = size - h->data_offset;
    if (data_bytes > have) {
        fail(e, LDE_EINPUT, "%s: truncated: shape %s of %s needs %ld data bytes, the file has %ld",
             path, shape_buf, h->dtype->descr, data_bytes, have);
        goto done;
    }
    if (data_bytes < have) {
        fail(e, LDE_EINPUT, "%s: %ld unexpected bytes after the data of shape %s of %s", path,
             have - data_bytes, shape_buf, h->dtype->descr);
        goto done;
    }
    h->count = count;
    rc = LDE_OK;
done:
    free(text);
    if (rc == LDE_OK)
        *out = f;
    else if (f)
        fclose(f);
    return rc;
}

int npy_shape(const char *path, NpyShape *s, char dtype[8], Err *e) {
    FILE *f;
    Header h = {0};
    int rc = npy_open(path, 2, 1, &f, &h, dtype, e);
    if (rc != LDE_OK) return rc;
    fclose(f);
    *s = h.shape;
    return LDE_OK;
}

int npy_shape_nd(const char *path, NpyDims *d, char dtype[8], Err *e) {
    FILE *f;
    Header h = {0};
    int rc = npy_open(path, NPY_MAX_NDIM, 1, &f, &h, dtype, e);
    if (rc != LDE_OK) return rc;
    fclose(f);
    *d = h.dims;
    return LDE_OK;
}

int npy_layout(const char *path, NpyShape *s, char dtype[8], long *data_offset, Err *e) {
    FILE *f;
    Header h = {0};
    int rc = npy_open(path, 2, 0, &f, &h, dtype, e);
    if (rc != LDE_OK) return rc;
    fclose(f);
    *s = h.shape, *data_offset = h.data_offset;
    return LDE_OK;
}

/* ---- conversion --------------------------------------------------------------- */

/* IEEE 754 binary16 -> float32: sign, 5-bit exponent (bias 15), 10-bit mantissa. */
float npy_half_to_float(uint16_t b) {
    int exp = (b >> 10) & 0x1f, man = b & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24); /* zero and subnormals: man * 2^-24 */
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), exp - 25); /* (1 + man/1024) * 2^(exp-15) */
    return (b & 0x8000) ? -v : v;
}

/* The stored value of element i of raw as a double (for messages and conversion). */
static double float_at(const Dtype *d, const unsigned char *raw, long i) {
    if (d->size == 2) {
        uint16_t b;
        memcpy(&b, raw + 2 * i, 2);
        return npy_half_to_float(b);
    }
    if (d->size == 4) {
        float x;
        memcpy(&x, raw + 4 * i, 4);
        return x;
    }
    double x;
    memcpy(&x, raw + 8 * i, 8);
    return x;
}

static int64_t int_at(const Dtype *d, const unsigned char *raw, long i) {
    if (d->size == 1) return raw[i];
    if (d->size == 4) {
        int32_t x;
        memcpy(&x, raw + 4 * i, 4);
        return x;
    }
    int64_t x;
    memcpy(&x, raw + 8 * i, 8);
    return x;
}

/* Names element k as "row r, column c" (2-D) or "row k" (1-D). */
static const char *where(NpyShape s, long k, char *buf, size_t cap) {
    if (s.ndim == 1)
        snprintf(buf, cap, "row %ld", k);
    else
        snprintf(buf, cap, "row %ld, column %ld", k / s.cols, k % s.cols);
    return buf;
}

int npy_refuse_value(const char *path, NpyShape s, long k, double x, Err *e) {
    char at[64];
    where(s, k, at, sizeof at);
    if (isnan(x))
        return fail(e, LDE_EINPUT, "%s: NaN at %s (0-based); features must be finite", path, at);
    if (isinf(x))
        return fail(e, LDE_EINPUT, "%s: %cInf at %s (0-based); features must be finite", path,
                    x < 0 ? '-' : '+', at);
    return fail(e, LDE_EINPUT, "%s: %g at %s (0-based) is beyond float32 range", path, x, at);
}

/* Reads h->count elements from f in chunks, converting each as `as` says. */
static int read_elements(const char *path, FILE *f, const Header *h, Out as, void *out, Err *e) {
    int size = h->dtype->size;
    unsigned char *raw = malloc((size_t)CHUNK * (size_t)size);
    if (!raw) return fail(e, LDE_ERUN, "%s: out of memory", path);
    int rc = LDE_OK;
    for (long k0 = 0; k0 < h->count && rc == LDE_OK; k0 += CHUNK) {
        long m = h->count - k0 < CHUNK ? h->count - k0 : CHUNK;
        if (fread(raw, (size_t)size, (size_t)m, f) != (size_t)m) {
            rc = fail(e, LDE_EINPUT, "%s: read failed at element %ld: %s", path, k0,
                      ferror(f) ? strerror(errno) : "unexpected end of file");
            break;
        }
        for (long i = 0; i < m && rc == LDE_OK; i++) {
            if (as == OUT_U8) {
                ((uint8_t *)out)[k0 + i] = raw[i];
                continue;
            }
            if (as == OUT_I64) {
                ((int64_t *)out)[k0 + i] = int_at(h->dtype, raw, i);
                continue;
            }
            double x = float_at(h->dtype, raw, i);
            float v = (float)x;
            ((float *)out)[k0 + i] = v;
            if (isfinite(v) || as == OUT_F32_UNCHECKED) continue;
            rc = npy_refuse_value(path, h->shape, k0 + i, x, e);
        }
    }
    free(raw);
    return rc;
}

/* Opens (ranks up to max_ndim), checks the dtype fits `as`, allocates and reads;
 * fills *h on success. */
static int read_as(const char *path, int max_ndim, Out as, void **data, Header *hout, Err *e) {
    FILE *f;
    Header h = {0};
    char descr[8];
    *data = NULL;
    int rc = npy_open(path, max_ndim, 1, &f, &h, descr, e);
    if (rc != LDE_OK) return rc;
    int is_u8 = strcmp(h.dtype->descr, "|u1") == 0;
    if (as == OUT_U8 && !is_u8) {
        fclose(f);
        return fail(e, LDE_EINPUT, "%s: dtype %s; expected uint8 (|u1)", path, descr);
    }
    if ((as == OUT_I64) != (h.dtype->kind == KIND_INT) && as != OUT_U8) {
        fclose(f);
        if (as != OUT_I64)
            return fail(e, LDE_EINPUT,
                        "%s: dtype %s holds integers; expected float (<f4, <f2, <f8)", path, descr);
        return fail(e, LDE_EINPUT, "%s: dtype %s holds floats; expected integers (<i8, <i4, |u1)",
                    path, descr);
    }
    size_t out_size = as == OUT_U8 ? 1 : as == OUT_I64 ? sizeof(int64_t) : sizeof(float);
    void *buf = malloc(h.count > 0 ? (size_t)h.count * out_size : 1);
    if (!buf) {
        fclose(f);
        return fail(e, LDE_ERUN, "%s: out of memory for %ld elements", path, h.count);
    }
    rc = read_elements(path, f, &h, as, buf, e);
    fclose(f);
    if (rc != LDE_OK) {
        free(buf);
        return rc;
    }
    *data = buf;
    *hout = h;
    return LDE_OK;
}

int npy_read_f32(const char *path, float **data, NpyShape *s, Err *e) {
    void *p;
    Header h;
    int rc = read_as(path, 2, OUT_F32, &p, &h, e);
    *data = p;
    if (rc == LDE_OK) *s = h.shape;
    return rc;
}

int npy_read_i64(const char *path, int64_t **data, NpyShape *s, Err *e) {
    void *p;
    Header h;
    int rc = read_as(path, 2, OUT_I64, &p, &h, e);
    *data = p;
    if (rc == LDE_OK) *s = h.shape;
    return rc;
}

int npy_read_f32_nd(const char *path, float **data, NpyDims *d, Err *e) {
    void *p;
    Header h;
    int rc = read_as(path, NPY_MAX_NDIM, OUT_F32_UNCHECKED, &p, &h, e);
    *data = p;
    if (rc == LDE_OK) *d = h.dims;
    return rc;
}

int npy_read_u8(const char *path, uint8_t **data, NpyDims *d, Err *e) {
    void *p;
    Header h;
    int rc = read_as(path, NPY_MAX_NDIM, OUT_U8, &p, &h, e);
    *data = p;
    if (rc == LDE_OK) *d = h.dims;
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

/* data (d's element count, each `size` bytes) -> PATH with dtype descr. */
static int write_npy(const char *path, const char *descr, const void *data, size_t size, NpyDims d,
                     Err *e) {
    size_t count = 1;
    int bad = d.ndim < 1 || d.ndim > NPY_MAX_NDIM;
    for (int k = 0; k < d.ndim && !bad; k++) {
        bad = d.dims[k] < 0;
        count *= (size_t)d.dims[k];
    }
    char shape_buf[96], dict[200];
    if (bad)
        return fail(e, LDE_ERUN, "%s: cannot write an array of shape %s", path,
                    npy_dims_text(d, shape_buf, sizeof shape_buf));
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       descr, npy_dims_text(d, shape_buf, sizeof shape_buf));
    /* Pad with spaces so that data starts on a 64-byte boundary, then a newline. */
    int total = PREAMBLE_V1 + len + 1;
    int pad = (HEADER_ALIGN - total % HEADER_ALIGN) % HEADER_ALIGN;
    int header_len = len + pad + 1;
    unsigned char pre[PREAMBLE_V1];
    memcpy(pre, NPY_MAGIC, sizeof NPY_MAGIC);
    pre[6] = 1, pre[7] = 0;
    pre[8] = (unsigned char)(header_len & 0xff), pre[9] = (unsigned char)(header_len >> 8);

    AtomicFile a;
    int rc = atomic_open(&a, path, e);
    if (rc != LDE_OK) return rc;
    int ok = fwrite(pre, 1, sizeof pre, a.f) == sizeof pre &&
             fwrite(dict, 1, (size_t)len, a.f) == (size_t)len &&
             fprintf(a.f, "%*s\n", pad, "") == pad + 1 &&
             (count == 0 || fwrite(data, size, count, a.f) == count);
    if (!ok) {
        atomic_abort(&a);
        return fail(e, LDE_ERUN, "%s: write failed: %s", path, strerror(errno));
    }
    return atomic_commit(&a, e);
}

/* A 1-D or 2-D NpyShape as NpyDims; 0 when it is neither. */
static int shape_dims(NpyShape s, NpyDims *d) {
    if ((s.ndim != 1 && s.ndim != 2) || s.rows < 0 || s.cols < 0 || (s.ndim == 1 && s.cols != 1))
        return 0;
    *d = (NpyDims){s.ndim, {s.rows, s.ndim == 2 ? s.cols : 1, 1, 1}};
    return 1;
}

static int write_shape(const char *path, const char *descr, const void *data, size_t size,
                       NpyShape s, Err *e) {
    NpyDims d;
    if (!shape_dims(s, &d))
        return fail(e, LDE_ERUN, "%s: cannot write an array of ndim %d, %ld x %ld", path, s.ndim,
                    s.rows, s.cols);
    return write_npy(path, descr, data, size, d, e);
}

int npy_write_f32(const char *path, const float *data, NpyShape s, Err *e) {
    return write_shape(path, "<f4", data, sizeof(float), s, e);
}

int npy_write_i64(const char *path, const int64_t *data, NpyShape s, Err *e) {
    return write_shape(path, "<i8", data, sizeof(int64_t), s, e);
}

int npy_write_u8(const char *path, const uint8_t *data, NpyDims d, Err *e) {
    return write_npy(path, "|u1", data, 1, d, e);
}
