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

#include "load.h"
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

/* strerror text with a lower-case first letter (the house error style). */
static const char *errtext(int e, char *buf, size_t n)
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
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
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
		return fail(err, 2, path, "cannot open: %s", errtext(errno, eb, sizeof eb));
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		int e = S_ISDIR(sb.st_mode) ? EISDIR : errno;
		close(fd);
		return fail(err, 2, path, "cannot read: %s", errtext(e, eb, sizeof eb));
	}
	ssize_t n = read(fd, head, sizeof head);
	int e = errno;
	close(fd);
	if (n < 0)
		return fail(err, 2, path, "cannot read: %s", errtext(e, eb, sizeof eb));
	if (n == 0)
		return fail(err, 2, path, "empty file (not a pymple dump)");
	if ((size_t)n >= sizeof SQLITE_MAGIC && memcmp(head, SQLITE_MAGIC, sizeof SQLITE_MAGIC) == 0)
		*kind = K_DB;
	else
		*kind = K_DUMP; /* the reader names what is wrong with anything else */
	return 0;
}

static void tune(sqlite3 *db)
{
	/* Queries of the commands read large parts of the file: map it. */
	sqlite3_exec(db, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -65536;", NULL, NULL,
	             NULL);
}

/* Opens an existing database file and checks it is a complete pymple
 * database of our layout. *stale = 1 (and no error) when it is complete but
 * of another layout or made from another state of the dump `source`. */
static int open_db(const char *path, int readonly, const struct stat *source, sqlite3 **out,
                   int *stale, struct db_error *err)
{
	sqlite3 *db = NULL;
	char v[128];
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	*out = NULL;
	if (stale)
		*stale = 0;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fail(err, 2, path, "cannot open the database: %s", db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	int got = db_meta(db, "load.complete", v, sizeof v);
	if (got < 0) {
		fail(err, 2, path, "not a pymple database (%s)", sqlite3_errmsg(db));
		goto bad;
	}
	if (got == 0 || strcmp(v, "1") != 0) {
		fail(err, 2, path, "incomplete database (its load did not finish): load the dump again");
		goto bad;
	}
	got = db_meta(db, "load.version", v, sizeof v);
	if (got != 1 || strcmp(v, DB_LAYOUT_VERSION) != 0) {
		if (stale) {
			*stale = 1;
			sqlite3_close(db);
			return 0;
		}
		fail(err, 2, path, "database layout %s, this pymple-analyze reads %s: load the dump again",
		     got == 1 ? v : "unknown", DB_LAYOUT_VERSION);
		goto bad;
	}
	if (source) {
		char want[64];
		snprintf(want, sizeof want, "%lld", (long long)source->st_size);
		if (db_meta(db, "load.source_size", v, sizeof v) != 1 || strcmp(v, want) != 0)
			*stale = 1;
		snprintf(want, sizeof want, "%lld.%09ld", (long long)source->st_mtim.tv_sec,
		         (long)source->st_mtim.tv_nsec);
		if (db_meta(db, "load.source_mtime", v, sizeof v) != 1 || strcmp(v, want) != 0)
			*stale = 1;
		if (*stale) {
			sqlite3_close(db);
			return 0;
		}
	}
	if (readonly &&
	    sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, 1, path, "cannot make the connection read-only: %s", sqlite3_errmsg(db));
		goto bad;
	}
	tune(db);
	*out = db;
	return 0;
bad:
	sqlite3_close(db);
	return -1;
}

int db_open_input(const char *path, const struct db_open_opts *opts, sqlite3 **out,
                  struct db_error *err)
{
	static const struct db_open_opts dflt = {0, NULL, NULL};
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
		return open_db(path, opts->readonly, NULL, out, NULL, err);

	size_t n = strlen(path);
	char *dbpath = malloc(n + 4);
	if (!dbpath)
		return fail(err, 1, path, "out of memory");
	memcpy(dbpath, path, n);
	memcpy(dbpath + n, ".db", 4);
	int rc = -1;
	if (stat(path, &sb) < 0) {
		fail(err, 2, path, "cannot open: %s", errtext(errno, eb, sizeof eb));
		goto out;
	}
	if (access(dbpath, F_OK) == 0) {
		int stale = 0;
		struct db_error e2;
		if (open_db(dbpath, opts->readonly, &sb, out, &stale, &e2) == 0 && !stale) {
			rc = 0;
			goto out;
		}
		/* Stale, incomplete or damaged: rebuild it from the dump below. */
	}
	if (load_dump(path, dbpath, opts->progress, opts->progress_ctx, NULL, err) < 0)
		goto out;
	rc = open_db(dbpath, opts->readonly, NULL, out, NULL, err);
out:
	free(dbpath);
	return rc;
}
