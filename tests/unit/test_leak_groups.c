/* test_leak_groups.c — Criterion tests for leak_groups.c on hand-made heaps
 * with answers worked out by hand: folded and unfolded labels, a __dict__'s
 * keys read as attributes, runs of one repeated step, the shared path with
 * its fan-out, and signatures that match across two "dumps" whose addresses
 * and sizes differ. No SQLite, no files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph_dom.h"
#include "heap.h"
#include "leak_groups.h"

/* Types. */
enum { T_MODULE, T_DICT, T_STORE, T_TICKET, T_STR, T_NODE, NTYPES };
static const char *const type_names[NTYPES] = {"module",     "dict", "app.Store",
                                               "app.Ticket", "str",  "app.Node"};
/* Label strings. */
static const char *const strings[] = {"__dict__", "store", "chain", "_pending", "a", "b",
                                      "payload",  "next",  "data",  "c",        "d"};
#define NSTRINGS (sizeof strings / sizeof *strings)

struct edge {
	uint32_t src, dst;
	uint8_t kind;
	uint32_t label;
};

/* The heap of app:
 *   0 module app (root) .__dict__ -> 1 dict
 *   1 dict ['store'] -> 2 Store, ['chain'] -> 8 Node
 *   2 Store ._pending -> 3 dict
 *   3 dict ['a'] -> 4, ['b'] -> 5, ['c'] -> 6 (Tickets)
 *   4, 5, 6 Ticket .payload -> 9, 10, 11 (str)
 *   8 Node .next -> 12 Node .next -> 13 Node .data -> 14 str
 *   7 str, unreachable
 * With extra, a fourth ticket 15 under ['d'] with its payload 16; every
 * address is shifted, so nothing but names can match the two. */
static void make(struct heap *h, int extra, uint64_t shift)
{
	static const struct edge base[] = {
	        {0, 1, HEAP_REF_ATTR, 0},   {1, 2, HEAP_REF_KEY, 1},   {1, 8, HEAP_REF_KEY, 2},
	        {2, 3, HEAP_REF_ATTR, 3},   {3, 4, HEAP_REF_KEY, 4},   {3, 5, HEAP_REF_KEY, 5},
	        {3, 6, HEAP_REF_KEY, 9},    {4, 9, HEAP_REF_ATTR, 6},  {5, 10, HEAP_REF_ATTR, 6},
	        {6, 11, HEAP_REF_ATTR, 6},  {8, 12, HEAP_REF_ATTR, 7}, {12, 13, HEAP_REF_ATTR, 7},
	        {13, 14, HEAP_REF_ATTR, 8},
	};
	static const struct edge more[] = {{3, 15, HEAP_REF_KEY, 10}, {15, 16, HEAP_REF_ATTR, 6}};
	static const uint32_t types[] = {T_MODULE, T_DICT, T_STORE, T_DICT,   T_TICKET, T_TICKET,
	                                 T_TICKET, T_STR,  T_NODE,  T_STR,    T_STR,    T_STR,
	                                 T_NODE,   T_NODE, T_STR,   T_TICKET, T_STR};
	uint32_t n = extra ? 17 : 15;
	size_t nb = sizeof base / sizeof *base, m = nb + (extra ? 2 : 0);
	struct edge all[16];
	memcpy(all, base, sizeof base);
	if (extra)
		memcpy(all + nb, more, sizeof more);
	heap_init(h);
	h->n = n;
	h->m = m;
	h->ntypes = NTYPES;
	h->nstrings = NSTRINGS;
	h->addr = calloc(n, sizeof *h->addr);
	h->type = calloc(n, sizeof *h->type);
	h->flags = calloc(n, 1);
	h->off = calloc(n + 1, sizeof *h->off);
	h->dst = calloc(m, sizeof *h->dst);
	h->kind = calloc(m, 1);
	h->label = calloc(m, sizeof *h->label);
	cr_assert(h->addr && h->type && h->flags && h->off && h->dst && h->kind && h->label);
	for (uint32_t v = 0; v < n; v++) {
		h->addr[v] = shift + 0x1000 + 0x40 * v;
		h->type[v] = types[v];
	}
	h->flags[0] = HEAP_ROOT;
	/* CSR in source order (the edge lists are sorted by source) */
	uint64_t e = 0;
	for (uint32_t v = 0; v < n; v++) {
		h->off[v] = e;
		for (size_t i = 0; i < m; i++)
			if (all[i].src == v) {
				h->dst[e] = all[i].dst;
				h->kind[e] = all[i].kind;
				h->label[e] = all[i].label;
				e++;
			}
	}
	h->off[n] = e;
	cr_assert_eq(e, m);
}

