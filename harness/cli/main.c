/* main.c — the `lde` command line: dispatches to the subcommands of commands.h,
 * prints their error message and exits with their code (0 ok, 1 a run failed,
 * 2 bad input). */
#include "cli/commands.h"
#include "flows/blas.h"
#include "flows/conv2d_onednn.h"
#include "util/filedigest.h"
#include "util/waitpolicy.h"

#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The commands, in the order `lde --help` lists them; NULL ends the list. */
static const Command *const commands[] = {
    &cmd_run,      &cmd_plan,      &cmd_status, &cmd_plot,     &cmd_table, &cmd_report,
    &cmd_paper,    &cmd_baselines, &cmd_score,  &cmd_features, &cmd_slurm, &cmd_merge,
    &cmd_datasets, &cmd_inspect,   &cmd_bench,  NULL,
};

/* True when argv holds -h or --help: every command answers it with its usage. */
static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    }
    return 0;
}

static void print_help(FILE *f) {
    fprintf(f, "lde %s — latent density estimation for out-of-distribution detection\n\n",
            lde_version);
    fprintf(f, "usage: lde COMMAND [options]    (lde COMMAND --help for its options)\n\n");
    fprintf(f, "commands:\n");
    for (int i = 0; commands[i]; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nexit codes: 0 success, 1 a run failed, 2 bad input\n");
}

/* OpenBLAS picks its kernels from the CPU's family and model; one it does not know
 * gets the generic "Prescott" (SSE3) kernels. Debian 12's OpenBLAS 0.3.21 does not
 * know Intel's Xeon model 207 (Emerald Rapids), on which this project's machines
 * run: a 128×25088×576 SGEMM ran at ~40 GFLOP/s with Prescott kernels against
 * ~300 with SkylakeX's. When the user has not chosen (OPENBLAS_CORETYPE unset) and
 * OpenBLAS fell back although the CPU has AVX-512 (or AVX2), lde re-executes itself
 * with the matching kernels, as for the wait policy. The choice is printed by
 * `lde --version` and recorded in every run's provenance (its blas column). */
static int prefer_known_kernels(void) {
    if (getenv("OPENBLAS_CORETYPE") || strcasecmp(openblas_get_corename(), "prescott") != 0)
        return 0;
    __builtin_cpu_init();
    const char *core = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : NULL;
    return core && setenv("OPENBLAS_CORETYPE", core, 1) == 0;
}

/* The wait policy (util/waitpolicy.h) and the kernels are read once, before main,
 * by libgomp and OpenBLAS: a change needs a new process image. If the re-exec
 * fails, lde goes on as it is. */
static void reexec_if_needed(char **argv) {
    int a = waitpolicy_choose(omp_get_max_threads(), (int)sysconf(_SC_NPROCESSORS_ONLN));
    int b = prefer_known_kernels();
    if (a || b) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv) {
    reexec_if_needed(argv);
    /* Past a file size limit (ulimit -f, RLIMIT_FSIZE) a write fails with EFBIG
     * instead of killing lde, so a full disk and a size limit both end in the
     * same one-line "no space" error with the database consistent (issue 20). */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        print_help(stderr);
        return LDE_EINPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return LDE_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        /* The BLAS line names OpenBLAS's kernel family (Haswell, SkylakeX, ...): the
         * one thing that moves every speed figure of `lde bench` by 1.5x. */
        const char *core = getenv("OPENBLAS_CORETYPE");
        char wait[128];
        printf("lde %s (git %s)\nOpenMP: %d threads, waiting: %s\nBLAS: %s%s%s%s\n"
               "Convolutions (conv: onednn): %s\n",
               lde_version, lde_git_rev, omp_get_max_threads(),
               waitpolicy_describe(wait, sizeof wait), openblas_get_config(),
               core ? " (OPENBLAS_CORETYPE=" : "", core ? core : "", core ? ")" : "",
               conv2d_onednn_describe());
        return LDE_OK;
    }
    for (int i = 0; commands[i]; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0) continue;
        if (wants_help(argc - 1, argv + 1)) {
            fputs(commands[i]->usage, stdout);
            return LDE_OK;
        }
        Err e = {{0}};
        int rc = commands[i]->run(argc - 1, argv + 1, &e);
        if (rc != LDE_OK) fprintf(stderr, "lde %s: %s\n", argv[1], e.msg[0] ? e.msg : "failed");
        /* The digests hashed by this command, for the next one (bad input writes
         * nothing); a cache that cannot be written only costs a re-read. */
        Err ce = {{0}};
        if (rc != LDE_EINPUT && filedigest_flush(&ce) != LDE_OK)
            fprintf(stderr, "warning: %s\n", ce.msg);
        return rc;
    }
    fprintf(stderr, "lde: unknown command '%s' (lde --help lists the commands)\n", argv[1]);
    return LDE_EINPUT;
}
