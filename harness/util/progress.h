/* progress.h — progress reports for long commands (`lde features`, `lde run`).
 *
 * On a terminal (stderr is a tty) one line is redrawn in place: a bar, the
 * percentage, the elapsed time, the ETA (elapsed × remaining / done) and a short
 * note. Elsewhere (a log file, a pipe, CI) nothing is redrawn: callers print one
 * line per milestone with progress_line, which writes on both. Output goes to
 * stderr so stdout stays a clean summary. */
#ifndef LDE_PROGRESS_H
#define LDE_PROGRESS_H

typedef struct {
    char label[64];
    long total;
    double t0;    /* start, seconds (omp_get_wtime) */
    double drawn; /* when the bar was last drawn: redraws are capped at 10 per second */
    int tty;      /* stderr is a terminal */
    int shown;    /* a bar is on screen and must be cleared before a line */
} Progress;

/* Starts a report of `total` units named label. */
void progress_begin(Progress *p, const char *label, long total);

/* done of total units are finished; note is a short text (may be NULL). Draws the
 * bar on a terminal, nothing otherwise. */
void progress_update(Progress *p, long done, const char *note);

/* Prints one full line on stderr (clearing a bar first); printf-style. */
void progress_line(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the bar. */
void progress_end(Progress *p);

/* Seconds since this process started (Linux /proc/self/stat, 10 ms steps), or -1
 * when it cannot be read: how long a command took to reach a point (lde run's first
 * training step, issue 18). */
double progress_process_seconds(void);

/* Seconds since progress_begin. */
double progress_elapsed(const Progress *p);

/* "1h02m", "3m05s" or "42s" for seconds s (rounded down) into buf (n >= 16). */
void progress_format_duration(double s, char *buf, int n);

#endif
