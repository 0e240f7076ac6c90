/* score.c — `lde score`: bits/dim of new features under a trained flow.
 *
 * The model file carries the run's fitted preprocessing (section "preprocess":
 * dropped dimensions, L2 normalization, PCA), so new features go through exactly
 * what the training features went through before the flow sees them; the bpd is
 * then the evaluation's: −log2 p(z)/d − log2 ε, no dequantization noise. */
#include "cli/cliopt.h"
#include "cli/commands.h"
#include "data/npy.h"
#include "flows/preprocess.h"
#include "run/evaluate.h"
#include "run/modelfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct {
    const char *model, *features, *out;
} ScoreArgs;

static int parse_args(int argc, char **argv, ScoreArgs *a, Err *e) {
    memset(a, 0, sizeof *a);
    int rc = LDE_OK;
    for (int i = 1; i < argc && rc == LDE_OK; i++)
        if (!cli_opt(argc, argv, &i, "--model", &a->model, &rc, e) &&
            !cli_opt(argc, argv, &i, "--features", &a->features, &rc, e) &&
            !cli_opt(argc, argv, &i, "--out", &a->out, &rc, e))
            rc = fail(e, LDE_EINPUT, "unknown argument %s (lde score --help)", argv[i]);
    if (rc == LDE_OK && (!a->model || !a->features))
        rc = fail(e, LDE_EINPUT, "--model and --features are both required (lde score --help)");
    return rc;
}

/* What the model was trained on: the digest of each data file (section "inputs",
 * "role digest bytes path" lines, issue 23) and of its fitted preprocessing, so a
 * score can be traced to the bytes behind it. Models of the built-in data and of
 * older lde have no inputs section: their parameters (section "params") say it. */
static void print_provenance(const ModelSection *sec, int nsec, const ModelSection *ps) {
    const ModelSection *in = modelfile_section(sec, nsec, "inputs");
    if (in && in->size) {
        printf("trained on (role, XXH3-128, bytes, path):\n");
        const char *t = in->data, *end = t + in->size;
        while (t < end) {
            const char *nl = memchr(t, '\n', (size_t)(end - t));
            int len = (int)((nl ? nl : end) - t);
            printf("  %.*s\n", len, t);
            t += len + 1;
        }
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(ps->data, ps->size));
    printf("preprocessing XXH3-128 ");
    for (int i = 0; i < 16; i++) printf("%02x", c.digest[i]);
    printf("\n");
}

/* Scores the loaded features; flow, preprocessing and features belong to the caller. */
static int score(const ScoreArgs *a, const Flow *f, const Preprocess *pp, const float *x,
                 NpyShape s, Err *e) {
    if (s.ndim != 2 || s.cols != pp->d_in)
        return fail(e, LDE_EINPUT,
                    "%s: shape (%ld, %ld), expected (N, %d) like the model's training features",
                    a->features, s.rows, s.cols, pp->d_in);
    float *z = malloc(sizeof(float) * (size_t)(s.rows ? s.rows : 1) * (size_t)pp->d_out);
    float *bpd = malloc(sizeof(float) * (size_t)(s.rows ? s.rows : 1));
    FlowWork *w = flow_work_create(f, 256);
    int rc = LDE_OK;
    if (!z || !bpd || !w || preprocess_apply(pp, x, z, s.rows) != 0)
        rc = fail(e, LDE_ERUN, "%s: out of memory scoring %ld rows", a->features, s.rows);
    if (rc == LDE_OK) {
        evaluate_bpd(f, w, z, NULL, s.rows, (BpdUnits){.epsilon = pp->cfg.epsilon}, bpd);
        double mean = 0, median = 0;
        metrics_summary(bpd, s.rows, &mean, &median);
        printf("%s: %ld samples, mean %.4f bits/dim, median %.4f\n", a->features, s.rows, mean,
               median);
        if (a->out) rc = npy_write_f32(a->out, bpd, (NpyShape){1, s.rows, 1}, e);
    }
    if (w) flow_work_destroy(w);
    free(z), free(bpd);
    return rc;
}

static int score_main(int argc, char **argv, Err *e) {
    ScoreArgs a;
    int rc = parse_args(argc, argv, &a, e);
    if (rc != LDE_OK) return rc;
    Flow f;
    ModelSection *sec = NULL;
    int nsec = 0;
    if ((rc = modelfile_load(a.model, &f, &sec, &nsec, e)) != LDE_OK) return rc;
    const ModelSection *ps = modelfile_section(sec, nsec, "preprocess");
    Preprocess pp;
    const char *why = NULL;
    if (!ps && modelfile_section(sec, nsec, "pixels"))
        rc =
            fail(e, LDE_EINPUT,
                 "%s: a flow on pixels; lde score takes feature vectors of a latent flow", a.model);
    else if (!ps)
        rc = fail(e, LDE_EINPUT, "%s: no preprocessing section (not written by lde run?)", a.model);
    else if (preprocess_deserialize(&pp, ps->data, (long)ps->size, &why) != 0)
        rc = fail(e, LDE_EINPUT, "%s: preprocessing section: %s", a.model, why);
    else if (pp.d_out != f.cfg.d)
        rc = fail(e, LDE_EINPUT, "%s: preprocessing gives %d dimensions, the flow takes %d",
                  a.model, pp.d_out, f.cfg.d),
        preprocess_free(&pp);
    if (rc == LDE_OK) {
        float *x = NULL;
        NpyShape s = {0};
        rc = npy_read_f32(a.features, &x, &s, e);
        if (rc == LDE_OK) rc = score(&a, &f, &pp, x, s, e);
        if (rc == LDE_OK) print_provenance(sec, nsec, ps);
        free(x);
        preprocess_free(&pp);
    }
    modelfile_sections_free(sec, nsec);
    flow_destroy(&f);
    return rc;
}

const Command cmd_score = {
    "score",
    "bits/dim of new features under a trained flow",
    "usage: lde score --model results/models/ID.flow --features NEW.npy [--out BPD.npy]\n"
    "\n"
    "Applies the run's preprocessing (stored in the model file) to NEW.npy (N, d) and\n"
    "prints the mean and median bits/dim under the flow; --out writes the N per-sample\n"
    "values as a float32 .npy (higher = more out-of-distribution). It then prints what\n"
    "the model was trained on: the XXH3-128 digest, size and path of each data file\n"
    "(models of user data) and the digest of its fitted preprocessing.\n",
    score_main,
};
