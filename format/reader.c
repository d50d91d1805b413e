/* reader.c — the one decoder of pymple dumps (schema/FORMAT.md), shared by
 * load, check/inspect and the fuzz target. It validates every byte it reads,
 * streams chunk by chunk (memory: one chunk, the string and type tables unless
 * PYM_READ_NO_TABLES, and the refs of one object or one piece of them), keeps
 * every allocation within its budget, and never prints or exits: failures
 * fill a struct pym_error. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pymple_format.h"

enum { ST_CHUNKS, ST_DONE, ST_FAILED };

/* String table: text lives in blocks that never move, so the pointers
 * pym_reader_string() returns stay valid until pym_reader_close(). */
#define STR_BLOCK (1u << 20)
struct strblock {
	struct strblock *next;
	size_t used, cap;
	char data[];
};
struct strent {
	const char *p;
	uint32_t len;
};

struct pym_reader {
	int fd; /* -1 in memory mode */
	const unsigned char *mem;
	uint64_t size; /* file size (fstat at open, or buffer length) */
	uint64_t off;  /* file bytes consumed */
	unsigned major, minor;
	int state;
	struct pym_error err; /* sticky copy of the first failure */

	unsigned char *cbuf; /* compressed payload (file mode only) */
	size_t ccap;
	unsigned char *ubuf; /* the current chunk's records */
	size_t ucap;
	const unsigned char *p, *end;
	uint64_t chunk_off; /* file offset of the current chunk */
	z_stream zs;
	int zinit;
	uint64_t prev_addr;

	struct strent *str;
	uint32_t nstr, strcap;
	struct strblock *blocks;
	uint32_t *type_name;
	uint32_t ntype, typecap;
	struct pym_rref *refs;
	size_t refcap;
	struct pym_rframe *frames;
	size_t framecap;
	uint32_t nsites;
	uint32_t pending_site;     /* from an ALLOC record, for the next OBJECT */
	char value[PYM_VALUE_MAX]; /* value of an object whose refs cross chunks */

	uint64_t objects, nrefs, roots, chunks;

	unsigned mode;         /* PYM_READ_* */
	uint64_t budget, used; /* bytes allowed (0: any) and allocated */
	int has_tail;          /* tail[] read from the end of the file at open */
	uint64_t tail[6];
	/* PYM_READ_PIECES: references of the last OBJECT still to deliver */
	uint64_t obj_addr, obj_total, obj_seen;
	uint64_t obj_left;              /* in REFS records not yet started */
	uint64_t rec_left;              /* in the current record, from rec_p */
	const unsigned char *rec_p;     /* inside ubuf */
	const unsigned char *rec_start; /* that record's first byte (errors) */
	uint64_t rec_prev;              /* delta base for rec_p */
};

/* ---- errors ------------------------------------------------------------ */

#define STR_(x) #x
#define STR(x)  STR_(x)

