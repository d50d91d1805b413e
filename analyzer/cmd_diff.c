/* cmd_diff.c — `pymple-analyze diff A B [--new]`: what changed between two
 * dumps, per type (from the loader's type_stats), or the objects of B that
 * have no probable counterpart in A. Reads both databases, writes none
 * (besides loading a dump on first use).
 *
 * Identity rule ("probable" matches): CPython reuses the address of a freed
 * object for the next allocation of the same size class, so the same address
 * in A and B does not prove the same object. An object of B is taken to be
 * probably the same as an object of A when both the address AND the loader's
 * fingerprint match; the fingerprint hashes type, size, length, the value
 * preview and the types of the referents (README: diff matching), so a
 * recycled address almost always gets a different fingerprint. Objects whose
 * fingerprint changed legitimately (a list that grew, a dict that got a new
 * key) therefore count as new: `--new` errs on the side of showing them.
 *
 * Exact identity: when both dumps carry allocation serials (PYM_F_SERIAL,
 * meta load.serials > 0) and come from the same process (same pid), an
 * object with a serial matches exactly the object of A with the same
 * address and serial, whatever its fingerprint; objects without a serial
 * (created before the writer could number them) keep the probable rule. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "leak_cli.h"
#include "output.h"

static const char *const usage[] = {
        "diff A B [--new | --by-site] [--sort size|count] [--format table|csv|json] [--limit N]",
        "",
        "Per-type change from dump (or database) A to B: objects in A, in B and",
        "the change (\u0394, signed), then the same for their size (size plus",
        "extra_size, as summary counts it), the most at stake first (the largest",
        "change either way). Types that did not change are left out.",
        "",
        "  --new              list the objects of B with no match in A, largest",
        "                     first: same address and allocation serial when both",
        "                     dumps have serials (exact), else same address and",
        "                     fingerprint (probable)",
        "  --sort KEY         size (default: largest size change first) or count",
        "  --by-site          per allocation site instead of per type (the innermost",
        "                     tracemalloc frame, file:line; reachable objects only;",
        "                     objects without a site are the row `(no site)`)",
        "  --format F         table (default), csv or json",
        "  --limit N          at most N rows (0 = all; default all, 100 with --new)",
        "  -h, --help         this help",
        "",
        "JSON: [{\"type\" (the site with --by-site), \"count_a\", \"count_b\",",
        "        \"count_delta\", \"size_a\", \"size_b\", \"size_delta\", \"retained_a\",",
        "        \"retained_b\", \"retained_delta\"}, ...] (the retained columns per",
        "        type, as summary --retained, only when both dumps were loaded in the",
        "        same --dominators mode: README, retained size); with --new:",
        "      [{\"address\", \"type\", \"size\", \"value\"}, ...]",
        NULL,
};

/* A's identity keys sorted, for the pym_in_a() SQL function: (address,
 * 1, serial) for objects matched exactly, (address, 0, fingerprint) for the
 * others. */
struct pairs {
	size_t n;
	int exact; /* both dumps have serials from one process */
	uint64_t (*v)[3];
};

static int pair_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/* 1 if both databases (main = B, a = A) have serials from the same pid. */
static int serials_comparable(sqlite3 *db)
{
	sqlite3_stmt *st;
	int yes = 0;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT (SELECT CAST(value AS INTEGER) FROM main.meta WHERE key ="
	            " 'load.serials') > 0 AND (SELECT CAST(value AS INTEGER) FROM a.meta"
	            " WHERE key = 'load.serials') > 0 AND (SELECT value FROM main.meta"
	            " WHERE key = 'pid') IS (SELECT value FROM a.meta WHERE key = 'pid')",
	            -1, &st, NULL))
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		yes = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return yes;
}

static int pairs_load(sqlite3 *db, struct pairs *p)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	p->n = 0;
	p->v = NULL;
	p->exact = serials_comparable(db);
	if (sqlite3_prepare_v2(db, "SELECT address, fingerprint, serial FROM a.object_data", -1,
	                       &st, NULL))
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (p->n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			void *nv = realloc(p->v, cap * sizeof *p->v);
			if (!nv) {
				sqlite3_finalize(st);
				return -1;
			}
			p->v = nv;
		}
		int by_serial = p->exact && sqlite3_column_type(st, 2) != SQLITE_NULL;
		p->v[p->n][0] = (uint64_t)sqlite3_column_int64(st, 0);
		p->v[p->n][1] = (uint64_t)by_serial;
		p->v[p->n][2] = (uint64_t)sqlite3_column_int64(st, by_serial ? 2 : 1);
		p->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	qsort(p->v, p->n, sizeof *p->v, pair_cmp);
	return 0;
}

