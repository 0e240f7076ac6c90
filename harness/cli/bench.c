/* bench.c — `lde bench [--json] [--quick]`: the SGEMM peak through the CBLAS lde links,
 * then training (forward + backward + Adam) and evaluation (log p only) throughput
 * of each flow in `cases`, with achieved GFLOP/s (flow_flops: matrix products only)
 * and the ratio to the peak. Each figure is the median-free plain rate over as many
 * iterations as fit in a fixed time after a warm-up, so it is comparable run to run
 * on an idle machine; the caller is told to state the machine's load. */
#include "cli/backbone_bench.h"
#include "cli/bench_context.h"

#include "cli/commands.h"
#include "flows/blas.h"
#include "flows/flow_optim.h"
#include "flows/rng.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FlowArch arch;
    int d, hidden, blocks, batch;
    int eval_terms; /* resflow: 0 = exact evaluation log-det, n = the n-term series */
    int eval_rows;  /* rows of the evaluation set; 0 = EVAL_SET */
    int eval_only;  /* 1: a second evaluation mode of a case already trained above */
    int side;       /* images: side × side × 1 images (d = side²), checkerboard masks,
                     * conv st-networks of `hidden` channels; 0 = vectors */
    ConvImpl conv;  /* images: the st-networks' convs */
} BenchCase;

/* The LDE paper's flow (d 512, h 2048, 10 blocks) at two batch sizes per arch.
 * An arch that flow_create does not (yet) build is reported as skipped. */
static const BenchCase full_cases[] = {
    {FLOW_GLOW, 512, 2048, 10, 64, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_GLOW, 512, 2048, 10, 256, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_REALNVP, 512, 2048, 10, 64, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_REALNVP, 512, 2048, 10, 256, 0, 0, 0, 0, CONV_IM2COL},
    /* resflow's exact log-det costs 2dh² + 2d²h + 2d³/3 per row and block (~55 GFLOP
     * per row here), so its evaluation is timed on 16 rows; the series mode
     * (eval_terms 4, the fast one for grids) on the usual set. */
    {FLOW_RESFLOW, 512, 2048, 10, 64, 0, 16, 0, 0, CONV_IM2COL},
    {FLOW_RESFLOW, 512, 2048, 10, 256, 0, 16, 0, 0, CONV_IM2COL},
    {FLOW_RESFLOW, 512, 2048, 10, 256, 4, 0, 1, 0, CONV_IM2COL},
    /* Kirichenko et al.'s mask experiment on Fashion-MNIST pixels (issue 15): an
     * image RealNVP of 8 checkerboard couplings, h = 64, no squeeze */
    {FLOW_REALNVP, 784, 64, 8, 64, 0, 0, 0, 28, CONV_IM2COL},
    {FLOW_REALNVP, 784, 64, 8, 64, 0, 0, 0, 28, CONV_ONEDNN}, /* flow.conv: onednn */
};
static const BenchCase quick_cases[] = {
    {FLOW_GLOW, 16, 32, 2, 8, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_GLOW, 16, 32, 2, 16, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_REALNVP, 16, 32, 2, 8, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_REALNVP, 16, 32, 2, 16, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_RESFLOW, 16, 32, 2, 8, 0, 0, 0, 0, CONV_IM2COL},
    {FLOW_RESFLOW, 16, 32, 2, 8, 4, 0, 1, 0, CONV_IM2COL},
    {FLOW_REALNVP, 64, 4, 2, 8, 0, 0, 0, 8, CONV_IM2COL},
    {FLOW_REALNVP, 64, 4, 2, 8, 0, 0, 0, 8, CONV_ONEDNN},
};

/* The flow of a case. */
static FlowConfig case_config(const BenchCase *bc) {
    FlowConfig cfg = bc->side ? flow_config_image(bc->arch, 1, bc->side, bc->side)
                              : flow_config_default(bc->arch, bc->d);
    cfg.hidden = bc->hidden, cfg.blocks = bc->blocks, cfg.eval_terms = bc->eval_terms;
    cfg.conv = bc->conv;
    return cfg;
}

/* Other modules' measurements, run after the flows (the backbone's goes here). */
static const BenchExtra extras[] = {backbone_bench, NULL};

