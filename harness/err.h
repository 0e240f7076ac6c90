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

#endif
