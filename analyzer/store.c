/* store.c — the SQLite side of a load: the schema (compiled in from
 * schema/schema.sql, run part by part), the build-once database's pragmas,
 * the objects rows streamed from a second read of the dump, and the
 * per-type totals, roots and meta keys. The file of a load that writes the
 * private tables (heap_store.c writes heap_chunk). Never prints. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbcache.h"
#include "load.h"
#include "load_int.h"
#include "pymple_format.h"
#include "schema_sql.h" /* generated from schema/schema.sql: schema_sql[] */

const char *const load_schema_sql = schema_sql;

int store_exec(struct loader *L, const char *sql)
{
	if (sqlite3_exec(L->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return load_fail_sql(L, "cannot set up the database");
	return 0;
}

int store_schema_part(sqlite3 *db, const char *part, struct db_error *err, const char *file)
{
	const char *start = load_schema_sql, *end;
	char mark[64];
	if (part) {
		snprintf(mark, sizeof mark, "\n-- @%s\n", part);
		start = strstr(load_schema_sql, mark);
		if (!start)
			goto bad;
		start += strlen(mark);
	}
	end = strstr(start, "\n-- @");
	if (!end)
		end = start + strlen(start);
	size_t n = (size_t)(end - start);
	char *text = malloc(n + 1);
	if (!text) {
		err->status = 1;
		snprintf(err->file, sizeof err->file, "%s", file);
		snprintf(err->msg, sizeof err->msg, "out of memory");
		return -1;
	}
	memcpy(text, start, n);
	text[n] = 0;
	int rc = sqlite3_exec(db, text, NULL, NULL, NULL);
	free(text);
	if (rc != SQLITE_OK) {
		err->status = 1;
		snprintf(err->file, sizeof err->file, "%s", file);
		snprintf(err->msg, sizeof err->msg, "cannot set up the database: %s",
		         sqlite3_errmsg(db));
		return -1;
	}
	return 0;
bad:
	err->status = 1;
	snprintf(err->file, sizeof err->file, "%s", file);
	snprintf(err->msg, sizeof err->msg, "internal error: schema has no part %s", part);
	return -1;
}

int store_open_build(struct loader *L, const char *path)
{
	if (sqlite3_open_v2(path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return load_fail_sql(L, "cannot open");
	/* A build-once database: no journal, no syncs (one fsync at the end), one
	 * writer, a small page cache (appends touch few pages, and index sorts
	 * spill to temporary files instead of growing the heap). */
	if (store_exec(L, "PRAGMA page_size = 16384; PRAGMA journal_mode = OFF;"
	                  " PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
	                  " PRAGMA cache_size = -4096; PRAGMA temp_store = FILE;"
	                  " PRAGMA foreign_keys = OFF; BEGIN") < 0 ||
	    store_schema_part(L->db, NULL, L->err, L->dbpath) < 0)
		return -1;
	return 0;
}

/* ---- pass 2: the objects rows ------------------------------------------- */

/* Two threads: a decoder reads the dump again (the one reader), checks each
 * object against pass 1, computes its fingerprint and fills batches of rows;
 * this thread inserts them through an eponymous virtual table read by one
 * INSERT ... SELECT (no bind/step/reset round per row). Only this thread
 * touches SQLite and calls the progress callback. */
enum {
	OC_ID,
	OC_ADDRESS,
	OC_TYPE,
	OC_SIZE,
	OC_EXTRA,
	OC_REFCOUNT,
	OC_LENGTH,
	OC_BITS,
	OC_VALUE,
	OC_SCC,
	OC_FINGERPRINT,
	OC_SERIAL,
	OC_SITE,
	OC_IDOM_BACK,
	OC_RETAINED_IN
};

/* object_rows.bits above the dump's flags (schema.sql). */
#define ROW_UNREACHABLE (1ull << 32)
#define ROW_ROOT        (1ull << 33)

#define BATCH_ROWS 4096
#define NBATCH     4

struct row {
	uint64_t addr, size, extra, refcount, length, serial, fp;
	uint32_t id, type, flags, value_len, site;
	size_t value_off;
};

struct batch {
	struct row rows[BATCH_ROWS];
	size_t n;
	char *text; /* the rows' values, back to back */
	size_t text_len, text_cap;
	uint64_t offset; /* dump bytes read when the batch was full */
};

struct feed {
	struct loader *L;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *b[NBATCH];
	size_t head, count;  /* full batches: b[head], b[head + 1], ... (mod NBATCH) */
	int done, cancel;    /* decoder finished (check err); consumer gave up */
	struct db_error err; /* the decoder's failure, if any */
	int failed;
	size_t cur, pos; /* consumer: current batch index, row in it (cur == NBATCH: none) */
	uint64_t rows_taken;
};

static int feed_fail(struct feed *f, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int feed_fail(struct feed *f, int status, const char *fmt, ...)
{
	va_list ap;
	f->err.status = status;
	snprintf(f->err.file, sizeof f->err.file, "%s", f->L->dump);
	va_start(ap, fmt);
	vsnprintf(f->err.msg, sizeof f->err.msg, fmt, ap);
	va_end(ap);
	f->failed = 1;
	return -1;
}

/* The reader's failure, with where it happened (as `-v check` reports it). */
static void feed_reader_fail(struct feed *f, const struct pym_error *e)
{
	char buf[sizeof e->msg];
	feed_fail(f, e->code == PYM_ERR_NOMEM ? 1 : 2, "%s", pym_error_text(e, buf, sizeof buf));
	f->err.offset = e->offset;
	f->err.where = e->where;
}

/* The fingerprint (schema.sql: object_data.fingerprint) of rec, object v. */
static uint64_t fingerprint(const struct loader *L, const struct pym_record *rec, uint32_t v)
{
	const struct heap *h = &L->b.h;
	uint64_t x = identity_fnv_u64(LOAD_FNV_OFFSET, L->thash[rec->type_index]);
	x = identity_fnv_u64(x, rec->size);
	x = identity_fnv_u64(x, (rec->flags & PYM_F_LENGTH) ? rec->length : UINT64_MAX);
	if (rec->flags & PYM_F_VALUE)
		x = load_fnv1a(x, rec->value, rec->value_len);
	x = load_fnv1a(x, "", 1);
	for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++)
		x = identity_fnv_u64(x, h->dst[e] == HEAP_NONE ? 0 : L->thash[h->type[h->dst[e]]]);
	return x;
}

/* Hands the batch just filled over (batches are filled and read in ring
 * order); waits until the next one is free. 0, or -1 if cancelled. */
static int publish(struct feed *f)
{
	pthread_mutex_lock(&f->mu);
	f->count++;
	pthread_cond_broadcast(&f->cv);
	while (f->count == NBATCH && !f->cancel)
		pthread_cond_wait(&f->cv, &f->mu);
	int rc = f->cancel ? -1 : 0;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static void *decoder_main(void *arg)
{
	struct feed *f = arg;
	struct loader *L = f->L;
	const struct heap *h = &L->b.h;
	struct pym_error e = {0};
	struct pym_record rec;
	uint32_t v = 0;
	size_t slot = 0;
	int got;
	struct pym_reader *r = pym_reader_open(L->dump, &e);
	if (!r) {
		feed_reader_fail(f, &e);
		goto out;
	}
	/* Only the objects' own fields: references in pieces (skipped), no
	 * string table; the reader holds one chunk. */
	pym_reader_set_mode(r, PYM_READ_PIECES | PYM_READ_NO_TABLES);
	pym_reader_set_budget(r, load_max_memory);
	struct batch *bt = f->b[slot];
	bt->n = bt->text_len = 0;
	while ((got = pym_reader_next(r, &rec, &e)) == 1) {
		if (rec.type != PYM_R_OBJECT)
			continue;
		if (v >= h->n || rec.addr != h->addr[v] ||
		    rec.refs_total != h->off[v + 1] - h->off[v]) {
			feed_fail(f, 2, "the dump changed while it was being loaded");
			goto out;
		}
		uint32_t vl = (rec.flags & PYM_F_VALUE) ? rec.value_len : 0;
		if (bt->text_len + vl > bt->text_cap) {
			size_t cap = bt->text_cap ? 2 * bt->text_cap : 65536;
			while (cap < bt->text_len + vl)
				cap *= 2;
			char *q = realloc(bt->text, cap);
			if (!q) {
				feed_fail(f, 1, "out of memory loading the dump");
				goto out;
			}
			bt->text = q;
			bt->text_cap = cap;
		}
		struct row *w = &bt->rows[bt->n++];
		w->id = v;
		w->addr = rec.addr;
		w->type = rec.type_index;
		w->size = rec.size;
		w->extra = (rec.flags & PYM_F_EXTRA) ? rec.extra : 0;
		w->refcount = rec.refcount;
		w->length = rec.length;
		w->flags = rec.flags;
		w->serial = rec.serial;
		w->site = rec.site;
		w->value_len = vl;
		w->value_off = bt->text_len;
		if (vl)
			memcpy(bt->text + bt->text_len, rec.value, vl);
		bt->text_len += vl;
		w->fp = fingerprint(L, &rec, v);
		if (!(h->flags[v] & HEAP_REACHED) && !(rec.flags & PYM_F_SYNTHETIC)) {
			L->tstat[rec.type_index].unreach++; /* only this thread, until joined */
			L->tstat[rec.type_index].unreach_size += rec.size;
		}
		v++;
		if (bt->n == BATCH_ROWS) {
			bt->offset = pym_reader_offset(r);
			if (publish(f) < 0)
				goto out;
			slot = (slot + 1) % NBATCH;
			bt = f->b[slot];
			bt->n = bt->text_len = 0;
		}
	}
	if (got < 0) {
		feed_reader_fail(f, &e);
		goto out;
	}
	if (v != h->n) {
		feed_fail(f, 2, "the dump changed while it was being loaded");
		goto out;
	}
	bt->offset = pym_reader_offset(r);
	if (bt->n && publish(f) < 0)
		goto out;
out:
	pym_reader_close(r);
	pthread_mutex_lock(&f->mu);
	f->done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct stream_vtab {
	sqlite3_vtab base;
	struct feed *f;
};

struct stream_cursor {
	sqlite3_vtab_cursor base;
	struct feed *f;
	const struct row *row;
	const struct batch *bt;
	int eof;
};

static int stream_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **errmsg)
{
	struct stream_vtab *t;
	int rc =
	        sqlite3_declare_vtab(db, "CREATE TABLE x(id, address, type_id, size, extra_size,"
	                                 " refcount, length, bits, value, scc, fingerprint, serial,"
	                                 " site, idom_back, retained_in)");
	if (rc != SQLITE_OK)
		return rc;
	t = sqlite3_malloc(sizeof *t);
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof *t);
	t->f = aux;
	*out = &t->base;
	return SQLITE_OK;
}

static int stream_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

static int stream_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	info->estimatedCost = 1e9; /* one full scan; no constraint is used */
	return SQLITE_OK;
}

static int stream_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct stream_cursor *c = sqlite3_malloc(sizeof *c);
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof *c);
	c->f = ((struct stream_vtab *)vt)->f;
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static int stream_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

/* Moves to the next row, waiting for the decoder; sets eof at its end.
 * SQLITE_ERROR if the decoder failed (its err is reported by the caller). */
static int stream_advance(struct stream_cursor *c)
{
	struct feed *f = c->f;
	struct loader *L = f->L;
	if (f->cur < NBATCH && ++f->pos < f->b[f->cur]->n) {
		c->row = &f->b[f->cur]->rows[f->pos];
		return SQLITE_OK;
	}
	pthread_mutex_lock(&f->mu);
	if (f->cur < NBATCH) { /* give the finished batch back */
		f->head = (f->head + 1) % NBATCH;
		f->count--;
		f->cur = NBATCH;
		pthread_cond_broadcast(&f->cv);
	}
	while (f->count == 0 && !f->done)
		pthread_cond_wait(&f->cv, &f->mu);
	int have = f->count > 0, failed = f->failed;
	if (have) {
		f->cur = f->head;
		f->pos = 0;
	}
	pthread_mutex_unlock(&f->mu);
	if (!have) {
		c->eof = 1;
		return failed ? SQLITE_ERROR : SQLITE_OK;
	}
	c->bt = f->b[f->cur];
	c->row = &c->bt->rows[0];
	if (L->progress)
		L->progress(L->progress_ctx, 2, c->bt->offset, L->file_size);
	return SQLITE_OK;
}

static int stream_filter(sqlite3_vtab_cursor *cur, int idxnum, const char *idxstr, int argc,
                         sqlite3_value **argv)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	c->eof = 0;
	return stream_advance(c);
}

static int stream_next(sqlite3_vtab_cursor *cur)
{
	return stream_advance((struct stream_cursor *)cur);
}

static int stream_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct stream_cursor *)cur)->eof;
}

