/* err.h — how harness functions report failure.
 *
 * A function that can fail returns an int: LDE_OK, or the exit code main() should
 * use (LDE_EINPUT for bad input: config, files, arguments; LDE_ERUN for a run that
 * failed). It writes one line into an Err naming the file (and line:column, row or
 * shape) and what was expected. Library code never calls exit() and never prints
 * an error itself; main() prints e.msg and picks the exit code. */
#ifndef LDE_ERR_H
#define LDE_ERR_H

enum { LDE_OK = 0, LDE_ERUN = 1, LDE_EINPUT = 2 };

typedef struct {
    char msg[1024];
} Err;

/* Formats the message into e (truncating if needed) and returns code, so a caller
 * writes `return fail(e, LDE_EINPUT, "%s: ...", path);`. */
int fail(Err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The static analyser (make lint) cannot see that fail returns its `code` argument,
 * so after `rc = fail(e, LDE_ERUN, ...)` it explores rc == LDE_OK too; this spells
 * the return value out for it. err.c defines the function as (fail). */
#ifdef __clang_analyzer__
#define fail(e, code, ...) (fail((e), (code), __VA_ARGS__), (code))
#endif

#endif
