/* err.c — see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int(fail)(Err *e, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}
