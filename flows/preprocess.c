/* preprocess.c — see preprocess.h. */
#include "flows/preprocess.h"

#include "flows/gemm.h"
#include "flows/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows transformed per scratch buffer in preprocess_apply. */
enum { PREP_CHUNK = 4096 };

static const char PREP_MAGIC[8] = {'L', 'D', 'E', 'P', 'R', 'E', 'P', '1'};

/* Sets the reason a fit or deserialization failed and returns -1. */
static int refuse(const char **why, const char *reason) {
    *why = reason;
    return -1;
}

PreprocessConfig preprocess_config_default(void) {
    return (PreprocessConfig){
        .drop_constant = 0, .normalize = 0, .pca = 0, .epsilon = 1.0f / 1024.0f};
}

void preprocess_free(Preprocess *p) {
    free(p->kept);
    pca_free(&p->pca);
    memset(p, 0, sizeof *p);
}

/* Rows per chunk read from a RowSource by the health check and the fit. */
enum { PREP_SOURCE_CHUNK = 1024 };

int preprocess_health_rows(const RowSource *src, unsigned char *flags) {
    long n = src->n;
    int d = src->d;
    long *zeros = calloc((size_t)d, sizeof(long));
    float *first = malloc(sizeof(float) * (size_t)d);
    float *buf = malloc(sizeof(float) * PREP_SOURCE_CHUNK * (size_t)d);
    int flagged = -1;
    if (!zeros || !first || !buf) goto out;
    memset(flags, n > 0 ? HEALTH_CONSTANT : 0, (size_t)d);
    for (long r0 = 0; r0 < n; r0 += PREP_SOURCE_CHUNK) {
        long m = n - r0 < PREP_SOURCE_CHUNK ? n - r0 : PREP_SOURCE_CHUNK;
        const float *x = src->rows(src->ctx, r0, m, buf);
        if (!x) goto out;
        if (r0 == 0) memcpy(first, x, sizeof(float) * (size_t)d);
            /* Columns split among threads: counts and flags are exact whatever the split. */
#pragma omp parallel for schedule(static) if ((long)m * d > 65536)
        for (int j0 = 0; j0 < d; j0 += 64) {
            int j1 = j0 + 64 < d ? j0 + 64 : d;
            for (long i = 0; i < m; i++)
                for (int j = j0; j < j1; j++) {
                    float v = x[i * d + j];
                    zeros[j] += v == 0.0f;
                    /* != also clears a dimension holding NaN: NaN is not "one value". */
                    if (v != first[j]) flags[j] &= (unsigned char)~HEALTH_CONSTANT;
                }
        }
    }
    flagged = 0;
    for (int j = 0; j < d; j++) {
        if (zeros[j] * 10 > n * 9) flags[j] |= HEALTH_MOSTLY_ZERO;
        flagged += flags[j] != 0;
    }
out:
    free(zeros), free(first), free(buf);
    return flagged;
}

int preprocess_health(const float *x, long n, int d, unsigned char *flags) {
    RowArray a = {x, d};
    RowSource src = {n, d, rows_of_array, &a};
    return preprocess_health_rows(&src, flags);
}

/* Steps 0 and 1 on rows [0, m) of x: src (m,d_in) -> dst (m,d_kept). */
static void gather_normalize(const Preprocess *p, const float *src, float *dst, long m) {
    int din = p->d_in, dk = p->d_kept;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < m; i++) {
        const float *s = src + i * din;
        float *t = dst + i * dk;
        for (int j = 0; j < dk; j++) t[j] = p->kept ? s[p->kept[j]] : s[j];
        if (!p->cfg.normalize) continue;
        double ss = 0;
        for (int j = 0; j < dk; j++) ss += (double)t[j] * t[j];
        /* A zero latent stays zero rather than becoming NaN. */
        if (ss > 0) {
            double inv = 1.0 / sqrt(ss);
            for (int j = 0; j < dk; j++) t[j] = (float)(t[j] * inv);
        }
    }
}

/* The rows of a source after steps 0 and 1: what PCA is fitted on. */
typedef struct {
    const Preprocess *p;
    const RowSource *raw;
    float *raw_buf; /* PREP_SOURCE_CHUNK × d_in */
} GatheredRows;

static const float *gathered_rows(void *ctx, long r0, long m, float *buf) {
    GatheredRows *g = ctx;
    for (long done = 0; done < m; done += PREP_SOURCE_CHUNK) {
        long c = m - done < PREP_SOURCE_CHUNK ? m - done : PREP_SOURCE_CHUNK;
        const float *x = g->raw->rows(g->raw->ctx, r0 + done, c, g->raw_buf);
        if (!x) return NULL;
        gather_normalize(g->p, x, buf + done * g->p->d_kept, c);
    }
    return buf;
}

