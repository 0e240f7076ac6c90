/* runner.c — one grid point: preprocess, train, evaluate, save (see runner.h). */
#include "run/runner.h"

#include "config/evalsched.h"
#include "flows/flow_optim.h"
#include "flows/gemm.h"
#include "flows/pixels.h"
#include "flows/preprocess.h"
#include "flows/rng.h"
#include "run/figarrays.h"
#include "run/modelfile.h"
#include "run/runinputs.h"
#include "store/provenance.h"
#include "util/progress.h"
#include "util/version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The rng stream of the per-epoch batch order (rng.h: streams separate the uses
 * of one seed). */
enum { RUNNER_STREAM_SHUFFLE = 0x53485546 /* "SHUF" */ };

/* ActNorm's data-dependent init sees this many training rows (README: "ActNorm's
 * initialisation"). */
enum { RUNNER_INIT_ROWS = 512 };

/* The flow's work buffers hold this many rows at least: evaluation goes through
 * flow_log_prob in chunks of it, and bigger chunks use the GEMM better. */
enum { RUNNER_EVAL_ROWS = 256 };

/* Raw training rows read at a time (RunState.raw): the fixed evaluation subset is
 * read in chunks of this; a batch of more rows is read in several. At least
 * GEMM_TILE_M (the tail). */
