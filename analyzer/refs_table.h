/* refs_table.h — the public `refs` table (schema.sql, section @refs), one row
 * per reference with the documented columns, built from the heap the first
 * time it is needed (not at every load: it is most of a database's size and
 * time). Library code: fills a struct db_error, never prints. */
#ifndef PYMPLE_REFS_TABLE_H
#define PYMPLE_REFS_TABLE_H

#include <sqlite3.h>

#include "db.h"
#include "heap.h"

/* Writes the refs table and its indexes from h into db, inside the caller's
 * transaction; refs must still be the placeholder view. 0, or -1 with err. */
int refs_table_build(sqlite3 *db, const struct heap *h, const char *file, struct db_error *err);

/* 1 if db's refs is the built table, 0 if still the placeholder, -1 on error. */
int refs_table_built(sqlite3 *db);

/* Builds refs in a complete database opened read-write, if not built yet:
 * reads the heap (heap_store.h), then writes in one IMMEDIATE transaction
 * (another process building it at the same time is waited for). 0, or -1
 * with err. */
int refs_table_ensure(sqlite3 *db, const char *file, struct db_error *err);

/* 1 if the SQL text names refs as a word (any case), 0 otherwise: the query
 * needs the table. */
int refs_table_named(const char *sql);

#endif
