/* store.c — the SQLite side of a load: the schema (compiled in from
 * schema/schema.sql, run part by part), the build-once database's pragmas,
 * the objects rows streamed from a second read of the dump, and the
 * per-type totals, roots and meta keys. The only file of a load that names
 * private tables (besides heap_store.c for heap_chunk). Never prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An eponymous virtual table read by one INSERT ... SELECT, so rows go from
 * the reader into the b-tree without a bind/step/reset round per row. */
enum {
	OC_ID,
	OC_ADDRESS,
	OC_TYPE,
	OC_SIZE,
	OC_EXTRA,
	OC_REFCOUNT,
	OC_LENGTH,
	OC_FLAGS,
	OC_VALUE,
	OC_REACHABLE,
	OC_ROOT,
	OC_SCC,
	OC_FINGERPRINT,
	OC_SERIAL
};

struct stream_vtab {
	sqlite3_vtab base;
	struct loader *L;
};

struct stream_cursor {
	sqlite3_vtab_cursor base;
	struct loader *L;
	int eof;
	struct pym_reader *r;
	struct pym_record rec;
	uint32_t v;  /* id of rec's object; ids count from 0 in dump order */
	uint64_t fp; /* rec's fingerprint */
	uint64_t records;
};

static int stream_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **errmsg)
{
	struct stream_vtab *t;
	int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id, address, type_id, size, extra_size,"
	                                  " refcount, length, flags, value, reachable, root, scc,"
	                                  " fingerprint, serial)");
	if (rc != SQLITE_OK)
		return rc;
	t = sqlite3_malloc(sizeof *t);
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof *t);
	t->L = aux;
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
	struct stream_vtab *t = (struct stream_vtab *)vt;
	struct stream_cursor *c = sqlite3_malloc(sizeof *c);
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof *c);
	c->L = t->L;
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static int stream_close(sqlite3_vtab_cursor *cur)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	pym_reader_close(c->r);
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Marks the stream failed (err already filled) for the caller to report. */
static int stream_fail(struct stream_cursor *c)
{
	c->L->stream_failed = 1;
	c->eof = 1;
	return SQLITE_ERROR;
}

/* Reads the next OBJECT record into c->rec; sets eof at the verified end.
 * The dump must be the one pass 1 read: same objects, same references. */
static int stream_object(struct stream_cursor *c)
{
	struct loader *L = c->L;
	const struct heap *h = &L->b.h;
	struct pym_error e = {0};
	int got;
	for (;;) {
		got = pym_reader_next(c->r, &c->rec, &e);
		if (got < 0) {
			load_fail_reader(L, &e);
			return stream_fail(c);
		}
		if (got == 0) {
			if (c->v != h->n) {
				load_fail(L, 2, L->dump,
				          "the dump changed while it was being loaded");
				return stream_fail(c);
			}
			load_progress(L, 2, c->r);
			c->eof = 1;
			return SQLITE_OK;
		}
		if (++c->records % PROGRESS_EVERY == 0)
			load_progress(L, 2, c->r);
		if (c->rec.type != PYM_R_OBJECT)
			continue;
		if (c->v >= h->n || c->rec.addr != h->addr[c->v] ||
		    c->rec.nrefs != h->off[c->v + 1] - h->off[c->v]) {
			load_fail(L, 2, L->dump, "the dump changed while it was being loaded");
			return stream_fail(c);
		}
		return SQLITE_OK;
	}
}

/* The fingerprint (schema.sql: object_data.fingerprint) and the per-type
 * unreachable totals of the current object. */
static void stream_row(struct stream_cursor *c)
{
	struct loader *L = c->L;
	const struct heap *h = &L->b.h;
	const struct pym_record *rec = &c->rec;
	uint64_t x = identity_fnv_u64(LOAD_FNV_OFFSET, L->thash[rec->type_index]);
	x = identity_fnv_u64(x, rec->size);
	x = identity_fnv_u64(x, (rec->flags & PYM_F_LENGTH) ? rec->length : UINT64_MAX);
	if (rec->flags & PYM_F_VALUE)
		x = load_fnv1a(x, rec->value, rec->value_len);
	x = load_fnv1a(x, "", 1);
	for (uint64_t e = h->off[c->v]; e < h->off[c->v + 1]; e++)
		x = identity_fnv_u64(x, h->dst[e] == HEAP_NONE ? 0 : L->thash[h->type[h->dst[e]]]);
	c->fp = x;
	if (!(h->flags[c->v] & HEAP_REACHED) && !(rec->flags & PYM_F_SYNTHETIC)) {
		L->tstat[rec->type_index].unreach++;
		L->tstat[rec->type_index].unreach_size += rec->size;
	}
}

