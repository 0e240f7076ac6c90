/* commands.h — the subcommands of `lde`.
 *
 * Each command lives in the cli/ file named after it (plan_cmd.c, plot_cmd.c,
 * baselines_cmd.c where a subsystem has the plain name) and exports one Command.
 * run() gets argv with argv[0] = the command name; it returns LDE_OK or an exit
 * code from err.h with e->msg filled, and main() prints the message. */
#ifndef LDE_COMMANDS_H
#define LDE_COMMANDS_H

#include "util/err.h"
#include "util/version.h"

typedef struct {
    const char *name;
    const char *summary; /* one line, for `lde --help` */
    const char *usage;   /* the full text, for `lde NAME --help` */
    int (*run)(int argc, char **argv, Err *e);
} Command;

extern const Command cmd_run;
extern const Command cmd_plan;
extern const Command cmd_status;
extern const Command cmd_plot;
extern const Command cmd_table;
extern const Command cmd_report;
extern const Command cmd_paper;
extern const Command cmd_baselines;
extern const Command cmd_score;
extern const Command cmd_features;
extern const Command cmd_slurm;
extern const Command cmd_merge;
extern const Command cmd_datasets;
extern const Command cmd_inspect;
extern const Command cmd_bench;

#endif
