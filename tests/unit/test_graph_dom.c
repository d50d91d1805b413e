/* test_graph_dom.c — Criterion tests for graph_dom.c: textbook graphs with
 * known dominators, long chains (no recursion may survive them), and
 * thousands of random small graphs checked against a brute-force oracle
 * (v dominates w iff w is unreachable from the virtual root once v is
 * removed). Must not depend on SQLite or files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph_dom.h"

#define S DOM_SUPER
#define G DOM_GARBAGE

static void build(struct graph *g, uint32_t n, const uint32_t (*edges)[2], uint64_t m)
{
	uint32_t *s = malloc((m ? m : 1) * sizeof *s), *d = malloc((m ? m : 1) * sizeof *d);
	cr_assert(s && d);
	for (uint64_t i = 0; i < m; i++) {
		s[i] = edges[i][0];
		d[i] = edges[i][1];
	}
	cr_assert_eq(graph_build(g, n, s, d, m), 0);
	free(s);
	free(d);
}

/* rev_skip for graph_reverse(g): the reversed edge of forward edge e. */
static uint8_t *reverse_skip(const struct graph *g, const struct graph *rev, const uint8_t *skip)
{
	uint8_t *rs = calloc(rev->m ? rev->m : 1, 1);
	uint64_t *fill = calloc(g->n ? g->n : 1, sizeof *fill);
	cr_assert(rs && fill);
	for (uint32_t u = 0; u < g->n; u++)
		for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) {
			uint32_t w = g->dst[e];
			rs[rev->off[w] + fill[w]++] = skip ? skip[e] : 0;
		}
	free(fill);
	return rs;
}

/* Runs dom_idom both ways (internal predecessors, caller's reverse CSR) and
 * checks both against want. */
static void check_idom_live(const struct graph *g, const uint8_t *skip, const uint8_t *is_root,
                            const uint8_t *live, const uint32_t *want)
{
	uint32_t *idom = malloc((g->n ? g->n : 1) * sizeof *idom);
	cr_assert(idom);
	struct dom_input in = {.g = g, .is_root = is_root, .skip = skip, .live = live};
	cr_assert_eq(dom_idom(&in, idom), 0);
	for (uint32_t v = 0; v < g->n; v++)
		cr_assert_eq(idom[v], want[v], "idom[%u] = %u, want %u", v, idom[v], want[v]);
	struct graph rev;
	cr_assert_eq(graph_reverse(g, &rev), 0);
	uint8_t *rs = reverse_skip(g, &rev, skip);
	memset(idom, 0, g->n * sizeof *idom);
	in.rev = &rev;
	in.rev_skip = rs;
	cr_assert_eq(dom_idom(&in, idom), 0);
	for (uint32_t v = 0; v < g->n; v++)
		cr_assert_eq(idom[v], want[v], "rev: idom[%u] = %u, want %u", v, idom[v], want[v]);
	free(rs);
	graph_release(&rev);
	free(idom);
}

static void check_idom(const struct graph *g, const uint8_t *skip, const uint8_t *is_root,
                       const uint32_t *want)
{
	check_idom_live(g, skip, is_root, NULL, want);
}

/* Lengauer and Tarjan's example (TOPLAS 1979, fig. 1): R=0 A B C D E F G H I
 * J K L = 1..12; R is the one root. */
Test(graph_dom, lengauer_tarjan_example)
{
	enum { R, A, B, C, D, E, F, G_, H, I, J, K, L };
	static const uint32_t e[][2] = {{R, A}, {R, B},  {R, C}, {A, D}, {B, A}, {B, D},  {B, E},
	                                {C, F}, {C, G_}, {D, L}, {E, H}, {F, I}, {G_, I}, {G_, J},
	                                {H, E}, {H, K},  {I, K}, {J, I}, {K, I}, {K, R},  {L, H}};
	struct graph g;
	build(&g, 13, e, sizeof e / sizeof *e);
	uint8_t root[13] = {[R] = 1};
	uint32_t want[13] = {[R] = S,  [A] = R, [B] = R, [C] = R,  [D] = R, [E] = R, [F] = C,
	                     [G_] = C, [H] = R, [I] = R, [J] = G_, [K] = R, [L] = D};
	check_idom(&g, NULL, root, want);
	graph_release(&g);
}