static int set_err(struct pym_reader *r, struct pym_error *err, int code, uint64_t off,
                   const char *where, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int set_err(struct pym_reader *r, struct pym_error *err, int code, uint64_t off,
                   const char *where, const char *fmt, ...)
{
	struct pym_error e;
	va_list ap;
	e.code = code;
	e.offset = off;
	e.where = where;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	if (r) {
		r->state = ST_FAILED;
		r->err = e;
	}
	if (err)
		*err = e;
	return -1;
}

/* Every corruption goes through here: one place for a breakpoint, and the
 * message says at which byte the file broke (SQLite's SQLITE_CORRUPT_BKPT). */
#define CORRUPT(r, err, off, ...)                                                                  \
	set_err(r, err, PYM_ERR_CORRUPT, off, __FILE__ ":" STR(__LINE__), __VA_ARGS__)
/* strerror text with a lower-case first letter (the house error style:
 * "no such file or directory"); acronyms like "I/O error" stay as they are. */
static const char *errtext(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z') && buf[1] != '/')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

#define FAIL(r, err, code, off, ...)                                                               \
	set_err(r, err, code, off, __FILE__ ":" STR(__LINE__), __VA_ARGS__)

static int truncated(struct pym_reader *r, struct pym_error *err, uint64_t at)
{
	return FAIL(r, err, PYM_ERR_TRUNCATED, at,
	            "truncated at byte %llu (no trailer; was the dump interrupted?)",
	            (unsigned long long)at);
}

/* ---- input ------------------------------------------------------------- */

/* Reads n bytes at r->off: points *out at them (memory mode) or copies them
 * into dst. Returns the number of bytes available (< n at end of file), or
 * -1 on an I/O error (err filled). */
static long long fetch(struct pym_reader *r, struct pym_error *err, size_t n, unsigned char *dst,
                       const unsigned char **out)
{
	if (r->fd < 0) {
		uint64_t left = r->size - r->off;
		size_t k = left < n ? (size_t)left : n;
		*out = r->mem + r->off;
		r->off += k;
		return (long long)k;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(r->fd, dst + got, n - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			char eb[128];
			return FAIL(r, err, PYM_ERR_IO, r->off + got, "read failed: %s",
			            errtext(errno, eb, sizeof eb));
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->off += got;
	*out = dst;
	return (long long)got;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*buf, n * elem);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/* grow() within the reader's budget: -1 out of memory, -2 over the budget. */
static int rgrow(struct pym_reader *r, void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t before = *cap;
	uint64_t n = before ? before : 64;
	while (n < need)
		n *= 2;
	if (r->budget && r->used - before * elem + n * elem > r->budget)
		return -2;
	if (grow(buf, cap, need, elem) < 0)
		return -1;
	r->used += (*cap - before) * elem;
	return 0;
}

static int over_budget(struct pym_reader *r, struct pym_error *err, uint64_t off)
{
	return FAIL(r, err, PYM_ERR_LIMIT, off,
	            "reading it needs more than %llu MiB of memory (see --max-memory)",
	            (unsigned long long)(r->budget >> 20));
}

/* Failure of rgrow()/add_string() (rc -1 or -2) as an error. */
static int alloc_failed(struct pym_reader *r, struct pym_error *err, int rc)
{
	if (rc == -2)
		return over_budget(r, err, r->chunk_off);
	return FAIL(r, err, PYM_ERR_NOMEM, r->chunk_off, "out of memory");
}

/* ---- open / close ------------------------------------------------------ */

static struct pym_reader *reader_new(void)
{
	struct pym_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->fd = -1;
	if (inflateInit(&r->zs) != Z_OK) {
		free(r);
		return NULL;
	}
	r->zinit = 1;
	return r;
}

/* Checks the 16-byte file header (frozen across all versions). */
static int read_header(struct pym_reader *r, struct pym_error *err)
{
	unsigned char buf[PYM_FILE_HEADER_LEN];
	const unsigned char *h;
	if (r->size == 0 && r->fd < 0)
		return FAIL(r, err, PYM_ERR_EMPTY, 0, "empty file");
	long long n = fetch(r, err, sizeof buf, buf, &h);
	if (n < 0)
		return -1;
	if (n == 0)
		return FAIL(r, err, PYM_ERR_EMPTY, 0, "empty file");
	size_t m = (size_t)n < PYM_MAGIC_LEN ? (size_t)n : PYM_MAGIC_LEN;
	if (memcmp(h, PYM_MAGIC, m) != 0)
		return FAIL(r, err, PYM_ERR_FOREIGN, 0, "not a pymple dump (bad magic)");
	if (n < PYM_FILE_HEADER_LEN)
		return truncated(r, err, (uint64_t)n);
	if (le32(h + 12) != (uint32_t)crc32(0L, h, 12))
		return CORRUPT(r, err, 12, "file header checksum mismatch");
	r->major = (unsigned)h[8] | (unsigned)h[9] << 8;
	r->minor = (unsigned)h[10] | (unsigned)h[11] << 8;
	if (r->major > PYM_VERSION_MAJOR)
		return FAIL(r, err, PYM_ERR_VERSION, 8,
		            "dump format version %u.%u is newer than this pymple-analyze supports "
		            "(%u.x); upgrade pymple",
		            r->major, r->minor, PYM_VERSION_MAJOR);
	if (r->major < 1)
		return CORRUPT(r, err, 8, "unknown dump format version %u.%u", r->major, r->minor);
	return 0;
}

/* Reads the TAIL from the end of the file, if it has a well-formed one. */
static void read_tail(struct pym_reader *r)
{
	unsigned char b[PYM_CHUNK_HEADER_LEN + PYM_TAIL_LEN];
	const unsigned char *t = b;
	if (r->size < PYM_FILE_HEADER_LEN + sizeof b)
		return;
	uint64_t at = r->size - sizeof b;
	if (r->fd < 0)
		t = r->mem + at;
	else if (pread(r->fd, b, sizeof b, (off_t)at) != (ssize_t)sizeof b)
		return;
	if (memcmp(t, PYM_TAG_TAIL, 4) != 0 || le32(t + 4) != PYM_TAIL_LEN ||
	    le32(t + 8) != PYM_TAIL_LEN ||
	    (uint32_t)crc32(crc32(0L, t, 12), t + PYM_CHUNK_HEADER_LEN, PYM_TAIL_LEN) !=
	            le32(t + 12))
		return;
	for (int i = 0; i < 6; i++)
		r->tail[i] = le64(t + PYM_CHUNK_HEADER_LEN + 8 * i);
	r->has_tail = 1;
}

static struct pym_reader *open_common(struct pym_reader *r, struct pym_error *err)
{
	if (read_header(r, err) < 0) {
		pym_reader_close(r);
		return NULL;
	}
	read_tail(r);
	r->state = ST_CHUNKS;
	return r;
}

const char *pym_error_text(const struct pym_error *e, char *buf, size_t n)
{
	if (e->code == PYM_ERR_EMPTY)
		return "empty file (not a pymple dump)";
	snprintf(buf, n, "%s", e->msg[0] ? e->msg : "cannot read the dump");
	/* "cannot open: No such file ..." -> "cannot open: no such file ..." */
	char *p = strstr(buf, ": ");
	if (e->code == PYM_ERR_IO && p && p[2] >= 'A' && p[2] <= 'Z' && p[3] >= 'a' && p[3] <= 'z')
		p[2] = (char)(p[2] - 'A' + 'a');
	return buf;
}

struct pym_reader *pym_reader_open(const char *path, struct pym_error *err)
{
	char eb[128];
	struct stat st;
	struct pym_reader *r = reader_new();
	if (!r) {
		FAIL(NULL, err, PYM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		FAIL(NULL, err, PYM_ERR_IO, 0, "cannot open: %s", strerror(errno));
		pym_reader_close(r);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		FAIL(NULL, err, PYM_ERR_IO, 0, "cannot read: %s", errtext(EISDIR, eb, sizeof eb));
		pym_reader_close(r);
		return NULL;
	}
	r->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	return open_common(r, err);
}

struct pym_reader *pym_reader_open_mem(const void *buf, size_t len, struct pym_error *err)
{
	struct pym_reader *r = reader_new();
	if (!r) {
		FAIL(NULL, err, PYM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->mem = buf;
	r->size = len;
	return open_common(r, err);
}

void pym_reader_close(struct pym_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->zinit)
		inflateEnd(&r->zs);
	while (r->blocks) {
		struct strblock *b = r->blocks;
		r->blocks = b->next;
		free(b);
	}
	free(r->cbuf);
	free(r->ubuf);
	free(r->str);
	free(r->type_name);
	free(r->refs);
	free(r->frames);
	free(r);
}

/* ---- chunks ------------------------------------------------------------ */

/* TAIL: six u64 counts that must equal what was read; nothing may follow. */
static int finish_tail(struct pym_reader *r, struct pym_error *err, const unsigned char *c)
{
	static const char *const names[6] = {"objects", "refs",  "strings",
	                                     "types",   "roots", "chunks"};
	uint64_t seen[6] = {r->objects, r->nrefs, r->nstr, r->ntype, r->roots, r->chunks};
	for (int i = 0; i < 6; i++) {
		uint64_t want = le64(c + 8 * i);
		if (want != seen[i])
			return CORRUPT(
			        r, err, r->chunk_off + PYM_CHUNK_HEADER_LEN + 8 * (uint64_t)i,
			        "trailer says %llu %s but the file holds %llu",
			        (unsigned long long)want, names[i], (unsigned long long)seen[i]);
	}
	unsigned char one;
	const unsigned char *q;
	long long n = fetch(r, err, 1, &one, &q);
	if (n < 0)
		return -1;
	if (n > 0)
		return CORRUPT(r, err, r->off - 1, "unexpected data after the trailer");
	r->state = ST_DONE;
	return 0;
}

/* Loads the next chunk. Returns 1 when a DATA chunk is ready in ubuf, 0
 * after a verified TAIL, -1 on error. */
static int load_chunk(struct pym_reader *r, struct pym_error *err)
{
	for (;;) {
		unsigned char hb[PYM_CHUNK_HEADER_LEN];
		const unsigned char *h, *payload;
		r->chunk_off = r->off;
		long long n = fetch(r, err, sizeof hb, hb, &h);
		if (n < 0)
			return -1;
		if (n < PYM_CHUNK_HEADER_LEN)
			return truncated(r, err, r->off);
		uint32_t clen = le32(h + 4), ulen = le32(h + 8), crc = le32(h + 12);
		int is_data = memcmp(h, PYM_TAG_DATA, 4) == 0;
		int is_tail = memcmp(h, PYM_TAG_TAIL, 4) == 0;
		int ancillary = h[0] >= 'a' && h[0] <= 'z';
		if (!is_data && !is_tail && !ancillary)
			return CORRUPT(r, err, r->chunk_off, "unknown chunk tag at byte %llu",
			               (unsigned long long)r->chunk_off);
		if (is_tail && (clen != PYM_TAIL_LEN || ulen != PYM_TAIL_LEN))
			return CORRUPT(r, err, r->chunk_off + 4, "bad trailer length");
		if (is_data &&
		    (ulen == 0 || ulen > PYM_CHUNK_MAX_ULEN || clen > compressBound(ulen)))
			return CORRUPT(
			        r, err, r->chunk_off + 4,
			        "chunk at byte %llu has impossible lengths (%u compressed, %u raw)",
			        (unsigned long long)r->chunk_off, clen, ulen);
		if (clen > PYM_CHUNK_MAX_ULEN + (PYM_CHUNK_MAX_ULEN >> 4))
			return CORRUPT(r, err, r->chunk_off + 4, "chunk at byte %llu is too large",
			               (unsigned long long)r->chunk_off);
		uLong c = crc32(0L, h, 12);
		int g;
		if (r->fd >= 0 &&
		    (g = rgrow(r, (void **)&r->cbuf, &r->ccap, clen ? clen : 1, 1)) < 0)
			return alloc_failed(r, err, g);
		n = fetch(r, err, clen, r->cbuf, &payload);
		if (n < 0)
			return -1;
		if ((uint64_t)n < clen)
			return truncated(r, err, r->off);
		c = crc32(c, payload, clen);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		c = crc; /* let the fuzzer past the checksums into the decoder */
#endif
		if ((uint32_t)c != crc)
			return CORRUPT(r, err, r->chunk_off + 12,
			               "checksum mismatch in chunk at byte %llu",
			               (unsigned long long)r->chunk_off);
		if (is_tail)
			return finish_tail(r, err, payload) < 0 ? -1 : 0;
		if (!is_data)
			continue; /* ancillary chunk this reader does not know */

		if (r->has_tail && r->chunks >= r->tail[5])
			return CORRUPT(r, err, r->chunk_off,
			               "trailer says %llu chunks but the file holds more",
			               (unsigned long long)r->tail[5]);
		if ((g = rgrow(r, (void **)&r->ubuf, &r->ucap, ulen, 1)) < 0)
			return alloc_failed(r, err, g);
		if (inflateReset(&r->zs) != Z_OK)
			return FAIL(r, err, PYM_ERR_NOMEM, r->chunk_off, "zlib failure");
		r->zs.next_in = (Bytef *)(uintptr_t)payload;
		r->zs.avail_in = clen;
		r->zs.next_out = r->ubuf;
		r->zs.avail_out = ulen;
		int zr = inflate(&r->zs, Z_FINISH);
		if (zr != Z_STREAM_END || r->zs.avail_out != 0 || r->zs.avail_in != 0)
			return CORRUPT(r, err, r->chunk_off + PYM_CHUNK_HEADER_LEN,
			               "chunk at byte %llu does not inflate to its %u bytes",
			               (unsigned long long)r->chunk_off, ulen);
		r->p = r->ubuf;
		r->end = r->ubuf + ulen;
		r->prev_addr = 0;
		r->chunks++;
		return 1;
	}
}

/* ---- records ----------------------------------------------------------- */

/* Unsigned LEB128. 0 ok, 1 runs past the chunk end, 2 longer than 64 bits. */
static inline int get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	if (p < end && *p < 0x80) {
		*v = *p;
		*pp = p + 1;
		return 0;
	}
	uint64_t x = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (p >= end)
			return 1;
		unsigned b = *p++;
		if (shift == 63 && b > 1)
			return 2;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80)
			break;
		if (shift == 63)
			return 2;
	}
	*v = x;
	*pp = p;
	return 0;
}

static inline uint64_t unzigzag(uint64_t v)
{
	return (v >> 1) ^ (uint64_t) - (int64_t)(v & 1);
}

/* Decode context of one record: the reader's cursor is advanced only when
 * the whole record decoded, so errors point at the record's first byte. */
#define GETV(x)                                                                                    \
	do {                                                                                       \
		int rc_ = get_varint(&p, end, &(x));                                               \
		if (rc_)                                                                           \
			return bad_varint(r, err, rec0, rc_);                                      \
	} while (0)

static int bad_varint(struct pym_reader *r, struct pym_error *err, const unsigned char *rec0,
                      int rc)
{
	return CORRUPT(r, err, r->chunk_off, "record at raw byte %llu of chunk at byte %llu %s",
	               (unsigned long long)(rec0 - r->ubuf), (unsigned long long)r->chunk_off,
	               rc == 1 ? "runs past the chunk end" : "has a varint over 64 bits");
}

static int rec_corrupt(struct pym_reader *r, struct pym_error *err, const unsigned char *rec0,
                       const char *what, const char *where)
{
	return set_err(r, err, PYM_ERR_CORRUPT, r->chunk_off, where,
	               "record at raw byte %llu of chunk at byte %llu: %s",
	               (unsigned long long)(rec0 - r->ubuf), (unsigned long long)r->chunk_off,
	               what);
}
#define REC_CORRUPT(what) rec_corrupt(r, err, rec0, what, __FILE__ ":" STR(__LINE__))

/* str: varint length + bytes, within the chunk and at most max bytes. */
#define GETS(ptr, len, max)                                                                        \
	do {                                                                                       \
		uint64_t n_;                                                                       \
		GETV(n_);                                                                          \
		if (n_ > (max) || n_ > (uint64_t)(end - p))                                        \
			return REC_CORRUPT("string too long or past the chunk end");               \
		(ptr) = (const char *)p;                                                           \
		(len) = (size_t)n_;                                                                \
		p += n_;                                                                           \
	} while (0)

/* Adds a string to the table (or only counts it, under NO_TABLES: *out is
 * then s itself, valid until the next record). 0, -1 out of memory, -2 over
 * the budget. */
static int add_string(struct pym_reader *r, const char *s, size_t n, const char **out)
{
	if (r->mode & PYM_READ_NO_TABLES) {
		r->nstr++;
		*out = s;
		return 0;
	}
	struct strblock *b = r->blocks;
	if (!b || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > STR_BLOCK ? n + 1 : STR_BLOCK;
		if (r->budget && r->used + sizeof *b + cap > r->budget)
			return -2;
		r->used += sizeof *b + cap;
		b = malloc(sizeof *b + cap);
		if (!b)
			return -1;
		b->next = r->blocks;
		b->used = 0;
		b->cap = cap;
		r->blocks = b;
	}
	size_t cap = r->strcap;
	int g = rgrow(r, (void **)&r->str, &cap, (size_t)r->nstr + 1, sizeof *r->str);
	if (g < 0)
		return g;
	r->strcap = (uint32_t)cap;
	char *d = b->data + b->used;
	memcpy(d, s, n);
	d[n] = '\0';
	b->used += n + 1;
	r->str[r->nstr].p = d;
	r->str[r->nstr].len = (uint32_t)n;
	r->nstr++;
	*out = d;
	return 0;
}

/* Decodes n refs at *pp into r->refs[at..at+n), deltas based at *base
 * (left at the last target). */
static int get_refs(struct pym_reader *r, struct pym_error *err, const unsigned char *rec0,
                    const unsigned char **pp, const unsigned char *end, uint64_t *base, size_t at,
                    uint64_t n)
{
	const unsigned char *p = *pp;
	if (n == 0)
		return 0;
	/* every ref takes at least 2 bytes: bounds the allocation by the input */
	if (n > (uint64_t)(end - p) / 2)
		return REC_CORRUPT("reference count larger than the record");
	int g = rgrow(r, (void **)&r->refs, &r->refcap, at + n, sizeof *r->refs);
	if (g < 0)
		return alloc_failed(r, err, g);
	struct pym_rref *out = r->refs + at;
	uint64_t prev = *base;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t d, l;
		GETV(d);
		GETV(l);
		prev += unzigzag(d);
		uint32_t kind = (uint32_t)(l & PYM_LABEL_KIND_MASK);
		uint64_t value = l >> PYM_LABEL_SHIFT;
		if (kind > PYM_LABEL_WEAK)
			return REC_CORRUPT("unknown reference label kind");
		if (kind == PYM_LABEL_NONE && value != 0)
			return REC_CORRUPT("unlabelled reference with a label value");
		if ((kind == PYM_LABEL_KEY || kind == PYM_LABEL_ATTR) && value >= r->nstr)
			return REC_CORRUPT("reference label names an undefined string");
		out[i].addr = prev;
		out[i].kind = kind;
		out[i].value = value;
	}
	*pp = p;
	*base = prev;
	return 0;
}

/* Next record from the chunk stream, loading chunks as needed. Returns 1
 * with r->p at the record type byte, 0 at the verified end, -1 on error. */
static int need_record(struct pym_reader *r, struct pym_error *err)
{
	while (r->p == r->end) {
		int rc = load_chunk(r, err);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/* Collects the REFS records that continue an OBJECT with PYM_F_MORE_REFS. */
static int more_refs(struct pym_reader *r, struct pym_error *err, struct pym_record *rec,
                     uint64_t total, size_t have)
{
	if (rec->value_len) { /* the next chunk overwrites ubuf */
		memcpy(r->value, rec->value, rec->value_len);
		rec->value = r->value;
	}
	while (have < total) {
		int rc = need_record(r, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return CORRUPT(r, err, r->off,
			               "object references continue past the trailer");
		const unsigned char *p = r->p, *end = r->end, *rec0 = p;
		if (*p++ != PYM_REC_REFS)
			return REC_CORRUPT("object references cut short");
		uint64_t n;
		GETV(n);
		if (n == 0 || n > total - have)
			return REC_CORRUPT("bad REFS record count");
		uint64_t base = rec->addr;
		if (get_refs(r, err, rec0, &p, end, &base, have, n) < 0)
			return -1;
		have += (size_t)n;
		r->p = p;
	}
	rec->refs = r->refs;
	return 0;
}

/* PYM_READ_PIECES: the next piece of the last object's references. 1 with
 * rec filled, 0 when none is pending, -1 on error. */
static int next_piece(struct pym_reader *r, struct pym_record *rec, struct pym_error *err)
{
	if (r->rec_left == 0) {
		if (r->obj_left == 0)
			return 0;
		int rc = need_record(r, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return CORRUPT(r, err, r->off,
			               "object references continue past the trailer");
		const unsigned char *p = r->p, *end = r->end, *rec0 = p;
		if (*p++ != PYM_REC_REFS)
			return REC_CORRUPT("object references cut short");
		uint64_t n;
		GETV(n);
		if (n == 0 || n > r->obj_left)
			return REC_CORRUPT("bad REFS record count");
		if (n > (uint64_t)(end - p) / 2)
			return REC_CORRUPT("reference count larger than the record");
		r->obj_left -= n;
		r->rec_left = n;
		r->rec_p = p;
		r->rec_start = rec0;
		r->rec_prev = r->obj_addr;
	}
	uint64_t k = r->rec_left < PYM_READ_PIECE_REFS ? r->rec_left : PYM_READ_PIECE_REFS;
	const unsigned char *p = r->rec_p;
	if (get_refs(r, err, r->rec_start, &p, r->end, &r->rec_prev, 0, k) < 0)
		return -1;
	r->rec_p = p;
	r->rec_left -= k;
	if (r->rec_left == 0)
		r->p = p; /* the record is done: the cursor moves past it */
	rec->type = PYM_R_REFS;
	rec->addr = r->obj_addr;
	rec->refs = r->refs;
	rec->nrefs = (uint32_t)k;
	rec->refs_first = r->obj_seen;
	rec->refs_total = r->obj_total;
	r->obj_seen += k;
	r->nrefs += k;
	return 1;
}

/* A count over what the TAIL at the end of the file says. */
static int over_tail(struct pym_reader *r, struct pym_error *err, int i, const char *what)
{
	return CORRUPT(r, err, r->chunk_off, "trailer says %llu %s but the file holds more",
	               (unsigned long long)r->tail[i], what);
}

int pym_reader_next(struct pym_reader *r, struct pym_record *rec, struct pym_error *err)
{
	if (r->state == ST_DONE)
		return 0;
	if (r->state == ST_FAILED) {
		*err = r->err;
		return -1;
	}
	if (r->rec_left || r->obj_left)
		return next_piece(r, rec, err);
	for (;;) {
		int rc = need_record(r, err);
		if (rc <= 0)
			return rc;
		const unsigned char *p = r->p, *end = r->end, *rec0 = p;
		unsigned t = *p++;
		uint64_t a, b, c;
		switch (t) {
		case PYM_REC_OBJECT: {
			uint64_t type, flags, nrefs, total = 0;
			GETV(a);
			GETV(type);
			GETV(flags);
			if (type >= r->ntype)
				return REC_CORRUPT("object of an undefined type");
			if (flags > UINT32_MAX)
				return REC_CORRUPT("object flags over 32 bits");
			rec->type = PYM_R_OBJECT;
			rec->addr = r->prev_addr + unzigzag(a);
			rec->type_index = (uint32_t)type;
			rec->flags = (uint32_t)flags;
			GETV(rec->size);
			GETV(rec->refcount);
			rec->length = rec->extra = rec->serial = 0;
			if (flags & PYM_F_LENGTH)
				GETV(rec->length);
			if (flags & PYM_F_EXTRA)
				GETV(rec->extra);
			if (flags & PYM_F_SERIAL)
				GETV(rec->serial);
			rec->value = NULL;
			rec->value_len = 0;
			if (flags & PYM_F_VALUE) {
				size_t vl;
				GETS(rec->value, vl, PYM_VALUE_MAX);
				rec->value_len = (uint32_t)vl;
			}
			if (flags & PYM_F_MORE_REFS)
				GETV(total);
			GETV(nrefs);
			if ((flags & PYM_F_MORE_REFS) && (total <= nrefs || total > UINT32_MAX))
				return REC_CORRUPT("bad total reference count");
			if (nrefs > (uint64_t)(end - p) / 2)
				return REC_CORRUPT("reference count larger than the record");
			uint64_t all = (flags & PYM_F_MORE_REFS) ? total : nrefs;
			if (r->has_tail && r->objects >= r->tail[0])
				return over_tail(r, err, 0, "objects");
			if (r->has_tail && all > r->tail[1] - r->nrefs)
				return over_tail(r, err, 1, "refs");
			rec->refs_total = all;
			rec->refs_first = 0;
			rec->site = r->pending_site;
			r->pending_site = 0;
			if (r->mode & PYM_READ_PIECES) {
				uint64_t k =
				        nrefs < PYM_READ_PIECE_REFS ? nrefs : PYM_READ_PIECE_REFS;
				uint64_t prev = rec->addr;
				if (get_refs(r, err, rec0, &p, end, &prev, 0, k) < 0)
					return -1;
				r->prev_addr = rec->addr;
				r->obj_addr = rec->addr;
				r->obj_total = all;
				r->obj_seen = k;
				r->obj_left = all - nrefs;
				r->rec_left = nrefs - k;
				r->rec_p = p;
				r->rec_start = rec0;
				r->rec_prev = prev;
				if (r->rec_left == 0)
					r->p = p;
				rec->refs = r->refs;
				rec->nrefs = (uint32_t)k;
				r->objects++;
				r->nrefs += k;
				return 1;
			}
			uint64_t base = rec->addr;
			if (get_refs(r, err, rec0, &p, end, &base, 0, nrefs) < 0)
				return -1;
			r->prev_addr = rec->addr;
			r->p = p;
			rec->refs = r->refs;
			rec->nrefs = (uint32_t)nrefs;
			if (flags & PYM_F_MORE_REFS) {
				if (more_refs(r, err, rec, total, (size_t)nrefs) < 0)
					return -1;
				rec->nrefs = (uint32_t)total;
			}
			r->objects++;
			r->nrefs += rec->nrefs;
			return 1;
		}
		case PYM_REC_STRING: {
			const char *s;
			size_t n;
			GETS(s, n, PYM_STR_MAX);
			if (r->nstr == UINT32_MAX)
				return REC_CORRUPT("too many strings");
			if (r->has_tail && r->nstr >= r->tail[2])
				return over_tail(r, err, 2, "strings");
			rec->type = PYM_R_STRING;
			rec->id = r->nstr;
			int g = add_string(r, s, n, &rec->text);
			if (g < 0)
				return alloc_failed(r, err, g);
			rec->text_len = n;
			r->p = p;
			return 1;
		}
		case PYM_REC_TYPE: {
			GETV(a);
			GETV(b);
			if (a >= r->nstr)
				return REC_CORRUPT("type named by an undefined string");
			if (r->ntype == UINT32_MAX)
				return REC_CORRUPT("too many types");
			if (r->has_tail && r->ntype >= r->tail[3])
				return over_tail(r, err, 3, "types");
			if (!(r->mode & PYM_READ_NO_TABLES)) {
				size_t cap = r->typecap;
				int g = rgrow(r, (void **)&r->type_name, &cap, (size_t)r->ntype + 1,
				              sizeof *r->type_name);
				if (g < 0)
					return alloc_failed(r, err, g);
				r->typecap = (uint32_t)cap;
				r->type_name[r->ntype] = (uint32_t)a;
			}
			rec->type = PYM_R_TYPE;
			rec->id = r->ntype++;
			rec->name_id = (uint32_t)a;
			rec->addr = b;
			r->p = p;
			return 1;
		}
		case PYM_REC_ROOT:
			GETV(a);
			GETV(b);
			GETV(c);
			if (a > UINT32_MAX)
				return REC_CORRUPT("root kind over 32 bits");
			if (c > r->nstr)
				return REC_CORRUPT("root named by an undefined string");
			if (r->has_tail && r->roots >= r->tail[4])
				return over_tail(r, err, 4, "roots");
			rec->type = PYM_R_ROOT;
			rec->root_kind = (uint32_t)a;
			rec->addr = b;
			rec->root_name = (int64_t)c - 1;
			r->roots++;
			r->p = p;
			return 1;
		case PYM_REC_META:
			rec->type = PYM_R_META;
			GETS(rec->key, rec->key_len, PYM_STR_MAX);
			GETS(rec->text, rec->text_len, PYM_STR_MAX);
			r->p = p;
			return 1;
		case PYM_REC_REFS:
			return REC_CORRUPT("REFS record without an object before it");
		case PYM_REC_SITE: {
			GETV(a);
			if (a > (uint64_t)(end - p))
				return REC_CORRUPT("skippable record runs past the chunk end");
			const unsigned char *body_end = p + a;
			end = body_end;
			GETV(b);
			if (b == 0 || b > PYM_SITE_FRAMES_MAX)
				return REC_CORRUPT("bad SITE frame count");
			if (r->nsites == UINT32_MAX - 1)
				return REC_CORRUPT("too many sites");
			/* a frame takes at least 2 bytes: bounded by the record */
			if (b > (uint64_t)(end - p) / 2)
				return REC_CORRUPT("SITE frames run past the record");
			if (grow((void **)&r->frames, &r->framecap, (size_t)b, sizeof *r->frames) <
			    0)
				return FAIL(r, err, PYM_ERR_NOMEM, r->chunk_off, "out of memory");
			for (uint64_t i = 0; i < b; i++) {
				GETV(a);
				GETV(c);
				if (a >= r->nstr)
					return REC_CORRUPT("SITE frame names an undefined string");
				if (c > UINT32_MAX)
					return REC_CORRUPT("SITE line over 32 bits");
				r->frames[i].file = (uint32_t)a;
				r->frames[i].line = (uint32_t)c;
			}
			if (p != body_end)
				return REC_CORRUPT("SITE record length does not match its frames");
			rec->type = PYM_R_SITE;
			rec->id = ++r->nsites;
			rec->nframes = (uint32_t)b;
			rec->frames = r->frames;
			r->p = p;
			return 1;
		}
		case PYM_REC_ALLOC: {
			GETV(a);
			if (a > (uint64_t)(end - p))
				return REC_CORRUPT("skippable record runs past the chunk end");
			const unsigned char *body_end = p + a;
			end = body_end;
			GETV(b);
			if (p != body_end)
				return REC_CORRUPT("ALLOC record length does not match its site");
			if (b == 0 || b > r->nsites)
				return REC_CORRUPT("ALLOC names an undefined site");
			if (p == r->end || *p != PYM_REC_OBJECT)
				return REC_CORRUPT("ALLOC record not followed by its OBJECT");
			r->pending_site = (uint32_t)b;
			r->p = p;
			continue;
		}
		default:
			if (t < PYM_REC_SKIPPABLE)
				return REC_CORRUPT("unknown record type");
			GETV(a);
			if (a > (uint64_t)(end - p))
				return REC_CORRUPT("skippable record runs past the chunk end");
			if (t == PYM_REC_NAME) {
				/* three varints inside the body; bytes after them are
				 * reserved for later minors and skipped */
				const unsigned char *next = p + a;
				end = next;
				GETV(b);
				GETV(c);
				uint64_t d;
				GETV(d);
				if (d >= r->nstr)
					return REC_CORRUPT("NAME record names an undefined string");
				rec->type = PYM_R_NAME;
				rec->name_kind = b > UINT32_MAX ? 0 : (uint32_t)b;
				rec->addr = c;
				rec->name_id = (uint32_t)d;
				r->p = next;
				return 1;
			}
			r->p = p + a;
			continue;
		}
	}
}

/* ---- accessors --------------------------------------------------------- */

void pym_reader_set_mode(struct pym_reader *r, unsigned mode)
{
	r->mode = mode;
}

void pym_reader_set_budget(struct pym_reader *r, uint64_t bytes)
{
	r->budget = bytes;
}

int pym_reader_trailer(const struct pym_reader *r, uint64_t counts[6])
{
	if (!r->has_tail)
		return 0;
	memcpy(counts, r->tail, sizeof r->tail);
	return 1;
}

const char *pym_reader_string(const struct pym_reader *r, uint32_t id, size_t *len)
{
	if (id >= r->nstr || (r->mode & PYM_READ_NO_TABLES))
		return NULL;
	if (len)
		*len = r->str[id].len;
	return r->str[id].p;
}

uint32_t pym_reader_nstrings(const struct pym_reader *r)
{
	return r->nstr;
}

uint32_t pym_reader_ntypes(const struct pym_reader *r)
{
	return r->ntype;
}

int64_t pym_reader_type_name(const struct pym_reader *r, uint32_t t)
{
	return t < r->ntype && !(r->mode & PYM_READ_NO_TABLES) ? (int64_t)r->type_name[t] : -1;
}

unsigned pym_reader_major(const struct pym_reader *r)
{
	return r->major;
}

unsigned pym_reader_minor(const struct pym_reader *r)
{
	return r->minor;
}

uint64_t pym_reader_offset(const struct pym_reader *r)
{
	return r->off;
}

uint64_t pym_reader_file_size(const struct pym_reader *r)
{
	return r->size;
}