/* GFLOP/s of an n×n×n product, best of a few repetitions. The one direct
 * cblas_sgemm in lde: the peak is OpenBLAS's own (threaded as it likes), not lde's
 * fixed-tile gemm(), whose bits matter and whose speed is what the flows report. */
static double sgemm_peak(int n, int reps) {
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    rng_fill_normal(a, (long)n * n, 0.0f, 1.0f, 1, 1, 0);
    rng_fill_normal(b, (long)n * n, 0.0f, 1.0f, 1, 2, 0);
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        double dt = omp_get_wtime() - t0;
        double g = 2.0 * n * n * (double)n / dt / 1e9;
        if (g > best) best = g;
    }
    free(a), free(b), free(c);
    return best;
}

/* Rows of the set an evaluation pass scores: as lde scores val/OOD sets, in
 * flow_log_prob's chunks (max(batch, FLOW_EVAL_ROWS) rows), whatever the batch. */
enum { EVAL_SET = 4 * FLOW_EVAL_ROWS };

/* Samples per second of one mode of one case, or -1 if the flow cannot be built.
 * train: steps on batches of bc->batch rows; eval: log p of an EVAL_SET-row set with
 * the FlowWork of that training batch. */
static double measure(const BenchCase *bc, int train, double seconds) {
    FlowConfig cfg = case_config(bc);
    Flow f;
    if (flow_create(&f, &cfg, 1) != 0) return -1.0;
    FlowWork *w = flow_work_create(&f, bc->batch);
    FlowOptim o;
    AdamConfig adam = adam_defaults();
    adam.lr = 1e-5f;
    int rows = train ? bc->batch : bc->eval_rows > 0 ? bc->eval_rows : EVAL_SET;
    float *x = malloc(sizeof(float) * (size_t)rows * bc->d);
    double *logp = malloc(sizeof(double) * (size_t)rows);
    double rate = -1.0;
    if (w && x && logp && flow_optim_init(&o, &f, &adam, 0.0) == 0) {
        rng_fill_normal(x, (long)rows * bc->d, 0.0f, 1.0f, 2, 1, 0);
        flow_train_step(&f, &o, x, bc->batch, w, 1, NULL); /* warm-up, ActNorm init */
        long iters = 0;
        double t0 = omp_get_wtime(), dt;
        do {
            if (train)
                flow_train_step(&f, &o, x, bc->batch, w, 1, NULL);
            else
                flow_log_prob(&f, x, logp, rows, w);
            iters++;
            dt = omp_get_wtime() - t0;
        } while (dt < seconds || iters < 2);
        rate = (double)iters * rows / dt;
        flow_optim_destroy(&o);
    }
    free(x), free(logp);
    flow_work_destroy(w);
    flow_destroy(&f);
    return rate;
}

/* A case's name in the output: an image flow is named for its pixels (realnvp-px),
 * and for oneDNN convs when it has them (realnvp-px-onednn). */
static void case_name(const BenchCase *bc, char *name, size_t size) {
    snprintf(name, size, "%s%s%s", flow_arch_name(bc->arch), bc->side ? "-px" : "",
             bc->conv == CONV_ONEDNN ? "-onednn" : "");
}

/* --only NAME[:BATCH] into ctx, the name one of the models measured. */
static int parse_only(BenchContext *ctx, char *arg, Err *e) {
    static const char *const names[] = {"glow",           "realnvp",           "resflow",
                                        "realnvp-px",     "realnvp-px-onednn", "backbone",
                                        "backbone-onednn"};
    char *colon = strchr(arg, ':'), *end;
    ctx->only = arg, ctx->only_batch = 0;
    if (colon) {
        *colon = '\0';
        long b = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || b <= 0 || b > 1 << 20)
            return fail(e, LDE_EINPUT, "--only %s:%s: expected a positive batch size after ':'",
                        arg, colon + 1);
        ctx->only_batch = (int)b;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(arg, names[i]) == 0) return LDE_OK;
    return fail(e, LDE_EINPUT,
                "--only %s: no such model (expected glow, realnvp, resflow, realnvp-px, "
                "realnvp-px-onednn, backbone or backbone-onednn)",
                arg);
}

