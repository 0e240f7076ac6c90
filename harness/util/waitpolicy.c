/* waitpolicy.c — see waitpolicy.h. */
#include "util/waitpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int waitpolicy_running(const char *proc_stat) {
    for (const char *line = proc_stat; line && *line;) {
        if (strncmp(line, "procs_running ", 14) == 0) {
            char *end;
            long n = strtol(line + 14, &end, 10);
            return end == line + 14 || n < 0 || n > 1000000 ? -1 : (int)n;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return -1;
}

int waitpolicy_spin(int min_running, int threads, int cpus) {
    if (min_running < 1 || threads < 1 || cpus < 1) return 0;
    /* min_running counts this process once; its other threads are not running yet. */
    return (min_running - 1) + threads <= cpus;
}

/* The fewest tasks running over 5 reads of /proc/stat 2 ms apart: a task that runs
 * for a moment (the shell that started lde, a timer) is not load. Read line by line:
 * its "intr" line alone runs to tens of kilobytes on a large machine. -1 without
 * /proc. */
static int fewest_running(void) {
    int fewest = -1;
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < 5; i++) {
        FILE *f = fopen("/proc/stat", "r");
        if (!f) break;
        int r = -1;
        while (r < 0 && getline(&line, &cap, f) > 0) r = waitpolicy_running(line);
        fclose(f);
        if (r >= 0 && (fewest < 0 || r < fewest)) fewest = r;
        if (i < 4) nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    free(line);
    return fewest;
}

int waitpolicy_choose(int threads, int cpus) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return 0;
    if (waitpolicy_spin(fewest_running(), threads, cpus)) {
        char v[16];
        snprintf(v, sizeof v, "%d", WAIT_SPINCOUNT);
        return setenv("GOMP_SPINCOUNT", v, 1) == 0;
    }
    return setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
}

const char *waitpolicy_describe(char *buf, int n) {
    const char *policy = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    if (policy && spin)
        snprintf(buf, (size_t)n, "OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s", policy, spin);
    else if (policy)
        snprintf(buf, (size_t)n, "OMP_WAIT_POLICY=%s", policy);
    else if (spin)
        snprintf(buf, (size_t)n, "spin %s then sleep (GOMP_SPINCOUNT=%s)", spin, spin);
    else
        snprintf(buf, (size_t)n, "libgomp's default");
    return buf;
}
