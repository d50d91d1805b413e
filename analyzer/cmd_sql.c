/* cmd_sql.c — `pymple-analyze sql DUMP|DB "SELECT ..."`: runs one statement
 * of the user's own SQL on a read-only connection (SQLITE_OPEN_READONLY,
 * PRAGMA query_only and sqlguard's authorizer: no ATTACH, no VACUUM INTO, no
 * writes) within --timeout and --max-memory, and prints its rows. It never
 * writes any file. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "refs_table.h"
#include "sqlguard.h"

static const char *const usage[] = {
        "sql DUMP|DB \"SELECT ...\" [--format table|csv|json]",
        "",
        "Runs one read-only SQL statement on the loaded dump and prints its rows.",
        "Query the views objects, refs, roots and the table meta (schema/schema.sql).",
        "A query naming refs first builds the refs table if this database has none",
        "yet (once; `load --refs` does it at load time).",
        "json is an array of objects keyed by column name. Only reading is allowed",
        "(no ATTACH, VACUUM, writes or pragma changes); a query stops after",
        "--timeout seconds (default 600) or at --max-memory of SQLite heap (1G).",
        "",
        "  -f, --format F    table (default), csv or json",
        "  -h, --help        this help",
        NULL,
};

/* A query naming refs gets the refs table built first (once per database),
 * on a read-write connection of its own. */
static int ensure_refs(const char *file)
{
	sqlite3 *db;
	struct db_error err;
	int rc = cli_open(file, 0, &db);
	if (rc)
		return rc;
	memset(&err, 0, sizeof err);
	if (refs_table_ensure(db, file, &err) < 0) {
		cli_error(err.file[0] ? err.file : file, "%s", err.msg);
		rc = err.status ? err.status : CLI_RUNTIME;
	}
	sqlite3_close(db);
	return rc;
}

int cmd_sql(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	int c, rc;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, NULL)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("expected DUMP|DB and one SQL statement, got %d arguments",
		                       argc - optind);
	const char *file = argv[optind], *query = argv[optind + 1];
	sqlite3 *db;
	if (refs_table_named(query) && (rc = ensure_refs(file)))
		return rc;
	if ((rc = cli_open(file, 1, &db)))
		return rc;
	if (sqlguard_readonly(db) != SQLITE_OK) {
		rc = cli_sqlite_error(db, file, "sql");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v2(db, query, -1, &st, &tail) != SQLITE_OK) {
		cli_error(file, "sql: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return CLI_BAD_INPUT;
	}
	while (tail && (isspace((unsigned char)*tail) || *tail == ';'))
		tail++;
	if (!st || (tail && *tail) || !sqlite3_stmt_readonly(st)) {
		cli_error(file, "sql: %s",
		          !st             ? "no statement given"
		          : tail && *tail ? "give one statement only"
		                          : "not a read-only statement");
		sqlite3_finalize(st);
		sqlite3_close(db);
		return CLI_BAD_INPUT;
	}
	struct out_opts o = {fmt, 0, NULL, 0};
	long long rows = out_rows(stdout, db, st, &o);
	rc = CLI_OK;
	if (rows < 0) {
		char why[128];
		const char *limit = sqlguard_why(db, why, sizeof why);
		cli_error(file, "sql: %s", limit ? limit : sqlite3_errmsg(db));
		rc = CLI_BAD_INPUT;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
