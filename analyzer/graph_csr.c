/* graph_csr.c — CSR construction, reversal and release (graph.h). Must not
 * recurse, touch files or SQLite, or allocate per node. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* Fills g->off/g->dst with a stable counting sort of the edges by source.
 * get(i) yields edge i; written twice (build, reverse) through this macro so
 * the hot loops stay free of indirect calls. */
#define CSR_FILL(g, n_, m_, SRC, DST)                                                              \
	do {                                                                                       \
		for (uint64_t i_ = 0; i_ < (m_); i_++)                                             \
			(g)->off[(uint64_t)(SRC) + 1]++;                                           \
		for (uint32_t v_ = 0; v_ < (n_); v_++)                                             \
			(g)->off[v_ + 1] += (g)->off[v_];                                          \
		/* off[v] is now the start of v; advance it while placing, then shift back. */     \
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