Test(graph_dom, small_shapes)
{
	/* Diamond 0 -> {1, 2} -> 3 -> 4; irreducible loop 0 -> 5, 0 -> 6,
	 * 5 <-> 6; self loop 7 -> 7 -> 8 hung off 4. */
	static const uint32_t e[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}, {0, 5},
	                                {0, 6}, {5, 6}, {6, 5}, {4, 7}, {7, 7}, {7, 8}};
	struct graph g;
	build(&g, 9, e, sizeof e / sizeof *e);
	uint8_t root[9] = {1};
	uint32_t want[9] = {S, 0, 0, 0, 3, 0, 0, 4, 7};
	check_idom(&g, NULL, root, want);
	graph_release(&g);
}

Test(graph_dom, two_roots_share)
{
	/* Roots 0 and 1 both reach 2; 2 -> 3; 1 is also referenced by 0. */
	static const uint32_t e[][2] = {{0, 2}, {1, 2}, {2, 3}, {0, 1}};
	struct graph g;
	build(&g, 4, e, 4);
	uint8_t root[4] = {1, 1, 0, 0};
	uint32_t want[4] = {S, S, S, 2};
	check_idom(&g, NULL, root, want);
	graph_release(&g);
}

Test(graph_dom, garbage_parts)
{
	/* Live: root 0 -> 1. Garbage: cycle 2 <-> 3 (a source component: both
	 * members hang off the garbage root), 3 -> 4; singleton 5 -> cycle 6 <-> 7
	 * (only 5 is a source; 6 and 7 are reached only through it); 7 -> 1
	 * (garbage referring to a live object does not move it); isolated 8;
	 * self-loop 9 -> 9 -> 10. */
	static const uint32_t e[][2] = {{0, 1}, {2, 3}, {3, 2}, {3, 4}, {5, 6},
	                                {6, 7}, {7, 6}, {7, 1}, {9, 9}, {9, 10}};
	struct graph g;
	build(&g, 11, e, sizeof e / sizeof *e);
	uint8_t root[11] = {1};
	uint32_t want[11] = {S, 0, G, G, 3, G, 5, 6, G, G, 9};
	check_idom(&g, NULL, root, want);

	uint64_t own[11] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
	struct dom_tree t;
	struct dom_input in = {.g = &g, .is_root = root};
	cr_assert_eq(dom_tree_build(&t, &in, own), 0);
	cr_assert_eq(t.super_total, 3);
	cr_assert_eq(t.garbage_total, 2047 - 3);
	cr_assert_eq(t.retained[5], 32 + 64 + 128);
	cr_assert_eq(t.retained[3], 8 + 16);
	cr_assert_eq(t.retained[2], 4);
	cr_assert_eq(t.retained[9], 512 + 1024);
	uint32_t cnt;
	const uint32_t *k = dom_children(&t, DOM_GARBAGE, &cnt);
	uint32_t wantk[] = {9, 8, 5, 3, 2};
	cr_assert_eq(cnt, 5);
	for (uint32_t i = 0; i < cnt; i++)
		cr_assert_eq(k[i], wantk[i], "kid %u", i);
	dom_children(&t, 12345, &cnt);
	cr_assert_eq(cnt, 0);
	dom_tree_release(&t);
	graph_release(&g);
}

Test(graph_dom, skip_mask_drops_edges)
{
	/* 0 -> 1 -> 2 and 0 -> 2. The mask is by CSR position: 0 -> 1, 0 -> 2,
	 * 1 -> 2. Skipping 0 -> 2 makes 1 dominate 2; skipping 0 -> 1 too leaves
	 * 1 and 2 unreachable. */
	static const uint32_t e[][2] = {{0, 1}, {1, 2}, {0, 2}};
	struct graph g;
	build(&g, 3, e, 3);
	uint8_t root[3] = {1};
	uint32_t want0[3] = {S, 0, 0};
	check_idom(&g, NULL, root, want0);
	uint8_t skip1[3] = {0, 1, 0};
	uint32_t want1[3] = {S, 0, 1};
	check_idom(&g, skip1, root, want1);
	uint8_t skip2[3] = {1, 1, 0};
	uint32_t want2[3] = {S, G, 1};
	check_idom(&g, skip2, root, want2);
	graph_release(&g);
}

