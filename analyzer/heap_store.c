/* heap_store.c — the heap kept in the database (heap_store.h). Two kinds of
 * chunk, each a zlib stream of varints (LEB128, 7 bits a byte, low first):
 *
 *   objects chunk (part 0), per object v of [first, first + count):
 *     zigzag(addr[v] - addr[v-1])   (the previous address is 0 at a chunk's start)
 *     type  flags (one byte, HEAP_*)  scc + 1 (0: none)  number of references
 *   references chunk (part 1), per reference e of [first, first + count):
 *     (t << 3) | kind, t = 0 for a target not in the dump, then its address;
 *                      else t = zigzag(dst - previous in-dump dst) + 1
 *                      (previous is 0 at a chunk's start)
 *     label            only for kinds 1, 2, 3 (index, key, attr)
 *
 * If you change this layout, bump HEAP_STORE_FORMAT and DB_LAYOUT_VERSION.
 * Every value read is checked (ranges, chunk tiling, counts against meta and
 * the tables), then heap_check(); nothing read is trusted. No printing. */
#include "heap_store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef PYM_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "batchring.h"
#include "load.h"

#define HEAP_STORE_FORMAT "1"
#define OBJ_CHUNK         (1u << 18) /* objects per chunk: at most 26 bytes each raw */
#define REF_CHUNK         (1u << 20) /* references per chunk: at most 26 bytes each raw */
#define MAX_RAW_PER_ITEM  32u        /* bound on raw bytes per object or reference */
/* The encoder writes chunks of 65,536 objects or references, well under
 * what the reader accepts: a command that decodes a reference on demand
 * inflates one such chunk (about 0.3 MB raw), and the buffers of the
 * threads that encode or read ahead stay small. Deflate's 32 KiB window
 * makes larger chunks no smaller. */
#define OBJ_CHUNK_WRITE (1u << 16)
#define REF_CHUNK_WRITE (1u << 16)
/* Bytes per object and per reference of an opened heap: its arrays (addr,
 * type, flags, scc, off; dst, kind, label) and the reverse CSR (roff; rsrc,
 * redge). */
#define HEAP_BYTES_PER_OBJECT 33u
#define HEAP_BYTES_PER_REF    17u

