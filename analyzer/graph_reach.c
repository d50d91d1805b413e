/* graph_reach.c — reachability from a set of roots, breadth-first (graph.h).
 * One queue of n entries; no recursion, files or SQLite. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

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