Test(graph_dom, skipped_targets_out_of_range)
{
	/* The loader passes the heap's CSR as is, references to addresses not in
	 * the dump included (target HEAP_NONE = UINT32_MAX) with their skip bit
	 * set: the result is that of the graph without them. Edges by CSR
	 * position: 0 -> 1, 0 -> (none), 1 -> 2, 1 -> (none), 2 -> (none). */
	uint64_t off[4] = {0, 2, 4, 5};
	uint32_t dst[5] = {1, UINT32_MAX, 2, UINT32_MAX, UINT32_MAX};
	uint8_t skip[5] = {0, 1, 0, 1, 1};
	struct graph g = {.n = 3, .m = 5, .off = off, .dst = dst};
	uint8_t root[3] = {1, 0, 0}, live[3] = {1, 1, 1};
	uint32_t want[3] = {S, 0, 1}, idom[3];
	struct dom_input in = {.g = &g, .is_root = root, .skip = skip, .live = live};
	cr_assert_eq(dom_idom(&in, idom), 0);
	for (uint32_t v = 0; v < 3; v++)
		cr_assert_eq(idom[v], want[v], "idom[%u] = %u, want %u", v, idom[v], want[v]);
	/* and with nothing live but the root's tree: the same */
	in.live = NULL;
	cr_assert_eq(dom_idom(&in, idom), 0);
	for (uint32_t v = 0; v < 3; v++)
		cr_assert_eq(idom[v], want[v], "idom[%u] = %u, want %u", v, idom[v], want[v]);
}

Test(graph_dom, live_behind_cut_edges)
{
	/* Root 0; cut edges (CSR positions 0, 1) 0 -> 1 and 0 -> 3; kept:
	 * 1 -> 2, cycle 3 <-> 4, 0 -> 5 -> 6 and a cut 0 -> 6 too. Node 7 is not
	 * live: garbage. */
	static const uint32_t e[][2] = {{0, 1}, {0, 3}, {0, 5}, {0, 6}, {1, 2},
	                                {3, 4}, {4, 3}, {5, 6}, {7, 2}};
	struct graph g;
	build(&g, 8, e, sizeof e / sizeof *e);
	uint8_t skip[9] = {1, 1, 0, 1};
	uint8_t root[8] = {1};
	uint8_t live[8] = {1, 1, 1, 1, 1, 1, 1, 0};
	uint32_t want[8] = {S, S, 1, S, S, 0, 5, G};
	check_idom_live(&g, skip, root, live, want);
	/* Without live, what only cut edges reach is garbage; 7 -> 2 now makes
	 * 2 shared by two source components. */
	uint32_t want_nolive[8] = {S, G, G, G, G, 0, 5, G};
	check_idom_live(&g, skip, root, NULL, want_nolive);
	graph_release(&g);
}

Test(graph_dom, empty_and_no_roots)
{
	struct graph g;
	cr_assert_eq(graph_build(&g, 0, NULL, NULL, 0), 0);
	struct dom_tree t;
	struct dom_input in = {.g = &g};
	cr_assert_eq(dom_tree_build(&t, &in, NULL), 0);
	cr_assert_eq(t.super_total + t.garbage_total, 0);
	uint32_t from[] = {DOM_SUPER, DOM_GARBAGE}, nout = 7;
	cr_assert_eq(dom_accumulation_points(&t, from, 2, 0.8, 10, NULL, &nout), 0);
	cr_assert_eq(nout, 0);
	dom_tree_release(&t);
	graph_release(&g);

	/* A single cycle and no root at all: everything under the garbage root. */
	static const uint32_t e[][2] = {{0, 1}, {1, 2}, {2, 0}};
	build(&g, 3, e, 3);
	uint8_t root[3] = {0};
	uint32_t want[3] = {G, G, G};
	check_idom(&g, NULL, root, want);
	graph_release(&g);
}