__attribute__((format(printf, 4, 5))) static int fail(struct db_error *err, int status,
                                                      const char *file, const char *fmt, ...)
{
	va_list ap;
	err->status = status;
	snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- encoding ------------------------------------------------------------ */

static inline uint64_t zigzag(uint64_t d)
{
	return (d << 1) ^ (0 - (d >> 63)); /* all ones when d is negative */
}

static inline uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

static inline unsigned char *put(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* zlib streams either way (heap_load inflates them with zlib). libdeflate,
 * when built in (Makefile: PYM_LIBDEFLATE), at level 3 is both faster and
 * smaller than zlib at level 1: on a real heap's chunks 0.16 s instead of
 * 0.22 s, 3% fewer bytes. */
#ifdef PYM_LIBDEFLATE
#define HEAP_DEFLATE_LEVEL 3
#endif

/* Compresses chunk c (raw bytes in raw) into c->data. */
static int compress_chunk(struct heap_chunk_buf *c, const unsigned char *raw, void *compressor)
{
#ifdef PYM_LIBDEFLATE
	size_t len = libdeflate_zlib_compress_bound(compressor, c->ulen);
	c->data = malloc(len ? len : 1);
	if (c->data)
		len = libdeflate_zlib_compress(compressor, raw, c->ulen, c->data, len);
	if (!c->data || !len) {
		free(c->data);
		c->data = NULL;
		return -1;
	}
#else
	(void)compressor;
	uLongf len = compressBound((uLong)c->ulen);
	c->data = malloc(len ? len : 1);
	if (!c->data || compress2(c->data, &len, raw, (uLong)c->ulen, 1) != Z_OK) {
		free(c->data);
		c->data = NULL;
		return -1;
	}
#endif
	c->len = len;
	return 0;
}

void heap_image_release(struct heap_image *img)
{
	for (size_t i = 0; i < img->n; i++)
		free(img->c[i].data);
	free(img->c);
	memset(img, 0, sizeof *img);
}

/* Encodes the objects chunk c (first and count set) into raw; fills base and ulen. */
static void encode_objects(const struct heap *h, struct heap_chunk_buf *c, unsigned char *raw)
{
	uint64_t prev = 0, end = c->first + c->count;
	unsigned char *p = raw;
	for (uint64_t v = c->first; v < end; v++) {
		p = put(p, zigzag(h->addr[v] - prev));
		prev = h->addr[v];
		p = put(p, h->type[v]);
		*p++ = h->flags[v];
		p = put(p, h->scc[v] == HEAP_NONE ? 0 : (uint64_t)h->scc[v] + 1);
		p = put(p, h->off[v + 1] - h->off[v]);
	}
	c->base = h->off[c->first];
	c->ulen = (uint64_t)(p - raw);
}

/* Encodes the references chunk c (first, count, base = first missing
 * address, wide_base set) into raw; fills missing, wide and ulen. */
static void encode_refs(const struct heap *h, struct heap_chunk_buf *c, unsigned char *raw)
{
	uint64_t prev = 0, end = c->first + c->count, miss = c->base, wide = c->wide_base;
	unsigned char *p = raw;
	for (uint64_t e = c->first; e < end; e++) {
		uint32_t t = h->dst[e];
		unsigned k = h->kind[e];
		if (t == HEAP_NONE) {
			p = put(p, k);
			p = put(p, h->missing[miss++]);
		} else {
			p = put(p, ((zigzag((uint64_t)t - prev) + 1) << 3) | k);
			prev = t;
		}
		if (k == HEAP_REF_INDEX || k == HEAP_REF_KEY || k == HEAP_REF_ATTR) {
			uint64_t l = heap_label(h, e);
			wide += l >= HEAP_LABEL_WIDE;
			p = put(p, l);
		}
	}
	c->missing = miss - c->base;
	c->wide = wide - c->wide_base;
	c->ulen = (uint64_t)(p - raw);
}

/* One encoding thread: the chunks i = start, start + 2, ... */
struct enc_job {
	const struct heap *h;
	struct heap_image *img;
	size_t start;
	int failed;
};

static void *enc_run(void *arg)
{
	struct enc_job *j = arg;
	unsigned char *raw = malloc(
	        (size_t)(OBJ_CHUNK_WRITE > REF_CHUNK_WRITE ? OBJ_CHUNK_WRITE : REF_CHUNK_WRITE) *
	        MAX_RAW_PER_ITEM);
	void *z = NULL;
#ifdef PYM_LIBDEFLATE
	z = libdeflate_alloc_compressor(HEAP_DEFLATE_LEVEL);
	if (!z)
		j->failed = 1;
#endif
	if (!raw)
		j->failed = 1;
	for (size_t i = j->start; i < j->img->n && !j->failed; i += 2) {
		struct heap_chunk_buf *c = &j->img->c[i];
		if (c->part == 0)
			encode_objects(j->h, c, raw);
		else
			encode_refs(j->h, c, raw);
		if (compress_chunk(c, raw, z) < 0)
			j->failed = 1;
	}
	free(raw);
#ifdef PYM_LIBDEFLATE
	if (z)
		libdeflate_free_compressor(z);
#endif
	return NULL;
}

int heap_image_encode(const struct heap *h, struct heap_image *img)
{
	size_t nobj = (size_t)((h->n + OBJ_CHUNK_WRITE - 1) / OBJ_CHUNK_WRITE);
	size_t nref = (size_t)((h->m + REF_CHUNK_WRITE - 1) / REF_CHUNK_WRITE);
	memset(img, 0, sizeof *img);
	img->c = calloc(nobj + nref ? nobj + nref : 1, sizeof *img->c);
	if (!img->c)
		return -1;
	img->n = img->cap = nobj + nref;
	/* The chunks' boundaries, and where each references chunk starts in
	 * the missing addresses and the wide labels, first: then the chunks
	 * are independent, and two threads encode and compress them. */
	for (size_t i = 0; i < nobj; i++) {
		struct heap_chunk_buf *c = &img->c[i];
		c->part = 0;
		c->first = (uint64_t)i * OBJ_CHUNK_WRITE;
		c->count = c->first + OBJ_CHUNK_WRITE < h->n ? OBJ_CHUNK_WRITE : h->n - c->first;
	}
	uint64_t miss = 0, wide = 0;
	for (size_t i = 0; i < nref; i++) {
		struct heap_chunk_buf *c = &img->c[nobj + i];
		c->part = 1;
		c->first = (uint64_t)i * REF_CHUNK_WRITE;
		c->count = c->first + REF_CHUNK_WRITE < h->m ? REF_CHUNK_WRITE : h->m - c->first;
		c->base = miss;
		c->wide_base = wide;
		for (uint64_t e = c->first; e < c->first + c->count; e++) {
			miss += h->dst[e] == HEAP_NONE;
			wide += h->label[e] == HEAP_LABEL_WIDE &&
			        (h->kind[e] == HEAP_REF_INDEX || h->kind[e] == HEAP_REF_KEY ||
			         h->kind[e] == HEAP_REF_ATTR);
		}
	}
	struct enc_job jobs[2] = {{h, img, 0, 0}, {h, img, 1, 0}};
	pthread_t tid;
	int threaded = img->n > 1 && pthread_create(&tid, NULL, enc_run, &jobs[1]) == 0;
	enc_run(&jobs[0]);
	if (threaded)
		pthread_join(tid, NULL);
	else if (img->n > 1)
		enc_run(&jobs[1]);
	if (jobs[0].failed || jobs[1].failed) {
		heap_image_release(img);
		return -1;
	}
	return 0;
}

static int meta_u64(sqlite3_stmt *st, const char *key, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int heap_image_write(sqlite3 *db, const struct heap *h, const struct heap_image *img,
                     const char *file, struct db_error *err)
{
	sqlite3_stmt *ins = NULL, *meta = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO heap_chunk(part, first, count, base, missing, wide_base,"
	            " wide, ulen, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	            -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1,
	                       &meta, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < img->n; i++) {
		const struct heap_chunk_buf *c = &img->c[i];
		sqlite3_bind_int(ins, 1, c->part);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)c->first);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)c->count);
		sqlite3_bind_int64(ins, 4, (sqlite3_int64)c->base);
		sqlite3_bind_int64(ins, 5, (sqlite3_int64)c->missing);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)c->wide_base);
		sqlite3_bind_int64(ins, 7, (sqlite3_int64)c->wide);
		sqlite3_bind_int64(ins, 8, (sqlite3_int64)c->ulen);
		sqlite3_bind_blob64(ins, 9, c->data, c->len, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ins);
	}
	if (meta_u64(meta, "heap.format", 1) < 0 || meta_u64(meta, "heap.objects", h->n) < 0 ||
	    meta_u64(meta, "heap.refs", h->m) < 0 ||
	    meta_u64(meta, "heap.missing", h->nmissing) < 0 ||
	    meta_u64(meta, "heap.wide", h->nwide) < 0 ||
	    meta_u64(meta, "heap.types", h->ntypes) < 0 ||
	    meta_u64(meta, "heap.strings", h->nstrings) < 0 ||
	    meta_u64(meta, "heap.cycles", h->ncycles) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		fail(err, 1, file, "cannot store the heap: %s", sqlite3_errmsg(db));
	sqlite3_finalize(ins);
	sqlite3_finalize(meta);
	return rc;
}