int preprocess_fit_rows(Preprocess *p, const PreprocessConfig *cfg, const RowSource *train,
                        const char **why) {
    long n = train->n;
    int d = train->d;
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    p->d_in = p->d_kept = d;
    if (n < 2 || d < 1) return refuse(why, "need at least 2 training rows and 1 dimension");
    if (!(cfg->epsilon > 0)) return refuse(why, "dequantization epsilon must be positive");
    if (cfg->pca < 0) return refuse(why, "pca must be 0 (off) or a positive number of components");
    if (cfg->drop_constant) {
        unsigned char *flags = malloc((size_t)d);
        p->kept = malloc(sizeof(int) * (size_t)d);
        if (!flags || !p->kept || preprocess_health_rows(train, flags) < 0) {
            free(flags);
            preprocess_free(p);
            return refuse(why, "out of memory or unreadable training rows");
        }
        p->d_kept = 0;
        for (int j = 0; j < d; j++)
            if (!(flags[j] & HEALTH_CONSTANT)) p->kept[p->d_kept++] = j;
        free(flags);
        if (p->d_kept == 0) {
            preprocess_free(p);
            return refuse(why, "every feature dimension is constant over the training set");
        }
    }
    p->d_out = p->d_kept;
    if (cfg->pca > p->d_kept) {
        preprocess_free(p);
        return refuse(why, "pca asks for more components than there are feature dimensions");
    }
    if (cfg->pca == 0) return 0;
    GatheredRows g = {p, train, malloc(sizeof(float) * PREP_SOURCE_CHUNK * (size_t)d)};
    RowSource z = {n, p->d_kept, gathered_rows, &g};
    int rc = g.raw_buf ? pca_fit_rows(&p->pca, &z, cfg->pca) : -1;
    free(g.raw_buf);
    if (rc != 0) {
        preprocess_free(p);
        return refuse(why, "PCA failed (out of memory, unreadable training rows or the "
                           "eigensolver did not converge)");
    }
    p->d_out = cfg->pca;
    return 0;
}

int preprocess_fit(Preprocess *p, const PreprocessConfig *cfg, const float *train, long n, int d,
                   const char **why) {
    RowArray a = {train, d};
    RowSource src = {n, d, rows_of_array, &a};
    return preprocess_fit_rows(p, cfg, &src, why);
}

int preprocess_apply(const Preprocess *p, const float *x, float *y, long n) {
    if (!p->cfg.pca && !p->kept && !p->cfg.normalize) {
        memcpy(y, x, sizeof(float) * (size_t)n * (size_t)p->d_in);
        return 0;
    }
    if (!p->cfg.pca) {
        gather_normalize(p, x, y, n);
        return 0;
    }
    float *z = malloc(sizeof(float) * PREP_CHUNK * (size_t)p->d_kept);
    if (!z) return -1;
    for (long r0 = 0; r0 < n; r0 += PREP_CHUNK) {
        long m = n - r0 < PREP_CHUNK ? n - r0 : PREP_CHUNK;
        gather_normalize(p, x + r0 * p->d_in, z, m);
        if (pca_project(&p->pca, z, y + r0 * p->d_out, m) != 0) {
            free(z);
            return -1;
        }
    }
    free(z);
    return 0;
}

int preprocess_apply_batch(const Preprocess *p, const float *x, float *y, long n) {
    if (!p->cfg.pca) return preprocess_apply(p, x, y, n);
    /* Whole tiles: the rows past n are zeros, their outputs dropped. */
    long padded = (n + GEMM_TILE_M - 1) / GEMM_TILE_M * GEMM_TILE_M;
    float *z = calloc((size_t)(padded ? padded : 1) * (size_t)p->d_kept, sizeof(float));
    float *out = malloc(sizeof(float) * (size_t)(padded ? padded : 1) * (size_t)p->d_out);
    int rc = -1;
    if (z && out) {
        gather_normalize(p, x, z, n);
        rc = pca_project(&p->pca, z, out, padded);
    }
    if (rc == 0) memcpy(y, out, sizeof(float) * (size_t)n * (size_t)p->d_out);
    free(z), free(out);
    return rc;
}

void preprocess_dequantize(float *x, long n, int d, float epsilon, uint64_t seed, uint64_t step) {
    float lo = -0.5f * epsilon;
    long total = n * d;
#pragma omp parallel for schedule(static) if (total > 65536)
    for (long i = 0; i < total; i++)
        x[i] += lo + epsilon * rng_uniform(seed, PREPROCESS_RNG_STREAM, (step << 32) + (uint64_t)i);
}

