/* test_heap.c — Criterion tests for the heap model (heap.c, heap_build.c):
 * a hand-made heap with answers worked out by hand (roots, reachability,
 * cycles with the class rule, referrers, missing targets, wide labels), the
 * invariant check on damaged heaps, and random heaps against brute force.
 * No SQLite, no files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "heap_build.h"
#include "pymple_format.h"

static void obj(struct heap_builder *b, uint64_t addr, uint32_t type, uint32_t flags,
                uint64_t refcount, uint32_t nrefs, const struct pym_rref *refs)
{
	struct pym_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = PYM_R_OBJECT;
	rec.addr = addr;
	rec.type_index = type;
	rec.flags = flags;
	rec.refcount = refcount;
	rec.nrefs = nrefs;
	rec.refs = refs;
	cr_assert_eq(heap_builder_object(b, &rec), 0);
}

/* Type 0 "list" at 0x10, type 1 a class C whose object is 0x700.
 *   0x100 rc 1  [0] -> 0x200, [1] -> 0xdead (not in the dump)    root (rc 1 > 0)
 *   0x200 rc 3  .x -> 0x300, weak -> 0x500                         in-degree 2 < 3: root
 *   0x300 rc 1  [5000000000] -> 0x200 (wide index)                 cycle {200, 300}
 *   0x400 rc 1  [0] -> 0x400                                       garbage self-loop
 *   0x500 rc 0  (weakly held by 0x200 only)                        unreachable
 *   0x600 rc 1  -> 0x700 (its class), named by a ROOT record        root
 *   0x700 rc 1  (class C) -> 0x600                                 reached; no cycle: the
 *                                                                  edge into the class does
 *                                                                  not count
 */
static void hand_made(struct heap_builder *b)
{
	heap_builder_init(b);
	cr_assert_eq(heap_builder_type(b, 0x10), 0);
	cr_assert_eq(heap_builder_type(b, 0x700), 0);
	struct pym_rref r1[] = {{0x200, PYM_LABEL_INDEX, 0}, {0xdead, PYM_LABEL_INDEX, 1}};
	struct pym_rref r2[] = {{0x300, PYM_LABEL_ATTR, 3}, {0x500, PYM_LABEL_WEAK, 0}};
	struct pym_rref r3[] = {{0x200, PYM_LABEL_INDEX, 5000000000ull}};
	struct pym_rref r4[] = {{0x400, PYM_LABEL_INDEX, 0}};
	struct pym_rref r6[] = {{0x700, PYM_LABEL_NONE, 0}};
	struct pym_rref r7[] = {{0x600, PYM_LABEL_KEY, 2}};
	obj(b, 0x100, 0, 0, 1, 2, r1);
	obj(b, 0x200, 0, 0, 3, 2, r2);
	obj(b, 0x300, 0, 0, 1, 1, r3);
	obj(b, 0x400, 0, 0, 1, 1, r4);
	obj(b, 0x500, 0, 0, 0, 0, NULL);
	obj(b, 0x600, 1, 0, 1, 1, r6);
	obj(b, 0x700, 0, 0, 1, 1, r7);
	cr_assert_eq(heap_builder_named_root(b, 0x600), 0);
	cr_assert_eq(heap_builder_named_root(b, 0xeeee), 0); /* not in the dump */
	cr_assert_eq(heap_builder_finish(b), 0);
	b->h.nstrings = 4; /* the loader's string count */
}

Test(heap, hand_made_build)
{
	struct heap_builder b;
	hand_made(&b);
	const struct heap *h = &b.h;
	char why[256];
	cr_assert_eq(heap_check(h, why, sizeof why), 0, "%s", why);
	cr_assert_eq(h->n, 7);
	cr_assert_eq(h->m, 8);
	uint64_t off[] = {0, 2, 4, 5, 6, 6, 7, 8};
	for (int i = 0; i < 8; i++)
		cr_expect_eq(h->off[i], off[i], "off[%d]", i);
	uint32_t dst[] = {1, HEAP_NONE, 2, 4, 1, 3, 6, 5};
	for (int i = 0; i < 8; i++)
		cr_expect_eq(h->dst[i], dst[i], "dst[%d]", i);
	cr_expect_eq(h->nmissing, 1);
	cr_expect_eq(h->missing[0], 0xdead);
	cr_expect_eq(heap_label(h, 4), 5000000000ull);
	cr_expect_eq(heap_label(h, 2), 3);
	cr_expect_eq(h->kind[3], HEAP_REF_WEAK);
	cr_expect_eq(heap_edge_src(h, 4), 2);
	cr_expect_eq(heap_edge_src(h, 6), 5);
	/* roots: 100 (rc > 0), 200 (rc 2 > 1), 600 (named) */
	uint8_t root[] = {1, 1, 0, 0, 0, 1, 0}, reached[] = {1, 1, 1, 0, 0, 1, 1};
	for (int v = 0; v < 7; v++) {
		cr_expect_eq((h->flags[v] & HEAP_ROOT) != 0, root[v], "root %d", v);
		cr_expect_eq((h->flags[v] & HEAP_REACHED) != 0, reached[v], "reached %d", v);
	}
	cr_expect(h->flags[6] & HEAP_TYPEOBJ);
	cr_expect(h->flags[5] & HEAP_NAMED);
	cr_expect_eq(h->ncycles, 2);
	cr_expect(h->scc[1] != HEAP_NONE && h->scc[1] == h->scc[2]);
	cr_expect(h->scc[3] != HEAP_NONE && h->scc[3] != h->scc[1]);
	cr_expect_eq(h->scc[0], HEAP_NONE);
	cr_expect_eq(h->scc[5], HEAP_NONE, "the reference into the class made a cycle");
	cr_expect_eq(h->scc[6], HEAP_NONE);
	heap_builder_release(&b);
}

