/* flow.h — a normalizing flow on vectors or images: RealNVP, Glow or Residual Flow.
 *
 * x (data, d dims) -> z = f(x), with log p(x) = log N(z; 0, I) + log|det ∂f/∂x|.
 *   realnvp  block = affine coupling (the conditioning half alternates block to block)
 *   glow     block = ActNorm -> invertible linear (LU) -> affine coupling
 *   resflow  block = ActNorm -> residual block x + g(x)
 * On images (FlowConfig.img_c/img_h/img_w set; realnvp and glow, not resflow) each row
 * is one h×w×c image stored NHWC, d = c·h·w, and every entry point below works the same:
 *   realnvp  block = convolutional affine coupling (conv_coupling.h) with FlowConfig.mask
 *   glow     block = per-channel ActNorm -> invertible 1×1 convolution -> that coupling
 * and with squeeze = k > 0 the multi-scale structure of RealNVP §3.6 / Glow §3: k
 * levels of [squeeze 2×2, `blocks` blocks, factor out half the channels], then `blocks`
 * blocks on what is left (so (k+1)·blocks blocks in all). A factored-out half goes
 * straight to z: the level whose input has d_a active values writes it to columns
 * [d_a/2, d_a) of z, and later layers see only the d_a/2 that stay (squeeze.h).
 * Parameters live in one flat float buffer (Adam, save/load and the parameter count
 * are one loop each); `state` holds what is not trained but must be saved with the
 * model: ActNorm's "initialised" flags and the spectral-norm power-iteration
 * vectors. Log densities are accumulated in double; arrays are float32.
 *
 * Contract for callers (harness, bench): this header. flow.c builds the chain of
 * layers, flow_pass.c runs the passes over it; the layer files behind them
 * (actnorm.c, invlinear.c, coupling.c, conv_coupling.c, squeeze.c, resblock.c) each
 * own one layer. */
#ifndef LDE_FLOW_H
#define LDE_FLOW_H

#include "flows/conv_coupling.h"
#include "flows/coupling.h"
#include "flows/mask.h"
#include "flows/resblock.h"

#include <stdint.h>

typedef enum { FLOW_REALNVP, FLOW_GLOW, FLOW_RESFLOW } FlowArch;

/* How Glow's invertible linears (and 1×1 convolutions) start (invlinear.h): a random
 * rotation, as Glow §3.2 (the default, 0), or a random permutation. */
typedef enum { FLOW_LINEAR_ROTATION, FLOW_LINEAR_PERMUTATION } FlowLinearInit;

/* The layers a flow is a chain of; a block is one or more of them (see flow.c's
 * flow_build, one switch on the arch). */
typedef enum {
    FLOW_LAYER_ACTNORM,
    FLOW_LAYER_INVLINEAR,
    FLOW_LAYER_COUPLING,
    FLOW_LAYER_RESBLOCK,
    FLOW_LAYER_CONV_COUPLING, /* images: convolutional affine coupling */
    FLOW_LAYER_SQUEEZE,       /* images: space-to-depth 2×2 (a permutation) */
    FLOW_LAYER_SPLIT          /* images: factor out half the channels into z */
} FlowLayerKind;

typedef struct {
    FlowLayerKind kind;
    long poff, np;     /* its slice of Flow.params */
    long soff, ns;     /* its slice of Flow.state */
    Coupling c;        /* FLOW_LAYER_COUPLING: its shape */
    ResBlock rb;       /* FLOW_LAYER_RESBLOCK: its shape */
    ConvCoupling cc;   /* FLOW_LAYER_CONV_COUPLING: its shape */
    int h, w, ch;      /* the shape of its input: an image h×w×ch, or 1×1×d for vectors */
    int din, dout;     /* values per row in and out: h·w·ch, and din/2 after a split */
    long saved_row;    /* floats per batch row kept from forward for backward */
    long saved_once;   /* floats kept once per batch (the invertible linear's factors) */
    long scratch_row;  /* floats per batch row its backward needs as scratch */
    long scratch_once; /* scratch floats needed once per batch (a residual block's σ) */
} FlowLayer;

