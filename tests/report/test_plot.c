/* test_plot.c — `lde plot` end to end: a fixture database written through the
 * store API (as `lde run` writes it), then the real ./lde binary ($LDE) draws from
 * it; the outputs are checked by their bytes (PNG signature and IHDR size, PDF
 * header and MediaBox, SVG root element size), the .gp scripts re-run with plain
 * gnuplot, and the error cases exit 2 listing what exists.
 *
 * The fixture, experiment "grid": preprocess.pca [16, 64, 0] × normalize [false,
 * true] × seed [0, 1], 12 done runs evaluated at steps 0, 20, ..., 100 (epochs 0 to
 * 1) on train, val, digits, gaussian and vflip, 300 samples each, plus one pending
 * run. Per-sample bpd are normal draws from rng.h whose means follow the papers:
 * bpd falls with training, far sets sit above val (more with normalize), their
 * separation peaks early, vflip stays near val, gaussian sits an order of magnitude
 * above (so the last step's histogram needs a log axis), and a few outliers give the
 * histograms something to clip. Metrics come from metrics.h on those draws.
 * PLOT_FIXTURE_DB=PATH writes only the fixture there (to look at figures by hand). */
#include "flows/metrics.h"
#include "flows/rng.h"
#include "store/store.h"
#include "tests/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NSAMP = 300, NSTEP = 6, NSPLIT = 5 };
static const char *const SPLITS[NSPLIT] = {"train", "val", "digits", "gaussian", "vflip"};
static char db[512], out[512];

/* Mean bpd of split k at epoch t for a run with pca dimension (0 = none) and
 * normalize: all fall like 1/(1+3t); far sets' gap to val peaks near t = 0.3. */
static double split_mean(int k, double t, int pca, int normalize) {
    double val = 8 + 6 / (1 + 3 * t) + (pca ? 0.5 * log2(256.0 / pca) : 0);
    double peak = exp(-(t - 0.3) * (t - 0.3) / 0.2), far = (normalize ? 3.0 : 1.2) * (0.6 + peak);
    if (pca) far *= 0.8;
    switch (k) {
    case 0:
        return val - 1.5 * t;
    case 1:
        return val;
    case 2:
        return val + far;
    case 3: /* noise images: an order of magnitude above val, as they can be */
        return 12 * val + 10 * far;
    default:
        return val + 0.3 * far;
    }
}

static int report(const Err *e) {
    fprintf(stderr, "fixture: %s\n", e->msg);
    return 1;
}

static int write_run(Store *s, const char *id, long seed, int pca, int normalize) {
    Err e = {{0}};
    Provenance p;
    provenance_collect(&p, "0.1.0", "fixture");
    if (store_begin_run(s, id, &p, &e)) return report(&e);
    static float bpd[NSPLIT][NSAMP];
    for (int st = 0; st < NSTEP; st++) {
        double t = st / (double)(NSTEP - 1);
        StoreSplit sp[NSPLIT];
        OodMetrics m[NSPLIT];
        for (int k = 0; k < NSPLIT; k++) {
            uint64_t stream = (uint64_t)(st * NSPLIT + k);
            rng_fill_normal(bpd[k], NSAMP, (float)split_mean(k, t, pca, normalize),
                            k == 3 ? 15.0f : 1.0f, (uint64_t)(seed * 1000 + pca * 2 + normalize),
                            stream, 0);
            for (int i = 0; i < 3; i++) bpd[k][i * 97 % NSAMP] += 25; /* outliers */
            sp[k] = (StoreSplit){.split = SPLITS[k], .bpd = bpd[k], .n = NSAMP};
            metrics_summary(bpd[k], NSAMP, &sp[k].mean_bpd, &sp[k].median_bpd);
            if (k >= 2) {
                metrics_ood(bpd[1], NSAMP, bpd[k], NSAMP, &m[k]);
                sp[k].metrics = &m[k];
            }
        }
        if (store_add_eval(s, id, st * 20L, t, 10 - 3 * t, sp, NSPLIT, &e)) return report(&e);
    }
    if (store_finish_run(s, id, RUN_DONE, NULL, 12.5 + (double)seed, &e)) return report(&e);
    return 0;
}