static int stream_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct stream_cursor *)cur)->row->id;
	return SQLITE_OK;
}

static int stream_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	const struct row *w = c->row;
	const struct heap *h = &c->f->L->b.h;
	switch (col) {
	case OC_ID:
		sqlite3_result_int64(ctx, w->id);
		break;
	case OC_ADDRESS:
		sqlite3_result_int64(ctx, (sqlite3_int64)w->addr);
		break;
	case OC_TYPE:
		sqlite3_result_int64(ctx, w->type);
		break;
	case OC_SIZE:
		sqlite3_result_int64(ctx, (sqlite3_int64)w->size);
		break;
	case OC_EXTRA:
		sqlite3_result_int64(ctx, (sqlite3_int64)w->extra);
		break;
	case OC_REFCOUNT:
		sqlite3_result_int64(ctx, (sqlite3_int64)w->refcount);
		break;
	case OC_LENGTH:
		if (w->flags & PYM_F_LENGTH)
			sqlite3_result_int64(ctx, (sqlite3_int64)w->length);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_BITS: {
		uint8_t f = h->flags[w->id];
		sqlite3_result_int64(
		        ctx, (sqlite3_int64)(w->flags | ((f & HEAP_REACHED) ? 0 : ROW_UNREACHABLE) |
		                             ((f & HEAP_ROOT) ? ROW_ROOT : 0)));
		break;
	}
	case OC_VALUE:
		if (w->flags & PYM_F_VALUE)
			sqlite3_result_text(ctx, c->bt->text ? c->bt->text + w->value_off : "",
			                    (int)w->value_len, SQLITE_STATIC);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_SCC:
		if (h->scc[w->id] == HEAP_NONE)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_int64(ctx, h->scc[w->id]);
		break;
	case OC_FINGERPRINT:
		sqlite3_result_int64(ctx, (sqlite3_int64)w->fp);
		break;
	case OC_SERIAL:
		if (w->flags & PYM_F_SERIAL)
			sqlite3_result_int64(ctx, (sqlite3_int64)w->serial);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_SITE:
		if (w->site)
			sqlite3_result_int64(ctx, w->site);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_IDOM_BACK: {
		uint32_t d = c->f->L->dom.idom[w->id];
		if (d < h->n)
			sqlite3_result_int64(ctx, (sqlite3_int64)w->id - (sqlite3_int64)d);
		else
			sqlite3_result_null(ctx); /* a virtual root (schema.sql) */
		break;
	}
	case OC_RETAINED_IN:
		/* exact in 64 bits two's complement, like the view's sum */
		sqlite3_result_int64(
		        ctx, (sqlite3_int64)(c->f->L->dom.retained[w->id] - w->size - w->extra));
		break;
	}
	return SQLITE_OK;
}

