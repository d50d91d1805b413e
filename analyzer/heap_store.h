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

#endif
