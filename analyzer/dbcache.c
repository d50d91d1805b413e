/* dbcache.c — the place of a dump's database and the trust in one found
 * there (dbcache.h). A database is trusted only when it is ours: our uid,
 * mode 0600, the schema pymple writes byte for byte, and bound to the dump's
 * identity; anything else is never read past sqlite_master and never blocks
 * (the database goes to the per-user cache). Never prints or exits. */
#include "dbcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "load.h"
#include "pymple_format.h"
#include "sqlguard.h"

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

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void dbcache_identity(const char *path, const struct stat *sb, struct dump_identity *id)
{
	unsigned char t[PYM_CHUNK_HEADER_LEN + PYM_TAIL_LEN];
	memset(id, 0, sizeof *id);
	id->dev = (uint64_t)sb->st_dev;
	id->ino = (uint64_t)sb->st_ino;
	id->size = (uint64_t)sb->st_size;
	id->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (sb->st_size >= (off_t)(sizeof t + PYM_FILE_HEADER_LEN) &&
	    pread(fd, t, sizeof t, sb->st_size - (off_t)sizeof t) == (ssize_t)sizeof t &&
	    memcmp(t, PYM_TAG_TAIL, 4) == 0 && le32(t + 4) == PYM_TAIL_LEN &&
	    le32(t + 8) == PYM_TAIL_LEN &&
	    (uint32_t)crc32(crc32(0L, t, 12), t + PYM_CHUNK_HEADER_LEN, PYM_TAIL_LEN) ==
	            le32(t + 12)) {
		id->crc = le32(t + 12);
		id->has_crc = 1;
	}
	close(fd);
}

void dbcache_binding(const struct dump_identity *id, struct dbcache_binding *b)
{
	static const char *const keys[DBCACHE_NBIND] = {"load.source_dev", "load.source_ino",
	                                                "load.source_size", "load.source_mtime_ns",
	                                                "load.source_crc"};
	for (int i = 0; i < DBCACHE_NBIND; i++)
		snprintf(b->key[i], sizeof b->key[i], "%s", keys[i]);
	snprintf(b->value[0], sizeof b->value[0], "%llu", (unsigned long long)id->dev);
	snprintf(b->value[1], sizeof b->value[1], "%llu", (unsigned long long)id->ino);
	snprintf(b->value[2], sizeof b->value[2], "%llu", (unsigned long long)id->size);
	snprintf(b->value[3], sizeof b->value[3], "%lld", (long long)id->mtime_ns);
	if (id->has_crc)
		snprintf(b->value[4], sizeof b->value[4], "%08x", id->crc);
	else
		snprintf(b->value[4], sizeof b->value[4], "none");
}

/* ---- the schema pymple writes ------------------------------------------ */

/* The sqlite_master rows of load_schema_sql, run once on an in-memory
 * database: "type\x1fname\x1ftbl_name\x1fsql\x1e" per row, sorted. A
 * database a load made has one of two: [0] the schema up to `-- @refs`
 * (a default load: refs is a view), [1] all of it (the refs table built, at
 * load --refs or by a query naming refs). */
static char *expected_schema[2];
static pthread_once_t expected_once = PTHREAD_ONCE_INIT;

static const char master_query[] =
        "SELECT group_concat(line, '') FROM (SELECT type || char(31) || name || char(31) ||"
        " tbl_name || char(31) || coalesce(sql, '') || char(30) AS line FROM sqlite_master"
        " ORDER BY type, name)";

