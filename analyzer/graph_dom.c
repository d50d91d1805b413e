/* graph_dom.c — Lengauer–Tarjan dominators under two virtual roots, retained
 * sizes, dominator-tree children and accumulation points (contracts in
 * graph_dom.h). Must not recurse, touch files or SQLite, or allocate per
 * node: every working array is one allocation sized by n or m. */
#include "graph_dom.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

#define BIT_GET(b, i) (((b)[(i) >> 3] >> ((i)&7)) & 1u)
#define BIT_SET(b, i) ((b)[(i) >> 3] |= (uint8_t)(1u << ((i)&7)))

/* One preorder slot of Lengauer–Tarjan. The fields eval() reads together
 * share a cache line: on big graphs every step is a cache miss, and one miss
 * per slot instead of one per array is most of the speed. */
struct slot {
	uint32_t anc;   /* DFS parent, then the path-compressed forest link */
	uint32_t label; /* the node of minimal semi-dominator on that path */
	uint32_t lsemi; /* semi-dominator of label (of the slot itself at first) */
	uint32_t dom;   /* bucket head/link, then the (relative) dominator */
};

/* Working state of dom_idom(). Everything but pre[] is indexed by DFS
 * preorder number: slot 0 is DOM_SUPER, then the nodes of R, then slot gstart
 * for DOM_GARBAGE, then the nodes of U; N = n + 2 slots in all. */
struct lt {
	const struct graph *g;
	const uint8_t *skip;
	uint32_t n, N, next, gstart;
	uint32_t *pre;    /* node -> preorder (the caller's idom array, reused) */
	uint32_t *vertex; /* preorder -> node (NONE for the virtual roots); its
	                   * U part is Pearce's stack before the garbage DFS */
	struct slot *sl;
	uint8_t *rel;    /* slot bit: dom holds a relative dominator */
	uint32_t *stk;   /* DFS call stack (nodes) */
	uint64_t *cur;   /* DFS call stack (next edge) */
	uint8_t *srcbit; /* node bit: a virtual root's child as a source member */
	uint8_t *bits;   /* scratch bitsets for Pearce (2n + 1 bits) */
};

/* Depth-first search from start (not yet visited) whose tree parent is slot
 * parent; numbers nodes in preorder. Only nodes with pre[] == NONE are
 * entered. */
static void dfs(struct lt *s, uint32_t start, uint32_t parent)
{
	const uint64_t *off = s->g->off;
	const uint32_t *dst = s->g->dst;
	const uint8_t *skip = s->skip;
	uint32_t *pre = s->pre, *vertex = s->vertex, *stk = s->stk;
	struct slot *sl = s->sl;
	uint64_t *cur = s->cur;
	uint32_t next = s->next;
	size_t sp = 0;

	pre[start] = next;
	vertex[next] = start;
	sl[next].anc = parent;
	next++;
	stk[0] = start;
	cur[0] = off[start];
	sp = 1;
	while (sp) {
		uint32_t v = stk[sp - 1];
		uint64_t e = cur[sp - 1], end = off[v + 1];
		uint32_t w = NONE;
		for (; e < end; e++) {
			if (skip && skip[e])
				continue;
			if (pre[dst[e]] == NONE) {
				w = dst[e];
				break;
			}
		}
		if (w == NONE) {
			sp--;
			continue;
		}
		cur[sp - 1] = e + 1;
		pre[w] = next;
		vertex[next] = w;
		sl[next].anc = pre[v];
		next++;
		stk[sp] = w;
		cur[sp] = off[w];
		sp++;
	}
	s->next = next;
}

/* Marks in srcbit the members of the source components of the subgraph
 * induced by the unvisited nodes (pre[] == NONE; with live, only those with
 * live[v] != 0). Pearce's algorithm as in graph_scc(), on pre[] itself:
 * nodes outside the subgraph are set to OUT ("never enter"), the others to 0.
 * A component gets marked "not a source" when an edge enters it from a node
 * of another component: a tree edge whose child closes a component, or an
 * edge to a node of an already closed component (an open node is in the
 * current component). Pearce's stack is the free tail of vertex[]; bits holds
 * nonroot (n bits) then notsrc (n + 1 bits, by component id). */