/* Eponymous-only (no xCreate): exists as soon as the module is registered. */
static const sqlite3_module stream_module = {
        .iVersion = 1,
        .xConnect = stream_connect,
        .xBestIndex = stream_best_index,
        .xDisconnect = stream_disconnect,
        .xOpen = stream_open,
        .xClose = stream_close,
        .xFilter = stream_filter,
        .xNext = stream_next,
        .xEof = stream_eof,
        .xColumn = stream_column,
        .xRowid = stream_rowid,
};

int store_objects(struct loader *L)
{
	struct feed *f = calloc(1, sizeof *f);
	pthread_t tid;
	int rc = -1, started = 0;
	if (!f)
		return load_fail_oom(L);
	f->L = L;
	f->cur = NBATCH;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	for (int i = 0; i < NBATCH; i++)
		if (!(f->b[i] = calloc(1, sizeof *f->b[i]))) {
			load_fail_oom(L);
			goto out;
		}
	if (sqlite3_create_module_v2(L->db, "pym_objects", &stream_module, f, NULL) != SQLITE_OK) {
		load_fail_sql(L, "cannot register the dump reader");
		goto out;
	}
	if (pthread_create(&tid, NULL, decoder_main, f) != 0) {
		load_fail(L, 1, L->dump, "cannot start the decoding thread");
		goto out;
	}
	started = 1;
	/* The rows come in id order from 0: SQLite numbers them itself (its
	 * append path, no search for the row's place) once a row -1 is there
	 * to count from; that row goes again before the index is built. */
	int sql = sqlite3_exec(L->db,
	                       "INSERT INTO object_rows(id, address, type_id, size, extra_size,"
	                       " refcount, bits, fingerprint, retained_in)"
	                       " VALUES (-1, 0, 0, 0, 0, 0, 0, 0, 0);"
	                       "INSERT INTO object_rows(address, type_id, size, extra_size,"
	                       " refcount, length, bits, value, scc, fingerprint, serial, site,"
	                       " idom_back, retained_in) SELECT address, type_id, size,"
	                       " extra_size, refcount, length, bits, value, scc, fingerprint,"
	                       " serial, site, idom_back, retained_in FROM pym_objects;"
	                       "DELETE FROM object_rows WHERE id = -1",
	                       NULL, NULL, NULL);
	pthread_mutex_lock(&f->mu);
	f->cancel = 1; /* a decoder still running (SQLite failed) stops */
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(tid, NULL);
	started = 0;
	if (f->failed)
		*L->err = f->err; /* what was wrong with the dump */
	else if (sql != SQLITE_OK)
		load_fail_sql(L, "cannot insert");
	else
		rc = 0;
out:
	if (started) {
		pthread_mutex_lock(&f->mu);
		f->cancel = 1;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(tid, NULL);
	}
	/* the module stays registered with f as its data: unregister first */
	sqlite3_create_module_v2(L->db, "pym_objects", NULL, NULL, NULL);
	for (int i = 0; i < NBATCH; i++)
		if (f->b[i]) {
			free(f->b[i]->text);
			free(f->b[i]);
		}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	return rc;
}

