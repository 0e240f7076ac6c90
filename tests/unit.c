/* unit.c — see unit.h. */
#include "tests/unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int current_failed;
static char tmpdir[256];

int unit_check(int cond, const char *expr, const char *file, int line) {
    if (cond) return 0;
    fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", file, line, expr);
    current_failed = 1;
    return 1;
}

int unit_check_near(double a, double b, double tol, const char *expr, const char *file, int line) {
    double diff = a > b ? a - b : b - a;
    if (diff <= tol) return 0; /* NaN compares false and falls through to failure */
    fprintf(stderr, "  %s:%d: %s: %.9g vs %.9g (|diff| %.3g > tol %.3g)\n", file, line, expr, a, b,
            diff, tol);
    current_failed = 1;
    return 1;
}

static void remove_tmpdir(void) {
    if (!tmpdir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *unit_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/lde-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

int unit_each_file(const char *dir, void (*fn)(const char *path)) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), count = 0;
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            fn(path);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int unit_main(const struct unit_test *tests, int n, int argc, char **argv) {
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        current_failed = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        printf("%s %s (%.2fs)\n", current_failed ? "FAIL" : "PASS", tests[i].name, s);
        fflush(stdout);
        failed += current_failed;
    }
    return failed;
}
