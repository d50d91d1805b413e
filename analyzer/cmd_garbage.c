/* cmd_garbage.c — `pymple-analyze garbage DUMP`: the objects no root reaches
 * (what a gc.collect() would free), and the objects alive with no referrer
 * in the dump that no known root explains (held by native code: the
 * interpreter's own or an extension's), summarized by type or listed. It
 * states facts, not verdicts: one dump cannot tell a leak. Reads only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "heap_view.h"
#include "leak_cli.h"
#include "output.h"

static const char *const usage[] = {
        "garbage DUMP [--list] [--format table|csv|json] [--limit N]",
        "",
        "Two kinds of objects, summarized by type, largest first:",
        "  unreachable   no root reaches them: cyclic garbage and what only it holds,",
        "                exactly what gc.collect() would free",
        "  holders       what the unreachable objects hold: those no other",
        "                unreachable object keeps alive (the garbage root's children",
        "                in the dominator tree, README: retained size), with the",
        "                total they retain (size + extra_size of everything only they",
        "                keep alive): these add up to the unreachable total",
        "                with extra sizes",
        "  unreferenced  alive (refcount > 0) yet no object in the dump refers to",
        "                them and they are not a known root (sys.modules, frames ...):",
        "                held by native code. The interpreter itself holds some",
        "                (the _ast singletons, io internals); a count that grows",
        "                from dump to dump (see `diff`) is what points at an",
        "                extension's reference leak. Immortal objects and type",
        "                objects are left out.",
        "",
        "  --list             the objects themselves, largest first, instead of",
        "                     the totals by type",
        "  --format F         table (default), csv or json",
        "  --limit N          at most N types per kind, or N objects per kind with",
        "                     --list (default 25, 0 = all)",
        "  -h, --help         this help",
        "",
        "JSON: [{\"kind\", \"type\", \"count\", \"size\"}, ...]; with --list",
        "      [{\"kind\", \"address\", \"type\", \"size\", \"refcount\", \"value\"}, ...]",
        NULL,
};

/* Unreachable totals come from the loader's type_stats; unreferenced ones
 * from the heap (unreferenced()): roots with no incoming reference, not
 * named by a ROOT record, not immortal, not synthetic and not a type. */
#define UNREFERENCED_WHERE "o.id IN (SELECT id FROM temp.unreferenced)"

/* Fills temp.unreferenced with the ids of the unreferenced objects, and
 * temp.unreachable with those of the unreachable ones (so the holders are
 * read by id, not by a scan of every row). */
