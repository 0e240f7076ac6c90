/* fuzz_idx.c — libFuzzer target for the gzipped idx reader (fmnist_read_idx, which
 * reads through gzfile.h's gz_read_all).
 *
 * Input byte 0 picks the file kind (bit 0: images, else labels) and whether the rest
 * is the decompressed idx content (bit 1: compressed here with zlib, so mutations
 * reach the idx header and labels) or raw bytes of the file (mutations reach the
 * gzip layer). Byte 1 is the number of items the reader expects (0..255, so valid
 * files stay small). Besides the sanitizers, one property is checked: a refusal is
 * LDE_EINPUT with one line naming the file. */
#include "data/fmnist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char dir[256], path[300];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_idx_XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/fuzz-idx-ubyte.gz", dir);
    }
    if (size < 2) return 0;
    int images = data[0] & 1, compress = data[0] & 2;
    long n = data[1];
    if (compress) {
        gzFile gz = gzopen(path, "wb");
        if (!gz) abort();
        if (size > 2 && gzwrite(gz, data + 2, (unsigned)(size - 2)) != (int)(size - 2)) abort();
        gzclose(gz);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        fwrite(data + 2, 1, size - 2, f);
        fclose(f);
    }
    unsigned char *idx = NULL;
    Err e = {{0}};
    int rc = fmnist_read_idx(path, images, n, &idx, &e);
    if (rc == LDE_OK) {
        free(idx);
    } else if (rc != LDE_EINPUT || !strstr(e.msg, path) || strchr(e.msg, '\n')) {
        fprintf(stderr, "bad error (rc %d): %s\n", rc, e.msg);
        abort();
    }
    return 0;
}