/* ---- per-type totals, roots, meta ---------------------------------------- */

static int step_done(struct loader *L, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return load_fail_sql(L, "cannot insert");
	return 0;
}

static int meta_put(struct loader *L, sqlite3_stmt *st, const char *k, const char *v)
{
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
	return step_done(L, st);
}

static int meta_putu(struct loader *L, sqlite3_stmt *st, const char *k, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	return meta_put(L, st, k, buf);
}

int store_finish_rows(struct loader *L, const struct stat *sb, struct load_stats *s)
{
	const struct heap *h = &L->b.h;
	sqlite3_stmt *ts = NULL, *rt = NULL, *meta = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(L->db, "INSERT INTO type_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                       -1, &ts, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(L->db,
	                       "INSERT INTO root_data(object, address, kind, name) VALUES (?1, ?2,"
	                       " ?3, (SELECT text FROM strings WHERE id = ?4))",
	                       -1, &rt, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(L->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1,
	                       &meta, NULL) != SQLITE_OK) {
		load_fail_sql(L, "cannot prepare an insert");
		goto out;
	}
	for (uint32_t t = 0; t < h->ntypes; t++) {
		const struct tstat *x = &L->tstat[t];
		if (!x->count)
			continue;
		sqlite3_bind_int64(ts, 1, t);
		sqlite3_bind_int64(ts, 2, (sqlite3_int64)x->count);
		sqlite3_bind_int64(ts, 3, (sqlite3_int64)x->size);
		sqlite3_bind_int64(ts, 4, (sqlite3_int64)x->extra);
		sqlite3_bind_int64(ts, 5, (sqlite3_int64)x->unreach);
		sqlite3_bind_int64(ts, 6, (sqlite3_int64)x->unreach_size);
		sqlite3_bind_int64(ts, 7, (sqlite3_int64)x->retained);
		if (step_done(L, ts) < 0)
			goto out;
	}
	for (size_t i = 0; i < L->nroots; i++) {
		uint32_t t = L->b.named_id[i]; /* ROOT records, in order */
		if (t == HEAP_NONE)
			sqlite3_bind_null(rt, 1);
		else
			sqlite3_bind_int64(rt, 1, t);
		sqlite3_bind_int64(rt, 2, (sqlite3_int64)L->roots[i].addr);
		sqlite3_bind_int64(rt, 3, L->roots[i].kind);
		sqlite3_bind_int64(rt, 4, L->roots[i].name);
		if (step_done(L, rt) < 0)
			goto out;
	}
	uint64_t nroot = 0, unreach = 0;
	for (uint32_t v = 0; v < h->n; v++) {
		nroot += (h->flags[v] & HEAP_ROOT) != 0;
		unreach += !(h->flags[v] & HEAP_REACHED);
	}
	char mt[64];
	snprintf(mt, sizeof mt, "%lld.%09ld", (long long)sb->st_mtim.tv_sec,
	         (long)sb->st_mtim.tv_nsec);
	if (meta_put(L, meta, "load.source", L->dump) < 0 ||
	    meta_putu(L, meta, "load.source_size", (uint64_t)sb->st_size) < 0 ||
	    meta_put(L, meta, "load.source_mtime", mt) < 0 ||
	    meta_put(L, meta, "load.version", DB_LAYOUT_VERSION) < 0 ||
	    meta_putu(L, meta, "load.objects", h->n) < 0 ||
	    meta_putu(L, meta, "load.refs", h->m) < 0 ||
	    meta_putu(L, meta, "load.missing_refs", h->nmissing) < 0 ||
	    meta_putu(L, meta, "load.duplicate_addresses", L->b.dups) < 0 ||
	    meta_putu(L, meta, "load.roots", nroot) < 0 ||
	    meta_putu(L, meta, "load.unreachable", unreach) < 0 ||
	    meta_putu(L, meta, "load.cycles", h->ncycles) < 0 ||
	    meta_putu(L, meta, "load.serials", L->serials) < 0 ||
	    meta_putu(L, meta, "load.sites", L->sites) < 0 ||
	    meta_putu(L, meta, "load.alloc_objects", L->alloc_objects) < 0 ||
	    meta_put(L, meta, "dominators.cut", L->keep_class_refs ? "none" : "classes") < 0 ||
	    meta_putu(L, meta, "dominators.reachable", L->dom.super_total) < 0 ||
	    meta_putu(L, meta, "dominators.unreachable", L->dom.garbage_total) < 0)
		goto out;
	struct dump_identity id; /* binds the database to this state of the dump */
	struct dbcache_binding bind;
	dbcache_identity(L->dump, sb, &id);
	dbcache_binding(&id, &bind);
	for (int i = 0; i < DBCACHE_NBIND; i++)
		if (meta_put(L, meta, bind.key[i], bind.value[i]) < 0)
			goto out;
	s->objects = h->n;
	s->refs = h->m;
	s->missing_refs = h->nmissing;
	s->roots = nroot;
	s->unreachable = unreach;
	s->cycles = h->ncycles;
	s->types = h->ntypes;
	s->strings = L->strings;
	s->dump_bytes = (uint64_t)sb->st_size;
	rc = 0;
out:
	sqlite3_finalize(ts);
	sqlite3_finalize(rt);
	sqlite3_finalize(meta);
	return rc;
}