static void source_components(struct lt *s, const uint8_t *live)
{
	const uint64_t *off = s->g->off;
	const uint32_t *dst = s->g->dst;
	const uint8_t *skip = s->skip;
	uint32_t n = s->n, *rindex = s->pre, *S = s->vertex + s->next, *stk = s->stk;
	uint64_t *cur = s->cur;
	uint8_t *nonroot = s->bits, *notsrc = s->bits + ((size_t)n + 7) / 8;
	const uint32_t OUT = NONE - 1;
	/* Closed components get ids counting down from n: with k nodes closed,
	 * at most n - k are open and their indices stay <= n - k = c, so
	 * "rindex > c" tells closed from open. */
	uint32_t index = 1, c = n;
	size_t sp = 0, csp = 0;

	for (uint32_t v = 0; v < n; v++)
		rindex[v] = rindex[v] == NONE && (!live || live[v]) ? 0 : OUT;
	for (uint32_t r = 0; r < n; r++) {
		if (rindex[r] != 0)
			continue;
		rindex[r] = index++;
		stk[0] = r;
		cur[0] = off[r];
		csp = 1;
		while (csp) {
			uint32_t v = stk[csp - 1];
			uint64_t e = cur[csp - 1];
			if (e < off[v + 1]) {
				uint32_t w = dst[e];
				if ((skip && skip[e]) || rindex[w] == OUT) {
					cur[csp - 1] = e + 1;
				} else if (rindex[w] == 0) {
					rindex[w] = index++;
					stk[csp] = w;
					cur[csp] = off[w];
					csp++;
				} else {
					if (rindex[w] > c)
						BIT_SET(notsrc,
						        rindex[w]); /* closed: another component */
					else if (rindex[w] < rindex[v]) {
						rindex[v] = rindex[w];
						BIT_SET(nonroot, v);
					}
					cur[csp - 1] = e + 1;
				}
				continue;
			}
			csp--;
			if (!BIT_GET(nonroot, v)) {
				index--;
				while (sp && rindex[v] <= rindex[S[sp - 1]]) {
					rindex[S[--sp]] = c;
					index--;
				}
				rindex[v] = c--;
			} else {
				S[sp++] = v;
			}
			if (csp) {
				uint32_t p = stk[csp - 1];
				if (rindex[v] > c)
					BIT_SET(notsrc, rindex[v]); /* v closed its component */
				else if (rindex[v] < rindex[p]) {
					rindex[p] = rindex[v];
					BIT_SET(nonroot, p);
				}
				cur[csp - 1]++;
			}
		}
	}
	for (uint32_t v = 0; v < n; v++)
		if (rindex[v] != OUT && !BIT_GET(notsrc, rindex[v]))
			BIT_SET(s->srcbit, v);
}

/* EVAL of Lengauer–Tarjan for a linked slot v: returns the minimal
 * semi-dominator on the forest path from v up to (not including) its unlinked
 * root, and in *label a node that has it. Slots >= lo are linked: linking
 * happens in decreasing preorder, so no flag is needed, and anc holds the DFS
 * parent until a slot is linked. Invariant: sl[x].label/lsemi is the minimum
 * over the tree path from x up to (not including) sl[x].anc. The walk
 * compresses by path halving (Tarjan and van Leeuwen): every visited slot is
 * pointed at its grandparent, folding in the grandparent's label, which keeps
 * the invariant; one pass, no stack, the same amortized bound as full
 * compression. */
static inline uint32_t eval(struct slot *sl, uint32_t v, uint32_t lo, uint32_t *label)
{
	uint32_t best = NONE, bl = v, x = v;
	for (;;) {
		uint32_t a = sl[x].anc;
		if (a < lo || a == NONE)
			break;
		uint32_t aa = sl[a].anc;
		if (aa < lo || aa == NONE) {
			if (sl[x].lsemi < best) {
				best = sl[x].lsemi;
				bl = sl[x].label;
			}
			x = a;
			break;
		}
		if (sl[a].lsemi < sl[x].lsemi) {
			sl[x].label = sl[a].label;
			sl[x].lsemi = sl[a].lsemi;
		}
		sl[x].anc = aa;
		if (sl[x].lsemi < best) {
			best = sl[x].lsemi;
			bl = sl[x].label;
		}
		x = aa;
	}
	if (sl[x].lsemi < best) {
		best = sl[x].lsemi;
		bl = sl[x].label;
	}
	*label = bl;
	return best;
}