typedef struct {
    FlowArch arch;
    int d;           /* data dimension */
    int blocks;      /* number of blocks (>= 1) */
    int hidden;      /* width of the coupling nets / residual MLPs */
    int bottleneck;  /* 0 = none; l > 0 inserts Linear(h->l) -> Linear(l->h) (Kirichenko §7) */
    float lipschitz; /* resflow: spectral-norm coefficient, default 0.97 */
    int eval_terms;  /* resflow evaluation log-det: 0 = exact (LU, default); n > 0 = the
                      * n-term series with FLOW_EVAL_PROBES fixed probes, much faster at
                      * large hidden, error bounded by a test (see flow_pass.c) */
    /* Images. All three 0: a vector flow (as before these fields existed). Set: each
     * row is an img_h×img_w×img_c image, NHWC, and d must equal img_c·img_h·img_w. */
    int img_c, img_h, img_w;
    FlowMask mask;              /* images: which positions a coupling conditions on (mask.h);
                                 * ignored by vector flows */
    int squeeze;                /* images: multi-scale levels, 0 = none (see the top of this file);
                                 * img_h and img_w must divide by 2^squeeze. Vectors: must be 0 */
    FlowLinearInit linear_init; /* glow: the invertible linears' start; not saved with a
                                 * model (only the start depends on it) */
    ConvImpl conv;              /* images: the st-networks' convs, im2col or oneDNN (the last
                                 * bits differ); vectors: must be CONV_IM2COL */
} FlowConfig;

/* Probes of the series evaluation mode (eval_terms > 0). */
enum { FLOW_EVAL_PROBES = 2 };

typedef struct {
    FlowConfig cfg;
    long nparams;
    float *params; /* trained, one flat buffer */
    long nstate;
    float *state; /* saved but not trained */
    int nlayers;
    FlowLayer *layers; /* derived from cfg by flow_create */
} Flow;

/* "realnvp" | "glow" | "resflow" <-> FlowArch; parse returns 0 on success, -1 if unknown. */
const char *flow_arch_name(FlowArch arch);
int flow_arch_parse(const char *name, FlowArch *arch);

/* Defaults for the given arch and dimension: 10 blocks, hidden 2048, no bottleneck, 0.97. */
FlowConfig flow_config_default(FlowArch arch, int d);

/* Defaults for c×h×w images (d = c·h·w): 8 blocks, hidden 64 channels, no
 * bottleneck, checkerboard mask, no squeeze (Kirichenko et al.'s mask experiment). */
FlowConfig flow_config_image(FlowArch arch, int c, int h, int w);

/* Allocates and initialises a flow (random weights from seed; coupling output layers
 * zero, so a new flow is the identity up to ActNorm). Returns 0, or -1 when cfg is
 * invalid (d < 2, blocks < 1, hidden < 1, resflow lipschitz outside (0,1), an image
 * shape that does not multiply to d, a mask that cannot split some scale's image
 * (mask_valid), sides that do not divide by 2^squeeze, resflow on images, ...) or
 * memory runs out. */
int flow_create(Flow *f, const FlowConfig *cfg, uint64_t seed);

/* 1 when the config describes images (img_c, img_h or img_w set), 0 for vectors. */
int flow_config_is_image(const FlowConfig *cfg);

/* The parameter and state counts flow_create would allocate for cfg, without
 * allocating them (a model file is checked against them before anything is built).
 * Returns 0, or -1 when cfg is invalid or absurdly large (a width beyond 2^24 or
 * more than 2^40 parameters). */
int flow_size(const FlowConfig *cfg, long *nparams, long *nstate);
void flow_destroy(Flow *f);

/* Scratch for training batches of up to max_batch rows (activations kept for
 * backward) and for evaluation in chunks of max(max_batch, FLOW_EVAL_ROWS) rows
 * (nothing kept: bigger chunks amortise BLAS's packing of the weights); image flows
 * evaluate in chunks of max_batch rows (a conv coupling's scratch is ~9·hidden floats
 * per pixel: 512 28×28 images at hidden 64 would need 1.8 GB). One FlowWork per
 * thread of control; flows never allocate in the training loop. */
