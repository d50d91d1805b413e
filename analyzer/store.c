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
#include <time.h>

#include "batchring.h"
#include "dbcache.h"
#include "load.h"
#include "load_int.h"
#include "pymple_format.h"
#include "schema_sql.h" /* generated from schema/schema.sql: schema_sql[] */
#include "sqlbulk.h"

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

int store_open(struct loader *L, const char *path, int create)
{
	if (sqlite3_open_v2(path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return load_fail_sql(L, "cannot open");
	/* A build-once database: no journal, no syncs (one fsync at the end), one
	 * writer, a small page cache (appends touch few pages, and index sorts
	 * spill to temporary files instead of growing the heap). The file's
	 * layout is what sqlbulk.c writes into, whatever SQLite's build-time
	 * defaults: no auto-vacuum, UTF-8 (both take effect at creation only). */
	if (store_exec(L, "PRAGMA page_size = 16384; PRAGMA auto_vacuum = NONE;"
	                  " PRAGMA encoding = 'UTF-8'; PRAGMA journal_mode = OFF;"
	                  " PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
	                  " PRAGMA cache_size = -4096; PRAGMA temp_store = FILE;"
	                  " PRAGMA foreign_keys = OFF; BEGIN") < 0 ||
	    (create && store_schema_part(L->db, NULL, L->err, L->dbpath) < 0))
		return -1;
	return 0;
}

/* ---- pass 2: the objects rows ------------------------------------------- */

/* Two threads: a decoder reads the dump again (the one reader), checks each
 * object against pass 1, hashes its own fields for the fingerprint and fills
 * batches of rows; this thread finishes the fingerprints, encodes the rows
 * as SQLite records and packs them into the pages of object_rows and then
 * of its index object_address (sqlbulk.h), with the SQLite connection
 * closed: the file is the load's temporary one, which nothing else opens.
 * Only this thread calls the progress callback. */
/* object_rows.bits above the dump's flags (schema.sql). */
#define ROW_UNREACHABLE (1ull << 32)
#define ROW_ROOT        (1ull << 33)

#define BATCH_ROWS 4096

struct row {
	uint64_t addr, size, extra, refcount, length, serial;
	uint64_t fp; /* the fingerprint over the record's own fields */
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
	struct batchring ring;
	struct batch *b[BATCHRING_N];
	uint32_t *order;     /* the decoder's last work: address_order(), NULL if out of memory */
	struct db_error err; /* the decoder's failure, if any */
	int failed;
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

/* The fingerprint (schema.sql: object_data.fingerprint) of object v, in two
 * halves so that both threads share the work: the decoder hashes the
 * record's own fields, the writer goes on over its referents' types. */
static uint64_t fingerprint_own(const struct loader *L, const struct pym_record *rec)
{
	uint64_t x = identity_fnv_u64(LOAD_FNV_OFFSET, L->thash[rec->type_index]);
	x = identity_fnv_u64(x, rec->size);
	x = identity_fnv_u64(x, (rec->flags & PYM_F_LENGTH) ? rec->length : UINT64_MAX);
	if (rec->flags & PYM_F_VALUE)
		x = load_fnv1a(x, rec->value, rec->value_len);
	return load_fnv1a(x, "", 1);
}

static uint64_t fingerprint_refs(const struct loader *L, uint64_t x, uint32_t v)
{
	const struct heap *h = &L->b.h;
	for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++)
		x = identity_fnv_u64(x, h->dst[e] == HEAP_NONE ? 0 : L->thash[h->type[h->dst[e]]]);
	return x;
}

/* The object ids in the order of index object_address: by address as
 * SQLite compares it (a signed integer), then by id. An LSD radix sort, 16
 * bits at a time, stable, so that equal addresses stay in id order; a digit
 * every object shares is skipped. */
static uint32_t *address_order(const struct heap *h)
{
	uint32_t *a = malloc(((size_t)h->n + 1) * sizeof *a);
	uint32_t *b = malloc(((size_t)h->n + 1) * sizeof *b);
	size_t *count = malloc(65536 * sizeof *count);
	if (!a || !b || !count) {
		free(a);
		free(b);
		free(count);
		return NULL;
	}
	for (uint32_t v = 0; v < h->n; v++)
		a[v] = v;
	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof *count);
		for (uint32_t v = 0; v < h->n; v++)
			count[((h->addr[v] ^ (1ull << 63)) >> shift) & 0xffff]++;
		size_t total = 0, one = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];
			one |= c == h->n;
			count[d] = total;
			total += c;
		}
		if (one)
			continue;
		for (uint32_t i = 0; i < h->n; i++) {
			uint32_t v = a[i];
			b[count[((h->addr[v] ^ (1ull << 63)) >> shift) & 0xffff]++] = v;
		}
		uint32_t *t = a;
		a = b;
		b = t;
	}
	free(b);
	free(count);
	return a;
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
		w->fp = fingerprint_own(L, &rec);
		if (!(h->flags[v] & HEAP_REACHED) && !(rec.flags & PYM_F_SYNTHETIC)) {
			L->tstat[rec.type_index].unreach++; /* only this thread, until joined */
			L->tstat[rec.type_index].unreach_size += rec.size;
		}
		v++;
		if (bt->n == BATCH_ROWS) {
			bt->offset = pym_reader_offset(r);
			if (batchring_publish(&f->ring) < 0)
				goto out;
			slot = (slot + 1) % BATCHRING_N;
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
	if (bt->n && batchring_publish(&f->ring) < 0)
		goto out;
	/* the index's order, while the writer is still at the rows */
	f->order = address_order(h);
out:
	pym_reader_close(r);
	{
		struct timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		L->cpu_decoder = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9; /* read after join */
	}
	batchring_done(&f->ring);
	return NULL;
}

