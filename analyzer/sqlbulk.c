/* sqlbulk.c — b-trees built bottom-up into an SQLite file's pages
 * (sqlbulk.h). The on-disk layout is SQLite's published file format:
 *
 *   page:  header | cell pointers (2 bytes each, in key order) | free |
 *          cells (written from the page's end backwards)
 *   header 8 bytes (leaf) or 12 (interior):
 *          [0] kind: 0x0D table leaf, 0x05 table interior,
 *                    0x0A index leaf, 0x02 index interior
 *          [1..2] first freeblock (0)  [3..4] cells  [5..6] content start
 *          [7] fragmented bytes (0)    [8..11] interior: right-most child
 *   cells: table leaf      varint payload size, varint rowid, record
 *          table interior  4-byte left child, varint key (largest rowid in it)
 *          index leaf      varint payload size, record
 *          index interior  4-byte left child, varint payload size, record
 *   record: varint header size, a serial type per column, then the values
 *           (integers big-endian in 1, 2, 3, 4, 6 or 8 bytes; 0 and 1 need
 *           none; text 13 + 2 * length)
 *
 * Every level is filled left to right; a page is closed when the next cell
 * does not fit. An index moves one entry up per closed page (interior cells
 * hold entries the leaves do not); a page is never left empty: when only
 * one entry or child would remain for the next page, the page gives up its
 * last cell instead. If you change any of this, run the tests: SQLite's
 * integrity_check is the judge (tests/unit/test_sqlbulk.c). */
#include "sqlbulk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h" /* db_errtext */

#define OUT_PAGES   64 /* pages written per pwrite */
#define TABLE_LEAF  0x0D
#define TABLE_INNER 0x05
#define INDEX_LEAF  0x0A
#define INDEX_INNER 0x02

uint32_t sqlbulk_lock_byte = 0x40000000u;

