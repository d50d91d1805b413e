/* cmd_growth.c — `pymple-analyze growth D1 D2 D3 ...`: the types whose
 * object count grows at every step of a series of dumps, the leak signal a
 * single diff cannot tell from warm-up noise. Reads the loader's per-type
 * totals of each dump into an in-memory table; writes no database. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "leak_cli.h"
#include "output.h"

static const char *const usage[] = {
        "growth D1 D2 [D3 ...] [--sort size|count] [--format table|csv|json] [--limit N]",
        "",
        "Types whose number of objects grows strictly from each dump (or database)",
        "to the next, with their count in every dump and the change from the",
        "first to the last (signed), the most at stake first. Sizes are size plus",
        "extra_size, as summary counts them.",
        "",
        "  --sort KEY         size (default: largest size growth first) or count",
        "  --format F         table (default), csv or json",
        "  --limit N          at most N types (default 0 = all)",
        "  -h, --help         this help",
        "",
        "CSV columns: type, count_1 .. count_K, count_delta, size_delta[, retained_delta].",
        "JSON: [{\"type\", \"counts\": [c1, ...], \"sizes\": [s1, ...], \"count_delta\",",
        "        \"size_delta\"[, \"retained\": [r1, ...], \"retained_delta\"]}, ...]",
        "      (deltas from the first dump to the last). The retained columns (per type,",
        "      as summary --retained) only when every dump was loaded in the same",
        "      --dominators mode (README: retained size).",
        NULL,
};

/* Copies dump i's per-type totals into mem's table g; clears *same_mode
 * unless its dominator mode (meta dominators.cut) is mode (set from the
 * first dump). */
static int collect(sqlite3 *src, const char *file, int i, sqlite3_stmt *ins, char *mode,
                   size_t mode_len, int *same_mode)
{
	sqlite3_stmt *st;
	char m[32];
	if (db_meta(src, "dominators.cut", m, sizeof m) != 1)
		*same_mode = 0;
	else if (i == 0)
		snprintf(mode, mode_len, "%s", m);
	else if (strcmp(mode, m) != 0)
		*same_mode = 0;
	if (sqlite3_prepare_v2(
	            src,
	            "SELECT t.name, sum(s.count), sum(s.size + s.extra_size), sum(s.retained)"
	            " FROM type_stats s JOIN types t ON t.id = s.type_id GROUP BY t.name",
	            -1, &st, NULL))
		return cli_sqlite_error(src, file, "growth");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_bind_int(ins, 1, i);
		sqlite3_bind_value(ins, 2, sqlite3_column_value(st, 0));
		sqlite3_bind_int64(ins, 3, sqlite3_column_int64(st, 1));
		sqlite3_bind_int64(ins, 4, sqlite3_column_int64(st, 2));
		sqlite3_bind_int64(ins, 5, sqlite3_column_int64(st, 3));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return cli_sqlite_error(sqlite3_db_handle(ins), file, "growth");
		}
		sqlite3_reset(ins);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : cli_sqlite_error(src, file, "growth");
}

