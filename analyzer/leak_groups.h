/* leak_groups.h — groups of objects for `leaks`: every object reachable from
 * a start (a root or a module) is put in the group of its signature, a hash of
 * its type name, the folded label of the reference it was first reached by,
 * and its parent's signature, along the breadth-first tree from the starts.
 * Signatures are made of names only (never addresses), so the same group is
 * found in every dump of a process. Pure code over the heap's arrays and the
 * dominator tree: no SQLite, no files, no printing, no recursion. */
#ifndef PYMPLE_LEAK_GROUPS_H
#define PYMPLE_LEAK_GROUPS_H

#include <stdint.h>

#include "graph_dom.h"
#include "heap.h"

/* What a group build reads. Hashes are the caller's (leak_hash_str()). */
struct leak_groups_input {
	const struct heap *h;
	const struct dom_tree *t;   /* the same dump's dominator tree */
	const uint8_t *module_type; /* ntypes + 1 bytes: 1 for the type `module` */
	const uint64_t *type_hash;  /* [ntypes] hash of each type's name */
	const uint64_t *str_hash;   /* [nstrings] hash of each label string */
	uint64_t dict_hash;         /* leak_hash_str("__dict__") */
	/* Extra words for a start's signature (a module's name), or 0. May be
	 * NULL. Called once per start. */
	uint64_t (*start_hash)(void *ctx, uint32_t v);
	void *ctx;
};

/* The groups of one dump. Per object (n entries): parent and pedge describe
 * the breadth-first tree (parent HEAP_NONE for a start or an object no start
 * reaches; pedge the edge from parent, UINT32_MAX for none); group is the
 * object's group, HEAP_NONE when no start reaches it. Per group (ngroups
 * entries): its signature, type index, object count, own bytes (size +
 * extra_size), retained bytes as a set (dom_group_retained(): no byte counted
 * twice within the group), the first object the search met, and whether the
 * label into it is folded (an index or a dict key: "[*]"). order holds the
 * reached objects in breadth-first order (parents before children). */
struct leak_groups {
	uint32_t n, nreached, ngroups, cap;
	uint32_t *parent, *pedge, *group, *order;
	uint64_t *sig, *bytes, *retained;
	uint32_t *type, *count, *example;
	uint8_t *folded;
};

/* FNV-1a 64 of s (n bytes). */
uint64_t leak_hash_str(const char *s, size_t n);

/* Builds g (zero-filled by the caller) for in. The search starts from the
 * starts in the order of their signatures (type and module name), so that
 * the walk's order, which changes from dump to dump, never decides which of
 * two equally short paths an object gets. Runs of one step repeated
 * (a linked list's `.next`, a tree of lists) fold into one group: an object
 * whose type and label into it equal its parent's joins the parent's group.
 * Time and memory linear in objects and references: 16 bytes per object plus
 * 45 per group. 0, or -1 out of memory (release g either way). */
int leak_groups_build(struct leak_groups *g, const struct leak_groups_input *in);

void leak_groups_release(struct leak_groups *g);

/* Whether the label of v's edge into it is folded (an index, a dict key not
 * of a __dict__, a pair); 0 for a start. */
int leak_groups_label_folded(const struct leak_groups *g, const struct leak_groups_input *in,
                             uint32_t v);

/* One step of a group's shared path, from the group up to a start. */
struct leak_level {
	uint32_t group;   /* every object at this step is of this group */
	uint32_t objects; /* how many distinct objects of the path sit here */
	uint32_t rep;     /* one of them (the first met) */
};

/* The objects of each group: those of group k are mem[moff[k] .. moff[k +
 * 1]), in id order. *moff (ngroups + 1) and *mem (nreached) are the
 * caller's to free. 0, or -1 out of memory. */
int leak_groups_members(const struct leak_groups *g, uint32_t **moff, uint32_t **mem);

/* The path the objects of group k share: level 0 is the group (objects = its
 * count), each next level the distinct parents of the level below (a run of
 * one repeated step counts as one level), up to the starts. *out (caller
 * frees) gets the levels, *nout their number. mark is caller-owned scratch of
 * (n + 7) / 8 zero bytes, left zero. moff/mem from leak_groups_members(), or
 * NULL to scan the group array. Linear in the objects visited (plus that
 * scan). 0, or -1 out of memory. */
int leak_groups_path(const struct leak_groups *g, uint32_t k, const uint32_t *moff,
                     const uint32_t *mem, uint8_t *mark, struct leak_level **out, uint32_t *nout);

#endif