Test(graph_dom, from_idom_rejects_bad_input)
{
	struct dom_tree t;
	uint64_t own[3] = {1, 1, 1};
	uint32_t cyc[3] = {S, 2, 1};
	cr_assert_eq(dom_tree_from_idom(&t, 3, cyc, own), -2);
	uint32_t self[3] = {S, 1, 0};
	cr_assert_eq(dom_tree_from_idom(&t, 3, self, own), -2);
	uint32_t big[3] = {S, 7, 0};
	cr_assert_eq(dom_tree_from_idom(&t, 3, big, own), -2);
	uint32_t ok[3] = {S, 0, G};
	cr_assert_eq(dom_tree_from_idom(&t, 3, ok, own), 0);
	uint32_t nout, out[1];
	uint32_t from[] = {DOM_SUPER};
	cr_assert_eq(dom_accumulation_points(&t, from, 1, 0.0, 1, out, &nout), -2);
	cr_assert_eq(dom_accumulation_points(&t, from, 1, 1.5, 1, out, &nout), -2);
	uint32_t badfrom[] = {99};
	cr_assert_eq(dom_accumulation_points(&t, badfrom, 1, 0.8, 1, out, &nout), -2);
	dom_tree_release(&t);
}

Test(graph_dom, accumulation_hand_made)
{
	/* Super root -> 0 (a "module dict": retains nearly all) -> 1 (a cache,
	 * 90% of 0) whose children 2, 3, 4 share its size; 5 hangs off 0 with
	 * 6%, 6 off the super root. */
	uint32_t idom[7] = {S, 0, 1, 1, 1, 0, S};
	uint64_t own[7] = {4, 10, 300, 300, 300, 60, 30};
	struct dom_tree t;
	cr_assert_eq(dom_tree_from_idom(&t, 7, idom, own), 0);
	cr_assert_eq(t.retained[0], 974);
	cr_assert_eq(t.retained[1], 910);
	uint32_t from[] = {DOM_SUPER}, out[8], nout;
	cr_assert_eq(dom_accumulation_points(&t, from, 1, 0.8, 8, out, &nout), 0);
	uint32_t want[] = {1, 5, 6};
	cr_assert_eq(nout, 3);
	for (uint32_t i = 0; i < nout; i++)
		cr_assert_eq(out[i], want[i], "row %u", i);
	/* A lower threshold descends into the children's share too. */
	cr_assert_eq(dom_accumulation_points(&t, from, 1, 0.3, 2, out, &nout), 0);
	cr_assert_eq(nout, 2);
	cr_assert_eq(out[0], 2);
	cr_assert_eq(out[1], 3);
	dom_tree_release(&t);
}

/* A chain 0 -> 1 -> ... -> n-1 from root 0, and a garbage chain of the same
 * length closed into a cycle: deep DFS, deep path compression, deep trees. */
Test(graph_dom, chains_1m, .timeout = 0)
{
	uint32_t n = 1000000, N = 2 * n;
	uint32_t *s = malloc(N * sizeof *s), *d = malloc(N * sizeof *d);
	uint8_t *root = calloc(N, 1);
	uint64_t *own = malloc(N * sizeof *own);
	cr_assert(s && d && root && own);
	uint64_t m = 0;
	for (uint32_t v = 0; v + 1 < n; v++) {
		s[m] = v;
		d[m++] = v + 1;
	}
	for (uint32_t v = n; v < N; v++) {
		s[m] = v;
		d[m++] = v + 1 < N ? v + 1 : n;
	}
	root[0] = 1;
	for (uint32_t v = 0; v < N; v++)
		own[v] = 1;
	struct graph g;
	cr_assert_eq(graph_build(&g, N, s, d, m), 0);
	struct dom_tree t;
	struct dom_input in = {.g = &g, .is_root = root};
	cr_assert_eq(dom_tree_build(&t, &in, own), 0);
	for (uint32_t v = 0; v < n; v++) {
		cr_assert_eq(t.idom[v], v ? v - 1 : S);
		cr_assert_eq(t.retained[v], n - v);
	}
	/* The garbage cycle: every member is in the source component. */
	for (uint32_t v = n; v < N; v++) {
		cr_assert_eq(t.idom[v], G);
		cr_assert_eq(t.retained[v], 1);
	}
	cr_assert_eq(t.super_total, n);
	cr_assert_eq(t.garbage_total, n);
	uint32_t from[] = {DOM_SUPER}, out[1], nout;
	cr_assert_eq(dom_accumulation_points(&t, from, 1, 0.8, 1, out, &nout), 0);
	cr_assert_eq(nout, 1);
	/* The descent goes on while n - v - 1 >= 0.8 (n - v), i.e. n - v >= 5. */
	cr_assert_eq(out[0], n - 4);
	dom_tree_release(&t);
	graph_release(&g);
	free(s);
	free(d);
	free(root);
	free(own);
}

