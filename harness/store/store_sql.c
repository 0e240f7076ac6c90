/* store_sql.c — the helpers every statement of the store uses (store_sql.h). */
#include "store/store_sql.h"

#include "util/paths.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* Whether a failed write of s's database was for want of room: SQLite says
 * SQLITE_FULL for ENOSPC, but a write past RLIMIT_FSIZE (EFBIG) is a plain
 * SQLITE_IOERR_WRITE, and the errno of the failed write is often gone by the time
 * the error reaches here (a rollback made other calls since); so also a full
 * file system (statvfs) or a file size limit that the database and its WAL reach. */
static int out_of_room(Store *s, int code, int sys) {
    if (code == SQLITE_FULL || sys == ENOSPC || sys == EFBIG) return 1;
    if (sqlite3_extended_errcode(s->db) != SQLITE_IOERR_WRITE) return 0;
    char dir[4096];
    paths_dirname(s->path, dir, sizeof dir);
    struct statvfs fs;
    if (statvfs(dir, &fs) == 0 && fs.f_bavail == 0) return 1;
    struct rlimit lim;
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    struct stat a = {0}, b = {0};
    stat(s->path, &a), stat(wal, &b);
    return getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
           ((rlim_t)a.st_size + 65536 >= lim.rlim_cur || (rlim_t)b.st_size + 65536 >= lim.rlim_cur);
}

/* Three failures are the file's or the disk's, not lde's, and say so in words a
 * user acts on (issue 20): a full disk or a file size limit (out_of_room), a
 * damaged file (SQLITE_CORRUPT, SQLITE_NOTADB: bad input, exit 2; nothing is
 * written to it), a read-only file (exit 2). */
int sql_fail(Store *s, Err *e, const char *what) {
    int code = sqlite3_errcode(s->db), sys = sqlite3_system_errno(s->db);
    if ((code == SQLITE_FULL || code == SQLITE_IOERR) && out_of_room(s, code, sys))
        return fail(e, LDE_ERUN, "%s: no space left on the device (SQLite: %s)", s->path,
                    sqlite3_errmsg(s->db));
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return fail(e, LDE_EINPUT,
                    "%s: damaged or not an SQLite database (%s); lde leaves the file as it is",
                    s->path, sqlite3_errmsg(s->db));
    if (code == SQLITE_READONLY)
        return fail(e, LDE_EINPUT, "%s: the database is read-only (%s)", s->path, what);
    return fail(e, LDE_ERUN, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int sql_end_transaction(Store *s, int rc, Err *e) {
    if (rc == LDE_OK) return sql_exec(s, "COMMIT", e);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sql_exec(Store *s, const char *sql, Err *e) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_fail(s, e, sql);
    return LDE_OK;
}

int sql_step_done(Store *s, sqlite3_stmt *st, Err *e, const char *what) {
    int rc = sqlite3_step(st) == SQLITE_DONE ? LDE_OK : sql_fail(s, e, what);
    sqlite3_finalize(st);
    return rc;
}

int sql_prepare(Store *s, const char *sql, sqlite3_stmt **st, Err *e) {
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return sql_fail(s, e, "preparing a statement");
    return LDE_OK;
}

void sql_bind_text(sqlite3_stmt *st, const char *name, const char *v) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void sql_bind_int(sqlite3_stmt *st, const char *name, long v) {
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, name), v);
}

void sql_bind_real(sqlite3_stmt *st, const char *name, double v) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

void sql_bind_blob(sqlite3_stmt *st, const char *name, const void *v, long bytes) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (v)
        sqlite3_bind_blob64(st, i, v, (sqlite3_uint64)bytes, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

double sql_column_real(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Its own query, not store_claim.c's: store.c calls it, and store_claim.c calls
 * store.c (one way only, tests/lint/check_layers.sh). */
int claim_still_mine(Store *s, const char *id, Err *e) {
    if (!s->worker[0]) return LDE_OK;
    sqlite3_stmt *st;
    int rc =
        sql_prepare(s, "SELECT status = 'running', claim_worker FROM runs WHERE id = :id", &st, e);
    if (rc) return rc;
    sql_bind_text(st, ":id", id);
    int r = sqlite3_step(st), running = 0;
    char holder[320] = "";
    if (r == SQLITE_ROW) {
        const char *w = (const char *)sqlite3_column_text(st, 1);
        running = sqlite3_column_int(st, 0);
        snprintf(holder, sizeof holder, "%s", w ? w : "");
    } else if (r != SQLITE_DONE) {
        rc = sql_fail(s, e, "reading a run's claim");
    }
    sqlite3_finalize(st);
    if (rc || (running && strcmp(holder, s->worker) == 0)) return rc;
    return fail(e, STORE_ELOST_CODE, "%s: run %.8s was taken over by another worker (%s)", s->path,
                id, holder[0] ? holder : "no claimant");
}
