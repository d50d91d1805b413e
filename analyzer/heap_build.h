/* heap_build.h — builds a struct heap (heap.h) from the records the one
 * reader decodes: TYPE and ROOT records and OBJECTs in dump order, then
 * heap_builder_finish() resolves references and computes roots,
 * reachability and cycles. Library code: returns -1 on out-of-memory or
 * too many objects/references, never prints. */
#ifndef PYMPLE_HEAP_BUILD_H
#define PYMPLE_HEAP_BUILD_H

#include <stdint.h>

#include "addrmap.h"
#include "heap.h"
#include "reader.h"

struct heap_builder {
	struct heap h;      /* the result, valid after heap_builder_finish */
	uint32_t *named_id; /* per heap_builder_named_root call: the object's id
	                       (first at that address) or HEAP_NONE, after finish */
	uint64_t nnamed;
	uint64_t dups; /* objects at an address seen before (first wins) */
	/* private */
	uint64_t *taddr; /* per reference: target address until resolved */
	uint32_t *refcount;
	struct addrmap am;
	uint64_t *type_addr, *named;
	uint64_t ocap, ecap, tcap, ncap, wcap;
};

void heap_builder_init(struct heap_builder *b);
/* Frees everything, the heap included (move b->h out first to keep it:
 * copy the struct, then heap_init(&b->h)). */
void heap_builder_release(struct heap_builder *b);

/* A TYPE record: the next type index, its type object's address. */
int heap_builder_type(struct heap_builder *b, uint64_t addr);
/* A ROOT record's address (any kind). */
int heap_builder_named_root(struct heap_builder *b, uint64_t addr);
/* An OBJECT record (rec->type == PYM_R_OBJECT); the caller checks
 * rec->type_index < the types seen. Copies what it keeps: the rec->nrefs
 * references it carries (all of them, or the first piece when the reader
 * delivers them in pieces: PYM_READ_PIECES). */
int heap_builder_object(struct heap_builder *b, const struct pym_record *rec);
/* A PYM_R_REFS record: more references of the last object added, appended
 * in order. -2 if rec->addr is not that object's (a reader bug or a mix-up
 * of records), -1 on out-of-memory or too many references. */
int heap_builder_refs(struct heap_builder *b, const struct pym_record *rec);
/* Resolves, marks classes and named roots, runs heap_analyze. */
int heap_builder_finish(struct heap_builder *b);

#endif
