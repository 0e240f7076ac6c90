/* backbone_bench.h — throughput of the default backbone in `lde bench`: training and
 * feature-extraction images per second on synthetic 28×28 images (no data set
 * needed, only the network is measured), with GFLOP/s against the SGEMM peak. */
#ifndef LDE_BACKBONE_BENCH_H
#define LDE_BACKBONE_BENCH_H

#include "cli/bench_context.h"

/* A BenchExtra: trains the default cnn for one epoch of 1,024 images (batch 128) and
 * extracts 2,048, after a warm-up batch (ctx->quick: a few images); writes two table
 * lines, or two JSON objects {"model":"backbone","mode":"train"|"extract",...}. */
int backbone_bench(const BenchContext *ctx, FILE *out, Err *e);

#endif
