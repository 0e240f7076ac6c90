/* store_sql.c — the helpers every statement of the store uses (store_sql.h). */
#include "store/store_sql.h"

#include <math.h>
#include <stddef.h>

int sql_fail(Store *s, Err *e, const char *what) {
    return fail(e, LDE_ERUN, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
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
