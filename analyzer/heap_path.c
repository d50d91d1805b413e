/* heap_path.c — shortest chains from a root to an object (heap_path.h).
 * One bit per object and a queue; no recursion, no SQL during the search. */
#include "heap_path.h"

#include <stdlib.h>
#include <string.h>

void heap_path_release(struct heap_path *p)
{
	free(p->node);
	free(p->edge);
	free(p->next);
	free(p->seen);
	memset(p, 0, sizeof *p);
}

int heap_path_is_start(const struct heap *h, const uint8_t *module_type, uint32_t v)
{
	return (h->flags[v] & HEAP_ROOT) || module_type[h->type[v]];
}

static int add(struct heap_path *b, uint32_t v, int64_t next, uint32_t edge)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		uint32_t *x = realloc(b->node, cap * sizeof *x);
		if (x)
			b->node = x;
		uint32_t *y = realloc(b->edge, cap * sizeof *y);
		if (y)
			b->edge = y;
		int64_t *z = realloc(b->next, cap * sizeof *z);
		if (z)
			b->next = z;
		if (!x || !y || !z)
			return -1;
		b->cap = cap;
	}
	b->node[b->n] = v;
	b->next[b->n] = next;
	b->edge[b->n] = edge;
	b->seen[v >> 3] |= (uint8_t)(1u << (v & 7));
	b->n++;
	return 0;
}

long heap_path_find(const struct heap *h, const uint8_t *module_type, struct heap_path *b,
                    uint32_t target, int weak)
{
	b->seen = calloc(((size_t)h->n + 8) / 8, 1);
	if (!b->seen || add(b, target, -1, 0) < 0)
		return -3;
	if (heap_path_is_start(h, module_type, target))
		return 0;
	for (size_t head = 0; head < b->n; head++) {
		uint32_t v = b->node[head];
		for (uint64_t k = h->roff[v]; k < h->roff[v + 1]; k++) {
			uint32_t s = h->rsrc[k], e = h->redge ? h->redge[k] : (uint32_t)k;
			int is_weak = h->redge ? h->kind[e] == HEAP_REF_WEAK
			                       : (h->rweak[k >> 3] >> (k & 7)) & 1;
			if ((!weak && is_weak) || (b->seen[s >> 3] & (1u << (s & 7))))
				continue;
			if (add(b, s, (int64_t)head, e) < 0)
				return -3;
			if (heap_path_is_start(h, module_type, s))
				return (long)b->n - 1;
		}
	}
	return -1;
}

uint8_t *heap_path_module_types(const struct heap_view *hv)
{
	uint8_t *m = calloc((size_t)hv->h.ntypes + 1, 1);
	if (m)
		for (uint32_t t = 0; t < hv->h.ntypes; t++)
			m[t] = hv->type_name[t] && strcmp(hv->type_name[t], "module") == 0;
	return m;
}

int heap_path_edges(struct heap_view *hv, struct heap_path *p, long start)
{
	if (!hv->lean)
		return 0;
	for (long i = start; p->next[i] >= 0; i = (long)p->next[i]) {
		uint32_t e;
		if (heap_view_rev_edges(hv, p->node[p->next[i]], p->edge[i], 1, &e) < 0)
			return -1;
		p->edge[i] = e;
	}
	return 0;
}
