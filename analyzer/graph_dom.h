/* graph_dom.h — dominator tree, retained sizes and accumulation points over a
 * CSR graph (graph.h). Pure functions on flat arrays: no SQLite, no files, no
 * recursion, no allocation per node. Designed for 50M nodes and 1M-long
 * chains.
 *
 * Return values: 0 on success, -1 on out-of-memory, -2 on invalid input (named
 * per function); outputs are unspecified after an error. */
#ifndef PYMPLE_GRAPH_DOM_H
#define PYMPLE_GRAPH_DOM_H

#include <stdint.h>

#include "graph.h"

/* The two virtual roots, as values of idom[] and as parents for dom_children().
 * Node ids must stay below DOM_GARBAGE (graphs of at most 2^32 - 3 nodes).
 *
 * The graph is the strong-reference graph: g minus the edges skip marks.
 *
 * DOM_SUPER's tree holds the nodes reachable from the roots (is_root[v] != 0)
 * over kept edges, plus, when live is given, the live nodes (live[v] != 0)
 * that only skipped edges lead to, and what they reach: objects reachable
 * only through a cut edge hang off the super-root. DOM_SUPER has an edge to
 * every root and to every node of every source component (defined below) of
 * the subgraph induced by that live remainder.
 *
 * DOM_GARBAGE's tree holds the rest, U (with live given: dead objects). It has an edge to every
 * node of every *source* strongly connected component of the subgraph induced by U: a component
 * with no edge coming in from another node of U (singletons included). Why every node and not one
 * per component: picking one member of a source cycle would make it dominate the others for no
 * reason but the pick; with all members attached, no member of a source cycle dominates another,
 * and each retains only what hangs exclusively below it. Every node of U is reachable from some
 * source component, so the two trees cover all nodes.
 *
 * Edges from U into the super-root's tree are ignored: garbage that refers to
 * a live object does not move it out of the super-root's tree (the two trees
 * are the dominator trees of their two node sets separately). */
#define DOM_SUPER   (UINT32_MAX - 1)
#define DOM_GARBAGE (UINT32_MAX - 2)

/* What dom_idom() works on. Only g and is_root are required. */
struct dom_input {
	const struct graph *g;
	const uint8_t *is_root; /* n bytes: nonzero for a root */
	/* m bytes: nonzero drops forward edge e (weak, borrowed or cut
	 * references) without building a new graph. The target of a skipped
	 * edge is never read: it may be out of range (a reference to an
	 * address not in the dump), unlike graph.h's contract otherwise. */
	const uint8_t *skip;
	/* n bytes: nonzero for a node the caller knows to be alive (reachable
	 * over every reference); see DOM_SUPER. NULL: only the roots count. */
	const uint8_t *live;
	/* Predecessors, laid out as graph_reverse(g) builds them, with rev_skip
	 * (rev->m bytes) marking the reversed counterparts of the edges skip
	 * marks. A caller that keeps a reverse CSR saves building one (8 bytes
	 * per node + 4 per edge) but pays a random lookup per edge: slower on
	 * big graphs. The two must describe the same edge set, or the result is
	 * meaningless (though never out of bounds). NULL: a predecessor CSR in
	 * DFS order is built inside, honouring skip. */
	const struct graph *rev;
	const uint8_t *rev_skip;
};

/* Immediate dominators. idom[v] (n entries, caller-allocated) gets the node
 * that immediately dominates v, or DOM_SUPER / DOM_GARBAGE when only a
 * virtual root does.
 *
 * Algorithm: Lengauer–Tarjan (semi-dominators, buckets threaded through the
 * dominator field), EVAL by path halving, O(m log n), iterative; source
 * components by Pearce's SCC algorithm, iterative. Working memory: 21 bytes
 * per node (+ the idom output, used as scratch), plus a DFS stack of up to
 * 12 bytes per node (only as deep as the DFS goes, freed before the main
 * pass), plus the predecessor CSR when rev is NULL (4 bytes per node and
 * per kept edge). Returns -2 if g has more than 2^32 - 3 nodes, or, with rev
 * NULL, 2^32 - 1 edges or more. */
int dom_idom(const struct dom_input *in, uint32_t *idom);

/* The dominator tree with retained sizes, and its children in CSR form.
 * Parent slots: a node id v < n, then n for DOM_SUPER and n + 1 for
 * DOM_GARBAGE (dom_slot() maps them). */
