/* test_waitpolicy.c — how lde's idle threads wait: the running-task count read from
 * /proc/stat text, the spin-or-sleep decision, and that a user's choice is kept. */
#include "tests/unit.h"
#include "util/waitpolicy.h"

#include <stdlib.h>
#include <string.h>

static void test_running_is_read_from_proc_stat(void) {
    CHECK(waitpolicy_running("cpu  1 2 3\nctxt 99\nprocs_running 3\nprocs_blocked 0\n") == 3);
    CHECK(waitpolicy_running("procs_running 1\n") == 1);
    /* procs_blocked is not procs_running, and a line must start with the name */
    CHECK(waitpolicy_running("procs_blocked 4\nxprocs_running 2\n") == -1);
    CHECK(waitpolicy_running("procs_running x\n") == -1);
    CHECK(waitpolicy_running("") == -1);
    CHECK(waitpolicy_running(NULL) == -1);
}

/* Spin only when each thread has a core nothing else runs on: this process counts
 * once among the running tasks. */
static void test_spin_only_with_a_free_core_per_thread(void) {
    CHECK(waitpolicy_spin(1, 2, 2) == 1); /* only lde runs: both cores free */
    CHECK(waitpolicy_spin(2, 2, 2) == 0); /* one other task on 2 cores */
    CHECK(waitpolicy_spin(2, 1, 2) == 1); /* one thread beside one task */
    CHECK(waitpolicy_spin(9, 2, 2) == 0); /* 8 busy processes */
    CHECK(waitpolicy_spin(11, 16, 32) == 1);
    CHECK(waitpolicy_spin(-1, 2, 2) == 0); /* no /proc: passive */
    CHECK(waitpolicy_spin(1, 0, 2) == 0);
}

/* A policy the user set is kept and nothing is re-executed; unset, one of the two is
 * chosen (which one depends on the machine's load as the test runs). */
static void test_choose_keeps_the_users_choice(void) {
    char buf[128];
    unsetenv("GOMP_SPINCOUNT");
    setenv("OMP_WAIT_POLICY", "active", 1);
    CHECK(waitpolicy_choose(2, 2) == 0);
    CHECK(strcmp(getenv("OMP_WAIT_POLICY"), "active") == 0);
    CHECK(getenv("GOMP_SPINCOUNT") == NULL);
    CHECK(strcmp(waitpolicy_describe(buf, sizeof buf), "OMP_WAIT_POLICY=active") == 0);
    unsetenv("OMP_WAIT_POLICY");
    setenv("GOMP_SPINCOUNT", "123", 1);
    CHECK(waitpolicy_choose(2, 2) == 0);
    CHECK(strcmp(waitpolicy_describe(buf, sizeof buf),
                 "spin 123 then sleep (GOMP_SPINCOUNT=123)") == 0);
    unsetenv("GOMP_SPINCOUNT");
    CHECK(waitpolicy_choose(2, 2) == 1);
    const char *spin = getenv("GOMP_SPINCOUNT"), *policy = getenv("OMP_WAIT_POLICY");
    CHECK((spin && !policy && atoi(spin) == WAIT_SPINCOUNT) ||
          (!spin && policy && strcmp(policy, "passive") == 0));
    /* with more threads than the machine has cores, never spin */
    unsetenv("GOMP_SPINCOUNT"), unsetenv("OMP_WAIT_POLICY");
    CHECK(waitpolicy_choose(1000, 2) == 1);
    CHECK(getenv("GOMP_SPINCOUNT") == NULL);
    CHECK(strcmp(waitpolicy_describe(buf, sizeof buf), "OMP_WAIT_POLICY=passive") == 0);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_running_is_read_from_proc_stat),
        UNIT(test_spin_only_with_a_free_core_per_thread),
        UNIT(test_choose_keeps_the_users_choice),
    };
    return unit_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}
