/* gnuplot.c — see gnuplot.h: the shared look of every figure, staging, running
 * gnuplot, and moving a finished figure into place. */
#include "report/gnuplot.h"

#include "util/paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const fig_ext[3] = {"png", "pdf", "svg"};

int fig_parse_formats(const char *s, int *mask, Err *e) {
    *mask = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (int k = 0; k < 3; k++)
            if (n == strlen(fig_ext[k]) && strncmp(p, fig_ext[k], n) == 0) {
                *mask |= 1 << k;
                found = 1;
            }
        if (!found)
            return fail(e, LDE_EINPUT,
                        "--format '%s': expected a comma-separated list of png, pdf, svg", s);
        p += n;
        if (*p == ',') p++;
    }
    if (!*mask) return fail(e, LDE_EINPUT, "--format is empty: expected png, pdf and/or svg");
    return LDE_OK;
}

int fig_parse_size(const char *s, int *width, int *height, Err *e) {
    char *end;
    long w = strtol(s, &end, 10), h = -1;
    if (*end == 'x') h = strtol(end + 1, &end, 10);
    if (*end || w < 100 || w > 10000 || h < 100 || h > 10000)
        return fail(e, LDE_EINPUT, "--size '%s': expected WIDTHxHEIGHT in pixels, each 100..10000",
                    s);
    *width = (int)w;
    *height = (int)h;
    return LDE_OK;
}

int gnuplot_check(Err *e) {
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, p);
        if (n && access(buf, X_OK) == 0) return LDE_OK;
        p += n;
        if (*p == ':') p++;
    }
    return fail(e, LDE_EINPUT,
                "gnuplot not found on PATH: figures need it; install the Debian package "
                "gnuplot-nox (sudo apt-get install gnuplot-nox, or make deps)");
}

/* Removes the staging directory and everything in it (it holds plain files only). */
static void remove_stage(const char *stage) {
    DIR *d = opendir(stage);
    if (!d) return;
    struct dirent *ent;
    char buf[4700];
    while ((ent = readdir(d)))
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) {
            snprintf(buf, sizeof buf, "%s/%s", stage, ent->d_name);
            unlink(buf);
        }
    closedir(d);
    rmdir(stage);
}

int fig_begin(Figure *f, const char *dir, const char *name, const FigOptions *o, Err *e) {
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->opt = *o;
    int rc = paths_mkdirs(dir, e);
    if (rc) return rc;
    snprintf(f->stage, sizeof f->stage, "%s/.lde-stage-%s-%ld", dir, name, (long)getpid());
    remove_stage(f->stage); /* a leftover of an earlier process with our pid */
    if (mkdir(f->stage, 0777) != 0)
        return fail(e, LDE_ERUN, "%s: cannot create directory: %s", f->stage, strerror(errno));
    f->body = open_memstream(&f->body_text, &f->body_len);
    if (!f->body) {
        rmdir(f->stage);
        return fail(e, LDE_ERUN, "out of memory");
    }
    return LDE_OK;
}

int fig_data_open(Figure *f, const char *suffix, AtomicFile *a, char file[256], Err *e) {
    if (f->ndata == FIG_MAX_FILES) return fail(e, LDE_ERUN, "%s: too many data files", f->name);
    snprintf(file, 256, "%s%s.dat", f->name, suffix);
    snprintf(f->data[f->ndata], 256, "%s", file);
    char path[4700];
    snprintf(path, sizeof path, "%s/%s", f->stage, file);
    return atomic_open(a, path, e);
}

int fig_data_commit(Figure *f, AtomicFile *a, Err *e) {
    int rc = atomic_commit(a, e);
    if (rc) return rc;
    f->ndata++;
    return LDE_OK;
}