enum { RUNNER_RAW_ROWS = 256 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The order of the training rows in epoch `epoch`: Fisher–Yates with draws keyed by
 * (seed, epoch, position), so it is the same whatever ran before. */
static void shuffle(int *perm, long n, uint64_t seed, long epoch) {
    for (long i = 0; i < n; i++) perm[i] = (int)i;
    for (long i = n - 1; i > 0; i--) {
        uint64_t idx = ((uint64_t)epoch << 32) | (uint64_t)i;
        long j = (long)(rng_uniform(seed, RUNNER_STREAM_SHUFFLE, idx) * (double)(i + 1));
        if (j > i) j = i; /* rng_uniform < 1, but guard the rounding of the product */
        int t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

/* Everything one run allocates, so that every exit path frees it in one place.
 * Latents: val and ood hold the preprocessed rows; the training rows stay in the
 * feature file (featureset.h) and each batch is read and preprocessed when drawn
 * (raw holds it before), with the bits the whole preprocessed set would have given
 * it: rows in full GEMM tiles through preprocess_apply_batch, the last
 * n mod GEMM_TILE_M rows from tail, preprocessed once as the whole set's last tile.
 * Pixels: batches come from the FeatureSet's 8-bit values and get fresh
 * dequantization noise each step; val, ood and train_eval hold the flow's input at
 * the bins' midpoints and *_ld their log-determinants (flows/pixels.h). */
typedef struct {
    Preprocess pp;
    int pp_fitted;
    float *val, *ood[FEAT_MAX_OOD], *train_eval, *batch, *raw, *tail;
    long tail_from; /* latents: the first training row of tail */
    double *val_ld, *ood_ld[FEAT_MAX_OOD], *train_eval_ld, *batch_ld;
    int *perm, *eval_rows;
    Flow flow;
    int flow_made;
    FlowWork *work;
    FlowOptim opt;
    int opt_made;
    long *eval_steps; /* evalsched.h: the steps to evaluate at, ascending */
    int n_eval_steps;
} RunState;

static void run_state_free(RunState *s, int n_ood) {
    if (s->pp_fitted) preprocess_free(&s->pp);
    free(s->val), free(s->train_eval), free(s->batch), free(s->perm), free(s->raw), free(s->tail);
    free(s->eval_rows);
    free(s->val_ld), free(s->train_eval_ld), free(s->batch_ld), free(s->eval_steps);
    for (int i = 0; i < n_ood; i++) free(s->ood[i]), free(s->ood_ld[i]);
    if (s->work) flow_work_destroy(s->work);
    if (s->opt_made) flow_optim_destroy(&s->opt);
    if (s->flow_made) flow_destroy(&s->flow);
}

/* x (n, d_in) -> a new array (n, d_out) through the fitted preprocessing. */
static float *preprocessed(const Preprocess *pp, const float *x, long n) {
    float *y = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)pp->d_out);
    if (y && preprocess_apply(pp, x, y, n) != 0) free(y), y = NULL;
    return y;
}

/* Marks the run failed with a reason and stops it (not an error of the runner). */
static int run_failed(RunOutcome *out, RunStatus st, const char *fmt, const char *what) {
    out->status = st;
    snprintf(out->error, sizeof out->error, fmt, what);
    return LDE_OK;
}

/* Progress of a run: on a terminal one live line (progress.h redraws it at most
 * ten times a second), elsewhere one line per evaluation point. */
static void report(Progress *pr, const PlanRun *r, const RunnerOptions *o, const FeatureSet *fs,
                   long step, long total, double rate, const EvalResult *res, int eval) {
    if (o->quiet || (pr->tty && !eval && step % 16 != 0)) return;
    char note[512];
    int k = snprintf(note, sizeof note, "run %d/%d %.8s step %ld/%ld", o->index, o->count, r->id,
                     step, total);
    if (step > 0) k += snprintf(note + k, sizeof note - (size_t)k, ", %.0f samples/s", rate);
    k += snprintf(note + k, sizeof note - (size_t)k, ", val %.3f bpd, AUROC", res->mean_bpd[1]);
    for (int i = 0; i < fs->n_ood && k < (int)sizeof note - 40; i++)
        k += snprintf(note + k, sizeof note - (size_t)k, " %s %.1f", fs->ood[i].name,
                      100.0 * res->metrics[2 + i].auroc);
    if (pr->tty)
        progress_update(pr, step, note);
    else if (eval)
        progress_line(pr, "%s", note);
}

/* Saves the flow with its preprocessing as section "preprocess" (lde score reads
 * it); a flow on pixels has section "pixels" instead: the logit α and image shape. */
static int save_model(const PlanRun *r, const RunnerOptions *o, const FeatureSet *fs, RunState *s,
                      Err *e) {
    char path[4200], pix[128];
    snprintf(path, sizeof path, "%s/%s.flow", o->models_dir, r->id);
    long nb = fs->pixels ? 0 : preprocess_serialized_size(&s->pp);
    unsigned char *buf = malloc((size_t)(nb ? nb : 1));
    if (!buf) return fail(e, LDE_ERUN, "%s: out of memory", path);
    /* The digests of the files it was trained on travel with it (lde score prints
     * them): 16 kB holds FEAT_MAX_INPUTS lines of a 4 kB path each at worst. */
    char inputs[FEAT_MAX_INPUTS * 4200];
    long ni = runinputs_text(r, inputs, sizeof inputs);
    ModelSection sec[3] = {
        {.name = "preprocess", .data = buf, .size = (size_t)nb},
        {.name = "params", .data = r->params_json, .size = strlen(r->params_json)},
        {.name = "inputs", .data = inputs, .size = (size_t)(ni > 0 ? ni : 0)}};
    if (fs->pixels) {
        int k = snprintf(pix, sizeof pix, "logit=%.17g h=%d w=%d c=%d", r->spec.preprocess.logit,
                         fs->img_h, fs->img_w, fs->img_c);
        sec[0] = (ModelSection){.name = "pixels", .data = pix, .size = (size_t)k};
    } else {
        preprocess_serialize(&s->pp, buf);
    }
    int rc = modelfile_save(path, &s->flow, sec, ni > 0 ? 3 : 2, e);
    free(buf);
    return rc;
}

/* The flow's input of every split, latents: the preprocessing fitted on train (read
 * in chunks from the file) and applied to each evaluation split; the training rows'
 * last partial GEMM tile preprocessed once (RunState). Returns 0, or fills out's
 * reason and returns -1. */
static int latent_inputs(const RunSpec *sp, const FeatureSet *fs, RunState *s, RunOutcome *out) {
    PreprocessConfig pc = {.drop_constant = sp->preprocess.drop_constant,
                           .normalize = sp->preprocess.normalize,
                           .pca = sp->preprocess.pca,
                           .epsilon = (float)sp->preprocess.epsilon};
    const char *why = NULL;
    Err e = {{0}};
    TrainReader t;
    featureset_train_source(fs, pc.pca ? "fitting PCA" : "fitting preprocessing", &t, &e);
    int rc = preprocess_fit_rows(&s->pp, &pc, &t.src, &why);
    featureset_train_end(&t);
    if (rc != 0 && t.failed) return run_failed(out, RUN_FAILED, "preprocessing: %.480s", e.msg), -1;
    if (rc != 0) return run_failed(out, RUN_FAILED, "preprocessing: %s", why), -1;
    s->pp_fitted = 1;
    long n = fs->train.n;
    s->tail_from = n - n % GEMM_TILE_M;
    long nt = n - s->tail_from;
    int *idx = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    s->raw = malloc(sizeof(float) * RUNNER_RAW_ROWS * (size_t)fs->d);
    s->tail = malloc(sizeof(float) * (size_t)(nt ? nt : 1) * (size_t)s->pp.d_out);
    int oom = !idx || !s->raw || !s->tail;
    for (long i = 0; !oom && i < nt; i++) idx[i] = (int)(s->tail_from + i);
    /* The whole set's last tile on its own: a product of the same nt rows. */
    if (!oom && (featureset_train_gather(fs, idx, nt, s->raw, &e) != LDE_OK ||
                 preprocess_apply(&s->pp, s->raw, s->tail, nt) != 0))
        oom = 1;
    free(idx);
    s->val = preprocessed(&s->pp, fs->val.x, fs->val.n);
    for (int i = 0; i < fs->n_ood; i++)
        s->ood[i] = preprocessed(&s->pp, fs->ood[i].x, fs->ood[i].n);
    oom |= !s->val;
    for (int i = 0; i < fs->n_ood; i++) oom |= !s->ood[i];
    if (oom)
        return run_failed(out, RUN_FAILED, "%s", "out of memory for the preprocessed features"), -1;
    return 0;
}

/* Training rows idx[0..count) -> out (count, d_out): the flow's input before noise,
 * with the bits of the whole preprocessed set's rows (RunState). 0, or -1 with *e
 * set (an unreadable row) or out of memory. */
static int train_rows(const FeatureSet *fs, RunState *s, const int *idx, long count, float *out,
                      Err *e) {
    int dout = s->pp.d_out;
    for (long c0 = 0; c0 < count; c0 += RUNNER_RAW_ROWS) {
        long m = count - c0 < RUNNER_RAW_ROWS ? count - c0 : RUNNER_RAW_ROWS;
        if (featureset_train_gather(fs, idx + c0, m, s->raw, e) != LDE_OK) return -1;
        if (preprocess_apply_batch(&s->pp, s->raw, out + c0 * dout, m) != 0)
            return fail(e, LDE_ERUN, "out of memory preprocessing a batch"), -1;
    }
    for (long i = 0; i < count; i++)
        if (idx[i] >= s->tail_from)
            memcpy(out + i * dout, s->tail + (idx[i] - s->tail_from) * dout,
                   sizeof(float) * (size_t)dout);
    return 0;
}

/* x (n, d) 8-bit values -> *y (n, d) the flow's input at the bins' midpoints and
 * *ld (n) its log-determinants, both malloc'd. Returns 0, or -1 out of memory. */
static int pixel_split(const float *x, long n, int d, float alpha, float **y, double **ld) {
    *y = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)d);
    *ld = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!*y || !*ld) return -1;
    pixels_to_flow(x, *y, *ld, n, d, alpha, 0, 0, 0);
    return 0;
}

