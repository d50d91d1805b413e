/* test_graph.c — Criterion tests for graph.c: hand-made graphs with known
 * answers, 10-million-node chains and cycles (no recursion may survive them),
 * and random graphs checked against a brute-force transitive-closure oracle.
 * Must not depend on SQLite or files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

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

Test(graph, build_keeps_edge_order_per_source)
{
	static const uint32_t e[][2] = {{2, 0}, {0, 3}, {2, 1}, {0, 1}, {2, 2}, {0, 3}};
	struct graph g;
	build(&g, 4, e, 6);
	cr_assert_eq(g.n, 4);
	cr_assert_eq(g.m, 6);
	uint64_t off[] = {0, 3, 3, 6, 6};
	uint32_t dst[] = {3, 1, 3, 0, 1, 2};
	for (int i = 0; i < 5; i++)
		cr_assert_eq(g.off[i], off[i], "off[%d]", i);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(g.dst[i], dst[i], "dst[%d]", i);

	struct graph r;
	cr_assert_eq(graph_reverse(&g, &r), 0);
	/* predecessors: 0 <- 2; 1 <- 0, 2; 2 <- 2; 3 <- 0, 0 */
	uint64_t roff[] = {0, 1, 3, 4, 6};
	uint32_t rdst[] = {2, 0, 2, 2, 0, 0};
	for (int i = 0; i < 5; i++)
		cr_assert_eq(r.off[i], roff[i], "roff[%d]", i);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(r.dst[i], rdst[i], "rdst[%d]", i);
	graph_release(&r);
	graph_release(&g);
	cr_assert_null(g.off);
}

Test(graph, empty_graph)
{
	struct graph g;
	cr_assert_eq(graph_build(&g, 0, NULL, NULL, 0), 0);
	uint32_t nc = 99;
	cr_assert_eq(graph_scc(&g, NULL, NULL, &nc), 0);
	cr_assert_eq(nc, 0);
	cr_assert_eq(graph_reach(&g, NULL, NULL), 0);
	cr_assert_eq(graph_bfs(&g, NULL, 0, NULL, NULL, NULL), 0);
	graph_release(&g);
}

Test(graph, scc_hand_made)
{
	/* 0->1->2->0 is a cycle; 3->4 is not; 5 has a self-edge; 6<->7 a pair;
	 * 2->3 and 7->0 connect components without merging them; 8 isolated. */
	static const uint32_t e[][2] = {{0, 1}, {1, 2}, {2, 0}, {2, 3}, {3, 4},
	                                {5, 5}, {6, 7}, {7, 6}, {7, 0}, {4, 5}};
	struct graph g;
	build(&g, 9, e, sizeof e / sizeof e[0]);
	uint32_t comp[9], nc;
	cr_assert_eq(graph_scc(&g, NULL, comp, &nc), 0);
	cr_assert_eq(nc, 3);
	/* Dense ids in order of the lowest node of each component. */
	uint32_t want[9] = {0, 0, 0, GRAPH_NONE, GRAPH_NONE, 1, 2, 2, GRAPH_NONE};
	for (int v = 0; v < 9; v++)
		cr_assert_eq(comp[v], want[v], "comp[%d] = %u", v, comp[v]);
	graph_release(&g);
}

Test(graph, reach_and_bfs_hand_made)
{
	/* 0 -> 1 -> 2 -> 3, 0 -> 3 shortcut, 4 -> 2 (4 unreached from 0), 5 alone */
	static const uint32_t e[][2] = {{0, 1}, {1, 2}, {2, 3}, {0, 3}, {4, 2}};
	struct graph g;
	build(&g, 6, e, 5);
	uint8_t root[6] = {1, 0, 0, 0, 0, 0}, reached[6];
	cr_assert_eq(graph_reach(&g, root, reached), 0);
	uint8_t want[6] = {1, 1, 1, 1, 0, 0};
	cr_assert_arr_eq(reached, want, 6);

	uint32_t parent[6], dist[6], src[] = {0};
	cr_assert_eq(graph_bfs(&g, src, 1, NULL, parent, dist), 0);
	uint32_t wd[6] = {0, 1, 2, 1, UINT32_MAX, UINT32_MAX};
	uint32_t wp[6] = {GRAPH_NONE, 0, 1, 0, GRAPH_NONE, GRAPH_NONE};
	cr_assert_arr_eq(dist, wd, sizeof wd);
	cr_assert_arr_eq(parent, wp, sizeof wp);

	/* Two sources: 2 is reached at distance 1 from 4, before 1's path. */
	uint32_t src2[] = {0, 4, 4};
	cr_assert_eq(graph_bfs(&g, src2, 3, NULL, parent, dist), 0);
	cr_assert_eq(dist[2], 1);
	cr_assert_eq(parent[2], 4);
	cr_assert_eq(parent[4], GRAPH_NONE);
	cr_assert_eq(dist[4], 0);
	graph_release(&g);
}

