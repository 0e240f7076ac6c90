/* paperpage.c — index.html and index.md of `lde paper` (paperpage.h). */
#include "report/paperpage.h"

#include "report/restable.h"
#include "store/provenance.h"
#include "util/atomicfile.h"
#include "util/version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Text into HTML: the five characters with a meaning there are escaped. */
static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
}

/* The bytes of path as base64 (RFC 4648) into f; -1 when it cannot be read. */
static int base64_file(FILE *f, const char *path) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in) return -1;
    unsigned char b[3];
    size_t n;
    while ((n = fread(b, 1, 3, in)) > 0) {
        if (n < 3) memset(b + n, 0, 3 - n);
        char o[4] = {tab[b[0] >> 2], tab[((b[0] & 3) << 4) | (b[1] >> 4)],
                     tab[((b[1] & 15) << 2) | (b[2] >> 6)], tab[b[2] & 63]};
        if (n < 3) o[3] = '=';
        if (n < 2) o[2] = '=';
        fwrite(o, 1, 4, f);
    }
    fclose(in);
    return 0;
}

/* What one section's experiment holds, for its header lines. */
typedef struct {
    int runs, done;
    double compute_s; /* the sum of its runs' wall times */
    Provenance prov;  /* of the first done run */
    char *yaml;
} SectionInfo;

static void section_info(Store *s, const ExpData *x, SectionInfo *si) {
    Err e;
    char created[32];
    memset(si, 0, sizeof *si);
    si->runs = x->nruns;
    for (int r = 0; r < x->nruns; r++) {
        if (x->runs[r].status != RUN_DONE) continue;
        if (!si->done++ && store_run_provenance(s, x->runs[r].id, &si->prov, &e) != LDE_OK)
            memset(&si->prov, 0, sizeof si->prov);
        if (isfinite(x->runs[r].wall_s)) si->compute_s += x->runs[r].wall_s;
    }
    if (store_experiment_config(s, x->name, &si->yaml, created, &e) != LDE_OK) si->yaml = NULL;
}

/* The results table (with the baselines when stored); 0 when there is one. */
static int section_table(Store *s, const ExpData *x, ResultTable *t) {
    Err e;
    if (restable_build(x, -1, MET_AUROC, "last", t, &e) != LDE_OK) return -1;
    restable_load_baselines(s, x, NULL, t, &e); /* none stored: the table goes without */
    return 0;
}