/* The flow's input of every evaluated split, pixels (flows/pixels.h). */
static int pixel_inputs(const RunSpec *sp, const FeatureSet *fs, RunState *s, RunOutcome *out) {
    float a = (float)sp->preprocess.logit;
    int oom = pixel_split(fs->val.x, fs->val.n, fs->d, a, &s->val, &s->val_ld);
    for (int i = 0; i < fs->n_ood; i++)
        oom |= pixel_split(fs->ood[i].x, fs->ood[i].n, fs->d, a, &s->ood[i], &s->ood_ld[i]);
    if (oom) return run_failed(out, RUN_FAILED, "%s", "out of memory for the images"), -1;
    return 0;
}

/* ActNorm's data-dependent init (Glow §3.1) on a fixed sample, whatever the batch
 * size: the first RUNNER_INIT_ROWS rows (all, if fewer) of epoch 0's order, as a
 * training batch sees them (dequantized), with the noise of step 0, which no
 * training step uses. Returns 0, or -1 when memory runs out. */
static int init_actnorm(const FeatureSet *fs, RunState *s, long n, int d, uint64_t seed, int pixels,
                        float alpha, double eps, Err *e) {
    int k = n < RUNNER_INIT_ROWS ? (int)n : RUNNER_INIT_ROWS;
    float *x = malloc(sizeof(float) * (size_t)k * d);
    double *ld = malloc(sizeof(double) * (size_t)k);
    int rc = -1;
    if (x && ld) {
        shuffle(s->perm, n, seed, 0);
        if (pixels) {
            for (int i = 0; i < k; i++)
                memcpy(x + (long)i * d, fs->train.x + (long)s->perm[i] * d, sizeof(float) * d);
        } else if (train_rows(fs, s, s->perm, k, x, e) != 0) {
            free(x), free(ld);
            return -1;
        }
        if (pixels)
            pixels_to_flow(x, x, ld, k, d, alpha, 1, seed, 0);
        else
            preprocess_dequantize(x, k, d, (float)eps, seed, 0);
        rc = flow_init_actnorm(&s->flow, x, k, s->work);
    }
    free(x), free(ld);
    return rc;
}

