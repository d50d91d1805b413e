/* cmd_summary.c — `pymple-analyze summary DUMP|DB`: one row per type, in
 * Pympler's layout, from the per-type table built at load (type_stats), and
 * the RSS coverage line. Reads only; synthetic records are not counted. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dom_view.h"

#define DEFAULT_TABLE_LIMIT 20

static const char *const usage[] = {
        "summary DUMP|DB [--limit N] [--sort size|count|retained]",
        "        [--names | --by-site | --retained]",
        "        [--format table|csv|json]",
        "",
        "One row per type: how many objects and how many bytes (sys.getsizeof),",
        "largest first. The table shows human units (KiB = 1024 bytes) and ends",
        "with the totals and the share of the process's RSS at dump time they",
        "explain; csv and json show bytes. Thread and frame records the dumper",
        "adds (synthetic) are not Python objects and are not counted. Memory",
        "getsizeof does not show (3.11+ inline attribute values, extra_size) is",
        "not in the per-type sizes; the totals line adds it and says how much.",
        "",
        "  -n, --limit N     at most N types (0: all; default 20 in a table, all otherwise)",
        "  -s, --sort KEY    size (default), count, or retained (with --retained)",
        "      --names       one row per name for functions, classes and builtin",
        "                    functions: `function (handle_request)` tells which",
        "                    closure or lambda piles up (reads every object)",
        "      --by-site     one row per allocation site instead of per type: where",
        "                    tracemalloc saw the objects allocated (the innermost",
        "                    frame, file:line), reachable objects only; objects",
        "                    without a site (allocated before tracemalloc started, or",
        "                    a dump without it) are one row `(no site)`",
        "      --retained    a column `retained`: per type, the retained size of its",
        "                    objects that no other object of the same type keeps alive",
        "                    (README: retained size), so nothing is counted twice within",
        "                    a type; types nest (a dict's retained size includes its",
        "                    lists'), so the column adds up to more than the total.",
        "                    Sorts by it unless --sort says otherwise",
        "  -f, --format F    table (default), csv or json",
        "  -h, --help        this help",
        NULL,
};

static int64_t col64(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

/* The rows to list, as (type, count, size): the per-type table built at
 * load, or with --names the named kinds split by the name that starts their
 * value preview (a scan of those objects; type_stats covers the rest). */
static const char by_type_sql[] =
        "SELECT t.name AS type, s.count AS count, s.size AS size FROM type_stats s"
        " JOIN types t ON t.id = s.type_id";
static const char by_name_sql[] =
        "SELECT t.name || CASE WHEN o.value IS NULL THEN '' ELSE ' (' ||"
        "   substr(o.value, 1, CASE instr(o.value, ' ') WHEN 0 THEN length(o.value)"
        "   ELSE instr(o.value, ' ') - 1 END) || ')' END AS type,"
        "  count(*) AS count, sum(o.size) AS size"
        " FROM object_data o JOIN types t ON t.id = o.type_id"
        " WHERE t.name IN ('function', 'type', 'builtin_function_or_method')"
        "  AND (o.flags & 64) = 0 GROUP BY 1"
        " UNION ALL SELECT t.name, s.count, s.size FROM type_stats s JOIN types t ON t.id = "
        "s.type_id"
        " WHERE t.name NOT IN ('function', 'type', 'builtin_function_or_method')";
static const char by_retained_sql[] =
        "SELECT t.name AS type, s.count AS count, s.size AS size, s.retained AS retained"
        " FROM type_stats s JOIN types t ON t.id = s.type_id";
static const char by_site_sql[] =
        "SELECT coalesce(s.alloc, '(no site)') AS type, count(*) AS count, sum(o.size) AS size"
        " FROM object_data o LEFT JOIN sites s ON s.id = o.site"
        " WHERE o.reachable AND (o.flags & 64) = 0 GROUP BY 1";