static int make_fixture(const char *path) {
    static const int pcas[3] = {16, 64, 0};
    static char ids[13][32], params[13][256];
    StoreRunSpec runs[13];
    int n = 0;
    for (int a = 0; a < 3; a++)
        for (int norm = 0; norm < 2; norm++)
            for (int seed = 0; seed < 2; seed++, n++) {
                snprintf(ids[n], sizeof ids[n], "%02d%06dfeedface", n, a * 100 + norm * 10 + seed);
                snprintf(params[n], sizeof params[n],
                         "{\"flow\":{\"arch\":\"glow\"},\"preprocess\":{\"normalize\":%s,"
                         "\"pca\":%d},\"seed\":%d}",
                         norm ? "true" : "false", pcas[a], seed);
                runs[n] = (StoreRunSpec){ids[n], params[n], seed, NULL, 0};
            }
    snprintf(ids[n], sizeof ids[n], "99pendingfeedface");
    snprintf(params[n], sizeof params[n],
             "{\"flow\":{\"arch\":\"glow\"},\"preprocess\":{\"normalize\":true,\"pca\":0},"
             "\"seed\":2}");
    runs[n] = (StoreRunSpec){ids[n], params[n], 2, NULL, 0};
    Store *s;
    Err e = {{0}};
    if (store_open(path, &s, &e) ||
        store_add_experiment(s, "grid", "experiment: grid\n", runs, 13, &e))
        return report(&e);
    int rc = 0;
    for (int i = 0; i < 12 && !rc; i++) {
        int a = i / 4, norm = i / 2 % 2, seed = i % 2;
        rc = write_run(s, ids[i], seed, pcas[a], norm);
    }
    store_close(s);
    return rc;
}

/* Runs `[env] $LDE ARGS` (stderr merged) and returns its exit code and output. */
static int lde(const char *env, const char *args, char *buf, size_t n) {
    const char *bin = getenv("LDE");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' %s 2>&1", env, bin ? bin : "./lde", args);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(buf, 1, n - 1, p) : 0;
    buf[got] = 0;
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole file in a malloc'd buffer; *n its size (0 and NULL when unreadable). */
static unsigned char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = 0;
    if (b) b[*n] = 0;
    fclose(f);
    return b;
}

/* PNG: signature, then the IHDR chunk's big-endian width and height. */
static int png_size(const char *path, long *w, long *h) {
    long n;
    unsigned char *b = slurp(path, &n);
    int ok =
        b && n > 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0;
    if (ok) {
        *w = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 | b[19];
        *h = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 | b[23];
    }
    free(b);
    return ok;
}

/* PDF: the header, the end marker and the first page's MediaBox in points. */
static int pdf_size(const char *path, double *w, double *h) {
    long n;
    unsigned char *b = slurp(path, &n);
    /* memmem: the compressed streams hold NUL bytes. */
    const char *box = b ? memmem(b, (size_t)n, "/MediaBox [", 11) : NULL;
    double x0, y0;
    int ok = b && n > 100 && memcmp(b, "%PDF-", 5) == 0 && memmem(b + n - 16, 16, "%%EOF", 5) &&
             box && sscanf(box, "/MediaBox [ %lf %lf %lf %lf", &x0, &y0, w, h) == 4;
    free(b);
    return ok;
}

/* SVG: an <svg> root whose width and height attributes are the pixel size, closed. */
static int svg_size(const char *path, long *w, long *h) {
    long n;
    unsigned char *b = slurp(path, &n);
    const char *svg = b ? strstr((const char *)b, "<svg") : NULL;
    const char *ws = svg ? strstr(svg, "width=\"") : NULL,
               *hs = svg ? strstr(svg, "height=\"") : NULL;
    int ok = svg && ws && hs && strstr(svg, "</svg>") && sscanf(ws, "width=\"%ld", w) == 1 &&
             sscanf(hs, "height=\"%ld", h) == 1;
    free(b);
    return ok;
}

