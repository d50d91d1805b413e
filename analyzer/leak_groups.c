/* leak_groups.c — signature groups along the breadth-first tree from the
 * starts (leak_groups.h). One queue, one open-addressing table of
 * signatures, flat arrays per object and per group; no recursion. */
#include "leak_groups.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_FOLDED 0x9e3779b97f4a7c15ull /* "[*]" */
#define LABEL_START  0x2545f4914f6cdd1dull /* no label: a start */

uint64_t leak_hash_str(const char *s, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		x = (x ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return x;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* An attribute's label word: `.name` and a __dict__'s ['name'] alike. */
static uint64_t attr_word(const struct leak_groups_input *in, uint64_t s)
{
	return mix(0x61747472ull ^ (s < in->h->nstrings ? in->str_hash[s] : s));
}

/* The label word of v's edge in (parent/pedge must be set for v). */
static uint64_t label_word(const struct leak_groups *g, const struct leak_groups_input *in,
                           uint32_t v)
{
	const struct heap *h = in->h;
	uint32_t p = g->parent[v];
	if (p == HEAP_NONE)
		return LABEL_START;
	uint32_t e = g->pedge[v];
	unsigned kind = h->kind[e];
	if (kind == HEAP_REF_ATTR)
		return attr_word(in, heap_label(h, e));
	/* A str key of a __dict__ (an instance's or a module's namespace) is an
	 * attribute; any other key, an index or a pair folds. */
	if (kind == HEAP_REF_KEY && g->parent[p] != HEAP_NONE &&
	    h->kind[g->pedge[p]] == HEAP_REF_ATTR) {
		uint64_t s = heap_label(h, g->pedge[p]);
		if (s < h->nstrings && in->str_hash[s] == in->dict_hash)
			return attr_word(in, heap_label(h, e));
	}
	return LABEL_FOLDED;
}

int leak_groups_label_folded(const struct leak_groups *g, const struct leak_groups_input *in,
                             uint32_t v)
{
	return label_word(g, in, v) == LABEL_FOLDED;
}

struct table {
	uint32_t *slot; /* group id or UINT32_MAX */
	size_t cap;     /* a power of two */
};

static int grow_groups(struct leak_groups *g)
{
	uint32_t cap = g->cap ? 2 * g->cap : 1024;
#define GROW(f)                                                                                    \
	do {                                                                                       \
		void *q = realloc(g->f, (size_t)cap * sizeof *g->f);                               \
		if (!q)                                                                            \
			return -1;                                                                 \
		g->f = q;                                                                          \
	} while (0)
	GROW(sig);
	GROW(bytes);
	GROW(type);
	GROW(count);
	GROW(example);
	GROW(folded);
#undef GROW
	g->cap = cap;
	return 0;
}

static int table_grow(struct table *tb, const struct leak_groups *g)
{
	size_t cap = tb->cap ? 2 * tb->cap : 2048;
	uint32_t *s = malloc(cap * sizeof *s);
	if (!s)
		return -1;
	memset(s, 0xff, cap * sizeof *s);
	for (uint32_t k = 0; k < g->ngroups; k++) {
		size_t i = mix(g->sig[k]) & (cap - 1);
		while (s[i] != UINT32_MAX)
			i = (i + 1) & (cap - 1);
		s[i] = k;
	}
	free(tb->slot);
	tb->slot = s;
	tb->cap = cap;
	return 0;
}

/* The group of signature sig (type ty, example v), made if new. */
static uint32_t group_of(struct leak_groups *g, struct table *tb, uint64_t sig, uint32_t ty,
                         uint32_t v, int folded)
{
	if (2 * (size_t)g->ngroups + 2 > tb->cap && table_grow(tb, g) < 0)
		return HEAP_NONE;
	size_t i = mix(sig) & (tb->cap - 1);
	for (; tb->slot[i] != UINT32_MAX; i = (i + 1) & (tb->cap - 1))
		if (g->sig[tb->slot[i]] == sig)
			return tb->slot[i];
	if (g->ngroups == g->cap && grow_groups(g) < 0)
		return HEAP_NONE;
	uint32_t k = g->ngroups++;
	g->sig[k] = sig;
	g->type[k] = ty;
	g->count[k] = 0;
	g->bytes[k] = 0;
	g->example[k] = v;
	g->folded[k] = (uint8_t)folded;
	tb->slot[i] = k;
	return k;
}

/* for by_start (qsort has no context) */
static const struct leak_groups *sort_groups;
static const struct leak_groups_input *sort_in;

static int by_start(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct heap *h = sort_in->h;
	int mx = sort_in->module_type[h->type[x]] != 0, my = sort_in->module_type[h->type[y]] != 0;
	if (mx != my)
		return mx ? -1 : 1; /* modules first: `module app .CACHE` is where users look */
	uint64_t sx = sort_groups->sig[sort_groups->group[x]],
	         sy = sort_groups->sig[sort_groups->group[y]];
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

int leak_groups_build(struct leak_groups *g, const struct leak_groups_input *in)
{
	const struct heap *h = in->h;
	const struct dom_tree *t = in->t;
	uint32_t n = h->n;
	struct table tb = {NULL, 0};
	g->n = n;
	size_t sz = ((size_t)n + 1) * sizeof(uint32_t);
	g->parent = malloc(sz);
	g->pedge = malloc(sz);
	g->group = malloc(sz);
	g->order = malloc(sz);
	if (!g->parent || !g->pedge || !g->group || !g->order || table_grow(&tb, g) < 0)
		goto oom;
	memset(g->parent, 0xff, sz);
	memset(g->pedge, 0xff, sz);
	memset(g->group, 0xff, sz);
	uint32_t tail = 0;
	for (uint32_t v = 0; v < n; v++) {
		if (!((h->flags[v] & HEAP_ROOT) || in->module_type[h->type[v]]))
			continue;
		uint64_t extra = in->start_hash ? in->start_hash(in->ctx, v) : 0;
		uint64_t sig = mix(mix(LABEL_START ^ in->type_hash[h->type[v]]) ^ extra);
		uint32_t k = group_of(g, &tb, sig, h->type[v], v, 0);
		if (k == HEAP_NONE)
			goto oom;
		g->group[v] = k;
		g->order[tail++] = v;
	}
	/* Modules first, then the other starts, each in the order of their
	 * names, not of the dump: the walk's order
	 * changes between dumps (collector generations), and which of two equal
	 * paths the search takes, hence an object's group, must not. */
	sort_groups = g;
	sort_in = in;
	qsort(g->order, tail, sizeof *g->order, by_start);
	for (uint32_t head = 0; head < tail; head++) {
		uint32_t v = g->order[head];
		uint64_t vword = label_word(g, in, v);
		for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++) {
			uint32_t w = h->dst[e];
			if (w == HEAP_NONE || h->kind[e] == HEAP_REF_WEAK ||
			    g->group[w] != HEAP_NONE)
				continue;
			g->parent[w] = v;
			g->pedge[w] = (uint32_t)e;
			uint64_t word = label_word(g, in, w);
			uint32_t k;
			if (h->type[w] == h->type[v] && g->parent[v] != HEAP_NONE &&
			    word == vword) {
				k = g->group[v]; /* one step repeated: a run */
			} else {
				uint64_t sig = mix(mix(g->sig[g->group[v]] * 0x100000001b3ull ^
				                       in->type_hash[h->type[w]]) ^
				                   word);
				k = group_of(g, &tb, sig, h->type[w], w, word == LABEL_FOLDED);
				if (k == HEAP_NONE)
					goto oom;
			}
			g->group[w] = k;
			g->order[tail++] = w;
		}
	}
	g->nreached = tail;
	for (uint32_t i = 0; i < tail; i++) {
		uint32_t v = g->order[i], nk;
		const uint32_t *kids = dom_children(t, v, &nk);
		uint64_t own = t->retained[v];
		for (uint32_t j = 0; j < nk; j++)
			own -= t->retained[kids[j]];
		g->count[g->group[v]]++;
		g->bytes[g->group[v]] += own;
	}
	g->retained = malloc(((size_t)g->ngroups + 1) * sizeof *g->retained);
	if (!g->retained || dom_group_retained(t, g->group, g->ngroups, g->retained) != 0)
		goto oom;
	free(tb.slot);
	return 0;
oom:
	free(tb.slot);
	return -1;
}

void leak_groups_release(struct leak_groups *g)
{
	free(g->parent);
	free(g->pedge);
	free(g->group);
	free(g->order);
	free(g->sig);
	free(g->bytes);
	free(g->retained);
	free(g->type);
	free(g->count);
	free(g->example);
	free(g->folded);
	memset(g, 0, sizeof *g);
}

struct vec {
	uint32_t *v;
	size_t n, cap;
};

static int vec_push(struct vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		uint32_t *q = realloc(a->v, cap * sizeof *q);
		if (!q)
			return -1;
		a->v = q;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

#define MARKED(m, v) ((m)[(v) >> 3] & (1u << ((v)&7)))
#define MARK(m, v)   ((m)[(v) >> 3] |= (uint8_t)(1u << ((v)&7)))

int leak_groups_members(const struct leak_groups *g, uint32_t **moff, uint32_t **mem)
{
	uint32_t *off = calloc((size_t)g->ngroups + 2, sizeof *off);
	uint32_t *m = malloc(((size_t)g->nreached + 1) * sizeof *m);
	if (!off || !m) {
		free(off);
		free(m);
		return -1;
	}
	for (uint32_t k = 0; k < g->ngroups; k++)
		off[k + 1] = off[k] + g->count[k];
	for (uint32_t v = 0; v < g->n; v++) /* id order; off[k] moves to the end */
		if (g->group[v] != HEAP_NONE)
			m[off[g->group[v]]++] = v;
	for (uint32_t k = g->ngroups; k > 0; k--) /* back to the starts */
		off[k] = off[k - 1];
	off[0] = 0;
	*moff = off;
	*mem = m;
	return 0;
}

int leak_groups_path(const struct leak_groups *g, uint32_t k, const uint32_t *moff,
                     const uint32_t *mem, uint8_t *mark, struct leak_level **out, uint32_t *nout)
{
	struct vec cur = {0}, next = {0}, marked = {0};
	struct leak_level *lv = NULL;
	size_t nlv = 0, cap = 0;
	int rc = -1;
	if (moff) {
		for (uint32_t i = moff[k]; i < moff[k + 1]; i++)
			if (vec_push(&cur, mem[i]) < 0)
				goto out;
	} else {
		for (uint32_t v = 0; v < g->n; v++)
			if (g->group[v] == k && vec_push(&cur, v) < 0)
				goto out;
	}
	uint32_t rep = g->example[k];
	while (cur.n) {
		if (nlv == cap) {
			cap = cap ? 2 * cap : 16;
			struct leak_level *q = realloc(lv, cap * sizeof *q);
			if (!q)
				goto out;
			lv = q;
		}
		uint32_t h = g->group[cur.v[0]];
		lv[nlv++] = (struct leak_level){h, (uint32_t)cur.n, rep};
		next.n = 0;
		for (size_t i = 0; i < cur.n; i++) {
			uint32_t u = g->parent[cur.v[i]];
			/* Up through the run of this step, each object once. */
			while (u != HEAP_NONE && g->group[u] == h && !MARKED(mark, u)) {
				MARK(mark, u);
				if (vec_push(&marked, u) < 0)
					goto out;
				u = g->parent[u];
			}
			if (u == HEAP_NONE || g->group[u] == h || MARKED(mark, u))
				continue;
			MARK(mark, u);
			if (vec_push(&marked, u) < 0 || vec_push(&next, u) < 0)
				goto out;
		}
		struct vec tmp = cur;
		cur = next;
		next = tmp;
		rep = cur.n ? cur.v[0] : HEAP_NONE;
	}
	rc = 0;
out:
	for (size_t i = 0; i < marked.n; i++)
		mark[marked.v[i] >> 3] = 0;
	free(cur.v);
	free(next.v);
	free(marked.v);
	if (rc == 0) {
		*out = lv;
		*nout = (uint32_t)nlv;
	} else {
		free(lv);
	}
	return rc;
}