/* Gives virtual root slot `root` an edge to every member of the source
 * components of the unvisited part (restricted to live nodes when live is
 * not NULL) and numbers what they reach. */
static int attach_sources(struct lt *s, const uint8_t *live, uint32_t root)
{
	uint32_t n = s->n;
	s->bits = calloc(((size_t)n + 7) / 8 + (size_t)n / 8 + 1, 1);
	if (!s->bits)
		return -1;
	source_components(s, live);
	free(s->bits);
	s->bits = NULL;
	/* Restore pre[]: NONE when unvisited, else the preorder number. */
	for (uint32_t v = 0; v < n; v++)
		s->pre[v] = NONE;
	for (uint32_t i = 1; i < s->next; i++)
		if (s->vertex[i] != NONE)
			s->pre[s->vertex[i]] = i;
	for (uint32_t v = 0; v < n; v++)
		if (BIT_GET(s->srcbit, v) && s->pre[v] == NONE)
			dfs(s, v, root);
	return 0;
}

static void lt_free(struct lt *s)
{
	free(s->vertex);
	free(s->sl);
	free(s->rel);
	free(s->stk);
	free(s->cur);
	free(s->srcbit);
	free(s->bits);
}

int dom_idom(const struct dom_input *in, uint32_t *idom)
{
	const struct graph *g = in->g, *rev = in->rev;
	const uint8_t *skip = in->skip, *rev_skip = in->rev_skip, *is_root = in->is_root;
	uint32_t n = g->n;
	if (n > DOM_GARBAGE || (!rev && g->m >= UINT32_MAX))
		return -2;
	if (n == 0)
		return 0;
	struct lt s = {.g = g, .skip = skip, .n = n, .N = n + 2, .pre = idom};
	size_t N = (size_t)n + 2, nb = ((size_t)n + 7) / 8;
	uint32_t *poff = NULL; /* predecessors are at most g->m < 2^32 (checked) */
	uint32_t *plist = NULL;
	s.vertex = malloc(N * sizeof *s.vertex);
	s.sl = malloc(N * sizeof *s.sl);
	s.stk = malloc(N * sizeof *s.stk);
	s.cur = malloc(N * sizeof *s.cur);
	s.srcbit = calloc(nb, 1);
	if (!s.vertex || !s.sl || !s.stk || !s.cur || !s.srcbit)
		goto oom;

	/* The super-root's tree: DFS from each root in id order, then from the
	 * live nodes only skipped edges lead to. */
	for (uint32_t v = 0; v < n; v++)
		idom[v] = NONE;
	s.vertex[0] = NONE;
	s.sl[0].anc = NONE;
	s.next = 1;
	for (uint32_t v = 0; v < n; v++)
		if (in->is_root[v] && s.pre[v] == NONE)
			dfs(&s, v, 0);
	if (in->live && s.next - 1 < n && attach_sources(&s, in->live, 0) < 0)
		goto oom;
	s.gstart = s.next;

	/* The garbage root's tree: the rest. */
	s.vertex[s.gstart] = NONE;
	s.sl[s.gstart].anc = NONE;
	s.next++;
	if (s.gstart - 1 < n && attach_sources(&s, NULL, s.gstart) < 0)
		goto oom;
	free(s.cur);
	free(s.stk);
	s.stk = NULL;
	s.cur = NULL;
	uint32_t gstart = s.gstart, *pre = s.pre, *vertex = s.vertex;

	/* Predecessors in preorder space, when the caller has none: only edges
	 * within one tree (an edge from U into R is ignored). */
	if (!rev) {
		poff = calloc(N + 1, sizeof *poff);
		if (!poff)
			goto oom;
		for (uint32_t u = 0; u < n; u++)
			for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++)
				if (!(skip && skip[e]) &&
				    (pre[u] >= gstart || pre[g->dst[e]] < gstart))
					poff[pre[g->dst[e]] + 1]++;
		for (size_t i = 0; i < N; i++)
			poff[i + 1] += poff[i];
		plist = malloc((poff[N] ? poff[N] : 1) * sizeof *plist);
		if (!plist)
			goto oom;
		for (uint32_t u = 0; u < n; u++)
			for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++)
				if (!(skip && skip[e]) &&
				    (pre[u] >= gstart || pre[g->dst[e]] < gstart))
					plist[poff[pre[g->dst[e]]]++] = pre[u];
		for (size_t i = N; i > 0; i--)
			poff[i] = poff[i - 1];
		poff[0] = 0;
	}

	s.rel = calloc(N / 8 + 1, 1);
	if (!s.rel)
		goto oom;
	struct slot *sl = s.sl;
	for (uint32_t i = 0; i < s.N; i++) {
		sl[i].label = i;
		sl[i].lsemi = i;
		sl[i].dom = NONE;
	}

	/* Semi-dominators in decreasing preorder. dom of an unprocessed slot p
	 * heads the bucket of the slots whose semi-dominator is p; a slot
	 * waiting in a bucket keeps the link to the next one in its own dom (its
	 * own bucket is empty by then: everything it could head is a descendant,
	 * processed earlier and flushed when its children were linked). */
	for (uint32_t w = s.N - 1; w > 0; w--) {
		if (w == gstart)
			continue;
		uint32_t p = sl[w].anc, sd = p, u;
		uint32_t x = vertex[w];
		/* The virtual roots' edges are not stored: they are implied. A
		 * predecessor v <= w is unlinked and still has semi v. */
		if ((w < gstart && is_root[x]) || BIT_GET(s.srcbit, x))
			sd = w < gstart ? 0 : gstart;
		if (!rev) {
			for (uint32_t q = poff[w]; q < poff[w + 1]; q++) {
				uint32_t v = plist[q];
				if (v > w)
					v = eval(sl, v, w + 1, &u);
				if (v < sd)
					sd = v;
			}
		} else {
			for (uint64_t q = rev->off[x]; q < rev->off[x + 1]; q++) {
				if (rev_skip && rev_skip[q])
					continue;
				uint32_t v = pre[rev->dst[q]];
				if (v == NONE || (v >= gstart) != (w >= gstart))
					continue;
				if (v > w)
					v = eval(sl, v, w + 1, &u);
				if (v < sd)
					sd = v;
			}
		}
		sl[w].lsemi = sd;
		sl[w].dom = sl[sd].dom;
		sl[sd].dom = w;
		/* Link p -> w (w is now >= lo), then flush p's bucket: every slot
		 * v in it has semi-dominator p. */
		for (uint32_t v = sl[p].dom; v != NONE;) {
			uint32_t nx = sl[v].dom;
			if (eval(sl, v, w, &u) < p) {
				sl[v].dom = u;
				BIT_SET(s.rel, v);
			} else {
				sl[v].dom = p;
			}
			v = nx;
		}
		sl[p].dom = NONE;
	}
	/* Finish in preorder: a relative dominator shares its immediate
	 * dominator with w. */
	for (uint32_t w = 1; w < s.N; w++) {
		if (w == gstart)
			continue;
		uint32_t d = sl[w].dom;
		if (BIT_GET(s.rel, w) && d < s.N)
			d = sl[d].dom;
		/* Only an inconsistent rev gets here: stay in bounds. */
		if (d >= w)
			d = w < gstart ? 0 : gstart;
		sl[w].dom = d;
	}
	for (uint32_t w = 1; w < s.N; w++) {
		if (w == gstart)
			continue;
		uint32_t d = sl[w].dom;
		idom[vertex[w]] = d == 0 ? DOM_SUPER : d == gstart ? DOM_GARBAGE : vertex[d];
	}
	free(poff);
	free(plist);
	lt_free(&s);
	return 0;
