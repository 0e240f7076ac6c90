/* images.h — a set of grey-scale images, the input of the built-in backbone.
 *
 * Invariants: pix holds n*h*w floats in [0, 1], image i at pix + i*h*w, row-major
 * (row 0 is the top); labels holds n class ids, or is NULL for sets without
 * classes (noise, digits). One owner frees with images_free. */
#ifndef LDE_IMAGES_H
#define LDE_IMAGES_H

#include "util/err.h"

#include <stdint.h>

typedef struct {
    long n;
    int h, w;
    float *pix;      /* n*h*w in [0,1] */
    int64_t *labels; /* n, or NULL */
} Images;

/* Allocates n images of h x w, zero-filled, with labels when with_labels. On
 * failure LDE_ERUN naming what (e.g. "digits") and *im is left empty. */
int images_alloc(Images *im, long n, int h, int w, int with_labels, const char *what, Err *e);

/* Frees both buffers and zeroes *im; safe on an already freed or zeroed set. */
void images_free(Images *im);

/* XXH3-64 over n, h, w (as int64), the pixels' bytes, then the labels' bytes if
 * any: equal sets give equal checksums on every run and machine (little-endian). */
uint64_t images_checksum(const Images *im);

/* src (sh, sw) -> dst (dh, dw), bilinear with pixel centres aligned (the
 * convention of PIL, OpenCV and scikit-image): dst pixel (y, x) samples src at
 * ((y + 0.5) * sh/dh - 0.5, (x + 0.5) * sw/dw - 0.5), clamped to the border. */
void images_resize_bilinear(const float *src, int sh, int sw, float *dst, int dh, int dw);

#endif