void fig_quote(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void free_body(Figure *f) {
    if (f->body) fclose(f->body);
    f->body = NULL;
    free(f->body_text);
    f->body_text = NULL;
}

void fig_abort(Figure *f) {
    free_body(f);
    remove_stage(f->stage);
}

/* The shared header: what the figure shows, how to re-render it, the look. */
static void write_header(FILE *g, const Figure *f, const char *comment) {
    fprintf(g, "# %s.gp — written by lde\n#\n", f->name);
    for (const char *p = comment; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(g, "# %.*s\n", (int)n, p);
        p += n;
        if (*p) p++;
    }
    fprintf(g, "#\n# Re-render from this directory:   gnuplot %s.gp\n", f->name);
    fprintf(g, "# Other formats:  gnuplot -e \"formats='png pdf svg'\" %s.gp\n", f->name);
    fprintf(g, "# Data: %s*.dat (tab-separated; the first line names the columns).\n\n", f->name);
    fprintf(g, "if (!exists(\"outbase\")) outbase = '%s'\n", f->name);
    fprintf(g, "if (!exists(\"formats\")) formats = '");
    for (int k = 0, first = 1; k < 3; k++)
        if (f->opt.formats & (1 << k)) {
            fprintf(g, "%s%s", first ? "" : " ", fig_ext[k]);
            first = 0;
        }
    fprintf(g, "'\nwidth = %d   # pixels; the PDF page is width/150 x height/150 inches\n",
            f->opt.width);
    fprintf(g, "height = %d\nfontspec = 'Sans,12'\n\n", f->opt.height);
    fprintf(g, "set encoding utf8\nset datafile separator '\\t'\nset datafile missing 'nan'\n");
    fprintf(g, "# Okabe & Ito's colour-blind-safe palette: black, blue, vermillion, orange,\n"
               "# bluish green, reddish purple, sky blue, yellow.\n"
               "array okabe_ito[8] = ['#000000', '#0072B2', '#D55E00', '#E69F00', '#009E73', "
               "'#CC79A7', '#56B4E9', '#F0E442']\n"
               "do for [i = 1:8] { set linetype i lc rgb okabe_ito[i] lw 2 pt 7 ps 0.7 dt solid }\n"
               "set border 3 lw 1\nset tics nomirror out\nset grid lc rgb '#dddddd' lw 1\n\n");
    fprintf(
        g,
        "do for [fmt in formats] {\n"
        "  if (fmt eq 'png') { set terminal pngcairo size width,height noenhanced font fontspec }\n"
        "  if (fmt eq 'pdf') { set terminal pdfcairo size width/150.,height/150. noenhanced font "
        "fontspec fontscale 0.6 }\n"
        "  if (fmt eq 'svg') { set terminal svg size width,height noenhanced font fontspec "
        "background '#ffffff' }\n"
        "  set output outbase.'.'.fmt\n");
}

/* Runs `gnuplot NAME.gp` in the staging directory; its stderr goes to gnuplot.log. */
static int run_gnuplot(const Figure *f, Err *e) {
    char script[256], log[4700];
    snprintf(script, sizeof script, "%s.gp", f->name);
    snprintf(log, sizeof log, "%s/gnuplot.log", f->stage);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return fail(e, LDE_ERUN, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_RDWR);
        if (fd < 0 || null < 0 || chdir(f->stage) != 0) _exit(127);
        dup2(null, 0);
        dup2(null, 1);
        dup2(fd, 2);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail(e, LDE_ERUN, "gnuplot: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return LDE_OK;
    /* The last non-empty line of gnuplot's stderr says what went wrong. */
    char line[512] = "", last[512] = "";
    FILE *l = fopen(log, "r");
    while (l && fgets(line, sizeof line, l))
        if (strspn(line, " \t\n^") != strlen(line)) snprintf(last, sizeof last, "%s", line);
    if (l) fclose(l);
    last[strcspn(last, "\n")] = 0;
    return fail(e, LDE_ERUN, "gnuplot failed on %s/%s.gp (exit %d): %s", f->dir, f->name,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, last[0] ? last : "no message");
}

/* Checks that output `file` in the stage is a non-empty file and syncs it. */
static int sync_output(const Figure *f, const char *file, Err *e) {
    char path[4700];
    snprintf(path, sizeof path, "%s/%s", f->stage, file);
    int fd = open(path, O_RDONLY);
    struct stat st;
    int ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!ok) return fail(e, LDE_ERUN, "gnuplot wrote no %s/%s", f->dir, file);
    return LDE_OK;
}

static int move_into_place(const Figure *f, const char *file, Err *e) {
    char from[8192], to[8192];
    if (snprintf(from, sizeof from, "%s/%s", f->stage, file) >= (int)sizeof from ||
        snprintf(to, sizeof to, "%s/%s", f->dir, file) >= (int)sizeof to)
        return fail(e, LDE_EINPUT, "%s/%s: path too long", f->dir, file);
    if (rename(from, to) != 0) return fail(e, LDE_ERUN, "%s: %s", to, strerror(errno));
    return LDE_OK;
}

int fig_finish(Figure *f, const char *comment, Err *e) {
    char path[4700], file[FIG_MAX_FILES + 4][256];
    int nfile = 0, rc;
    if (fclose(f->body) != 0) {
        f->body = NULL;
        fig_abort(f);
        return fail(e, LDE_ERUN, "out of memory writing %s.gp", f->name);
    }
    f->body = NULL;
    AtomicFile a;
    snprintf(path, sizeof path, "%s/%s.gp", f->stage, f->name);
    if ((rc = atomic_open(&a, path, e))) goto out;
    write_header(a.f, f, comment);
    fwrite(f->body_text, 1, f->body_len, a.f);
    fprintf(a.f, "  set output\n}\n");
    if ((rc = atomic_commit(&a, e))) goto out;
    if ((rc = run_gnuplot(f, e))) goto out;
    for (int k = 0; k < 3; k++)
        if (f->opt.formats & (1 << k)) {
            snprintf(file[nfile], 256, "%s.%s", f->name, fig_ext[k]);
            if ((rc = sync_output(f, file[nfile++], e))) goto out;
        }
    for (int i = 0; i < f->ndata; i++) snprintf(file[nfile++], 256, "%s", f->data[i]);
    snprintf(file[nfile++], 256, "%s.gp", f->name);
    for (int i = 0; i < nfile && rc == LDE_OK; i++) rc = move_into_place(f, file[i], e);
out:
    fig_abort(f);
    return rc;
}