static int stream_filter(sqlite3_vtab_cursor *cur, int idxnum, const char *idxstr, int argc,
                         sqlite3_value **argv)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	struct pym_error e = {0};
	pym_reader_close(c->r);
	c->v = 0;
	c->eof = 0;
	c->r = pym_reader_open(c->L->dump, &e);
	if (!c->r) {
		load_fail_reader(c->L, &e);
		return stream_fail(c);
	}
	int rc = stream_object(c);
	if (rc == SQLITE_OK && !c->eof)
		stream_row(c);
	return rc;
}

static int stream_next(sqlite3_vtab_cursor *cur)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	c->v++;
	int rc = stream_object(c);
	if (rc != SQLITE_OK || c->eof)
		return rc;
	stream_row(c);
	return SQLITE_OK;
}

static int stream_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct stream_cursor *)cur)->eof;
}

static int stream_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct stream_cursor *)cur)->v;
	return SQLITE_OK;
}

static int stream_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	const struct pym_record *rec = &c->rec;
	const struct heap *h = &c->L->b.h;
	switch (col) {
	case OC_ID:
		sqlite3_result_int64(ctx, c->v);
		break;
	case OC_ADDRESS:
		sqlite3_result_int64(ctx, (sqlite3_int64)rec->addr);
		break;
	case OC_TYPE:
		sqlite3_result_int64(ctx, rec->type_index);
		break;
	case OC_SIZE:
		sqlite3_result_int64(ctx, (sqlite3_int64)rec->size);
		break;
	case OC_EXTRA:
		sqlite3_result_int64(ctx,
		                     (rec->flags & PYM_F_EXTRA) ? (sqlite3_int64)rec->extra : 0);
		break;
	case OC_REFCOUNT:
		sqlite3_result_int64(ctx, (sqlite3_int64)rec->refcount);
		break;
	case OC_LENGTH:
		if (rec->flags & PYM_F_LENGTH)
			sqlite3_result_int64(ctx, (sqlite3_int64)rec->length);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_FLAGS:
		sqlite3_result_int64(ctx, rec->flags);
		break;
	case OC_VALUE:
		if (rec->flags & PYM_F_VALUE)
			sqlite3_result_text(ctx, rec->value ? rec->value : "", (int)rec->value_len,
			                    SQLITE_TRANSIENT);
		else
			sqlite3_result_null(ctx);
		break;
	case OC_REACHABLE:
		sqlite3_result_int(ctx, (h->flags[c->v] & HEAP_REACHED) != 0);
		break;
	case OC_ROOT:
		sqlite3_result_int(ctx, (h->flags[c->v] & HEAP_ROOT) != 0);
		break;
	case OC_SCC:
		if (h->scc[c->v] == HEAP_NONE)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_int64(ctx, h->scc[c->v]);
		break;
	case OC_FINGERPRINT:
		sqlite3_result_int64(ctx, (sqlite3_int64)c->fp);
		break;
	case OC_SERIAL:
		if (rec->flags & PYM_F_SERIAL)
			sqlite3_result_int64(ctx, (sqlite3_int64)rec->serial);
		else
			sqlite3_result_null(ctx);
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
	if (sqlite3_create_module_v2(L->db, "pym_objects", &stream_module, L, NULL) != SQLITE_OK)
		return load_fail_sql(L, "cannot register the dump reader");
	L->stream_failed = 0;
	if (sqlite3_exec(L->db,
	                 "INSERT INTO object_data(id, address, type_id, size, extra_size, refcount,"
	                 " length, flags, value, reachable, root, scc, fingerprint, serial)"
	                 " SELECT id, address, type_id, size, extra_size, refcount, length, flags,"
	                 " value, reachable, root, scc, fingerprint, serial FROM pym_objects",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		if (L->stream_failed)
			return -1; /* err says what was wrong with the dump */
		return load_fail_sql(L, "cannot insert");
	}
	return 0;
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
	if (sqlite3_prepare_v2(L->db, "INSERT INTO type_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1,
	                       &ts, NULL) != SQLITE_OK ||
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
	    meta_putu(L, meta, "load.serials", L->serials) < 0)
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
