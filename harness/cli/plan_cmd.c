/* plan_cmd.c — `lde plan CONFIG`: the grid a config describes, without running it.
 *
 * One row per run: its short id, its status when a database already knows it,
 * and the parameters that vary across the grid. Nothing is written: the database
 * (if any) is opened read-only and only read. */
#include "cli/commands.h"
#include "config/plan.h"
#include "util/filedigest.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: lde plan CONFIG [--db PATH] [--json]\n"
    "       lde plan --params\n"
    "\n"
    "Validates CONFIG and prints its grid: one row per run with its id and the\n"
    "parameters that vary, in the order `lde run` would run them. A run id hashes the\n"
    "XXH3-128 digests of the input files, not their paths; the digests are cached in\n"
    "digests.tsv beside the database by (device, inode, size, mtime), and stderr says\n"
    "how many bytes had to be read to hash them.\n"
    "\n"
    "  --db PATH   also show each run's status in this database (default results/lde.db;\n"
    "              read only, never created)\n"
    "  --json      print {\"experiment\", \"runs\": [{\"id\", \"status\", \"params\"}]} instead\n"
    "  --params    list every parameter a config may set: key, type, default, range, help\n";

static const char sql_status[] = "SELECT status FROM runs WHERE id = :id";

/* Opens db read-only and prepares the status query; NULL when there is no
 * database or it has no runs table (a plan needs no database). */
