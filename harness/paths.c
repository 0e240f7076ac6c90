/* paths.c — see paths.h. */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int make_dirs(const char *path, Err *e) {
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

int make_parent_dirs(const char *file, Err *e) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return LDE_OK;
    *slash = 0;
    return make_dirs(dir, e);
}
