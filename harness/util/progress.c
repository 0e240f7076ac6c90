/* progress.c — see progress.h. */
#include "util/progress.h"

#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BAR_WIDTH = 30 };

void progress_begin(Progress *p, const char *label, long total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->t0 = omp_get_wtime();
    p->drawn = -1.0;
    p->tty = isatty(STDERR_FILENO);
}

double progress_process_seconds(void) {
    /* Field 22 of /proc/self/stat: the start in clock ticks since boot (proc(5)). */
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    /* Fields from 3 (the state) follow ") "; skip 19 of them to reach field 22. */
    for (int k = 0; p && k < 20; k++) p = strchr(p + 1, ' ');
    if (!p) return -1;
    char *end;
    unsigned long long start = strtoull(p + 1, &end, 10);
    if (end == p + 1) return -1;
    struct timespec t;
    clock_gettime(CLOCK_BOOTTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec -
           (double)start / (double)sysconf(_SC_CLK_TCK);
}

double progress_elapsed(const Progress *p) {
    return omp_get_wtime() - p->t0;
}

void progress_format_duration(double s, char *buf, int n) {
    long t = s > 0 ? (long)s : 0;
    if (t >= 3600)
        snprintf(buf, (size_t)n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, (size_t)n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, (size_t)n, "%lds", t);
}

void progress_update(Progress *p, long done, const char *note) {
    if (!p->tty) return;
    double now = omp_get_wtime();
    if (done < p->total && now - p->drawn < 0.1) return;
    p->drawn = now;
    double frac = (double)done / (double)p->total, el = now - p->t0;
    int fill = (int)(frac * BAR_WIDTH);
    char bar[BAR_WIDTH + 1], elapsed[16], eta[16];
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    progress_format_duration(el, elapsed, sizeof elapsed);
    if (done > 0)
        progress_format_duration(el * (double)(p->total - done) / (double)done, eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "?");
    fprintf(stderr, "\r\033[K%s [%s] %3d%%  %s  ETA %s  %s", p->label, bar, (int)(100 * frac),
            elapsed, eta, note ? note : "");
    fflush(stderr);
    p->shown = 1;
}

void progress_end(Progress *p) {
    if (p->shown) fprintf(stderr, "\r\033[K");
    p->shown = 0;
}

void progress_line(Progress *p, const char *fmt, ...) {
    progress_end(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
