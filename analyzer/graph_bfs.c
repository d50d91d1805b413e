/* graph_bfs.c — multi-source breadth-first search with parents and
 * distances (graph.h). One queue of n entries; no recursion, files or SQLite. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

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
