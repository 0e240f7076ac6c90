/* test_modelfile.c — a saved flow loads with the same parameters, state, sections and
 * log-densities; ActNorm is not re-initialised after a load; damaged files are refused
 * with LDE_EINPUT and a message naming the file; a version 2 file loads (signs +1). */
#include "flows/rng.h"
#include "run/modelfile.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

enum { B = 16, D = 6 };

/* A glow flow after one loss/grad call (so its ActNorms are initialised), saved to
 * path with two sections. */
static void make_saved(const char *path, Flow *f, float *x) {
    FlowConfig c = flow_config_default(FLOW_GLOW, D);
    c.blocks = 3, c.hidden = 8, c.bottleneck = 4;
    CHECK(flow_create(f, &c, 7) == 0);
    rng_fill_normal(x, B * D, 2.0f, 3.0f, 1, 1, 0);
    FlowWork *w = flow_work_create(f, B);
    float *g = malloc(sizeof(float) * f->nparams);
    flow_loss_grad(f, x, B, g, w, 0, 0);
    for (long i = 0; i < f->nparams; i++) f->params[i] += 0.01f * g[i];
    float mean[D] = {1, 2, 3, 4, 5, 6};
    int normalize = 1;
    ModelSection secs[2] = {{"mean", mean, sizeof mean},
                            {"normalize", &normalize, sizeof normalize}};
    Err e = {{0}};
    CHECK(modelfile_save(path, f, secs, 2, &e) == LDE_OK);
    free(g);
    flow_work_destroy(w);
}

static void test_model_roundtrip_keeps_params_state_sections_and_density(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/m.flow", unit_tmpdir());
    Flow f, g;
    float x[B * D];
    make_saved(path, &f, x);
    ModelSection *secs;
    int n;
    Err e = {{0}};
    CHECK(modelfile_load(path, &g, &secs, &n, &e) == LDE_OK);
    CHECK(g.cfg.arch == FLOW_GLOW && g.cfg.d == D && g.cfg.blocks == 3 && g.cfg.bottleneck == 4);
    CHECK(g.nparams == f.nparams && g.nstate == f.nstate);
    CHECK(memcmp(g.params, f.params, sizeof(float) * f.nparams) == 0);
    CHECK(memcmp(g.state, f.state, sizeof(float) * f.nstate) == 0);
    CHECK(n == 2);
    const ModelSection *m = modelfile_section(secs, n, "mean");
    const ModelSection *z = modelfile_section(secs, n, "normalize");
    CHECK(m && m->size == D * sizeof(float) && ((float *)m->data)[5] == 6.0f);
    CHECK(z && z->size == sizeof(int) && *(int *)z->data == 1);
    CHECK(modelfile_section(secs, n, "pca") == NULL);
    FlowWork *w = flow_work_create(&f, B);
    double lp1[B], lp2[B];
    flow_log_prob(&f, x, lp1, B, w);
    flow_log_prob(&g, x, lp2, B, w);
    CHECK(memcmp(lp1, lp2, sizeof lp1) == 0);
    flow_work_destroy(w);
    modelfile_sections_free(secs, n);
    flow_destroy(&f), flow_destroy(&g);
}

/* After a load, a training pass on very different data must leave ActNorm as saved. */
static void test_loaded_model_never_reinitialises_actnorm(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/a.flow", unit_tmpdir());
    Flow f, g;
    float x[B * D];
    make_saved(path, &f, x);
    ModelSection *secs;
    int n;
    Err e = {{0}};
    CHECK(modelfile_load(path, &g, &secs, &n, &e) == LDE_OK);
    const FlowLayer *an = &g.layers[0];
    CHECK(an->kind == FLOW_LAYER_ACTNORM && g.state[an->soff] == 1.0f);
    float before[2 * D];
    memcpy(before, g.params + an->poff, sizeof before);
    for (int i = 0; i < B * D; i++) x[i] = 100.0f * x[i] - 50.0f;
    FlowWork *w = flow_work_create(&g, B);
    float *grad = malloc(sizeof(float) * g.nparams);
    flow_loss_grad(&g, x, B, grad, w, 0, 0);
    CHECK(memcmp(before, g.params + an->poff, sizeof before) == 0);
    free(grad);
    flow_work_destroy(w);
    modelfile_sections_free(secs, n);
    flow_destroy(&f), flow_destroy(&g);
}

