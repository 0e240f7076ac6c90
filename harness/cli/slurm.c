/* slurm.c — `lde slurm CONFIG`: the points of a grid not yet done, handed to Slurm
 * as one job array (issue 9). lde does no scheduling of its own: each array task is
 * `lde run CONFIG --runs LIST --shard K/N` into its own database (shard.h), and the
 * shards are merged into the main database afterwards (merge.h).
 *
 * Before it submits, it merges and removes the shards of an earlier submission
 * (refusing while that array is still queued or running), records the experiment
 * in the main database, and builds the built-in features once (the feature cache's
 * lock would serialise tasks anyway, but N tasks waiting for one build waste N
 * allocations). The run list it writes freezes which points the array computes:
 * the points not done in the main database, in plan order, so a resubmission after
 * failures computes exactly the missing points.
 *
 * Files, under the folder of the main database (results/ by default):
 *   slurm/<experiment>/job.sh           the sbatch script (rewritten atomically)
 *   slurm/<experiment>/runs-<hash>.txt  the run list of a submission
 *   slurm/<experiment>/job_id           the last array's job id
 *   slurm/<experiment>/<job>_<task>.out each task's output
 *   shards/<experiment>-<task>.db       each task's database */
#include "cli/commands.h"
#include "cli/merge.h"
#include "config/config.h"
#include "config/plan.h"
#include "run/featureset.h"
#include "run/runinputs.h"
#include "run/shard.h"
#include "store/store.h"
#include "util/atomicfile.h"
#include "util/filedigest.h"
#include "util/paths.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

extern char **environ;

static const char SLURM_USAGE[] =
    "usage: lde slurm CONFIG.yaml [--partition P] [--time HH:MM:SS] [--cpus-per-task C]\n"
    "                 [--mem M] [--parallel P] [--tasks N] [--account A]\n"
    "                 [--extra \"SBATCH ARGS\"] [--db PATH] [--dry-run] [--wait]\n"
    "\n"
    "Submits the points of CONFIG not done in the main database as one Slurm job\n"
    "array. Task K of N runs `lde run CONFIG --runs LIST --shard K/N`: the points K,\n"
    "K+N, K+2N, ... of LIST (the points not done at submission, in plan order) into\n"
    "its own database, shards/EXPERIMENT-K.db beside the main one. lde merge\n"
    "--experiment EXPERIMENT copies them into the main database; lde status shows the\n"
    "shards' progress meanwhile. Running lde slurm again merges what the last array\n"
    "finished and submits only the points still missing.\n"
    "\n"
    "  --partition P      sbatch --partition\n"
    "  --time T           sbatch --time, per task (e.g. 02:00:00 or 1-00:00:00)\n"
    "  --cpus-per-task C  sbatch --cpus-per-task; each task runs C threads\n"
    "  --mem M            sbatch --mem, per task (e.g. 8G)\n"
    "  --parallel P       at most P tasks at once (--array=0-(N-1)%P)\n"
    "  --tasks N          at most N tasks (default: one per point to do)\n"
    "  --account A        sbatch --account\n"
    "  --extra ARGS       more sbatch arguments, split at spaces\n"
    "  --db PATH          the main database (default results/lde.db)\n"
    "  --dry-run          write and print the job script; submit nothing\n"
    "  --wait             wait for the array to end, then merge its shards\n"
    "\n"
    "Writes results/slurm/EXPERIMENT/job.sh (and the task logs there). Prints the job\n"
    "id on stdout. exit: 0 submitted (with --wait: every point done), 1 sbatch failed\n"
    "or, with --wait, points left undone or conflicting, 2 bad input\n";

typedef struct {
    const char *config, *db, *partition, *time, *mem, *account, *extra;
    int cpus, parallel, tasks; /* 0 = not given */
    int dry_run, wait;
} SlurmArgs;

/* A positive whole number option. */
static int parse_count(const char *opt, const char *v, int *out, Err *e) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 1 || n > 1000000)
        return fail(e, LDE_EINPUT, "%s %s: expected a whole number from 1 to 1000000", opt, v);
    *out = (int)n;
    return LDE_OK;
}

