/* gnuplot.h — one figure = one editable gnuplot script, its tab-separated .dat
 * files and the rendered PNG / PDF / SVG, all side by side in one directory.
 *
 * The script is the figure: `cd DIR && gnuplot NAME.gp` re-renders every format
 * from the .dat files alone, so a user restyles a figure without lde. Every script
 * shares one look (fig_begin writes it): Okabe–Ito colour-blind-safe colours as
 * line types 1–8, sans-serif 12 (7 pt in PDF), no enhanced-text markup (set names print as
 * they are).
 *
 * Atomicity: everything is written into a staging directory DIR/.lde-stage-NAME-PID
 * and gnuplot runs there; only when it exits 0 and every requested output is a
 * non-empty file are the files fsync'd and renamed into DIR, one rename(2) each. A
 * failure (gnuplot error, disk full) removes the staging directory: DIR never holds
 * a half-written figure, script or data file. */
#ifndef LDE_GNUPLOT_H
#define LDE_GNUPLOT_H

#include "util/atomicfile.h"
#include "util/err.h"

#include <stdio.h>

enum { FIG_PNG = 1, FIG_PDF = 2, FIG_SVG = 4, FIG_MAX_FILES = 16 };

typedef struct {
    int formats; /* FIG_* mask */
    /* Pixels for PNG and SVG. A PDF page is width/150 × height/150 inches (960×600 ->
     * 6.4 × 4 in, a paper's text width) with the fonts at 7 pt, so a figure placed at
     * text width keeps readable labels. */
    int width, height;
} FigOptions;

/* "png,pdf,svg" (any non-empty subset, comma-separated) -> FIG_* mask. */
int fig_parse_formats(const char *s, int *mask, Err *e);
/* "960x600" -> pixels, each in [100, 10000]. */
int fig_parse_size(const char *s, int *width, int *height, Err *e);

/* LDE_EINPUT naming the Debian package gnuplot-nox when no executable `gnuplot` is
 * on PATH. Commands call it before they write anything. */
int gnuplot_check(Err *e);

typedef struct {
    char dir[4096];   /* where the figure lands */
    char stage[4400]; /* staging directory inside dir */
    char name[200];   /* file stem: hist_ab12cd34_step0 */
    FigOptions opt;
    FILE *body; /* the plot commands, written by the caller (open_memstream) */
    char *body_text;
    size_t body_len;
    char data[FIG_MAX_FILES][256]; /* the data files written so far */
    int ndata;
} Figure;

/* Starts figure `name` in dir (created, with parents, when missing). The caller
 * then writes .dat files (fig_data_open / fig_data_commit) and the gnuplot commands
 * that draw the figure into f->body — once per format, so they must not depend on
 * state they change — and ends with fig_finish or fig_abort. */
int fig_begin(Figure *f, const char *dir, const char *name, const FigOptions *o, Err *e);

/* Opens data file NAME_suffix.dat in the staging directory; *file receives the
 * name the script must use. */
int fig_data_open(Figure *f, const char *suffix, AtomicFile *a, char file[256], Err *e);
/* Commits a data file opened by fig_data_open and remembers it. */
int fig_data_commit(Figure *f, AtomicFile *a, Err *e);

/* Writes NAME.gp (comment: what the figure shows, one or more lines, each gets
 * "# "), runs gnuplot, moves script, data and outputs into dir. On failure nothing
 * new appears in dir. Frees f either way. */
int fig_finish(Figure *f, const char *comment, Err *e);
/* Abandons the figure: removes the staging directory, frees f. */
void fig_abort(Figure *f);

/* Writes s to f as a gnuplot double-quoted string: backslash and quote escaped, a
 * newline as \n (a line break in titles and labels). */
void fig_quote(FILE *f, const char *s);

#endif
