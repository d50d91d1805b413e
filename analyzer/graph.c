/* graph.c — CSR construction, iterative SCC (Pearce), reachability and
 * multi-source BFS on flat arrays (see graph.h for the contracts).
 * Must not recurse, touch files or SQLite, or allocate per node: every
 * working array is one allocation sized by n or m. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* Fills g->off/g->dst with a stable counting sort of the edges by source.
 * get(i) yields edge i; written twice (build, reverse) through this macro so
 * the hot loops stay free of indirect calls. */
#define CSR_FILL(g, n_, m_, SRC, DST)                                                                \
	do {                                                                                       \
		for (uint64_t i_ = 0; i_ < (m_); i_++)                                             \
			(g)->off[(uint64_t)(SRC) + 1]++;                                           \
		for (uint32_t v_ = 0; v_ < (n_); v_++)                                             \
			(g)->off[v_ + 1] += (g)->off[v_];                                          \
		/* off[v] is now the start of v; advance it while placing, then shift back. */      \
		for (uint64_t i_ = 0; i_ < (m_); i_++)                                             \
			(g)->dst[(g)->off[(SRC)]++] = (DST);                                       \
		for (uint32_t v_ = (n_); v_ > 0; v_--)                                             \
			(g)->off[v_] = (g)->off[v_ - 1];                                           \
		(g)->off[0] = 0;                                                                   \
	} while (0)

static int graph_alloc(struct graph *g, uint32_t n, uint64_t m)
{
	g->n = n;
	g->m = m;
	g->off = calloc((size_t)n + 1, sizeof *g->off);
	g->dst = malloc((m ? m : 1) * sizeof *g->dst);
	if (!g->off || !g->dst) {
		graph_release(g);
		return -1;
	}
	return 0;
}

int graph_build(struct graph *g, uint32_t n, const uint32_t *src, const uint32_t *dst, uint64_t m)
{
	if (graph_alloc(g, n, m) < 0)
		return -1;
	CSR_FILL(g, n, m, src[i_], dst[i_]);
	return 0;
}

int graph_reverse(const struct graph *g, struct graph *rev)
{
	if (graph_alloc(rev, g->n, g->m) < 0)
		return -1;
	/* Count predecessors, then place every edge u->w as w->u; iterating u in
	 * order keeps each node's predecessors sorted by id. */
	for (uint64_t i = 0; i < g->m; i++)
		rev->off[(uint64_t)g->dst[i] + 1]++;
	for (uint32_t v = 0; v < g->n; v++)
		rev->off[v + 1] += rev->off[v];
	for (uint32_t u = 0; u < g->n; u++)
		for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++)
			rev->dst[rev->off[g->dst[e]]++] = u;
	for (uint32_t v = g->n; v > 0; v--)
		rev->off[v] = rev->off[v - 1];
	rev->off[0] = 0;
	return 0;
}

void graph_release(struct graph *g)
{
	free(g->off);
	free(g->dst);
	g->off = NULL;
	g->dst = NULL;
	g->n = 0;
	g->m = 0;
}

/* Pearce's space-efficient SCC algorithm ("A space-efficient algorithm for
 * finding strongly connected components", IPL 2016), made iterative with an
 * explicit call stack. comp[] doubles as rindex[]: 0 = unvisited, small
 * values are DFS indices of nodes still open, and finished components get ids
 * counting down from n-1, which are never below a live index. A second pass
 * keeps only cyclic components and renumbers them densely in node order. */
