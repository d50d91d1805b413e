/* sqlbulk.h — bulk-builds b-trees straight into the pages of an SQLite
 * database file that the loader created and closed: the rows of one table
 * in rowid order, and one index from keys already sorted. Pages are packed
 * full and written in order, at a small fraction of what SQLite's insert
 * path costs per row (no search, no rebalancing, no record decoding).
 *
 * Only for a file this process has just built and nobody else can open (the
 * load's temporary file): the tables' root pages must be SQLite's empty
 * leaves from CREATE, the file a rollback-journal database without
 * auto-vacuum, page size 512..65536, no reserved bytes, UTF-8, schema format
 * 4. Everything is checked at open. Pages go after the file's last page
 * (skipping the lock-byte page); the root becomes the tree's top page; the
 * header's page count is updated at close. No SQLite call is made here: the
 * result is checked by SQLite itself in the tests (PRAGMA integrity_check).
 * Library code: never prints. */
#ifndef PYMPLE_SQLBULK_H
#define PYMPLE_SQLBULK_H

#include <stddef.h>
#include <stdint.h>

/* A record (SQLite's record format) being built: the serial types go into
 * hdr, the values into body. Columns are added in table order. */
#define SQLREC_MAX_COLS 32
#define SQLREC_MAX_BODY 4096
struct sqlrec {
	uint8_t hdr[SQLREC_MAX_COLS * 9 + 9];
	uint8_t body[SQLREC_MAX_BODY];
	uint32_t nhdr, nbody, ncols;
	int too_big; /* a text did not fit: the record is refused */
};

void sqlrec_init(struct sqlrec *r);
void sqlrec_null(struct sqlrec *r);
void sqlrec_int(struct sqlrec *r, int64_t v);
/* A text over SQLREC_MAX_BODY - 8 * SQLREC_MAX_COLS bytes marks the record
 * too_big (sqlbulk_table_add refuses it). */
void sqlrec_text(struct sqlrec *r, const char *p, uint32_t len);
/* Leaves out the trailing columns, from column first on (0 is the first),
 * that hold their default: the integer 0 for a column whose bit is set in
 * zero_default, NULL for the others. SQLite reads a column a record does
 * not have as the column's DEFAULT, which the schema must declare so; the
 * columns from first on must be integers or NULL (not text or blobs). */
void sqlrec_trim(struct sqlrec *r, uint32_t first, uint32_t zero_default);
/* Writes the record (header size, serial types, body) to out, which has room
 * for sqlrec_size(r) bytes; returns that size. */
uint32_t sqlrec_size(const struct sqlrec *r);
uint32_t sqlrec_write(const struct sqlrec *r, uint8_t *out);

/* SQLite's pending byte (its page is never used): tests move it, as
 * SQLITE_TESTCTRL_PENDING_BYTE does, to reach it in a small file. */
extern uint32_t sqlbulk_lock_byte;

struct sqlbulk_kid {
	uint32_t pgno;
	int64_t key; /* table: the largest rowid under it; index: unused */
};

struct sqlbulk {
	int fd;
	uint32_t pgsz;      /* page size; usable size too (no reserved bytes) */
	uint32_t npages;    /* pages in the file, growing */
	uint32_t lock_page; /* the page holding the lock bytes: never used */
	uint8_t *out;       /* pages waiting to be written: consecutive ones */
	uint32_t out_first; /* page number of out's first page */
	uint32_t out_n, out_cap;
	/* the table tree being built */
	uint32_t root;
	uint8_t *page; /* the leaf being filled */
	uint32_t ncells, content;
	int64_t last_rowid;
	uint64_t rows;
	struct sqlbulk_kid *kids; /* finished leaves (or pages of a level) */
	size_t nkids, kcap;
	char why[200]; /* the failure, lower case */
};

/* Opens path (read-write: a regular file of this user, mode 0600 or
 * tighter, not a symbolic link) and checks its header. 0, or -1 with why
 * set (b holds no resources then). */
int sqlbulk_open(struct sqlbulk *b, const char *path);

/* A table tree at root page root (an empty table leaf); rows follow with
 * rowids strictly increasing. 0, or -1 with why. */
int sqlbulk_table_begin(struct sqlbulk *b, uint32_t root);
int sqlbulk_table_add(struct sqlbulk *b, int64_t rowid, const struct sqlrec *rec);
int sqlbulk_table_end(struct sqlbulk *b);

/* An index tree at root page root (an empty index leaf) holding n entries;
 * entry(ctx, i, rec) fills the record of the i-th entry in index order (it
 * is called again for the entries that become separators). 0, or -1. */
typedef void (*sqlbulk_entry_fn)(void *ctx, uint64_t i, struct sqlrec *rec);
int sqlbulk_index(struct sqlbulk *b, uint32_t root, uint64_t n, sqlbulk_entry_fn entry, void *ctx);

/* Writes what is pending and the header (page count, change counter),
 * closes the file. 0, or -1 with why (closed anyway). */
int sqlbulk_close(struct sqlbulk *b);
/* Frees everything without finishing: the file is then not to be used. */
void sqlbulk_release(struct sqlbulk *b);

#endif
