/* dom_view.c — the dominator tree read back from object_data (dom_view.h).
 * One scan in id order; the tree itself is rebuilt by graph_dom.c. */
#include "dom_view.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"

int dom_view_load(sqlite3 *db, const char *file, uint32_t n, struct dom_tree *t)
{
	uint32_t *idom = malloc(((size_t)n + 1) * sizeof *idom);
	uint64_t *own = malloc(((size_t)n + 1) * sizeof *own);
	sqlite3_stmt *st = NULL;
	uint64_t k = 0;
	int rc = CLI_RUNTIME, step;
	memset(t, 0, sizeof *t);
	if (!idom || !own) {
		cli_error(file, "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, idom, size + extra_size, reachable FROM object_data"
	                       " ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = cli_sqlite_error(db, file, "reading the dominator tree");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		sqlite3_int64 d = sqlite3_column_int64(st, 1);
		if (k >= n || id != (sqlite3_int64)k ||
		    (sqlite3_column_type(st, 1) != SQLITE_NULL && (d < 0 || d >= (sqlite3_int64)n)))
			break;
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			idom[k] = sqlite3_column_int(st, 3) ? DOM_SUPER : DOM_GARBAGE;
		else
			idom[k] = (uint32_t)d;
		sqlite3_int64 sz = sqlite3_column_int64(st, 2);
		own[k++] = sz > 0 ? (uint64_t)sz : 0;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = cli_sqlite_error(db, file, "reading the dominator tree");
		goto out;
	}
	if (step == SQLITE_ROW || k != n) {
		cli_error(file, "corrupt database: object_data ids or idom out of range");
		rc = CLI_BAD_INPUT;
		goto out;
	}
	int r = dom_tree_from_idom(t, n, idom, own);
	if (r == -1) {
		cli_error(file, "out of memory");
		goto out;
	}
	if (r < 0) {
		cli_error(file, "corrupt database: objects.idom is not a tree");
		rc = CLI_BAD_INPUT;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(idom);
	free(own);
	return rc;
}

const char *dom_view_mode(sqlite3 *db, char *buf, size_t n)
{
	if (db_meta(db, "dominators.cut", buf, n) != 1)
		buf[0] = 0;
	return buf;
}
