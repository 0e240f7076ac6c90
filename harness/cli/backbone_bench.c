/* backbone_bench.c — see backbone_bench.h. */
#include "cli/backbone_bench.h"

#include "backbone/backbone_train.h"
#include "flows/conv2d.h"
#include "flows/rng.h"

#include <omp.h>
#include <stdlib.h>

/* Multiply-adds ×2 of one image's forward pass through the conv stages (the head and
 * the element-wise layers are < 1% of it). */
static double forward_flops(const BackboneShape *s) {
    double f = 0;
    int side = BACKBONE_SIDE, cin = 1;
    for (int i = 0; i < s->nstages; i++) {
        side = conv2d_out_size(side, s->stride[i]);
        f += 2.0 * 9 * cin * s->width[i] * side * side;
        cin = s->width[i];
    }
    return f;
}

static const char *const conv_names[] = {"im2col", "onednn"}; /* ConvImpl's order */

static void report(const BenchContext *ctx, FILE *out, ConvImpl conv, int batch, const char *mode,
                   double img_s, double flops) {
    double gf = img_s * flops * 1e-9;
    if (ctx->json)
        fprintf(out,
                "{\"model\":\"backbone\",\"arch\":\"cnn\",\"conv\":\"%s\",\"batch\":%d,"
                "\"mode\":\"%s\",\"images_per_s\":%.1f,\"gflops\":%.2f,\"peak_gflops\":%.2f}\n",
                conv_names[conv], batch, mode, img_s, gf, ctx->peak_gflops);
    else
        fprintf(out,
                "backbone cnn 32/64/128/256 %-6s batch %3d  %-7s %9.1f images/s %7.1f GFLOP/s "
                "%4.0f%%\n",
                conv_names[conv], batch, mode, img_s, gf, 100.0 * gf / ctx->peak_gflops);
}

/* Training is timed from the end of its first step to the end of its last, through
 * the progress callback: the first step pays for page faults on the work buffers
 * and OpenBLAS's, which a real training run pays once in ~1,900 steps. */
typedef struct {
    double t_first, t_last;
} StepClock;

static void step_clock(void *ctx, const BackboneTrainStatus *st) {
    StepClock *c = ctx;
    double now = omp_get_wtime();
    if (st->step == 1) c->t_first = now;
    c->t_last = now;
}

/* One conv path: training then extraction of the default cnn on n random images. */
static int bench_conv(const BenchContext *ctx, FILE *out, ConvImpl conv, Err *e) {
    long n = ctx->quick ? 32 : 2048;
    float *pix = malloc(sizeof(float) * n * BACKBONE_PIXELS);
    int64_t *labels = malloc(sizeof(int64_t) * n);
    if (!pix || !labels) {
        free(pix), free(labels);
        return fail(e, LDE_ERUN, "backbone bench: out of memory");
    }
    rng_fill_uniform(pix, n * BACKBONE_PIXELS, 0.0f, 1.0f, 1, 0, 0);
    for (long i = 0; i < n; i++) labels[i] = i % 10;
    BackboneShape shape = backbone_shape_default(BACKBONE_CNN);
    shape.conv = conv;
    BackboneTrainConfig c = backbone_train_defaults();
    c.epochs = 1, c.batch = ctx->quick ? 8 : 128;
    Backbone bb;
    StepClock clock = {0.0, 0.0};
    int rc = backbone_init(&bb, &shape, 0, e);
    if (rc == LDE_OK) rc = backbone_train(&bb, &c, pix, labels, n, step_clock, &clock, e);
    /* Extraction after a warm-up pass over the same images. */
    if (rc == LDE_OK) rc = backbone_extract(&bb, pix, n, NULL, NULL, e);
    double t1 = omp_get_wtime();
    if (rc == LDE_OK) rc = backbone_extract(&bb, pix, n, NULL, NULL, e);
    double t2 = omp_get_wtime();
    if (rc == LDE_OK) {
        double f = forward_flops(&shape);
        long steps = (n + c.batch - 1) / c.batch;
        /* Training = forward + two backward products per forward one. */
        report(ctx, out, conv, c.batch, "train",
               (double)(steps - 1) * c.batch / (clock.t_last - clock.t_first), 3 * f);
        report(ctx, out, conv, c.batch, "extract", (double)n / (t2 - t1), f);
    }
    backbone_free(&bb);
    free(pix), free(labels);
    return rc;
}

int backbone_bench(const BenchContext *ctx, FILE *out, Err *e) {
    int batch = ctx->quick ? 8 : 128, rc = LDE_OK;
    if (bench_selected(ctx, "backbone", batch)) rc = bench_conv(ctx, out, CONV_IM2COL, e);
    if (rc == LDE_OK && bench_selected(ctx, "backbone-onednn", batch))
        rc = bench_conv(ctx, out, CONV_ONEDNN, e);
    return rc;
}
