/* backbone_bench.c — see backbone_bench.h. */
#include "backbone_bench.h"

#include "backbone_train.h"
#include "rng.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

enum { BENCH_TRAIN = 1024, BENCH_EXTRACT = 2048, BENCH_BATCH = 128 };

int backbone_bench(int json, Err *e) {
    long n = BENCH_EXTRACT;
    float *pix = malloc(sizeof(float) * n * BACKBONE_PIXELS);
    int64_t *labels = malloc(sizeof(int64_t) * n);
    if (!pix || !labels) {
        free(pix), free(labels);
        return fail(e, LDE_ERUN, "backbone bench: out of memory");
    }
    rng_fill_uniform(pix, n * BACKBONE_PIXELS, 0.0f, 1.0f, 1, 0, 0);
    for (long i = 0; i < n; i++) labels[i] = i % 10;
    BackboneShape shape = backbone_shape_default(BACKBONE_CNN);
    BackboneTrainConfig c = backbone_train_defaults();
    c.batch = BENCH_BATCH;
    Backbone bb;
    int rc = backbone_init(&bb, &shape, 0, e);
    /* Warm-up: one batch pays for page faults and OpenBLAS's buffers. */
    if (rc == LDE_OK) rc = backbone_train(&bb, &c, pix, labels, BENCH_BATCH, NULL, NULL, e);
    double t0 = omp_get_wtime();
    if (rc == LDE_OK) rc = backbone_train(&bb, &c, pix, labels, BENCH_TRAIN, NULL, NULL, e);
    double t1 = omp_get_wtime();
    if (rc == LDE_OK) rc = backbone_extract(&bb, pix, n, NULL, NULL, e);
    double t2 = omp_get_wtime();
    if (rc == LDE_OK) {
        double train = BENCH_TRAIN * c.epochs / (t1 - t0), extract = n / (t2 - t1);
        if (json)
            printf("{\"backbone_train_img_per_s\": %.1f, \"backbone_extract_img_per_s\": %.1f, "
                   "\"threads\": %d}\n",
                   train, extract, omp_get_max_threads());
        else
            printf("backbone train    %8.1f images/s  (cnn 32/64/128/256, batch %d, %d threads)\n"
                   "backbone extract  %8.1f images/s\n",
                   train, BENCH_BATCH, omp_get_max_threads(), extract);
    }
    backbone_free(&bb);
    free(pix), free(labels);
    return rc;
}
