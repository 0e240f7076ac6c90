/* pixelset.c — see pixelset.h.
 *
 * User files go in two passes: every header first (rank, dtype, channels, N,
 * sides, agreement with train), then the data, so a wrong shape in the last OOD
 * file is reported before megabytes of train images are read. */
#include "data/pixelset.h"

#include "data/fmnist.h"
#include "data/npy.h"
#include "data/oodsets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pixelset_free(PixelSet *ps) {
    free(ps->train.v);
    free(ps->val.v);
    for (int i = 0; i < PIXELSET_MAX_OOD; i++) free(ps->ood[i].v);
    memset(ps, 0, sizeof *ps);
}

/* A pixel p in [0, 1] -> its 8-bit level round(p·255), as a float. */
static float level(float p) {
    return (float)floor((double)p * 255.0 + 0.5);
}

/* Checks the OOD names: at most PIXELSET_MAX_OOD, non-empty, short enough, unique. */
static int check_names(const char *const *names, int n, Err *e) {
    if (n < 0 || n > PIXELSET_MAX_OOD)
        return fail(e, LDE_EINPUT, "%d OOD sets: expected 0 to %d", n, PIXELSET_MAX_OOD);
    for (int i = 0; i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        if (len == 0 || len > PIXELSET_NAME_MAX)
            return fail(e, LDE_EINPUT, "OOD set %d: name '%s' must have 1 to %d characters", i,
                        names[i] ? names[i] : "", PIXELSET_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return fail(e, LDE_EINPUT, "OOD set '%s' is named twice", names[i]);
    }
    return LDE_OK;
}

/* ---- built-in --------------------------------------------------------------- */

/* im (pixels in [0, 1]) -> sp, keeping its first `limit` images when limit > 0.
 * The pixel buffer is quantized in place and moved into sp; *im is freed. */
static int take_images(Images *im, const char *name, long limit, PixelSplit *sp, Err *e) {
    long n = limit > 0 && im->n > limit ? limit : im->n;
    long count = n * im->h * im->w;
    for (long k = 0; k < count; k++) im->pix[k] = level(im->pix[k]);
    float *v = im->pix;
    if (n < im->n) {
        float *shrunk = realloc(v, (size_t)(count > 0 ? count : 1) * sizeof *v);
        if (shrunk) v = shrunk;
    }
    im->pix = NULL;
    images_free(im);
    snprintf(sp->name, sizeof sp->name, "%s", name);
    sp->n = n;
    sp->v = v;
    if (n == 0) return fail(e, LDE_EINPUT, "built-in image set '%s' is empty", name);
    return LDE_OK;
}

int pixelset_builtin(const char *const *ood, int n_ood, const int *id_mask, long limit,
                     PixelSet *ps, Err *e) {
    memset(ps, 0, sizeof *ps);
    int rc = check_names(ood, n_ood, e);
    /* Known names are checked before 70,000 images are read. */
    const char *const *known = ood_names();
    for (int i = 0; rc == LDE_OK && i < n_ood; i++) {
        int found = 0;
        for (int k = 0; known[k]; k++) found |= strcmp(ood[i], known[k]) == 0;
        if (!found)
            rc = fail(e, LDE_EINPUT,
                      "unknown OOD set '%s'; expected one of digits, gaussian, uniform, vflip, "
                      "heldout",
                      ood[i]);
    }
    if (rc != LDE_OK) return rc;
    ps->h = ps->w = FMNIST_SIDE;
    ps->c = 1;
    /* The test split first: val and the OOD sets built from it (vflip, heldout) are
     * small, and a heldout without held-out classes fails before the train split
     * is read. */
    Images test = {0}, im = {0};
    rc = fmnist_load(0, &test, e);
    if (rc == LDE_OK) rc = id_classes_keep(&test, id_mask, &im, e);
    if (rc == LDE_OK) rc = take_images(&im, "val", limit, &ps->val, e);
    for (int i = 0; rc == LDE_OK && i < n_ood; i++) {
        rc = ood_build(ood[i], &test, id_mask, &im, e);
        if (rc == LDE_OK) rc = take_images(&im, ood[i], limit, &ps->ood[i], e);
        ps->n_ood = i + 1;
    }
    images_free(&test);
    Images train = {0};
    if (rc == LDE_OK) rc = fmnist_load(1, &train, e);
    if (rc == LDE_OK) rc = id_classes_keep(&train, id_mask, &im, e);
    images_free(&train);
    if (rc == LDE_OK) rc = take_images(&im, "train", limit, &ps->train, e);
    images_free(&im);
    if (rc != LDE_OK) pixelset_free(ps);
    return rc;
}

/* ---- user files --------------------------------------------------------------- */

/* What an image file's header says. */
typedef struct {
    NpyDims dims;
    long n;
    int h, w, c;
    int is_u8; /* 1: |u1 levels; 0: float in [0, 1] */
} ImageHeader;

/* The NumPy name of the dtypes an image file may be refused for. */
static const char *numpy_name(const char *descr) {
    static const char *const map[][2] = {{"<i8", "int64"},   {"<i4", "int32"},
                                         {"|u1", "uint8"},   {"<f4", "float32"},
                                         {"<f8", "float64"}, {"<f2", "float16"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(descr, map[i][0]) == 0) return map[i][1];
    return "?";
}

/* Reads and checks the header of PATH as an image set (pixelset_user's rules). */
static int image_header(const char *path, ImageHeader *h, Err *e) {
    char dtype[8], shape[96];
    int rc = npy_shape_nd(path, &h->dims, dtype, e);
    if (rc != LDE_OK) return rc;
    const long *d = h->dims.dims;
    npy_dims_text(h->dims, shape, sizeof shape);
    if (h->dims.ndim != 3 && h->dims.ndim != 4)
        return fail(e, LDE_EINPUT, "%s: shape %s: expected (N, H, W) or (N, H, W, C) images", path,
                    shape);
    h->is_u8 = strcmp(dtype, "|u1") == 0;
    if (!h->is_u8 && strcmp(dtype, "<f4") != 0 && strcmp(dtype, "<f8") != 0 &&
        strcmp(dtype, "<f2") != 0)
        return fail(e, LDE_EINPUT,
                    "%s: dtype %s (%s): expected uint8 (|u1) images, or float (<f4, <f8, <f2) "
                    "images in [0, 1]",
                    path, dtype, numpy_name(dtype));
    long c = h->dims.ndim == 4 ? d[3] : 1;
    if (c < 1 || c > 4)
        return fail(e, LDE_EINPUT,
                    "%s: shape %s: %ld channels, expected 1 to 4 in (N, H, W, C), channels last "
                    "(a PyTorch (N, C, H, W) array needs arr.transpose(0, 2, 3, 1))",
                    path, shape, c);
    if (d[0] == 0) return fail(e, LDE_EINPUT, "%s: shape %s: no images (N = 0)", path, shape);
    if (d[1] < 1 || d[2] < 1 || d[1] > PIXELSET_MAX_SIDE || d[2] > PIXELSET_MAX_SIDE)
        return fail(e, LDE_EINPUT, "%s: shape %s: image of %ld×%ld, expected sides 1 to %d", path,
                    shape, d[1], d[2], PIXELSET_MAX_SIDE);
    h->n = d[0];
    h->h = (int)d[1];
    h->w = (int)d[2];
    h->c = (int)c;
    return LDE_OK;
}

int pixelset_shape(const char *path, long *n, int *h, int *w, int *c, Err *e) {
    ImageHeader ih;
    int rc = image_header(path, &ih, e);
    if (rc != LDE_OK) return rc;
    *n = ih.n, *h = ih.h, *w = ih.w, *c = ih.c;
    return LDE_OK;
}

/* Two headers must agree on H, W, C. */
static int same_image_size(const char *path, const ImageHeader *h, const char *train_path,
                           const ImageHeader *t, Err *e) {
    if (h->h == t->h && h->w == t->w && h->c == t->c) return LDE_OK;
    char a[96], b[96];
    return fail(e, LDE_EINPUT,
                "%s: images of shape %s (H, W, C = %d, %d, %d) do not match train's shape %s "
                "(H, W, C = %d, %d, %d) in %s",
                path, npy_dims_text(h->dims, a, sizeof a), h->h, h->w, h->c,
                npy_dims_text(t->dims, b, sizeof b), t->h, t->w, t->c, train_path);
}

static int same_dims(const NpyDims *a, const NpyDims *b) {
    int same = a->ndim == b->ndim;
    for (int k = 0; same && k < a->ndim; k++) same = a->dims[k] == b->dims[k];
    return same;
}

/* The data of an image file whose header h was checked -> sp (levels as floats). */
static int read_images(const char *path, const char *name, const ImageHeader *h, PixelSplit *sp,
                       Err *e) {
    NpyDims d;
    long side = (long)h->h * h->w * h->c, count = h->n * side;
    float *v = NULL;
    int rc;
    if (h->is_u8) {
        uint8_t *raw = NULL;
        rc = npy_read_u8(path, &raw, &d, e);
        if (rc == LDE_OK && !same_dims(&d, &h->dims))
            rc = fail(e, LDE_EINPUT, "%s: changed while being read", path);
        if (rc == LDE_OK && !(v = malloc((size_t)count * sizeof *v)))
            rc = fail(e, LDE_ERUN, "%s: out of memory for %ld pixels", path, count);
        for (long k = 0; rc == LDE_OK && k < count; k++) v[k] = raw[k];
        free(raw);
    } else {
        rc = npy_read_f32_nd(path, &v, &d, e);
        if (rc == LDE_OK && !same_dims(&d, &h->dims))
            rc = fail(e, LDE_EINPUT, "%s: changed while being read", path);
        for (long k = 0; rc == LDE_OK && k < count; k++) {
            float x = v[k];
            if (x >= 0.0f && x <= 1.0f) {
                v[k] = level(x);
                continue;
            }
            long i = k / side, r = k % side;
            char at[128], val[32];
            int y = (int)(r / ((long)h->w * h->c)), col = (int)(r / h->c % h->w),
                ch = (int)(r % h->c);
            if (h->dims.ndim == 4)
                snprintf(at, sizeof at, "image %ld, row %d, column %d, channel %d", i, y, col, ch);
            else
                snprintf(at, sizeof at, "image %ld, row %d, column %d", i, y, col);
            if (isnan(x))
                snprintf(val, sizeof val, "NaN");
            else
                snprintf(val, sizeof val, "value %g", (double)x);
            rc = fail(e, LDE_EINPUT,
                      "%s: %s at %s (0-based): float images must hold values in [0, 1] (or be "
                      "uint8 levels 0..255)",
                      path, val, at);
        }
    }
    if (rc != LDE_OK) {
        free(v);
        return rc;
    }
    snprintf(sp->name, sizeof sp->name, "%s", name);
    sp->n = h->n;
    sp->v = v;
    return LDE_OK;
}

int pixelset_user(const char *train, const char *val, const char *const *ood_names,
                  const char *const *ood_paths, int n_ood, PixelSet *ps, Err *e) {
    memset(ps, 0, sizeof *ps);
    int rc = check_names(ood_names, n_ood, e);
    if (rc != LDE_OK) return rc;
    /* Every header, then every file's data. */
    ImageHeader ht, hv, ho[PIXELSET_MAX_OOD];
    rc = image_header(train, &ht, e);
    if (rc == LDE_OK) rc = image_header(val, &hv, e);
    if (rc == LDE_OK) rc = same_image_size(val, &hv, train, &ht, e);
    for (int i = 0; rc == LDE_OK && i < n_ood; i++) {
        rc = image_header(ood_paths[i], &ho[i], e);
        if (rc == LDE_OK) rc = same_image_size(ood_paths[i], &ho[i], train, &ht, e);
    }
    if (rc != LDE_OK) return rc;
    ps->h = ht.h, ps->w = ht.w, ps->c = ht.c;
    rc = read_images(train, "train", &ht, &ps->train, e);
    if (rc == LDE_OK) rc = read_images(val, "val", &hv, &ps->val, e);
    for (int i = 0; rc == LDE_OK && i < n_ood; i++) {
        rc = read_images(ood_paths[i], ood_names[i], &ho[i], &ps->ood[i], e);
        ps->n_ood = i + 1;
    }
    if (rc != LDE_OK) pixelset_free(ps);
    return rc;
}
