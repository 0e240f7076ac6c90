/* backbone_bench.h — throughput of the default backbone (`lde bench`): training and
 * feature-extraction images per second on synthetic 28×28 images, so it needs no
 * data set and measures only the network. */
#ifndef LDE_BACKBONE_BENCH_H
#define LDE_BACKBONE_BENCH_H

#include "err.h"

/* Trains the default cnn for 4 epochs of 8 batches of 128 (the default schedule) and extracts 2,048
 * images, after one warm-up batch; prints two lines of text, or one JSON object when json is set:
 * {"backbone_train_img_per_s": x, "backbone_extract_img_per_s": y, "threads": t}. */
int backbone_bench(int json, Err *e);

#endif