struct fixture {
	struct heap h;
	struct graph g;
	struct dom_tree t;
	uint8_t *is_root, module_type[NTYPES + 1];
	uint64_t type_hash[NTYPES], str_hash[NSTRINGS], *own;
	struct leak_groups_input in;
	struct leak_groups lg;
};

static void build(struct fixture *f, int extra, uint64_t shift, uint64_t size)
{
	memset(f, 0, sizeof *f);
	make(&f->h, extra, shift);
	cr_assert_eq(heap_strong_graph(&f->h, 0, &f->g), 0);
	f->is_root = calloc(f->h.n, 1);
	f->own = calloc(f->h.n, sizeof *f->own);
	for (uint32_t v = 0; v < f->h.n; v++) {
		f->is_root[v] = (f->h.flags[v] & HEAP_ROOT) != 0;
		f->own[v] = size;
	}
	struct dom_input di = {&f->g, f->is_root, NULL, NULL, NULL, NULL};
	cr_assert_eq(dom_tree_build(&f->t, &di, f->own), 0);
	for (int t = 0; t < NTYPES; t++) {
		f->type_hash[t] = leak_hash_str(type_names[t], strlen(type_names[t]));
		f->module_type[t] = t == T_MODULE;
	}
	for (size_t s = 0; s < NSTRINGS; s++)
		f->str_hash[s] = leak_hash_str(strings[s], strlen(strings[s]));
	f->in = (struct leak_groups_input){&f->h,        &f->t,       f->module_type,
	                                   f->type_hash, f->str_hash, leak_hash_str("__dict__", 8),
	                                   NULL,         NULL};
	cr_assert_eq(leak_groups_build(&f->lg, &f->in), 0);
}

static void release(struct fixture *f)
{
	leak_groups_release(&f->lg);
	dom_tree_release(&f->t);
	graph_release(&f->g);
	heap_release(&f->h);
	free(f->is_root);
	free(f->own);
}

Test(leak_groups, folded_labels_and_runs)
{
	struct fixture f;
	build(&f, 0, 0, 10);
	const struct leak_groups *g = &f.lg;
	/* 14 reached (7 is not), in 9 groups: module, its dict, Store, the
	 * pending dict, the tickets, their payloads, the Node at .chain, the
	 * run of .next Nodes after it, the run's str. */
	cr_assert_eq(g->nreached, 14);
	cr_assert_eq(g->ngroups, 9);
	cr_assert_eq(g->group[7], HEAP_NONE);
	uint32_t ticket = g->group[4];
	cr_assert_eq(g->group[5], ticket);
	cr_assert_eq(g->group[6], ticket);
	cr_assert_eq(g->count[ticket], 3);
	cr_assert_eq(g->bytes[ticket], 30);
	cr_assert_eq(g->retained[ticket], 60, "tickets with their payloads");
	cr_assert_eq(g->folded[ticket], 1, "a dict key folds");
	cr_assert_eq(g->example[ticket], 4);
	cr_assert_eq(g->group[9], g->group[10]);
	cr_assert_eq(g->count[g->group[9]], 3);
	cr_assert_neq(g->group[9], g->group[14], "str .payload and str .data differ");
	/* a key of a module's __dict__ is an attribute: not folded */
	cr_assert_eq(g->folded[g->group[2]], 0);
	cr_assert_eq(g->count[g->group[2]], 1);
	/* .next repeated: one group for the whole run (the first Node is
	 * reached by ['chain'], another step) */
	cr_assert_neq(g->group[8], g->group[12]);
	cr_assert_eq(g->group[12], g->group[13]);
	cr_assert_eq(g->count[g->group[12]], 2);
	cr_assert_eq(g->parent[4], 3);
	cr_assert_eq(g->parent[0], HEAP_NONE);
	release(&f);
}

