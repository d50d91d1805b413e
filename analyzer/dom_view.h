/* dom_view.h — the dominator tree of a loaded dump, read back for the
 * commands that show retained sizes (top, dominators, summary --retained):
 * objects.idom and each object's own size (size + extra_size) in one scan
 * of object_data, rebuilt into a struct dom_tree (graph_dom.h). Command
 * code: prints its errors through cli.h. */
#ifndef PYMPLE_DOM_VIEW_H
#define PYMPLE_DOM_VIEW_H

#include <sqlite3.h>

#include "graph_dom.h"

/* Fills t (n objects) from db; file names the input in errors. Returns 0,
 * or prints the one error line and returns the exit status (a database
 * whose idom column is not a forest is refused as corrupt). */
int dom_view_load(sqlite3 *db, const char *file, uint32_t n, struct dom_tree *t);

/* The mode the tree was built with (meta dominators.cut): "classes" or
 * "none", copied into buf; "" if the database does not say. */
const char *dom_view_mode(sqlite3 *db, char *buf, size_t n);

#endif
