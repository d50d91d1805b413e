/* load.c — bulk load of a dump into SQLite (load.h). Pass 1 reads the dump
 * into flat arrays (addresses, types, the strong-edge CSR), then roots,
 * reachability and SCC run in memory (graph.h); pass 2 reads the dump again
 * and streams the rows. No per-object malloc, no recursion; never prints. */
#include "load.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "pymple_format.h"
#include "reader.h"
#include "schema_sql.h" /* generated from schema/schema.sql: schema_sql[] */

const char *const load_schema_sql = schema_sql;

#define NO_ID UINT32_MAX

/* The temporary files of the load in progress, for load_cleanup_signal_safe.
 * Written only by load_dump on the loading thread (paths first, then the
 * flag); read by signal handlers. One load at a time per process. */
static char cleanup_main[4200], cleanup_side[4200];
static volatile sig_atomic_t cleanup_armed;

void load_cleanup_signal_safe(void)
{
	if (!cleanup_armed)
		return;
	unlink(cleanup_side);
	unlink(cleanup_main);
}
#define PROGRESS_EVERY 65536 /* records between progress calls */

uint64_t load_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (unsigned char)(v >> (8 * i));
		h *= 0x100000001b3ull;
	}
	return h;
}

/* strerror text with a lower-case first letter (the house error style). */
static const char *errtext(int e, char *buf, size_t n)
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

/* Everything one load holds. Arrays are indexed by object id (dump order). */
struct loader {
	const char *dump, *dbpath;
	struct db_error *err;
	db_progress_fn progress;
	void *progress_ctx;
	sqlite3 *db;
	/* per object */
	uint32_t n, ncap;
	uint64_t *addr;
	uint32_t *type;
	uint32_t *refcount; /* clamped to UINT32_MAX; freed after the roots */
	uint8_t *root;
	uint8_t *reached;
	uint32_t *comp;
	/* strong edges, CSR by source: targets of object v are edge[off[v]..off[v+1]) */
	uint64_t *off;
	uint64_t m, mcap;
	uint64_t *edge; /* every reference's target address in pass 1 (dump order),
	                   then the strong in-dump targets as uint32 ids in place */
	uint8_t *weak;  /* bit i set: reference i is weak (pass 1 to graph phase) */
	uint64_t wcap;
	/* per reference in dump order: its target's id or NO_ID (not in the
	 * dump); resolved once in the graph phase, read by both pass-2 streams */
	uint32_t *rid;
	/* ref_in rows: the references into object t are in_src/in_seq[in_start[t]
	 * .. in_start[t + 1]); built in the graph phase, written by the worker */
	uint32_t *in_start, *in_src, *in_seq;
	uint64_t in_n;
	/* address -> id, open addressing, slots hold ids */
	uint32_t *slot;
	uint64_t mask;
	int bits;
	/* per type */
	uint32_t ntypes, tcap;
	uint64_t *thash; /* FNV-1a of the type name */
	struct tstat {
		uint64_t count, size, extra, unreach, unreach_size;
	} *tstat;
	/* ROOT records */
	struct lroot {
		uint64_t addr;
		uint32_t kind;
		int64_t name;
	} *roots;
	size_t nroots, rcap;
	uint64_t strings, refs_total, missing, dup_addr, serials;
	/* addresses of the type objects (TYPE records), for the SCC rule */
	uint64_t *taddr;
	uint64_t file_size;
	uint32_t ncomp;
	int stream_failed; /* a pass-2 stream filled err (reader or consistency) */
};