/* pym_in_a(address, fingerprint, serial): 1 if A has the same object (same
 * address and serial when matching exactly, else same address and
 * fingerprint). */
static void fn_in_a(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct pairs *p = sqlite3_user_data(ctx);
	int by_serial = p->exact && sqlite3_value_type(argv[2]) != SQLITE_NULL;
	uint64_t key[3] = {(uint64_t)sqlite3_value_int64(argv[0]), (uint64_t)by_serial,
	                   (uint64_t)sqlite3_value_int64(argv[by_serial ? 2 : 1])};
	sqlite3_result_int(ctx, p->n && bsearch(key, p->v, p->n, sizeof *p->v, pair_cmp) != NULL);
}

/* Per allocation site (--by-site): the rows of run_types() from object_data
 * (sizes with extra_size, as for types). */
#define SITE_ROWS(db)                                                                              \
	" SELECT coalesce(s.alloc, '(no site)') AS type, count(*) AS c, sum(o.size + "             \
	"o.extra_size) AS z"                                                                       \
	"  FROM " db ".object_data o LEFT JOIN " db ".sites s ON s.id = o.site"                    \
	"  WHERE o.reachable AND (o.flags & 64) = 0 GROUP BY 1"
static const char sites_x[] =
        "WITH x AS (SELECT type, c AS ca, z AS sa, 0 AS ra, 0 AS cb, 0 AS sb, 0 AS rb FROM "
        "(" SITE_ROWS("a") ") UNION ALL SELECT type, 0, 0, 0, c, z, 0 FROM (" SITE_ROWS(
                "main") ")),";

/* 1 if both databases (main = B, a = A) have retained sizes computed in the
 * same mode (meta dominators.cut, README: retained size). */
static int retained_comparable(sqlite3 *db)
{
	sqlite3_stmt *st;
	int yes = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT (SELECT value FROM main.meta WHERE key = 'dominators.cut') ="
	                       " (SELECT value FROM a.meta WHERE key = 'dominators.cut')",
	                       -1, &st, NULL))
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		yes = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return yes;
}

/* Per-type (or per-site) change, largest at stake first (|size change|, or
 * |count change| with by_count). Sizes are size + extra_size, as `summary`
 * counts them, so the totals agree with it. */
