/* images.c — see images.h. */
#include "data/images.h"

#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: hashing cannot fail */
#include <xxhash.h>

int images_alloc(Images *im, long n, int h, int w, int with_labels, const char *what, Err *e) {
    memset(im, 0, sizeof *im);
    size_t count = (size_t)n * (size_t)h * (size_t)w;
    float *pix = calloc(count ? count : 1, sizeof *pix);
    int64_t *labels = with_labels ? calloc(n ? (size_t)n : 1, sizeof *labels) : NULL;
    if (!pix || (with_labels && !labels)) {
        free(pix);
        free(labels);
        return fail(e, LDE_ERUN, "%s: out of memory for %ld images of %dx%d", what, n, h, w);
    }
    im->n = n, im->h = h, im->w = w, im->pix = pix, im->labels = labels;
    return LDE_OK;
}

void images_free(Images *im) {
    free(im->pix);
    free(im->labels);
    memset(im, 0, sizeof *im);
}

uint64_t images_checksum(const Images *im) {
    XXH3_state_t st;
    int64_t shape[3] = {im->n, im->h, im->w};
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, shape, sizeof shape);
    XXH3_64bits_update(&st, im->pix, (size_t)im->n * (size_t)im->h * (size_t)im->w * sizeof(float));
    if (im->labels) XXH3_64bits_update(&st, im->labels, (size_t)im->n * sizeof(int64_t));
    return XXH3_64bits_digest(&st);
}

/* Source coordinate of destination index i: centres aligned, clamped to [0, n-1];
 * *i0 is the lower neighbour, the return value the weight of the upper one. */
static float source_coord(int i, int src_n, int dst_n, int *i0) {
    float s = ((float)i + 0.5f) * (float)src_n / (float)dst_n - 0.5f;
    if (s < 0) s = 0;
    if (s > (float)(src_n - 1)) s = (float)(src_n - 1);
    *i0 = (int)s;
    if (*i0 > src_n - 2) *i0 = src_n > 1 ? src_n - 2 : 0;
    return src_n > 1 ? s - (float)*i0 : 0.0f;
}

void images_resize_bilinear(const float *src, int sh, int sw, float *dst, int dh, int dw) {
    for (int y = 0; y < dh; y++) {
        int y0;
        float fy = source_coord(y, sh, dh, &y0);
        int y1 = sh > 1 ? y0 + 1 : y0;
        for (int x = 0; x < dw; x++) {
            int x0;
            float fx = source_coord(x, sw, dw, &x0);
            int x1 = sw > 1 ? x0 + 1 : x0;
            float top = src[y0 * sw + x0] * (1 - fx) + src[y0 * sw + x1] * fx;
            float bot = src[y1 * sw + x0] * (1 - fx) + src[y1 * sw + x1] * fx;
            dst[y * dw + x] = top * (1 - fy) + bot * fy;
        }
    }
}
