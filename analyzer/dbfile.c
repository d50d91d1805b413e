/* dbfile.c — the files of a load (dbfile.h): output check, temporary file,
 * durable rename (temporary name, fsync, rename) and the signal-safe removal
 * of a load's temporary. Never prints. */
#include "dbfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "load.h"
#include "sqlguard.h"

/* The temporary file of the load in progress, for load_cleanup_signal_safe.
 * Written only by the loading thread (path first, then the flag); read by
 * signal handlers. One load at a time per process. */
static char cleanup_path[4200];
static volatile sig_atomic_t cleanup_armed;

void load_cleanup_signal_safe(void)
{
	if (cleanup_armed)
		unlink(cleanup_path);
}

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

/* 1 if the file at path is an SQLite database with pymple's meta keys (a
 * database a load made, complete or of another layout), 0 otherwise. */
static int is_pymple_db(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), yes = 0;
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	if (n != (ssize_t)sizeof head || memcmp(head, magic, sizeof magic) != 0)
		return 0;
	/* meta must be a table (a view of a foreign file could run forever). */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlguard_defend(db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_finalize(st) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key = 'load.version'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		yes = 1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return yes;
}

int dbfile_check_output(const char *dump, const char *dbpath, const struct stat *dump_sb,
                        struct db_error *err)
{
	struct stat sb;
	char eb[128];
	if (strcmp(dump, dbpath) == 0 || (stat(dbpath, &sb) == 0 && sb.st_dev == dump_sb->st_dev &&
	                                  sb.st_ino == dump_sb->st_ino))
		return fail(err, 2, dbpath, "is the dump being loaded: choose another output");
	if (lstat(dbpath, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(err, 2, dbpath, "cannot write: %s", db_errtext(errno, eb, sizeof eb));
	}
	if (S_ISDIR(sb.st_mode))
		return fail(err, 2, dbpath, "cannot write: %s", db_errtext(EISDIR, eb, sizeof eb));
	if (!is_pymple_db(dbpath))
		return fail(err, 2, dbpath,
		            "exists and is not a pymple database: not overwriting it");
	return 0;
}

/* The directory part of path ("" for a bare name, else up to the slash). */
static void dir_of(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t dn = slash ? (size_t)(slash - path) + 1 : 0;
	snprintf(dir, n, "%.*s", (int)dn, path);
}

/* Temporary files are ".pym-<pid>-<n>.tmp" in the directory of the database
 * (older versions also made ".pym-<pid>-<n>-objects.tmp"): short, so that any
 * database name that fits NAME_MAX has temporaries that fit too. Removes
 * those whose process is gone (a load killed with SIGKILL cannot clean up
 * after itself); files of live processes stay. */
#define TMP_PREFIX ".pym-"
static void remove_stale_temporaries(const char *dbpath)
{
	char dir[4096];
	dir_of(dbpath, dir, sizeof dir);
	DIR *d = opendir(dir[0] ? dir : ".");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name, *num = name + strlen(TMP_PREFIX);
		size_t len = strlen(name);
		if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 || len < 4 ||
		    strcmp(name + len - 4, ".tmp") != 0)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(num, &end, 10);
		if (errno || end == num || *end != '-' || pid <= 0 || pid > INT_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive (or not ours to judge) */
		char full[4096 + 256];
		snprintf(full, sizeof full, "%s%s", dir, name);
		unlink(full);
	}
	closedir(d);
}

int dbfile_create_temp(const char *dbpath, char *tmp, size_t n, struct db_error *err)
{
	static atomic_uint seq;
	char eb[128], dir[4096];
	remove_stale_temporaries(dbpath);
	dir_of(dbpath, dir, sizeof dir);
	if (snprintf(tmp, n, "%s" TMP_PREFIX "%ld-%u.tmp", dir, (long)getpid(),
	             atomic_fetch_add(&seq, 1)) >= (int)n - 16)
		return fail(err, 2, dbpath, "path too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, 1, dbpath, "cannot create: %s", db_errtext(errno, eb, sizeof eb));
	close(fd);
	snprintf(cleanup_path, sizeof cleanup_path, "%s", tmp);
	cleanup_armed = 1;
	return 0;
}

int dbfile_commit(const char *tmp, const char *dbpath, struct db_error *err)
{
	char eb[128];
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, 1, dbpath, "cannot sync: %s", db_errtext(e, eb, sizeof eb));
	}
	close(fd);
	cleanup_armed = 0; /* from here on the file is (about to be) the database */
	if (rename(tmp, dbpath) < 0) {
		fail(err, 1, dbpath, "cannot rename the new database into place: %s",
		     db_errtext(errno, eb, sizeof eb));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void dbfile_abort(const char *tmp)
{
	unlink(tmp);
	cleanup_armed = 0;
}
