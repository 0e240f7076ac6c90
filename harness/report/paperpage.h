/* paperpage.h — the page `lde paper` writes: every table and figure of the two
 * papers that lde regenerates, under the paper's own table or figure number, with
 * the command that redraws it, the config, the wall time and the provenance, and a
 * Findings section (findings.h) on top. Two files from the same content:
 *
 *   index.html  self-contained: figures inline as data: URIs, no network, styles and
 *               the table sorter inline; fits a laptop screen without horizontal
 *               scrolling (images and tables shrink or scroll inside their box). On
 *               load it writes what rendered (figures decoded, tables, page width)
 *               into <body data-selfcheck>, which the Chromium test reads.
 *   index.md    the same in Markdown, figures linked to the PNGs beside the reports.
 *
 * Both are written atomically (util/atomicfile.h). */
#ifndef LDE_PAPERPAGE_H
#define LDE_PAPERPAGE_H

#include "report/findings.h"
#include "report/plot.h"

typedef struct {
    const char *paper;      /* "LDE paper", "Kirichenko et al." */
    const char *label;      /* the paper's number: "Table 3", "Figs. 4–5" */
    const char *title;      /* what it shows */
    const char *config;     /* the config file's path */
    const char *experiment; /* its experiment name; NULL when the config is missing */
    const char *dir;        /* where its report and figures are (OUT/EXPERIMENT) */
    double this_s;          /* seconds `lde paper` spent running it this time */
    const FigList *figs;
    const char *note; /* why nothing is shown, or NULL */
} PaperSection;

/* Writes out/index.html and out/index.md from the database db (open as s). */
int paperpage_write(Store *s, const char *db, const char *out, const PaperSection *sec, int n,
                    const Finding *f, int nf, Err *e);

#endif
