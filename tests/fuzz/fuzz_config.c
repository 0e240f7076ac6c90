/* fuzz_config.c — libFuzzer target for the config loader, through validation and
 * grid expansion (config_load + plan_build), as `lde plan` runs them.
 *
 * Each input is written to a file in a private directory that also holds three
 * small .npy files (tr.npy 10x4, va.npy 5x4, oo.npy 6x4), so inputs naming user
 * features reach the header checks. Besides the sanitizers, one property is
 * checked: a refused config's message is one line naming the file. */
#include "config/config.h"
#include "config/plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256], path[300];

static void write_npy(const char *name, int rows, int cols) {
    char p[320], dict[96];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int dl = snprintf(dict, sizeof dict,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
    int hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fprintf(f, "%s%*s\n", dict, hl - dl - 1, "");
    float zero = 0;
    for (int i = 0; i < rows * cols; i++) fwrite(&zero, sizeof zero, 1, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_config_XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/fuzz.yaml", dir);
        write_npy("tr.npy", 10, 4);
        write_npy("va.npy", 5, 4);
        write_npy("oo.npy", 6, 4);
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data, 1, size, f);
    fclose(f);
    Config c;
    Err e = {{0}};
    int rc = config_load(path, &c, &e);
    if (rc == LDE_OK) {
        Plan p;
        rc = plan_build(&c, &p, &e);
        if (rc == LDE_OK) plan_free(&p);
        config_free(&c);
    }
    if (rc != LDE_OK && (rc != LDE_EINPUT || !strstr(e.msg, path) || strchr(e.msg, '\n'))) {
        fprintf(stderr, "bad error (rc %d): %s\n", rc, e.msg);
        abort();
    }
    return 0;
}