static char *master_text(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char *s = NULL;
	if (sqlite3_prepare_v2(db, master_query, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		s = strdup(t ? t : "");
	}
	sqlite3_finalize(st);
	return s;
}

static void make_expected(void)
{
	static const char mark[] = "\n-- @refs\n";
	const char *refs = strstr(load_schema_sql, mark);
	sqlite3 *mem = NULL;
	char *head = refs ? strndup(load_schema_sql, (size_t)(refs - load_schema_sql)) : NULL;
	if (head && sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_exec(mem, head, NULL, NULL, NULL) == SQLITE_OK) {
		expected_schema[0] = master_text(mem);
		if (sqlite3_exec(mem, refs, NULL, NULL, NULL) == SQLITE_OK)
			expected_schema[1] = master_text(mem);
	}
	sqlite3_close(mem);
	free(head);
}

int dbcache_schema_is_ours(sqlite3 *db)
{
	pthread_once(&expected_once, make_expected);
	if (!expected_schema[0] || !expected_schema[1])
		return -1;
	char *got = master_text(db);
	if (!got)
		return -1;
	int same = strcmp(got, expected_schema[0]) == 0 || strcmp(got, expected_schema[1]) == 0;
	free(got);
	return same;
}

/* ---- judging a file ----------------------------------------------------- */

static int meta_is(sqlite3 *db, const char *key, const char *want)
{
	char v[128];
	return db_meta(db, key, v, sizeof v) == 1 && strcmp(v, want) == 0;
}

/* 1 when db has a table (not a view) named meta with a load.version row. */
static int table_meta_has_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int yes = sqlite3_prepare_v2(
	                  db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
	                  -1, &st, NULL) == SQLITE_OK &&
	          sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (yes) {
		char v[64];
		yes = db_meta(db, "load.version", v, sizeof v) == 1;
	}
	return yes;
}

void dbcache_judge(const char *dbpath, const struct dump_identity *id, struct dbcache_judgement *j)
{
	struct stat sb;
	sqlite3 *db = NULL;
	memset(j, 0, sizeof *j);
	if (lstat(dbpath, &sb) < 0) {
		j->verdict = errno == ENOENT ? DBC_ABSENT : DBC_FOREIGN;
		snprintf(j->why, sizeof j->why, "cannot be examined: %s", strerror(errno));
		return;
	}
	j->verdict = DBC_FOREIGN;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(j->why, sizeof j->why, "is not a regular file");
		return;
	}
	int mine = sb.st_uid == geteuid();
	int mode_ok = (sb.st_mode & 07777) == 0600;
	if (!mine)
		snprintf(j->why, sizeof j->why, "belongs to another user (uid %ld)",
		         (long)sb.st_uid);
	else
		snprintf(j->why, sizeof j->why, "is not a database of this pymple-analyze");
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
	            SQLITE_OK ||
	    sqlguard_defend(db) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	int schema = dbcache_schema_is_ours(db);
	if (schema == 1) {
		struct dbcache_binding b;
		j->usable = meta_is(db, "load.complete", "1") &&
		            meta_is(db, "load.version", DB_LAYOUT_VERSION);
		if (id) {
			dbcache_binding(id, &b);
			for (int i = 0; i < DBCACHE_NBIND; i++)
				j->usable &= meta_is(db, b.key[i], b.value[i]);
		}
	}
	/* Ours but of another schema: a pymple database (meta is a table with
	 * load.version) of another version is ours to replace; anything else
	 * of ours is not a database we wrote and is never replaced. */
	int older = mine && schema == 0 && table_meta_has_version(db);
	sqlite3_close(db);
	if (older) {
		j->verdict = DBC_STALE;
		snprintf(j->why, sizeof j->why, "was made by another version of pymple-analyze");
		return;
	}
	if (!mine || schema != 1)
		return;
	if (!mode_ok || !j->usable) {
		j->verdict = DBC_STALE;
		if (!mode_ok)
			snprintf(j->why, sizeof j->why, "has mode %04o, not 0600",
			         sb.st_mode & 07777);
		else
			snprintf(j->why, sizeof j->why, "was made from another state of the dump");
		return;
	}
	j->verdict = DBC_OURS;
}

/* ---- choosing the place -------------------------------------------------- */

/* Makes dir (mode 0700) if missing and checks it is a directory of ours that
 * nobody else may write. */