Test(graph, bfs_stops_early)
{
	/* A star 0 -> 1..9 then 1 -> 10: stopping at 3 must not reach 10. */
	uint32_t e[10][2];
	for (uint32_t i = 0; i < 9; i++) {
		e[i][0] = 0;
		e[i][1] = i + 1;
	}
	e[9][0] = 1;
	e[9][1] = 10;
	struct graph g;
	build(&g, 11, (const uint32_t(*)[2])e, 10);
	uint8_t stop[11] = {0};
	stop[3] = 1;
	uint32_t parent[11], dist[11], src[] = {0};
	cr_assert_eq(graph_bfs(&g, src, 1, stop, parent, dist), 0);
	cr_assert_eq(dist[3], 1);
	cr_assert_eq(parent[3], 0);
	cr_assert_eq(dist[10], UINT32_MAX);
	cr_assert_eq(parent[10], GRAPH_NONE);
	/* A source that is itself a stop node ends the search at once. */
	stop[0] = 1;
	stop[3] = 0;
	cr_assert_eq(graph_bfs(&g, src, 1, stop, parent, dist), 0);
	cr_assert_eq(dist[0], 0);
	cr_assert_eq(dist[1], UINT32_MAX);
	graph_release(&g);
}

/* 10M nodes: deep enough that any recursion on the DFS depth would crash. */
#define BIG 10000000u

static void big_graph(struct graph *g, int cycle)
{
	uint64_t m = cycle ? BIG : BIG - 1;
	uint32_t *s = malloc(m * sizeof *s), *d = malloc(m * sizeof *d);
	cr_assert(s && d);
	/* Edges listed backwards so that DFS from node 0 must go the full depth. */
	for (uint64_t i = 0; i < m; i++) {
		uint32_t u = (uint32_t)(m - 1 - i);
		s[i] = u;
		d[i] = (u + 1) % BIG;
	}
	cr_assert_eq(graph_build(g, BIG, s, d, m), 0);
	free(s);
	free(d);
}

Test(graph, chain_10m, .timeout = 0)
{
	struct graph g;
	big_graph(&g, 0);
	uint32_t *comp = malloc(BIG * sizeof *comp), nc = 1;
	cr_assert_eq(graph_scc(&g, NULL, comp, &nc), 0);
	cr_assert_eq(nc, 0);
	for (uint32_t v = 0; v < BIG; v++)
		if (comp[v] != GRAPH_NONE)
			cr_assert_fail("comp[%u] = %u on a chain", v, comp[v]);

	uint8_t *root = calloc(BIG, 1), *reached = malloc(BIG);
	root[1] = 1;
	cr_assert_eq(graph_reach(&g, root, reached), 0);
	cr_assert_eq(reached[0], 0);
	for (uint32_t v = 1; v < BIG; v++)
		if (!reached[v])
			cr_assert_fail("node %u unreached", v);

	uint32_t *parent = malloc(BIG * sizeof *parent), *dist = comp, src = 0;
	uint8_t *stop = root;
	root[1] = 0;
	stop[BIG - 1] = 1;
	cr_assert_eq(graph_bfs(&g, &src, 1, stop, parent, dist), 0);
	cr_assert_eq(dist[BIG - 1], BIG - 1);
	for (uint32_t v = 1; v < BIG; v++)
		if (parent[v] != v - 1 || dist[v] != v)
			cr_assert_fail("node %u: parent %u dist %u", v, parent[v], dist[v]);

	struct graph r;
	cr_assert_eq(graph_reverse(&g, &r), 0);
	src = BIG - 1;
	cr_assert_eq(graph_bfs(&r, &src, 1, NULL, parent, dist), 0);
	cr_assert_eq(dist[0], BIG - 1);
	graph_release(&r);
	free(parent);
	free(comp);
	free(root);
	free(reached);
	graph_release(&g);
}

