/* digits.c — see digits.h. */
#include "data/digits.h"

#include "data/gzfile.h"

#include <stdlib.h>
#include <string.h>

enum { FIELDS = DIGITS_SRC_SIDE * DIGITS_SRC_SIDE + 1, MAX_CSV = 1 << 20 };

const char *digits_path(void) {
    const char *p = getenv("LDE_DIGITS");
    return p && p[0] ? p : "results/cache/digits.csv.gz";
}

/* Parses one integer field at *s (advancing it) into *v; 0 when none is there. */
static int parse_field(const char **s, long *v) {
    char *end;
    *v = strtol(*s, &end, 10);
    if (end == *s) return 0;
    *s = end;
    return 1;
}

/* Parses the CSV text into raw 8x8 images (values 0..16). */
static int parse_csv(const char *path, const char *text, float *raw, Err *e) {
    const char *s = text, *line_start = text;
    long line = 1;
    for (; line <= DIGITS_N; line++) {
        line_start = s;
        for (int k = 0; k < FIELDS; k++) {
            long v;
            const char *at = s;
            if (k == 0 && *s == 0)
                return fail(e, LDE_EINPUT, "%s: %ld digits, expected %d", path, line - 1, DIGITS_N);
            if (!parse_field(&s, &v))
                return fail(e, LDE_EINPUT, "%s:%ld:%ld: expected value %d of %d on the line", path,
                            line, (long)(at - line_start) + 1, k + 1, FIELDS);
            long hi = k < FIELDS - 1 ? 16 : 9;
            if (v < 0 || v > hi)
                return fail(e, LDE_EINPUT, "%s:%ld:%ld: %s %ld outside 0..%ld", path, line,
                            (long)(at - line_start) + 1, k < FIELDS - 1 ? "pixel" : "label", v, hi);
            if (k < FIELDS - 1) raw[(line - 1) * (FIELDS - 1) + k] = (float)v / 16.0f;
            char want = k < FIELDS - 1 ? ',' : '\n';
            if (*s == '\r' && want == '\n') s++;
            if (*s != want && !(want == '\n' && *s == 0 && line == DIGITS_N))
                return fail(e, LDE_EINPUT, "%s:%ld:%ld: expected '%s' after value %d", path, line,
                            (long)(s - line_start) + 1, want == ',' ? "," : "end of line", k + 1);
            if (*s) s++;
        }
    }
    while (*s == '\n' || *s == '\r' || *s == ' ') s++;
    if (*s)
        return fail(e, LDE_EINPUT, "%s:%ld:1: more than the expected %d digits", path, line,
                    DIGITS_N);
    return LDE_OK;
}

int digits_load(Images *out, Err *e) {
    const char *path = digits_path();
    unsigned char *text = NULL;
    size_t size;
    memset(out, 0, sizeof *out);
    int rc = gz_read_all(path, MAX_CSV, &text, &size, e);
    if (rc != LDE_OK) return rc;
    if (strlen((const char *)text) != size) {
        free(text);
        return fail(e, LDE_EINPUT, "%s: binary data (a NUL byte) in a CSV file", path);
    }
    float *raw = malloc(sizeof(float) * DIGITS_N * (FIELDS - 1));
    if (!raw) {
        free(text);
        return fail(e, LDE_ERUN, "%s: out of memory", path);
    }
    rc = parse_csv(path, (const char *)text, raw, e);
    if (rc == LDE_OK) rc = images_alloc(out, DIGITS_N, DIGITS_SIDE, DIGITS_SIDE, 0, path, e);
    if (rc == LDE_OK) {
        int off = (DIGITS_SIDE - DIGITS_BOX) / 2; /* 4 zero pixels on every side */
        float box[DIGITS_BOX * DIGITS_BOX];
        for (long i = 0; i < DIGITS_N; i++) {
            images_resize_bilinear(raw + i * (FIELDS - 1), DIGITS_SRC_SIDE, DIGITS_SRC_SIDE, box,
                                   DIGITS_BOX, DIGITS_BOX);
            float *img = out->pix + i * DIGITS_SIDE * DIGITS_SIDE;
            for (int y = 0; y < DIGITS_BOX; y++)
                memcpy(img + (long)(y + off) * DIGITS_SIDE + off, box + (long)y * DIGITS_BOX,
                       sizeof(float) * DIGITS_BOX);
        }
    }
    free(raw);
    free(text);
    return rc;
}
