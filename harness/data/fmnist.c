/* fmnist.c — see fmnist.h. */
#include "data/fmnist.h"

#include "data/gzfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

const char *fmnist_dir(void) {
    const char *d = getenv("LDE_FMNIST_DIR");
    return d && d[0] ? d : "/usr/share/datasets/fashion-mnist";
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int fmnist_read_idx(const char *path, int images, long n, unsigned char **data, Err *e) {
    uint32_t magic = images ? FMNIST_IDX_IMAGES_MAGIC : FMNIST_IDX_LABELS_MAGIC;
    int ndims = images ? 3 : 1;
    *data = NULL;
    if (n < 0 || n > UINT32_MAX)
        return fail(e, LDE_EINPUT, "%s: cannot hold %ld items (idx counts are 32-bit)", path, n);
    size_t header = 4 + 4 * (size_t)ndims;
    size_t item = ndims == 3 ? (size_t)FMNIST_SIDE * FMNIST_SIDE : 1;
    size_t want = header + (size_t)n * item, size;
    /* Bound at twice the expected size: a wrong file is then refused by the header
     * check below, which says what is wrong, rather than by the size bound. */
    int rc = gz_read_all(path, 2 * want, data, &size, e);
    if (rc != LDE_OK) return rc;
    const unsigned char *p = *data;
    if (size < header) {
        rc = fail(e, LDE_EINPUT, "%s: truncated idx header (%zu bytes)", path, size);
    } else if (be32(p) != magic) {
        rc = fail(e, LDE_EINPUT, "%s: idx magic number 0x%08x, expected 0x%08x", path, be32(p),
                  magic);
    } else if (be32(p + 4) != (uint32_t)n) {
        rc = fail(e, LDE_EINPUT, "%s: holds %u items, expected %ld", path, be32(p + 4), n);
    } else if (ndims == 3 && (be32(p + 8) != FMNIST_SIDE || be32(p + 12) != FMNIST_SIDE)) {
        rc = fail(e, LDE_EINPUT, "%s: images are %ux%u, expected %dx%d", path, be32(p + 8),
                  be32(p + 12), FMNIST_SIDE, FMNIST_SIDE);
    } else if (size != want) {
        rc = fail(e, LDE_EINPUT, "%s: %s: %zu bytes after decompression, expected %zu", path,
                  size < want ? "truncated" : "trailing data", size, want);
    }
    for (long i = 0; rc == LDE_OK && !images && i < n; i++)
        if (p[header + (size_t)i] >= FMNIST_CLASSES)
            rc = fail(e, LDE_EINPUT, "%s: label %d at item %ld, expected 0..9", path,
                      p[header + (size_t)i], i);
    if (rc != LDE_OK) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int fmnist_load(int train, Images *out, Err *e) {
    const char *split = train ? "train" : "t10k";
    long n = train ? FMNIST_TRAIN_N : FMNIST_TEST_N;
    char ipath[4096], lpath[4096];
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", fmnist_dir(), split);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", fmnist_dir(), split);
    unsigned char *img = NULL, *lab = NULL;
    int rc = fmnist_read_idx(ipath, 1, n, &img, e);
    if (rc == LDE_OK) rc = fmnist_read_idx(lpath, 0, n, &lab, e);
    if (rc == LDE_OK) rc = images_alloc(out, n, FMNIST_SIDE, FMNIST_SIDE, 1, ipath, e);
    if (rc == LDE_OK) {
        const unsigned char *px = img + 16, *lb = lab + 8;
        for (long i = 0; i < n; i++) out->labels[i] = lb[i];
        for (long k = 0; k < n * FMNIST_SIDE * FMNIST_SIDE; k++) out->pix[k] = px[k] / 255.0f;
    }
    free(img);
    free(lab);
    return rc;
}
