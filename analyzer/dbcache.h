/* dbcache.h — where the database of a dump lives, and whether a database
 * found there may be trusted: next to the dump (DUMP.db) by default, --db
 * PATH when given, else a per-user cache directory when the dump's directory
 * is not writable or holds a database that is not ours. Library code: never
 * prints or exits; failures fill a struct db_error. */
#ifndef PYMPLE_DBCACHE_H
#define PYMPLE_DBCACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "db.h"

/* What binds a database to the dump it was made from: the dump's device,
 * inode, size, mtime in ns and its TAIL chunk's checksum (has_crc 0 when the
 * file has no trailer where one belongs). */
struct dump_identity {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint32_t crc;
	int has_crc;
};

/* Fills id from sb (the dump's stat) and the last bytes of the file at path.
 * Never fails: a file without a readable trailer gets has_crc = 0. */
void dbcache_identity(const char *path, const struct stat *sb, struct dump_identity *id);

/* The meta rows that bind a database to id ("load.source_dev", ...): n pairs
 * of NUL-terminated key and value, for the loader to store. */
#define DBCACHE_NBIND 5
struct dbcache_binding {
	char key[DBCACHE_NBIND][32];
	char value[DBCACHE_NBIND][48];
};
void dbcache_binding(const struct dump_identity *id, struct dbcache_binding *b);

/* 1 when db's schema (type, name, table and SQL text of every sqlite_master
 * row) is byte for byte one that pymple writes (load_schema_sql up to its
 * `-- @refs` part, or all of it once the refs table is built), 0 when it
 * differs, -1 on an SQLite error. Reads sqlite_master only: no view runs. */
int dbcache_schema_is_ours(sqlite3 *db);

/* What a file at a database path is, for a dump: */
enum dbcache_verdict {
	DBC_ABSENT,  /* no file there */
	DBC_OURS,    /* ours (owner, 0600, our schema, complete, of this layout) and bound to it */
	DBC_STALE,   /* ours to replace: our uid, a pymple database, but not usable as is */
	DBC_FOREIGN, /* not ours: never trusted, never replaced */
};
struct dbcache_judgement {
	enum dbcache_verdict verdict;
	int usable;    /* a complete database of our schema bound to this dump, whoever owns it */
	char why[160]; /* for DBC_FOREIGN/DBC_STALE: "belongs to uid 65534", "has mode 0644", ... */
};
/* Judges the file at dbpath for the dump of identity id (NULL: for no dump,
 * `usable` then ignores the binding). Opens it read-only and defensively. */
void dbcache_judge(const char *dbpath, const struct dump_identity *id, struct dbcache_judgement *j);

/* Where the database of a dump goes. */
struct dbcache_place {
	char path[4200];
	int reuse;      /* 1: an existing database at path is usable for this dump */
	int in_cache;   /* path is in the cache directory */
	char note[512]; /* when it went to the cache directory: why (else "") */
};
/* Chooses the place for dump (stat sb) given the --db path explicit (or
 * NULL): explicit as given; $PYMPLE_CACHE_DIR when set; DUMP.db when it is
 * ours or absent and the directory is writable; the cache directory
 * otherwise ($PYMPLE_CACHE_DIR, $XDG_CACHE_HOME/pymple or ~/.cache/pymple,
 * created 0700 and required to be ours and not writable by others), under a
 * name made of the dump's device, inode, size and mtime. Returns 0, or -1
 * with err filled (status 1: no usable cache directory). */
int dbcache_place(const char *dump, const struct stat *sb, const char *explicit_db,
                  struct dbcache_place *pl, struct db_error *err);

/* The place in the cache directory, with why as the note: for a load next
 * to the dump that could not complete there (another user put a file at
 * DUMP.db while it ran, in a sticky directory). */
int dbcache_place_cache(const char *dump, const struct stat *sb, const char *why,
                        struct dbcache_place *pl, struct db_error *err);

#endif