int cmd_growth(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'l'},
	        {"sort", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 0;
	int c, rc, ret = 1, by_count = 0;
	char mode[32] = "";
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:l:s:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "size") && strcmp(optarg, "count"))
				return cli_usage_error("--sort: '%s' is not one of size, count",
				                       optarg);
			by_count = !strcmp(optarg, "count");
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	int k = argc - optind;
	if (k < 2) {
		return cli_usage_error("expected at least two dumps");
	}
	sqlite3 **dbs = calloc((size_t)k, sizeof *dbs);
	const char **headers = calloc((size_t)k + 4, sizeof *headers);
	char(*names)[16] = calloc((size_t)k, sizeof *names); /* "dump 1", ... */
	char *sql = malloc(2048 + (size_t)k * 100);
	sqlite3 *mem = NULL;
	sqlite3_stmt *st = NULL;
	if (!dbs || !headers || !sql || !names) {
		cli_error(NULL, "out of memory");
		rc = CLI_RUNTIME;
		goto out;
	}
	if ((rc = leak_open_many(argv + optind, k, dbs)))
		goto out;
	if (sqlite3_open(":memory:", &mem) ||
	    sqlite3_exec(mem,
	                 "CREATE TABLE g (dump INTEGER, type TEXT, count INTEGER, size INTEGER,"
	                 " retained INTEGER, PRIMARY KEY (type, dump)) WITHOUT ROWID",
	                 NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(mem, "INSERT INTO g VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL)) {
		rc = cli_sqlite_error(mem, NULL, "growth");
		goto out;
	}
	sqlite3_exec(mem, "BEGIN", NULL, NULL, NULL);
	for (int i = 0; i < k; i++) {
		if ((rc = collect(dbs[i], argv[optind + i], i, st, mode, sizeof mode, &ret)))
			goto out;
		sqlite3_close(dbs[i]);
		dbs[i] = NULL;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* A type missing from a dump has 0 objects there. */
	if (sqlite3_exec(mem,
	                 "INSERT OR IGNORE INTO g SELECT d.dump, t.type, 0, 0, 0 FROM"
	                 " (SELECT DISTINCT dump FROM g) d, (SELECT DISTINCT type FROM g) t;"
	                 "COMMIT;"
	                 "CREATE TEMP TABLE grow AS SELECT x.type AS type FROM g x JOIN g y"
	                 " ON y.type = x.type AND y.dump = x.dump + 1"
	                 " GROUP BY x.type HAVING min(y.count - x.count) > 0",
	                 NULL, NULL, NULL)) {
		rc = cli_sqlite_error(mem, NULL, "growth");
		goto out;
	}
	/* Only integers go into the generated SQL; dump names go in headers. */
#define DELTA_SQL                                                                                  \
	"(SELECT count FROM g WHERE type = w.type AND dump = %d) -"                                \
	" (SELECT count FROM g WHERE type = w.type AND dump = 0) AS count_delta,"                  \
	" (SELECT size FROM g WHERE type = w.type AND dump = %d) -"                                \
	" (SELECT size FROM g WHERE type = w.type AND dump = 0) AS size_delta"
#define RETAINED_DELTA_SQL                                                                         \
	", (SELECT retained FROM g WHERE type = w.type AND dump = %d) -"                           \
	" (SELECT retained FROM g WHERE type = w.type AND dump = 0) AS retained_delta"
	size_t n = 0;
	const char *order = by_count ? "count_delta DESC, size_delta DESC"
	                             : "size_delta DESC, count_delta DESC";
	if (fmt == OUT_JSON) {
		n += (size_t)sprintf(
		        sql + n,
		        "SELECT json_object('type', type, 'counts', json(counts), 'sizes',"
		        " json(sizes), 'count_delta', count_delta, 'size_delta', size_delta%s)"
		        " FROM (SELECT w.type AS type,",
		        ret ? ", 'retained', json(retained), 'retained_delta', retained_delta"
		            : "");
		n += (size_t)sprintf(
		        sql + n, " (SELECT json_group_array(count) FROM (SELECT count FROM g"
		                 "  WHERE type = w.type ORDER BY dump)) AS counts,"
		                 " (SELECT json_group_array(size) FROM (SELECT size FROM g"
		                 "  WHERE type = w.type ORDER BY dump)) AS sizes,"
		                 " (SELECT json_group_array(retained) FROM (SELECT retained FROM g"
		                 "  WHERE type = w.type ORDER BY dump)) AS retained, ");
		n += (size_t)sprintf(sql + n, DELTA_SQL, k - 1, k - 1);
		n += (size_t)sprintf(sql + n, RETAINED_DELTA_SQL, k - 1);
		n += (size_t)sprintf(sql + n, " FROM grow w) ORDER BY %s, type LIMIT ?1", order);
	} else {
		n += (size_t)sprintf(sql + n, "SELECT w.type AS type");
		for (int i = 0; i < k; i++)
			n += (size_t)sprintf(
			        sql + n,
			        ", (SELECT count FROM g WHERE type = w.type AND dump = %d)"
			        " AS count_%d",
			        i, i + 1);
		n += (size_t)sprintf(sql + n, ", ");
		n += (size_t)sprintf(sql + n, DELTA_SQL, k - 1, k - 1);
		if (ret)
			n += (size_t)sprintf(sql + n, RETAINED_DELTA_SQL, k - 1);
		n += (size_t)sprintf(sql + n, " FROM grow w ORDER BY %s, w.type LIMIT ?1", order);
	}
	if (sqlite3_prepare_v2(mem, sql, -1, &st, NULL)) {
		rc = cli_sqlite_error(mem, NULL, "growth");
		goto out;
	}
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	long long rows;
	if (fmt == OUT_JSON) {
		rows = leak_json_rows(stdout, st);
	} else {
		/* Short headers; the legend below maps them to the files. */
		headers[0] = "types";
		for (int i = 0; i < k; i++) {
			snprintf(names[i], sizeof names[i], "dump %d", i + 1);
			headers[i + 1] = names[i];
		}
		headers[k + 1] = "\u0394 objects";
		headers[k + 2] = "\u0394 size";
		headers[k + 3] = "\u0394 retained";
		uint64_t sizes = k + 3 < 64 ? (1ull << (k + 2)) | (ret ? 1ull << (k + 3) : 0) : 0;
		struct out_opts o = {fmt, fmt == OUT_TABLE ? sizes : 0,
		                     fmt == OUT_TABLE ? headers : NULL, 1};
		rows = out_rows_signed(stdout, mem, st, &o,
		                       k + 3 < 64 ? 1ull << (k + 1) | 1ull << (k + 2) |
		                                            (ret ? 1ull << (k + 3) : 0)
		                                  : 0);
	}
	if (rows < 0) {
		rc = cli_sqlite_error(mem, NULL, "growth");
	} else if (fmt == OUT_TABLE) {
		if (rows == 0)
			printf("no type grew at every step of the %d dumps\n", k);
		for (int i = 0; i < k; i++)
			printf("%sdump %d = %s", i ? ", " : "", i + 1, argv[optind + i]);
		putchar('\n');
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(mem);
	if (dbs)
		for (int i = 0; i < k; i++)
			sqlite3_close(dbs[i]);
	free(dbs);
	free(headers);
	free(names);
	free(sql);
	return rc;
}