/* The closing lines of the table: what was left out, the totals and RSS. */
static int footer(sqlite3 *db, const char *file, const char *rows_sql, const char *order,
                  long long shown)
{
	sqlite3_stmt *st = NULL;
	char a[32], b[32], c[32], rssbuf[64];
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*), coalesce(sum(count), 0), coalesce(sum(size), 0),"
	                       " coalesce(sum(extra_size), 0) FROM type_stats",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cli_sqlite_error(db, file, "cannot read the totals");
	}
	int64_t count = col64(st, 1), size = col64(st, 2), extra = col64(st, 3);
	sqlite3_finalize(st);
	char sql[2048];
	snprintf(sql, sizeof sql,
	         "SELECT count(*), coalesce(sum(count), 0), coalesce(sum(size), 0) FROM"
	         " (SELECT * FROM (%s) ORDER BY %s LIMIT -1 OFFSET ?1)",
	         rows_sql, order);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, shown) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cli_sqlite_error(db, file, "cannot read the totals");
	}
	if (col64(st, 0) > 0)
		printf("... %lld more %s: %s in %s objects\n", (long long)col64(st, 0),
		       rows_sql == by_site_sql   ? "sites"
		       : rows_sql == by_name_sql ? "rows"
		                                 : "types",
		       out_human_size(col64(st, 2), a, sizeof a),
		       out_human_count(col64(st, 1), b, sizeof b));
	sqlite3_finalize(st);
	int64_t total = size + extra;
	printf("%s in %s objects", out_human_size(total, a, sizeof a),
	       out_human_count(count, b, sizeof b));
	int got = db_meta(db, "rss", rssbuf, sizeof rssbuf);
	char *end = NULL;
	long long rss = got == 1 ? strtoll(rssbuf, &end, 10) : 0;
	if (got == 1 && end && *end == 0 && rss > 0)
		printf(" = %.0f%% of RSS %s\n", 100.0 * (double)total / (double)rss,
		       out_human_size(rss, c, sizeof c));
	else
		printf(" (RSS at dump time unknown: the dump records no rss)\n");
	if (extra > 0)
		printf("(the total includes %s the sizes above do not show: 3.11+ inline "
		       "attribute values, column extra_size)\n",
		       out_human_size(extra, a, sizeof a));
	return 0;
}

int cmd_summary(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"limit", required_argument, NULL, 'n'}, {"sort", required_argument, NULL, 's'},
	        {"names", no_argument, NULL, 'N'},       {"by-site", no_argument, NULL, 'S'},
	        {"retained", no_argument, NULL, 'R'},    {"format", required_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"types", "# objects", "total size", "retained"};
	static const char *const site_headers[] = {"allocation site", "# objects", "total size"};
	enum out_format fmt = OUT_TABLE;
	long long limit = -1;
	int by_count = 0, by_name = 0, by_site = 0, retained = 0, sort_given = 0, c, rc;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":n:s:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if ((rc = cli_parse_limit(optarg, &limit)))
				return rc;
			break;
		case 's':
			sort_given = 1;
			if (strcmp(optarg, "size") == 0)
				by_count = 0;
			else if (strcmp(optarg, "count") == 0)
				by_count = 1;
			else if (strcmp(optarg, "retained") == 0)
				by_count = 2;
			else
				return cli_usage_error(
				        "--sort: '%s' is not one of size, count, retained", optarg);
			break;
		case 'N':
			by_name = 1;
			break;
		case 'S':
			by_site = 1;
			break;
		case 'R':
			retained = 1;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, NULL)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(optind == argc ? "missing DUMP|DB"
		                                      : "expected one DUMP|DB, got %d files",
		                       argc - optind);
	if (by_name + by_site + retained > 1)
		return cli_usage_error("--names, --by-site and --retained cannot be combined");
	if (by_count == 2 && !retained)
		return cli_usage_error("--sort retained needs --retained");
	if (retained && !sort_given)
		by_count = 2;
	const char *file = argv[optind];
	if (limit < 0)
		limit = fmt == OUT_TABLE ? DEFAULT_TABLE_LIMIT : 0;
	sqlite3 *db;
	if ((rc = cli_open(file, 1, &db)))
		return rc;
	sqlite3_stmt *st = NULL;
	/* Fixed text chosen by the option, never user text. */
	const char *order = by_count == 2 ? "retained DESC, size DESC, type"
	                    : by_count    ? "count DESC, size DESC, type"
	                                  : "size DESC, count DESC, type";
	const char *rows_sql = by_site    ? by_site_sql
	                       : by_name  ? by_name_sql
	                       : retained ? by_retained_sql
	                                  : by_type_sql;
	char sql[2048];
	snprintf(sql, sizeof sql, "SELECT type, count, size%s FROM (%s) ORDER BY %s LIMIT ?1",
	         retained ? ", retained" : "", rows_sql, order);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = cli_sqlite_error(db, file, "cannot read the per-type table");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_bind_int64(st, 1, limit ? limit : -1);
	struct out_opts o = {fmt, (1u << 2) | (1u << 3), by_site ? site_headers : headers, 0};
	long long rows = out_rows(stdout, db, st, &o);
	sqlite3_finalize(st);
	if (rows < 0) {
		rc = cli_sqlite_error(db, file, "cannot read the per-type table");
	} else {
		rc = CLI_OK;
		if (fmt == OUT_TABLE)
			rc = footer(db, file, rows_sql, order, rows);
		if (fmt == OUT_TABLE && retained && !rc) {
			char mode[32];
			dom_view_mode(db, mode, sizeof mode);
			printf("(retained: what the type's objects keep alive, nothing counted "
			       "twice "
			       "within a type; types nest, so the column adds up to more than the "
			       "total; %s)\n",
			       strcmp(mode, "none") == 0 ? "every strong reference followed"
			                                 : "references into classes cut");
		}
	}
	sqlite3_close(db);
	return rc;
}