/* A value that goes into an #SBATCH line, which sbatch splits at whitespace and
 * does not unquote: letters, digits and a few separators only. */
static int check_word(const char *opt, const char *v, const char *allowed, Err *e) {
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(allowed, *p))
            return fail(e, LDE_EINPUT, "%s '%s': unexpected character '%c'", opt, v, *p);
    if (!*v) return fail(e, LDE_EINPUT, "%s: empty value", opt);
    return LDE_OK;
}

static int parse_args(int argc, char **argv, SlurmArgs *a, Err *e) {
    *a = (SlurmArgs){.db = "results/lde.db"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--dry-run") == 0 || strcmp(o, "--wait") == 0) {
            *(o[2] == 'd' ? &a->dry_run : &a->wait) = 1;
            continue;
        }
        const char **slot = strcmp(o, "--partition") == 0 ? &a->partition
                            : strcmp(o, "--time") == 0    ? &a->time
                            : strcmp(o, "--mem") == 0     ? &a->mem
                            : strcmp(o, "--account") == 0 ? &a->account
                            : strcmp(o, "--extra") == 0   ? &a->extra
                            : strcmp(o, "--db") == 0      ? &a->db
                                                          : NULL;
        int *count = strcmp(o, "--cpus-per-task") == 0 ? &a->cpus
                     : strcmp(o, "--parallel") == 0    ? &a->parallel
                     : strcmp(o, "--tasks") == 0       ? &a->tasks
                                                       : NULL;
        if ((slot || count) && !v)
            return fail(e, LDE_EINPUT, "%s needs a value (lde slurm --help)", o);
        if (slot) {
            *slot = v, i++;
        } else if (count) {
            if (parse_count(o, v, count, e) != LDE_OK) return LDE_EINPUT;
            i++;
        } else if (o[0] == '-') {
            return fail(e, LDE_EINPUT, "unknown option %s (lde slurm --help)", o);
        } else if (a->config) {
            return fail(e, LDE_EINPUT, "one config at a time (got %s and %s)", a->config, o);
        } else {
            a->config = o;
        }
    }
    if (!a->config) return fail(e, LDE_EINPUT, "no config given (lde slurm CONFIG.yaml)");
    if (a->dry_run && a->wait)
        return fail(e, LDE_EINPUT, "--dry-run and --wait exclude each other");
    int rc = LDE_OK;
    if (a->partition) rc = check_word("--partition", a->partition, "_-.,", e);
    if (rc == LDE_OK && a->time) rc = check_word("--time", a->time, ":-", e);
    if (rc == LDE_OK && a->mem) rc = check_word("--mem", a->mem, "", e);
    if (rc == LDE_OK && a->account) rc = check_word("--account", a->account, "_-.", e);
    return rc;
}

/* ---- running Slurm's commands ---- */

/* Runs argv (searched in PATH) with stdout and stderr into out (n bytes, NUL-
 * terminated, truncated); *status is its exit status, 127 when it cannot start. */