/* ---- decoding ------------------------------------------------------------ */

struct cursor {
	const unsigned char *p, *end;
	int bad;
};

static inline uint64_t get(struct cursor *c)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (c->p >= c->end) {
			c->bad = 1;
			return 0;
		}
		unsigned char b = *c->p++;
		if (shift == 63 && b > 1) {
			c->bad = 1;
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

struct job {
	struct heap *h;
	struct heap_chunk_buf *c;
	size_t n;
	int stride, start;
	unsigned char *raw; /* per thread */
	uint64_t *ends;     /* per chunk: objects: reference index past the chunk */
	char why[160];      /* first failure, empty if none */
	int oom;
};

__attribute__((format(printf, 2, 3))) static int job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof j->why, fmt, ap);
	va_end(ap);
	return -1;
}
#define JOB_FAIL(...) job_fail(j, __VA_ARGS__)

static int decode_objects(struct job *j, const struct heap_chunk_buf *c, size_t ci,
                          struct cursor *cur)
{
	struct heap *h = j->h;
	uint64_t prev = 0, e = c->base;
	for (uint64_t v = c->first; v < c->first + c->count; v++) {
		prev += unzigzag(get(cur));
		if (h->addr)
			h->addr[v] = prev;
		uint64_t t = get(cur);
		if (cur->p >= cur->end) {
			cur->bad = 1;
			break;
		}
		uint8_t f = *cur->p++;
		uint64_t s = get(cur), nr = get(cur);
		if (cur->bad)
			break;
		if (t >= h->ntypes || (f & ~HEAP_FLAGS_KNOWN) || s > h->ncycles || nr > h->m - e)
			return JOB_FAIL("object %llu out of range", (unsigned long long)v);
		if (h->type)
			h->type[v] = (uint32_t)t;
		h->flags[v] = f;
		if (h->scc)
			h->scc[v] = s ? (uint32_t)(s - 1) : HEAP_NONE;
		h->off[v] = e;
		e += nr;
	}
	j->ends[ci] = e;
	return 0;
}

/* One reference of a references chunk. */
struct ref {
	uint32_t dst;   /* target id, HEAP_NONE if not in the dump */
	unsigned kind;  /* HEAP_REF_* */
	uint64_t label; /* kinds 1, 2, 3; 0 otherwise */
	uint64_t addr;  /* the target's address when dst is HEAP_NONE; the bad id on REF_BAD_DST */
};
enum { REF_OK, REF_BAD_KIND, REF_BAD_DST };

/* Decodes the reference at cur; prev is the chunk's last in-dump target
 * (0 at its start). REF_OK (cur->bad set if the bytes ran out), or what is
 * out of range. */
static inline int ref_next(struct cursor *cur, uint64_t *prev, uint32_t n, struct ref *r)
{
	uint64_t x = get(cur);
	r->addr = 0;
	r->kind = (unsigned)(x & 7);
	if (r->kind > HEAP_REF_WEAK)
		return REF_BAD_KIND;
	if ((x >> 3) == 0) {
		r->addr = get(cur);
		r->dst = HEAP_NONE;
	} else {
		uint64_t t = *prev + unzigzag((x >> 3) - 1);
		if (t >= n) {
			r->addr = t;
			return REF_BAD_DST;
		}
		r->dst = (uint32_t)t;
		*prev = t;
	}
	r->label = 0;
	if (r->kind == HEAP_REF_INDEX || r->kind == HEAP_REF_KEY || r->kind == HEAP_REF_ATTR)
		r->label = get(cur);
	return REF_OK;
}

/* Words a failed ref_next() for reference e into why. */
static void ref_why(int bad, uint64_t e, const struct ref *r, uint32_t n, char *why, size_t wn)
{
	if (bad == REF_BAD_KIND)
		snprintf(why, wn, "reference %llu has kind %u", (unsigned long long)e, r->kind);
	else
		snprintf(why, wn, "reference %llu targets object %llu of %u", (unsigned long long)e,
		         (unsigned long long)r->addr, n);
}

