/* heap.c — the heap model's own operations (heap.h): release, labels, the
 * reverse CSR, the strong graph for graph_*.c, roots/reachability/cycles and
 * the invariant check a heap read from disk must pass. No SQLite, no files,
 * no recursion; every working array is one allocation sized by n or m. */
#include "heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void heap_init(struct heap *h)
{
	memset(h, 0, sizeof *h);
}

void heap_release(struct heap *h)
{
	free(h->addr);
	free(h->type);
	free(h->flags);
	free(h->scc);
	free(h->off);
	free(h->dst);
	free(h->kind);
	free(h->label);
	free(h->wide);
	free(h->missing);
	free(h->roff);
	free(h->rsrc);
	free(h->redge);
	free(h->rweak);
	heap_init(h);
}

uint64_t heap_label(const struct heap *h, uint64_t e)
{
	uint32_t l = h->label[e];
	if (l != HEAP_LABEL_WIDE)
		return l;
	size_t lo = 0, hi = (size_t)h->nwide;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->wide[mid].edge < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nwide && h->wide[lo].edge == e ? h->wide[lo].value : l;
}

uint32_t heap_edge_src(const struct heap *h, uint64_t e)
{
	/* the last v with off[v] <= e (objects without references share offsets) */
	uint32_t lo = 0, hi = h->n;
	while (lo + 1 < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h->off[mid] <= e)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int heap_reverse(struct heap *h)
{
	if (h->roff)
		return 0;
	uint32_t n = h->n;
	uint64_t *roff = calloc((size_t)n + 2, sizeof *roff);
	uint64_t in = 0;
	if (!roff)
		return -1;
	for (uint64_t e = 0; e < h->m; e++)
		if (h->dst[e] != HEAP_NONE) {
			roff[(uint64_t)h->dst[e] + 2]++;
			in++;
		}
	uint32_t *rsrc = malloc(((size_t)in + 1) * sizeof *rsrc);
	uint32_t *redge = malloc(((size_t)in + 1) * sizeof *redge);
	if (!rsrc || !redge) {
		free(roff);
		free(rsrc);
		free(redge);
		return -1;
	}
	for (uint32_t v = 0; v < n; v++)
		roff[v + 2] += roff[v + 1];
	/* a stable counting sort: sources in id order, edges in dump order */
	for (uint32_t v = 0; v < n; v++)
		for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++) {
			uint32_t t = h->dst[e];
			if (t == HEAP_NONE)
				continue;
			uint64_t k = roff[(uint64_t)t + 1]++;
			rsrc[k] = v;
			redge[k] = (uint32_t)e;
		}
	h->roff = roff; /* roff[v] .. roff[v + 1] now holds v's referrers */
	h->rsrc = rsrc;
	h->redge = redge;
	return 0;
}

int heap_strong_graph(const struct heap *h, int no_types, struct graph *g)
{
	uint64_t k = 0;
	g->n = h->n;
	g->off = malloc(((size_t)h->n + 1) * sizeof *g->off);
	g->dst = NULL;
	if (!g->off)
		return -1;
	for (int fill = 0; fill < 2; fill++) {
		k = 0;
		for (uint32_t v = 0; v < h->n; v++) {
			g->off[v] = k;
			for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++) {
				uint32_t t = h->dst[e];
				if (t == HEAP_NONE || h->kind[e] == HEAP_REF_WEAK ||
				    (no_types && (h->flags[t] & HEAP_TYPEOBJ)))
					continue;
				if (fill)
					g->dst[k] = t;
				k++;
			}
		}
		g->off[h->n] = k;
		if (!fill) {
			g->dst = malloc((k ? (size_t)k : 1) * sizeof *g->dst);
			if (!g->dst) {
				graph_release(g);
				return -1;
			}
		}
	}
	g->m = k;
	return 0;
}