int graph_scc(const struct graph *g, uint32_t *comp, uint32_t *ncomp)
{
	uint32_t n = g->n;
	*ncomp = 0;
	if (n == 0)
		return 0;
	/* Stacks are sized for the worst case; untouched pages cost nothing. */
	uint32_t *stack = malloc((size_t)n * sizeof *stack);    /* Pearce's S */
	uint32_t *cs_node = malloc((size_t)n * sizeof *cs_node); /* DFS call stack */
	uint64_t *cs_edge = malloc((size_t)n * sizeof *cs_edge); /* next edge per frame */
	uint8_t *nonroot = calloc(((size_t)n + 7) / 8, 1);      /* bit v: v not a root */
	if (!stack || !cs_node || !cs_edge || !nonroot) {
		free(stack);
		free(cs_node);
		free(cs_edge);
		free(nonroot);
		return -1;
	}
	memset(comp, 0, (size_t)n * sizeof *comp);
	uint32_t index = 1, c = n - 1; /* next DFS index; next component id */
	size_t sp = 0, csp = 0;
	const uint64_t *off = g->off;
	const uint32_t *dst = g->dst;

	for (uint32_t s = 0; s < n; s++) {
		if (comp[s])
			continue;
		comp[s] = index++;
		cs_node[0] = s;
		cs_edge[0] = off[s];
		csp = 1;
		while (csp) {
			uint32_t v = cs_node[csp - 1];
			uint64_t e = cs_edge[csp - 1];
			if (e < off[v + 1]) {
				uint32_t w = dst[e];
				if (comp[w] == 0) {
					/* Descend; the edge is finished on return below. */
					comp[w] = index++;
					cs_node[csp] = w;
					cs_edge[csp] = off[w];
					csp++;
				} else {
					if (comp[w] < comp[v]) {
						comp[v] = comp[w];
						nonroot[v >> 3] |= (uint8_t)(1u << (v & 7));
					}
					cs_edge[csp - 1] = e + 1;
				}
				continue;
			}
			/* v is finished. */
			csp--;
			if (!(nonroot[v >> 3] & (1u << (v & 7)))) {
				index--;
				while (sp && comp[v] <= comp[stack[sp - 1]]) {
					comp[stack[--sp]] = c;
					index--;
				}
				comp[v] = c--;
			} else {
				stack[sp++] = v;
			}
			if (csp) {
				/* Finish the parent's edge parent -> v. */
				uint32_t p = cs_node[csp - 1];
				if (comp[v] < comp[p]) {
					comp[p] = comp[v];
					nonroot[p >> 3] |= (uint8_t)(1u << (p & 7));
				}
				cs_edge[csp - 1]++;
			}
		}
	}
	free(stack);
	free(cs_node);
	free(cs_edge);
	free(nonroot);

	/* Components are c+1 .. n-1. Count members, mark self-loops, renumber. */
	uint32_t total = (n - 1) - c;
	uint32_t base = c + 1;
	uint32_t *map = calloc(total, sizeof *map);
	if (!map)
		return -1;
	for (uint32_t v = 0; v < n; v++)
		if (map[comp[v] - base] < 2)
			map[comp[v] - base]++;
	for (uint32_t v = 0; v < n; v++) {
		if (map[comp[v] - base] != 1)
			continue;
		for (uint64_t e = off[v]; e < off[v + 1]; e++)
			if (dst[e] == v) {
				map[comp[v] - base] = 2;
				break;
			}
	}
	/* map: 1 = acyclic, 2 = cyclic not yet numbered, else 3 + dense id. */
	uint32_t next = 0;
	for (uint32_t v = 0; v < n; v++) {
		uint32_t *slot = &map[comp[v] - base];
		if (*slot == 1) {
			comp[v] = GRAPH_NONE;
		} else {
			if (*slot == 2)
				*slot = 3 + next++;
			comp[v] = *slot - 3;
		}
	}
	free(map);
	*ncomp = next;
	return 0;
}

int graph_reach(const struct graph *g, const uint8_t *is_root, uint8_t *reached)
{
	uint32_t n = g->n;
	if (n == 0)
		return 0;
	memset(reached, 0, n);
	uint32_t *queue = malloc((size_t)n * sizeof *queue);
	if (!queue)
		return -1;
	size_t head = 0, tail = 0;
	for (uint32_t v = 0; v < n; v++)
		if (is_root[v]) {
			reached[v] = 1;
			queue[tail++] = v;
		}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint64_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t w = g->dst[e];
			if (!reached[w]) {
				reached[w] = 1;
				queue[tail++] = w;
			}
		}
	}
	free(queue);
	return 0;
}

int graph_bfs(const struct graph *g, const uint32_t *sources, size_t nsources, const uint8_t *stop,
              uint32_t *parent, uint32_t *dist)
{
	uint32_t n = g->n;
	for (uint32_t v = 0; v < n; v++) {
		parent[v] = GRAPH_NONE;
		dist[v] = UINT32_MAX;
	}
	if (n == 0)
		return 0;
	uint64_t pending = 0; /* stop nodes not reached yet */
	if (stop)
		for (uint32_t v = 0; v < n; v++)
			pending += stop[v] != 0;
	uint32_t *queue = malloc((size_t)n * sizeof *queue);
	if (!queue)
		return -1;
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < nsources; i++) {
		uint32_t s = sources[i];
		if (dist[s] != UINT32_MAX)
			continue;
		dist[s] = 0;
		queue[tail++] = s;
		if (stop && stop[s])
			pending--;
	}
	if (stop && pending == 0)
		goto done;
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint64_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t w = g->dst[e];
			if (dist[w] != UINT32_MAX)
				continue;
			dist[w] = dist[v] + 1;
			parent[w] = v;
			queue[tail++] = w;
			if (stop && stop[w] && --pending == 0)
				goto done;
		}
	}
done:
	free(queue);
	return 0;
}
