/* unit.h — the smallest test harness that does the job.
 *
 * A test file defines `static void test_name(void)` functions, lists them in a
 * `struct unit_test` array and calls unit_main() from main(). CHECK* record a
 * failure (with file:line and the values) and carry on: they never return or jump,
 * so a test reads as straight-line code. unit_main prints one line per test,
 * "PASS name" or "FAIL name", which tests/run-tests counts. */
#ifndef LDE_UNIT_H
#define LDE_UNIT_H

struct unit_test {
    const char *name;
    void (*fn)(void);
};

/* Returns 0 when cond holds; otherwise prints what failed and marks the test failed. */
int unit_check(int cond, const char *expr, const char *file, int line);
/* |a - b| <= tol, printing both values on failure. */
int unit_check_near(double a, double b, double tol, const char *expr, const char *file, int line);

#define CHECK(cond)           unit_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol) unit_check_near((a), (b), (tol), #a " ~ " #b, __FILE__, __LINE__)

/* One row of a test table: UNIT(test_name) gives {"test_name", test_name}. */
#define UNIT(fn)                                                                                   \
    { #fn, fn }

/* Runs every test (or those whose name contains argv[1]); returns the number failed. */
int unit_main(const struct unit_test *tests, int n, int argc, char **argv);

/* A fresh empty directory for this test process (removed at exit). */
const char *unit_tmpdir(void);

/* Calls fn(path) for every file in dir not starting with '.', in name order (a fuzz
 * corpus, a bad-input suite); returns how many, or -1 when dir cannot be read. */
int unit_each_file(const char *dir, void (*fn)(const char *path));

#endif
