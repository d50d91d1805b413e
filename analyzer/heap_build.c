/* heap_build.c — fills a struct heap from decoded records (heap_build.h):
 * objects and their references as they come, then resolves target addresses
 * to ids, marks classes and named roots, and runs heap_analyze. Flat growable
 * arrays only (no per-object malloc); never prints, never touches SQLite. */
#include "heap_build.h"

#include <stdlib.h>
#include <string.h>

#include "pymple_format.h"

/* Grows *p (elements of size sz) to hold at least need elements. */
static int grow(void *pp, size_t sz, uint64_t need, uint64_t *cap)
{
	void **p = pp;
	if (need <= *cap)
		return 0;
	uint64_t c = *cap ? *cap : 1024;
	while (c < need)
		c += c / 2 + 1024;
	if (c > SIZE_MAX / sz)
		return -1;
	void *q = realloc(*p, (size_t)(c * sz));
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

void heap_builder_init(struct heap_builder *b)
{
	memset(b, 0, sizeof *b);
	heap_init(&b->h);
}

void heap_builder_release(struct heap_builder *b)
{
	heap_release(&b->h);
	free(b->taddr);
	free(b->refcount);
	free(b->type_addr);
	free(b->named);
	free(b->named_id);
	addrmap_release(&b->am);
	memset(b, 0, sizeof *b);
}

int heap_builder_type(struct heap_builder *b, uint64_t addr)
{
	if (grow(&b->type_addr, sizeof *b->type_addr, (uint64_t)b->h.ntypes + 1, &b->tcap) < 0)
		return -1;
	b->type_addr[b->h.ntypes++] = addr;
	return 0;
}

int heap_builder_named_root(struct heap_builder *b, uint64_t addr)
{
	uint64_t cap = b->ncap;
	if (grow(&b->named_id, sizeof *b->named_id, b->nnamed + 1, &cap) < 0 ||
	    grow(&b->named, sizeof *b->named, b->nnamed + 1, &b->ncap) < 0)
		return -1;
	b->named[b->nnamed++] = addr;
	return 0;
}

static int grow_objects(struct heap_builder *b)
{
	struct heap *h = &b->h;
	uint64_t need = (uint64_t)h->n + 2, c = b->ocap, c0;
	if (need <= c)
		return 0;
	if (need > HEAP_MAX_OBJECTS)
		return -1;
	c = c ? c + c / 2 : 65536;
	if (c < need)
		c = need;
	if (c > (uint64_t)HEAP_MAX_OBJECTS + 1)
		c = (uint64_t)HEAP_MAX_OBJECTS + 1;
#define GROW_ONE(p)                                                                                \
	do {                                                                                       \
		c0 = b->ocap;                                                                      \
		if (grow(&(p), sizeof *(p), c, &c0) < 0)                                           \
			return -1;                                                                 \
	} while (0)
	GROW_ONE(h->addr);
	GROW_ONE(h->type);
	GROW_ONE(h->flags);
	GROW_ONE(h->off);
	GROW_ONE(b->refcount);
#undef GROW_ONE
	b->ocap = c;
	return 0;
}

/* Appends rec's references (rec->nrefs of them) to the edges of the last
 * object added. */
static int add_refs(struct heap_builder *b, const struct pym_record *rec)
{
	struct heap *h = &b->h;
	uint64_t m = h->m, need = m + rec->nrefs, c0;
	if (need > HEAP_MAX_REFS)
		return -1;
	if (need > b->ecap) {
		uint64_t c = b->ecap ? b->ecap + b->ecap / 2 : 65536;
		if (c < need)
			c = need;
		c0 = b->ecap;
		if (grow(&b->taddr, sizeof *b->taddr, c, &c0) < 0)
			return -1;
		c0 = b->ecap;
		if (grow(&h->kind, sizeof *h->kind, c, &c0) < 0)
			return -1;
		c0 = b->ecap;
		if (grow(&h->label, sizeof *h->label, c, &c0) < 0)
			return -1;
		b->ecap = c;
	}
	for (uint32_t i = 0; i < rec->nrefs; i++) {
		const struct pym_rref *x = &rec->refs[i];
		uint64_t e = m + i;
		b->taddr[e] = x->addr;
		h->kind[e] = (uint8_t)x->kind;
		uint64_t val = (x->kind == PYM_LABEL_INDEX || x->kind == PYM_LABEL_KEY ||
		                x->kind == PYM_LABEL_ATTR)
		                       ? x->value
		                       : 0;
		if (val >= HEAP_LABEL_WIDE) {
			if (grow(&h->wide, sizeof *h->wide, h->nwide + 1, &b->wcap) < 0)
				return -1;
			h->wide[h->nwide].edge = e;
			h->wide[h->nwide++].value = val;
			val = HEAP_LABEL_WIDE;
		}
		h->label[e] = (uint32_t)val;
	}
	h->m = need;
	return 0;
}

int heap_builder_object(struct heap_builder *b, const struct pym_record *rec)
{
	struct heap *h = &b->h;
	if (grow_objects(b) < 0)
		return -1;
	uint32_t v = h->n;
	h->off[v] = h->m;
	if (add_refs(b, rec) < 0)
		return -1;
	h->n++;
	h->addr[v] = rec->addr;
	h->type[v] = rec->type_index;
	h->flags[v] = (uint8_t)(((rec->flags & PYM_F_SYNTHETIC) ? HEAP_SYNTHETIC : 0) |
	                        ((rec->flags & PYM_F_IMMORTAL) ? HEAP_IMMORTAL : 0));
	b->refcount[v] = rec->refcount >= UINT32_MAX ? UINT32_MAX : (uint32_t)rec->refcount;
	return 0;
}

int heap_builder_refs(struct heap_builder *b, const struct pym_record *rec)
{
	if (b->h.n == 0 || rec->addr != b->h.addr[b->h.n - 1])
		return -2;
	return add_refs(b, rec);
}

int heap_builder_finish(struct heap_builder *b)
{
	struct heap *h = &b->h;
	uint64_t mcap = 0;
	if (grow_objects(b) < 0)
		return -1;
	h->off[h->n] = h->m;
	/* Give back the growth slack before the graph work adds its arrays. */
#define SHRINK(p, count)                                                                           \
	do {                                                                                       \
		if ((p) && (count)) {                                                              \
			void *q_ = realloc((p), (size_t)(count) * sizeof *(p));                    \
			if (q_)                                                                    \
				(p) = q_;                                                          \
		}                                                                                  \
	} while (0)
	SHRINK(h->addr, (uint64_t)h->n + 1);
	SHRINK(h->type, (uint64_t)h->n + 1);
	SHRINK(h->flags, (uint64_t)h->n + 1);
	SHRINK(h->off, (uint64_t)h->n + 1);
	SHRINK(b->refcount, (uint64_t)h->n + 1);
	SHRINK(b->taddr, h->m);
	SHRINK(h->kind, h->m);
	SHRINK(h->label, h->m);
#undef SHRINK
	b->ocap = (uint64_t)h->n + 1;
	b->ecap = h->m;
	if (addrmap_build(&b->am, h->addr, h->n) < 0)
		return -1;
	/* Resolve targets in place: uint32 ids over the uint64 addresses (slot
	 * e's bytes 4e.. are those of addresses already read). */
	uint32_t *dst = (uint32_t *)(void *)b->taddr;
	for (uint64_t e = 0; e < h->m; e++) {
		uint64_t a = b->taddr[e];
		uint32_t t = addrmap_find(&b->am, a);
		if (t == ADDRMAP_NONE) {
			if (grow(&h->missing, sizeof *h->missing, h->nmissing + 1, &mcap) < 0)
				return -1;
			h->missing[h->nmissing++] = a;
			t = HEAP_NONE;
		}
		dst[e] = t;
	}
	h->dst = dst;
	b->taddr = NULL;
	if (h->m) {
		void *q = realloc(h->dst, (size_t)h->m * sizeof *h->dst);
		if (q)
			h->dst = q;
	}
	for (uint32_t i = 0; i < h->ntypes; i++) {
		uint32_t t = addrmap_find(&b->am, b->type_addr[i]);
		if (t != ADDRMAP_NONE)
			h->flags[t] |= HEAP_TYPEOBJ;
	}
	for (size_t i = 0; i < b->nnamed; i++) {
		uint32_t t = addrmap_find(&b->am, b->named[i]);
		b->named_id[i] = t;
		if (t != ADDRMAP_NONE)
			h->flags[t] |= HEAP_NAMED;
	}
	b->dups = b->am.dups;
	addrmap_release(&b->am); /* not needed any more: ids are resolved */
	if (heap_analyze(h, b->refcount) < 0)
		return -1;
	free(b->refcount);
	b->refcount = NULL;
	return 0;
}