/* Takes the next full batch (NULL at the end or if the decoder failed),
 * giving the previous one back. */
static struct batch *next_batch(struct feed *f)
{
	int slot = batchring_take(&f->ring);
	return slot < 0 ? NULL : f->b[slot];
}

/* One object_rows record (schema.sql): id is the rowid (NULL in the record),
 * the other columns as the view reads them back, in the table's order;
 * the trailing ones that hold their default are left out. */
enum {
	ROW_FIRST_OPTIONAL = 9, /* record columns from length (9) on may be left out */
	ROW_ZERO_DEFAULT = (1u << 10) | (1u << 12), /* retained_in, extra_size: DEFAULT 0 */
};
static void row_record(const struct loader *L, const struct batch *bt, const struct row *w,
                       struct sqlrec *r)
{
	const struct heap *h = &L->b.h;
	uint8_t fl = h->flags[w->id];
	uint32_t d = L->dom.idom[w->id];
	sqlrec_init(r);
	sqlrec_null(r);
	sqlrec_int(r, (int64_t)w->addr);
	sqlrec_int(r, w->type);
	sqlrec_int(r, (int64_t)w->size);
	sqlrec_int(r, (int64_t)w->refcount);
	sqlrec_int(r, (int64_t)(w->flags | ((fl & HEAP_REACHED) ? 0 : ROW_UNREACHABLE) |
	                        ((fl & HEAP_ROOT) ? ROW_ROOT : 0)));
	sqlrec_int(r, (int64_t)fingerprint_refs(L, w->fp, w->id));
	if (d < h->n)
		sqlrec_int(r, (int64_t)w->id - (int64_t)d);
	else
		sqlrec_null(r); /* a virtual root (schema.sql) */
	if (w->flags & PYM_F_VALUE)
		sqlrec_text(r, bt->text ? bt->text + w->value_off : "", w->value_len);
	else
		sqlrec_null(r);
	if (w->flags & PYM_F_LENGTH)
		sqlrec_int(r, (int64_t)w->length);
	else
		sqlrec_null(r);
	/* exact in 64 bits two's complement, like the view's sum */
	sqlrec_int(r, (int64_t)(L->dom.retained[w->id] - w->size - w->extra));
	if (h->scc[w->id] == HEAP_NONE)
		sqlrec_null(r);
	else
		sqlrec_int(r, h->scc[w->id]);
	sqlrec_int(r, (int64_t)w->extra);
	if (w->flags & PYM_F_SERIAL)
		sqlrec_int(r, (int64_t)w->serial);
	else
		sqlrec_null(r);
	if (w->site)
		sqlrec_int(r, w->site);
	else
		sqlrec_null(r);
	sqlrec_trim(r, ROW_FIRST_OPTIONAL, ROW_ZERO_DEFAULT);
}

struct index_ctx {
	const struct heap *h;
	const uint32_t *order;
};