/* Fills err; returns -1 so callers can `return fail(...)`. */
__attribute__((format(printf, 4, 5))) static int fail(struct loader *L, int status,
                                                      const char *file, const char *fmt, ...)
{
	va_list ap;
	L->err->status = status;
	snprintf(L->err->file, sizeof L->err->file, "%s", file);
	va_start(ap, fmt);
	vsnprintf(L->err->msg, sizeof L->err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_sql(struct loader *L, const char *what)
{
	return fail(L, 1, L->dbpath, "%s: %s", what, L->db ? sqlite3_errmsg(L->db) : "out of memory");
}

static int fail_oom(struct loader *L)
{
	return fail(L, 1, L->dump, "out of memory loading the dump");
}

static int fail_reader(struct loader *L, const struct pym_error *e)
{
	int status = e->code == PYM_ERR_NOMEM ? 1 : 2;
	char buf[sizeof e->msg];
	return fail(L, status, L->dump, "%s", pym_error_text(e, buf, sizeof buf));
}

/* Grows *p (elements of size sz) to hold at least need elements. */
static int grow(void *pp, size_t sz, uint64_t need, uint64_t *cap)
{
	void **p = pp;
	if (need <= *cap)
		return 0;
	uint64_t c = *cap ? *cap : 1024;
	while (c < need)
		c += c / 2 + 1024;
	if (c > SIZE_MAX / sz)
		return -1;
	void *q = realloc(*p, (size_t)(c * sz));
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int grow_objects(struct loader *L)
{
	uint64_t cap = L->ncap, need = (uint64_t)L->n + 1;
	if (need <= cap)
		return 0;
	if (need >= NO_ID)
		return -1;
	uint64_t c = cap ? cap : 65536;
	while (c < need)
		c += c / 2;
	if (c >= NO_ID)
		c = NO_ID - 1;
	uint64_t c0;
	c0 = cap;
	if (grow(&L->addr, sizeof *L->addr, c, &c0) < 0)
		return -1;
	c0 = cap;
	if (grow(&L->type, sizeof *L->type, c, &c0) < 0)
		return -1;
	c0 = cap;
	if (grow(&L->refcount, sizeof *L->refcount, c, &c0) < 0)
		return -1;
	c0 = cap;
	if (grow(&L->root, sizeof *L->root, c, &c0) < 0)
		return -1;
	c0 = cap;
	if (grow(&L->off, sizeof *L->off, c + 1, &c0) < 0)
		return -1;
	L->ncap = (uint32_t)c;
	return 0;
}

static inline uint64_t addr_hash(uint64_t a, int bits)
{
	/* Objects are 16-byte aligned: drop the low bits, then Fibonacci hashing. */
	return ((a >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - bits);
}

/* Builds the address index over L->addr[0..n). First occurrence wins if an
 * address repeats (a corrupt or racing dump): counted in dup_addr. */
static int index_build(struct loader *L)
{
	int bits = 4;
	while (bits < 40 && ((uint64_t)1 << bits) < 2 * (uint64_t)L->n)
		bits++;
	L->bits = bits;
	L->mask = ((uint64_t)1 << bits) - 1;
	L->slot = malloc(((size_t)1 << bits) * sizeof *L->slot);
	if (!L->slot)
		return -1;
	memset(L->slot, 0xff, ((size_t)1 << bits) * sizeof *L->slot);
	for (uint32_t v = 0; v < L->n; v++) {
		uint64_t a = L->addr[v], h = addr_hash(a, bits);
		for (;;) {
			uint32_t s = L->slot[h];
			if (s == NO_ID) {
				L->slot[h] = v;
				break;
			}
			if (L->addr[s] == a) {
				L->dup_addr++;
				break;
			}
			h = (h + 1) & L->mask;
		}
	}
	return 0;
}

static inline uint32_t index_find(const struct loader *L, uint64_t a)
{
	uint64_t h = addr_hash(a, L->bits);
	for (;;) {
		uint32_t s = L->slot[h];
		if (s == NO_ID || L->addr[s] == a)
			return s;
		h = (h + 1) & L->mask;
	}
}

static int exec(struct loader *L, const char *sql)
{
	if (sqlite3_exec(L->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail_sql(L, "cannot set up the database");
	return 0;
}

static int prep(struct loader *L, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(L->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return fail_sql(L, "cannot prepare an insert");
	return 0;
}

static int step_done(struct loader *L, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail_sql(L, "cannot insert");
	return 0;
}

static int meta_put(struct loader *L, sqlite3_stmt *st, const char *k, size_t kn, const char *v,
                    size_t vn)
{
	sqlite3_bind_text(st, 1, k, (int)kn, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, (int)vn, SQLITE_STATIC);
	return step_done(L, st);
}

static int meta_putu(struct loader *L, sqlite3_stmt *st, const char *k, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	return meta_put(L, st, k, strlen(k), buf, (size_t)n);
}

static void progress(struct loader *L, int pass, struct pym_reader *r)
{
	if (L->progress)
		L->progress(L->progress_ctx, pass, pym_reader_offset(r), L->file_size);
}

/* Pass 1: meta, strings and types go straight to SQLite; objects, strong
 * edges and roots into the flat arrays. */
static int pass1(struct loader *L)
{
	struct pym_error e = {0};
	struct pym_record rec;
	sqlite3_stmt *meta = NULL, *str = NULL, *typ = NULL, *nam = NULL;
	uint64_t count = 0;
	int rc = -1, got;
	struct pym_reader *r = pym_reader_open(L->dump, &e);
	if (!r)
		return fail_reader(L, &e);
	L->file_size = pym_reader_file_size(r);
	if (prep(L, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &meta) < 0 ||
	    prep(L, "INSERT INTO strings(id, text) VALUES (?1, ?2)", &str) < 0 ||
	    prep(L, "INSERT INTO types(id, name, address) VALUES (?1, ?2, ?3)", &typ) < 0 ||
	    prep(L, "INSERT INTO names(address, kind, name) VALUES (?1, ?2, ?3)", &nam) < 0)
		goto out;
	L->off = NULL;
	while ((got = pym_reader_next(r, &rec, &e)) == 1) {
		if (++count % PROGRESS_EVERY == 0)
			progress(L, 1, r);
		switch (rec.type) {
		case PYM_R_OBJECT: {
			if (rec.type_index >= L->ntypes) {
				fail(L, 2, L->dump, "corrupt: object at 0x%llx has unknown type %u",
				     (unsigned long long)rec.addr, rec.type_index);
				goto out;
			}
			uint64_t wneed = (L->m + rec.nrefs + 7) / 8;
			if (grow_objects(L) < 0 ||
			    grow(&L->edge, sizeof *L->edge, L->m + rec.nrefs, &L->mcap) < 0 ||
			    grow(&L->weak, 1, wneed, &L->wcap) < 0) {
				fail_oom(L);
				goto out;
			}
			uint32_t v = L->n++;
			L->addr[v] = rec.addr;
			L->type[v] = rec.type_index;
			L->refcount[v] = rec.refcount >= UINT32_MAX ? UINT32_MAX : (uint32_t)rec.refcount;
			L->root[v] = (rec.flags & PYM_F_SYNTHETIC) != 0;
			L->serials += (rec.flags & PYM_F_SERIAL) != 0;
			L->off[v] = L->m;
			for (uint32_t i = 0; i < rec.nrefs; i++) {
				uint64_t k = L->m++;
				L->edge[k] = rec.refs[i].addr;
				if (rec.refs[i].kind == PYM_LABEL_WEAK)
					L->weak[k / 8] |= (uint8_t)(1u << (k % 8));
				else
					L->weak[k / 8] &= (uint8_t)~(1u << (k % 8));
			}
			L->refs_total += rec.nrefs;
			if (!(rec.flags & PYM_F_SYNTHETIC)) {
				struct tstat *t = &L->tstat[rec.type_index];
				t->count++;
				t->size += rec.size;
				t->extra += (rec.flags & PYM_F_EXTRA) ? rec.extra : 0;
			}
			break;
		}
		case PYM_R_STRING:
			sqlite3_bind_int64(str, 1, rec.id);
			sqlite3_bind_text(str, 2, rec.text, (int)rec.text_len, SQLITE_STATIC);
			if (step_done(L, str) < 0)
				goto out;
			L->strings++;
			break;
		case PYM_R_TYPE: {
			size_t len = 0;
			const char *name = pym_reader_string(r, rec.name_id, &len);
			uint64_t tcap = L->tcap;
			if (!name) {
				fail(L, 2, L->dump, "corrupt: type %u names unknown string %u", rec.id,
				     rec.name_id);
				goto out;
			}
			if (rec.id != L->ntypes) {
				fail(L, 2, L->dump, "corrupt: type index %u out of order", rec.id);
				goto out;
			}
			if (grow(&L->thash, sizeof *L->thash, L->ntypes + 1, &tcap) < 0) {
				fail_oom(L);
				goto out;
			}
			tcap = L->tcap;
			if (grow(&L->taddr, sizeof *L->taddr, L->ntypes + 1, &tcap) < 0) {
				fail_oom(L);
				goto out;
			}
			tcap = L->tcap;
			if (grow(&L->tstat, sizeof *L->tstat, L->ntypes + 1, &tcap) < 0) {
				fail_oom(L);
				goto out;
			}
			L->tcap = (uint32_t)tcap;
			L->thash[L->ntypes] = load_fnv1a(LOAD_FNV_OFFSET, name, len);
			L->taddr[L->ntypes] = rec.addr;
			memset(&L->tstat[L->ntypes], 0, sizeof *L->tstat);
			L->ntypes++;
			sqlite3_bind_int64(typ, 1, rec.id);
			sqlite3_bind_text(typ, 2, name, (int)len, SQLITE_STATIC);
			sqlite3_bind_int64(typ, 3, (sqlite3_int64)rec.addr);
			if (step_done(L, typ) < 0)
				goto out;
			break;
		}
		case PYM_R_META:
			if (meta_put(L, meta, rec.key, rec.key_len, rec.text, rec.text_len) < 0)
				goto out;
			break;
		case PYM_R_ROOT: {
			uint64_t rcap = L->rcap;
			if (grow(&L->roots, sizeof *L->roots, L->nroots + 1, &rcap) < 0) {
				fail_oom(L);
				goto out;
			}
			L->rcap = (size_t)rcap;
			L->roots[L->nroots].addr = rec.addr;
			L->roots[L->nroots].kind = rec.root_kind;
			L->roots[L->nroots].name = rec.root_name;
			L->nroots++;
			break;
		}
		case PYM_R_NAME: {
			size_t len;
			const char *name = pym_reader_string(r, rec.name_id, &len);
			if (rec.name_kind != PYM_NAME_CELL && rec.name_kind != PYM_NAME_GLOBALS)
				break; /* a kind of a later minor version */
			sqlite3_bind_int64(nam, 1, (sqlite3_int64)rec.addr);
			sqlite3_bind_int(nam, 2, (int)rec.name_kind);
			sqlite3_bind_text(nam, 3, name, (int)len, SQLITE_STATIC);
			if (step_done(L, nam) < 0)
				goto out;
			break;
		}
		default:
			break;
		}
	}
	if (got < 0) {
		fail_reader(L, &e);
		goto out;
	}
	if (!L->off && grow_objects(L) < 0) {
		fail_oom(L);
		goto out;
	}
	L->off[L->n] = L->m;
	progress(L, 1, r);
	rc = 0;
out:
	sqlite3_finalize(meta);
	sqlite3_finalize(str);
	sqlite3_finalize(typ);
	sqlite3_finalize(nam);
	pym_reader_close(r);
	return rc;
}

/* Resolves edge addresses to ids in place (uint64 slots rewritten as a
 * packed uint32 array, dropping targets not in the dump), counts in-degrees
 * and marks roots: ROOT records, synthetic objects, and objects whose
 * refcount exceeds their strong in-dump in-degree. Then reachability and
 * SCC through graph.h. */
static int graph_phase(struct loader *L)
{
	uint32_t *dst = (uint32_t *)(void *)L->edge;
	uint32_t *indeg = calloc((size_t)L->n + 1, sizeof *indeg);
	uint64_t w = 0;
	if (L->m >= UINT32_MAX)
		return fail(L, 1, L->dump, "too many references for one load (%llu)",
		            (unsigned long long)L->m);
	L->rid = malloc(((size_t)L->m + 1) * sizeof *L->rid);
	L->in_start = calloc((size_t)L->n + 2, sizeof *L->in_start);
	if (!indeg || !L->rid || !L->in_start || index_build(L) < 0) {
		free(indeg);
		return fail_oom(L);
	}
	/* Every reference resolved once (rid), counted per target for ref_in. */
	for (uint64_t i = 0; i < L->m; i++) {
		uint32_t t = index_find(L, L->edge[i]);
		L->rid[i] = t;
		if (t == NO_ID)
			L->missing++;
		else
			L->in_start[t + 2]++;
	}
	/* ref_in: (src, seq) of the references into each object, in (dst, src,
	 * seq) order, by a counting sort (stable: sources come in id order). */
	for (uint32_t v = 0; v < L->n; v++)
		L->in_start[v + 2] += L->in_start[v + 1];
	L->in_n = L->in_start[L->n + 1];
	L->in_src = malloc(((size_t)L->in_n + 1) * sizeof *L->in_src);
	L->in_seq = malloc(((size_t)L->in_n + 1) * sizeof *L->in_seq);
	if (!L->in_src || !L->in_seq) {
		free(indeg);
		return fail_oom(L);
	}
	for (uint32_t v = 0; v < L->n; v++)
		for (uint64_t i = L->off[v]; i < L->off[v + 1]; i++) {
			uint32_t t = L->rid[i];
			if (t == NO_ID)
				continue;
			uint32_t k = L->in_start[t + 1]++;
			L->in_src[k] = v;
			L->in_seq[k] = (uint32_t)(i - L->off[v]);
		}
	/* now in_start[t] .. in_start[t + 1] are t's referrers */
	for (uint32_t v = 0; v < L->n; v++) {
		uint64_t b = L->off[v], e = L->off[v + 1];
		L->off[v] = w;
		for (uint64_t i = b; i < e; i++) {
			uint32_t t = L->rid[i];
			if (t == NO_ID || (L->weak[i / 8] & (1u << (i % 8))))
				continue;
			memcpy((char *)L->edge + 4 * w, &t, 4);
			w++;
			if (indeg[t] < UINT32_MAX)
				indeg[t]++;
		}
	}
	L->off[L->n] = w;
	L->m = w;
	for (uint32_t v = 0; v < L->n; v++)
		if (L->refcount[v] > indeg[v])
			L->root[v] = 1;
	free(indeg);
	free(L->refcount);
	L->refcount = NULL;
	free(L->weak);
	L->weak = NULL;
	for (size_t i = 0; i < L->nroots; i++) {
		uint32_t t = index_find(L, L->roots[i].addr);
		if (t != NO_ID)
			L->root[t] = 1;
	}
	if (w) {
		void *q = realloc(L->edge, (size_t)w * sizeof(uint32_t));
		if (q)
			L->edge = q;
	}
	dst = (uint32_t *)(void *)L->edge;

	struct graph g = {L->n, L->m, L->off, dst};
	L->reached = malloc((size_t)L->n + 1);
	L->comp = malloc(((size_t)L->n + 1) * sizeof *L->comp);
	if (!L->reached || !L->comp)
		return fail_oom(L);
	if (graph_reach(&g, L->root, L->reached) < 0)
		return fail_oom(L);
	/* SCC rule (schema.sql, object_data.scc): references INTO type objects
	 * are structural (every instance holds its class) and are dropped, in
	 * place, before the SCC search; reachability above used them all. */
	uint8_t *is_type = calloc((size_t)L->n + 1, 1);
	if (!is_type)
		return fail_oom(L);
	int any_type = 0;
	for (uint32_t i = 0; i < L->ntypes; i++) {
		uint32_t t = index_find(L, L->taddr[i]);
		if (t != NO_ID) {
			is_type[t] = 1;
			any_type = 1;
		}
	}
	if (any_type) {
		uint64_t k = 0;
		for (uint32_t v = 0; v < L->n; v++) {
			uint64_t b = L->off[v], e = L->off[v + 1];
			L->off[v] = k;
			for (uint64_t i = b; i < e; i++)
				if (!is_type[dst[i]])
					dst[k++] = dst[i];
		}
		L->off[L->n] = k;
		g.m = k;
	}
	free(is_type);
	if (graph_scc(&g, L->comp, &L->ncomp) < 0)
		return fail_oom(L);
	/* The CSR is not needed by pass 2 (it re-reads refs from the dump). */
	free(L->edge);
	L->edge = NULL;
	free(L->off);
	L->off = NULL;
	return 0;
}

/* Pass 2 runs as two streams over the dump at once: references into the
 * database on this thread, objects (with the graph results and fingerprints)
 * into a side database on a worker thread (side_main), copied in at the end
 * with SQLite's transfer optimization (objects, being fewer rows than
 * references in any real heap, are the cheaper table to copy). Each stream is an eponymous virtual
 * table read by one INSERT ... SELECT, so rows go from the reader into the
 * b-tree without a bind/step/reset round per row. Both only read the shared
 * arrays; each has its own reader and counters. */
enum { OC_ID, OC_ADDRESS, OC_TYPE, OC_SIZE, OC_EXTRA, OC_REFCOUNT, OC_LENGTH, OC_FLAGS, OC_VALUE,
       OC_REACHABLE, OC_ROOT, OC_SCC, OC_FINGERPRINT, OC_SERIAL };
enum { RC_SRC, RC_SEQ, RC_DST, RC_DST_ADDRESS, RC_KIND, RC_LABEL };

struct stream_vtab {
	sqlite3_vtab base;
	struct loader *L;
	int objects; /* 1: pym_objects, 0: pym_refs */
};

struct stream_cursor {
	sqlite3_vtab_cursor base;
	struct loader *L;
	int objects, eof;
	struct pym_reader *r;
	struct pym_record rec;
	uint32_t v;   /* id of rec's object; ids count from 0 in dump order */
	uint32_t ref; /* refs stream: index of the current reference in rec */
	uint32_t dst; /* refs stream: id of its target, NO_ID if not in the dump */
	uint64_t fp;  /* objects stream: rec's fingerprint */
	uint64_t rbase, rnext; /* dump-order index of rec's first reference, and past its last */
	uint64_t records;
};

static int stream_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **errmsg)
{
	struct stream_vtab *t;
	int objects = strcmp(argv[0], "pym_objects") == 0;
	int rc = sqlite3_declare_vtab(
	    db, objects ? "CREATE TABLE x(id, address, type_id, size, extra_size, refcount, length,"
	                  " flags, value, reachable, root, scc, fingerprint, serial)"
	                : "CREATE TABLE x(src, seq, dst, dst_address, kind, label)");
	if (rc != SQLITE_OK)
		return rc;
	t = sqlite3_malloc(sizeof *t);
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof *t);
	t->L = aux;
	t->objects = objects;
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
	c->objects = t->objects;
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

/* Reads the next OBJECT record (with references, in the refs stream) into
 * c->rec; sets eof at the verified end. */
static int stream_object(struct stream_cursor *c)
{
	struct loader *L = c->L;
	struct pym_error e = {0};
	int got;
	for (;;) {
		got = pym_reader_next(c->r, &c->rec, &e);
		if (got < 0) {
			fail_reader(L, &e);
			return stream_fail(c);
		}
		if (got == 0) {
			if (c->v != L->n) {
				fail(L, 2, L->dump, "the dump changed while it was being loaded");
				return stream_fail(c);
			}
			progress(L, 2, c->r);
			c->eof = 1;
			return SQLITE_OK;
		}
		if (++c->records % PROGRESS_EVERY == 0)
			progress(L, 2, c->r);
		if (c->rec.type != PYM_R_OBJECT)
			continue;
		if (c->v >= L->n || c->rec.addr != L->addr[c->v] ||
		    c->rec.nrefs > L->refs_total - c->rnext) {
			fail(L, 2, L->dump, "the dump changed while it was being loaded");
			return stream_fail(c);
		}
		c->rbase = c->rnext;
		c->rnext += c->rec.nrefs;
		if (c->objects || c->rec.nrefs > 0)
			return SQLITE_OK;
		c->v++; /* refs stream: an object without references has no rows */
	}
}

static void stream_row(struct stream_cursor *c)
{
	struct loader *L = c->L;
	const struct pym_record *rec = &c->rec;
	if (!c->objects) {
		c->dst = L->rid[c->rbase + c->ref];
		return;
	}
	uint64_t h = fnv_u64(LOAD_FNV_OFFSET, L->thash[rec->type_index]);
	h = fnv_u64(h, rec->size);
	h = fnv_u64(h, (rec->flags & PYM_F_LENGTH) ? rec->length : UINT64_MAX);
	if (rec->flags & PYM_F_VALUE)
		h = load_fnv1a(h, rec->value, rec->value_len);
	h = load_fnv1a(h, "", 1);
	const uint32_t *rid = L->rid + c->rbase;
	for (uint32_t i = 0; i < rec->nrefs; i++)
		h = fnv_u64(h, rid[i] == NO_ID ? 0 : L->thash[L->type[rid[i]]]);
	c->fp = h;
	if (!L->reached[c->v] && !(rec->flags & PYM_F_SYNTHETIC)) {
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
	c->ref = 0;
	c->eof = 0;
	c->rbase = c->rnext = 0;
	c->r = pym_reader_open(c->L->dump, &e);
	if (!c->r) {
		fail_reader(c->L, &e);
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
	if (!c->objects && c->ref + 1 < c->rec.nrefs) {
		c->ref++;
	} else {
		c->v++;
		c->ref = 0;
		int rc = stream_object(c);
		if (rc != SQLITE_OK || c->eof)
			return rc;
	}
	stream_row(c);
	return SQLITE_OK;
}

static int stream_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct stream_cursor *)cur)->eof;
}

static int stream_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	*rowid = (sqlite3_int64)c->v;
	return SQLITE_OK;
}

static int stream_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct stream_cursor *c = (struct stream_cursor *)cur;
	const struct pym_record *rec = &c->rec;
	const struct loader *L = c->L;
	if (!c->objects) {
		const struct pym_rref *x = &rec->refs[c->ref];
		switch (col) {
		case RC_SRC:
			sqlite3_result_int64(ctx, c->v);
			break;
		case RC_SEQ:
			sqlite3_result_int64(ctx, c->ref);
			break;
		case RC_DST:
			if (c->dst == NO_ID)
				sqlite3_result_null(ctx);
			else
				sqlite3_result_int64(ctx, c->dst);
			break;
		case RC_DST_ADDRESS: /* only when dst cannot say it (schema.sql) */
			if (c->dst == NO_ID)
				sqlite3_result_int64(ctx, (sqlite3_int64)x->addr);
			else
				sqlite3_result_null(ctx);
			break;
		case RC_KIND:
			sqlite3_result_int64(ctx, x->kind);
			break;
		case RC_LABEL:
			if (x->kind == PYM_LABEL_INDEX || x->kind == PYM_LABEL_KEY ||
			    x->kind == PYM_LABEL_ATTR)
				sqlite3_result_int64(ctx, (sqlite3_int64)x->value);
			else
				sqlite3_result_null(ctx);
			break;
		}
		return SQLITE_OK;
	}
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
		sqlite3_result_int64(ctx, (rec->flags & PYM_F_EXTRA) ? (sqlite3_int64)rec->extra : 0);
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
		sqlite3_result_int(ctx, L->reached[c->v]);
		break;
	case OC_ROOT:
		sqlite3_result_int(ctx, L->root[c->v] != 0);
		break;
	case OC_SCC:
		if (L->comp[c->v] == GRAPH_NONE)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_int64(ctx, L->comp[c->v]);
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

/* pym_refin: the ref_in rows (dst, src, seq) from the graph phase's arrays,
 * in primary-key order, so the b-tree is built by appends (no sort). */
struct refin_cursor {
	sqlite3_vtab_cursor base;
	struct loader *L;
	uint32_t t; /* current dst */
	uint64_t k; /* current row: in_src/in_seq index */
};

static int refin_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **errmsg)
{
	struct stream_vtab *t;
	int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(dst, src, seq)");
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

static int refin_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct refin_cursor *c = sqlite3_malloc(sizeof *c);
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof *c);
	c->L = ((struct stream_vtab *)vt)->L;
	*out = &c->base;
	return SQLITE_OK;
}

static int refin_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

/* Moves t forward to the object whose range holds row k. */
static void refin_settle(struct refin_cursor *c)
{
	const struct loader *L = c->L;
	while (c->t < L->n && c->k >= L->in_start[c->t + 1])
		c->t++;
}

static int refin_filter(sqlite3_vtab_cursor *cur, int idxnum, const char *idxstr, int argc,
                        sqlite3_value **argv)
{
	struct refin_cursor *c = (struct refin_cursor *)cur;
	c->t = 0;
	c->k = 0;
	refin_settle(c);
	return SQLITE_OK;
}

static int refin_next(sqlite3_vtab_cursor *cur)
{
	struct refin_cursor *c = (struct refin_cursor *)cur;
	c->k++;
	refin_settle(c);
	return SQLITE_OK;
}

static int refin_eof(sqlite3_vtab_cursor *cur)
{
	struct refin_cursor *c = (struct refin_cursor *)cur;
	return c->k >= c->L->in_n;
}

static int refin_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct refin_cursor *c = (struct refin_cursor *)cur;
	const struct loader *L = c->L;
	sqlite3_result_int64(ctx, col == 0 ? c->t : col == 1 ? L->in_src[c->k] : L->in_seq[c->k]);
	return SQLITE_OK;
}

static int refin_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct refin_cursor *)cur)->k;
	return SQLITE_OK;
}

