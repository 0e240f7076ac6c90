/* fuzz_modelfile.c — libFuzzer target for the model-file loader (modelfile_load).
 *
 * The loader checks an XXH64 checksum of the whole file before it parses anything,
 * so random bytes would almost never get past it. Each input is therefore loaded
 * twice: as is (the envelope checks), and with its last 8 bytes replaced by the
 * checksum of the bytes before them (the body parser). Besides the sanitizers, one
 * property is checked: a refusal is LDE_EINPUT with one line naming the file. */
#include "run/modelfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static char dir[256], path[300];

static void load(const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data, 1, size, f);
    fclose(f);
    Flow flow;
    ModelSection *secs;
    int nsecs;
    Err e = {{0}};
    int rc = modelfile_load(path, &flow, &secs, &nsecs, &e);
    if (rc == LDE_OK) {
        modelfile_sections_free(secs, nsecs);
        flow_destroy(&flow);
    } else if (rc != LDE_EINPUT || !strstr(e.msg, path) || strchr(e.msg, '\n')) {
        fprintf(stderr, "bad error (rc %d): %s\n", rc, e.msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_modelfile_XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/fuzz.model", dir);
    }
    load(data, size);
    if (size >= 8) {
        uint8_t *fixed = malloc(size);
        if (!fixed) abort();
        memcpy(fixed, data, size);
        uint64_t sum = XXH64(fixed, size - 8, 0);
        memcpy(fixed + size - 8, &sum, 8);
        load(fixed, size);
        free(fixed);
    }
    return 0;
}