static void address_entry(void *ctx, uint64_t i, struct sqlrec *r)
{
	const struct index_ctx *c = ctx;
	uint32_t v = c->order[i];
	sqlrec_init(r);
	sqlrec_int(r, (int64_t)c->h->addr[v]);
	sqlrec_int(r, v);
}

static int root_page(struct loader *L, const char *name, uint32_t *root)
{
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(L->db, "SELECT rootpage FROM sqlite_schema WHERE name = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return load_fail_sql(L, "cannot read the schema");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 1 &&
	    sqlite3_column_int64(st, 0) <= UINT32_MAX) {
		*root = (uint32_t)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	if (rc < 0)
		load_fail(L, 1, L->dbpath, "internal error: no table %s", name);
	return rc;
}

/* The rows and their index, page by page (sqlbulk.h), while the decoder
 * fills batches. */
static int write_rows(struct loader *L, struct feed *f, uint32_t troot, uint32_t iroot)
{
	struct sqlbulk sb;
	struct sqlrec *rec = malloc(sizeof *rec);
	struct batch *bt;
	uint32_t *order = NULL;
	if (!rec)
		return load_fail_oom(L);
	if (sqlbulk_open(&sb, L->tmppath) < 0) {
		load_fail(L, 1, L->dbpath, "%s", sb.why);
		free(rec);
		return -1;
	}
	if (sqlbulk_table_begin(&sb, troot) < 0)
		goto bulk_fail;
	while ((bt = next_batch(f)) != NULL) {
		for (size_t i = 0; i < bt->n; i++) {
			row_record(L, bt, &bt->rows[i], rec);
			if (sqlbulk_table_add(&sb, bt->rows[i].id, rec) < 0)
				goto bulk_fail;
		}
		if (L->progress)
			L->progress(L->progress_ctx, 2, bt->offset, L->file_size);
	}
	if (f->failed)
		goto out; /* the caller reports the decoder's error */
	if (sqlbulk_table_end(&sb) < 0)
		goto bulk_fail;
	order = f->order; /* the decoder is done (next_batch said so) */
	f->order = NULL;
	if (!order) {
		load_fail_oom(L);
		goto out;
	}
	struct index_ctx ic = {.h = &L->b.h, .order = order};
	if (sqlbulk_index(&sb, iroot, L->b.h.n, address_entry, &ic) < 0)
		goto bulk_fail;
	free(order);
	free(rec);
	if (sqlbulk_close(&sb) < 0)
		return load_fail(L, 1, L->dbpath, "%s", sb.why);
	return 0;
bulk_fail:
	load_fail(L, 1, L->dbpath, "%s", sb.why);
out:
	free(order);
	free(rec);
	sqlbulk_release(&sb);
	return -1;
}

int store_objects(struct loader *L)
{
	struct feed *f;
	pthread_t tid;
	uint32_t troot, iroot;
	int rc = -1;
	/* SQLite writes out everything else first and lets go of the file */
	if (root_page(L, "object_rows", &troot) < 0 || root_page(L, "object_address", &iroot) < 0 ||
	    store_exec(L, "COMMIT") < 0)
		return -1;
	if (sqlite3_close(L->db) != SQLITE_OK)
		return load_fail_sql(L, "cannot close");
	L->db = NULL;
	if (!(f = calloc(1, sizeof *f)))
		return load_fail_oom(L);
	f->L = L;
	batchring_init(&f->ring);
	for (int i = 0; i < BATCHRING_N; i++)
		if (!(f->b[i] = calloc(1, sizeof *f->b[i]))) {
			load_fail_oom(L);
			goto out;
		}
	if (pthread_create(&tid, NULL, decoder_main, f) != 0) {
		load_fail(L, 1, L->dump, "cannot start the decoding thread");
		goto out;
	}
	int wrote = write_rows(L, f, troot, iroot);
	batchring_cancel(&f->ring); /* a decoder still running (writing failed) stops */
	pthread_join(tid, NULL);
	if (f->failed)
		*L->err = f->err; /* what was wrong with the dump */
	else if (wrote == 0)
		rc = store_open(L, L->tmppath, 0);
out:
	for (int i = 0; i < BATCHRING_N; i++)
		if (f->b[i]) {
			free(f->b[i]->text);
			free(f->b[i]);
		}
	batchring_destroy(&f->ring);
	free(f->order);
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