Test(graph, cycle_10m, .timeout = 0)
{
	struct graph g;
	big_graph(&g, 1);
	uint32_t *comp = malloc(BIG * sizeof *comp), nc = 0;
	cr_assert_eq(graph_scc(&g, NULL, comp, &nc), 0);
	cr_assert_eq(nc, 1);
	for (uint32_t v = 0; v < BIG; v++)
		if (comp[v] != 0)
			cr_assert_fail("comp[%u] = %u on one big cycle", v, comp[v]);
	uint8_t *root = calloc(BIG, 1), *reached = malloc(BIG);
	root[BIG / 2] = 1;
	cr_assert_eq(graph_reach(&g, root, reached), 0);
	for (uint32_t v = 0; v < BIG; v++)
		if (!reached[v])
			cr_assert_fail("node %u unreached", v);
	free(comp);
	free(root);
	free(reached);
	graph_release(&g);
}

/* Random graphs against an oracle: Warshall's transitive closure. */
#define MAXN 48

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t bound)
{
	/* xorshift64*: deterministic across runs, so a failure can be replayed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32) % bound;
}

Test(graph, random_against_closure_oracle)
{
	static uint32_t src[MAXN * MAXN * 2], dst[MAXN * MAXN * 2];
	static uint8_t path[MAXN][MAXN]; /* path[u][v]: a path of length >= 1 */
	static uint32_t sp[MAXN][MAXN];  /* shortest path length, UINT32_MAX if none */
	for (int round = 0; round < 2000; round++) {
		uint32_t n = 1 + rnd(MAXN);
		/* Vary density from sparse forests to dense tangles. */
		uint32_t m = rnd(n * (1 + rnd(4)) + 1);
		memset(path, 0, sizeof path);
		for (uint32_t u = 0; u < n; u++)
			for (uint32_t v = 0; v < n; v++)
				sp[u][v] = u == v ? 0 : UINT32_MAX;
		for (uint32_t i = 0; i < m; i++) {
			src[i] = rnd(n);
			dst[i] = rnd(n);
			path[src[i]][dst[i]] = 1;
			if (src[i] != dst[i])
				sp[src[i]][dst[i]] = 1;
		}
		for (uint32_t k = 0; k < n; k++)
			for (uint32_t u = 0; u < n; u++)
				for (uint32_t v = 0; v < n; v++) {
					if (path[u][k] && path[k][v])
						path[u][v] = 1;
					if (sp[u][k] != UINT32_MAX && sp[k][v] != UINT32_MAX &&
					    sp[u][k] + sp[k][v] < sp[u][v])
						sp[u][v] = sp[u][k] + sp[k][v];
				}
		struct graph g;
		cr_assert_eq(graph_build(&g, n, src, dst, m), 0);

		uint32_t comp[MAXN], nc;
		cr_assert_eq(graph_scc(&g, NULL, comp, &nc), 0);
		uint8_t used[MAXN] = {0};
		for (uint32_t u = 0; u < n; u++) {
			cr_assert_eq(comp[u] != GRAPH_NONE, path[u][u] != 0, "round %d node %u",
			             round, u);
			if (comp[u] == GRAPH_NONE)
				continue;
			cr_assert_lt(comp[u], nc);
			used[comp[u]] = 1;
			for (uint32_t v = 0; v < n; v++)
				if (comp[v] != GRAPH_NONE)
					cr_assert_eq(comp[u] == comp[v],
					             u == v || (path[u][v] && path[v][u]),
					             "round %d: %u %u", round, u, v);
		}
		for (uint32_t c = 0; c < nc; c++)
			cr_assert(used[c], "round %d: id %u unused (ids not dense)", round, c);

		uint8_t root[MAXN], reached[MAXN];
		for (uint32_t u = 0; u < n; u++)
			root[u] = rnd(5) == 0;
		cr_assert_eq(graph_reach(&g, root, reached), 0);
		for (uint32_t v = 0; v < n; v++) {
			int want = root[v];
			for (uint32_t r = 0; r < n; r++)
				want |= root[r] && path[r][v];
			cr_assert_eq(reached[v], want, "round %d node %u", round, v);
		}

		uint32_t sources[3] = {rnd(n), rnd(n), rnd(n)}, ns = 1 + rnd(3);
		uint32_t parent[MAXN], dist[MAXN];
		cr_assert_eq(graph_bfs(&g, sources, ns, NULL, parent, dist), 0);
		for (uint32_t v = 0; v < n; v++) {
			uint32_t want = UINT32_MAX;
			for (uint32_t i = 0; i < ns; i++)
				if (sp[sources[i]][v] < want)
					want = sp[sources[i]][v];
			cr_assert_eq(dist[v], want, "round %d node %u", round, v);
			if (want == 0 || want == UINT32_MAX) {
				cr_assert_eq(parent[v], GRAPH_NONE);
				continue;
			}
			/* The parent is one step closer and really has an edge to v. */
			uint32_t p = parent[v];
			cr_assert_lt(p, n);
			cr_assert_eq(dist[p] + 1, dist[v]);
			int edge = 0;
			for (uint64_t e = g.off[p]; e < g.off[p + 1]; e++)
				edge |= g.dst[e] == v;
			cr_assert(edge, "round %d: no edge %u -> %u", round, p, v);
		}
		graph_release(&g);
	}
}