static int decode_refs(struct job *j, const struct heap_chunk_buf *c, struct cursor *cur)
{
	struct heap *h = j->h;
	uint64_t prev = 0, miss = c->base, wide = c->wide_base;
	for (uint64_t e = c->first; e < c->first + c->count && !cur->bad; e++) {
		struct ref r;
		int bad = ref_next(cur, &prev, h->n, &r);
		if (bad) {
			ref_why(bad, e, &r, h->n, j->why, sizeof j->why);
			return -1;
		}
		h->kind[e] = (uint8_t)r.kind;
		h->dst[e] = r.dst;
		if (r.dst == HEAP_NONE) {
			if (miss >= c->base + c->missing)
				return JOB_FAIL("more missing targets than counted");
			h->missing[miss++] = r.addr;
		}
		uint64_t l = r.label;
		if (l >= HEAP_LABEL_WIDE) {
			if (wide >= c->wide_base + c->wide)
				return JOB_FAIL("more wide labels than counted");
			h->wide[wide].edge = e;
			h->wide[wide++].value = l;
			l = HEAP_LABEL_WIDE;
		}
		h->label[e] = (uint32_t)l;
	}
	if (!cur->bad && (miss != c->base + c->missing || wide != c->wide_base + c->wide))
		return JOB_FAIL("counts of a references chunk do not match");
	return 0;
}

/* Inflates the zlib stream data (len bytes) into raw, which must come out
 * exactly ulen bytes long. 0, or -1. */
static int inflate_chunk(unsigned char *raw, uint64_t ulen, const void *data, size_t len)
{
#ifdef PYM_LIBDEFLATE
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	size_t got = 0;
	int ok = d &&
	         libdeflate_zlib_decompress(d, data, len, raw, (size_t)ulen, &got) ==
	                 LIBDEFLATE_SUCCESS &&
	         got == ulen;
	libdeflate_free_decompressor(d);
	return ok ? 0 : -1;
#else
	uLongf n = (uLongf)ulen;
	return uncompress(raw, &n, data, (uLong)len) == Z_OK && n == ulen ? 0 : -1;
#endif
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	for (size_t i = (size_t)j->start; i < j->n && !j->why[0]; i += (size_t)j->stride) {
		struct heap_chunk_buf *c = &j->c[i];
		if (!c->data)
			continue; /* a lean heap's references chunk: read later */
		if (inflate_chunk(j->raw, c->ulen, c->data, c->len) < 0) {
			JOB_FAIL("chunk %zu does not decompress", i);
			break;
		}
		uint64_t ulen = c->ulen;
		free(c->data); /* decoded once: give the memory back at once */
		c->data = NULL;
		struct cursor cur = {j->raw, j->raw + ulen, 0};
		int rc = c->part == 0 ? decode_objects(j, c, i, &cur) : decode_refs(j, c, &cur);
		if (rc == 0 && (cur.bad || cur.p != cur.end))
			JOB_FAIL("chunk %zu is malformed", i);
	}
	return NULL;
}

/* A meta key as an unsigned number; -1 if absent or not a number. */
static int meta_num(sqlite3 *db, const char *key, uint64_t *v)
{
	char buf[64], *end;
	if (db_meta(db, key, buf, sizeof buf) != 1 || !buf[0])
		return -1;
	*v = strtoull(buf, &end, 10);
	return *end ? -1 : 0;
}

static int one_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The heap's counts from its meta keys, checked against the loader's own
 * keys and the tables. */
struct counts {
	uint64_t n, m, miss, wide, types, strings, cycles;
};

static int read_counts(sqlite3 *db, const char *file, struct counts *k, struct db_error *err)
{
	uint64_t fmt, lo, lr, lm, lc;
	int64_t maxid, ntypes, nstr;
	if (meta_num(db, "heap.format", &fmt) < 0 || meta_num(db, "heap.objects", &k->n) < 0 ||
	    meta_num(db, "heap.refs", &k->m) < 0 || meta_num(db, "heap.missing", &k->miss) < 0 ||
	    meta_num(db, "heap.wide", &k->wide) < 0 || meta_num(db, "heap.types", &k->types) < 0 ||
	    meta_num(db, "heap.strings", &k->strings) < 0 ||
	    meta_num(db, "heap.cycles", &k->cycles) < 0 || meta_num(db, "load.objects", &lo) < 0 ||
	    meta_num(db, "load.refs", &lr) < 0 || meta_num(db, "load.missing_refs", &lm) < 0 ||
	    meta_num(db, "load.cycles", &lc) < 0)
		return fail(err, 2, file, "damaged database: the heap's counts are missing");
	if (fmt != 1 || k->n > HEAP_MAX_OBJECTS || k->m > HEAP_MAX_REFS || k->miss > k->m ||
	    k->wide > k->m || k->types > UINT32_MAX || k->strings > UINT32_MAX ||
	    k->cycles > k->n || k->n != lo || k->m != lr || k->miss != lm || k->cycles != lc)
		return fail(err, 2, file, "damaged database: the heap's counts disagree");
	if (one_int(db, "SELECT max(id) FROM object_data", &maxid) < 0 ||
	    one_int(db, "SELECT count(*) FROM types", &ntypes) < 0 ||
	    one_int(db, "SELECT count(*) FROM strings", &nstr) < 0)
		return fail(err, 1, file, "cannot read the heap: %s", sqlite3_errmsg(db));
	if ((uint64_t)(maxid + 1) != k->n || (uint64_t)ntypes != k->types ||
	    (uint64_t)nstr != k->strings)
		return fail(err, 2, file, "damaged database: the heap does not match its tables");
	return 0;
}

/* Refuses a heap whose arrays would need more than --max-memory. */
static int check_need(const char *file, const struct counts *k, long double need,
                      struct db_error *err)
{
	if (load_max_memory && need > (long double)load_max_memory)
		return fail(
		        err, 2, file,
		        "its heap needs about %.0Lf MiB of memory (%llu objects, %llu references),"
		        " more than --max-memory %llu MiB",
		        need / (1 << 20), (unsigned long long)k->n, (unsigned long long)k->m,
		        (unsigned long long)(load_max_memory >> 20));
	return 0;
}