static int fail(struct sqlbulk *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct sqlbulk *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof b->why, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* SQLite's varint: 7 bits a byte, most significant first, high bit set on
 * all but the last; a 9th byte carries 8 bits. */
static uint32_t varint_len(uint64_t v)
{
	uint32_t n = 1;
	if (v >> 56)
		return 9;
	while (v >>= 7)
		n++;
	return n;
}

static uint32_t put_varint(uint8_t *p, uint64_t v)
{
	uint8_t tmp[10];
	uint32_t n = 0;
	if (v >> 56) {
		p[8] = (uint8_t)v;
		v >>= 8;
		for (int i = 7; i >= 0; i--) {
			p[i] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		return 9;
	}
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	} while (v);
	tmp[0] &= 0x7f;
	for (uint32_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* ---- records -------------------------------------------------------------- */

void sqlrec_init(struct sqlrec *r)
{
	r->nhdr = r->nbody = r->ncols = 0;
	r->too_big = 0;
}

void sqlrec_null(struct sqlrec *r)
{
	r->hdr[r->nhdr++] = 0;
	r->ncols++;
}

void sqlrec_int(struct sqlrec *r, int64_t v)
{
	static const uint8_t width[] = {0, 1, 2, 3, 4, 6, 8};
	uint32_t t;
	if (v == 0 || v == 1) {
		r->hdr[r->nhdr++] = (uint8_t)(8 + v); /* schema format 4 */
		r->ncols++;
		return;
	}
	if (v >= -128 && v <= 127)
		t = 1;
	else if (v >= -32768 && v <= 32767)
		t = 2;
	else if (v >= -8388608 && v <= 8388607)
		t = 3;
	else if (v >= INT32_MIN && v <= INT32_MAX)
		t = 4;
	else if (v >= -((int64_t)1 << 47) && v < ((int64_t)1 << 47))
		t = 5;
	else
		t = 6;
	r->hdr[r->nhdr++] = (uint8_t)t;
	r->ncols++;
	uint64_t u = (uint64_t)v;
	for (uint32_t i = width[t]; i-- > 0;)
		r->body[r->nbody++] = (uint8_t)(u >> (8 * i));
}

void sqlrec_text(struct sqlrec *r, const char *p, uint32_t len)
{
	if (len > SQLREC_MAX_BODY - 8 * SQLREC_MAX_COLS || r->nbody + len > SQLREC_MAX_BODY) {
		r->too_big = 1;
		len = 0;
	}
	r->nhdr += put_varint(r->hdr + r->nhdr, 13 + 2 * (uint64_t)len);
	r->ncols++;
	if (len)
		memcpy(r->body + r->nbody, p, len);
	r->nbody += len;
}

void sqlrec_trim(struct sqlrec *r, uint32_t first, uint32_t zero_default)
{
	/* serial type 0 is NULL, 8 the integer 0 (schema format 4); both are
	 * one header byte, so the last byte is the last column's whole entry,
	 * provided that column is not a text or blob (the caller's word) */
	while (r->ncols > first) {
		uint8_t t = r->hdr[r->nhdr - 1];
		if (t != ((zero_default >> (r->ncols - 1)) & 1 ? 8 : 0))
			break;
		r->nhdr--;
		r->ncols--;
	}
}

/* The header size counts its own varint. */
static uint32_t rec_header_size(const struct sqlrec *r)
{
	uint32_t h = r->nhdr + 1;
	if (varint_len(h) > 1)
		h = r->nhdr + varint_len(r->nhdr + 2);
	return h;
}

uint32_t sqlrec_size(const struct sqlrec *r)
{
	return rec_header_size(r) + r->nbody;
}

uint32_t sqlrec_write(const struct sqlrec *r, uint8_t *out)
{
	uint32_t n = put_varint(out, rec_header_size(r));
	memcpy(out + n, r->hdr, r->nhdr);
	n += r->nhdr;
	memcpy(out + n, r->body, r->nbody);
	return n + r->nbody;
}

/* ---- pages and the file --------------------------------------------------- */

static int write_all(struct sqlbulk *b, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(b->fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			char eb[128];
			return fail(b, "cannot write the database: %s",
			            w < 0 ? db_errtext(errno, eb, sizeof eb) : "no space left");
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int flush_out(struct sqlbulk *b)
{
	if (!b->out_n)
		return 0;
	uint64_t off = (uint64_t)(b->out_first - 1) * b->pgsz, len = (uint64_t)b->out_n * b->pgsz;
	int rc = write_all(b, b->out, (size_t)len, off);
	b->out_n = 0;
#ifdef SYNC_FILE_RANGE_WRITE
	/* start writing back now: the fsync before the rename waits less */
	if (rc == 0)
		sync_file_range(b->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#endif
	return rc;
}

/* Writes page pgno (a copy is kept until flushed when it follows the
 * pending ones). */
static int emit(struct sqlbulk *b, uint32_t pgno, const uint8_t *page)
{
	if (b->out_n && (pgno != b->out_first + b->out_n || b->out_n == b->out_cap))
		if (flush_out(b) < 0)
			return -1;
	if (!b->out_n)
		b->out_first = pgno;
	memcpy(b->out + (size_t)b->out_n * b->pgsz, page, b->pgsz);
	b->out_n++;
	return 0;
}

static int new_page(struct sqlbulk *b, uint32_t *pgno)
{
	if (b->npages >= 0xfffffff0u)
		return fail(b, "the database would exceed SQLite's page count");
	if (++b->npages == b->lock_page)
		++b->npages;
	*pgno = b->npages;
	return 0;
}

/* One page being filled. */
struct pager {
	uint8_t *p;
	uint32_t hdr, ncells, content, last_size;
};

static void pager_start(struct pager *g, const struct sqlbulk *b, int kind)
{
	memset(g->p, 0, b->pgsz);
	g->p[0] = (uint8_t)kind;
	g->hdr = (kind == TABLE_LEAF || kind == INDEX_LEAF) ? 8 : 12;
	g->ncells = 0;
	g->content = b->pgsz;
	g->last_size = 0;
}

static int pager_fits(const struct pager *g, uint32_t size)
{
	return g->hdr + 2 * (g->ncells + 1) + size <= g->content;
}

static uint8_t *pager_add(struct pager *g, uint32_t size)
{
	g->content -= size;
	put16(g->p + g->hdr + 2 * g->ncells, g->content);
	g->ncells++;
	g->last_size = size;
	return g->p + g->content;
}

/* Takes the last cell off again (once per close). */
static void pager_pop(struct pager *g)
{
	g->ncells--;
	g->content += g->last_size;
	put16(g->p + g->hdr + 2 * g->ncells, 0);
	memset(g->p + g->content - g->last_size, 0, g->last_size);
}

static void pager_seal(struct pager *g, uint32_t pgsz, uint32_t right)
{
	put16(g->p + 3, g->ncells);
	put16(g->p + 5, g->content == 65536 ? 0 : g->content);
	if (g->hdr == 12)
		put32(g->p + 8, right);
	(void)pgsz;
}

int sqlbulk_open(struct sqlbulk *b, const char *path)
{
	uint8_t h[100];
	struct stat st;
	memset(b, 0, sizeof *b);
	b->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (b->fd < 0) {
		char eb[128];
		return fail(b, "cannot open: %s", db_errtext(errno, eb, sizeof eb));
	}
	/* ours: a regular file of this user that nobody else may open */
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		fail(b, "not a database file of ours (owner or mode)");
		goto bad;
	}
	if (pread(b->fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    memcmp(h, "SQLite format 3", 16) != 0) {
		fail(b, "not an SQLite database");
		goto bad;
	}
	b->pgsz = get16(h + 16) == 1 ? 65536 : get16(h + 16);
	if (b->pgsz < 512 || (b->pgsz & (b->pgsz - 1)) || h[18] != 1 || h[19] != 1 || h[20] != 0 ||
	    get32(h + 44) != 4 || get32(h + 52) != 0 || get32(h + 56) != 1 ||
	    get32(h + 24) != get32(h + 92) ||
	    (uint64_t)st.st_size != (uint64_t)get32(h + 28) * b->pgsz) {
		fail(b, "an SQLite database of a kind not built here");
		goto bad;
	}
	b->npages = get32(h + 28);
	b->lock_page = sqlbulk_lock_byte / b->pgsz + 1;
	b->out_cap = OUT_PAGES;
	b->out = malloc((size_t)b->out_cap * b->pgsz);
	b->page = malloc(b->pgsz);
	if (!b->out || !b->page) {
		fail(b, "out of memory");
		goto bad;
	}
	return 0;
bad:
	sqlbulk_release(b);
	return -1;
}

void sqlbulk_release(struct sqlbulk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	free(b->out);
	free(b->page);
	free(b->kids);
	b->out = b->page = NULL;
	b->kids = NULL;
	b->nkids = b->kcap = 0;
}

/* The root page must be SQLite's empty leaf of the expected kind. */
static int check_root(struct sqlbulk *b, uint32_t root, int kind)
{
	uint8_t h[8];
	if (root < 2 || root > b->npages || root == b->lock_page ||
	    pread(b->fd, h, sizeof h, (off_t)(root - 1) * b->pgsz) != (ssize_t)sizeof h ||
	    h[0] != kind || get16(h + 3) != 0)
		return fail(b, "page %u is not an empty b-tree root", root);
	return 0;
}

static int push_kid(struct sqlbulk *b, uint32_t pgno, int64_t key)
{
	if (b->nkids == b->kcap) {
		size_t cap = b->kcap ? 2 * b->kcap : 256;
		struct sqlbulk_kid *k = realloc(b->kids, cap * sizeof *k);
		if (!k)
			return fail(b, "out of memory");
		b->kids = k;
		b->kcap = cap;
	}
	b->kids[b->nkids].pgno = pgno;
	b->kids[b->nkids].key = key;
	b->nkids++;
	return 0;
}

/* Closes page g of a level: a new page number, or the root when it is the
 * level's only page (last and no page before it). */
static int close_page(struct sqlbulk *b, struct pager *g, uint32_t right, int is_root,
                      uint32_t root, uint32_t *pgno)
{
	pager_seal(g, b->pgsz, right);
	if (is_root) {
		*pgno = root;
		if (flush_out(b) < 0)
			return -1;
		return write_all(b, g->p, b->pgsz, (uint64_t)(root - 1) * b->pgsz);
	}
	if (new_page(b, pgno) < 0)
		return -1;
	return emit(b, *pgno, g->p);
}

/* The cell of child kid with separator sep on an interior page: table
 * trees key on the rowid, index trees carry the entry's record. */
struct level_ctx {
	int index;
	sqlbulk_entry_fn entry;
	void *ctx;
	struct sqlrec rec;
};

static uint32_t inner_cell(struct level_ctx *c, uint32_t kid, int64_t sep, uint8_t *out)
{
	put32(out, kid);
	if (!c->index)
		return 4 + put_varint(out + 4, (uint64_t)sep);
	sqlrec_init(&c->rec);
	c->entry(c->ctx, (uint64_t)sep, &c->rec);
	uint32_t len = sqlrec_size(&c->rec);
	uint32_t n = 4 + put_varint(out + 4, len);
	return n + sqlrec_write(&c->rec, out + n);
}

/* Builds the interior levels above b->kids (children with, for each, the
 * separator after it: the largest rowid under it, or the index entry moved
 * up past it) until one page is left, which goes to root. */
static int build_inner(struct sqlbulk *b, struct level_ctx *c, uint32_t root)
{
	uint8_t cell[4 + 9 + SQLREC_MAX_COLS * 9 + 9 + SQLREC_MAX_BODY];
	struct pager g = {.p = b->page};
	int kind = c->index ? INDEX_INNER : TABLE_INNER;
	while (b->nkids > 1) {
		struct sqlbulk_kid *kids = b->kids;
		size_t k = b->nkids - 1, closed = 0; /* children 0..k */
		b->kids = NULL;
		b->nkids = b->kcap = 0;
		pager_start(&g, b, kind);
		for (size_t j = 0; j <= k; j++) {
			uint32_t pgno;
			if (j == k) { /* the last child: the right-most pointer */
				if (close_page(b, &g, kids[j].pgno, closed == 0, root, &pgno) < 0 ||
				    push_kid(b, pgno, kids[j].key) < 0)
					goto fail;
				break;
			}
			uint32_t n = inner_cell(c, kids[j].pgno, kids[j].key, cell);
			if (pager_fits(&g, n)) {
				memcpy(pager_add(&g, n), cell, n);
				continue;
			}
			/* full: child j closes it, unless only child k would be left
			 * for the next page; then child j - 1 does */
			size_t r = j;
			if (j + 1 == k) {
				pager_pop(&g);
				r = j - 1;
			}
			if (close_page(b, &g, kids[r].pgno, 0, root, &pgno) < 0 ||
			    push_kid(b, pgno, kids[r].key) < 0)
				goto fail;
			closed++;
			pager_start(&g, b, kind);
			j = r; /* the loop goes on with r + 1 */
		}
		free(kids);
		continue;
	fail:
		free(kids);
		return -1;
	}
	return 0;
}

/* ---- the table tree ------------------------------------------------------- */

int sqlbulk_table_begin(struct sqlbulk *b, uint32_t root)
{
	if (check_root(b, root, TABLE_LEAF) < 0)
		return -1;
	b->root = root;
	b->rows = 0;
	b->nkids = 0;
	struct pager g = {.p = b->page};
	pager_start(&g, b, TABLE_LEAF);
	b->ncells = g.ncells;
	b->content = g.content;
	return 0;
}

int sqlbulk_table_add(struct sqlbulk *b, int64_t rowid, const struct sqlrec *rec)
{
	struct pager g = {.p = b->page, .hdr = 8, .ncells = b->ncells, .content = b->content};
	uint32_t len = sqlrec_size(rec);
	uint32_t size = varint_len(len) + varint_len((uint64_t)rowid) + len;
	if (rec->too_big)
		return fail(b, "a row too big for a record");
	if (b->rows && rowid <= b->last_rowid)
		return fail(b, "rowid %lld out of order", (long long)rowid);
	/* payloads past U - 35 would need overflow pages: never built here */
	if (len > b->pgsz - 35)
		return fail(b, "a row of %u bytes does not fit in a page", len);
	if (!pager_fits(&g, size)) {
		uint32_t pgno;
		if (close_page(b, &g, 0, 0, b->root, &pgno) < 0 ||
		    push_kid(b, pgno, b->last_rowid) < 0)
			return -1;
		pager_start(&g, b, TABLE_LEAF);
	}
	uint8_t *p = pager_add(&g, size);
	p += put_varint(p, len);
	p += put_varint(p, (uint64_t)rowid);
	sqlrec_write(rec, p);
	b->ncells = g.ncells;
	b->content = g.content;
	b->last_rowid = rowid;
	b->rows++;
	return 0;
}

int sqlbulk_table_end(struct sqlbulk *b)
{
	struct pager g = {.p = b->page, .hdr = 8, .ncells = b->ncells, .content = b->content};
	struct level_ctx c = {.index = 0};
	uint32_t pgno;
	if (close_page(b, &g, 0, b->nkids == 0, b->root, &pgno) < 0 ||
	    push_kid(b, pgno, b->last_rowid) < 0 || build_inner(b, &c, b->root) < 0)
		return -1;
	b->nkids = 0;
	return 0;
}

/* ---- an index tree -------------------------------------------------------- */

int sqlbulk_index(struct sqlbulk *b, uint32_t root, uint64_t n, sqlbulk_entry_fn entry, void *ctx)
{
	struct level_ctx c = {.index = 1, .entry = entry, .ctx = ctx};
	struct pager g = {.p = b->page};
	uint32_t pgno;
	if (check_root(b, root, INDEX_LEAF) < 0)
		return -1;
	b->nkids = 0;
	pager_start(&g, b, INDEX_LEAF);
	for (uint64_t i = 0; i < n; i++) {
		sqlrec_init(&c.rec);
		entry(ctx, i, &c.rec);
		uint32_t len = sqlrec_size(&c.rec);
		uint32_t size = varint_len(len) + len;
		if (len > b->pgsz / 4)
			return fail(b, "an index entry of %u bytes is too big", len);
		if (pager_fits(&g, size)) {
			uint8_t *p = pager_add(&g, size);
			p += put_varint(p, len);
			sqlrec_write(&c.rec, p);
			continue;
		}
		/* full: entry i moves up, unless it is the last one (the next leaf
		 * would be empty); then entry i - 1 moves up and i starts it */
		uint64_t up = i;
		if (i + 1 == n) {
			pager_pop(&g);
			up = i - 1;
		}
		if (close_page(b, &g, 0, 0, root, &pgno) < 0 || push_kid(b, pgno, (int64_t)up) < 0)
			return -1;
		pager_start(&g, b, INDEX_LEAF);
		i = up; /* the loop goes on with up + 1 */
	}
	if (close_page(b, &g, 0, b->nkids == 0, root, &pgno) < 0 || push_kid(b, pgno, -1) < 0 ||
	    build_inner(b, &c, root) < 0)
		return -1;
	b->nkids = 0;
	return 0;
}

int sqlbulk_close(struct sqlbulk *b)
{
	uint8_t h[100];
	int rc = flush_out(b);
	char eb[128];
	if (rc == 0 && pread(b->fd, h, sizeof h, 0) != (ssize_t)sizeof h)
		rc = fail(b, "cannot read the database header: %s",
		          db_errtext(errno, eb, sizeof eb));
	if (rc == 0) {
		uint32_t counter = get32(h + 24) + 1;
		put32(h + 24, counter);
		put32(h + 28, b->npages);
		put32(h + 92, counter);
		rc = write_all(b, h, sizeof h, 0);
	}
	/* the lock page, if the tree went past it, and a last page skipped: the
	 * file must be exactly npages long */
	if (rc == 0 && ftruncate(b->fd, (off_t)b->npages * b->pgsz) < 0)
		rc = fail(b, "cannot size the database: %s", db_errtext(errno, eb, sizeof eb));
	if (close(b->fd) < 0 && rc == 0)
		rc = fail(b, "cannot write the database: %s", db_errtext(errno, eb, sizeof eb));
	b->fd = -1;
	sqlbulk_release(b);
	return rc;
}