static int unreferenced(const struct heap_view *hv)
{
	const struct heap *h = &hv->h;
	sqlite3_stmt *ins, *ins2;
	if (sqlite3_exec(hv->db,
	                 "CREATE TEMP TABLE unreferenced(id INTEGER PRIMARY KEY);"
	                 " CREATE TEMP TABLE unreachable(id INTEGER PRIMARY KEY); BEGIN",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(hv->db, "INSERT INTO temp.unreferenced VALUES (?1)", -1, &ins,
	                       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(hv->db, "INSERT INTO temp.unreachable VALUES (?1)", -1, &ins2,
	                       NULL) != SQLITE_OK) {
		sqlite3_finalize(ins);
		return -1;
	}
	int rc = 0;
	for (uint32_t v = 0; v < h->n && !rc; v++) {
		if (!(h->flags[v] & (HEAP_REACHED | HEAP_SYNTHETIC))) {
			sqlite3_bind_int64(ins2, 1, v);
			rc = sqlite3_step(ins2) == SQLITE_DONE ? 0 : -1;
			sqlite3_reset(ins2);
		}
		if ((h->flags[v] & (HEAP_ROOT | HEAP_IMMORTAL | HEAP_SYNTHETIC | HEAP_NAMED |
		                    HEAP_TYPEOBJ)) != HEAP_ROOT ||
		    h->roff[v] != h->roff[v + 1])
			continue;
		sqlite3_bind_int64(ins, 1, v);
		rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(ins2);
	if (sqlite3_exec(hv->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	return rc;
}

static const char sql[] =
        "WITH u AS (SELECT 'unreachable' AS kind, t.name AS type, sum(s.unreachable) AS count,"
        "  sum(s.unreachable_size) AS size FROM type_stats s JOIN types t ON t.id = s.type_id"
        "  WHERE s.unreachable > 0 GROUP BY t.name ORDER BY size DESC, count DESC, type LIMIT ?1),"
        " x AS (SELECT 'unreferenced' AS kind, t.name AS type, count(*) AS count,"
        "  sum(o.size) AS size FROM object_data o JOIN types t ON t.id = o.type_id"
        "  WHERE " UNREFERENCED_WHERE
        "  GROUP BY t.name ORDER BY size DESC, count DESC, type LIMIT ?1),"
        " y AS (SELECT 'holders' AS kind, t.name AS type, count(*) AS count,"
        "  sum(o.retained) AS size FROM object_data o JOIN types t ON t.id = o.type_id"
        "  WHERE o.id IN (SELECT id FROM temp.unreachable) AND o.idom IS NULL"
        "  GROUP BY t.name ORDER BY size DESC, count DESC, type LIMIT ?1)"
        "SELECT * FROM u UNION ALL SELECT * FROM y UNION ALL SELECT * FROM x";

/* --list: the objects of each kind, largest first; addresses in hex in a
 * table (?2 = 1), as integers in csv and json (as every command prints them). */
#define LIST_ADDR "CASE WHEN ?2 THEN printf('0x%x', o.address) ELSE o.address END AS address"
static const char list_sql[] =
        "WITH u AS (SELECT 'unreachable' AS kind, " LIST_ADDR ", t.name AS type, o.size,"
        "  o.refcount, o.value FROM object_data o JOIN types t ON t.id = o.type_id"
        "  WHERE o.reachable = 0 AND (o.flags & 64) = 0"
        "  ORDER BY o.size DESC, o.id LIMIT ?1),"
        " x AS (SELECT 'unreferenced' AS kind, " LIST_ADDR ", t.name AS type, o.size,"
        "  o.refcount, o.value FROM object_data o JOIN types t ON t.id = o.type_id"
        "  WHERE " UNREFERENCED_WHERE " ORDER BY o.size DESC, o.id LIMIT ?1)"
        "SELECT * FROM u UNION ALL SELECT * FROM x";

int cmd_garbage(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'l'},
	        {"list", no_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 25;
	int c, rc, list = 0;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			list = 1;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (argc - optind != 1) {
		return cli_usage_error("expected one DUMP");
	}
	const char *file = argv[optind];
	struct heap_view hv;
	if ((rc = heap_view_open_lean(&hv, file, 0))) /* flags, in-degrees */
		return rc;
	sqlite3 *db = hv.db;
	sqlite3_stmt *st;
	if (unreferenced(&hv) < 0 || sqlite3_prepare_v2(db, list ? list_sql : sql, -1, &st, NULL)) {
		rc = cli_sqlite_error(db, file, "garbage");
		heap_view_close(&hv);
		return rc;
	}
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	if (list)
		sqlite3_bind_int(st, 2, fmt == OUT_TABLE);
	static const char *const headers[] = {"kind", "types", "# objects", "total size"};
	struct out_opts o = {fmt, fmt == OUT_TABLE ? 1u << 3 : 0, fmt == OUT_TABLE ? headers : NULL,
	                     0};
	if (list)
		o = (struct out_opts){fmt, fmt == OUT_TABLE ? 1u << 3 : 0, NULL, 0};
	long long rows = out_rows(stdout, db, st, &o);
	sqlite3_finalize(st);
	if (rows < 0) {
		rc = cli_sqlite_error(db, file, "garbage");
	} else if (fmt == OUT_TABLE) {
		/* Totals over every type, not only the rows shown. */
		if (sqlite3_prepare_v2(
		            db,
		            "SELECT coalesce(sum(unreachable), 0),"
		            " coalesce(sum(unreachable_size), 0),"
		            " (SELECT count(*) FROM object_data o WHERE " UNREFERENCED_WHERE "),"
		            " (SELECT coalesce(sum(size), 0) FROM object_data o"
		            "  WHERE " UNREFERENCED_WHERE ") FROM type_stats",
		            -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			char hs[16], hs2[16];
			printf("%lld unreachable objects, %s (what gc.collect() would free); "
			       "%lld unreferenced objects, %s (held by native code)\n",
			       (long long)sqlite3_column_int64(st, 0),
			       out_human_size(sqlite3_column_int64(st, 1), hs, sizeof hs),
			       (long long)sqlite3_column_int64(st, 2),
			       out_human_size(sqlite3_column_int64(st, 3), hs2, sizeof hs2));
			if (rows >= limit && limit > 0)
				printf("(at most %lld %s of each kind shown; --limit 0 shows "
				       "all)\n",
				       limit, list ? "objects" : "types");
		} else {
			rc = cli_sqlite_error(db, file, "garbage");
		}
		sqlite3_finalize(st);
	}
	heap_view_close(&hv);
	return rc;
}