static int train_and_evaluate(const PlanRun *r, const FeatureSet *fs, Store *st,
                              const RunnerOptions *o, RunState *s, RunOutcome *out, Err *e) {
    const RunSpec *sp = &r->spec;
    uint64_t seed = (uint64_t)sp->seed;
    int pixels = fs->pixels;
    float alpha = (float)sp->preprocess.logit;
    if ((pixels ? pixel_inputs(sp, fs, s, out) : latent_inputs(sp, fs, s, out)) != 0) return LDE_OK;
    int d = pixels ? fs->d : s->pp.d_out;
    long n = fs->train.n;
    int B = sp->train.batch_size < n ? sp->train.batch_size : (int)n;
    if (B < 1 || d < 1) return run_failed(out, RUN_FAILED, "%s", "no training rows or dimensions");
    /* The train split of an evaluation: a fixed, evenly spaced subset of the rows. */
    long m = sp->train.eval_train_samples < n ? sp->train.eval_train_samples : n;
    s->train_eval = malloc(sizeof(float) * (size_t)(m > 0 ? m : 1) * d);
    s->eval_rows = malloc(sizeof(int) * (size_t)(m > 0 ? m : 1));
    s->batch = malloc(sizeof(float) * (size_t)B * d);
    s->perm = malloc(sizeof(int) * (size_t)n);
    if (pixels) {
        s->train_eval_ld = malloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
        s->batch_ld = malloc(sizeof(double) * (size_t)B);
    }
    if (!s->train_eval || !s->eval_rows || !s->batch || !s->perm ||
        (pixels && (!s->train_eval_ld || !s->batch_ld)))
        return run_failed(out, RUN_FAILED, "%s", "out of memory for the training buffers");
    for (long i = 0; i < m; i++) s->eval_rows[i] = (int)(i * n / m);
    if (pixels) {
        for (long i = 0; i < m; i++)
            memcpy(s->train_eval + i * d, fs->train.x + (long)s->eval_rows[i] * d,
                   sizeof(float) * d);
        pixels_to_flow(s->train_eval, s->train_eval, s->train_eval_ld, m, d, alpha, 0, 0, 0);
    } else if (train_rows(fs, s, s->eval_rows, m, s->train_eval, e) != 0) {
        return run_failed(out, RUN_FAILED, "reading the training rows: %.480s", e->msg);
    }

    FlowConfig fc = flow_config_default(sp->flow.arch, d);
    fc.blocks = sp->flow.blocks, fc.hidden = sp->flow.hidden, fc.bottleneck = sp->flow.bottleneck;
    fc.lipschitz = (float)sp->flow.lipschitz, fc.eval_terms = sp->flow.eval_terms;
    if (pixels) {
        fc.img_h = fs->img_h, fc.img_w = fs->img_w, fc.img_c = fs->img_c;
        fc.mask = (FlowMask)sp->flow.mask, fc.squeeze = sp->flow.squeeze;
        fc.conv = (ConvImpl)sp->flow.conv;
    }
    fc.linear_init = (FlowLinearInit)sp->flow.linear_init;
    if (flow_create(&s->flow, &fc, seed) != 0)
        return run_failed(out, RUN_FAILED, "%s", "cannot create the flow (out of memory?)");
    s->flow_made = 1;
    s->work = flow_work_create(&s->flow, B > RUNNER_EVAL_ROWS ? B : RUNNER_EVAL_ROWS);
    AdamConfig ac = adam_defaults();
    ac.lr = (float)sp->train.lr, ac.weight_decay = (float)sp->train.weight_decay;
    if (!s->work || flow_optim_init(&s->opt, &s->flow, &ac, sp->train.clip_grad) != 0)
        return run_failed(out, RUN_FAILED, "%s", "out of memory for the flow's work buffers");
    s->opt_made = 1;

    EvalSplit splits[2 + FEAT_MAX_OOD] = {{"train", s->train_eval, m, s->train_eval_ld},
                                          {"val", s->val, fs->val.n, s->val_ld}};
    for (int i = 0; i < fs->n_ood; i++)
        splits[2 + i] = (EvalSplit){fs->ood[i].name, s->ood[i], fs->ood[i].n, s->ood_ld[i]};
    int nsplits = 2 + fs->n_ood;
    double eps = sp->preprocess.epsilon;
    BpdUnits units = {.pixels = pixels, .epsilon = eps};

    /* Steps: whole batches per epoch (the last partial batch is dropped, as with
     * PyTorch's drop_last); fractional epochs round to the nearest step. */
    long per_epoch = n / B;
    long total = llround(sp->train.epochs * (double)per_epoch);
    if (total < 1) total = 1;
    if (evalsched_steps(sp, per_epoch, total, &s->eval_steps, &s->n_eval_steps) != 0)
        return run_failed(out, RUN_FAILED, "%s", "out of memory for the evaluation schedule");
    int next_eval = 1; /* s->eval_steps[0] is step 0, evaluated below */

    if (init_actnorm(fs, s, n, d, seed, pixels, alpha, eps, e) != 0)
        return run_failed(out, RUN_FAILED, "ActNorm's initialisation: %.480s",
                          e->msg[0] ? e->msg : "out of memory");

    /* Timings for the closing line (issue 18): the evaluations' share, the first step. */
    long eval_rows = 0;
    for (int i = 0; i < nsplits; i++) eval_rows += splits[i].n;
    double t_eval = now_s();
    int rc = evaluate_point(st, r->id, 0, 0.0, NAN, &s->flow, s->work, units, splits, nsplits,
                            &out->last, e);
    if (rc != LDE_OK) return rc;
    double eval_s = now_s() - t_eval, eval0 = eval_s, first_step = -1;
    long evals = 1;
    out->evaluated = 1;
    Progress pr;
    progress_begin(&pr, "run", total);
    report(&pr, r, o, fs, 0, total, 0, &out->last, 1);

    double loss_sum = 0;
    long loss_n = 0;
    for (long step = 1; step <= total; step++) {
        long epoch = (step - 1) / per_epoch, pos = (step - 1) % per_epoch;
        if (pos == 0) shuffle(s->perm, n, seed, epoch);
        const int *rows = s->perm + pos * B;
        if (pixels) {
            for (int i = 0; i < B; i++)
                memcpy(s->batch + (long)i * d, fs->train.x + (long)rows[i] * d, sizeof(float) * d);
        } else if (train_rows(fs, s, rows, B, s->batch, e) != 0) {
            run_failed(out, RUN_FAILED, "reading the training rows: %.480s", e->msg);
            break;
        }
        double mean_ld = 0;
        if (pixels) {
            pixels_to_flow(s->batch, s->batch, s->batch_ld, B, d, alpha, 1, seed, (uint64_t)step);
            for (int i = 0; i < B; i++) mean_ld += s->batch_ld[i] / B;
        } else {
            preprocess_dequantize(s->batch, B, d, (float)eps, seed, (uint64_t)step);
        }
        double loss = flow_train_step(&s->flow, &s->opt, s->batch, B, s->work, seed, NULL);
        if (step == 1) first_step = progress_process_seconds();
        /* The training loss in bits/dim (the same units as every evaluation); the
         * pixels' log-determinant does not depend on the flow, so it only shifts it. */
        double bpd = pixels ? pixels_bpd(mean_ld - loss, d) : preprocess_bpd(-loss, d, eps);
        if (!isfinite(loss) || bpd > sp->train.diverge_bpd) {
            out->status = RUN_DIVERGED;
            snprintf(out->error, sizeof out->error,
                     "step %ld (epoch %.3f): training loss %.4g bits/dim, beyond %.4g", step,
                     (double)step / (double)per_epoch, bpd, sp->train.diverge_bpd);
            break;
        }
        loss_sum += bpd, loss_n++;
        double rate = (double)step * B / progress_elapsed(&pr);
        if (step != s->eval_steps[next_eval]) {
            report(&pr, r, o, fs, step, total, rate, &out->last, 0);
            continue;
        }
        double ep = (double)step / (double)per_epoch;
        t_eval = now_s();
        rc = evaluate_point(st, r->id, step, ep, loss_sum / (double)loss_n, &s->flow, s->work,
                            units, splits, nsplits, &out->last, e);
        if (rc != LDE_OK) break;
        eval_s += now_s() - t_eval, evals++;
        report(&pr, r, o, fs, step, total, rate, &out->last, 1);
        loss_sum = 0, loss_n = 0;
        next_eval++;
    }
    double train_s = progress_elapsed(&pr) - (eval_s - eval0);
    progress_end(&pr);
    if (rc != LDE_OK || out->status != RUN_DONE) return rc;
    if (!o->quiet)
        progress_line(&pr,
                      "run %d/%d %.8s: first training step %.1f s after start, training %.0f "
                      "samples/s, evaluation %.0f samples/s",
                      o->index, o->count, r->id, first_step, (double)total * B / train_s,
                      (double)evals * eval_rows / eval_s);
    if (pixels &&
        (rc = figarrays_record(st, r->id, &s->flow, s->work, fs, alpha, seed, e)) != LDE_OK)
        return rc;
    if (save_model(r, o, fs, s, e) == LDE_OK) return LDE_OK;
    /* A full disk stops lde run (the run stays running, not failed: the next
     * worker redoes it once there is room); any other failure fails this run. */
    if (strstr(e->msg, "no space left")) return LDE_ERUN;
    return run_failed(out, RUN_FAILED, "saving the model: %.480s", e->msg);
}

