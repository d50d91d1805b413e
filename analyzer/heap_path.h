/* heap_path.h — the shortest chain of references from a root (or a module)
 * down to an object, found by a breadth-first search backwards over the
 * heap's referrers; shared by `path` and `top`. The search touches only the
 * heap's arrays; printing a step reads its value through the heap view. */
#ifndef PYMPLE_HEAP_PATH_H
#define PYMPLE_HEAP_PATH_H

#include <stdint.h>
#include <stdio.h>

#include "heap_view.h"

/* BFS state: the queue doubles as the result. Entry i is object node[i],
 * reached from entry next[i] (one step nearer the target; -1 for the
 * target) by its reference edge[i] into that entry's object. seen is a bit
 * per object. */
struct heap_path {
	size_t n, cap;
	uint32_t *node, *edge;
	int64_t *next;
	uint8_t *seen;
};

void heap_path_release(struct heap_path *p);

/* A start of a path: a root, or a module (module_type[type] != 0): modules
 * are where users look for the owner of a leak. */
int heap_path_is_start(const struct heap *h, const uint8_t *module_type, uint32_t v);

/* Finds the nearest start above target (target itself if it is one), in
 * (referrer id, position) order, following weak references only if weak.
 * p must be zero-filled; release it after. Returns the queue index of the
 * start (its chain of next[] leads to the target, entry 0), -1 if no start
 * holds the target, -3 out of memory. */
long heap_path_find(const struct heap *h, const uint8_t *module_type, struct heap_path *p,
                    uint32_t target, int weak);

/* On a lean heap (heap_view.h) heap_path_find leaves in edge[] the
 * referrer entry (no references are held); this turns those on the chain
 * from start into references, as heap_path_find gives them on a full heap
 * (a no-op there). 0, or -1 (printed). */
int heap_path_edges(struct heap_view *hv, struct heap_path *p, long start);

/* module_type for heap_path_find: ntypes + 1 bytes, 1 for the type named
 * module (caller frees). NULL out of memory. */
uint8_t *heap_path_module_types(const struct heap_view *hv);

#endif