/* A root with 30000 children (the radix-sorted path): sizes with many ties
 * and some above 2^32, so that several digits matter. */
Test(graph_dom, wide_star_children_order)
{
	uint32_t n = 30001;
	uint32_t *idom = malloc(n * sizeof *idom);
	uint64_t *own = malloc(n * sizeof *own);
	uint8_t *seen = calloc(n, 1);
	cr_assert(idom && own && seen);
	uint64_t x = 12345;
	idom[0] = S;
	own[0] = 1;
	for (uint32_t v = 1; v < n; v++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		idom[v] = 0;
		own[v] = (x >> 33) % 4 == 0 ? (x >> 20) : (x >> 40) % 300;
	}
	struct dom_tree t;
	cr_assert_eq(dom_tree_from_idom(&t, n, idom, own), 0);
	uint32_t cnt;
	const uint32_t *k = dom_children(&t, 0, &cnt);
	cr_assert_eq(cnt, n - 1);
	for (uint32_t i = 0; i < cnt; i++) {
		cr_assert(k[i] > 0 && k[i] < n && !seen[k[i]]);
		seen[k[i]] = 1;
		cr_assert_eq(t.retained[k[i]], own[k[i]]);
		if (i)
			cr_assert(own[k[i - 1]] > own[k[i]] ||
			                  (own[k[i - 1]] == own[k[i]] && k[i - 1] < k[i]),
			          "position %u", i);
	}
	dom_tree_release(&t);
	free(idom);
	free(own);
	free(seen);
}

/* ---- Brute force ---------------------------------------------------------- */

#define MAXN 12

/* Nodes reachable from the set src (bitmask) over adj, never entering node
 * `cut` (pass MAXN for none) nor leaving `within`. */
static uint32_t reach(const uint32_t *adj, uint32_t n, uint32_t src, uint32_t cut, uint32_t within)
{
	uint32_t seen = src & within, todo;
	if (cut < MAXN)
		seen &= ~(1u << cut);
	todo = seen;
	while (todo) {
		uint32_t v = (uint32_t)__builtin_ctz(todo);
		todo &= todo - 1;
		uint32_t nw = adj[v] & within & ~seen;
		if (cut < MAXN)
			nw &= ~(1u << cut);
		seen |= nw;
		todo |= nw;
	}
	(void)n;
	return seen;
}

struct oracle {
	uint32_t idom[MAXN];
	uint64_t retained[MAXN];
	uint64_t super_total, garbage_total;
};

/* The dominators of one virtual root whose edges go to src, within the node
 * set `within`: v strictly dominates w iff removing v cuts w off. idom(w) is
 * the strict dominator with the most dominators itself (they form a chain). */
static void oracle_tree(const uint32_t *adj, uint32_t n, uint32_t src, uint32_t within,
                        uint32_t vroot, const uint64_t *own, struct oracle *o)
{
	uint32_t sdom[MAXN] = {0}; /* sdom[w]: strict dominators of w */
	for (uint32_t v = 0; v < n; v++) {
		if (!(within >> v & 1))
			continue;
		uint32_t r = reach(adj, n, src, v, within);
		for (uint32_t w = 0; w < n; w++)
			if ((within >> w & 1) && w != v && !(r >> w & 1))
				sdom[w] |= 1u << v;
	}
	for (uint32_t w = 0; w < n; w++) {
		if (!(within >> w & 1))
			continue;
		uint32_t best = vroot;
		int bestc = -1;
		for (uint32_t d = 0; d < n; d++)
			if ((sdom[w] >> d & 1) && __builtin_popcount(sdom[d]) > bestc) {
				bestc = __builtin_popcount(sdom[d]);
				best = d;
			}
		o->idom[w] = best;
		o->retained[w] = own[w];
		for (uint32_t x = 0; x < n; x++)
			if (sdom[x] >> w & 1)
				o->retained[w] += own[x];
	}
}