struct dom_tree {
	uint32_t n;
	uint32_t *idom;         /* n entries, as dom_idom() fills them */
	uint64_t *retained;     /* n entries: own size + everything dominated */
	uint64_t super_total;   /* retained size of DOM_SUPER: sum of own over R */
	uint64_t garbage_total; /* retained size of DOM_GARBAGE: sum of own over U */
	uint32_t *kid_off;      /* n + 3 entries: children of slot s are */
	uint32_t *kids;         /* kids[kid_off[s] .. kid_off[s + 1]), n entries */
};

/* Computes everything: dom_idom(in), then dom_tree_from_idom(). own[v] is
 * v's own size (size + extra_size). t owns its arrays: release with
 * dom_tree_release(). */
int dom_tree_build(struct dom_tree *t, const struct dom_input *in, const uint64_t *own);

/* Builds t from an idom array already computed (dom_idom(), or read back from
 * storage). idom is copied. Retained sizes are summed bottom-up in reverse
 * breadth-first order (no recursion); children are ordered by retained size
 * descending, ties by node id ascending. Returns -2 if idom is not a forest
 * under the two virtual roots (a value >= n other than DOM_SUPER/DOM_GARBAGE,
 * or a cycle). */
int dom_tree_from_idom(struct dom_tree *t, uint32_t n, const uint32_t *idom, const uint64_t *own);
/* The same with each node's children in id order, not sorted: for callers
 * that read only idom, retained and dom_group_retained() (the load). */
int dom_tree_from_idom_unsorted(struct dom_tree *t, uint32_t n, const uint32_t *idom,
                                const uint64_t *own);

void dom_tree_release(struct dom_tree *t);

/* Parent slot of v (a node, DOM_SUPER or DOM_GARBAGE) in kid_off; n + 2 for
 * anything else. */
static inline uint32_t dom_slot(const struct dom_tree *t, uint32_t v)
{
	if (v < t->n)
		return v;
	if (v == DOM_SUPER)
		return t->n;
	if (v == DOM_GARBAGE)
		return t->n + 1;
	return t->n + 2;
}

/* The dominator-tree children of parent (a node, DOM_SUPER or DOM_GARBAGE),
 * largest retained first; *count gets their number (0 for an invalid parent).
 * The pointer is into t. */
const uint32_t *dom_children(const struct dom_tree *t, uint32_t parent, uint32_t *count);

/* Accumulation points: where the memory under the given parents actually
 * accumulates, as non-overlapping subtrees.
 *
 * Definition. Start with the children of each parent in from[] (nodes,
 * DOM_SUPER or DOM_GARBAGE; none may lie in another's subtree) as subtree
 * roots. For a subtree root y, descend: while the current node x has children
 * and its largest child c (first in dom_children() order) has
 *   (double)retained[c] >= threshold * (double)retained[x],
 * move to c. The node where the descent stops is an accumulation point: its
 * children share its size (or it has none). The other children of every node
 * passed on the way down (not the point's) become subtree roots in turn. The
 * nodes passed on the way are not points: they only wrap one big child.
 *
 * This partitions the parents' subtrees: every point's subtree is disjoint
 * from every other point's, so the points' retained sizes add up to at most
 * the parents' total. The output is the limit largest points (retained
 * descending, ties by node id ascending), in that order, found best-first:
 * work is proportional to the nodes descended through, not to the tree.
 *
 * threshold must be in (0, 1] (0.80 is the documented default); returns -2
 * otherwise. out has room for limit entries; *nout gets the count. */
int dom_accumulation_points(const struct dom_tree *t, const uint32_t *from, uint32_t nfrom,
                            double threshold, uint32_t limit, uint32_t *out, uint32_t *nout);

#define DOM_DEFAULT_THRESHOLD 0.80

/* Retained size per group (for `summary --retained`, groups being types):
 * out[k] (ngroups entries) gets the sum of retained[v] over the nodes v with
 * group[v] == k that have no dominator-tree ancestor of the same group: within
 * a group nothing is counted twice, out[k] <= super_total + garbage_total.
 * Across groups sizes nest (a dict's retained size includes its lists'), so
 * the sum over groups can exceed the total.
 * group[v] == GRAPH_NONE leaves v out (it neither counts nor hides). Both
 * virtual trees are walked; depth-first with an explicit stack. Returns -2
 * if a group id is >= ngroups and not GRAPH_NONE. */
int dom_group_retained(const struct dom_tree *t, const uint32_t *group, uint32_t ngroups,
                       uint64_t *out);

#endif
