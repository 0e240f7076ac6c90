/* cliopt.c — see cliopt.h. */
#include "cli/cliopt.h"

#include <string.h>

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value, int *rc, Err *e) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != 0) return 0;
    if (*i + 1 == argc) {
        *rc = fail(e, LDE_EINPUT, "%s needs a value", name);
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_flag(char **argv, int i, const char *name, int *flag) {
    if (strcmp(argv[i], name) != 0) return 0;
    *flag = 1;
    return 1;
}

int cli_experiment(const char *arg, const char *cmd, const char **experiment, Err *e) {
    if (arg[0] == '-') return fail(e, LDE_EINPUT, "unknown option '%s' (lde %s --help)", arg, cmd);
    if (*experiment)
        return fail(e, LDE_EINPUT, "one EXPERIMENT at most, got '%s' and '%s'", *experiment, arg);
    *experiment = arg;
    return LDE_OK;
}