Test(heap, reverse_lists_every_referrer_in_order)
{
	struct heap_builder b;
	hand_made(&b);
	struct heap *h = &b.h;
	cr_assert_eq(heap_reverse(h), 0);
	/* into 200: from 100 (edge 0) and 300 (edge 4); into 500: 200 weakly */
	cr_assert_eq(h->roff[2] - h->roff[1], 2);
	cr_expect_eq(h->rsrc[h->roff[1]], 0);
	cr_expect_eq(h->redge[h->roff[1]], 0);
	cr_expect_eq(h->rsrc[h->roff[1] + 1], 2);
	cr_expect_eq(h->redge[h->roff[1] + 1], 4);
	cr_assert_eq(h->roff[5] - h->roff[4], 1);
	cr_expect_eq(h->redge[h->roff[4]], 3);
	cr_expect_eq(h->roff[1] - h->roff[0], 0);
	cr_expect_eq(h->roff[h->n], 7, "the missing reference has no referrer entry");
	heap_builder_release(&b);
}

Test(heap, check_refuses_damage)
{
	struct heap_builder b;
	hand_made(&b);
	struct heap *h = &b.h;
	char why[256];
	h->dst[0] = 7;
	cr_expect_eq(heap_check(h, why, sizeof why), -1);
	cr_expect(strstr(why, "targets object 7") != NULL, "%s", why);
	h->dst[0] = 1;
	h->off[3] = 1;
	cr_expect_eq(heap_check(h, why, sizeof why), -1);
	cr_expect(strstr(why, "decrease") != NULL, "%s", why);
	h->off[3] = 5;
	h->type[2] = 9;
	cr_expect_eq(heap_check(h, why, sizeof why), -1);
	h->type[2] = 0;
	h->scc[0] = 2;
	cr_expect_eq(heap_check(h, why, sizeof why), -1);
	h->scc[0] = HEAP_NONE;
	h->dst[1] = 0;
	cr_expect_eq(heap_check(h, why, sizeof why), -1, "missing count unchecked");
	h->dst[1] = HEAP_NONE;
	h->nstrings = 3; /* .x names string 3 */
	cr_expect_eq(heap_check(h, why, sizeof why), -1);
	h->nstrings = 4;
	cr_expect_eq(heap_check(h, why, sizeof why), 0, "%s", why);
	heap_builder_release(&b);
}

static uint32_t rng = 12345;
static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

#define MAXN 40

/* Random heaps: roots, reachability and cycles against brute force over
 * the same definitions (README: roots; schema.sql: scc), and the reverse
 * CSR against a scan of every edge. */
