/* db.c — opens the database behind a DUMP|DB argument (db.h): sniffs the
 * file's magic, reuses DUMP.db while the dump is unchanged, (re)loads it
 * through load.c otherwise. Library code: never prints or exits. */
#include "db.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbcache.h"
#include "load.h"
#include "sqlguard.h"
#include "pymple_format.h"

#define SQLITE_MAGIC "SQLite format 3"

__attribute__((format(printf, 4, 5))) static int fail(struct db_error *err, int status,
                                                      const char *file, const char *fmt, ...)
{
	va_list ap;
	err->status = status;
	snprintf(err->file, sizeof err->file, "%s", file);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

const char *db_errtext(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	if (buf[0] && isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

int db_meta(sqlite3 *db, const char *key, char *buf, size_t n)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		snprintf(buf, n, "%s", v ? v : "");
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, struct db_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		const char *file = sqlite3_db_filename(db, "main");
		fail(err, 1, file ? file : "", "cannot prepare a query: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

enum kind { K_DUMP, K_DB };

/* Which kind of file path is, by its first bytes; 0 or -1 with err. */
static int sniff(const char *path, enum kind *kind, struct db_error *err)
{
	char eb[128];
	unsigned char head[16];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, 2, path, "cannot open: %s", db_errtext(errno, eb, sizeof eb));
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		int e = S_ISDIR(sb.st_mode) ? EISDIR : errno;
		close(fd);
		return fail(err, 2, path, "cannot read: %s", db_errtext(e, eb, sizeof eb));
	}
	ssize_t n = read(fd, head, sizeof head);
	int e = errno;
	close(fd);
	if (n < 0)
		return fail(err, 2, path, "cannot read: %s", db_errtext(e, eb, sizeof eb));
	if (n == 0)
		return fail(err, 2, path, "empty file (not a pymple dump)");
	if ((size_t)n >= sizeof SQLITE_MAGIC &&
	    memcmp(head, SQLITE_MAGIC, sizeof SQLITE_MAGIC) == 0)
		*kind = K_DB;
	else
		*kind = K_DUMP; /* the reader names what is wrong with anything else */
	return 0;
}

/* 1 when db has a table (not a view) named meta. */
static int meta_is_table(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int yes = sqlite3_prepare_v2(
	                  db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
	                  -1, &st, NULL) == SQLITE_OK &&
	          sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

static void tune(sqlite3 *db)
{
	/* Queries of the commands read large parts of the file: map it. */
	sqlite3_exec(db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -8192;", NULL, NULL, NULL);
}

/* Opens an existing database file and checks it is a complete pymple
 * database of our layout and schema (read through sqlite_master before any
 * view can run), with the defensive flags and the limits of sqlguard.h. */
static int open_db(const char *path, int readonly, sqlite3 **out, struct db_error *err)
{
	sqlite3 *db = NULL;
	char v[128];
	/* No mutex per call: a connection is only ever used by one thread at
	 * a time (handed over at thread starts and joins). */
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
	*out = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fail(err, 2, path, "cannot open the database: %s",
		     db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	if (sqlguard_defend(db) != SQLITE_OK) {
		fail(err, 1, path, "cannot configure the connection: %s", sqlite3_errmsg(db));
		goto bad;
	}
	int schema = dbcache_schema_is_ours(db);
	if (schema < 0) {
		fail(err, 2, path, "not a pymple database (%s)", sqlite3_errmsg(db));
		goto bad;
	}
	if (schema == 0) {
		/* A database of another layout version says which (meta is a
		 * table: reading it runs nothing the file defines). */
		if (meta_is_table(db) && db_meta(db, "load.version", v, sizeof v) == 1 &&
		    strcmp(v, DB_LAYOUT_VERSION) != 0)
			fail(err, 2, path,
			     "database layout %s, this pymple-analyze reads %s: load the dump "
			     "again",
			     v, DB_LAYOUT_VERSION);
		else
			fail(err, 2, path,
			     "not a pymple database of this pymple-analyze (its schema differs): "
			     "load the dump again");
		goto bad;
	}
	int got = db_meta(db, "load.complete", v, sizeof v);
	if (got < 0) {
		fail(err, 2, path, "not a pymple database (%s)", sqlite3_errmsg(db));
		goto bad;
	}
	if (got == 0 || strcmp(v, "1") != 0) {
		fail(err, 2, path,
		     "incomplete database (its load did not finish): load the dump again");
		goto bad;
	}
	got = db_meta(db, "load.version", v, sizeof v);
	if (got != 1 || strcmp(v, DB_LAYOUT_VERSION) != 0) {
		fail(err, 2, path,
		     "database layout %s, this pymple-analyze reads %s: load the dump again",
		     got == 1 ? v : "unknown", DB_LAYOUT_VERSION);
		goto bad;
	}
	if (readonly && sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, 1, path, "cannot make the connection read-only: %s", sqlite3_errmsg(db));
		goto bad;
	}
	tune(db);
	if (sqlguard_limit(db) != SQLITE_OK) {
		fail(err, 1, path, "out of memory");
		goto bad;
	}
	*out = db;
	return 0;
bad:
	sqlite3_close(db);
	return -1;
}

int db_open_input(const char *path, const struct db_open_opts *opts, sqlite3 **out,
                  struct db_error *err)
{
	static const struct db_open_opts dflt = {0, NULL, NULL, NULL, NULL};
	enum kind kind;
	struct stat sb;
	char eb[128];
	memset(err, 0, sizeof *err);
	*out = NULL;
	if (!opts)
		opts = &dflt;
	if (sniff(path, &kind, err) < 0)
		return -1;
	if (kind == K_DB)
		return open_db(path, opts->readonly, out, err);

	if (stat(path, &sb) < 0)
		return fail(err, 2, path, "cannot open: %s", db_errtext(errno, eb, sizeof eb));
	struct dbcache_place *pl = malloc(sizeof *pl);
	if (!pl)
		return fail(err, 1, path, "out of memory");
	int rc = -1;
	if (dbcache_place(path, &sb, opts->dbpath, pl, err) < 0)
		goto out;
	if (pl->reuse && open_db(pl->path, opts->readonly, out, err) == 0) {
		rc = 0;
		goto out;
	}
	memset(err, 0, sizeof *err);
	if (load_dump(path, pl->path, opts->progress, opts->progress_ctx, NULL, err) < 0) {
		/* A file that appeared at DUMP.db during the load (someone else's,
		 * in a sticky directory) must not block: the cache then. */
		if (opts->dbpath || pl->in_cache || err->status != 1 ||
		    dbcache_place_cache(path, &sb, "DUMP.db could not be replaced", pl, err) < 0)
			goto out;
		memset(err, 0, sizeof *err);
		if (load_dump(path, pl->path, opts->progress, opts->progress_ctx, NULL, err) < 0)
			goto out;
	}
	if (pl->note[0] && opts->notice)
		opts->notice(opts->progress_ctx, pl->path, pl->note);
	rc = open_db(pl->path, opts->readonly, out, err);
out:
	free(pl);
	return rc;
}
