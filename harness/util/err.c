/* err.c — see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

/* (fail): the name in parentheses is never the analyser-only macro of err.h. */
int(fail)(Err *e, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* Messages quote bytes from the input (a key, a quoted YAML value holding a
     * newline, a file name); a control character there must not break the one-line
     * contract or the terminal. */
    for (char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return code;
}