static sqlite3_stmt *open_status(const char *db, sqlite3 **h) {
    struct stat st;
    *h = NULL;
    if (stat(db, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(db, h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(*h, sql_status, -1, &q, NULL) != SQLITE_OK) {
        sqlite3_close(*h);
        *h = NULL;
        return NULL;
    }
    return q;
}

/* The run's status, or "new" when the database has not seen it. */
static void run_status(sqlite3_stmt *q, const char *id, char *out, size_t size) {
    snprintf(out, size, "new");
    if (!q) return;
    sqlite3_reset(q);
    sqlite3_bind_text(q, sqlite3_bind_parameter_index(q, ":id"), id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(q, 0));
}

/* A value for the table: strings without quotes, long values cut with "...". */
static void cell(const char *json, char *out, size_t size) {
    if (!json) json = "-";
    size_t n = strlen(json);
    if (n >= 2 && json[0] == '"' && json[n - 1] == '"') json++, n -= 2;
    if (n >= size)
        snprintf(out, size, "%.*s...", (int)size - 4, json);
    else
        snprintf(out, size, "%.*s", (int)n, json);
}

/* The column title: the last key component, or the whole path when two varying
 * parameters share it (data.backbone.seed and seed). */
static const char *title(const Plan *p, int v) {
    const char *path = params[p->varying[v]].path, *dot = strrchr(path, '.');
    const char *last = dot ? dot + 1 : path;
    for (int j = 0; j < p->n_varying; j++) {
        const char *o = params[p->varying[j]].path, *od = strrchr(o, '.');
        if (j != v && strcmp(od ? od + 1 : o, last) == 0) return path;
    }
    return last;
}

static void print_table(const Config *c, const Plan *p, sqlite3_stmt *q) {
    printf("experiment %s: %d run%s", c->name, p->n_runs, p->n_runs == 1 ? "" : "s");
    if (p->n_varying) printf(", varying");
    for (int v = 0; v < p->n_varying; v++)
        printf("%s %s", v ? "," : "", params[p->varying[v]].path);
    /* Each column as wide as its title or its widest cell. */
    int width[64] = {0};
    char val[40];
    for (int v = 0; v < p->n_varying && v < 64; v++) {
        width[v] = (int)strlen(title(p, v));
        for (int r = 0; r < p->n_runs; r++) {
            cell(plan_value(&p->runs[r], p->varying[v]), val, sizeof val);
            if ((int)strlen(val) > width[v]) width[v] = (int)strlen(val);
        }
    }
    printf("\n\n%-12s  %-8s", "id", "status");
    for (int v = 0; v < p->n_varying && v < 64; v++) printf("  %-*s", width[v], title(p, v));
    printf("\n");
    for (int r = 0; r < p->n_runs; r++) {
        char status[32];
        run_status(q, p->runs[r].id, status, sizeof status);
        printf("%.12s  %-8s", p->runs[r].id, status);
        for (int v = 0; v < p->n_varying && v < 64; v++) {
            cell(plan_value(&p->runs[r], p->varying[v]), val, sizeof val);
            printf("  %-*s", width[v], val);
        }
        printf("\n");
    }
}

static void print_json(const Config *c, const Plan *p, sqlite3_stmt *q) {
    printf("{\"experiment\":\"%s\",\"varying\":[", c->name);
    for (int v = 0; v < p->n_varying; v++)
        printf("%s\"%s\"", v ? "," : "", params[p->varying[v]].path);
    printf("],\"runs\":[");
    for (int r = 0; r < p->n_runs; r++) {
        char status[32];
        run_status(q, p->runs[r].id, status, sizeof status);
        printf("%s\n{\"id\":\"%s\",\"status\":\"%s\",\"params\":%s}", r ? "," : "", p->runs[r].id,
               status, p->runs[r].params_json);
    }
    printf("]}\n");
}

/* The parameter table, for users writing a config. */
static void print_params(void) {
    static const char *const type_names[] = {"bool",     "int",     "int",      "number", "choice",
                                             "int list", "choices", "features", "images", "epochs"};
    _Static_assert(sizeof type_names / sizeof *type_names == PT_FLOAT_LIST + 1,
                   "a name for every ParamType");
    printf("%-26s %-9s %-28s %s\n", "key", "type", "default", "allowed / meaning");
    for (int i = 0; i < n_params; i++) {
        const Param *p = &params[i];
        char allowed[128] = "";
        if (p->choices) {
            for (int k = 0; p->choices[k]; k++) {
                size_t l = strlen(allowed);
                snprintf(allowed + l, sizeof allowed - l, "%s%s", k ? "|" : "", p->choices[k]);
            }
        } else if (p->type == PT_INT || p->type == PT_LONG || p->type == PT_FLOAT ||
                   p->type == PT_INT_LIST || p->type == PT_FLOAT_LIST) {
            snprintf(allowed, sizeof allowed, "%s%.10g..%.10g", p->min_open ? ">" : "", p->min,
                     p->max);
        }
        printf("%-26s %-9s %-28s %s%s%s\n", p->path, type_names[p->type],
               p->dflt                ? p->dflt
               : p->type == PT_IMAGES ? "(none)"
                                      : "(derived)",
               allowed, allowed[0] ? "; " : "", p->help);
    }
}

static int plan_run(int argc, char **argv, Err *e) {
    const char *config = NULL, *db = "results/lde.db";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--params") == 0) {
            print_params();
            return LDE_OK;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return fail(e, LDE_EINPUT, "unknown option '%s' (lde plan --help)", argv[i]);
        else if (config)
            return fail(e, LDE_EINPUT, "one CONFIG expected, got '%s' too", argv[i]);
        else
            config = argv[i];
    }
    if (!config) return fail(e, LDE_EINPUT, "missing CONFIG (lde plan --help)");
    Config c;
    int rc = config_load(config, &c, e);
    if (rc != LDE_OK) return rc;
    Plan p;
    filedigest_cache_beside(db);
    rc = plan_build(&c, &p, e);
    int user_files = 0;
    for (int r = 0; rc == LDE_OK && r < p.n_runs; r++)
        user_files |= !p.runs[r].spec.data.features->builtin;
    /* How much was read to hash the files: 0 when every digest came from the cache. */
    if (rc == LDE_OK && user_files)
        fprintf(stderr, "input files: %lld bytes read to hash them\n", filedigest_hashed_bytes());
    if (rc == LDE_OK) {
        sqlite3 *h;
        sqlite3_stmt *q = open_status(db, &h);
        if (json)
            print_json(&c, &p, q);
        else
            print_table(&c, &p, q);
        sqlite3_finalize(q);
        sqlite3_close(h);
        plan_free(&p);
    }
    config_free(&c);
    return rc;
}

const Command cmd_plan = {"plan", "validate a config and print its grid of runs", usage, plan_run};