static int own_dir(const char *dir, int create, struct db_error *err)
{
	struct stat sb;
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail(err, 1, dir, "cannot create the cache directory: %s", strerror(errno));
	if (lstat(dir, &sb) < 0)
		return fail(err, 1, dir, "cannot use the cache directory: %s", strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return fail(err, 1, dir, "cannot use the cache directory: not a directory");
	if (sb.st_uid != geteuid())
		return fail(err, 1, dir, "cannot use the cache directory: it belongs to uid %ld",
		            (long)sb.st_uid);
	if (sb.st_mode & 022)
		return fail(err, 1, dir,
		            "cannot use the cache directory: others may write it (mode %04o)",
		            sb.st_mode & 07777);
	return 0;
}

/* The cache directory, made and checked; its path in out (n bytes). */
static int cache_dir(char *out, size_t n, struct db_error *err)
{
	const char *env = getenv("PYMPLE_CACHE_DIR");
	if (env && *env) {
		if ((size_t)snprintf(out, n, "%s", env) >= n)
			return fail(err, 1, env, "cache directory path too long");
		return own_dir(out, 1, err);
	}
	char base[4096];
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/') {
		snprintf(base, sizeof base, "%s", xdg);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return fail(
			        err, 1, "pymple-analyze",
			        "no cache directory: set PYMPLE_CACHE_DIR, XDG_CACHE_HOME or HOME");
		snprintf(base, sizeof base, "%s/.cache", home);
		if (mkdir(base, 0700) < 0 && errno != EEXIST)
			return fail(err, 1, base, "cannot create the cache directory: %s",
			            strerror(errno));
	}
	if ((size_t)snprintf(out, n, "%s/pymple", base) >= n)
		return fail(err, 1, base, "cache directory path too long");
	return own_dir(out, 1, err);
}

static int dir_writable(const char *file)
{
	char dir[4200];
	const char *slash = strrchr(file, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == file)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0;
}

/* The place in the cache directory; keeps pl->note. */
static int place_in_cache(const struct dump_identity *id, struct dbcache_place *pl,
                          struct db_error *err)
{
	struct dbcache_judgement j;
	char dir[4096];
	if (cache_dir(dir, sizeof dir, err) < 0)
		return -1;
	snprintf(pl->path, sizeof pl->path, "%s/%llx-%llx-%llx-%llx.db", dir,
	         (unsigned long long)id->dev, (unsigned long long)id->ino,
	         (unsigned long long)id->size, (unsigned long long)id->mtime_ns);
	pl->reuse = 0;
	dbcache_judge(pl->path, id, &j);
	if (j.verdict == DBC_OURS) {
		pl->reuse = 1;
		pl->note[0] = 0; /* said when it was built */
		return 0;
	}
	if (j.verdict == DBC_FOREIGN && unlink(pl->path) < 0 && errno != ENOENT)
		return fail(err, 1, pl->path, "cannot replace: %s", strerror(errno));
	return 0;
}

int dbcache_place_cache(const char *dump, const struct stat *sb, const char *why,
                        struct dbcache_place *pl, struct db_error *err)
{
	struct dump_identity id;
	dbcache_identity(dump, sb, &id);
	snprintf(pl->note, sizeof pl->note, "%s", why);
	return place_in_cache(&id, pl, err);
}

int dbcache_place(const char *dump, const struct stat *sb, const char *explicit_db,
                  struct dbcache_place *pl, struct db_error *err)
{
	struct dump_identity id;
	struct dbcache_judgement j;
	memset(pl, 0, sizeof *pl);
	dbcache_identity(dump, sb, &id);
	if (explicit_db) {
		/* The user's choice: reused when usable (a database of another
		 * user is then read defensively), else (re)built there. */
		if ((size_t)snprintf(pl->path, sizeof pl->path, "%s", explicit_db) >=
		    sizeof pl->path)
			return fail(err, 2, explicit_db, "path too long");
		dbcache_judge(pl->path, &id, &j);
		pl->reuse = j.usable;
		return 0;
	}
	const char *env = getenv("PYMPLE_CACHE_DIR");
	if (!(env && *env)) {
		if ((size_t)snprintf(pl->path, sizeof pl->path, "%s.db", dump) < sizeof pl->path) {
			dbcache_judge(pl->path, &id, &j);
			if (j.verdict == DBC_OURS) {
				pl->reuse = 1;
				return 0;
			}
			int writable = dir_writable(dump);
			if ((j.verdict == DBC_ABSENT || j.verdict == DBC_STALE) && writable)
				return 0;
			if (j.verdict == DBC_FOREIGN)
				snprintf(pl->note, sizeof pl->note, "%.300s %s", pl->path, j.why);
			else
				snprintf(pl->note, sizeof pl->note,
				         "the dump's directory is not writable");
		} else {
			snprintf(pl->note, sizeof pl->note, "the dump's name is too long");
		}
	}
	pl->in_cache = 1;
	return place_in_cache(&id, pl, err);
}
