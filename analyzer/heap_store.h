/* heap_store.h — keeps a struct heap (heap.h) in the database, next to the
 * rows users query: the arrays as compressed chunks in table heap_chunk
 * (schema.sql), each well under SQLite's blob limit, read back in bulk and
 * checked before use (a database is input like any other). The reverse CSR
 * is not stored: heap_reverse() rebuilds it. Library code: never prints. */
#ifndef PYMPLE_HEAP_STORE_H
#define PYMPLE_HEAP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db.h"
#include "heap.h"

/* The encoded chunks of one heap, built off the SQLite thread. */
struct heap_chunk_buf {
	int part;       /* 0 objects, 1 references */
	uint64_t first; /* first object id / first reference index */
	uint64_t count; /* objects / references in the chunk */
	uint64_t base;  /* objects: index of the first reference of object `first`;
	                   references: index of the chunk's first missing address */
	uint64_t missing, wide_base, wide; /* references: counts and first index */
	uint64_t ulen;                     /* bytes before compression */
	unsigned char *data;               /* zlib stream */
	size_t len;
	int64_t rowid; /* read back: its heap_chunk row */
};
struct heap_image {
	struct heap_chunk_buf *c;
	size_t n, cap;
};

/* Encodes h (forward arrays, node arrays) into compressed chunks. 0, or -1
 * out of memory (img released). */
int heap_image_encode(const struct heap *h, struct heap_image *img);
void heap_image_release(struct heap_image *img);

/* Inserts the chunks and the heap.* meta keys into db (inside the caller's
 * transaction). 0, or -1 with err filled (status 1). */
int heap_image_write(sqlite3 *db, const struct heap *h, const struct heap_image *img,
                     const char *file, struct db_error *err);

/* Reads the heap of a complete database: decodes the chunks (on two
 * threads), then checks it (heap_check, and that its counts agree with the
 * meta keys, the types, strings and object_data tables). h must be
 * initialized; on failure it is released. 0, or -1 with err filled: status
 * 2 for a damaged or inconsistent database, 1 for memory/SQLite failures. */
int heap_load(sqlite3 *db, const char *file, struct heap *h, struct db_error *err);

/* A lean heap for the commands that walk referrers (path, referrers, top,
 * dominators, garbage): flags, off and the referrers, weak ones marked
 * (rweak), nothing per reference forward;
 * the references themselves are decoded from their chunk when asked
 * (heap_refs_get), one chunk at a time. What heap_load_lean reads besides
 * flags, off and roff: */
enum {
	HEAP_LEAN_TYPE = 1u << 0,      /* type */
	HEAP_LEAN_REFERRERS = 1u << 1, /* rsrc and rweak (else roff alone: in-degrees) */
};

/* One reference, decoded on demand. */
struct heap_ref {
	uint32_t dst;   /* target id, HEAP_NONE if not in the dump */
	unsigned kind;  /* HEAP_REF_* */
	uint64_t label; /* index or string id (kinds 1, 2, 3), 0 otherwise */
};

/* The references of a lean heap, read from the database when asked. */
struct heap_refs {
	struct heap_image img; /* every chunk's row, data not read */
	sqlite3_stmt *read;    /* SELECT data FROM heap_chunk WHERE id = ?1 */
	unsigned char *raw;    /* the largest chunk, inflated */
	size_t cur;            /* img index of the decoded chunk, SIZE_MAX if none */
	uint32_t *dst;         /* the decoded chunk */
	uint8_t *kind;
	uint64_t *label;
	size_t cap;
	uint32_t nobj;
};

/* Reads the lean heap of a complete database: flags, off and the reverse
 * offsets roff (every in-dump reference counted, weak ones too), the
 * sources rsrc and the weak bits rweak with HEAP_LEAN_REFERRERS (sorted by
 * source and position, as heap_reverse() sorts them) and type with
 * HEAP_LEAN_TYPE. Each references chunk is decoded and checked (once, or
 * twice for rsrc) and dropped: no forward array is ever held. refs is
 * ready for heap_refs_get. 0, or -1 with err filled as heap_load. */
int heap_load_lean(sqlite3 *db, const char *file, struct heap *h, unsigned parts,
                   struct heap_refs *refs, struct db_error *err);

/* Reference e (< h->m) of a lean heap. 0, or -1 with a lower-case reason
 * in why (a chunk damaged since the heap was read, SQLite, memory). */
int heap_refs_get(struct heap_refs *r, uint64_t e, struct heap_ref *out, char *why, size_t wn);
void heap_refs_release(struct heap_refs *r);

#endif