static int run_types(sqlite3 *db, const char *file, enum out_format fmt, long long limit,
                     int by_site, int by_count)
{
	/* type_stats is small (one row per type), so this is instant; names are
	 * the key because type ids differ between dumps. */
	static const char *const types_x =
	        "WITH x AS ("
	        " SELECT t.name AS type, s.count AS ca, s.size + s.extra_size AS sa, s.retained AS "
	        "ra,"
	        "  0 AS cb, 0 AS sb, 0 AS rb FROM a.type_stats s JOIN a.types t ON t.id = s.type_id"
	        " UNION ALL"
	        " SELECT t.name, 0, 0, 0, s.count, s.size + s.extra_size, s.retained"
	        "  FROM main.type_stats s JOIN main.types t ON t.id = s.type_id),";
	static const char *const sql_full =
	        "%s d AS (SELECT type, sum(ca) AS count_a, sum(cb) AS count_b,"
	        "  sum(cb) - sum(ca) AS count_delta, sum(sa) AS size_a, sum(sb) AS size_b,"
	        "  sum(sb) - sum(sa) AS size_delta, sum(ra) AS retained_a, sum(rb) AS retained_b,"
	        "  sum(rb) - sum(ra) AS retained_delta FROM x GROUP BY type)"
	        "SELECT type, count_a, count_b, count_delta, size_a, size_b, size_delta%s"
	        " FROM d WHERE count_delta != 0 OR size_delta != 0"
	        " ORDER BY %s, type LIMIT ?1";
	char sql[2048];
	int ret = !by_site && retained_comparable(db);
	snprintf(sql, sizeof sql, sql_full, by_site ? sites_x : types_x,
	         ret ? ", retained_a, retained_b, retained_delta" : "",
	         by_count ? "abs(count_delta) DESC, abs(size_delta) DESC"
	                  : "abs(size_delta) DESC, abs(count_delta) DESC");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
		return cli_sqlite_error(db, file, "diff");
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	static const char *const headers[] = {
	        "types",  "A",           "B",          "\u0394",     "A size",
	        "B size", "\u0394 size", "A retained", "B retained", "\u0394 retained"};
	static const char *const site_headers[] = {
	        "allocation site", "A", "B", "\u0394", "A size", "B size", "\u0394 size"};
	struct out_opts o = {fmt, fmt == OUT_TABLE ? (ret ? 63u << 4 : 7u << 4) : 0,
	                     fmt == OUT_TABLE ? (by_site ? site_headers : headers) : NULL, 1};
	long long rows =
	        out_rows_signed(stdout, db, st, &o, 1u << 3 | 1u << 6 | (ret ? 1u << 9 : 0));
	sqlite3_finalize(st);
	if (rows < 0)
		return cli_sqlite_error(db, file, "diff");
	if (fmt != OUT_TABLE)
		return 0;
	/* The totals over every type (not only the rows shown), as summary's. */
	static const char totals_types[] =
	        "SELECT (SELECT coalesce(sum(count), 0) FROM a.type_stats),"
	        " (SELECT coalesce(sum(size + extra_size), 0) FROM a.type_stats),"
	        " (SELECT coalesce(sum(count), 0) FROM main.type_stats),"
	        " (SELECT coalesce(sum(size + extra_size), 0) FROM main.type_stats)";
	static const char totals_sites[] = "SELECT (SELECT coalesce(sum(c), 0) FROM (" SITE_ROWS(
	        "a") ")),"
	             " (SELECT coalesce(sum(z), 0) FROM (" SITE_ROWS(
	                     "a") ")),"
	                          " (SELECT coalesce(sum(c), 0) FROM (" SITE_ROWS(
	                                  "main") ")),"
	                                          " (SELECT coalesce(sum(z), 0) FROM (" SITE_ROWS(
	                                                  "main") "))";
	if (sqlite3_prepare_v2(db, by_site ? totals_sites : totals_types, -1, &st, NULL) ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cli_sqlite_error(db, file, "diff");
	}
	long long ca = sqlite3_column_int64(st, 0), sa = sqlite3_column_int64(st, 1);
	long long cb = sqlite3_column_int64(st, 2), sb = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	char h1[16], h2[16], h3[16];
	if (rows == 0)
		printf("no %s changed: both have %lld objects, %s, with the same count and size "
		       "per %s\n",
		       by_site ? "site" : "type", cb, out_human_size(sb, h1, sizeof h1),
		       by_site ? "site" : "type");
	else
		printf("in all: %+lld objects, %s%s (A: %lld objects, %s; B: %lld objects, %s)\n",
		       cb - ca, sb >= sa ? "+" : "", out_human_size(sb - sa, h1, sizeof h1), ca,
		       out_human_size(sa, h2, sizeof h2), cb, out_human_size(sb, h3, sizeof h3));
	return 0;
}

