/* graph.h — graph algorithms on compact arrays: CSR adjacency, iterative SCC,
 * reachability, BFS. No SQLite, no files, no recursion: these run on tens of
 * millions of nodes and are unit-tested on hand-made graphs. Every function
 * returns 0, or -1 on out-of-memory (and then leaves outputs unspecified). */
#ifndef PYMPLE_GRAPH_H
#define PYMPLE_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_NONE UINT32_MAX

/* Compressed sparse rows: the successors of node v are dst[off[v] .. off[v+1]). */
struct graph {
	uint32_t n;
	uint64_t m;
	uint64_t *off; /* n + 1 entries */
	uint32_t *dst; /* m entries, each < n */
};

/* Builds g from an edge list (src[i] -> dst[i]); edges keep their order per
 * source. Owns its arrays: release with graph_release(). */
int graph_build(struct graph *g, uint32_t n, const uint32_t *src, const uint32_t *dst, uint64_t m);
/* The reversed graph (predecessors), for referrer walks. */
int graph_reverse(const struct graph *g, struct graph *rev);
void graph_release(struct graph *g);

/* Strongly connected components. comp[v] gets a component id for nodes in a
 * cycle (a component of two or more nodes, or a node with a self-edge), and
 * GRAPH_NONE otherwise; ids are dense from 0, *ncomp gets their count.
 * skip (m entries, or NULL): edges e with skip[e] != 0 are not there (their
 * dst is not read, so it may be out of range). */
int graph_scc(const struct graph *g, const uint8_t *skip, uint32_t *comp, uint32_t *ncomp);

/* reached[v] = 1 for every node reachable from a node with is_root[v] != 0
 * (roots included), 0 otherwise. */
int graph_reach(const struct graph *g, const uint8_t *is_root, uint8_t *reached);

/* Breadth-first search from all sources at once; parent[v] gets the node it
 * was first reached from (GRAPH_NONE for sources and unreached nodes), and
 * dist[v] its distance (UINT32_MAX if unreached). Stops early once every
 * node with stop[v] != 0 is reached, when stop is not NULL. */
int graph_bfs(const struct graph *g, const uint32_t *sources, size_t nsources, const uint8_t *stop,
              uint32_t *parent, uint32_t *dist);

#endif
