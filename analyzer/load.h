/* load.h — the bulk loader: two passes over a dump with the one reader, the
 * heap model (heap.h) with roots/reachability/cycles in between, rows and the
 * heap into a new SQLite database written atomically (temporary file, then
 * rename). Library code: never prints or exits; failures fill a db_error. */
#ifndef PYMPLE_LOAD_H
#define PYMPLE_LOAD_H

#include <stdint.h>

#include "db.h"

struct load_stats {
	uint64_t objects, refs, missing_refs, roots, unreachable, cycles, types, strings;
	uint64_t dump_bytes;
	double t_pass1, t_graph, t_encode, t_dom, t_pass2, t_indexes, t_index, t_sync,
	        t_total; /* seconds */
	double cpu_main; /* CPU seconds of the loading thread */
	double cpu_dom;  /* CPU seconds of the dominators (in cpu_main) */
	/* and of the other phases of t_* on the loading thread */
	double cpu_pass1, cpu_graph, cpu_encode, cpu_pass2, cpu_indexes;
	double cpu_decoder; /* pass 2's decoding thread (beside cpu_pass2) */
};

/* Loads the dump at `dump` into a new database at `dbpath` (replacing any
 * file there only once the load is complete: the rows go to a temporary
 * file ".pym-<pid>-<n>.tmp" in the same directory, renamed into place
 * after COMMIT; on failure it is removed; temporaries left by a process
 * that no longer exists (kill -9) are removed at the next load into that
 * directory).
 * The refs table is not built (refs_table.h builds it on demand). Refuses (status 2) a dbpath that
 * is the dump itself (same name or inode) or an existing file that is not a pymple database. Not
 * reentrant per dbpath, thread-safe otherwise. progress and stats may be
 * NULL. Returns 0, or -1 with err filled (status 2 for a bad dump or
 * output, 1 for memory/SQLite/file failures). */
int load_dump(const char *dump, const char *dbpath, db_progress_fn progress, void *progress_ctx,
              struct load_stats *stats, struct db_error *err);

/* load_dump with options (bits): LOAD_REFS builds the refs table too
 * (`load --refs`); LOAD_ALL_REFS cuts no strong reference for the dominator
 * tree (`load --dominators=all`; default: references into classes are cut,
 * README: retained size). */
enum { LOAD_REFS = 1, LOAD_ALL_REFS = 2 };
int load_dump_refs(const char *dump, const char *dbpath, int opts, db_progress_fn progress,
                   void *progress_ctx, struct load_stats *stats, struct db_error *err);

/* The memory a load may use (0: no limit), set once by the CLI before any
 * load (--max-memory). A load is refused up front (status 2) when the counts
 * in the dump's trailer say it would need more (LOAD_BYTES_PER_* below),
 * and the reader's own tables are kept within it while it reads. */
extern uint64_t load_max_memory;
#define LOAD_BYTES_PER_OBJECT 100u /* flat arrays, address index, graph passes */
#define LOAD_BYTES_PER_REF    80u  /* edges, reverse index, one object's gathered refs */
#define LOAD_BYTES_PER_STRING 32u  /* the reader's string table, besides the text */

/* Removes the temporary files of a load in progress in this process, if
 * any. Async-signal-safe: meant for a SIGINT/SIGTERM handler (which should
 * then restore the default action and re-raise the signal). */
void load_cleanup_signal_safe(void);

/* FNV-1a 64 of n bytes continuing from h (start with LOAD_FNV_OFFSET). */
#define LOAD_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t load_fnv1a(uint64_t h, const void *p, size_t n);

/* The schema text compiled in from schema/schema.sql. */
extern const char *const load_schema_sql;

#endif