static void html_table(FILE *f, const ResultTable *t) {
    fprintf(f, "<div class=tw><table class=sortable><thead><tr>");
    for (int k = 0; k < t->nkeys; k++) {
        fputs("<th>", f);
        esc(f, t->keys[k]);
        fputs("</th>", f);
    }
    for (int c = 0; c < t->ncols; c++) {
        fputs("<th>", f);
        esc(f, t->cols[c]);
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>\n", f);
    for (int r = 0; r < t->nrows; r++) {
        fputs("<tr>", f);
        for (int k = 0; k < t->nkeys; k++) {
            fputs("<td>", f);
            esc(f, t->rows[r].label[k]);
            fputs("</td>", f);
        }
        for (int c = 0; c < t->ncols; c++) {
            const RtRow *row = &t->rows[r];
            if (!row->n[c])
                fputs("<td></td>", f);
            else if (row->n[c] > 1)
                fprintf(f, "<td>%.2f ± %.2f</td>", row->mean[c], row->sd[c]);
            else
                fprintf(f, "<td>%.2f</td>", row->mean[c]);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

static const char CSS[] =
    "body{font:16px/1.45 system-ui,sans-serif;max-width:64rem;margin:0 auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;margin-top:2rem}"
    "img{max-width:100%;height:auto;display:block}figure{margin:1rem 0}"
    "figcaption{font-size:.9rem;color:#444}.tw{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;"
    "padding:.2rem .45rem;text-align:right}th{background:#f3f3f3;cursor:pointer}"
    "td:first-child,th:first-child{text-align:left}table.find td,table.find th{text-align:left}"
    "pre,code{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}"
    "pre{background:#f6f6f6;padding:.5rem}.held{color:#006d2c;font-weight:bold}"
    ".not{color:#b30000;font-weight:bold}.mixed{color:#8a5a00;font-weight:bold}"
    ".nodata{color:#666}.meta{font-size:.9rem;color:#333}";

/* Click a header to sort by that column (numbers by value, else text); a second
 * click reverses. Then the self-check the Chromium test reads. */
static const char JS[] =
    "document.querySelectorAll('table.sortable th').forEach(function(th,i){"
    "th.addEventListener('click',function(){var tb=th.closest('table').tBodies[0],"
    "rows=Array.prototype.slice.call(tb.rows),up=th.getAttribute('data-up')!=='1';"
    "th.setAttribute('data-up',up?'1':'0');rows.sort(function(a,b){"
    "var x=a.cells[i].textContent,y=b.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y),"
    "c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return up?c:-c;});"
    "rows.forEach(function(r){tb.appendChild(r);});});});\n"
    "window.addEventListener('load',function(){var im=document.images,ok=0,i;"
    "for(i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)ok++;"
    "var t=document.querySelectorAll('table'),rows=0;for(i=0;i<t.length;i++)"
    "if(t[i].tBodies[0]&&t[i].tBodies[0].rows.length>0)rows++;"
    "var d=document.documentElement;document.body.setAttribute('data-selfcheck',"
    "'figures '+ok+'/'+im.length+' tables '+rows+'/'+t.length+' overflow '+"
    "Math.max(0,d.scrollWidth-d.clientWidth));});\n";

static const char *verdict_class(Verdict v) {
    static const char *const c[] = {"nodata", "held", "not", "mixed"};
    return c[v];
}

static void html_head(FILE *f, const char *db, const char *now) {
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
            "<title>lde: the papers' tables and figures</title><style>%s</style></head>"
            "<body>\n<h1>The papers' tables and figures, regenerated by lde</h1>\n"
            "<p class=meta>Written by <code>lde paper</code> (lde %s, git %s) from <code>",
            CSS, lde_version, lde_git_rev);
    esc(f, db);
    fprintf(f,
            "</code> on %s. Every number comes from the database; the LDE paper is "
            "arXiv 2402.06537, Kirichenko et al. is NeurIPS 2020.</p>\n",
            now);
}

static void findings_html(FILE *f, const Finding *fd, int n) {
    fputs(
        "<h2 id=findings>Findings</h2>\n<p class=meta>AUROC (%) at each run's last "
        "evaluation, mean over seeds; a claim that does not hold on this data is a result."
        "</p>\n<div class=tw><table class=\"sortable find\"><thead><tr><th>claim</th><th>where</th>"
        "<th>verdict</th><th>numbers</th></tr></thead><tbody>\n",
        f);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td>", f);
        esc(f, fd[i].claim);
        fputs("</td><td>", f);
        esc(f, fd[i].source);
        fprintf(f, "</td><td class=%s>%s</td><td>", verdict_class(fd[i].verdict),
                verdict_name(fd[i].verdict));
        esc(f, fd[i].numbers);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

static void findings_md(FILE *f, const Finding *fd, int n) {
    fputs("## Findings\n\nAUROC (%) at each run's last evaluation, mean over seeds.\n\n"
          "| claim | where | verdict | numbers |\n|---|---|---|---|\n",
          f);
    for (int i = 0; i < n; i++)
        fprintf(f, "| %s | %s | **%s** | %s |\n", fd[i].claim, fd[i].source,
                verdict_name(fd[i].verdict), fd[i].numbers);
    fputc('\n', f);
}

/* One section in both files. */
static void section(Store *s, const char *db, const char *out, const PaperSection *p, FILE *h,
                    FILE *m) {
    char wall[32], comp[32];
    fprintf(h, "<h3 id=\"");
    esc(h, p->experiment ? p->experiment : p->config);
    fprintf(h, "\">%s — ", p->label);
    esc(h, p->title);
    fputs("</h3>\n", h);
    fprintf(m, "### %s — %s\n\n", p->label, p->title);
    ExpData x;
    Err e;
    if (!p->experiment || p->note || expdata_load(s, db, p->experiment, 0, &x, &e) != LDE_OK) {
        const char *why = p->note ? p->note : p->experiment ? "not in the database" : "no config";
        fputs("<p class=nodata>Not shown: ", h);
        esc(h, why);
        fputs(".</p>\n", h);
        fprintf(m, "Not shown: %s.\n\n", why);
        return;
    }
    SectionInfo si;
    section_info(s, &x, &si);
    format_wall(si.compute_s, comp, sizeof comp);
    format_wall(p->this_s, wall, sizeof wall);
    char redraw[8192];
    snprintf(redraw, sizeof redraw, "lde report %s --db %s --out %s", p->experiment, db, out);
    char prov[1024];
    snprintf(prov, sizeof prov, "lde %s, git %s, host %s, %d threads, BLAS %s",
             si.prov.lde_version[0] ? si.prov.lde_version : "-",
             si.prov.git_rev[0] ? si.prov.git_rev : "-", si.prov.host[0] ? si.prov.host : "-",
             si.prov.threads, si.prov.blas[0] ? si.prov.blas : "-");
    fputs("<p class=meta>Config <code>", h);
    esc(h, p->config);
    fprintf(h,
            "</code> · %d run%s, %d done · compute %s (the runs' wall times), %s in this "
            "<code>lde paper</code><br>Redraw: <code>",
            si.runs, si.runs == 1 ? "" : "s", si.done, comp, wall);
    esc(h, redraw);
    fputs("</code><br>Provenance: ", h);
    esc(h, prov);
    fputs("</p>\n", h);
    fprintf(m,
            "Config `%s` · %d run%s, %d done · compute %s (the runs' wall times), %s in this "
            "`lde paper`  \nRedraw: `%s`  \nProvenance: %s\n\n",
            p->config, si.runs, si.runs == 1 ? "" : "s", si.done, comp, wall, redraw, prov);
    ResultTable t;
    if (section_table(s, &x, &t) == 0) {
        fputs("<p class=meta>", h);
        esc(h, t.title);
        fputs("; click a header to sort.</p>\n", h);
        html_table(h, &t);
        fprintf(m, "%s.\n\n", t.title);
        restable_print(&t, RT_MARKDOWN, m);
        fputc('\n', m);
        restable_free(&t);
    }
    for (int i = 0; p->figs && i < p->figs->n; i++) {
        char png[4400];
        snprintf(png, sizeof png, "%s/%s.png", p->dir, p->figs->stem[i]);
        fputs("<figure><img alt=\"", h);
        esc(h, p->figs->caption[i]);
        fputs("\" src=\"data:image/png;base64,", h);
        base64_file(h, png);
        fputs("\"><figcaption>", h);
        esc(h, p->figs->caption[i]);
        fputs("</figcaption></figure>\n", h);
        /* index.md sits in out/, the figures in out/EXPERIMENT/ */
        const char *rel = strrchr(p->dir, '/');
        fprintf(m, "![%s](%s/%s.png)\n\n*%s*\n\n", p->figs->caption[i], rel ? rel + 1 : p->dir,
                p->figs->stem[i], p->figs->caption[i]);
    }
    fputs("<details><summary>config</summary><pre>", h);
    esc(h, si.yaml);
    fputs("</pre></details>\n", h);
    fprintf(m, "<details><summary>config</summary>\n\n```yaml\n%s```\n\n</details>\n\n",
            si.yaml ? si.yaml : "");
    free(si.yaml);
    expdata_free(&x);
}

int paperpage_write(Store *s, const char *db, const char *out, const PaperSection *sec, int n,
                    const Finding *fd, int nf, Err *e) {
    char hp[4200], mp[4200], now[32];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(hp, sizeof hp, "%s/index.html", out);
    snprintf(mp, sizeof mp, "%s/index.md", out);
    AtomicFile ah, am;
    int rc = atomic_open(&ah, hp, e);
    if (rc) return rc;
    if ((rc = atomic_open(&am, mp, e))) {
        atomic_abort(&ah);
        return rc;
    }
    html_head(ah.f, db, now);
    fprintf(am.f,
            "# The papers' tables and figures, regenerated by lde\n\nWritten by `lde "
            "paper` (lde %s, git %s) from `%s` on %s.\n\n",
            lde_version, lde_git_rev, db, now);
    findings_html(ah.f, fd, nf);
    findings_md(am.f, fd, nf);
    const char *paper = NULL;
    for (int i = 0; i < n; i++) {
        if (!paper || strcmp(paper, sec[i].paper) != 0) {
            paper = sec[i].paper;
            fputs("<h2>", ah.f);
            esc(ah.f, paper);
            fputs("</h2>\n", ah.f);
            fprintf(am.f, "## %s\n\n", paper);
        }
        section(s, db, out, &sec[i], ah.f, am.f);
    }
    fprintf(ah.f, "<script>%s</script>\n</body></html>\n", JS);
    if ((rc = atomic_commit(&ah, e))) {
        atomic_abort(&am);
        return rc;
    }
    return atomic_commit(&am, e);
}