/* Reads the rows of heap_chunk in order into img, with their data if
 * with_data says so (bit 0: objects chunks, bit 1: references chunks; else
 * data stays NULL and rowid says where it is), and checks
 * that they tile the objects and references of k. *maxulen gets the largest
 * raw size. 0, or -1 with err filled (img then holds what was read). */
static int read_chunks(sqlite3 *db, const char *file, const struct counts *k, int with_data,
                       struct heap_image *img, uint64_t *maxulen, struct db_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT part, first, count, base, missing, wide_base, wide, ulen, id,"
	            " length(data), CASE WHEN ?1 THEN data END"
	            " FROM heap_chunk ORDER BY id",
	            -1, &st, NULL) != SQLITE_OK)
		return fail(err, 2, file, "damaged database: %s", sqlite3_errmsg(db));
	sqlite3_bind_int(st, 1, with_data);
	uint64_t next[2] = {0, 0}, nmiss = 0, nwide = 0;
	int step;
	*maxulen = 1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct heap_chunk_buf c;
		int64_t v[10];
		for (int i = 0; i < 10; i++)
			v[i] = sqlite3_column_int64(st, i);
		for (int i = 0; i < 10; i++)
			if (v[i] < 0)
				goto damaged;
		memset(&c, 0, sizeof c);
		c.part = (int)v[0];
		c.first = (uint64_t)v[1];
		c.count = (uint64_t)v[2];
		c.base = (uint64_t)v[3];
		c.missing = (uint64_t)v[4];
		c.wide_base = (uint64_t)v[5];
		c.wide = (uint64_t)v[6];
		c.ulen = (uint64_t)v[7];
		c.rowid = v[8];
		c.len = (size_t)v[9];
		if ((c.part != 0 && c.part != 1) || c.first != next[c.part] || c.count == 0 ||
		    c.count > (c.part ? REF_CHUNK : OBJ_CHUNK) ||
		    c.count > (c.part ? k->m : k->n) - c.first ||
		    c.ulen > c.count * MAX_RAW_PER_ITEM || (c.part == 0 && c.base > k->m))
			goto damaged;
		if (c.part == 1) {
			if (c.base != nmiss || c.missing > k->miss - nmiss ||
			    c.wide_base != nwide || c.wide > k->wide - nwide)
				goto damaged;
			nmiss += c.missing;
			nwide += c.wide;
		}
		next[c.part] += c.count;
		if (c.ulen > *maxulen)
			*maxulen = c.ulen;
		if (with_data & (c.part + 1)) {
			if ((size_t)sqlite3_column_bytes(st, 10) != c.len)
				goto damaged;
			if (!(c.data = malloc(c.len ? c.len : 1))) {
				fail(err, 1, file, "out of memory reading the heap");
				goto out;
			}
			if (c.len) /* an empty blob is NULL, which memcpy may not take */
				memcpy(c.data, sqlite3_column_blob(st, 10), c.len);
		}
		if (img->n == img->cap) {
			size_t cap = img->cap ? 2 * img->cap : 16;
			void *q = realloc(img->c, cap * sizeof *img->c);
			if (!q) {
				free(c.data);
				fail(err, 1, file, "out of memory reading the heap");
				goto out;
			}
			img->c = q;
			img->cap = cap;
		}
		img->c[img->n++] = c;
	}
	if (step != SQLITE_DONE) {
		fail(err, 2, file, "damaged database: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (next[0] != k->n || next[1] != k->m || nmiss != k->miss || nwide != k->wide)
		goto damaged;
	rc = 0;
	goto out;
damaged:
	fail(err, 2, file, "damaged database: the heap's chunks do not fit together");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Each objects chunk must start at the reference where the last ended
 * (ends[i]: past chunk i's references), and the last end at m. */
static int ends_tile(const struct heap_image *img, const uint64_t *ends, uint64_t m)
{
	uint64_t e = 0;
	for (size_t i = 0; i < img->n; i++) {
		if (img->c[i].part != 0)
			continue;
		if (img->c[i].base != e)
			return -1;
		e = ends[i];
	}
	return e == m ? 0 : -1;
}

static void set_counts(struct heap *h, const struct counts *k)
{
	h->n = (uint32_t)k->n;
	h->m = k->m;
	h->ntypes = (uint32_t)k->types;
	h->nstrings = (uint32_t)k->strings;
	h->ncycles = (uint32_t)k->cycles;
	h->nmissing = k->miss;
	h->nwide = k->wide;
}

int heap_load(sqlite3 *db, const char *file, struct heap *h, struct db_error *err)
{
	struct counts k;
	struct heap_image img = {0};
	struct job jobs[2];
	pthread_t tid;
	int threaded = 0, rc = -1;
	uint64_t maxulen, n, m;
	char why[200];
	heap_release(h);
	memset(jobs, 0, sizeof jobs);
	if (read_counts(db, file, &k, err) < 0)
		return -1;
	n = k.n;
	m = k.m;
	/* What the arrays below and the reverse CSR the commands build cost. */
	if (check_need(file, &k,
	               (long double)n * HEAP_BYTES_PER_OBJECT +
	                       (long double)m * HEAP_BYTES_PER_REF + (long double)k.miss * 8 +
	                       (long double)k.wide * 16,
	               err) < 0)
		return -1;
	set_counts(h, &k);
	/* The chunks, in order; they must tile the objects and references. */
	if (read_chunks(db, file, &k, 3, &img, &maxulen, err) < 0)
		goto out;
	/* Only now, with chunks that account for every object and reference,
	 * the arrays those counts ask for. */
	h->addr = malloc(((size_t)n + 1) * sizeof *h->addr);
	h->type = malloc(((size_t)n + 1) * sizeof *h->type);
	h->flags = malloc((size_t)n + 1);
	h->scc = malloc(((size_t)n + 1) * sizeof *h->scc);
	h->off = malloc(((size_t)n + 1) * sizeof *h->off);
	h->dst = malloc(((size_t)m + 1) * sizeof *h->dst);
	h->kind = malloc((size_t)m + 1);
	h->label = malloc(((size_t)m + 1) * sizeof *h->label);
	h->missing = malloc(((size_t)k.miss + 1) * sizeof *h->missing);
	h->wide = malloc(((size_t)k.wide + 1) * sizeof *h->wide);
	if (!h->addr || !h->type || !h->flags || !h->scc || !h->off || !h->dst || !h->kind ||
	    !h->label || !h->missing || !h->wide) {
		fail(err, 1, file, "out of memory reading the heap");
		goto out;
	}
	uint64_t *ends = calloc(img.n + 1, sizeof *ends);
	if (!ends) {
		fail(err, 1, file, "out of memory reading the heap");
		goto out;
	}
	for (int t = 0; t < 2; t++) {
		jobs[t] = (struct job){h, img.c, img.n, 2, t, NULL, ends, {0}, 0};
		jobs[t].raw = malloc((size_t)maxulen); /* the largest chunk, decompressed */
		if (!jobs[t].raw) {
			free(jobs[0].raw);
			free(ends);
			fail(err, 1, file, "out of memory reading the heap");
			goto out;
		}
	}
	threaded = img.n > 1 && pthread_create(&tid, NULL, job_run, &jobs[1]) == 0;
	job_run(&jobs[0]);
	if (threaded)
		pthread_join(tid, NULL);
	else
		job_run(&jobs[1]);
	free(jobs[0].raw);
	free(jobs[1].raw);
	const char *jwhy = jobs[0].why[0] ? jobs[0].why : jobs[1].why;
	if (jwhy[0]) {
		free(ends);
		fail(err, 2, file, "damaged database: heap %s", jwhy);
		goto out;
	}
	int tiled = ends_tile(&img, ends, m);
	free(ends);
	if (tiled < 0) {
		fail(err, 2, file, "damaged database: the heap's chunks do not fit together");
		goto out;
	}
	h->off[n] = m;
	if (heap_check(h, why, sizeof why) < 0) {
		fail(err, 2, file, "damaged database: heap %s", why);
		goto out;
	}
	rc = 0;
out:
	heap_image_release(&img);
	if (rc < 0)
		heap_release(h);
	return rc;
}

/* ---- a lean heap, references on demand ------------------------------------ */

/* Reads chunk c's data (by rowid, through st) and inflates it into raw. 0,
 * or -1 with a reason in why. */
static int fetch_chunk(sqlite3_stmt *st, const struct heap_chunk_buf *c, unsigned char *raw,
                       char *why, size_t wn)
{
	int rc = -1;
	sqlite3_bind_int64(st, 1, c->rowid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(why, wn, "chunk %lld cannot be read: %s", (long long)c->rowid,
		         sqlite3_errmsg(sqlite3_db_handle(st)));
	} else {
		const void *data = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (!data || len != c->len || inflate_chunk(raw, c->ulen, data, len) < 0)
			snprintf(why, wn, "chunk %lld does not decompress", (long long)c->rowid);
		else
			rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

struct rev_build {
	struct heap *h;
	uint8_t *rweak; /* filling: bit per entry, set for a weak reference */
	uint32_t src;   /* filling: the source of the last reference */
	uint64_t in;    /* filling: the entries counted */
};

/* Walks the inflated references chunk c (raw), checking it as heap_load
 * does: counts the referrers the build keeps per target (in roff[t + 2]),
 * or with fill files their sources (roff[t + 1] the next free entry of t;
 * needs off). 0, or -1 with why. */
static int rev_chunk(struct rev_build *b, const struct heap_chunk_buf *c, const unsigned char *raw,
                     int fill, char *why, size_t wn)
{
	struct heap *h = b->h;
	struct cursor cur = {raw, raw + c->ulen, 0};
	uint64_t prev = 0, miss = 0, wide = 0;
	for (uint64_t e = c->first; e < c->first + c->count; e++) {
		struct ref r;
		int bad = ref_next(&cur, &prev, h->n, &r);
		if (bad) {
			ref_why(bad, e, &r, h->n, why, wn);
			return -1;
		}
		if (cur.bad)
			break;
		wide += r.label >= HEAP_LABEL_WIDE;
		if (r.dst == HEAP_NONE) {
			miss++;
			continue;
		}
		if (!fill) {
			h->roff[(uint64_t)r.dst + 2]++;
			continue;
		}
		while (h->off[b->src + 1] <= e)
			b->src++;
		uint64_t k = h->roff[(uint64_t)r.dst + 1]++;
		if (k >= b->in) { /* the chunks changed since they were counted */
			snprintf(why, wn, "references do not match their count");
			return -1;
		}
		h->rsrc[k] = b->src;
		if (r.kind == HEAP_REF_WEAK)
			b->rweak[k >> 3] |= (uint8_t)(1u << (k & 7));
	}
	if (cur.bad || cur.p != cur.end) {
		snprintf(why, wn, "chunk %lld is malformed", (long long)c->rowid);
		return -1;
	}
	if (miss != c->missing || wide != c->wide) {
		snprintf(why, wn, "counts of a references chunk do not match");
		return -1;
	}
	return 0;
}

/* The references chunks read and inflated on a second thread, handed over
 * in order through a ring (the filling pass decodes meanwhile). */
struct prefetch {
	struct batchring ring;
	const struct heap_image *img;
	sqlite3_stmt *st;
	unsigned char *raw[BATCHRING_N];
	size_t chunk[BATCHRING_N]; /* img index of the chunk in each slot */
	int failed;                /* set before batchring_done() */
	char why[200];
};

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	unsigned slot = 0;
	for (size_t i = 0; i < p->img->n; i++) {
		if (p->img->c[i].part != 1)
			continue;
		if (fetch_chunk(p->st, &p->img->c[i], p->raw[slot], p->why, sizeof p->why) < 0) {
			p->failed = 1;
			break;
		}
		p->chunk[slot] = i;
		if (batchring_publish(&p->ring) < 0)
			break;
		slot = (slot + 1) % BATCHRING_N;
	}
	batchring_done(&p->ring);
	return NULL;
}

/* The filling pass: the chunks inflated by a prefetching thread (or here,
 * if no thread can start). 0, or -1 with why (-2 out of memory). */
static int rev_fill(struct rev_build *b, const struct heap_image *img, sqlite3_stmt *st,
                    unsigned char *raw, uint64_t maxulen, char *why, size_t wn)
{
	struct prefetch p;
	pthread_t tid;
	int rc = 0;
	memset(&p, 0, sizeof p);
	p.img = img;
	p.st = st;
	for (int i = 0; i < BATCHRING_N; i++)
		if (!(p.raw[i] = malloc((size_t)maxulen)))
			rc = -2;
	batchring_init(&p.ring);
	if (rc == 0 && pthread_create(&tid, NULL, prefetch_main, &p) == 0) {
		int slot;
		while (rc == 0 && (slot = batchring_take(&p.ring)) >= 0)
			rc = rev_chunk(b, &img->c[p.chunk[slot]], p.raw[slot], 1, why, wn);
		batchring_cancel(&p.ring);
		pthread_join(tid, NULL);
		if (rc == 0 && p.failed) {
			snprintf(why, wn, "%s", p.why);
			rc = -1;
		}
	} else if (rc == 0) {
		for (size_t i = 0; i < img->n && rc == 0; i++)
			if (img->c[i].part == 1)
				rc = fetch_chunk(st, &img->c[i], raw, why, wn) < 0
				             ? -1
				             : rev_chunk(b, &img->c[i], raw, 1, why, wn);
	}
	batchring_destroy(&p.ring);
	for (int i = 0; i < BATCHRING_N; i++)
		free(p.raw[i]);
	return rc;
}

void heap_refs_release(struct heap_refs *r)
{
	sqlite3_finalize(r->read);
	heap_image_release(&r->img);
	free(r->raw);
	free(r->dst);
	free(r->kind);
	free(r->label);
	memset(r, 0, sizeof *r);
}

int heap_load_lean(sqlite3 *db, const char *file, struct heap *h, unsigned parts,
                   struct heap_refs *refs, struct db_error *err)
{
	struct counts k;
	uint64_t maxulen, *ends = NULL;
	int64_t cache = -2000;
	int rc = -1, threaded = 0, began = 0;
	pthread_t tid;
	char why[200] = "";
	struct job j;
	memset(&j, 0, sizeof j);
	heap_release(h);
	memset(refs, 0, sizeof *refs);
	if (read_counts(db, file, &k, err) < 0)
		return -1;
	/* flags, off and roff; type; rsrc and its weak bits */
	long double need = (long double)k.n * (17 + (parts & HEAP_LEAN_TYPE ? 4 : 0));
	if (parts & HEAP_LEAN_REFERRERS)
		need += (long double)k.m * 4.125L;
	if (check_need(file, &k, need, err) < 0)
		return -1;
	set_counts(h, &k);
	refs->nobj = h->n;
	/* The chunks pass through SQLite's page cache once each: keep it small
	 * meanwhile (it would otherwise grow to its 64 MiB for nothing). */
	if (one_int(db, "PRAGMA cache_size", &cache) < 0)
		cache = -2000;
	sqlite3_exec(db, "PRAGMA cache_size = -2048", NULL, NULL, NULL);
	/* one read transaction: both passes see the same chunks */
	began = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	/* the objects chunks' data now (a few bytes per object, freed as they
	 * are decoded), the references chunks' when they are walked */
	if (read_chunks(db, file, &k, 1, &refs->img, &maxulen, err) < 0)
		goto out;
	h->flags = malloc((size_t)k.n + 1);
	h->off = malloc(((size_t)k.n + 1) * sizeof *h->off);
	h->roff = calloc((size_t)k.n + 2, sizeof *h->roff);
	if (parts & HEAP_LEAN_TYPE)
		h->type = malloc(((size_t)k.n + 1) * sizeof *h->type);
	refs->raw = malloc((size_t)maxulen);
	ends = calloc(refs->img.n + 1, sizeof *ends);
	j = (struct job){h, refs->img.c, refs->img.n, 1, 0, malloc((size_t)maxulen), ends, {0}, 0};
	if (!h->flags || !h->off || !h->roff || ((parts & HEAP_LEAN_TYPE) && !h->type) ||
	    !refs->raw || !ends || !j.raw) {
		fail(err, 1, file, "out of memory reading the heap");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT data FROM heap_chunk WHERE id = ?1", -1, &refs->read,
	                       NULL) != SQLITE_OK) {
		fail(err, 2, file, "damaged database: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* The objects on a second thread, while this one counts the referrers
	 * of every target (which needs no offsets). */
	threaded = pthread_create(&tid, NULL, job_run, &j) == 0;
	struct rev_build b = {h, NULL, 0, 0};
	for (size_t i = 0; i < refs->img.n && !why[0]; i++) {
		const struct heap_chunk_buf *c = &refs->img.c[i];
		if (c->part == 1 && fetch_chunk(refs->read, c, refs->raw, why, sizeof why) == 0)
			rev_chunk(&b, c, refs->raw, 0, why, sizeof why);
	}
	if (threaded)
		pthread_join(tid, NULL);
	else
		job_run(&j);
	free(j.raw);
	j.raw = NULL;
	if (!why[0] && j.why[0])
		snprintf(why, sizeof why, "%s", j.why);
	if (!why[0] && ends_tile(&refs->img, ends, k.m) < 0)
		snprintf(why, sizeof why, "chunks do not fit together");
	if (why[0]) {
		fail(err, 2, file, "damaged database: heap %s", why);
		goto out;
	}
	h->off[k.n] = k.m;
	for (uint64_t v = 0; v < k.n; v++)
		h->roff[v + 2] += h->roff[v + 1];
	uint64_t in = b.in = h->roff[k.n + 1];
	if (parts & HEAP_LEAN_REFERRERS) {
		/* then the sources, in a second pass: no array of targets is held */
		h->rsrc = malloc(((size_t)in + 1) * sizeof *h->rsrc);
		b.rweak = h->rweak = calloc((size_t)in / 8 + 1, 1);
		int got = -2;
		if (h->rsrc && h->rweak)
			got = rev_fill(&b, &refs->img, refs->read, refs->raw, maxulen, why,
			               sizeof why);
		if (got == -2) {
			fail(err, 1, file, "out of memory reading the heap");
			goto out;
		}
		if (got < 0) {
			fail(err, 2, file, "damaged database: heap %s", why);
			goto out;
		}
	} else {
		/* in-degrees only: roff[v] .. roff[v + 1] as if filled */
		memmove(h->roff, h->roff + 1, ((size_t)k.n + 1) * sizeof *h->roff);
	}
	refs->cur = SIZE_MAX;
	rc = 0;
out:
	free(ends);
	free(j.raw);
	if (began)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA cache_size = %lld", (long long)cache);
	sqlite3_exec(db, pragma, NULL, NULL, NULL);
	if (rc < 0) {
		heap_refs_release(refs);
		heap_release(h);
	}
	return rc;
}

int heap_refs_get(struct heap_refs *r, uint64_t e, struct heap_ref *out, char *why, size_t wn)
{
	const struct heap_image *img = &r->img;
	if (r->cur == SIZE_MAX || e < img->c[r->cur].first ||
	    e - img->c[r->cur].first >= img->c[r->cur].count) {
		/* the references chunk holding e: chunks are in order, references after objects */
		size_t lo = 0, hi = img->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (img->c[mid].part == 0 || img->c[mid].first + img->c[mid].count <= e)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= img->n || img->c[lo].part != 1 || e < img->c[lo].first) {
			snprintf(why, wn, "reference %llu is not in the heap",
			         (unsigned long long)e);
			return -1;
		}
		const struct heap_chunk_buf *c = &img->c[lo];
		r->cur = SIZE_MAX;
		if (c->count > r->cap) {
			free(r->dst);
			free(r->kind);
			free(r->label);
			r->dst = malloc(c->count * sizeof *r->dst);
			r->kind = malloc(c->count);
			r->label = malloc(c->count * sizeof *r->label);
			r->cap = r->dst && r->kind && r->label ? c->count : 0;
			if (!r->cap) {
				snprintf(why, wn, "out of memory");
				return -1;
			}
		}
		if (fetch_chunk(r->read, c, r->raw, why, wn) < 0)
			return -1;
		struct cursor cur = {r->raw, r->raw + c->ulen, 0};
		uint64_t prev = 0;
		for (uint64_t i = 0; i < c->count; i++) {
			struct ref x;
			int bad = ref_next(&cur, &prev, r->nobj, &x);
			if (bad || cur.bad) {
				if (bad)
					ref_why(bad, c->first + i, &x, r->nobj, why, wn);
				else
					snprintf(why, wn, "chunk %lld is malformed",
					         (long long)c->rowid);
				return -1;
			}
			r->dst[i] = x.dst;
			r->kind[i] = (uint8_t)x.kind;
			r->label[i] = x.label;
		}
		r->cur = lo;
	}
	uint64_t i = e - img->c[r->cur].first;
	out->dst = r->dst[i];
	out->kind = r->kind[i];
	out->label = r->label[i];
	return 0;
}
