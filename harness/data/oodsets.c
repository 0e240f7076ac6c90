/* oodsets.c — see oodsets.h. */
#include "data/oodsets.h"

#include "data/digits.h"
#include "data/fmnist.h"
#include "flows/rng.h"

#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = {"digits", "gaussian", "uniform", "vflip", "heldout", NULL};

const char *const *ood_names(void) {
    return NAMES;
}

int id_classes_parse(const char *s, int mask[10], Err *e) {
    memset(mask, 0, 10 * sizeof *mask);
    const char *p = s;
    int count = 0;
    for (;;) {
        while (*p == ' ') p++;
        if (*p < '0' || *p > '9' || (p[1] >= '0' && p[1] <= '9'))
            return fail(e, LDE_EINPUT, "id_classes '%s': expected a class 0..9 at character %ld", s,
                        (long)(p - s) + 1);
        int c = *p++ - '0';
        if (mask[c]) return fail(e, LDE_EINPUT, "id_classes '%s': class %d listed twice", s, c);
        mask[c] = 1;
        count++;
        while (*p == ' ') p++;
        if (*p == 0) break;
        if (*p != ',')
            return fail(e, LDE_EINPUT, "id_classes '%s': expected ',' at character %ld", s,
                        (long)(p - s) + 1);
        p++;
    }
    return count > 0 ? LDE_OK : fail(e, LDE_EINPUT, "id_classes '%s': no class", s);
}

/* 1 when image i of `in` is selected: its class flag in mask equals want. */
static int selected(const Images *in, const int *mask, long i, int want) {
    int64_t c = in->labels[i];
    int flag = c >= 0 && c < 10 && mask[c] != 0;
    return flag == want;
}

/* Copies the images of `in` with selected(.., want) into *out (all when mask is
 * NULL), flipping each upside down (row r -> row h-1-r) when flip. */
static int copy_subset(const Images *in, const int *mask, int want, int flip, const char *what,
                       Images *out, Err *e) {
    long n = 0;
    for (long i = 0; i < in->n; i++) n += !mask || selected(in, mask, i, want);
    int rc = images_alloc(out, n, in->h, in->w, in->labels != NULL, what, e);
    if (rc != LDE_OK) return rc;
    long side = (long)in->h * in->w, k = 0;
    for (long i = 0; i < in->n; i++) {
        if (mask && !selected(in, mask, i, want)) continue;
        const float *src = in->pix + i * side;
        float *dst = out->pix + k * side;
        for (int r = 0; r < in->h; r++)
            memcpy(dst + (long)r * in->w, src + (long)(flip ? in->h - 1 - r : r) * in->w,
                   sizeof(float) * (size_t)in->w);
        if (in->labels) out->labels[k] = in->labels[i];
        k++;
    }
    return LDE_OK;
}

int id_classes_keep(const Images *in, const int *id_mask, Images *out, Err *e) {
    if (!in->labels) return fail(e, LDE_EINPUT, "id_classes: the image set has no labels");
    return copy_subset(in, id_mask, 1, 0, "id_classes", out, e);
}

/* 2,000 noise images: normal (mean 0.5, std 0.25, clipped) or uniform [0, 1). */
static int noise(int gaussian, Images *out, Err *e) {
    int rc = images_alloc(out, OOD_NOISE_N, FMNIST_SIDE, FMNIST_SIDE, 0,
                          gaussian ? "gaussian" : "uniform", e);
    if (rc != LDE_OK) return rc;
    long n = (long)OOD_NOISE_N * FMNIST_SIDE * FMNIST_SIDE;
    if (gaussian) {
        rng_fill_normal(out->pix, n, 0.5f, 0.25f, OOD_SEED, OOD_STREAM_GAUSSIAN, 0);
        for (long k = 0; k < n; k++)
            out->pix[k] = out->pix[k] < 0 ? 0 : out->pix[k] > 1 ? 1 : out->pix[k];
    } else {
        rng_fill_uniform(out->pix, n, 0.0f, 1.0f, OOD_SEED, OOD_STREAM_UNIFORM, 0);
    }
    return LDE_OK;
}

/* True when mask leaves at least one class out. */
static int holds_out(const int *mask) {
    for (int c = 0; mask && c < 10; c++)
        if (!mask[c]) return 1;
    return 0;
}

int ood_build(const char *name, const Images *test, const int *id_mask, Images *out, Err *e) {
    memset(out, 0, sizeof *out);
    if (strcmp(name, "digits") == 0) return digits_load(out, e);
    if (strcmp(name, "gaussian") == 0) return noise(1, out, e);
    if (strcmp(name, "uniform") == 0) return noise(0, out, e);
    int vflip = strcmp(name, "vflip") == 0, heldout = strcmp(name, "heldout") == 0;
    if (!vflip && !heldout)
        return fail(e, LDE_EINPUT,
                    "unknown OOD set '%s'; expected one of digits, gaussian, uniform, vflip, "
                    "heldout",
                    name);
    if (!test || !test->labels)
        return fail(e, LDE_EINPUT, "OOD set '%s' needs the labelled test split", name);
    if (heldout && !holds_out(id_mask))
        return fail(e, LDE_EINPUT,
                    "OOD set 'heldout' needs id_classes that leave some classes out");
    if (vflip) return copy_subset(test, id_mask, 1, 1, "vflip", out, e);
    return copy_subset(test, id_mask, 0, 0, "heldout", out, e);
}
