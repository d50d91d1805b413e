/* reader.h — the one decoder of pymple dumps (schema/FORMAT.md), used by the
 * loader, `check`/`inspect` and the fuzz target. Library code: it never
 * prints or exits; every failure fills a caller-owned struct pym_error. */
#ifndef PYMPLE_READER_H
#define PYMPLE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum pym_rec {
	PYM_R_META = 1,
	PYM_R_STRING,
	PYM_R_TYPE,
	PYM_R_OBJECT,
	PYM_R_ROOT,
	PYM_R_REFS, /* PYM_READ_PIECES only: more references of the last OBJECT */
	PYM_R_SITE, /* an allocation site (skippable record 0x40) */
	PYM_R_NAME, /* a NAME record (skippable 0x42, format 1.2) */
};

struct pym_rframe {
	uint32_t file; /* string id (checked < strings so far) */
	uint32_t line;
};

struct pym_rref {
	uint64_t addr;
	uint32_t kind;  /* PYM_LABEL_* */
	uint64_t value; /* index or string id (checked < strings so far) */
};

/* One decoded record. Pointers point into reader-owned memory valid until the
 * next pym_reader_next() call. */
struct pym_record {
	int type; /* enum pym_rec */
	/* META: key/value. STRING: text (id is the string id). */
	const char *key, *text;
	size_t key_len, text_len;
	uint32_t id;
	/* TYPE: id is the type index, name_id its name, addr the type object. */
	uint32_t name_id;
	uint64_t addr;
	/* OBJECT (addr above): */
	uint32_t type_index, flags;
	uint64_t size, refcount, length, extra, serial;
	const char *value;
	uint32_t value_len;
	uint32_t nrefs; /* references in refs (this piece) */
	const struct pym_rref *refs;
	/* NAME (addr above): name_kind (PYM_NAME_*, any value: callers ignore
	 * kinds they do not know) and name_id, a defined string id. */
	uint32_t name_kind;
	uint64_t refs_total; /* OBJECT: all its references (= nrefs unless read in pieces) */
	uint64_t refs_first; /* OBJECT/REFS: index of refs[0] among the object's references */
	uint32_t site;       /* allocation site id, 0 = none (no ALLOC record) */
	/* SITE: id is the site id (from 1); frames innermost first. */
	uint32_t nframes;
	const struct pym_rframe *frames;
	/* ROOT (addr above): kind, name_id or -1 */
	uint32_t root_kind;
	int64_t root_name;
};

struct pym_reader;

/* Opens path and checks the file header. NULL on failure (err filled). */
struct pym_reader *pym_reader_open(const char *path, struct pym_error *err);

/* e's message in the analyzer's wording for one-line errors: system error
 * text in lower case ("cannot open: no such file or directory") and "empty
 * file (not a pymple dump)", the words db.c uses for the same conditions.
 * Returns buf (n bytes, filled) or a static string. */
const char *pym_error_text(const struct pym_error *e, char *buf, size_t n);
/* Same over a memory buffer (the fuzz target); buf must outlive the reader. */
struct pym_reader *pym_reader_open_mem(const void *buf, size_t len, struct pym_error *err);

/* Returns 1 with *rec filled, 0 at a verified end (TAIL present, counts
 * match, nothing after it), -1 on error (err filled). */
int pym_reader_next(struct pym_reader *r, struct pym_record *rec, struct pym_error *err);

/* How the reader holds what it decoded (pym_reader_set_mode, before the
 * first pym_reader_next):
 * - PYM_READ_PIECES: an object's references come in pieces of at most
 *   PYM_READ_PIECE_REFS: the OBJECT record carries the first, PYM_R_REFS
 *   records (addr = the object's) the rest, in order; refs_total says how
 *   many in all. Without it, the reader gathers all of an object's
 *   references before returning it (24 bytes each, within the budget).
 * - PYM_READ_NO_TABLES: string texts and type names are counted, checked
 *   and not kept (pym_reader_string and pym_reader_type_name return
 *   NULL/-1); with PIECES the reader then holds one chunk and nothing that
 *   grows with the file. */
#define PYM_READ_PIECES     1u
#define PYM_READ_NO_TABLES  2u
#define PYM_READ_PIECE_REFS 65536u
void pym_reader_set_mode(struct pym_reader *r, unsigned mode);

/* The most bytes the reader may allocate (chunk buffers, string and type
 * tables, gathered references); past it pym_reader_next fails with
 * PYM_ERR_LIMIT. 0 (the default): no limit of its own. */
void pym_reader_set_budget(struct pym_reader *r, uint64_t bytes);

/* The six TAIL counts (objects, refs, strings, types, roots, chunks), read
 * from the end of the file when it was opened: 1 with counts filled when
 * the file ends in a well-formed TAIL, 0 otherwise. While it reads, the
 * reader refuses a file that holds more of anything than its TAIL says, so
 * these counts bound what a consumer will be given. */
int pym_reader_trailer(const struct pym_reader *r, uint64_t counts[6]);

/* Strings and types seen so far; NULL/-1 for an unknown id. */
const char *pym_reader_string(const struct pym_reader *r, uint32_t id, size_t *len);
uint32_t pym_reader_nstrings(const struct pym_reader *r);
uint32_t pym_reader_ntypes(const struct pym_reader *r);
/* name string id of type index t, or -1 */
int64_t pym_reader_type_name(const struct pym_reader *r, uint32_t t);

unsigned pym_reader_major(const struct pym_reader *r);
unsigned pym_reader_minor(const struct pym_reader *r);
uint64_t pym_reader_offset(const struct pym_reader *r); /* file bytes consumed */
uint64_t pym_reader_file_size(const struct pym_reader *r);

void pym_reader_close(struct pym_reader *r);

#endif