enum { FLOW_EVAL_ROWS = 512 };
typedef struct FlowWork FlowWork;
FlowWork *flow_work_create(const Flow *f, int max_batch);
void flow_work_destroy(FlowWork *w);

/* Evaluation: x (B,d) -> log p(x) (B), natural log, exact log-determinants. Any B:
 * rows are processed in evaluation chunks (see FlowWork). */
void flow_log_prob(const Flow *f, const float *x, double *logp, int B, FlowWork *w);

/* x (B,d) -> z = f(x) (B,d) and log|det ∂f/∂x| (B). Any B (chunked). */
void flow_forward(const Flow *f, const float *x, float *z, double *logdet, int B, FlowWork *w);

/* Data-dependent init (Glow §3.1) of every ActNorm not yet initialised, from the n
 * rows of x (n,d) together, whatever the batch size: layer by layer, x goes through
 * the chain (evaluation mode, in chunks; log-dets not computed) and each ActNorm is
 * set from all n rows (n·h·w pixels for images) as they reach it. Initialised
 * ActNorms stay as they are (a loaded model is never re-initialised). Returns 0, or
 * -1 when memory runs out (2·n·d floats). */
int flow_init_actnorm(Flow *f, const float *x, int n, FlowWork *w);

/* Training: returns the mean negative log-likelihood in nats of x (B,d) and writes
 * its gradient (nparams, overwritten) into grad. An ActNorm that flow_init_actnorm
 * has not initialised is initialised from this batch as it reaches it (the lazy
 * form of the same init; never again, not after a load).
 * (seed, step) key the random numbers of stochastic log-det estimators. */
double flow_loss_grad(Flow *f, const float *x, int B, float *grad, FlowWork *w, uint64_t seed,
                      uint64_t step);

/* The same, and also the gradient w.r.t. the input, dx (B,d) (tests, input saliency).
 * B <= the work's max_batch. */
double flow_loss_grad_input(Flow *f, const float *x, int B, float *grad, float *dx, FlowWork *w,
                            uint64_t seed, uint64_t step);

/* z (B,d) -> x (B,d), the inverse of the flow; z may alias x. Any B (chunked). */
void flow_inverse(const Flow *f, const float *z, float *x, int B, FlowWork *w);

/* What the image couplings do (Kirichenko et al. Fig. 3). flow_couplings: how many
 * FLOW_LAYER_CONV_COUPLING layers the chain has (0 for a vector flow); coupling k's
 * input is an h×w×ch image (flow_coupling_shape). flow_coupling_trace: for the
 * first image of x (1,d), coupling k's input in[k], scale s[k] and shift t[k]
 * (h·w·ch floats each, NHWC, s and t 0 where it does not transform), k <
 * flow_couplings(f). */
int flow_couplings(const Flow *f);
void flow_coupling_shape(const Flow *f, int k, int *h, int *w, int *ch);
void flow_coupling_trace(const Flow *f, const float *x, float *const *in, float *const *s,
                         float *const *t, FlowWork *w);

/* n samples x (n,d) = f⁻¹(z), z ~ N(0, I) drawn from rng stream (seed, FLOW_STREAM_SAMPLE). */
enum { FLOW_STREAM_SAMPLE = 1000003 };
void flow_sample(const Flow *f, float *x, int n, uint64_t seed, FlowWork *w);

/* Floating-point operations for B rows: one forward pass (train = 0), or forward,
 * backward and the optimizer (train = 1, counted as 3× forward: backward computes two
 * products per forward one; a residual block counts its log-det: the exact one in
 * evaluation, the series' vector-Jacobian products in training, see flow.c). Counts
 * the matrix products only, an image coupling's convolutions as their im2col GEMMs. */
double flow_flops(const FlowConfig *cfg, int B, int train);

#endif
