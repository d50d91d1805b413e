/* load.c — a load from start to end (load.h): pass 1 reads the dump into the
 * heap model (load_records.c with its decoding thread, heap_build.c) with
 * roots, reachability and cycles; the heap is encoded into the database
 * (heap_store.c); the dominator tree gives retained sizes (graph_dom.h);
 * pass 2 reads the dump again for the objects rows, which go into the file
 * page by page (store.c, sqlbulk.c); the file is built under a temporary
 * name and renamed when complete (dbfile.c). No per-object malloc, no
 * recursion; never prints. */
#include "load.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dbfile.h"
#include "heap_store.h"
#include "load_int.h"
#include "refs_table.h"

uint64_t load_max_memory; /* set once by the CLI before any load */

int load_fail(struct loader *L, int status, const char *file, const char *fmt, ...)
{
	va_list ap;
	L->err->status = status;
	snprintf(L->err->file, sizeof L->err->file, "%s", file);
	va_start(ap, fmt);
	vsnprintf(L->err->msg, sizeof L->err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int load_fail_sql(struct loader *L, const char *what)
{
	return load_fail(L, 1, L->dbpath, "%s: %s", what,
	                 L->db ? sqlite3_errmsg(L->db) : "out of memory");
}

int load_fail_oom(struct loader *L)
{
	return load_fail(L, 1, L->dump, "out of memory loading the dump");
}

int load_fail_reader(struct loader *L, const struct pym_error *e)
{
	int status = e->code == PYM_ERR_NOMEM ? 1 : 2;
	char buf[sizeof e->msg];
	load_fail(L, status, L->dump, "%s", pym_error_text(e, buf, sizeof buf));
	L->err->offset = e->offset;
	L->err->where = e->where;
	return -1;
}

void load_progress(struct loader *L, int pass, struct pym_reader *r)
{
	if (L->progress)
		L->progress(L->progress_ctx, pass, pym_reader_offset(r), L->file_size);
}

/* Says which step of the load starts (db.h: DB_PROGRESS_*). */
static void step(struct loader *L, int which)
{
	if (L->progress)
		L->progress(L->progress_ctx, which, 0, 0);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The dominator tree of the strong references (README: retained size):
 * weak references never count; unless keep_class_refs, references INTO
 * class objects are cut too (the cycle rule of schema.sql, for the same
 * reason: every instance holds its class). Objects that only cut
 * references keep alive hang off the super-root; unreachable ones form the
 * garbage root's tree. dom_prepare() builds the masks (it reads the
 * references' kinds), dom_finish() the tree into L->dom and the per-type
 * retained sizes; it frees L->own. */
struct dom_prep {
	uint8_t *skip, *is_root, *live;
};

static void dom_prep_release(struct dom_prep *p)
{
	free(p->skip);
	free(p->is_root);
	free(p->live);
	memset(p, 0, sizeof *p);
}

static int dom_prepare(struct loader *L, struct dom_prep *p)
{
	const struct heap *h = &L->b.h;
	int cut = !L->keep_class_refs;
	p->skip = malloc((size_t)h->m + 1);
	p->is_root = malloc((size_t)h->n + 1);
	p->live = malloc((size_t)h->n + 1);
	if (!p->skip || !p->is_root || !p->live)
		return -1;
	/* The heap's own forward CSR with a mask, not a copy (1 byte per
	 * reference instead of 12): weak references, references to addresses
	 * not in the dump (their target is never read) and, by default,
	 * references into classes are skipped. */
	for (uint64_t e = 0; e < h->m; e++) {
		uint32_t t = h->dst[e];
		p->skip[e] = t == HEAP_NONE || h->kind[e] == HEAP_REF_WEAK ||
		             (cut && (h->flags[t] & HEAP_TYPEOBJ));
	}
	for (uint32_t v = 0; v < h->n; v++) {
		p->is_root[v] = (h->flags[v] & HEAP_ROOT) != 0;
		p->live[v] = (h->flags[v] & HEAP_REACHED) != 0;
	}
	return 0;
}

static int dom_finish(struct loader *L, struct dom_prep *p)
{
	struct heap *h = &L->b.h;
	struct graph g = {.n = h->n, .m = h->m, .off = h->off, .dst = h->dst};
	uint32_t *idom = malloc(((size_t)h->n + 1) * sizeof *idom);
	uint64_t *own = NULL;
	int rc = -1;
	if (!idom)
		goto out;
	struct dom_input in = {.g = &g, .is_root = p->is_root, .live = p->live, .skip = p->skip};
	if (dom_idom(&in, idom) < 0)
		goto out;
	dom_prep_release(p);
	/* own in 64 bits, now that dom_idom's working memory is gone */
	own = malloc(((size_t)h->n + 1) * sizeof *own);
	if (!own)
		goto out;
	for (uint32_t v = 0; v < h->n; v++)
		own[v] = L->own[v];
	for (uint64_t i = 0; i < L->nbig; i++)
		own[L->big[i].v] = L->big[i].own;
	free(L->own);
	L->own = NULL;
	if (dom_tree_from_idom_unsorted(&L->dom, h->n, idom, own) < 0)
		goto out;
	free(own);
	own = NULL;
	/* type_stats.retained: per type, nothing counted twice within it; thread
	 * and frame records are not counted (as in type_stats). idom is free now. */
	uint64_t *by_type = calloc((size_t)h->ntypes + 1, sizeof *by_type);
	if (!by_type)
		goto out;
	for (uint32_t v = 0; v < h->n; v++)
		idom[v] = (h->flags[v] & HEAP_SYNTHETIC) ? GRAPH_NONE : h->type[v];
	if (dom_group_retained(&L->dom, idom, h->ntypes, by_type) < 0) {
		free(by_type);
		goto out;
	}
	for (uint32_t t = 0; t < h->ntypes; t++)
		L->tstat[t].retained = by_type[t];
	free(by_type);
	/* Pass 2 needs the tree's idom and retained arrays only. */
	free(L->dom.kid_off);
	free(L->dom.kids);
	L->dom.kid_off = L->dom.kids = NULL;
	rc = 0;
out:
	dom_prep_release(p);
	free(idom);
	free(own);
	free(L->own);
	L->own = NULL;
	return rc;
}

/* glibc's malloc tuning, unless a sanitizer owns malloc (glibc's heap is
 * then never set up, and malloc_trim() reads a null arena). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYM_NO_MALLOC_TUNING 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define PYM_NO_MALLOC_TUNING 1
#endif

/* Before the dominator tree's working memory (the peak of the load): the
 * rows so far are committed, so SQLite's page cache holds only clean pages
 * and can give them back, and glibc returns the free pages inside its heap
 * (pass 1's growth, the encoder's buffers) to the system. Without this the
 * freed memory stays resident, and the dominator arrays come on top of it.
 * The file is still the temporary one: the load stays atomic. */
static int give_back_memory(struct loader *L)
{
	if (store_exec(L, "COMMIT") < 0)
		return -1;
	sqlite3_db_release_memory(L->db);
#ifndef PYM_NO_MALLOC_TUNING
	malloc_trim(0);
#endif
	return store_exec(L, "BEGIN");
}

/* Once the heap is encoded, what only the encoding and `--refs` read:
 * labels, kinds and missing addresses (counts kept). */
static void drop_labels(struct heap *h)
{
	free(h->label);
	free(h->kind);
	free(h->wide);
	free(h->missing);
	h->label = NULL;
	h->kind = NULL;
	h->wide = NULL;
	h->missing = NULL;
}

static void loader_release(struct loader *L)
{
	dom_tree_release(&L->dom);
	free(L->own);
	free(L->big);
	L->own = NULL;
	L->big = NULL;
	heap_builder_release(&L->b);
	free(L->thash);
	free(L->tstat);
	free(L->roots);
	L->thash = NULL;
	L->tstat = NULL;
	L->roots = NULL;
}

int load_dump(const char *dump, const char *dbpath, db_progress_fn progress_fn, void *progress_ctx,
              struct load_stats *stats, struct db_error *err)
{
	return load_dump_refs(dump, dbpath, 0, progress_fn, progress_ctx, stats, err);
}

int load_dump_refs(const char *dump, const char *dbpath, int opts, db_progress_fn progress_fn,
                   void *progress_ctx, struct load_stats *stats, struct db_error *err)
{
	struct loader L;
	struct heap_image img;
	struct load_stats dummy;
	struct stat sb;
	char tmp[4096], eb[128];
	int rc = -1, have_tmp = 0;
	double t0 = now_seconds(), t1, t2, t2p, t2d, t2i, t3, t4, t5, c2p, c2d;
	double c0 = thread_cpu(), c1, c2, c2i, c3;
	struct dom_prep prep = {0};
	memset(&L, 0, sizeof L);
	memset(&img, 0, sizeof img);
	heap_builder_init(&L.b);
	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof *stats);
	memset(err, 0, sizeof *err);
	L.dump = dump;
	L.dbpath = dbpath;
	L.err = err;
	L.progress = progress_fn;
	L.progress_ctx = progress_ctx;
	L.keep_class_refs = (opts & LOAD_ALL_REFS) != 0;
	if (stat(dump, &sb) < 0)
		return load_fail(&L, 2, dump, "cannot open: %s", db_errtext(errno, eb, sizeof eb));
	if (dbfile_check_output(dump, dbpath, &sb, err) < 0 ||
	    dbfile_create_temp(dbpath, tmp, sizeof tmp, err) < 0)
		return -1;
	have_tmp = 1;
	/* Memory statistics cost a mutex per allocation; only possible before
	 * SQLite initializes (SQLITE_MISUSE afterwards, which is harmless). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
#ifndef PYM_NO_MALLOC_TUNING
	/* One malloc arena for the load's threads (the heap encoder, the pass-2
	 * decoder): what they free goes back where give_back_memory() returns
	 * it to the system; a thread's own arena kept 4 MB resident through the
	 * dominators on a 770k-object heap. Their allocations are few and big. */
	mallopt(M_ARENA_MAX, 1);
#endif
	L.tmppath = tmp;
	if (store_open(&L, tmp, 1) < 0 || load_records(&L) < 0)
		goto out;
	t1 = now_seconds();
	c1 = thread_cpu();
	step(&L, DB_PROGRESS_GRAPH);
	if (give_back_memory(&L) < 0)
		goto out;
	if (heap_builder_finish(&L.b) < 0) {
		load_fail_oom(&L);
		goto out;
	}
	L.b.h.nstrings = (uint32_t)L.strings;
	t2 = now_seconds();
	c2 = thread_cpu();
	step(&L, DB_PROGRESS_HEAP);
	/* The heap is encoded and written first, then the labels go (unless
	 * --refs needs them), and only then comes the dominator tree's working
	 * memory: the peak of the load. */
	if (heap_image_encode(&L.b.h, &img) < 0) {
		load_fail_oom(&L);
		goto out;
	}
	if (heap_image_write(L.db, &L.b.h, &img, dbpath, err) < 0)
		goto out;
	heap_image_release(&img);
	if (give_back_memory(&L) < 0)
		goto out;
	t2p = now_seconds();
	c2p = thread_cpu();
	step(&L, DB_PROGRESS_DOM);
	if (dom_prepare(&L, &prep) < 0) {
		load_fail_oom(&L);
		goto out;
	}
	if (!(opts & LOAD_REFS))
		drop_labels(&L.b.h);
	if (dom_finish(&L, &prep) < 0) {
		load_fail_oom(&L);
		goto out;
	}
	t2d = now_seconds();
	c2d = thread_cpu();
	if (store_objects(&L) < 0)
		goto out;
	step(&L, DB_PROGRESS_FINISH);
	t2i = now_seconds();
	c2i = thread_cpu();
	if (store_schema_part(L.db, "after-load", err, dbpath) < 0)
		goto out;
	t3 = now_seconds();
	c3 = thread_cpu();
	if (store_finish_rows(&L, &sb, stats) < 0)
		goto out;
	if ((opts & LOAD_REFS) && refs_table_build(L.db, &L.b.h, dbpath, err) < 0)
		goto out;
	if (store_exec(&L, "INSERT OR REPLACE INTO meta VALUES ('load.complete', '1'); COMMIT") < 0)
		goto out;
	loader_release(&L);
	if (sqlite3_close(L.db) != SQLITE_OK) {
		load_fail_sql(&L, "cannot close");
		goto out;
	}
	L.db = NULL;
	t4 = now_seconds();
	have_tmp = 0;
	if (dbfile_commit(tmp, dbpath, err) < 0)
		goto out;
	t5 = now_seconds();
	stats->t_pass1 = t1 - t0;
	stats->t_graph = t2 - t1;
	stats->t_dom = t2d - t2p;
	stats->cpu_dom = c2d - c2p;
	stats->t_encode = t2p - t2; /* and its writing */
	stats->t_pass2 = t2i - t2d;
	stats->t_indexes = t3 - t2i;
	stats->t_index = t4 - t3;
	stats->t_sync = t5 - t4;
	stats->t_total = t5 - t0;
	stats->cpu_main = thread_cpu() - c0;
	stats->cpu_pass1 = c1 - c0;
	stats->cpu_graph = c2 - c1;
	stats->cpu_encode = c2p - c2;
	stats->cpu_pass2 = c2i - c2d;
	stats->cpu_indexes = c3 - c2i;
	stats->cpu_decoder = L.cpu_decoder;
	rc = 0;
out:
	if (L.db)
		sqlite3_close(L.db);
	if (have_tmp)
		dbfile_abort(tmp);
	heap_image_release(&img);
	dom_prep_release(&prep);
	loader_release(&L);
	return rc;
}
