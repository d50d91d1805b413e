/* load.c — a load from start to end (load.h): pass 1 reads the dump into the
 * heap model (load_records.c, heap_build.c) with roots, reachability and
 * cycles; then, at once, pass 2 streams the objects rows into SQLite
 * (store.c) on this thread while a worker encodes the heap for the database
 * (heap_store.c); the file is built under a temporary name and renamed when
 * complete (dbfile.c). No per-object malloc, no recursion; never prints. */
#include "load.h"

#include <errno.h>
#include <pthread.h>
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

const char *load_errtext(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
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

static void loader_release(struct loader *L)
{
	heap_builder_release(&L->b);
	free(L->thash);
	free(L->tstat);
	free(L->roots);
	L->thash = NULL;
	L->tstat = NULL;
	L->roots = NULL;
}

/* The heap's encoding, on a worker thread beside pass 2 (it only reads). */
struct encode_job {
	const struct heap *h;
	struct heap_image img;
	int rc;
	double cpu;
};

static void *encode_main(void *arg)
{
	struct encode_job *j = arg;
	j->rc = heap_image_encode(j->h, &j->img);
	j->cpu = thread_cpu();
	return NULL;
}

int load_dump(const char *dump, const char *dbpath, db_progress_fn progress_fn, void *progress_ctx,
              struct load_stats *stats, struct db_error *err)
{
	return load_dump_refs(dump, dbpath, 0, progress_fn, progress_ctx, stats, err);
}

int load_dump_refs(const char *dump, const char *dbpath, int with_refs, db_progress_fn progress_fn,
                   void *progress_ctx, struct load_stats *stats, struct db_error *err)
{
	struct loader L;
	struct encode_job job;
	struct load_stats dummy;
	struct stat sb;
	pthread_t tid;
	char tmp[4096], eb[128];
	int rc = -1, worker = 0, have_tmp = 0;
	double t0 = now_seconds(), t1, t2, t3, t4, t5;
	memset(&L, 0, sizeof L);
	memset(&job, 0, sizeof job);
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
	if (stat(dump, &sb) < 0)
		return load_fail(&L, 2, dump, "cannot open: %s",
		                 load_errtext(errno, eb, sizeof eb));
	if (dbfile_check_output(dump, dbpath, &sb, err) < 0 ||
	    dbfile_create_temp(dbpath, tmp, sizeof tmp, err) < 0)
		return -1;
	have_tmp = 1;
	/* Memory statistics cost a mutex per allocation; only possible before
	 * SQLite initializes (SQLITE_MISUSE afterwards, which is harmless). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (store_open_build(&L, tmp) < 0 || load_records(&L) < 0)
		goto out;
	t1 = now_seconds();
	if (heap_builder_finish(&L.b) < 0) {
		load_fail_oom(&L);
		goto out;
	}
	L.b.h.nstrings = (uint32_t)L.strings;
	t2 = now_seconds();
	job.h = &L.b.h;
	if (pthread_create(&tid, NULL, encode_main, &job) == 0)
		worker = 1;
	else
		encode_main(&job); /* no thread: the same work, one after the other */
	if (store_objects(&L) < 0)
		goto out;
	if (L.progress)
		L.progress(L.progress_ctx, 3, 0, 0);
	if (store_schema_part(L.db, "after-load", err, dbpath) < 0)
		goto out;
	if (worker) {
		pthread_join(tid, NULL);
		worker = 0;
	}
	t3 = now_seconds();
	if (job.rc < 0) {
		load_fail_oom(&L);
		goto out;
	}
	if (heap_image_write(L.db, &L.b.h, &job.img, dbpath, err) < 0 ||
	    store_finish_rows(&L, &sb, stats) < 0)
		goto out;
	heap_image_release(&job.img);
	if (with_refs && refs_table_build(L.db, &L.b.h, dbpath, err) < 0)
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
	stats->t_pass2 = t3 - t2;
	stats->t_index = t4 - t3;
	stats->t_sync = t5 - t4;
	stats->t_total = t5 - t0;
	stats->cpu_main = thread_cpu();
	stats->cpu_worker = job.cpu;
	rc = 0;
out:
	if (worker)
		pthread_join(tid, NULL); /* it reads the heap: wait before freeing it */
	if (L.db)
		sqlite3_close(L.db);
	if (have_tmp)
		dbfile_abort(tmp);
	heap_image_release(&job.img);
	loader_release(&L);
	return rc;
}