static const sqlite3_module refin_module = {
    .iVersion = 1,
    .xConnect = refin_connect,
    .xBestIndex = stream_best_index,
    .xDisconnect = stream_disconnect,
    .xOpen = refin_open,
    .xClose = refin_close,
    .xFilter = refin_filter,
    .xNext = refin_next,
    .xEof = refin_eof,
    .xColumn = refin_column,
    .xRowid = refin_rowid,
};

static int insert_refin(struct loader *L)
{
	if (sqlite3_create_module_v2(L->db, "pym_refin", &refin_module, L, NULL) != SQLITE_OK)
		return fail_sql(L, "cannot register the referrer rows");
	return exec(L, "INSERT INTO ref_in(dst, src, seq) SELECT dst, src, seq FROM pym_refin");
}

static int pass2(struct loader *L, int objects)
{
	const char *name = objects ? "pym_objects" : "pym_refs";
	const char *sql =
	    objects ? "INSERT INTO object_data(id, address, type_id, size, extra_size, refcount,"
	              " length, flags, value, reachable, root, scc, fingerprint, serial)"
	              " SELECT id, address, type_id, size, extra_size, refcount, length, flags, value,"
	              " reachable, root, scc, fingerprint, serial FROM pym_objects"
	            : "INSERT INTO ref_data(src, seq, dst, dst_address, kind, label)"
	              " SELECT src, seq, dst, dst_address, kind, label FROM pym_refs";
	if (sqlite3_create_module_v2(L->db, name, &stream_module, L, NULL) != SQLITE_OK)
		return fail_sql(L, "cannot register the dump reader");
	L->stream_failed = 0;
	if (sqlite3_exec(L->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		if (L->stream_failed)
			return -1; /* err says what was wrong with the dump */
		return fail_sql(L, "cannot insert");
	}
	return 0;
}

/* Per-type totals, roots and the loader's meta keys. */
static int finish_rows(struct loader *L, const struct stat *sb, struct load_stats *s)
{
	sqlite3_stmt *ts = NULL, *rt = NULL, *meta = NULL;
	int rc = -1;
	if (prep(L, "INSERT INTO type_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &ts) < 0 ||
	    prep(L, "INSERT INTO root_data(object, address, kind, name) VALUES (?1, ?2, ?3, "
	            "(SELECT text FROM strings WHERE id = ?4))",
	         &rt) < 0 ||
	    prep(L, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &meta) < 0)
		goto out;
	for (uint32_t t = 0; t < L->ntypes; t++) {
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
		uint32_t t = index_find(L, L->roots[i].addr);
		if (t == NO_ID)
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
	for (uint32_t v = 0; v < L->n; v++) {
		nroot += L->root[v] != 0;
		unreach += !L->reached[v];
	}
	char mt[64];
	snprintf(mt, sizeof mt, "%lld.%09ld", (long long)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec);
	if (meta_put(L, meta, "load.source", 11, L->dump, strlen(L->dump)) < 0 ||
	    meta_putu(L, meta, "load.source_size", (uint64_t)sb->st_size) < 0 ||
	    meta_put(L, meta, "load.source_mtime", 17, mt, strlen(mt)) < 0 ||
	    meta_put(L, meta, "load.version", 12, DB_LAYOUT_VERSION, strlen(DB_LAYOUT_VERSION)) < 0 ||
	    meta_putu(L, meta, "load.objects", L->n) < 0 ||
	    meta_putu(L, meta, "load.refs", L->refs_total) < 0 ||
	    meta_putu(L, meta, "load.missing_refs", L->missing) < 0 ||
	    meta_putu(L, meta, "load.duplicate_addresses", L->dup_addr) < 0 ||
	    meta_putu(L, meta, "load.roots", nroot) < 0 ||
	    meta_putu(L, meta, "load.unreachable", unreach) < 0 ||
	    meta_putu(L, meta, "load.cycles", L->ncomp) < 0 ||
	    meta_putu(L, meta, "load.serials", L->serials) < 0)
		goto out;
	s->objects = L->n;
	s->refs = L->refs_total;
	s->missing_refs = L->missing;
	s->roots = nroot;
	s->unreachable = unreach;
	s->cycles = L->ncomp;
	s->types = L->ntypes;
	s->strings = L->strings;
	s->dump_bytes = (uint64_t)sb->st_size;
	rc = 0;
out:
	sqlite3_finalize(ts);
	sqlite3_finalize(rt);
	sqlite3_finalize(meta);
	return rc;
}

/* Frees every array (idempotent: pointers are reset). */
static void loader_release(struct loader *L)
{
	void **arrays[] = {(void **)&L->addr,  (void **)&L->type,  (void **)&L->refcount,
	                   (void **)&L->root,  (void **)&L->reached, (void **)&L->comp,
	                   (void **)&L->off,   (void **)&L->edge,  (void **)&L->slot,
	                   (void **)&L->thash, (void **)&L->tstat, (void **)&L->roots,
	                   (void **)&L->taddr, (void **)&L->weak, (void **)&L->rid,
	                   (void **)&L->in_start, (void **)&L->in_src, (void **)&L->in_seq};
	for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) {
		free(*arrays[i]);
		*arrays[i] = NULL;
	}
}

/* The schema text up to (before) or after the `-- @after-load` marker. */
static int run_schema_part(struct loader *L, int after)
{
	const char *mark = strstr(load_schema_sql, "\n-- @after-load\n");
	if (!mark)
		return fail(L, 1, L->dbpath, "internal error: schema has no @after-load marker");
	if (after)
		return exec(L, mark);
	size_t n = (size_t)(mark - load_schema_sql);
	char *head = malloc(n + 1);
	if (!head)
		return fail_oom(L);
	memcpy(head, load_schema_sql, n);
	head[n] = 0;
	int rc = exec(L, head);
	free(head);
	return rc;
}

/* Opens a new build database at path: pragmas for a build-once file, an
 * open transaction and the tables of the schema. */
static int open_build_db(struct loader *L, const char *path)
{
	if (sqlite3_open_v2(path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return fail_sql(L, "cannot open");
	/* A build-once database: no journal, no syncs (one fsync at the end), one
	 * writer, a small page cache (appends touch few pages, and index sorts
	 * spill to temporary files instead of growing the heap). 4 MiB per
	 * connection loads as fast as 8 did and keeps the peak of a 1.1M-object
	 * load near 93 bytes per object with two connections at work. */
	if (exec(L, "PRAGMA page_size = 16384; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
	            " PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -4096;"
	            " PRAGMA temp_store = FILE; PRAGMA foreign_keys = OFF;"
	            " BEGIN") < 0 ||
	    run_schema_part(L, 0) < 0)
		return -1;
	return 0;
}

/* The object stream of pass 2, on a worker thread, into its own file. */
struct sidejob {
	struct loader L; /* shallow copy: shared read-only arrays; own db, err, counters */
	struct db_error err;
	char path[4200];
	int rc;
	double cpu; /* seconds of CPU the worker used */
};

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *side_main(void *arg)
{
	struct sidejob *j = arg;
	struct loader *L = &j->L;
	j->rc = -1;
	if (open_build_db(L, j->path) == 0 && pass2(L, 1) == 0 && insert_refin(L) == 0 &&
	    run_schema_part(L, 1) == 0 && exec(L, "COMMIT") == 0)
		j->rc = 0;
	if (L->db && sqlite3_close(L->db) != SQLITE_OK && j->rc == 0)
		j->rc = fail_sql(L, "cannot close");
	L->db = NULL;
	j->cpu = thread_cpu();
	return NULL;
}

/* Copies the worker's object_data (rows and index pages, by SQLite's
 * transfer optimization: both tables and indexes are identical and the
 * target is empty) and marks the load complete. */
static int merge_side(struct loader *L, const char *path)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(L->db, "ATTACH ?1 AS side", -1, &st, NULL) != SQLITE_OK)
		return fail_sql(L, "cannot attach the objects");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail_sql(L, "cannot attach the objects");
	if (exec(L, "BEGIN; INSERT INTO main.object_data SELECT * FROM side.object_data;"
	            " INSERT INTO main.ref_in SELECT * FROM side.ref_in;"
	            " INSERT OR REPLACE INTO main.meta VALUES ('load.complete', '1'); COMMIT") < 0)
		return -1;
	return exec(L, "DETACH side");
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
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key = 'load.version'", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		yes = 1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return yes;
}

/* Refuses an output path that would destroy something: the dump itself (by
 * name or by inode, e.g. through a link) or an existing file that is not a
 * database of ours. */
static int check_output(struct loader *L, const struct stat *dump_sb)
{
	struct stat sb;
	char eb[128];
	if (strcmp(L->dump, L->dbpath) == 0 ||
	    (stat(L->dbpath, &sb) == 0 && sb.st_dev == dump_sb->st_dev && sb.st_ino == dump_sb->st_ino))
		return fail(L, 2, L->dbpath, "is the dump being loaded: choose another output");
	if (lstat(L->dbpath, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(L, 2, L->dbpath, "cannot write: %s", errtext(errno, eb, sizeof eb));
	}
	if (S_ISDIR(sb.st_mode))
		return fail(L, 2, L->dbpath, "cannot write: %s", errtext(EISDIR, eb, sizeof eb));
	if (!is_pymple_db(L->dbpath))
		return fail(L, 2, L->dbpath,
		            "exists and is not a pymple database: not overwriting it");
	return 0;
}

/* Temporary files are "<db>.tmp.<pid>-<n>" and "<db>.tmp.<pid>-<n>-objects".
 * Removes those whose process is gone (a load killed with SIGKILL cannot
 * clean up after itself); files of live processes are left alone. */
static void remove_stale_temporaries(const char *dbpath)
{
	const char *slash = strrchr(dbpath, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : dbpath;
	size_t dn = slash ? (size_t)(slash - dbpath) + 1 : 0;
	if (dn >= sizeof dir)
		return;
	memcpy(dir, dbpath, dn);
	dir[dn] = 0;
	DIR *d = opendir(dn ? dir : ".");
	if (!d)
		return;
	size_t bn = strlen(base);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		if (strncmp(name, base, bn) != 0 || strncmp(name + bn, ".tmp.", 5) != 0)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(name + bn + 5, &end, 10);
		if (errno || end == name + bn + 5 || *end != '-' || pid <= 0 || pid > INT_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive (or not ours to judge) */
		char full[4096 + 256];
		snprintf(full, sizeof full, "%s%s", dir, name);
		unlink(full);
	}
	closedir(d);
}

int load_dump(const char *dump, const char *dbpath, db_progress_fn progress_fn, void *progress_ctx,
              struct load_stats *stats, struct db_error *err)
{
	static atomic_uint seq;
	static struct sidejob zero_job;
	struct loader L = {0};
	struct sidejob *job = NULL;
	struct load_stats dummy;
	struct stat sb;
	pthread_t tid;
	char tmp[4096], eb[128];
	int fd, rc = -1, worker = 0, side_file = 0;
	double t0 = now_seconds(), t1, t2, t3, t4, t5, worker_cpu = 0;
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
		return fail(&L, 2, dump, "cannot open: %s", errtext(errno, eb, sizeof eb));
	if (check_output(&L, &sb) < 0)
		return -1;
	remove_stale_temporaries(dbpath);
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld-%u", dbpath, (long)getpid(),
	             atomic_fetch_add(&seq, 1)) >= (int)sizeof tmp - 16)
		return fail(&L, 2, dbpath, "path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(&L, 1, dbpath, "cannot create: %s", errtext(errno, eb, sizeof eb));
	close(fd);
	/* Record the real names, then arm. */
	snprintf(cleanup_main, sizeof cleanup_main, "%s", tmp);
	snprintf(cleanup_side, sizeof cleanup_side, "%s-objects", tmp);
	cleanup_armed = 1;
	job = malloc(sizeof *job);
	if (!job) {
		fail_oom(&L);
		goto out;
	}
	*job = zero_job;
	snprintf(job->path, sizeof job->path, "%s-objects", tmp);
	fd = open(job->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fail(&L, 1, dbpath, "cannot create: %s", errtext(errno, eb, sizeof eb));
		goto out;
	}
	close(fd);
	side_file = 1;
	/* Memory statistics cost a mutex per allocation; only possible before
	 * SQLite initializes (SQLITE_MISUSE afterwards, which is harmless). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (open_build_db(&L, tmp) < 0 || pass1(&L) < 0)
		goto out;
	t1 = now_seconds();
	if (graph_phase(&L) < 0)
		goto out;
	t2 = now_seconds();
	job->L = L;
	job->L.db = NULL;
	job->L.err = &job->err;
	job->L.progress = NULL;
	job->L.missing = 0;
	if (pthread_create(&tid, NULL, side_main, job) == 0)
		worker = 1;
	else
		side_main(job); /* no thread: the same work, one after the other */
	if (pass2(&L, 0) < 0)
		goto out;
	if (L.progress)
		L.progress(L.progress_ctx, 3, 0, 0);
	if (run_schema_part(&L, 1) < 0)
		goto out;
	if (worker) {
		pthread_join(tid, NULL);
		worker = 0;
	}
	if (job->rc < 0) {
		*err = job->err;
		goto out;
	}

	worker_cpu = job->cpu;
	t3 = now_seconds();
	if (finish_rows(&L, &sb, stats) < 0 || exec(&L, "COMMIT") < 0)
		goto out;
	loader_release(&L);
	if (merge_side(&L, job->path) < 0)
		goto out;
	if (sqlite3_close(L.db) != SQLITE_OK) {
		fail_sql(&L, "cannot close");
		goto out;
	}
	L.db = NULL;
	t4 = now_seconds();
	/* Make the file durable before it takes the final name. */
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		fail(&L, 1, dbpath, "cannot sync: %s", errtext(errno, eb, sizeof eb));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	unlink(job->path);
	side_file = 0;
	cleanup_armed = 0; /* from here on the file is (about to be) the database */
	if (rename(tmp, dbpath) < 0) {
		fail(&L, 1, dbpath, "cannot rename the new database into place: %s",
		     errtext(errno, eb, sizeof eb));
		goto out;
	}
	t5 = now_seconds();
	stats->t_pass1 = t1 - t0;
	stats->t_graph = t2 - t1;
	stats->t_pass2 = t3 - t2;
	stats->t_index = t4 - t3;
	stats->t_sync = t5 - t4;
	stats->t_total = t5 - t0;
	stats->cpu_main = thread_cpu();
	stats->cpu_worker = worker_cpu;
	rc = 0;
out:
	if (worker)
		pthread_join(tid, NULL); /* it reads the arrays: wait before freeing them */
	if (L.db)
		sqlite3_close(L.db);
	if (side_file)
		unlink(job->path);
	if (rc < 0)
		unlink(tmp);
	cleanup_armed = 0;
	free(job);
	loader_release(&L);
	return rc;
}