/* Members of the source components of the subgraph induced by U: C(u) = the
 * nodes u reaches that reach u back; a source has no edge from U \ C in. */
static uint32_t source_members(const uint32_t *adj, uint32_t n, uint32_t U)
{
	uint32_t fw[MAXN], srcs = 0;
	for (uint32_t u = 0; u < n; u++)
		fw[u] = (U >> u & 1) ? reach(adj, n, 1u << u, MAXN, U) : 0;
	for (uint32_t u = 0; u < n; u++) {
		if (!(U >> u & 1))
			continue;
		uint32_t comp = 0;
		for (uint32_t x = 0; x < n; x++)
			if ((fw[u] >> x & 1) && (fw[x] >> u & 1))
				comp |= 1u << x;
		int entered = 0;
		for (uint32_t x = 0; x < n; x++)
			if ((U >> x & 1) && !(comp >> x & 1) && (adj[x] & comp))
				entered = 1;
		if (!entered)
			srcs |= 1u << u;
	}
	return srcs;
}

/* The super-root reaches the roots and the source members of the live nodes
 * the roots do not reach; the garbage root the source members of the rest. */
static void oracle(const uint32_t *adj, uint32_t n, uint32_t roots, uint32_t live,
                   const uint64_t *own, struct oracle *o)
{
	uint32_t all = (1u << n) - 1;
	uint32_t R0 = reach(adj, n, roots, MAXN, all);
	uint32_t sup = roots | source_members(adj, n, live & ~R0);
	uint32_t R = reach(adj, n, sup, MAXN, all), U = all & ~R;
	oracle_tree(adj, n, sup, R, S, own, o);
	oracle_tree(adj, n, source_members(adj, n, U), U, G, own, o);
	o->super_total = o->garbage_total = 0;
	for (uint32_t v = 0; v < n; v++)
		*((R >> v & 1) ? &o->super_total : &o->garbage_total) += own[v];
}

/* Accumulation points straight from the definition, recursively (the trees
 * are tiny), collected unsorted. */
static void acc_collect(const struct dom_tree *t, uint32_t y, double th, uint32_t *pts,
                        uint32_t *np)
{
	uint32_t cnt;
	const uint32_t *k = dom_children(t, y, &cnt);
	while (cnt && (double)t->retained[k[0]] >= th * (double)t->retained[y]) {
		for (uint32_t i = 1; i < cnt; i++)
			acc_collect(t, k[i], th, pts, np);
		y = k[0];
		k = dom_children(t, y, &cnt);
	}
	pts[(*np)++] = y;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t bound)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % bound);
}

static int is_ancestor(const struct dom_tree *t, uint32_t a, uint32_t v)
{
	for (uint32_t x = t->idom[v]; x < t->n; x = t->idom[x])
		if (x == a)
			return 1;
	return 0;
}

