/* heap_view.h — what the graph commands (path, referrers, cycles, garbage)
 * share to print objects of a loaded heap: the database and its heap opened
 * together, type names in memory, and per printed object its value and the
 * text of an edge label, fetched by id (one indexed lookup per line of
 * output, never per node visited). Command code: prints errors through cli.h. */
#ifndef PYMPLE_HEAP_VIEW_H
#define PYMPLE_HEAP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "heap.h"
#include "heap_store.h"

struct heap_view {
	sqlite3 *db;
	const char *file;
	struct heap h;         /* with the reverse CSR built */
	int lean;              /* h is a lean heap: references through refs */
	struct heap_refs refs; /* lean: the references, decoded when asked */
	sqlite3_stmt *addr;    /* lean: SELECT address FROM object_data WHERE id = ?1 */
	char **type_name;      /* [h.ntypes] */
	sqlite3_stmt *value;   /* SELECT value FROM object_data WHERE id = ?1 */
	sqlite3_stmt *text;    /* SELECT text FROM strings WHERE id = ?1 */
	char *label;           /* buffer of the last edge label */
	size_t label_cap;
	char *val; /* copy of the last value */
	size_t val_cap;
	sqlite3_stmt *alloc; /* the object's allocation site (sites.alloc) */
	char *site;          /* copy of the last site */
	size_t site_cap;
};

/* Opens path (a dump or a database, through cli_open), reads its heap and
 * builds the referrers. Returns 0, or prints the one error line and returns
 * the exit status. */
int heap_view_open(struct heap_view *v, const char *path);
/* The graph commands' prologue: what main.c's table says the running
 * command needs (cmd_needs): the database, and if CMD_NEEDS_HEAP a lean
 * heap (heap_store.h: HEAP_LEAN_*), what path, referrers, top, dominators
 * and garbage need at a fraction of the whole heap's memory. The accessors
 * below read what it leaves out from the database. */
int heap_view_open_lean(struct heap_view *v, const char *path, unsigned parts);
void heap_view_close(struct heap_view *v);

/* The address of object id; 0 with *err set on an SQLite failure. */
uint64_t heap_view_addr(struct heap_view *v, uint32_t id, int *err);
/* Reference e (< h.m): its target, kind and label. 0, or -1 (the database
 * changed or failed; cli_error says so). */
int heap_view_edge(struct heap_view *v, uint64_t e, struct heap_ref *r);
/* The references behind referrer entries k .. k + n - 1 of object t, which
 * all come from one source (rsrc[k]): edges[i] gets entry k + i's. On a
 * lean heap the source's references are decoded. 0, or -1 as
 * heap_view_edge. */
int heap_view_rev_edges(struct heap_view *v, uint32_t t, uint64_t k, size_t n, uint32_t *edges);
/* 1 if referrer entry k is a weak reference. */
int heap_view_rev_weak(const struct heap_view *v, uint64_t k);

/* The type name of object id (never NULL). */
const char *heap_view_type(const struct heap_view *v, uint32_t id);
/* The value preview of object id, or NULL (valid until the next call); *err
 * set to 1 on an SQLite failure. */
const char *heap_view_value(struct heap_view *v, uint32_t id, int *err);
/* Where object id was allocated ('file:line', the innermost tracemalloc
 * frame), or NULL when the dump has no site for it (valid until the next
 * call); *err set to 1 on an SQLite failure. */
const char *heap_view_alloc(struct heap_view *v, uint32_t id, int *err);
/* The label of edge e as commands print it: [7], ['key'], .name, (weak) or
 * NULL for none (valid until the next call). */
const char *heap_view_label(struct heap_view *v, uint64_t e, int *err);
/* The object at addr (first one if several), or HEAP_NONE; SQL through the
 * address index. */
uint32_t heap_view_find(struct heap_view *v, uint64_t addr, int *err);

#endif
