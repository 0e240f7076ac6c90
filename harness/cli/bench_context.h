/* bench_context.h — what `lde bench` (bench.c: throughput of the flow core and other
 * heavy paths against this machine's SGEMM peak) hands the measurements of other
 * modules. They plug in as a BenchExtra (see bench.c's `extras` table), so one
 * command reports everything; this header is theirs and bench.c's, so neither
 * includes the other. */
#ifndef LDE_BENCH_CONTEXT_H
#define LDE_BENCH_CONTEXT_H

#include "util/err.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int quick;          /* tiny shapes and short timings (tests) */
    int json;           /* one JSON object per line instead of a table */
    double peak_gflops; /* measured SGEMM peak, for the ratio */
    const char *only;   /* NULL, or the one model to measure (--only, for perf) */
    int only_batch;     /* with only: that batch size only; 0 = every batch */
} BenchContext;

/* 1 if the model of that name and batch is to be measured under ctx->only. Inline
 * here: bench.c and the extras both ask, and neither may call into the other. */
static inline int bench_selected(const BenchContext *ctx, const char *name, int batch) {
    if (!ctx->only) return 1;
    return strcmp(ctx->only, name) == 0 && (ctx->only_batch == 0 || ctx->only_batch == batch);
}

/* A measurement of another module: writes its lines (in ctx->json's format) to out;
 * returns LDE_OK or an err.h code with e filled. */
typedef int (*BenchExtra)(const BenchContext *ctx, FILE *out, Err *e);

#endif