int heap_analyze(struct heap *h, const uint32_t *refcount)
{
	uint32_t n = h->n;
	struct graph g = {0};
	uint32_t *indeg = calloc((size_t)n + 1, sizeof *indeg);
	uint8_t *is_root = malloc((size_t)n + 1), *reached = malloc((size_t)n + 1), *skip = NULL;
	int rc = -1;
	if (!indeg || !is_root || !reached)
		goto out;
	if (!h->scc && !(h->scc = malloc(((size_t)n + 1) * sizeof *h->scc)))
		goto out;
	for (uint64_t e = 0; e < h->m; e++) {
		uint32_t t = h->dst[e];
		if (t != HEAP_NONE && h->kind[e] != HEAP_REF_WEAK && indeg[t] < UINT32_MAX)
			indeg[t]++;
	}
	for (uint32_t v = 0; v < n; v++) {
		uint8_t f = h->flags[v] & (uint8_t) ~(HEAP_ROOT | HEAP_REACHED);
		if ((f & (HEAP_SYNTHETIC | HEAP_NAMED)) || refcount[v] > indeg[v])
			f |= HEAP_ROOT;
		h->flags[v] = f;
		is_root[v] = (f & HEAP_ROOT) != 0;
	}
	free(indeg);
	indeg = NULL;
	/* Reachability on the heap's own arrays (no strong copy): breadth-first
	 * from the roots, over references that are neither weak nor missing. */
	uint32_t *queue = malloc(((size_t)n + 1) * sizeof *queue);
	if (!queue)
		goto out;
	size_t head = 0, tail = 0;
	for (uint32_t v = 0; v < n; v++) {
		reached[v] = is_root[v];
		if (is_root[v])
			queue[tail++] = v;
	}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++) {
			uint32_t t = h->dst[e];
			if (t != HEAP_NONE && !reached[t] && h->kind[e] != HEAP_REF_WEAK) {
				reached[t] = 1;
				queue[tail++] = t;
			}
		}
	}
	free(queue);
	for (uint32_t v = 0; v < n; v++)
		if (reached[v])
			h->flags[v] |= HEAP_REACHED;
	/* The cycle rule (schema.sql, object_data.scc): references INTO classes
	 * are structural (every instance holds its class) and do not count.
	 * On the heap's own arrays with a mask (a byte per reference), not on a
	 * strong copy. */
	skip = malloc((size_t)h->m + 1);
	if (!skip)
		goto out;
	for (uint64_t e = 0; e < h->m; e++) {
		uint32_t t = h->dst[e];
		skip[e] = t == HEAP_NONE || h->kind[e] == HEAP_REF_WEAK ||
		          (h->flags[t] & HEAP_TYPEOBJ);
	}
	g.n = n;
	g.m = h->m;
	g.off = h->off;
	g.dst = h->dst;
	rc = graph_scc(&g, skip, h->scc, &h->ncycles) < 0 ? -1 : 0;
	g.off = NULL; /* the heap's */
	g.dst = NULL;
	if (rc < 0)
		goto out;
	rc = 0;
out:
	graph_release(&g);
	free(indeg);
	free(is_root);
	free(reached);
	free(skip);
	return rc;
}

#define WHY(...) (snprintf(why, n, __VA_ARGS__), -1)

int heap_check(const struct heap *h, char *why, size_t n)
{
	uint64_t missing = 0;
	if (h->n > HEAP_MAX_OBJECTS || h->m > HEAP_MAX_REFS)
		return WHY("%u objects, %llu references: too many", h->n, (unsigned long long)h->m);
	if (h->off[0] != 0 || h->off[h->n] != h->m)
		return WHY("reference offsets do not span the references");
	for (uint32_t v = 0; v < h->n; v++) {
		if (h->off[v + 1] < h->off[v])
			return WHY("reference offsets of object %u decrease", v);
		if (h->type[v] >= h->ntypes)
			return WHY("object %u has type %u of %u", v, h->type[v], h->ntypes);
		if (h->flags[v] & ~HEAP_FLAGS_KNOWN)
			return WHY("object %u has unknown flags 0x%x", v, h->flags[v]);
		if (h->scc[v] != HEAP_NONE && h->scc[v] >= h->ncycles)
			return WHY("object %u is in cycle %u of %u", v, h->scc[v], h->ncycles);
	}
	for (uint64_t e = 0; e < h->m; e++) {
		if (h->dst[e] == HEAP_NONE)
			missing++;
		else if (h->dst[e] >= h->n)
			return WHY("reference %llu targets object %u of %u", (unsigned long long)e,
			           h->dst[e], h->n);
		if (h->kind[e] > HEAP_REF_WEAK)
			return WHY("reference %llu has unknown kind %u", (unsigned long long)e,
			           h->kind[e]);
		if ((h->kind[e] == HEAP_REF_KEY || h->kind[e] == HEAP_REF_ATTR) &&
		    heap_label(h, e) >= h->nstrings)
			return WHY("reference %llu names string %llu of %u", (unsigned long long)e,
			           (unsigned long long)heap_label(h, e), h->nstrings);
	}
	if (missing != h->nmissing)
		return WHY("%llu references to addresses not in the dump, %llu addresses",
		           (unsigned long long)missing, (unsigned long long)h->nmissing);
	for (uint64_t i = 0; i < h->nwide; i++)
		if (h->wide[i].edge >= h->m || (i && h->wide[i].edge <= h->wide[i - 1].edge) ||
		    h->label[h->wide[i].edge] != HEAP_LABEL_WIDE)
			return WHY("wide label %llu out of place", (unsigned long long)i);
	return 0;
}
