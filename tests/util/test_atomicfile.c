/* test_atomicfile.c — a committed write replaces the file whole; an aborted or
 * failed one leaves the old file and no temporary behind. */
#include "tests/unit.h"
#include "util/atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static void read_all(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = 0;
    if (f) fclose(f);
}

static void test_atomic_commit_replaces_and_abort_keeps_old(void) {
    char path[512], buf[64];
    snprintf(path, sizeof path, "%s/a.txt", unit_tmpdir());
    AtomicFile a;
    Err e;
    CHECK(atomic_open(&a, path, &e) == LDE_OK);
    fputs("first", a.f);
    CHECK(atomic_commit(&a, &e) == LDE_OK);
    CHECK(atomic_open(&a, path, &e) == LDE_OK);
    fputs("second, never committed", a.f);
    atomic_abort(&a);
    read_all(path, buf, sizeof buf);
    CHECK(strcmp(buf, "first") == 0);
    CHECK(count_entries(unit_tmpdir()) == 1);
}

static void test_atomic_open_names_missing_directory(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/x.npy", unit_tmpdir());
    AtomicFile a;
    Err e = {{0}};
    CHECK(atomic_open(&a, path, &e) == LDE_ERUN);
    CHECK(strstr(e.msg, "no/such/dir/x.npy") != NULL);
}

/* A write refused for want of room names the file and says "no space" (issue
 * 20); any other failure keeps the system's words. */
static void test_atomic_write_failed_says_no_space(void) {
    Err e = {{0}};
    CHECK(atomic_write_failed(&e, "m/x.flow", ENOSPC) == LDE_ERUN);
    CHECK(strstr(e.msg, "m/x.flow: no space left on the device") == e.msg);
    CHECK(atomic_write_failed(&e, "m/x.flow", EFBIG) == LDE_ERUN && strstr(e.msg, "no space"));
    CHECK(atomic_write_failed(&e, "m/x.flow", EIO) == LDE_ERUN && !strstr(e.msg, "no space") &&
          strstr(e.msg, "m/x.flow: write failed"));
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_atomic_commit_replaces_and_abort_keeps_old),
        UNIT(test_atomic_open_names_missing_directory),
        UNIT(test_atomic_write_failed_says_no_space),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
