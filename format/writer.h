/* writer.h — encoder for the pymple dump format (schema/FORMAT.md).
 * Pure C: no Python, no stdio, no malloc after pym_writer_open() unless the
 * caller's allocator does it (or pym_writer_threaded() with libdeflate).
 * Safe in a forked child when given an mmap-backed allocator. Writes with
 * write(2) to a caller-owned fd. */
#ifndef PYMPLE_WRITER_H
#define PYMPLE_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Memory for buffers and zlib's state. alloc returns NULL on failure. */
struct pym_alloc {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p, size_t n);
	void *ctx;
};

/* The default allocator: anonymous mmap/munmap (no locks, fork-safe). */
extern const struct pym_alloc pym_alloc_mmap;

struct pym_ref {
	uint64_t addr;
	uint64_t label; /* (value << PYM_LABEL_SHIFT) | PYM_LABEL_* kind */
};

struct pym_object {
	uint64_t addr;
	uint32_t type;  /* index returned by pym_writer_type() */
	uint32_t flags; /* PYM_F_*; LENGTH/EXTRA/VALUE/SERIAL say which fields count */
	uint64_t size, refcount, length, extra, serial;
	const char *value; /* UTF-8, value_len <= PYM_VALUE_MAX */
	uint32_t value_len;
	uint32_t nrefs;
	const struct pym_ref *refs;
};

/* One frame of an allocation site: a string id and a line number. */
struct pym_site_frame {
	uint32_t file, line;
};

/* Opaque to callers; defined in writer.c. */
struct pym_writer;

/* Writes the file header and prepares one chunk buffer. Returns NULL and sets
 * errno on failure. level is the zlib level (1 is the default). */
struct pym_writer *pym_writer_open(int fd, const struct pym_alloc *alloc, int level);

/* Optional, at any time after pym_writer_open(): compression and write(2) move to
 * helper threads, so the caller's work (walk, encoding) overlaps zlib
 * (about 250 ns/object at level 1) when a core is free; on a busy machine
 * it gains nothing. A writer built with PYM_LIBDEFLATE starts two (one on
 * a single CPU) that compress with libdeflate (the same zlib format, about
 * twice as fast; its state comes from malloc) and write the chunks in
 * order; without it, one with zlib. Stacks and buffers come from the
 * allocator; the threads block every signal, touch nothing but the
 * writer, and are joined by pym_writer_close(). Write errors then surface
 * at the next chunk boundary or at pym_writer_finish(). Do not use it in a
 * forked child of a multi-threaded process (pthread_create is not
 * async-signal-safe). Returns 0, or -1 with errno (no thread is left). */
int pym_writer_threaded(struct pym_writer *w);

/* Each returns 0, or -1 with errno set (ENOMEM, EIO, ENOSPC, ...); after a
 * failure every later call fails too and pym_writer_close() must still run. */
int pym_writer_meta(struct pym_writer *w, const char *key, const char *value, size_t value_len);
/* Returns the new string id through *id. */
int pym_writer_string(struct pym_writer *w, const char *s, size_t n, uint32_t *id);
int pym_writer_type(struct pym_writer *w, uint32_t name_id, uint64_t type_addr, uint32_t *index);
/* SITE: an allocation traceback, innermost frame first (1 <= n <=
 * PYM_SITE_FRAMES_MAX); returns the new site id (from 1) through *id. */
int pym_writer_site(struct pym_writer *w, const struct pym_site_frame *frames, uint32_t n,
                    uint32_t *id);
/* The allocation site (from pym_writer_site) of the next object: its ALLOC
 * record goes just before that OBJECT record, in the same chunk. 0: none. */
int pym_writer_alloc(struct pym_writer *w, uint32_t site);
int pym_writer_object(struct pym_writer *w, const struct pym_object *o);
int pym_writer_root(struct pym_writer *w, unsigned kind, uint64_t addr,
                    int64_t name_id /* -1: none */);
/* A NAME record (PYM_NAME_* kind): the object at addr is known by string
 * name_id. Skippable: readers before format 1.2 pass over it. */
int pym_writer_name(struct pym_writer *w, unsigned kind, uint64_t addr, uint32_t name_id);

/* The records of a walk delivered in memory instead of encoded to a file
 * (snapshot.c, the leak check). Ids are assigned as for a file: strings and
 * types count up from 0 in call order. Each callback returns 0, or -1 with
 * errno set; what it is given is valid during the call only. META and
 * NAME records are dropped. */
struct pym_records {
	int (*string)(void *ctx, uint32_t id, const char *s, size_t n);
	int (*type)(void *ctx, uint32_t index, uint32_t name_id, uint64_t type_addr);
	int (*object)(void *ctx, const struct pym_object *o);
	int (*root)(void *ctx, unsigned kind, uint64_t addr, int64_t name_id);
	void *ctx;
};

/* A writer that hands every record to rec (copied; rec->ctx is the
 * caller's) and writes nothing. pym_writer_threaded() and
 * pym_writer_finish() do nothing on it. NULL and errno on failure. */
struct pym_writer *pym_writer_open_records(const struct pym_records *rec,
                                           const struct pym_alloc *alloc);

/* Flushes the last chunk and writes the TAIL. Does not fsync or close fd. */
int pym_writer_finish(struct pym_writer *w);
/* Frees everything; safe after any failure. */
void pym_writer_close(struct pym_writer *w);

/* Counts so far (for logs and the Python return value). */
uint64_t pym_writer_objects(const struct pym_writer *w);
uint64_t
pym_writer_bytes(const struct pym_writer *w); /* bytes written to fd (exact after finish) */

#endif