static void report(const BenchContext *ctx, const BenchCase *bc, int train, double rate) {
    FlowConfig cfg = case_config(bc);
    double gflops = flow_flops(&cfg, 1, train) * rate / 1e9;
    const char *mode = train ? "train" : bc->eval_terms > 0 ? "eval_series" : "eval";
    char name[32];
    case_name(bc, name, sizeof name);
    if (ctx->json)
        printf("{\"arch\":\"%s\",\"d\":%d,\"hidden\":%d,\"blocks\":%d,\"batch\":%d,\"mode\":\"%s\","
               "\"samples_per_s\":%.1f,\"gflops\":%.2f,\"peak_gflops\":%.2f}\n",
               name, bc->d, bc->hidden, bc->blocks, bc->batch, mode, rate, gflops,
               ctx->peak_gflops);
    else
        printf("%-17s %5d %6d %6d %5d  %-11s %12.1f %9.1f %6.0f%%\n", name, bc->d, bc->hidden,
               bc->blocks, bc->batch, mode, rate, gflops, 100.0 * gflops / ctx->peak_gflops);
    fflush(stdout);
}

static int bench_run(int argc, char **argv, Err *e) {
    BenchContext ctx = {0, 0, 0.0, NULL, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            ctx.json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            ctx.quick = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            int rc = parse_only(&ctx, argv[++i], e);
            if (rc != LDE_OK) return rc;
        } else
            return fail(e, LDE_EINPUT,
                        "unknown option '%s' (expected --json, --quick or --only NAME[:BATCH])",
                        argv[i]);
    }
    ctx.peak_gflops = ctx.quick ? sgemm_peak(256, 3) : sgemm_peak(4096, 3);
    if (!ctx.json) {
        printf("SGEMM peak (%d threads): %.1f GFLOP/s, %s kernels\n\n", omp_get_max_threads(),
               ctx.peak_gflops, openblas_get_corename());
        printf("%-17s %5s %6s %6s %5s  %-11s %12s %9s %7s\n", "arch", "d", "hidden", "blocks",
               "batch", "mode", "samples/s", "GFLOP/s", "peak");
    }
    const BenchCase *cases = ctx.quick ? quick_cases : full_cases;
    int n = ctx.quick ? (int)(sizeof quick_cases / sizeof *quick_cases)
                      : (int)(sizeof full_cases / sizeof *full_cases);
    double seconds = ctx.quick ? 0.05 : 3.0;
    for (int i = 0; i < n; i++) {
        char name[32];
        case_name(&cases[i], name, sizeof name);
        if (!bench_selected(&ctx, name, cases[i].batch)) continue;
        for (int train = !cases[i].eval_only; train >= 0; train--) {
            double rate = measure(&cases[i], train, seconds);
            if (rate < 0) {
                fprintf(stderr, "bench: %s not available, skipped\n",
                        flow_arch_name(cases[i].arch));
                break;
            }
            report(&ctx, &cases[i], train, rate);
        }
    }
    for (int i = 0; extras[i]; i++) {
        int rc = extras[i](&ctx, stdout, e);
        if (rc != LDE_OK) return rc;
    }
    return LDE_OK;
}

const Command cmd_bench = {
    "bench",
    "flow throughput (train and eval) against this machine's SGEMM peak",
    "usage: lde bench [--json] [--quick] [--only NAME[:BATCH]]\n"
    "\n"
    "Measures the SGEMM peak (a 4096³ product through OpenBLAS), then training\n"
    "(forward + backward + Adam) and evaluation (log p) throughput of Glow, RealNVP and\n"
    "Residual Flow with d 512, hidden 2048, 10 blocks, at batch 64 and 256. Training\n"
    "takes steps on batches of that size; evaluation scores a 2048-row set the way lde\n"
    "scores val and OOD sets: in chunks of max(batch, 512) rows.\n"
    "  --json   one JSON object per line: arch, d, hidden, blocks, batch, mode,\n"
    "           samples_per_s, gflops, peak_gflops\n"
    "  --quick  tiny shapes and short timings (a smoke test, not a measurement)\n"
    "  --only   one model (glow, realnvp, resflow, realnvp-px, realnvp-px-onednn, backbone,\n"
    "           backbone-onednn), at one batch\n"
    "           size if given: for perf record\n"
    "Run it on an idle machine: other processes lower every figure, and on a busy one\n"
    "lde's idle threads wait passively instead of spinning (lde --version says which).\n",
    bench_run,
};
