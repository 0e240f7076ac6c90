/* err.h — how harness functions report failure.
 *
 * A function that can fail returns an int: LDE_OK, or the exit code main() should
 * use (LDE_EINPUT for bad input: config, files, arguments; LDE_ERUN for a run that
 * failed). It writes one line into an Err naming the file (and line:column, row or
 * shape) and what was expected. Library code never calls exit() and never prints
 * an error itself; main() prints e.msg and picks the exit code. fail() replaces
 * control characters (newlines, tabs) quoted from the input by spaces, so a
 * message is always one line. */
#ifndef LDE_ERR_H
#define LDE_ERR_H

enum { LDE_OK = 0, LDE_ERUN = 1, LDE_EINPUT = 2 };

typedef struct {
    char msg[1024];
} Err;

/* Formats the message into e (truncating if needed) and returns code, so a caller
 * writes `return fail(e, LDE_EINPUT, "%s: ...", path);`. */
int fail(Err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifdef __clang_analyzer__
/* For clang-tidy's analyser only (make lint): it sees one file at a time, so without
 * this it assumes fail() may return LDE_OK and then reports uses of what a failed
 * call left unset after `rc = fail(...)`. Here it sees that fail returns its code. */
void err_format(Err *e, const char *fmt, ...);
#define fail(e, code, ...) (err_format((e), __VA_ARGS__), (code))
#endif

#endif