static int run_new(sqlite3 *db, const char *file, enum out_format fmt, long long limit)
{
	struct pairs p;
	if (pairs_load(db, &p) < 0) {
		free(p.v);
		return cli_sqlite_error(db, file, "reading the first dump");
	}
	int status = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_create_function(db, "pym_in_a", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, &p,
	                            fn_in_a, NULL, NULL)) {
		status = cli_sqlite_error(db, file, "diff");
		goto out;
	}
	/* Synthetic records (threads, frames: flag bit 6) are not objects. */
	const char *sql =
	        fmt == OUT_TABLE
	                ? "SELECT printf('0x%x', o.address), t.name, o.size, substr(o.value, 1, 60)"
	                  " FROM main.object_data o JOIN main.types t ON t.id = o.type_id"
	                  " WHERE (o.flags & 64) = 0 AND NOT pym_in_a(o.address, o.fingerprint, "
	                  "o.serial)"
	                  " ORDER BY o.size DESC, o.id LIMIT ?1"
	                : "SELECT o.address AS address, t.name AS type, o.size AS size, o.value AS "
	                  "value"
	                  " FROM main.object_data o JOIN main.types t ON t.id = o.type_id"
	                  " WHERE (o.flags & 64) = 0 AND NOT pym_in_a(o.address, o.fingerprint, "
	                  "o.serial)"
	                  " ORDER BY o.size DESC, o.id LIMIT ?1";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL)) {
		status = cli_sqlite_error(db, file, "diff");
		goto out;
	}
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	static const char *const headers[] = {"address", "type", "size", "value"};
	struct out_opts o = {fmt, fmt == OUT_TABLE ? 1u << 2 : 0, fmt == OUT_TABLE ? headers : NULL,
	                     0};
	if (out_rows(stdout, db, st, &o) < 0) {
		status = cli_sqlite_error(db, file, "diff");
		goto out;
	}
	if (fmt == OUT_TABLE) {
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(
		            db,
		            "SELECT count(*),"
		            " coalesce(sum(NOT pym_in_a(address, fingerprint, serial)), 0),"
		            " coalesce(sum(CASE WHEN pym_in_a(address, fingerprint, serial) THEN 0"
		            " ELSE size END), 0) FROM main.object_data WHERE (flags & 64) = 0",
		            -1, &st, NULL) ||
		    sqlite3_step(st) != SQLITE_ROW) {
			status = cli_sqlite_error(db, file, "diff");
			goto out;
		}
		long long total = sqlite3_column_int64(st, 0), fresh = sqlite3_column_int64(st, 1);
		char hs[16];
		printf("%lld of %lld objects in B are new (%s); %lld have %s match in A (%s)\n",
		       fresh, total, out_human_size(sqlite3_column_int64(st, 2), hs, sizeof hs),
		       total - fresh, p.exact ? "an exact" : "a probable",
		       p.exact ? "same address and serial; objects without a serial: same address"
		                 " and fingerprint"
		               : "same address and fingerprint");
	}
out:
	sqlite3_finalize(st);
	free(p.v);
	return status;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"new", no_argument, NULL, 'n'},
	        {"format", required_argument, NULL, 'f'},
	        {"sort", required_argument, NULL, 's'},
	        {"by-site", no_argument, NULL, 'S'},
	        {"limit", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = -1;
	int new_only = 0, by_site = 0, by_count = 0, c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:l:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			new_only = 1;
			break;
		case 's':
			if (strcmp(optarg, "size") && strcmp(optarg, "count"))
				return cli_usage_error("--sort: '%s' is not one of size, count",
				                       optarg);
			by_count = !strcmp(optarg, "count");
			break;
		case 'S':
			by_site = 1;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (argc - optind != 2) {
		return cli_usage_error(argc - optind < 2
		                               ? "missing operand: expected two dumps, A and B"
		                               : "expected two dumps, A and B, got %d",
		                       argc - optind);
	}
	if (new_only && by_site)
		return cli_usage_error("--new and --by-site cannot be combined");
	if (limit < 0)
		limit = new_only ? 100 : 0;
	sqlite3 *dbs[2];
	if ((rc = leak_open_many(argv + optind, 2, dbs)))
		return rc;
	const char *a_file = sqlite3_db_filename(dbs[0], "main");
	const char *b_name = argv[optind + 1];
	/* B is the main database; A is attached read-only by file name. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(dbs[1], "ATTACH ?1 AS a", -1, &st, NULL) ||
	    sqlite3_bind_text(st, 1, a_file, -1, SQLITE_TRANSIENT) ||
	    sqlite3_step(st) != SQLITE_DONE) {
		rc = cli_sqlite_error(dbs[1], b_name, "attaching the first dump");
	} else {
		sqlite3_close(dbs[0]);
		dbs[0] = NULL;
		rc = new_only ? run_new(dbs[1], b_name, fmt, limit)
		              : run_types(dbs[1], b_name, fmt, limit, by_site, by_count);
	}
	sqlite3_finalize(st);
	sqlite3_close(dbs[0]);
	sqlite3_close(dbs[1]);
	return rc;
}