static long file_bytes(const char *path, unsigned char *buf, long cap) {
    FILE *fp = fopen(path, "rb");
    long n = (long)fread(buf, 1, (size_t)cap, fp);
    fclose(fp);
    return n;
}

static void write_bytes(const char *path, const unsigned char *buf, long n) {
    FILE *fp = fopen(path, "wb");
    fwrite(buf, 1, (size_t)n, fp);
    fclose(fp);
}

/* Loading path must fail with LDE_EINPUT, a message naming it and containing what. */
static void expect_refused(const char *path, const char *what) {
    Flow g;
    ModelSection *secs;
    int n;
    Err e = {{0}};
    CHECK(modelfile_load(path, &g, &secs, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, path) != NULL);
    if (CHECK(strstr(e.msg, what) != NULL)) printf("  message: %s\n", e.msg);
}

static void test_damaged_model_files_are_refused(void) {
    char good[4200], bad[4200];
    snprintf(good, sizeof good, "%s/g.flow", unit_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.flow", unit_tmpdir());
    Flow f;
    float x[B * D];
    make_saved(good, &f, x);
    flow_destroy(&f);
    static unsigned char buf[1 << 20], mod[1 << 20];
    long n = file_bytes(good, buf, sizeof buf);
    CHECK(n > 100 && n < (long)sizeof buf);

    write_bytes(bad, buf, n - 10); /* truncated */
    expect_refused(bad, "checksum");
    write_bytes(bad, buf, 10); /* truncated inside the header */
    expect_refused(bad, "truncated");
    memcpy(mod, buf, (size_t)n);
    mod[n / 2] ^= 0x10; /* one flipped bit in the parameters */
    write_bytes(bad, mod, n);
    expect_refused(bad, "checksum");
    memcpy(mod, buf, (size_t)n);
    mod[0] = 'X';
    write_bytes(bad, mod, n);
    expect_refused(bad, "magic");
    memcpy(mod, buf, (size_t)n);
    mod[8] = 9; /* version 9 */
    write_bytes(bad, mod, n);
    expect_refused(bad, "version 9");
    write_bytes(bad, buf, 0);
    expect_refused(bad, "magic");
    snprintf(bad, sizeof bad, "%s/missing.flow", unit_tmpdir());
    expect_refused(bad, "cannot open");
}

/* path loads, or is refused with LDE_EINPUT and one line naming it. */
static void load_cleanly(const char *path, const char *shown) {
    Flow f;
    ModelSection *secs;
    int n;
    Err e = {{0}};
    int rc = modelfile_load(path, &f, &secs, &n, &e);
    if (rc == LDE_OK) {
        modelfile_sections_free(secs, n);
        flow_destroy(&f);
    }
    int ok = rc == LDE_OK || (rc == LDE_EINPUT && strstr(e.msg, path) && !strchr(e.msg, '\n'));
    if (CHECK(ok)) fprintf(stderr, "  %s: rc %d: %s\n", shown, rc, e.msg);
}

/* One corpus file as tests/fuzz/fuzz_modelfile.c loads it: as is, and re-sealed with
 * the XXH64 of its bytes so that the body parser sees it. */
static void load_corpus_file(const char *path) {
    load_cleanly(path, path);
    FILE *in = fopen(path, "rb");
    CHECK(in != NULL);
    if (!in) return;
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    if (n < 8) return;
    uint64_t sum = XXH64(buf, n - 8, 0);
    memcpy(buf + n - 8, &sum, 8);
    char sealed[4200];
    snprintf(sealed, sizeof sealed, "%s/sealed.flow", unit_tmpdir());
    FILE *out = fopen(sealed, "wb");
    CHECK(out && fwrite(buf, 1, n, out) == n);
    if (out) fclose(out);
    load_cleanly(sealed, path);
}

/* Every fuzz seed and every crash fuzz_modelfile found (tests/fuzz/corpus/modelfile)
 * loads or fails cleanly, also under ASan (make check SAN=1). crash_section_count_2e9
 * declared 2^32-1 sections and made the loader calloc 1 TiB for their table. */
static void test_model_fuzz_corpus_loads_or_fails_cleanly(void) {
    CHECK(unit_each_file("tests/fuzz/corpus/modelfile", load_corpus_file) >= 3);
}

/* The config in a model file is checked against the file before the flow is built:
 * a small file declaring a 3e4-wide flow (2.7e9 parameters) is refused without
 * allocating them, naming the sizes. */
static void test_model_sizes_checked_before_building(void) {
    long np, ns;
    FlowConfig c = flow_config_default(FLOW_REALNVP, 30000);
    c.blocks = 2, c.hidden = 30000;
    CHECK(flow_size(&c, &np, &ns) == 0 && np == 2700120000L);
    c.hidden = 1 << 25;
    CHECK(flow_size(&c, &np, &ns) == -1); /* wider than FLOW_MAX_WIDTH */
    Err e = {{0}};
    Flow f;
    ModelSection *secs;
    int n;
    const char *path = "tests/bad_inputs/model/huge_width.flow";
    CHECK(modelfile_load(path, &f, &secs, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "cannot be built") != NULL);
    path = "tests/bad_inputs/model/huge_config_small_file.flow";
    CHECK(modelfile_load(path, &f, &secs, &n, &e) == LDE_EINPUT);
    CHECK(strstr(e.msg, "120 params and 0 state values, expected") != NULL);
}

/* A version 2 file (each invertible linear's state its permutation alone, U's
 * diagonal positive) loads with those permutations and signs +1; one state value
 * short is refused. The file is the version 3 save rewritten as version 2 wrote it. */
static void test_version_2_model_loads_with_positive_signs(void) {
    char v3[4200], v2[4200];
    snprintf(v3, sizeof v3, "%s/v3.flow", unit_tmpdir());
    snprintf(v2, sizeof v2, "%s/v2.flow", unit_tmpdir());
    Flow f;
    float x[B * D];
    make_saved(v3, &f, x);
    static unsigned char buf[1 << 20], old[1 << 20];
    long n = file_bytes(v3, buf, sizeof buf);
    /* magic 8, version 4, 11 u32 of config, np, ns (i64), nsec: then params, state */
    long head = 8 + 4 + 44 + 8 + 8 + 4, at = head + 4 * f.nparams, o = at, removed = 0;
    memcpy(old, buf, (size_t)at);
    for (int i = 0; i < f.nlayers; i++) {
        const FlowLayer *l = &f.layers[i];
        long keep = l->kind == FLOW_LAYER_INVLINEAR ? l->ns / 2 : l->ns;
        memcpy(old + o, buf + at + 4 * l->soff, 4 * (size_t)keep);
        o += 4 * keep, removed += l->ns - keep;
    }
    long rest = n - 8 - (at + 4 * f.nstate);
    memcpy(old + o, buf + at + 4 * f.nstate, (size_t)rest);
    o += rest;
    uint32_t version = 2;
    int64_t ns = f.nstate - removed;
    memcpy(old + 8, &version, 4);
    memcpy(old + 8 + 4 + 44 + 8, &ns, 8);
    uint64_t sum = XXH64(old, (size_t)o, 0);
    memcpy(old + o, &sum, 8);
    write_bytes(v2, old, o + 8);
    Flow g;
    ModelSection *secs = NULL;
    int nsec = 0;
    Err e = {{0}};
    CHECK(removed == 3 * D);
    CHECK(modelfile_load(v2, &g, &secs, &nsec, &e) == LDE_OK);
    if (g.nlayers == f.nlayers) {
        CHECK(memcmp(g.params, f.params, sizeof(float) * f.nparams) == 0);
        for (int i = 0; i < f.nlayers; i++) {
            const FlowLayer *l = &f.layers[i];
            long keep = l->kind == FLOW_LAYER_INVLINEAR ? l->ns / 2 : l->ns;
            CHECK(memcmp(g.state + l->soff, f.state + l->soff, 4 * (size_t)keep) == 0);
            for (long k = keep; k < l->ns; k++) CHECK(g.state[l->soff + k] == 1.0f);
        }
        modelfile_sections_free(secs, nsec);
        flow_destroy(&g);
    }
    ns--; /* one state value short: the body no longer matches the header */
    memcpy(old + 8 + 4 + 44 + 8, &ns, 8);
    sum = XXH64(old, (size_t)o, 0);
    memcpy(old + o, &sum, 8);
    write_bytes(v2, old, o + 8);
    expect_refused(v2, "state values");
    flow_destroy(&f);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_model_roundtrip_keeps_params_state_sections_and_density),
        UNIT(test_loaded_model_never_reinitialises_actnorm),
        UNIT(test_damaged_model_files_are_refused),
        UNIT(test_model_fuzz_corpus_loads_or_fails_cleanly),
        UNIT(test_model_sizes_checked_before_building),
        UNIT(test_version_2_model_loads_with_positive_signs),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
