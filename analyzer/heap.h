/* heap.h — the heap model every analysis stands on: objects as parallel flat
 * arrays indexed by id (dump order), every reference in CSR form with its
 * label, kind and (for targets not in the dump) address, the reverse CSR, the
 * root set, reachability and reference cycles. Built once per dump by
 * heap_build.c from the one reader, kept with the database by heap_store.c,
 * walked by the commands. No SQLite, no files, no printing here. */
#ifndef PYMPLE_HEAP_H
#define PYMPLE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

#define HEAP_NONE        UINT32_MAX /* no object: a target not in the dump, no cycle */
#define HEAP_LABEL_WIDE  UINT32_MAX /* label too wide for 32 bits: see heap_label() */
#define HEAP_MAX_OBJECTS (UINT32_MAX - 1)
#define HEAP_MAX_REFS    (UINT32_MAX - 1)

/* Per-object bits (heap.flags). In-memory only: not the dump's PYM_F_*. */
enum {
	HEAP_ROOT = 1u << 0,      /* a root (README: roots) */
	HEAP_REACHED = 1u << 1,   /* reachable from a root by strong references */
	HEAP_SYNTHETIC = 1u << 2, /* thread/frame record (PYM_F_SYNTHETIC) */
	HEAP_IMMORTAL = 1u << 3,  /* PYM_F_IMMORTAL */
	HEAP_TYPEOBJ = 1u << 4,   /* its address is a TYPE record's: a class */
	HEAP_NAMED = 1u << 5,     /* named by a ROOT record */
};
#define HEAP_FLAGS_KNOWN 0x3fu

/* Reference kinds (heap.kind): the dump's label kinds, same numbers, kept
 * as the schema's ref kind (schema.sql: 0 none, 1 index, 2 key, 3 attr, 4 weak). */
enum { HEAP_REF_NONE = 0, HEAP_REF_INDEX, HEAP_REF_KEY, HEAP_REF_ATTR, HEAP_REF_WEAK };

struct heap_wide {
	uint64_t edge, value; /* a label value >= HEAP_LABEL_WIDE, by edge index */
};

struct heap {
	uint32_t n;        /* objects; ids 0 .. n-1 in dump order */
	uint64_t m;        /* references of every kind, in dump order */
	uint32_t ntypes;   /* type indexes are < ntypes */
	uint32_t nstrings; /* string ids of key/attr labels are < nstrings */
	uint32_t ncycles;  /* scc ids are < ncycles */
	uint64_t *addr;    /* [n] address in the dumped process */
	uint32_t *type;    /* [n] type index */
	uint8_t *flags;    /* [n] HEAP_* bits */
	uint32_t *scc;     /* [n] reference cycle id, HEAP_NONE if in none */
	/* references of v: edges off[v] .. off[v + 1], in dump order */
	uint64_t *off;          /* [n + 1] */
	uint32_t *dst;          /* [m] target id, HEAP_NONE if not in the dump */
	uint8_t *kind;          /* [m] HEAP_REF_* */
	uint32_t *label;        /* [m] index (kind 1) or string id (2, 3); 0 otherwise */
	struct heap_wide *wide; /* sorted by edge; labels that did not fit */
	uint64_t nwide;
	uint64_t *missing; /* [nmissing] target address of each edge with dst
	                      HEAP_NONE, in edge order (walkers count them) */
	uint64_t nmissing;
	/* referrers (heap_reverse): every reference into v, weak included, is
	 * edge redge[k] from rsrc[k] for k in roff[v] .. roff[v + 1], sorted by
	 * (source id, position in the source) */
	uint64_t *roff;
	uint32_t *rsrc, *redge;
	/* A lean heap (heap_store.h: heap_load_lean) has no redge and no
	 * forward arrays but off; bit k of rweak marks its referrer entry k
	 * weak. */
	uint8_t *rweak;
};

/* Zero-fills h (no allocation). */
void heap_init(struct heap *h);
/* Frees every array and zero-fills h; safe on an initialized heap. */
void heap_release(struct heap *h);

/* The label value of edge e (an index can exceed 32 bits). */
uint64_t heap_label(const struct heap *h, uint64_t e);
/* The source object of edge e (binary search in off). */
uint32_t heap_edge_src(const struct heap *h, uint64_t e);

/* Builds the reverse CSR (roff, rsrc, redge) if not built. 0, or -1 out of
 * memory (h unchanged). */
int heap_reverse(struct heap *h);

/* The strong in-dump references as a struct graph (graph.h): weak and
 * missing ones left out, order kept. With no_types, references INTO type
 * objects (HEAP_TYPEOBJ) are left out too (the cycle rule, schema.sql).
 * g owns new arrays (graph_release). 0, or -1 out of memory. */
int heap_strong_graph(const struct heap *h, int no_types, struct graph *g);

/* Roots, reachability and cycles from the arrays: sets HEAP_ROOT for
 * synthetic and named objects and for those whose refcount (refcount[v],
 * clamped) exceeds their strong in-dump in-degree; HEAP_REACHED by strong
 * references from the roots; scc/ncycles on the strong graph without
 * references into classes. Clears HEAP_ROOT/HEAP_REACHED first. Allocates
 * scc if NULL. 0, or -1 out of memory. */
int heap_analyze(struct heap *h, const uint32_t *refcount);

/* Checks the invariants a loaded heap must hold (offsets monotone from 0 to
 * m, targets < n or HEAP_NONE, kinds and flags known, types < ntypes, key and
 * attr labels < nstrings, scc < ncycles or HEAP_NONE, missing count equal to
 * the HEAP_NONE targets, wide labels sorted and in range). Returns 0, or -1
 * with a lower-case reason in why (n bytes). */
int heap_check(const struct heap *h, char *why, size_t n);

#endif