/* A larger random graph (mostly forward edges, some back edges: a mix of
 * many small cycles and a few big ones) against Kosaraju's algorithm, an
 * independent method: finish order on g, then BFS on the reverse graph. */
Test(graph, scc_matches_kosaraju_large, .timeout = 0)
{
	const uint32_t n = 300000;
	const uint64_t m = 700000;
	uint32_t *s = malloc(m * sizeof *s), *d = malloc(m * sizeof *d);
	cr_assert(s && d);
	for (uint64_t i = 0; i < m; i++) {
		uint32_t a = rnd(n), b = rnd(n);
		/* 97% of edges go forward (to a higher id): long acyclic stretches. */
		if ((a > b) == (rnd(100) < 97)) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		s[i] = a;
		d[i] = rnd(50) ? b : a; /* 2% self-edges */
	}
	struct graph g, r;
	cr_assert_eq(graph_build(&g, n, s, d, m), 0);
	cr_assert_eq(graph_reverse(&g, &r), 0);
	free(s);
	free(d);
	uint32_t *comp = malloc(n * sizeof *comp), nc;
	cr_assert_eq(graph_scc(&g, NULL, comp, &nc), 0);

	uint32_t *order = malloc(n * sizeof *order), *stk = malloc(n * sizeof *stk), no = 0;
	uint64_t *it = malloc(n * sizeof *it);
	uint8_t *seen = calloc(n, 1);
	for (uint32_t v0 = 0; v0 < n; v0++) {
		if (seen[v0])
			continue;
		size_t sp = 0;
		stk[sp] = v0;
		it[sp++] = g.off[v0];
		seen[v0] = 1;
		while (sp) {
			uint32_t v = stk[sp - 1];
			if (it[sp - 1] < g.off[v + 1]) {
				uint32_t w = g.dst[it[sp - 1]++];
				if (!seen[w]) {
					seen[w] = 1;
					stk[sp] = w;
					it[sp++] = g.off[w];
				}
			} else {
				order[no++] = v;
				sp--;
			}
		}
	}
	uint32_t *k = malloc(n * sizeof *k), kc = 0, *q = stk;
	for (uint32_t v = 0; v < n; v++)
		k[v] = UINT32_MAX;
	for (uint32_t i = n; i-- > 0;) {
		uint32_t v = order[i];
		if (k[v] != UINT32_MAX)
			continue;
		size_t h = 0, t = 0;
		q[t++] = v;
		k[v] = kc;
		while (h < t) {
			uint32_t x = q[h++];
			for (uint64_t e = r.off[x]; e < r.off[x + 1]; e++)
				if (k[r.dst[e]] == UINT32_MAX) {
					k[r.dst[e]] = kc;
					q[t++] = r.dst[e];
				}
		}
		kc++;
	}
	uint32_t *size = calloc(kc, sizeof *size), *fwd = malloc(n * sizeof *fwd);
	uint32_t *back = malloc(kc * sizeof *back), cyclic = 0;
	for (uint32_t v = 0; v < n; v++)
		size[k[v]]++;
	for (uint32_t v = 0; v < n; v++)
		fwd[v] = UINT32_MAX;
	for (uint32_t c = 0; c < kc; c++)
		back[c] = UINT32_MAX;
	for (uint32_t v = 0; v < n; v++) {
		int self = 0;
		for (uint64_t e = g.off[v]; e < g.off[v + 1]; e++)
			self |= g.dst[e] == v;
		int in_cycle = size[k[v]] > 1 || self;
		cr_assert_eq(comp[v] != GRAPH_NONE, in_cycle, "node %u", v);
		if (!in_cycle)
			continue;
		/* The two partitions must match: a bijection of component ids. */
		cr_assert_lt(comp[v], nc);
		if (fwd[comp[v]] == UINT32_MAX) {
			cr_assert_eq(back[k[v]], UINT32_MAX, "node %u: split component", v);
			fwd[comp[v]] = k[v];
			back[k[v]] = comp[v];
			cyclic++;
		}
		cr_assert_eq(fwd[comp[v]], k[v], "node %u: merged components", v);
	}
	cr_assert_eq(cyclic, nc, "ids not dense");
	cr_assert_gt(nc, 100, "the graph should have many cycles (%u)", nc);
	free(size);
	free(fwd);
	free(back);
	free(k);
	free(order);
	free(stk);
	free(it);
	free(seen);
	free(comp);
	graph_release(&r);
	graph_release(&g);
}

