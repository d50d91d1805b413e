/* pathstep.h — what one printed path step needs, read from a loaded heap
 * (heap_view.h) and its database: an object's type, value, NAME record and
 * root record, a reference's label and the key a dict value sits under;
 * worded by pathfmt.c. Shared by path and referrers; pathfmt.c stays pure.
 * One indexed lookup per printed line, never per node visited. Never prints;
 * never exits. */
#ifndef PYMPLE_PATHSTEP_H
#define PYMPLE_PATHSTEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "heap_view.h"

#define PATHSTEP_TEXT 512

struct pathstep {
	struct heap_view *hv;
	sqlite3_stmt *obj, *name, *rootrec, *json;
	uint8_t *modules; /* bit per object: a sys.modules root (ROOT kind 1) */
	uint64_t *named;  /* the addresses the names table names, sorted */
	size_t nnamed;
	int began; /* pathstep_init opened a read transaction (its lookups share it) */
};

/* One object, named. Valid until the next pathstep_object() into it. */
struct pathstep_obj {
	uint64_t address;
	const char *type;         /* never NULL */
	const char *value;        /* NULL if none */
	char name[PATHSTEP_TEXT]; /* pathfmt_object(); "thread X " first for a running frame */
	char why[PATHSTEP_TEXT];  /* root reason ("(sys.modules)"), "" unless asked */
	char valbuf[PATHSTEP_TEXT];
};

/* Prepares the statements. 0, or -1 (sqlite3_errmsg(hv->db) says why; -2 out
 * of memory). */
int pathstep_init(struct pathstep *ps, struct heap_view *hv);
void pathstep_release(struct pathstep *ps);

/* Fills *o for object id; as_root: also why it is a root (and the thread a
 * running frame belongs to). 0, or -1 on an SQLite error. */
int pathstep_object(struct pathstep *ps, uint32_t id, int as_root, struct pathstep_obj *o);

/* The label of reference e into buf: [7], ['k'], .name, (weak), and in a
 * dict with F_PAIRS "key ('q1', <Token>)" for a key or "[42]" for a value
 * under a key that is not a str; "" for none. 0, or -1 on an SQLite error. */
int pathstep_edge(struct pathstep *ps, uint64_t e, char *buf, size_t n);

/* The one JSON shape of a step, shared by path, referrers, top, dominators
 * and leaks: {"label", "type", "name", "address", "objects", "root"}.
 * label: the reference into the step (NULL or "": null, as on a first
 * step); address: o->address (0: null, a step that stands for many
 * objects); objects: how many objects of a group pass through the step
 * (< 0: null, as on a plain path); root: o->why ("": null); a NULL or ""
 * type or name: null. Valid until the next call; NULL on an SQLite error. */
const char *pathstep_json(struct pathstep *ps, const struct pathstep_obj *o, const char *label,
                          int64_t objects);

/* pathstep_json() written to fp without its closing brace, for a caller that
 * adds keys of its own (",\"depth\":2}"). 0, or -1 on an SQLite error. */
int pathstep_json_open(FILE *fp, struct pathstep *ps, const struct pathstep_obj *o,
                       const char *label, int64_t objects);

/* Writes the chain of p from queue entry start down to the target (entry 0;
 * see heap_path.h) as a JSON array of steps, one a line: "[\n" step ",\n"
 * ... "\n]". The first step says why it is a root; a module's namespace
 * reached through .__dict__ is named "dict". 0, or -1 on an SQLite error. */
struct heap_path;
int pathstep_chain_json(struct pathstep *ps, const struct heap_path *p, long start, FILE *fp);

/* The same chain on one line, as top and leaks print it: each step's name
 * followed by the label of its reference to the next ("module app
 * (sys.modules) -> dict ['REGISTRY'] -> list [0] -> __main__.Node"), the
 * first with why it is a root; no newline. 0, or -1 on an
 * SQLite error. */
int pathstep_chain_text(struct pathstep *ps, const struct heap_path *p, long start, FILE *fp);

/* Names object o, reached through a reference labelled edge_in (or "" for
 * the first step), as path prints it: a module's namespace (.__dict__ into
 * a dict) is plain "dict", the module line above names it already. */
void pathstep_dict_name(struct pathstep_obj *o, const char *edge_in);

#endif