Test(leak_groups, shared_path)
{
	struct fixture f;
	build(&f, 0, 0, 10);
	uint8_t *mark = calloc((f.h.n + 7) / 8, 1);
	uint32_t *moff, *mem;
	cr_assert_eq(leak_groups_members(&f.lg, &moff, &mem), 0);
	cr_assert_eq(moff[f.lg.group[4] + 1] - moff[f.lg.group[4]], 3);
	cr_assert_eq(mem[moff[f.lg.group[4]]], 4);
	cr_assert_eq(moff[f.lg.ngroups], f.lg.nreached);
	struct leak_level *lv;
	uint32_t nlv;
	cr_assert_eq(leak_groups_path(&f.lg, f.lg.group[4], NULL, NULL, mark, &lv, &nlv), 0);
	/* Ticket x3 <- dict (the holder) <- Store <- module's dict <- module */
	cr_assert_eq(nlv, 5);
	static const uint32_t objects[] = {3, 1, 1, 1, 1}, rep[] = {4, 3, 2, 1, 0};
	for (uint32_t i = 0; i < nlv; i++) {
		cr_assert_eq(lv[i].objects, objects[i], "level %u", i);
		cr_assert_eq(lv[i].rep, rep[i], "level %u", i);
	}
	free(lv);
	for (uint32_t i = 0; i < (f.h.n + 7) / 8; i++)
		cr_assert_eq(mark[i], 0, "scratch left zero");
	/* str .data under the run: the run is one level, entered from Node 8 */
	cr_assert_eq(leak_groups_path(&f.lg, f.lg.group[14], moff, mem, mark, &lv, &nlv), 0);
	cr_assert_eq(nlv, 5);
	cr_assert_eq(lv[1].group, f.lg.group[12]);
	cr_assert_eq(lv[1].rep, 13);
	cr_assert_eq(lv[2].rep, 8);
	cr_assert_eq(lv[3].rep, 1);
	free(lv);
	/* the run's own path: 2 objects, then Node 8 */
	cr_assert_eq(leak_groups_path(&f.lg, f.lg.group[12], moff, mem, mark, &lv, &nlv), 0);
	cr_assert_eq(nlv, 4);
	cr_assert_eq(lv[0].objects, 2);
	cr_assert_eq(lv[1].rep, 8);
	cr_assert_eq(lv[1].objects, 1);
	free(lv);
	free(mark);
	free(moff);
	free(mem);
	release(&f);
}

Test(leak_groups, signatures_match_across_dumps)
{
	struct fixture a, b;
	build(&a, 0, 0, 10);
	build(&b, 1, 0x7000000, 12); /* other addresses, other sizes, one ticket more */
	cr_assert_eq(b.lg.ngroups, a.lg.ngroups, "the new ticket joins its group");
	uint32_t ta = a.lg.group[4], tb = b.lg.group[15];
	cr_assert_eq(a.lg.sig[ta], b.lg.sig[tb]);
	cr_assert_eq(b.lg.count[tb], 4);
	cr_assert_eq(b.lg.retained[tb], 4 * 24);
	for (uint32_t v = 0; v < a.h.n; v++)
		if (a.lg.group[v] != HEAP_NONE)
			cr_assert_eq(a.lg.sig[a.lg.group[v]], b.lg.sig[b.lg.group[v]], "object %u",
			             v);
	release(&a);
	release(&b);
}
