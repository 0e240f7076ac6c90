/* paths.c — see paths.h. */
#include "util/paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int paths_mkdirs(const char *path, Err *e) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return fail(e, LDE_ERUN, "%s: cannot create directory: %s", buf, strerror(errno));
        if (!c) return LDE_OK;
        *p = c;
    }
}

void paths_dirname(const char *path, char *out, size_t n) {
    snprintf(out, n, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash && slash != out)
        *slash = 0;
    else if (slash)
        snprintf(out, n, "/");
    else
        snprintf(out, n, ".");
}
