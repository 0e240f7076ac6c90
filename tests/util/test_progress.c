/* test_progress.c — durations read as a person writes them, and nothing is redrawn
 * when stderr is not a terminal (as under tests/run-tests, which logs to a file). */
#include "tests/unit.h"
#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_durations_are_formatted_for_people(void) {
    char b[16];
    progress_format_duration(42.9, b, sizeof b);
    CHECK(strcmp(b, "42s") == 0);
    progress_format_duration(185, b, sizeof b);
    CHECK(strcmp(b, "3m05s") == 0);
    progress_format_duration(3720, b, sizeof b);
    CHECK(strcmp(b, "1h02m") == 0);
    progress_format_duration(-1, b, sizeof b);
    CHECK(strcmp(b, "0s") == 0);
}

static void test_no_bar_without_a_terminal(void) {
    if (isatty(STDERR_FILENO)) return; /* the property is about non-terminals */
    Progress p;
    progress_begin(&p, "train", 10);
    progress_update(&p, 5, "half");
    CHECK(p.tty == 0 && p.shown == 0);
    progress_end(&p);
    CHECK(progress_elapsed(&p) >= 0.0);
}

/* The process's age: positive, at most the time since boot, and it grows by a
 * sleep of 0.3 s (between 0.25 and 5 s, /proc's ticks are 10 ms). */
static void test_process_seconds_count_from_the_process_start(void) {
    double a = progress_process_seconds();
    usleep(300000);
    double b = progress_process_seconds();
    CHECK(a >= 0 && a < 3600);
    if (CHECK(b - a > 0.25 && b - a < 5)) fprintf(stderr, "  %.3f then %.3f\n", a, b);
}

int main(int argc, char **argv) {
    static const struct unit_test tests[] = {
        UNIT(test_durations_are_formatted_for_people),
        UNIT(test_no_bar_without_a_terminal),
        UNIT(test_process_seconds_count_from_the_process_start),
    };
    return unit_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv) ? 1 : 0;
}
