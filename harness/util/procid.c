/* procid.c — see procid.h. */
#include "util/procid.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Field 22 of /proc/PID/stat (starttime), 0 when unreadable; *found = 0 when the
 * process does not exist. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted after its last ')'. */
static unsigned long long start_ticks(long pid, int *found) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    *found = 1;
    if (!f) {
        /* No /proc at all: fall back to signal 0 (exists or not, no start time). */
        *found =
            access("/proc/self/stat", F_OK) == 0 ? 0 : !(kill((pid_t)pid, 0) && errno == ESRCH);
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    if (!p) return 0;
    /* after ") " come fields 3, 4, ...: skip 19 of them to reach field 22 */
    for (int field = 3; field < 22 && p; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void host_name(char *host, size_t n) {
    if (gethostname(host, n - 1) != 0) snprintf(host, n, "unknown");
    host[n - 1] = 0;
}

void procid_self(char *buf, size_t n) {
    char host[256];
    host_name(host, sizeof host);
    int found;
    long pid = (long)getpid();
    snprintf(buf, n, "%s:%ld:%llu", host, pid, start_ticks(pid, &found));
}

long procid_pid(const char *token) {
    const char *c2 = token ? strrchr(token, ':') : NULL;
    if (!c2 || c2 == token) return 0;
    const char *c1 = c2 - 1;
    while (c1 > token && *c1 != ':') c1--;
    return *c1 == ':' ? strtol(c1 + 1, NULL, 10) : 0;
}

int procid_alive(const char *token) {
    const char *c2 = token ? strrchr(token, ':') : NULL;
    if (!c2 || c2 == token) return -1;
    const char *c1 = c2 - 1;
    while (c1 > token && *c1 != ':') c1--;
    if (*c1 != ':') return -1;
    char host[256];
    host_name(host, sizeof host);
    if ((size_t)(c1 - token) != strlen(host) || strncmp(token, host, strlen(host)) != 0) return -1;
    long pid = strtol(c1 + 1, NULL, 10);
    unsigned long long start = strtoull(c2 + 1, NULL, 10);
    int found;
    unsigned long long now = start_ticks(pid, &found);
    if (pid <= 0 || !found) return 0;
    return start == 0 || now == 0 || now == start;
}