/* A skip mask removes exactly its edges: the components equal those of the
 * graph built without them, and a skipped edge's target is never read (it
 * may be out of range, as the heap's missing targets are). */
Test(graph, scc_skip_mask_drops_edges)
{
	enum { N = 40, M = 120 };
	uint64_t seed = 7;
	for (int round = 0; round < 300; round++) {
		uint32_t src[M], dst[M], ksrc[M], kdst[M], n = 2 + (uint32_t)(round % (N - 1)),
		                                           m = 0;
		uint8_t skip[M];
		for (uint32_t i = 0; i < M; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			src[i] = (uint32_t)(seed >> 33) % n;
			dst[i] = (uint32_t)(seed >> 13) % n;
			skip[i] = (seed >> 50) % 3 == 0;
		}
		/* the edges sorted by source, as graph_build lays them out */
		uint32_t order[M], k = 0;
		for (uint32_t v = 0; v < n; v++)
			for (uint32_t i = 0; i < M; i++)
				if (src[i] == v)
					order[k++] = i;
		uint32_t s2[M], d2[M];
		uint8_t sk2[M];
		for (uint32_t i = 0; i < M; i++) {
			s2[i] = src[order[i]];
			d2[i] = skip[order[i]] ? UINT32_MAX - 5 : dst[order[i]]; /* never read */
			sk2[i] = skip[order[i]];
			if (!skip[order[i]]) {
				ksrc[m] = src[order[i]];
				kdst[m++] = dst[order[i]];
			}
		}
		struct graph all = {0}, kept;
		all.n = n;
		all.m = M;
		all.off = calloc(n + 1, sizeof *all.off);
		all.dst = d2;
		for (uint32_t i = 0; i < M; i++)
			all.off[s2[i] + 1]++;
		for (uint32_t v = 0; v < n; v++)
			all.off[v + 1] += all.off[v];
		cr_assert_eq(graph_build(&kept, n, ksrc, kdst, m), 0);
		uint32_t a[N], b[N], na, nb;
		cr_assert_eq(graph_scc(&all, sk2, a, &na), 0);
		cr_assert_eq(graph_scc(&kept, NULL, b, &nb), 0);
		cr_assert_eq(na, nb, "round %d", round);
		for (uint32_t v = 0; v < n; v++)
			cr_assert_eq(a[v], b[v], "round %d node %u", round, v);
		free(all.off);
		graph_release(&kept);
	}
}