double preprocess_bpd(double logp, int d, double epsilon) {
    return -logp / ((double)d * M_LN2) - log2(epsilon);
}

/* Serialization: a cursor over a byte buffer. */
typedef struct {
    unsigned char *w;       /* writing */
    const unsigned char *r; /* reading */
    long left;              /* bytes left to read */
} Cursor;

static void put(Cursor *c, const void *v, size_t n) {
    memcpy(c->w, v, n);
    c->w += n;
}

static int get(Cursor *c, void *v, size_t n) {
    if ((long)n > c->left) return -1;
    memcpy(v, c->r, n);
    c->r += n, c->left -= (long)n;
    return 0;
}

/* Header: magic, 6 int32 (drop_constant, normalize, pca, d_in, d_kept, d_out), ε. */
static const long PREP_HEADER = 8 + 6 * 4 + 4;

/* Bytes of a serialized Preprocess with these shapes. */
static long serialized_size(int drop, int d_kept, int pca) {
    long size = PREP_HEADER;
    if (drop) size += 4L * d_kept;
    if (pca > 0) size += 4L * d_kept + 4L * pca * d_kept + 8L * pca;
    return size;
}

long preprocess_serialized_size(const Preprocess *p) {
    return serialized_size(p->kept != NULL, p->d_kept, p->cfg.pca);
}

void preprocess_serialize(const Preprocess *p, unsigned char *buf) {
    Cursor c = {.w = buf};
    int32_t h[6] = {p->kept != NULL, p->cfg.normalize, p->cfg.pca, p->d_in, p->d_kept, p->d_out};
    put(&c, PREP_MAGIC, 8);
    put(&c, h, sizeof h);
    put(&c, &p->cfg.epsilon, 4);
    if (p->kept) put(&c, p->kept, 4 * (size_t)p->d_kept);
    if (p->cfg.pca > 0) {
        put(&c, p->pca.mean, 4 * (size_t)p->d_kept);
        put(&c, p->pca.components, 4 * (size_t)p->cfg.pca * (size_t)p->d_kept);
        put(&c, p->pca.eigenvalues, 8 * (size_t)p->cfg.pca);
    }
}

int preprocess_deserialize(Preprocess *p, const unsigned char *buf, long size, const char **why) {
    memset(p, 0, sizeof *p);
    Cursor c = {.r = buf, .left = size};
    char magic[8];
    int32_t h[6];
    float eps;
    if (get(&c, magic, 8) || memcmp(magic, PREP_MAGIC, 8) != 0)
        return refuse(why, "not a serialized preprocessing (bad magic)");
    if (get(&c, h, sizeof h) || get(&c, &eps, 4))
        return refuse(why, "serialized preprocessing is truncated");
    int drop = h[0], pca = h[2], din = h[3], dk = h[4], dout = h[5];
    int shapes_ok = (drop == 0 || drop == 1) && (h[1] == 0 || h[1] == 1) && din >= 1 && dk >= 1 &&
                    dk <= din && (drop || dk == din) && pca >= 0 && pca <= dk &&
                    dout == (pca ? pca : dk) && eps > 0;
    if (!shapes_ok) return refuse(why, "serialized preprocessing has inconsistent shapes");
    p->cfg =
        (PreprocessConfig){.drop_constant = drop, .normalize = h[1], .pca = pca, .epsilon = eps};
    p->d_in = din, p->d_kept = dk, p->d_out = dout;
    if (size != serialized_size(drop, dk, pca)) {
        memset(p, 0, sizeof *p);
        return refuse(why, "serialized preprocessing has the wrong length");
    }
    if (drop) {
        p->kept = malloc(sizeof(int) * (size_t)dk);
        if (!p->kept) return refuse(why, "out of memory");
        if (get(&c, p->kept, 4 * (size_t)dk)) {
            preprocess_free(p);
            return refuse(why, "serialized preprocessing is truncated");
        }
        for (int j = 0; j < dk; j++)
            if (p->kept[j] < 0 || p->kept[j] >= din || (j > 0 && p->kept[j] <= p->kept[j - 1])) {
                preprocess_free(p);
                return refuse(why, "serialized preprocessing has invalid kept dimensions");
            }
    }
    if (pca > 0) {
        if (pca_alloc(&p->pca, dk, pca) != 0) {
            preprocess_free(p);
            return refuse(why, "out of memory");
        }
        if (get(&c, p->pca.mean, 4 * (size_t)dk) ||
            get(&c, p->pca.components, 4 * (size_t)pca * (size_t)dk) ||
            get(&c, p->pca.eigenvalues, 8 * (size_t)pca)) {
            preprocess_free(p);
            return refuse(why, "serialized preprocessing is truncated");
        }
    }
    return 0;
}
