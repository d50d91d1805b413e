/* graph_scc.c — strongly connected components, iterative (graph.h). Must
 * not recurse, touch files or SQLite, or allocate per node: every working
 * array is one allocation sized by n. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* Pearce's space-efficient SCC algorithm ("A space-efficient algorithm for
 * finding strongly connected components", IPL 2016), made iterative with an
 * explicit call stack. comp[] doubles as rindex[]: 0 = unvisited, small
 * values are DFS indices of nodes still open, and finished components get ids
 * counting down from n-1, which are never below a live index. A second pass
 * keeps only cyclic components and renumbers them densely in node order. */
int graph_scc(const struct graph *g, const uint8_t *skip, uint32_t *comp, uint32_t *ncomp)
{
	uint32_t n = g->n;
	*ncomp = 0;
	if (n == 0)
		return 0;
	/* Stacks are sized for the worst case; untouched pages cost nothing. */
	uint32_t *stack = malloc((size_t)n * sizeof *stack);     /* Pearce's S */
	uint32_t *cs_node = malloc((size_t)n * sizeof *cs_node); /* DFS call stack */
	uint64_t *cs_edge = malloc((size_t)n * sizeof *cs_edge); /* next edge per frame */
	uint8_t *nonroot = calloc(((size_t)n + 7) / 8, 1);       /* bit v: v not a root */
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
				if (skip && skip[e]) {
					cs_edge[csp - 1] = e + 1;
					continue;
				}
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
			if ((!skip || !skip[e]) && dst[e] == v) {
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
