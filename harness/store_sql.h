/* store_sql.h — private to store.c and store_query.c: the connection and the small
 * helpers every statement uses (prepare, bind by name, report an SQLite error). */
#ifndef LDE_STORE_SQL_H
#define LDE_STORE_SQL_H

#include "store.h"

#include <sqlite3.h>

struct Store {
    sqlite3 *db;
    char path[4096];
};

/* Prepares sql (named parameters only) into *st; LDE_ERUN naming the path. */
int sql_prepare(Store *s, const char *sql, sqlite3_stmt **st, Err *e);

/* Reports the connection's last error as "PATH: WHAT: sqlite message". */
int sql_fail(Store *s, Err *e, const char *what);

/* Binds by parameter name (":id"); text NULL and doubles that are NaN bind NULL. */
void sql_bind_text(sqlite3_stmt *st, const char *name, const char *v);
void sql_bind_int(sqlite3_stmt *st, const char *name, long v);
void sql_bind_real(sqlite3_stmt *st, const char *name, double v);
void sql_bind_blob(sqlite3_stmt *st, const char *name, const void *v, long bytes);

/* Column i as a double, NaN for NULL. */
double sql_column_real(sqlite3_stmt *st, int i);

#endif