static int exists(const char *dir, const char *stem, const char *ext) {
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s%s", dir, stem, ext);
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Checks every figure lde printed (one DIR/STEM per line) in every format at w × h. */
static int check_figures(const char *listing, long w, long h) {
    int nfig = 0;
    for (const char *line = listing; *line;) {
        size_t len = strcspn(line, "\n");
        char path[1024], file[1100];
        snprintf(path, sizeof path, "%.*s", (int)len, line);
        long pw = 0, ph = 0, sw = 0, sh = 0;
        double dw = 0, dh = 0;
        snprintf(file, sizeof file, "%s.png", path);
        CHECK(png_size(file, &pw, &ph) && pw == w && ph == h);
        snprintf(file, sizeof file, "%s.pdf", path);
        /* A PDF page is w/150 inches of 72 points: 0.48 points per pixel. */
        CHECK(pdf_size(file, &dw, &dh) && fabs(dw - 0.48 * (double)w) < 1 &&
              fabs(dh - 0.48 * (double)h) < 1);
        snprintf(file, sizeof file, "%s.svg", path);
        CHECK(svg_size(file, &sw, &sh) && sw == w && sh == h);
        snprintf(file, sizeof file, "%s.gp", path);
        CHECK(access(file, R_OK) == 0);
        if (CHECK(pw == w && ph == h))
            fprintf(stderr, "%s: png %ldx%ld pdf %gx%g svg %ldx%ld, want %ldx%ld\n", path, pw, ph,
                    dw, dh, sw, sh, w, h);
        nfig++;
        line += len + (line[len] == '\n');
    }
    return nfig;
}

static void test_plot_every_kind_and_format_is_valid_at_requested_size(void) {
    static const char *const kinds[3] = {"hist --run 00", "curves", "sweep"};
    static const int want[3] = {1, 6, 2}; /* one run; 6 grid points; 2 axes */
    for (int k = 0; k < 3; k++) {
        char args[2048], buf[8192];
        snprintf(args, sizeof args,
                 "plot grid --db '%s' --out '%s' --kind %s --format png,pdf,svg --size 640x400", db,
                 out, kinds[k]);
        CHECK(lde("", args, buf, sizeof buf) == 0);
        if (CHECK(check_figures(buf, 640, 400) == want[k])) fprintf(stderr, "%s\n", buf);
    }
}

static void test_plot_names_say_what_they_show(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/grid", out);
    CHECK(exists(dir, "hist_00000000_step0_step100", ".png"));
    CHECK(exists(dir, "hist_00000000_step0_step100_step0", ".dat"));
    CHECK(exists(dir, "hist_00000000_step0_step100_step100", ".dat"));
    CHECK(exists(dir, "curves_normalize-true_pca-64", ".png"));
    CHECK(exists(dir, "curves_normalize-true_pca-64_auroc", ".dat"));
    CHECK(exists(dir, "curves_normalize-true_pca-64_bpd", ".dat"));
    CHECK(exists(dir, "sweep_pca_auroc_last", ".svg"));
    CHECK(exists(dir, "sweep_normalize_auroc_last", ".dat"));
}

static void test_plot_gp_script_rerenders_with_plain_gnuplot(void) {
    char cmd[2048], png[1024];
    const char *stems[3] = {"hist_00000000_step0_step100", "curves_normalize-false_pca-16",
                            "sweep_normalize_auroc_last"};
    for (int i = 0; i < 3; i++) {
        snprintf(png, sizeof png, "%s/grid/%s.png", out, stems[i]);
        remove(png);
        snprintf(cmd, sizeof cmd, "cd '%s/grid' && gnuplot %s.gp 2>&1", out, stems[i]);
        long w = 0, h = 0;
        CHECK(system(cmd) == 0);
        CHECK(png_size(png, &w, &h) && w == 640 && h == 400);
    }
}

static void test_plot_hist_defaults_to_first_and_last_side_by_side(void) {
    char args[2048], buf[4096];
    snprintf(args, sizeof args, "plot grid --db '%s' --out '%s' --kind hist --run 05 --format png",
             db, out);
    CHECK(lde("", args, buf, sizeof buf) == 0);
    char png[1024];
    long w = 0, h = 0;
    snprintf(png, sizeof png, "%s/grid/hist_05000101_step0_step100.png", out);
    CHECK(png_size(png, &w, &h) && w == 1600 && h == 600);
    snprintf(args, sizeof args,
             "plot grid --db '%s' --out '%s' --kind hist --run 05 --step best --format png", db,
             out);
    CHECK(lde("", args, buf, sizeof buf) == 0 && strstr(buf, "hist_05000101_step"));
}

/* An experiment with a flow on pixels and one on latents gets the two side by side
 * (Kirichenko et al. Fig. 5), each at its last step, and the grid of latent flows
 * alone does not. */
static void test_plot_hist_pixels_beside_latents(void) {
    static const char *const ids[2] = {"a1pixelsfeedface", "b2latentfeedface"};
    static const char *const params[2] = {
        "{\"data\":{\"features\":\"fashion-mnist-pixels\"},\"flow\":{\"arch\":\"realnvp\"},"
        "\"seed\":0}",
        "{\"data\":{\"features\":\"fashion-mnist\"},\"flow\":{\"arch\":\"glow\"},\"seed\":0}"};
    StoreRunSpec runs[2] = {{ids[0], params[0], 0, NULL, 0}, {ids[1], params[1], 0, NULL, 0}};
    Store *s;
    Err e = {{0}};
    CHECK(store_open(db, &s, &e) == LDE_OK);
    CHECK(store_add_experiment(s, "contrast", "experiment: contrast\n", runs, 2, &e) == LDE_OK);
    CHECK(write_run(s, ids[0], 0, 16, 0) == 0 && write_run(s, ids[1], 0, 0, 1) == 0);
    store_close(s);
    char args[2048], buf[4096], png[1024];
    snprintf(args, sizeof args, "plot contrast --db '%s' --out '%s' --kind hist --format png", db,
             out);
    CHECK(lde("", args, buf, sizeof buf) == 0 && strstr(buf, "contrast/hist_pixels_vs_latent\n"));
    long w = 0, h = 0;
    snprintf(png, sizeof png, "%s/contrast/hist_pixels_vs_latent.png", out);
    CHECK(png_size(png, &w, &h) && w == 1600 && h == 600);
    snprintf(png, sizeof png, "%s/contrast/hist_pixels_vs_latent_pixels_step100.dat", out);
    CHECK(access(png, R_OK) == 0);
    snprintf(args, sizeof args, "plot grid --db '%s' --out '%s' --kind hist --format png", db, out);
    CHECK(lde("", args, buf, sizeof buf) == 0 && !strstr(buf, "pixels_vs_latent"));
}

/* gaussian sits ~12x above val: the histogram switches to log-spaced bins. */
static void test_plot_hist_far_set_gets_a_log_axis(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/grid/hist_00000000_step0_step100.gp", out);
    long n;
    char *gp = (char *)slurp(path, &n);
    if (CHECK(gp != NULL)) return;
    CHECK(strstr(gp, "set logscale x") != NULL);
    CHECK(strstr(gp, "set xtics (") != NULL);
    free(gp);
}

/* No file appears under dir (the staging directory is gone too). */
static int dir_is_empty(const char *dir) {
    char cmd[1024], buf[256];
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | head -n 3", dir);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 1;
    if (p) pclose(p);
    return n == 0;
}

static void test_plot_missing_names_exit_2_listing_what_exists(void) {
    char args[2048], buf[4096], empty[1024];
    snprintf(empty, sizeof empty, "%s/empty", unit_tmpdir());
    struct {
        const char *args, *want;
    } cases[] = {
        {"nosuch", "no experiment 'nosuch' (experiments: grid"},
        {"grid --kind hist --run abc", "no run 'abc' (runs: 00000000, 01000001,"},
        {"grid --kind hist --run 00 --step 7", "has no step 7 (steps: 0, 20, 40, 60, 80, 100)"},
        {"grid --kind sweep --step 7", "has no step 7 (steps: 0, 20, 40, 60, 80, 100)"},
        {"grid --kind sweep --axis lr",
         "'lr' is not a grid axis (axes that vary: preprocess.normalize, preprocess.pca)"},
        {"grid --kind hist --run 99",
         "run 99pendin (pending) has no step first (no evaluation yet)"},
        {"grid --format gif", "--format 'gif': expected"},
        {"grid --kind bars",
         "--kind 'bars': expected hist, curves, sweep, coupling, latent or all"},
        {"grid --metric auc", "--metric 'auc': expected auroc, fpr95"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "plot --db '%s' --out '%s' %s", db, empty, cases[i].args);
        int rc = lde("", args, buf, sizeof buf);
        if (CHECK(rc == 2 && strstr(buf, cases[i].want) &&
                  strchr(buf, '\n') == buf + strlen(buf) - 1))
            fprintf(stderr, "case %s: exit %d: %s", cases[i].args, rc, buf);
    }
    CHECK(dir_is_empty(empty));
}

static void test_plot_without_gnuplot_names_the_package_and_writes_nothing(void) {
    char args[2048], buf[4096], dir[1024];
    snprintf(dir, sizeof dir, "%s/nognuplot", unit_tmpdir());
    snprintf(args, sizeof args, "plot grid --db '%s' --out '%s'", db, dir);
    CHECK(lde("PATH=/nonexistent", args, buf, sizeof buf) == 2);
    CHECK(strstr(buf, "gnuplot-nox") != NULL);
    CHECK(dir_is_empty(dir));
}

/* A gnuplot that writes half a PNG and fails: nothing of the figure may remain. */
static void test_plot_gnuplot_failure_leaves_no_partial_files(void) {
    char bin[1024], script[1100], args[2048], buf[4096], dir[1024];
    snprintf(bin, sizeof bin, "%s/fakebin", unit_tmpdir());
    mkdir(bin, 0777);
    snprintf(script, sizeof script, "%s/gnuplot", bin);
    FILE *f = fopen(script, "w");
    if (CHECK(f != NULL)) return;
    fprintf(f, "#!/bin/sh\nprintf '\\211PNG half' > \"$(basename \"$1\" .gp).png\"\n"
               "echo '\"x.gp\" line 3: something broke' >&2\nexit 1\n");
    fclose(f);
    chmod(script, 0755);
    snprintf(dir, sizeof dir, "%s/broken", unit_tmpdir());
    snprintf(args, sizeof args, "plot grid --db '%s' --out '%s' --kind curves", db, dir);
    char env[1200];
    snprintf(env, sizeof env, "PATH='%s':/usr/bin:/bin", bin);
    CHECK(lde(env, args, buf, sizeof buf) == 1);
    CHECK(strstr(buf, "something broke") != NULL);
    snprintf(dir, sizeof dir, "%s/broken/grid", unit_tmpdir());
    CHECK(dir_is_empty(dir));
}

/* report.md: the table, every figure it links exists, each run's provenance, the
 * config. */
static void test_report_links_existing_figures_and_provenance(void) {
    char args[2048], buf[4096], path[1024];
    snprintf(args, sizeof args, "report grid --db '%s' --out '%s/report'", db, unit_tmpdir());
    CHECK(lde("", args, buf, sizeof buf) == 0);
    snprintf(path, sizeof path, "%s/report/grid/report.md", unit_tmpdir());
    CHECK(strstr(buf, path) != NULL);
    long n;
    char *md = (char *)slurp(path, &n);
    if (CHECK(md != NULL)) return;
    CHECK(strstr(md, "| normalize | pca | digits | gaussian | vflip | far-OOD mean |\n") != NULL);
    CHECK(strstr(md, "| `00000000` | normalize=false, pca=16, seed=0 | done | 6 | 12.5s | 0.1.0 | "
                     "fixture |") != NULL);
    CHECK(strstr(md, "| `99pendin` | normalize=true, pca=0, seed=2 | pending | 0 | - |") != NULL);
    CHECK(strstr(md, "```yaml\nexperiment: grid\n```\n") != NULL);
    int figures = 0;
    for (const char *p = md; (p = strstr(p, "](")) != NULL; p += 2) {
        char file[256], full[1400];
        if (sscanf(p + 2, "%255[^)]", file) != 1) continue;
        snprintf(full, sizeof full, "%s/report/grid/%s", unit_tmpdir(), file);
        if (CHECK(access(full, R_OK) == 0)) fprintf(stderr, "missing %s\n", full);
        figures += strstr(file, ".png") != NULL;
    }
    CHECK(figures == 6 + 6 + 2); /* a histogram per grid point, curves per grid point, 2 sweeps */
    free(md);
}

int main(int argc, char **argv) {
    const char *keep = getenv("PLOT_FIXTURE_DB");
    if (keep) return make_fixture(keep);
    snprintf(db, sizeof db, "%s/lde.db", unit_tmpdir());
    snprintf(out, sizeof out, "%s/plots", unit_tmpdir());
    if (make_fixture(db)) return 1;
    static const struct unit_test tests[] = {
        UNIT(test_plot_every_kind_and_format_is_valid_at_requested_size),
        UNIT(test_plot_names_say_what_they_show),
        UNIT(test_plot_gp_script_rerenders_with_plain_gnuplot),
        UNIT(test_plot_hist_defaults_to_first_and_last_side_by_side),
        UNIT(test_plot_hist_far_set_gets_a_log_axis),
        UNIT(test_plot_hist_pixels_beside_latents),
        UNIT(test_plot_missing_names_exit_2_listing_what_exists),
        UNIT(test_plot_without_gnuplot_names_the_package_and_writes_nothing),
        UNIT(test_plot_gnuplot_failure_leaves_no_partial_files),
        UNIT(test_report_links_existing_figures_and_provenance),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