Test(graph_dom, random_against_brute_force, .timeout = 0)
{
	for (int iter = 0; iter < 20000; iter++) {
		uint32_t n = 1 + rnd(MAXN);
		uint32_t m = rnd(3 * n + 1);
		uint32_t es[3 * MAXN + 1], ed[3 * MAXN + 1];
		uint8_t skip[3 * MAXN + 1], root[MAXN];
		uint64_t own[MAXN];
		uint32_t adj[MAXN] = {0}, roots = 0;
		int skipping = rnd(2);
		for (uint32_t i = 0; i < m; i++) {
			es[i] = rnd(n);
			ed[i] = rnd(n);
		}
		struct graph g;
		cr_assert_eq(graph_build(&g, n, es, ed, m), 0);
		/* The mask is per CSR edge: draw it on g's order. */
		for (uint32_t u = 0; u < n; u++)
			for (uint64_t e = g.off[u]; e < g.off[u + 1]; e++) {
				skip[e] = skipping && rnd(5) == 0;
				if (!skip[e])
					adj[u] |= 1u << g.dst[e];
			}
		uint32_t rootp = rnd(4); /* 0: no roots at all */
		for (uint32_t v = 0; v < n; v++) {
			root[v] = rootp && rnd(8) < rootp;
			roots |= (uint32_t)root[v] << v;
			own[v] = rnd(3) ? rnd(100) : rnd(3);
		}
		/* live: none; everything reachable over all edges (what the heap
		 * model passes); or that plus random nodes (not closed). */
		uint8_t livev[MAXN], *live = NULL;
		uint32_t livemask = 0, which_live = rnd(3);
		if (which_live) {
			uint32_t alladj[MAXN] = {0};
			for (uint32_t i = 0; i < m; i++)
				alladj[es[i]] |= 1u << ed[i];
			livemask = reach(alladj, n, roots, MAXN, (1u << n) - 1);
			if (which_live == 2)
				livemask |= rnd(1u << n);
			for (uint32_t v = 0; v < n; v++)
				livev[v] = livemask >> v & 1;
			live = livev;
		}
		struct oracle o;
		oracle(adj, n, roots, livemask, own, &o);
		check_idom_live(&g, skipping ? skip : NULL, root, live, o.idom);

		struct dom_tree t;
		struct dom_input in = {
		        .g = &g, .is_root = root, .skip = skipping ? skip : NULL, .live = live};
		cr_assert_eq(dom_tree_build(&t, &in, own), 0);
		for (uint32_t v = 0; v < n; v++)
			cr_assert_eq(t.retained[v], o.retained[v], "iter %d retained[%u]", iter, v);
		cr_assert_eq(t.super_total, o.super_total);
		cr_assert_eq(t.garbage_total, o.garbage_total);

		/* Children: each node exactly once, under its idom, largest first. */
		uint32_t seen = 0;
		uint32_t parents[] = {S, G};
		for (uint32_t p = 0; p < n + 2; p++) {
			uint32_t par = p < n ? p : parents[p - n], cnt;
			const uint32_t *k = dom_children(&t, par, &cnt);
			for (uint32_t i = 0; i < cnt; i++) {
				cr_assert_eq(t.idom[k[i]], par);
				cr_assert(!(seen >> k[i] & 1));
				seen |= 1u << k[i];
				if (i)
					cr_assert(t.retained[k[i - 1]] > t.retained[k[i]] ||
					          (t.retained[k[i - 1]] == t.retained[k[i]] &&
					           k[i - 1] < k[i]));
			}
		}
		cr_assert_eq(seen, (1u << n) - 1);

		/* Accumulation points against the definition. */
		static const double ths[] = {0.8, 0.5, 1.0, 0.3};
		double th = ths[rnd(4)];
		uint32_t from[2], nfrom = 0;
		uint32_t which = rnd(3);
		if (which != 1)
			from[nfrom++] = S;
		if (which != 0)
			from[nfrom++] = G;
		uint32_t pts[MAXN], np = 0, cnt;
		for (uint32_t f = 0; f < nfrom; f++) {
			const uint32_t *k = dom_children(&t, from[f], &cnt);
			for (uint32_t i = 0; i < cnt; i++)
				acc_collect(&t, k[i], th, pts, &np);
		}
		for (uint32_t i = 1; i < np; i++) /* sort: retained desc, id asc */
			for (uint32_t j = i; j > 0; j--) {
				uint32_t a = pts[j - 1], b = pts[j];
				if (t.retained[a] > t.retained[b] ||
				    (t.retained[a] == t.retained[b] && a < b))
					break;
				pts[j - 1] = b;
				pts[j] = a;
			}
		uint32_t limit = rnd(n + 2), out[MAXN + 2], nout;
		cr_assert_eq(dom_accumulation_points(&t, from, nfrom, th, limit, out, &nout), 0);
		cr_assert_eq(nout, limit < np ? limit : np, "iter %d", iter);
		uint64_t sum = 0, total = 0;
		for (uint32_t f = 0; f < nfrom; f++)
			total += from[f] == S ? t.super_total : t.garbage_total;
		for (uint32_t i = 0; i < nout; i++) {
			cr_assert_eq(out[i], pts[i], "iter %d row %u", iter, i);
			sum += t.retained[out[i]];
			for (uint32_t j = 0; j < nout; j++)
				cr_assert(i == j || !is_ancestor(&t, out[i], out[j]));
			/* The descent rule: a point's largest child is below threshold. */
			const uint32_t *k = dom_children(&t, out[i], &cnt);
			cr_assert(!cnt ||
			          !((double)t.retained[k[0]] >= th * (double)t.retained[out[i]]));
		}
		cr_assert_leq(sum, total);
		dom_tree_release(&t);
		graph_release(&g);
	}
}