static int capture(char *const argv[], char *out, size_t n, int *status, Err *e) {
    *status = 127;
    int fd[2];
    if (pipe(fd) != 0) return fail(e, LDE_ERUN, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    /* Read to the end, dropping what does not fit: a child blocked on a full pipe
     * would never exit. */
    size_t len = 0;
    ssize_t got;
    char rest[4096];
    for (;;) {
        int full = len == n - 1;
        got = full ? read(fd[0], rest, sizeof rest) : read(fd[0], out + len, n - 1 - len);
        if (got == 0 || (got < 0 && errno != EINTR)) break;
        if (got > 0 && !full) len += (size_t)got;
    }
    close(fd[0]);
    out[len] = 0;
    if (err) {
        *status = 127;
        snprintf(out, n, "%s: cannot run: %s", argv[0], strerror(err));
        return LDE_OK;
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
    return LDE_OK;
}

/* 1 when the array job id is still queued or running. squeue forgets a job some
 * minutes after its end ("Invalid job id"): that counts as ended. */
static int job_active(const char *job, int *active, Err *e) {
    char out[8192];
    int status, rc;
    for (int attempt = 0;; attempt++) {
        char *argv[] = {"squeue", "-h", "-j", (char *)job, "-o", "%i", NULL};
        if ((rc = capture(argv, out, sizeof out, &status, e)) != LDE_OK) return rc;
        if (status == 0 || strstr(out, "Invalid job id")) break;
        if (status == 127 || attempt == 10)
            return fail(e, LDE_ERUN, "squeue -j %s failed (exit %d): %.200s", job, status, out);
        sleep(3); /* the controller may be busy or restarting */
    }
    *active = status == 0 && out[strspn(out, " \n")] != 0;
    return LDE_OK;
}

/* ---- the files of a submission ---- */

typedef struct {
    char cwd[PATH_MAX], lde[PATH_MAX], config[PATH_MAX];
    char db[PATH_MAX + 64], shards[PATH_MAX + 64], dir[PATH_MAX + 128]; /* absolute */
    char runs[PATH_MAX + 256], script[PATH_MAX + 256], job_file[PATH_MAX + 256];
} Paths;

static int absolute(const char *cwd, const char *path, char *out, size_t n) {
    return snprintf(out, n, "%s%s%s", path[0] == '/' ? "" : cwd, path[0] == '/' ? "" : "/", path) >=
           (int)n;
}

/* Absolute paths of everything the tasks touch: they start in the submission's
 * folder (--chdir), but a job script that does not depend on it is easier to read
 * and to reuse. */
static int make_paths(const SlurmArgs *a, const char *experiment, Paths *p, Err *e) {
    if (!getcwd(p->cwd, sizeof p->cwd)) return fail(e, LDE_ERUN, "getcwd: %s", strerror(errno));
    ssize_t n = readlink("/proc/self/exe", p->lde, sizeof p->lde - 1);
    if (n < 0) return fail(e, LDE_ERUN, "/proc/self/exe: %s", strerror(errno));
    p->lde[n] = 0;
    if (!realpath(a->config, p->config))
        return fail(e, LDE_EINPUT, "%s: %s", a->config, strerror(errno));
    char dbdir[PATH_MAX];
    if (absolute(p->cwd, a->db, p->db, sizeof p->db))
        return fail(e, LDE_EINPUT, "%s: path too long", a->db);
    paths_dirname(p->db, dbdir, sizeof dbdir);
    shard_dir(p->db, p->shards, sizeof p->shards);
    snprintf(p->dir, sizeof p->dir, "%s/slurm/%s", dbdir, experiment);
    snprintf(p->script, sizeof p->script, "%s/job.sh", p->dir);
    snprintf(p->job_file, sizeof p->job_file, "%s/job_id", p->dir);
    const char *checked[] = {p->cwd, p->lde, p->config, p->db};
    for (size_t i = 0; i < sizeof checked / sizeof *checked; i++)
        if (strpbrk(checked[i], " \t\n'\"\\%"))
            return fail(e, LDE_EINPUT,
                        "%s: a path with spaces, quotes or %% cannot go into an #SBATCH line",
                        checked[i]);
    return LDE_OK;
}

/* The run list's name says what it holds: XXH3 of the ids, so an identical
 * resubmission reuses the file and a different one never overwrites a list that
 * tasks of a running array may still read. */
static void runs_path(Paths *p, const Plan *plan, const int *todo, int ntodo) {
    XXH3_state_t *h = XXH3_createState();
    XXH3_64bits_reset(h);
    for (int k = 0; k < ntodo; k++) XXH3_64bits_update(h, plan->runs[todo[k]].id, 32);
    snprintf(p->runs, sizeof p->runs, "%s/runs-%016llx.txt", p->dir,
             (unsigned long long)XXH3_64bits_digest(h));
    XXH3_freeState(h);
}

static int write_script(const SlurmArgs *a, const char *experiment, const Paths *p, int ntasks,
                        int npoints, Err *e) {
    AtomicFile f;
    int rc = atomic_open(&f, p->script, e);
    if (rc != LDE_OK) return rc;
    FILE *o = f.f;
    fprintf(o, "#!/bin/bash\n");
    fprintf(o, "# Written by lde slurm for experiment %s (the next lde slurm rewrites it).\n",
            experiment);
    fprintf(o, "# %d task(s) share %d point(s): task K runs the points K, K+N, K+2N, ... of\n",
            ntasks, npoints);
    fprintf(o, "# the run list (the points not done in %s at submission)\n", p->db);
    fprintf(o, "# into its own database %s/%s-K.db; lde merge --experiment %s\n", p->shards,
            experiment, experiment);
    fprintf(o, "# copies those into the main database.\n");
    fprintf(o, "#SBATCH --job-name=lde-%s\n", experiment);
    if (a->parallel)
        fprintf(o, "#SBATCH --array=0-%d%%%d\n", ntasks - 1, a->parallel);
    else
        fprintf(o, "#SBATCH --array=0-%d\n", ntasks - 1);
    fprintf(o, "#SBATCH --output=%s/%%A_%%a.out\n", p->dir);
    fprintf(o, "#SBATCH --chdir=%s\n", p->cwd);
    if (a->partition) fprintf(o, "#SBATCH --partition=%s\n", a->partition);
    if (a->time) fprintf(o, "#SBATCH --time=%s\n", a->time);
    if (a->cpus) fprintf(o, "#SBATCH --cpus-per-task=%d\n", a->cpus);
    if (a->mem) fprintf(o, "#SBATCH --mem=%s\n", a->mem);
    if (a->account) fprintf(o, "#SBATCH --account=%s\n", a->account);
    fprintf(o, "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n");
    fprintf(o, "exec %s run %s \\\n", p->lde, p->config);
    fprintf(o, "    --runs %s \\\n", p->runs);
    fprintf(o, "    --shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\" \\\n");
    fprintf(o, "    --db \"%s/%s-$SLURM_ARRAY_TASK_ID.db\"\n", p->shards, experiment);
    return atomic_commit(&f, e);
}

/* sbatch --parsable [EXTRA...] job.sh; the job id into job (n bytes). */
static int submit(const SlurmArgs *a, const Paths *p, char *job, size_t n, Err *e) {
    char extra[4096] = "";
    char *argv[64] = {"sbatch", "--parsable"};
    int argc = 2;
    snprintf(extra, sizeof extra, "%s", a->extra ? a->extra : "");
    for (char *save, *w = strtok_r(extra, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (argc == 60) return fail(e, LDE_EINPUT, "--extra: more than 57 arguments");
        argv[argc++] = w;
    }
    argv[argc++] = (char *)p->script;
    argv[argc] = NULL;
    char out[8192];
    int status, rc = capture(argv, out, sizeof out, &status, e);
    if (rc != LDE_OK) return rc;
    /* --parsable prints "JOBID" or "JOBID;CLUSTER" (after any warnings). */
    char *line = out, *last = NULL;
    for (char *save, *l = strtok_r(line, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) last = l;
    size_t digits = last ? strspn(last, "0123456789") : 0;
    if (status != 0 || !digits || (last[digits] && last[digits] != ';'))
        return fail(e, LDE_ERUN, "sbatch %s failed (exit %d): %.300s", p->script, status,
                    last ? last : "no output");
    snprintf(job, n, "%.*s", (int)digits, last);
    AtomicFile f;
    if ((rc = atomic_open(&f, p->job_file, e)) != LDE_OK) return rc;
    fprintf(f.f, "%s\n", job);
    return atomic_commit(&f, e);
}

/* ---- before submitting ---- */

/* The shards of the last array, merged and then removed, after checking that the
 * array is over. Conflicts stop the submission (exit 1), keeping the shards. */
static int collect_previous(const char *experiment, const Paths *p, Err *e) {
    FILE *f = fopen(p->job_file, "r");
    char job[64] = "";
    if (f) {
        if (!fgets(job, sizeof job, f)) job[0] = 0;
        fclose(f);
        job[strcspn(job, "\n")] = 0;
    }
    int active = 0, rc = job[0] ? job_active(job, &active, e) : LDE_OK;
    if (rc == LDE_OK && active)
        rc = fail(e, LDE_EINPUT,
                  "array job %s of %s is still queued or running (lde status shows its "
                  "progress; scancel %s to stop it)",
                  job, experiment, job);
    char **shards = NULL;
    int n = 0, conflicts = 0;
    if (rc == LDE_OK) rc = shard_find(p->shards, experiment, &shards, &n, e);
    if (rc == LDE_OK && n) rc = merge_shards(p->db, shards, n, stderr, &conflicts, e);
    if (rc == LDE_OK && conflicts)
        rc = fail(e, LDE_ERUN, "%d conflicting run(s) in the shards of %s (see above)", conflicts,
                  experiment);
    for (int i = 0; rc == LDE_OK && i < n; i++) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int k = 0; k < 3; k++) {
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s%s", shards[i], suffix[k]);
            if (unlink(path) != 0 && errno != ENOENT)
                rc = fail(e, LDE_ERUN, "%s: cannot remove: %s", path, strerror(errno));
        }
    }
    store_strings_free(shards, n);
    return rc;
}

/* The points not done in the main database, in plan order (a missing database:
 * all). A dry run only reads; a submission records the experiment first, so lde
 * status lists every point while the array runs. */
static int points_to_do(const Config *c, const Plan *plan, const Paths *p, int record, int *todo,
                        int *ntodo, Err *e) {
    *ntodo = 0;
    Store *st = NULL;
    int rc = LDE_OK;
    if (record) {
        char dir[PATH_MAX];
        paths_dirname(p->db, dir, sizeof dir);
        rc = paths_mkdirs(dir, e);
        if (rc == LDE_OK) rc = store_open(p->db, &st, e);
        StoreRunSpec *specs = NULL;
        RunInputs *inputs = NULL;
        if (rc == LDE_OK) rc = runinputs_specs(plan, &specs, &inputs, e);
        if (rc == LDE_OK) rc = store_add_experiment(st, c->name, c->yaml, specs, plan->n_runs, e);
        free(specs), free(inputs);
    } else if (access(p->db, F_OK) == 0) {
        rc = store_open_readonly(p->db, &st, e);
    }
    for (int i = 0; rc == LDE_OK && i < plan->n_runs; i++) {
        RunStatus rs = RUN_NONE;
        if (st) rc = store_run_status(st, plan->runs[i].id, &rs, e);
        if (rc == LDE_OK && rs != RUN_DONE) todo[(*ntodo)++] = i;
    }
    store_close(st);
    return rc;
}

/* The built-in features of every point to do, built here once (feature_cache.h)
 * so that the tasks only read them. User features and pixels need nothing. */
static int build_features(const Plan *plan, const int *todo, int ntodo, Err *e) {
    for (int k = 0; k < ntodo; k++) {
        const PlanRun *r = &plan->runs[todo[k]];
        int seen = 0;
        for (int j = 0; j < k && !seen; j++) seen = featureset_same_source(&plan->runs[todo[j]], r);
        const FeatureSource *src = r->spec.data.features;
        if (seen || !src->builtin || src->pixels) continue;
        FeatureSet fs;
        int rc = featureset_load(&r->spec, "results/features", &fs, e);
        if (rc != LDE_OK) return rc;
        featureset_free(&fs);
    }
    return LDE_OK;
}

/* ---- after submitting ---- */

/* Polls squeue until the array has left the queue, every tenth of the time waited
 * so far (at least 1 s, at most 30 s): a short array is noticed within a second or
 * two, a long one is reported at most 10% late and does not load the controller. */
static int wait_for(const char *job, Err *e) {
    fprintf(stderr, "waiting for array job %s (lde status shows its progress)\n", job);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int active, rc = job_active(job, &active, e);
        if (rc != LDE_OK || !active) return rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (long)(now.tv_sec - t0.tv_sec), delay = waited / 10;
        sleep((unsigned)(delay < 1 ? 1 : delay > 30 ? 30 : delay));
    }
}

static int merge_after(const Config *c, const Plan *plan, const Paths *p, Err *e) {
    char **shards = NULL;
    int n = 0, conflicts = 0, *todo = calloc((size_t)plan->n_runs, sizeof *todo), ntodo = 0;
    int rc =
        todo ? shard_find(p->shards, c->name, &shards, &n, e) : fail(e, LDE_ERUN, "out of memory");
    if (rc == LDE_OK) rc = merge_shards(p->db, shards, n, stderr, &conflicts, e);
    if (rc == LDE_OK) rc = points_to_do(c, plan, p, 0, todo, &ntodo, e);
    if (rc == LDE_OK)
        fprintf(stderr, "%s: %d of %d point(s) done in %s\n", c->name, plan->n_runs - ntodo,
                plan->n_runs, p->db);
    if (rc == LDE_OK && conflicts)
        rc = fail(e, LDE_ERUN, "%d conflicting run(s) (see above)", conflicts);
    if (rc == LDE_OK && ntodo)
        rc = fail(e, LDE_ERUN, "%d point(s) not done (task logs in %s); lde slurm %s submits them",
                  ntodo, p->dir, c->path);
    store_strings_free(shards, n);
    free(todo);
    return rc;
}

static int slurm_grid(const SlurmArgs *a, const Config *c, const Plan *plan, Err *e) {
    Paths p;
    int rc = make_paths(a, c->name, &p, e);
    int *todo = calloc((size_t)plan->n_runs, sizeof *todo), ntodo = 0;
    if (rc == LDE_OK && !todo) rc = fail(e, LDE_ERUN, "out of memory");
    if (rc == LDE_OK) rc = paths_mkdirs(p.dir, e);
    if (rc == LDE_OK && !a->dry_run) rc = collect_previous(c->name, &p, e);
    if (rc == LDE_OK) rc = points_to_do(c, plan, &p, !a->dry_run, todo, &ntodo, e);
    if (rc != LDE_OK || ntodo == 0) {
        if (rc == LDE_OK)
            fprintf(stderr, "%s: all %d point(s) done in %s; nothing to submit\n", c->name,
                    plan->n_runs, p.db);
        free(todo);
        return rc;
    }
    int ntasks = a->tasks && a->tasks < ntodo ? a->tasks : ntodo;
    runs_path(&p, plan, todo, ntodo);
    if (!a->dry_run) rc = build_features(plan, todo, ntodo, e);
    if (rc == LDE_OK) rc = shard_write_runs(p.runs, plan, todo, ntodo, e);
    if (rc == LDE_OK) rc = write_script(a, c->name, &p, ntasks, ntodo, e);
    free(todo);
    if (rc == LDE_OK && a->dry_run) {
        fprintf(stderr, "%s: %d point(s) to do in %d task(s); wrote %s (not submitted)\n", c->name,
                ntodo, ntasks, p.script);
        FILE *f = fopen(p.script, "r");
        char buf[4096];
        size_t got;
        while (f && (got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, stdout);
        if (f) fclose(f);
        return LDE_OK;
    }
    char job[64];
    if (rc == LDE_OK) rc = submit(a, &p, job, sizeof job, e);
    if (rc != LDE_OK) return rc;
    fprintf(stderr, "%s: submitted array job %s: %d task(s) for %d point(s); logs in %s\n", c->name,
            job, ntasks, ntodo, p.dir);
    printf("%s\n", job);
    fflush(stdout);
    if (!a->wait) return LDE_OK;
    if ((rc = wait_for(job, e)) != LDE_OK) return rc;
    return merge_after(c, plan, &p, e);
}

static int slurm_run(int argc, char **argv, Err *e) {
    SlurmArgs a;
    int rc = parse_args(argc, argv, &a, e);
    if (rc != LDE_OK) return rc;
    Config c;
    if ((rc = config_load(a.config, &c, e)) != LDE_OK) return rc;
    filedigest_cache_beside(a.db);
    Plan plan;
    if ((rc = plan_build(&c, &plan, e)) == LDE_OK) {
        rc = slurm_grid(&a, &c, &plan, e);
        plan_free(&plan);
    }
    config_free(&c);
    return rc;
}

const Command cmd_slurm = {
    .name = "slurm",
    .summary = "run a config's grid as a Slurm job array, one database per task",
    .usage = SLURM_USAGE,
    .run = slurm_run,
};
