/* pathstep.h — reads what one path step needs from the database (an
 * object's type, value, NAME, root record; a reference's label, the key a
 * dict value sits under) and words it with pathfmt.c. The SQLite side of
 * path naming, shared by path and referrers; pathfmt.c stays pure. Never
 * prints; never exits. */
#ifndef PYMPLE_PATHSTEP_H
#define PYMPLE_PATHSTEP_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define PATHSTEP_TEXT 512

struct pathstep {
	sqlite3 *db;
	sqlite3_stmt *obj, *label, *pair, *items, *rootrec, *modules, *thread, *seen, *json;
};

/* One object, named. Strings point into the struct (name, why, type,
 * value) and stay valid until the next pathstep_object() on it. */
struct pathstep_obj {
	uint64_t address;
	const char *type, *value; /* value NULL if none */
	char name[PATHSTEP_TEXT]; /* pathfmt_object(), "thread X " prefixed for a running frame */
	char why[PATHSTEP_TEXT];  /* root reason ("(sys.modules)"), "" unless asked and a root */
	char typebuf[PATHSTEP_TEXT], valbuf[PATHSTEP_TEXT];
};

/* Prepares the statements. 0, or -1 (sqlite3_errmsg(db) says why). */
int pathstep_init(struct pathstep *ps, sqlite3 *db);
void pathstep_release(struct pathstep *ps);

/* Fills *o for object_data.id id; as_root: also why it is a root (and the
 * thread a running frame belongs to). 0, or -1 on an SQLite error. */
int pathstep_object(struct pathstep *ps, int64_t id, int as_root, struct pathstep_obj *o);

/* The label of reference (src, seq) of kind/label into buf: [7], ['k'],
 * .name, (weak), and for dicts with F_PAIRS "key ('q1', <Token>)" for a key
 * or "[42]" for a value under a key that is not a str. 0, or -1. */
int pathstep_edge(struct pathstep *ps, int64_t src, int64_t seq, int kind, int64_t label, char *buf,
                  size_t n);

/* {"address", "type", "name", "edge", "value", "root"} for o, edge being
 * the label of the reference into it ("" for the first step; root the
 * reason, "" if none). Returned text is valid until the next call; NULL on
 * an SQLite error. */
const char *pathstep_json(struct pathstep *ps, const struct pathstep_obj *o, const char *edge);

#endif
