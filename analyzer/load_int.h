/* load_int.h — what the files of one load share (load.c orchestrates,
 * load_records.c fills the heap from the dump, store.c writes the rows,
 * dbfile.c handles the files). Not for commands: they use load.h. */
#ifndef PYMPLE_LOAD_INT_H
#define PYMPLE_LOAD_INT_H

#include <stdint.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "db.h"
#include "graph_dom.h"
#include "heap_build.h"
#include "reader.h"

#define PROGRESS_EVERY 65536 /* records between progress calls */

/* Everything one load holds. */
struct loader {
	const char *dump, *dbpath;
	const char *tmppath; /* the file being built (dbpath once complete) */
	struct db_error *err;
	db_progress_fn progress;
	void *progress_ctx;
	sqlite3 *db;
	struct heap_builder b; /* the heap: b.h once built */
	/* per type */
	uint64_t *thash; /* FNV-1a of the type name (identity.c) */
	struct tstat {
		uint64_t count, size, extra, unreach, unreach_size, retained;
	} * tstat;
	uint64_t tcap;
	/* ROOT records, for root_data */
	struct lroot {
		uint64_t addr;
		uint32_t kind;
		int64_t name;
	} * roots;
	uint64_t nroots, rcap;
	uint64_t strings, serials, sites, alloc_objects;
	uint64_t file_size;
	/* dominators (load.c): own[v] = size + extra_size, filled in pass 1,
	 * in 32 bits until the tree needs 64 (4 bytes per object less at the
	 * peaks before it): UINT32_MAX means "in big[]", which holds the
	 * objects of 4 GiB or more; the tree, built before pass 2 writes
	 * objects.idom and .retained */
	uint32_t *own;
	uint64_t owncap;
	struct own_big {
		uint32_t v;
		uint64_t own;
	} * big;
	uint64_t nbig, bigcap;
	struct dom_tree dom;
	int keep_class_refs; /* LOAD_ALL_REFS: no reference is cut */
	double cpu_decoder;  /* pass 2's decoding thread, CPU seconds */
};

/* Fill L->err; return -1 (so callers can `return fail(...)`). */
int load_fail(struct loader *L, int status, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int load_fail_sql(struct loader *L, const char *what);
int load_fail_oom(struct loader *L);
int load_fail_reader(struct loader *L, const struct pym_error *e);
void load_progress(struct loader *L, int pass, struct pym_reader *r);

/* load_records.c: pass 1 — meta, strings and types rows straight into
 * L->db; objects, references and roots into the heap builder. */
int load_records(struct loader *L);

/* store.c: the SQLite side. */
int store_exec(struct loader *L, const char *sql);
/* Runs the schema part named (NULL: the tables, before `-- @after-load`;
 * "after-load", "refs", "refs-index"). */
int store_schema_part(sqlite3 *db, const char *part, struct db_error *err, const char *file);
/* Opens the build database at path into L->db: pragmas for a build-once
 * file, BEGIN, and with create the tables. */
int store_open(struct loader *L, const char *path, int create);
/* Pass 2: the objects rows, streamed from a second read of the dump and
 * written page by page with their index (sqlbulk.h); L->db is closed for it
 * and open again (BEGIN) on success. */
int store_objects(struct loader *L);
/* type_stats, root_data and the load.* meta keys; fills s. */
struct load_stats;
int store_finish_rows(struct loader *L, const struct stat *sb, struct load_stats *s);

/* identity.c: fingerprints (README: diff matching). */
uint64_t identity_fnv_u64(uint64_t h, uint64_t v);

#endif
