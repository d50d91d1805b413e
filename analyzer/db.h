/* db.h — opens the SQLite database behind a DUMP|DB command-line argument:
 * a database is used as is, a dump is loaded on first use into DUMP.db and
 * reused while the dump is unchanged. Library code: never prints or exits;
 * failures fill a caller-owned struct db_error. */
#ifndef PYMPLE_DB_H
#define PYMPLE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Version of the database layout the loader writes (meta load.version). A
 * database with another version is reloaded from its dump when the dump is
 * at hand, refused otherwise. Bump it when schema/schema.sql changes. */
#define DB_LAYOUT_VERSION "8"

struct db_error {
	int status;        /* exit status the CLI should use: 2 bad input, 1 runtime */
	char file[1024];   /* the file the message is about (the dump or the db) */
	char msg[512];     /* lower case, no trailing period, no file name */
	uint64_t offset;   /* a dump the reader refused: where, as `-v check` says */
	const char *where; /* ... and the reader's source line; NULL otherwise */
};

/* Progress of a load, called now and then with the dump bytes read so far
 * out of total in pass 1 or 2, and once (0, 0) as each step between and
 * after them starts. Called on the loading thread only. */
enum {
	DB_PROGRESS_PASS1 = 1,  /* reading the dump into the heap */
	DB_PROGRESS_PASS2 = 2,  /* reading it again for the rows */
	DB_PROGRESS_FINISH = 3, /* the last tables, refs if asked for */
	DB_PROGRESS_GRAPH = 4,  /* roots, reachability, cycles */
	DB_PROGRESS_HEAP = 5,   /* the heap kept with the database */
	DB_PROGRESS_DOM = 6,    /* the dominator tree, retained sizes */
};
typedef void (*db_progress_fn)(void *ctx, int pass, uint64_t done, uint64_t total);

struct db_open_opts {
	int readonly;            /* SQLITE_OPEN_READONLY + PRAGMA query_only (sql) */
	db_progress_fn progress; /* NULL: silent */
	void *progress_ctx;
	const char *dbpath; /* --db: the database of a dump goes there (NULL: see dbcache.h) */
	/* Called once when a dump's database is built in the cache directory,
	 * with its path and why (NULL: silent). On the calling thread. */
	void (*notice)(void *ctx, const char *dbpath, const char *why);
};

/* Opens path for analysis. path may be a database made by `load` (used as
 * is; it must be complete and have pymple's schema byte for byte; one of
 * another user is read defensively) or a dump: then its database (placed
 * by dbcache.h: --db, DUMP.db or the cache directory) is reused when it is
 * ours and bound to the dump, and is (re)built otherwise (atomically: a
 * temporary file renamed into place). Every connection gets the defensive
 * flags and the time and memory limits of sqlguard.h. opts may be NULL (read-write, silent). On
 * success returns 0 and *out owns the connection (close with sqlite3_close). On failure returns -1,
 * *out is NULL and err says why (status 2 for a missing, empty, truncated, corrupt, foreign or
 * future-version input; 1 for failures to write the database). */
int db_open_input(const char *path, const struct db_open_opts *opts, sqlite3 **out,
                  struct db_error *err);

/* strerror(e) with a lower-case first letter (the house error style), in
 * buf (n bytes); returns buf. */
const char *db_errtext(int e, char *buf, size_t n);

/* The value of meta key, copied into buf (NUL-terminated, truncated to n-1
 * bytes). Returns 1 if found, 0 if absent, -1 on an SQLite error. */
int db_meta(sqlite3 *db, const char *key, char *buf, size_t n);

/* Prepares sql on db; on failure returns NULL with err filled (status 1,
 * message from SQLite). For the fixed queries of commands, not user SQL. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, struct db_error *err);

#endif
