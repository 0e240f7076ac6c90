/* preprocess.h — what happens to latents between the feature source and the flow
 * (DESIGN.md, Preprocessing), in this order:
 *
 *   0. drop_constant: remove the dimensions that are constant over the training set
 *      (dead ReLU units; a flow would have to squeeze them to a point).
 *   1. normalize: divide each latent by its L2 norm (LDE paper §6.3).
 *   2. pca: project onto the top-k principal components fitted on the (normalized)
 *      training latents (LDE paper §6.1; see pca.h).
 *   3. dequantization: training batches only get uniform noise U(−ε/2, ε/2)
 *      (default ε = 1/1024), keyed by (seed, step) so it is reproducible.
 *
 * Steps 0–2 are fitted once on the training set and then applied unchanged to every
 * split and to new features (`lde score`); the fitted state serializes to a byte
 * buffer that is stored with the model. The flow sees d_out dimensions, and bpd is
 * measured in those: bpd = −log2 p(z)/d_out − log2 ε. */
#ifndef LDE_PREPROCESS_H
#define LDE_PREPROCESS_H

#include "flows/pca.h"

#include <stdint.h>

typedef struct {
    int drop_constant; /* 1: remove dimensions constant over the training set */
    int normalize;     /* 1: L2-normalize each latent */
    int pca;           /* 0 = off, k > 0: keep the top-k principal components */
    float epsilon;     /* dequantization bin width */
} PreprocessConfig;

typedef struct {
    PreprocessConfig cfg;
    int d_in;   /* raw feature dimension */
    int d_kept; /* after drop_constant (= d_in when off) */
    int d_out;  /* what the flow sees: pca k, or d_kept */
    int *kept;  /* d_kept raw indices, increasing (NULL when drop_constant is off) */
    Pca pca;    /* fitted when cfg.pca > 0 */
} Preprocess;

/* No dropping, no normalization, no PCA, ε = 1/1024. */
PreprocessConfig preprocess_config_default(void);

/* Fits steps 0–2 on train (n,d). Returns 0, or -1 with *why set to a static
 * sentence: n < 2, every dimension constant, pca k larger than the dimensions left,
 * ε not positive, out of memory, eigensolver failure. */
int preprocess_fit(Preprocess *p, const PreprocessConfig *cfg, const float *train, long n, int d,
                   const char **why);

/* preprocess_fit over the rows of a source read in chunks (the health pass for
 * drop_constant, then PCA's two passes, pca.h): never a copy of the training set,
 * the same bits as preprocess_fit on the rows in memory (which is this on an
 * array). Also -1 when the source fails ("unreadable training rows"). */
int preprocess_fit_rows(Preprocess *p, const PreprocessConfig *cfg, const RowSource *train,
                        const char **why);

/* x (n,d_in) -> y (n,d_out): steps 0–2, no noise. Returns 0, or -1 out of memory. */
int preprocess_apply(const Preprocess *p, const float *x, float *y, long n);

/* preprocess_apply for rows gathered from anywhere in the training set (a batch):
 * each output row has the bits preprocess_apply gives that row inside the whole set
 * whenever it lies in a full tile of GEMM_TILE_M rows there (every row but the last
 * n_train mod GEMM_TILE_M). The PCA product runs on whole tiles of GEMM_TILE_M
 * rows, the last padded with zero rows, because OpenBLAS takes a different kernel
 * (other bits) for a product of fewer rows (measured: a 64×16×64 product). */
int preprocess_apply_batch(const Preprocess *p, const float *x, float *y, long n);

/* Step 3, in place on a training batch x (n,d) of the flow's input: adds
 * U(−ε/2, ε/2) noise. Value i of the batch of step `step` uses rng index
 * (step << 32) + i of stream PREPROCESS_RNG_STREAM, so the noise depends only on
 * (seed, step, position), never on threads or earlier batches. n·d < 2^32. */
enum { PREPROCESS_RNG_STREAM = 0x44455155 /* "DEQU" */ };
void preprocess_dequantize(float *x, long n, int d, float epsilon, uint64_t seed, uint64_t step);

/* Bits per dimension of a latent with natural-log density logp in d dimensions,
 * dequantized with bin width epsilon: −logp/(d·ln 2) − log2 ε. */
double preprocess_bpd(double logp, int d, double epsilon);

/* Feature health check over train (n,d): flags[j] gets HEALTH_CONSTANT when
 * dimension j has one value over all rows and HEALTH_MOSTLY_ZERO when more than 90%
 * of its values are exactly 0 (flows on such features are unstable). Returns the
 * number of flagged dimensions, or -1 when memory runs out. */
enum { HEALTH_CONSTANT = 1, HEALTH_MOSTLY_ZERO = 2 };
int preprocess_health(const float *x, long n, int d, unsigned char *flags);

/* preprocess_health over the rows of a source read in chunks; -1 also when the
 * source fails. */
int preprocess_health_rows(const RowSource *src, unsigned char *flags);

/* The fitted state as bytes (native little-endian; "LDEPREP1" magic, then the
 * config, shapes, kept indices and PCA). size() bytes are written by serialize. */
long preprocess_serialized_size(const Preprocess *p);
void preprocess_serialize(const Preprocess *p, unsigned char *buf);

/* buf (size bytes) -> p. Returns 0, or -1 with *why set when the bytes are not a
 * complete, consistent serialized Preprocess (or memory runs out). */
int preprocess_deserialize(Preprocess *p, const unsigned char *buf, long size, const char **why);

/* Frees what fit/deserialize allocated (safe to call twice). */
void preprocess_free(Preprocess *p);

#endif