/* dom_group_retained against the definition: walk each node's ancestors. */
Test(graph_dom, group_retained_random)
{
	for (int iter = 0; iter < 3000; iter++) {
		uint32_t n = 1 + rnd(40), ngroups = 1 + rnd(4);
		uint32_t idom[40], group[40];
		uint64_t own[40], want[4] = {0}, out[4];
		for (uint32_t v = 0; v < n; v++) {
			uint32_t r = rnd(v + 2);
			idom[v] = r < v ? r : (rnd(2) ? S : G);
			group[v] = rnd(5) == 0 ? GRAPH_NONE : rnd(ngroups);
			own[v] = rnd(1000);
		}
		struct dom_tree t;
		cr_assert_eq(dom_tree_from_idom(&t, n, idom, own), 0);
		for (uint32_t v = 0; v < n; v++) {
			if (group[v] == GRAPH_NONE)
				continue;
			int hidden = 0;
			for (uint32_t a = idom[v]; a < n; a = idom[a])
				hidden |= group[a] == group[v];
			if (!hidden)
				want[group[v]] += t.retained[v];
		}
		cr_assert_eq(dom_group_retained(&t, group, ngroups, out), 0);
		for (uint32_t k = 0; k < ngroups; k++) {
			cr_assert_eq(out[k], want[k], "iter %d group %u", iter, k);
			cr_assert_leq(out[k], t.super_total + t.garbage_total);
		}
		group[0] = ngroups;
		cr_assert_eq(dom_group_retained(&t, group, ngroups, out), -2);
		dom_tree_release(&t);
	}
}

/* The load's tree (children unsorted) holds the same retained sizes, the
 * same children per node (in id order) and the same per-group sums as the
 * sorted one. */
Test(graph_dom, unsorted_tree_same_as_sorted)
{
	for (int iter = 0; iter < 2000; iter++) {
		uint32_t n = 1 + rnd(60), ngroups = 1 + rnd(4);
		uint32_t idom[60], group[60];
		uint64_t own[60], a_out[4], b_out[4];
		for (uint32_t v = 0; v < n; v++) {
			uint32_t r = rnd(v + 2);
			idom[v] = r < v ? r : (rnd(2) ? S : G);
			group[v] = rnd(5) == 0 ? GRAPH_NONE : rnd(ngroups);
			own[v] = rnd(1000);
		}
		struct dom_tree a, b;
		cr_assert_eq(dom_tree_from_idom(&a, n, idom, own), 0);
		cr_assert_eq(dom_tree_from_idom_unsorted(&b, n, idom, own), 0);
		cr_assert_eq(a.super_total, b.super_total);
		cr_assert_eq(a.garbage_total, b.garbage_total);
		for (uint32_t v = 0; v < n; v++)
			cr_assert_eq(a.retained[v], b.retained[v]);
		for (uint32_t p = 0; p < n + 2; p++) {
			uint32_t ca, cb;
			uint32_t p_id = p < n ? p : (p == n ? S : G);
			const uint32_t *ka = dom_children(&a, p_id, &ca);
			const uint32_t *kb = dom_children(&b, p_id, &cb);
			cr_assert_eq(ca, cb);
			uint64_t sa = 0, sb = 0;
			for (uint32_t i = 0; i < ca; i++) {
				sa += (uint64_t)ka[i] * 2654435761u + ka[i];
				sb += (uint64_t)kb[i] * 2654435761u + kb[i];
				if (i)
					cr_assert_lt(kb[i - 1], kb[i],
					             "unsorted children in id order");
			}
			cr_assert_eq(sa, sb, "the same children");
		}
		cr_assert_eq(dom_group_retained(&a, group, ngroups, a_out), 0);
		cr_assert_eq(dom_group_retained(&b, group, ngroups, b_out), 0);
		for (uint32_t k = 0; k < ngroups; k++)
			cr_assert_eq(a_out[k], b_out[k]);
		dom_tree_release(&a);
		dom_tree_release(&b);
	}
}
