/* cliopt.h — the one option form the read-only commands accept: `--name VALUE` or
 * `--name=VALUE`. */
#ifndef LDE_CLIOPT_H
#define LDE_CLIOPT_H

#include "util/err.h"

/* When argv[*i] is option `name` ("--db"), stores its value in *value, advances *i
 * past it and returns 1; a missing value is LDE_EINPUT in *rc. Returns 0 when
 * argv[*i] is another argument. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value, int *rc, Err *e);

/* 1 (and *flag = 1) when argv[i] is the flag `name` ("--all"), else 0. */
int cli_flag(char **argv, int i, const char *name, int *flag);

/* Any other argument of command `cmd` ("plot"): an unknown option, or the one
 * EXPERIMENT it takes (stored in *experiment). Returns LDE_OK or LDE_EINPUT. */
int cli_experiment(const char *arg, const char *cmd, const char **experiment, Err *e);

#endif
