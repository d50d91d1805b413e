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

#include <sqlite3.h>

#include "heap_view.h"

#define PATHSTEP_TEXT 512

struct pathstep {
	struct heap_view *hv;
	sqlite3_stmt *obj, *rootrec, *json;
	uint8_t *modules; /* bit per object: a sys.modules root (ROOT kind 1) */
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

/* {"address", "type", "name", "edge", "value", "root"} for o; edge is the
 * label of the reference into it ("" for the first step: null), root the
 * reason ("": null). Valid until the next call; NULL on an SQLite error. */
const char *pathstep_json(struct pathstep *ps, const struct pathstep_obj *o, const char *edge);

#endif