int runner_run(const PlanRun *r, const FeatureSet *fs, Store *st, const RunnerOptions *o,
               RunOutcome *out, Err *e) {
    memset(out, 0, sizeof *out);
    out->status = RUN_DONE;
    Provenance prov;
    provenance_collect(&prov, lde_version, lde_git_rev);
    int rc;
    if (o->claim) {
        rc = store_claim_run(st, r->id, o->seen_attempts, o->grace_s, &prov, &out->claim, e);
        if (rc != LDE_OK || out->claim.result == CLAIM_HELD || out->claim.result == CLAIM_FINISHED)
            return rc;
    } else if ((rc = store_begin_run(st, r->id, &prov, e)) != LDE_OK) {
        return rc;
    }
    double t0 = now_s();
    RunState s;
    memset(&s, 0, sizeof s);
    rc = train_and_evaluate(r, fs, st, o, &s, out, e);
    run_state_free(&s, fs->n_ood);
    out->wall_s = now_s() - t0;
    if (rc == STORE_ELOST) return out->lost = 1, LDE_OK;
    if (rc != LDE_OK) return rc;
    /* A file rewritten since it was hashed: the results are of other bytes than
     * the id says, so the run is never marked done. */
    Err changed = {{0}};
    if (out->status == RUN_DONE && runinputs_check(r, &changed) != LDE_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.flow", o->models_dir, r->id);
        unlink(path);
        run_failed(out, RUN_FAILED, "%.480s", changed.msg);
    }
    rc = store_finish_run(st, r->id, out->status, out->status == RUN_DONE ? NULL : out->error,
                          out->wall_s, e);
    if (rc == STORE_ELOST) return out->lost = 1, LDE_OK;
    return rc;
}