Test(heap, random_against_brute_force)
{
	static uint8_t path[MAXN][MAXN];
	for (int round = 0; round < 1500; round++) {
		uint32_t n = 1 + rnd(MAXN), ntypes = 1 + rnd(3);
		struct heap_builder b;
		heap_builder_init(&b);
		uint64_t addr[MAXN];
		for (uint32_t v = 0; v < n; v++)
			addr[v] = 0x1000 + 16 * (uint64_t)v;
		for (uint32_t t = 0; t < ntypes; t++) /* type objects: some in the dump */
			cr_assert_eq(heap_builder_type(&b, rnd(2) ? addr[rnd(n)] : 0x10 + t), 0);
		uint64_t rc[MAXN];
		uint32_t nref[MAXN], tgt[MAXN][8], kind[MAXN][8], synth[MAXN];
		uint8_t named[MAXN] = {0};
		for (uint32_t v = 0; v < n; v++) {
			struct pym_rref r[8];
			nref[v] = rnd(1 + rnd(8));
			for (uint32_t i = 0; i < nref[v]; i++) {
				uint32_t miss = rnd(10) == 0;
				tgt[v][i] = miss ? HEAP_NONE : rnd(n);
				kind[v][i] = rnd(6) == 0 ? PYM_LABEL_WEAK : rnd(4);
				r[i].addr = miss ? 0x999999 : addr[tgt[v][i]];
				r[i].kind = kind[v][i];
				r[i].value = kind[v][i] == PYM_LABEL_WEAK ? 0 : i;
			}
			rc[v] = rnd(4);
			synth[v] = rnd(15) == 0;
			obj(&b, addr[v], rnd(ntypes), synth[v] ? PYM_F_SYNTHETIC : 0, rc[v],
			    nref[v], r);
			if (rnd(10) == 0) {
				named[v] = 1;
				cr_assert_eq(heap_builder_named_root(&b, addr[v]), 0);
			}
		}
		cr_assert_eq(heap_builder_finish(&b), 0);
		struct heap *h = &b.h;
		char why[256];
		h->nstrings = 8;
		cr_assert_eq(heap_check(h, why, sizeof why), 0, "%s", why);
		/* brute force: strong in-degree, roots, reachability by fixpoint */
		uint32_t indeg[MAXN] = {0};
		uint8_t isroot[MAXN], reach[MAXN], istype[MAXN] = {0};
		for (uint32_t v = 0; v < n; v++)
			for (uint32_t i = 0; i < nref[v]; i++)
				if (tgt[v][i] != HEAP_NONE && kind[v][i] != PYM_LABEL_WEAK)
					indeg[tgt[v][i]]++;
		for (uint32_t t = 0; t < ntypes; t++)
			for (uint32_t v = 0; v < n; v++)
				if (addr[v] == b.type_addr[t])
					istype[v] = 1;
		for (uint32_t v = 0; v < n; v++) {
			isroot[v] = synth[v] || named[v] || rc[v] > indeg[v];
			reach[v] = isroot[v];
		}
		for (int changed = 1; changed;) {
			changed = 0;
			for (uint32_t v = 0; v < n; v++)
				for (uint32_t i = 0; reach[v] && i < nref[v]; i++) {
					uint32_t t = tgt[v][i];
					if (t != HEAP_NONE && kind[v][i] != PYM_LABEL_WEAK &&
					    !reach[t])
						reach[t] = changed = 1;
				}
		}
		/* cycles: closure of strong in-dump edges not into classes */
		memset(path, 0, sizeof path);
		for (uint32_t v = 0; v < n; v++)
			for (uint32_t i = 0; i < nref[v]; i++) {
				uint32_t t = tgt[v][i];
				if (t != HEAP_NONE && kind[v][i] != PYM_LABEL_WEAK && !istype[t])
					path[v][t] = 1;
			}
		for (uint32_t k = 0; k < n; k++)
			for (uint32_t u = 0; u < n; u++)
				for (uint32_t v = 0; v < n; v++)
					if (path[u][k] && path[k][v])
						path[u][v] = 1;
		for (uint32_t v = 0; v < n; v++) {
			cr_assert_eq((h->flags[v] & HEAP_ROOT) != 0, isroot[v], "round %d root %u",
			             round, v);
			cr_assert_eq((h->flags[v] & HEAP_REACHED) != 0, reach[v],
			             "round %d reach %u", round, v);
			cr_assert_eq((h->flags[v] & HEAP_TYPEOBJ) != 0, istype[v]);
			cr_assert_eq(h->scc[v] != HEAP_NONE, path[v][v] != 0, "round %d scc %u",
			             round, v);
			for (uint32_t u = 0; u < n; u++)
				if (h->scc[v] != HEAP_NONE && h->scc[u] != HEAP_NONE)
					cr_assert_eq(h->scc[u] == h->scc[v],
					             u == v || (path[u][v] && path[v][u]));
		}
		/* reverse: the referrers of each object, in (source, position) order */
		cr_assert_eq(heap_reverse(h), 0);
		for (uint32_t t = 0; t < n; t++) {
			uint64_t k = h->roff[t];
			for (uint32_t v = 0; v < n; v++)
				for (uint32_t i = 0; i < nref[v]; i++)
					if (tgt[v][i] == t) {
						cr_assert_lt(k, h->roff[t + 1],
						             "round %d: too few into %u", round, t);
						cr_assert_eq(h->rsrc[k], v);
						cr_assert_eq(h->redge[k], h->off[v] + i);
						k++;
					}
			cr_assert_eq(k, h->roff[t + 1], "round %d: too many into %u", round, t);
		}
		heap_builder_release(&b);
	}
}

Test(heap, empty)
{
	struct heap_builder b;
	heap_builder_init(&b);
	cr_assert_eq(heap_builder_finish(&b), 0);
	char why[256];
	cr_assert_eq(heap_check(&b.h, why, sizeof why), 0, "%s", why);
	cr_assert_eq(heap_reverse(&b.h), 0);
	cr_assert_eq(b.h.ncycles, 0);
	heap_builder_release(&b);
}