oom:
	free(poff);
	free(plist);
	lt_free(&s);
	return -1;
}

void dom_tree_release(struct dom_tree *t)
{
	free(t->idom);
	free(t->retained);
	free(t->kid_off);
	free(t->kids);
	memset(t, 0, sizeof *t);
}

/* Orders children: retained descending, then node id ascending. */
static int kid_cmp(const void *a, const void *b, void *ctx)
{
	const uint64_t *ret = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (ret[x] != ret[y])
		return ret[x] > ret[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Sorts k (node ids in ascending order) by ret descending, ties staying in
 * id order: an LSD radix sort on 16-bit digits, stable, skipping the digits
 * every key shares. qsort on a list of millions (the super-root's children
 * can be most of the heap) pays a cache miss per comparison; this pays two
 * per element per digit. tmp has cnt entries, hist 4 x 65536. */
static void sort_kids_radix(uint32_t *k, uint32_t cnt, const uint64_t *ret, uint32_t *tmp,
                            uint32_t *hist)
{
	memset(hist, 0, 4 * 65536 * sizeof *hist);
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t r = ~ret[k[i]]; /* descending */
		for (int d = 0; d < 4; d++)
			hist[d * 65536 + ((r >> (16 * d)) & 0xFFFF)]++;
	}
	uint32_t *a = k, *b = tmp;
	for (int d = 0; d < 4; d++) {
		uint32_t *h = hist + d * 65536, sum = 0;
		if (h[(~ret[k[0]] >> (16 * d)) & 0xFFFF] == cnt)
			continue; /* one digit value for all: nothing to do */
		for (uint32_t x = 0; x < 65536; x++) {
			uint32_t c = h[x];
			h[x] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < cnt; i++)
			b[h[(~ret[a[i]] >> (16 * d)) & 0xFFFF]++] = a[i];
		uint32_t *sw = a;
		a = b;
		b = sw;
	}
	if (a != k)
		memcpy(k, a, (size_t)cnt * sizeof *k);
}

static inline int kid_before(const uint64_t *ret, uint32_t x, uint32_t y)
{
	return ret[x] != ret[y] ? ret[x] > ret[y] : x < y;
}

static int tree_from_idom(struct dom_tree *t, uint32_t n, const uint32_t *idom, const uint64_t *own,
                          int sort)
{
	memset(t, 0, sizeof *t);
	if (n > DOM_GARBAGE)
		return -2;
	t->n = n;
	size_t S = (size_t)n + 2; /* parent slots */
	t->idom = malloc((n ? n : 1) * sizeof *t->idom);
	t->retained = malloc((n ? n : 1) * sizeof *t->retained);
	t->kid_off = calloc(S + 1, sizeof *t->kid_off);
	t->kids = malloc((n ? n : 1) * sizeof *t->kids);
	uint32_t *order = NULL;
	if (!t->idom || !t->retained || !t->kid_off || !t->kids)
		goto oom;
	memcpy(t->idom, idom, (size_t)n * sizeof *idom);

	/* Children CSR by counting sort on the parent slot. */
	for (uint32_t v = 0; v < n; v++) {
		uint32_t sl = dom_slot(t, idom[v]);
		if (sl >= S || sl == v) {
			dom_tree_release(t);
			return -2;
		}
		t->kid_off[sl + 1]++;
	}
	for (size_t i = 0; i < S; i++)
		t->kid_off[i + 1] += t->kid_off[i];
	for (uint32_t v = 0; v < n; v++)
		t->kids[t->kid_off[dom_slot(t, idom[v])]++] = v;
	for (size_t i = S; i > 0; i--)
		t->kid_off[i] = t->kid_off[i - 1];
	t->kid_off[0] = 0;

	/* Top-down breadth-first order from the two virtual roots; a node never
	 * reached sits on a cycle of idom[]. */
	order = malloc((n ? n : 1) * sizeof *order);
	if (!order)
		goto oom;
	size_t tail = 0;
	for (uint32_t i = t->kid_off[n]; i < t->kid_off[n + 2]; i++)
		order[tail++] = t->kids[i];
	for (size_t head = 0; head < tail; head++) {
		uint32_t v = order[head];
		for (uint32_t i = t->kid_off[v]; i < t->kid_off[v + 1]; i++)
			order[tail++] = t->kids[i];
	}
	if (tail != n) {
		free(order);
		dom_tree_release(t);
		return -2;
	}

	/* Retained sizes bottom-up: reverse breadth-first order visits every
	 * child before its parent. */
	for (uint32_t v = 0; v < n; v++)
		t->retained[v] = own[v];
	for (size_t i = n; i > 0; i--) {
		uint32_t v = order[i - 1], d = idom[v];
		if (d < n)
			t->retained[d] += t->retained[v];
		else if (d == DOM_SUPER)
			t->super_total += t->retained[v];
		else
			t->garbage_total += t->retained[v];
	}

	/* Children largest first: most lists are short, so insertion sort,
	 * qsort_r (glibc) for longer ones, radix for the longest (order[] is
	 * free now and big enough to be its scratch). */
	uint32_t *hist = NULL;
	for (size_t sl = 0; sort && sl < S; sl++) {
		uint32_t *k = t->kids + t->kid_off[sl];
		uint32_t cnt = t->kid_off[sl + 1] - t->kid_off[sl];
		if (cnt > 4096) {
			if (!hist && !(hist = malloc(4 * 65536 * sizeof *hist)))
				goto oom;
			sort_kids_radix(k, cnt, t->retained, order, hist);
			continue;
		}
		if (cnt > 16) {
			qsort_r(k, cnt, sizeof *k, kid_cmp, t->retained);
			continue;
		}
		for (uint32_t i = 1; i < cnt; i++) {
			uint32_t x = k[i], j = i;
			for (; j > 0 && kid_before(t->retained, x, k[j - 1]); j--)
				k[j] = k[j - 1];
			k[j] = x;
		}
	}
	free(hist);
	free(order);
	return 0;
oom:
	free(order);
	dom_tree_release(t);
	return -1;
}

int dom_tree_from_idom(struct dom_tree *t, uint32_t n, const uint32_t *idom, const uint64_t *own)
{
	return tree_from_idom(t, n, idom, own, 1);
}

int dom_tree_from_idom_unsorted(struct dom_tree *t, uint32_t n, const uint32_t *idom,
                                const uint64_t *own)
{
	return tree_from_idom(t, n, idom, own, 0);
}

int dom_tree_build(struct dom_tree *t, const struct dom_input *in, const uint64_t *own)
{
	memset(t, 0, sizeof *t);
	uint32_t n = in->g->n;
	uint32_t *idom = malloc((n ? n : 1) * sizeof *idom);
	if (!idom)
		return -1;
	int rc = dom_idom(in, idom);
	if (rc == 0)
		rc = dom_tree_from_idom(t, n, idom, own);
	free(idom);
	return rc;
}

const uint32_t *dom_children(const struct dom_tree *t, uint32_t parent, uint32_t *count)
{
	uint32_t sl = dom_slot(t, parent);
	if (sl >= t->n + 2) {
		*count = 0;
		return t->kids;
	}
	*count = t->kid_off[sl + 1] - t->kid_off[sl];
	return t->kids + t->kid_off[sl];
}

/* Accumulation points, best-first. A pool entry is either a cursor (the
 * children of slot `a` from index `b` on, keyed by the retained size of child
 * b, an upper bound for every point found below those children) or a resolved
 * point (node a, b == NONE, keyed by its retained size). The pool is a binary
 * max-heap; on equal keys cursors come first, so when a point is popped no
 * entry left can still yield a larger one or an equal one with a smaller id. */
struct pool_entry {
	uint64_t key;
	uint32_t a, b;
};

static int pool_above(const struct dom_tree *t, const struct pool_entry *x,
                      const struct pool_entry *y)
{
	if (x->key != y->key)
		return x->key > y->key;
	int xp = x->b == NONE, yp = y->b == NONE;
	if (xp != yp)
		return yp; /* the cursor first */
	uint32_t xn = xp ? x->a : t->kids[t->kid_off[x->a] + x->b];
	uint32_t yn = yp ? y->a : t->kids[t->kid_off[y->a] + y->b];
	return xn < yn;
}

struct pool {
	struct pool_entry *e;
	size_t len, cap;
};

static int pool_push(const struct dom_tree *t, struct pool *p, struct pool_entry x)
{
	if (p->len == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct pool_entry *e = realloc(p->e, cap * sizeof *e);
		if (!e)
			return -1;
		p->e = e;
		p->cap = cap;
	}
	size_t i = p->len++;
	while (i > 0 && pool_above(t, &x, &p->e[(i - 1) / 2])) {
		p->e[i] = p->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	p->e[i] = x;
	return 0;
}

static struct pool_entry pool_pop(const struct dom_tree *t, struct pool *p)
{
	struct pool_entry top = p->e[0], x = p->e[--p->len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= p->len)
			break;
		if (c + 1 < p->len && pool_above(t, &p->e[c + 1], &p->e[c]))
			c++;
		if (!pool_above(t, &p->e[c], &x))
			break;
		p->e[i] = p->e[c];
		i = c;
	}
	if (p->len)
		p->e[i] = x;
	return top;
}

/* A cursor over the children of slot sl from index i, if there are any. */
static int push_cursor(const struct dom_tree *t, struct pool *p, uint32_t sl, uint32_t i)
{
	if (t->kid_off[sl] + i >= t->kid_off[sl + 1])
		return 0;
	struct pool_entry x = {t->retained[t->kids[t->kid_off[sl] + i]], sl, i};
	return pool_push(t, p, x);
}

int dom_accumulation_points(const struct dom_tree *t, const uint32_t *from, uint32_t nfrom,
                            double threshold, uint32_t limit, uint32_t *out, uint32_t *nout)
{
	*nout = 0;
	if (!(threshold > 0.0 && threshold <= 1.0))
		return -2;
	for (uint32_t i = 0; i < nfrom; i++)
		if (dom_slot(t, from[i]) >= t->n + 2)
			return -2;
	struct pool p = {NULL, 0, 0};
	for (uint32_t i = 0; i < nfrom; i++)
		if (push_cursor(t, &p, dom_slot(t, from[i]), 0) < 0)
			goto oom;
	while (p.len && *nout < limit) {
		struct pool_entry x = pool_pop(t, &p);
		if (x.b == NONE) {
			out[(*nout)++] = x.a;
			continue;
		}
		/* Take child b; its later siblings stay in the pool. */
		uint32_t v = t->kids[t->kid_off[x.a] + x.b];
		if (push_cursor(t, &p, x.a, x.b + 1) < 0)
			goto oom;
		/* Descend while the largest child keeps threshold of its parent;
		 * the other children become subtree roots. */
		while (t->kid_off[v] < t->kid_off[v + 1]) {
			uint32_t c = t->kids[t->kid_off[v]];
			if (!((double)t->retained[c] >= threshold * (double)t->retained[v]))
				break;
			if (push_cursor(t, &p, v, 1) < 0)
				goto oom;
			v = c;
		}
		struct pool_entry pt = {t->retained[v], v, NONE};
		if (pool_push(t, &p, pt) < 0)
			goto oom;
	}
	free(p.e);
	return 0;
oom:
	free(p.e);
	return -1;
}

int dom_group_retained(const struct dom_tree *t, const uint32_t *group, uint32_t ngroups,
                       uint64_t *out)
{
	uint32_t n = t->n;
	memset(out, 0, (size_t)ngroups * sizeof *out);
	for (uint32_t v = 0; v < n; v++)
		if (group[v] >= ngroups && group[v] != GRAPH_NONE)
			return -2;
	/* active[k]: how many nodes of group k are on the current path. The
	 * stack holds a node and the index of its next child to enter. */
	uint32_t *active = calloc(ngroups ? ngroups : 1, sizeof *active);
	uint32_t *stk = malloc((n ? n : 1) * sizeof *stk);
	uint32_t *next = malloc((n ? n : 1) * sizeof *next);
	if (!active || !stk || !next) {
		free(active);
		free(stk);
		free(next);
		return -1;
	}
	for (uint32_t i = t->kid_off[n]; i < t->kid_off[n + 2]; i++) {
		size_t sp = 0;
		uint32_t v = t->kids[i];
		for (;;) {
			/* Enter v. */
			uint32_t k = group[v];
			if (k != GRAPH_NONE && active[k]++ == 0)
				out[k] += t->retained[v];
			stk[sp] = v;
			next[sp] = t->kid_off[v];
			sp++;
			/* Leave finished nodes until one has a child left. */
			while (sp && next[sp - 1] == t->kid_off[stk[sp - 1] + 1]) {
				sp--;
				k = group[stk[sp]];
				if (k != GRAPH_NONE)
					active[k]--;
			}
			if (!sp)
				break;
			v = t->kids[next[sp - 1]++];
		}
	}
	free(active);
	free(stk);
	free(next);
	return 0;
}
