/* test_sqlbulk.c — b-trees written by sqlbulk.c into files SQLite created,
 * judged by SQLite: PRAGMA integrity_check on the result, every row and
 * index entry read back through SQL (a full scan, rowid seeks and index
 * lookups), then more rows inserted by SQLite itself into the same file.
 * Small pages and the lock-byte page moved near the start reach deep trees
 * and the page SQLite never uses. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpfix.h"
#include "sqlbulk.h"

static char *dir, *path;

static void setup(void)
{
	dir = fix_tmpdir();
	path = fix_path(dir, "t.db");
}

static void teardown(void)
{
	fix_rmdir(dir);
	free(dir);
	free(path);
	sqlbulk_lock_byte = 0x40000000u;
	sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE, 0x40000000);
}

/* Row i's values: a mix of integer widths (negative ones too), NULLs and
 * texts of every length up to long ones. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int64_t key_of(uint64_t i)
{
	return (int64_t)mix(i + 7) >> (mix(i) % 60); /* any sign, any width; may repeat */
}

static uint32_t max_text = 1000; /* fits a page: no overflow pages are built */

static void row_of(uint64_t i, struct sqlrec *r, char *text, uint32_t *tlen)
{
	uint64_t h = mix(i * 3 + 1);
	sqlrec_init(r);
	sqlrec_null(r); /* id: the rowid alias */
	sqlrec_int(r, key_of(i));
	sqlrec_int(r, (int64_t)(h % 3)); /* 0, 1, 2 */
	if (h & 8)
		sqlrec_null(r);
	else
		sqlrec_int(r, -(int64_t)(h >> 20));
	*tlen = (uint32_t)(h % 7 == 0 ? (h >> 8) % max_text : (h >> 8) % 12);
	for (uint32_t k = 0; k < *tlen; k++)
		text[k] = (char)('a' + (i + k) % 26);
	sqlrec_text(r, text, *tlen);
}

struct keys {
	uint64_t n;
	int64_t *key;   /* sorted by (key, rowid) */
	int64_t *rowid; /* rowid = 2 * i + 5 */
};

static void index_entry(void *ctx, uint64_t i, struct sqlrec *r)
{
	const struct keys *k = ctx;
	sqlrec_init(r);
	sqlrec_int(r, k->key[i]);
	sqlrec_int(r, k->rowid[i]);
}

static struct keys *sorted_keys(uint64_t n)
{
	struct keys *k = calloc(1, sizeof *k);
	k->n = n;
	k->key = malloc((n + 1) * sizeof *k->key);
	k->rowid = malloc((n + 1) * sizeof *k->rowid);
	for (uint64_t i = 0; i < n; i++) {
		k->key[i] = key_of(i);
		k->rowid[i] = (int64_t)(2 * i + 5);
	}
	/* insertion sort is too slow for 200k; a simple bottom-up merge sort */
	int64_t *tk = malloc((n + 1) * sizeof *tk), *tr = malloc((n + 1) * sizeof *tr);
	for (uint64_t w = 1; w < n; w *= 2) {
		for (uint64_t lo = 0; lo < n; lo += 2 * w) {
			uint64_t mid = lo + w < n ? lo + w : n,
			         hi = lo + 2 * w < n ? lo + 2 * w : n;
			uint64_t a = lo, b = mid, o = lo;
			while (a < mid || b < hi) {
				int take_a = b >= hi || (a < mid && (k->key[a] < k->key[b] ||
				                                     (k->key[a] == k->key[b] &&
				                                      k->rowid[a] < k->rowid[b])));
				uint64_t s = take_a ? a++ : b++;
				tk[o] = k->key[s];
				tr[o++] = k->rowid[s];
			}
		}
		memcpy(k->key, tk, n * sizeof *tk);
		memcpy(k->rowid, tr, n * sizeof *tr);
	}
	free(tk);
	free(tr);
	return k;
}

static void free_keys(struct keys *k)
{
	free(k->key);
	free(k->rowid);
	free(k);
}

static uint32_t root_of(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	uint32_t root = 0;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
	                                -1, &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		root = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return root;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

/* Builds t (n rows) and its index on k by bulk, on pages of pgsz bytes,
 * with `before` rows SQLite inserted into another table first. */
static void build(uint64_t n, int pgsz, int before)
{
	sqlite3 *db;
	char sql[256];
	unlink(path);
	umask(077); /* sqlbulk_open wants a file nobody else can open */
	max_text = pgsz - 35 - 40 < 1000 ? (uint32_t)pgsz - 35 - 40 : 1000;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql,
	         "PRAGMA page_size = %d; PRAGMA journal_mode = OFF; CREATE TABLE other(x);"
	         " CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s INTEGER, v INTEGER, txt "
	         "TEXT);"
	         " CREATE INDEX t_k ON t(k); CREATE TABLE after(y)",
	         pgsz);
	exec(db, sql);
	for (int i = 0; i < before; i++)
		exec(db, "INSERT INTO other VALUES (randomblob(300))");
	uint32_t troot = root_of(db, "t"), iroot = root_of(db, "t_k");
	cr_assert(troot && iroot);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);

	struct sqlbulk b;
	struct sqlrec r;
	char text[1024];
	uint32_t tlen;
	cr_assert_eq(sqlbulk_open(&b, path), 0, "%s", b.why);
	cr_assert_eq(sqlbulk_table_begin(&b, troot), 0, "%s", b.why);
	for (uint64_t i = 0; i < n; i++) {
		row_of(i, &r, text, &tlen);
		cr_assert_eq(sqlbulk_table_add(&b, (int64_t)(2 * i + 5), &r), 0, "%s", b.why);
	}
	cr_assert_eq(sqlbulk_table_end(&b), 0, "%s", b.why);
	struct keys *k = sorted_keys(n);
	cr_assert_eq(sqlbulk_index(&b, iroot, n, index_entry, k), 0, "%s", b.why);
	free_keys(k);
	cr_assert_eq(sqlbulk_close(&b), 0, "%s", b.why);
}

static void check(uint64_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct sqlrec r;
	char text[1024];
	uint32_t tlen;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);

	/* a full scan in rowid order gives every row back, value for value */
	cr_assert_eq(
	        sqlite3_prepare_v2(db, "SELECT id, k, s, v, txt FROM t ORDER BY id", -1, &st, NULL),
	        SQLITE_OK);
	uint64_t i = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		cr_assert_lt(i, n);
		row_of(i, &r, text, &tlen);
		uint64_t h = mix(i * 3 + 1);
		cr_assert_eq(sqlite3_column_int64(st, 0), (int64_t)(2 * i + 5));
		cr_assert_eq(sqlite3_column_int64(st, 1), key_of(i));
		cr_assert_eq(sqlite3_column_int64(st, 2), (int64_t)(h % 3));
		if (h & 8)
			cr_assert_eq(sqlite3_column_type(st, 3), SQLITE_NULL);
		else
			cr_assert_eq(sqlite3_column_int64(st, 3), -(int64_t)(h >> 20));
		cr_assert_eq(sqlite3_column_type(st, 4), SQLITE_TEXT);
		cr_assert_eq((uint32_t)sqlite3_column_bytes(st, 4), tlen);
		cr_assert(memcmp(sqlite3_column_text(st, 4), text, tlen) == 0);
		i++;
	}
	sqlite3_finalize(st);
	cr_assert_eq(i, n);

	/* seeks: by rowid (the table tree), by key (the index) */
	sqlite3_stmt *by_id, *by_k;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT k FROM t WHERE id = ?1", -1, &by_id, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "SELECT count(*) FROM t INDEXED BY t_k WHERE k = ?1"
	                                " AND id = ?2",
	                                -1, &by_k, NULL),
	             SQLITE_OK);
	for (uint64_t j = 0; j < n; j += 1 + n / 2000) {
		sqlite3_bind_int64(by_id, 1, (int64_t)(2 * j + 5));
		cr_assert_eq(sqlite3_step(by_id), SQLITE_ROW);
		cr_assert_eq(sqlite3_column_int64(by_id, 0), key_of(j));
		sqlite3_reset(by_id);
		sqlite3_bind_int64(by_k, 1, key_of(j));
		sqlite3_bind_int64(by_k, 2, (int64_t)(2 * j + 5));
		cr_assert_eq(sqlite3_step(by_k), SQLITE_ROW);
		cr_assert_eq(sqlite3_column_int64(by_k, 0), 1, "row %" PRIu64 " not in the index",
		             j);
		sqlite3_reset(by_k);
	}
	sqlite3_finalize(by_id);
	sqlite3_finalize(by_k);

	/* the index holds as many entries as the table rows */
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "SELECT count(*) FROM t INDEXED BY t_k WHERE k IS NOT NULL",
	                                -1, &st, NULL),
	             SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq((uint64_t)sqlite3_column_int64(st, 0), n);
	sqlite3_finalize(st);

	/* SQLite goes on writing the same file: rows in t, in the index, in a
	 * table created before the bulk pages and in one created after */
	exec(db, "INSERT INTO t(k, s, v, txt) VALUES (-1, 2, 3, 'x'), (1 << 40, 0, 0, '');"
	         " INSERT INTO after VALUES (randomblob(5000)); INSERT INTO other VALUES (1);"
	         " CREATE TABLE later(z); INSERT INTO later VALUES (zeroblob(20000))");
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

Test(sqlbulk, empty_and_tiny_trees, .init = setup, .fini = teardown)
{
	static const uint64_t sizes[] = {0, 1, 2, 3, 17};
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		build(sizes[s], 4096, 0);
		check(sizes[s]);
	}
}

/* Every count around the first leaf boundaries on 512-byte pages: the
 * last entry alone, a level with a single child left over, two levels. */
Test(sqlbulk, around_page_boundaries, .init = setup, .fini = teardown)
{
	for (uint64_t n = 1; n <= 120; n++) {
		build(n, 512, n % 3);
		check(n);
	}
}

Test(sqlbulk, deep_trees_on_small_pages, .init = setup, .fini = teardown)
{
	build(200000, 512, 5);
	check(200000);
}

Test(sqlbulk, big_pages, .init = setup, .fini = teardown)
{
	build(150000, 65536, 1);
	check(150000);
}

/* The lock-byte page moved to 64 KiB: the trees grow past it, and SQLite,
 * told the same, finds nothing on it. */
Test(sqlbulk, skips_the_lock_byte_page, .init = setup, .fini = teardown)
{
	sqlbulk_lock_byte = 0x10000;
	cr_assert_eq(sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE, 0x10000), 0x40000000);
	build(20000, 1024, 3);
	check(20000);
}

Test(sqlbulk, refuses_what_it_did_not_expect, .init = setup, .fini = teardown)
{
	struct sqlbulk b;
	sqlite3 *db;
	cr_assert_neq(sqlbulk_open(&b, path), 0); /* no file */
	cr_assert_str_eq(b.why, "cannot open: no such file or directory");
	build(10, 4096, 0);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	uint32_t troot = root_of(db, "t"), iroot = root_of(db, "t_k"), oroot = root_of(db, "other");
	sqlite3_close(db);
	cr_assert_eq(sqlbulk_open(&b, path), 0, "%s", b.why);
	/* a root that is not empty, one of the wrong kind, one past the end */
	cr_assert_neq(sqlbulk_table_begin(&b, troot), 0);
	cr_assert_neq(sqlbulk_table_begin(&b, iroot), 0);
	cr_assert_neq(sqlbulk_index(&b, oroot, 0, index_entry, NULL), 0);
	cr_assert_neq(sqlbulk_table_begin(&b, b.npages + 1), 0);
	cr_assert(strstr(b.why, "not an empty b-tree root"), "%s", b.why);
	sqlbulk_release(&b);
	/* not an SQLite file; a WAL database */
	FILE *f = fopen(path, "w");
	fputs("not a database at all, not even close to one; padding padding padding padding"
	      " padding padding padding padding",
	      f);
	fclose(f);
	cr_assert_neq(sqlbulk_open(&b, path), 0);
	cr_assert_str_eq(b.why, "not an SQLite database");
	unlink(path);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t(x)");
	sqlite3_close(db);
	cr_assert_neq(sqlbulk_open(&b, path), 0);
	cr_assert_str_eq(b.why, "an SQLite database of a kind not built here");
	/* a file others may read is not one the loader made */
	chmod(path, 0644);
	cr_assert_neq(sqlbulk_open(&b, path), 0);
	cr_assert_str_eq(b.why, "not a database file of ours (owner or mode)");
}

/* Trailing columns that hold their default are left out of a record
 * (sqlrec_trim) and SQLite reads them back as that default: NULL, or 0 for
 * a column declared DEFAULT 0; a 0 in a NULL-default column, or a NULL in a
 * 0-default one, stays in the record. */
Test(sqlbulk, trailing_defaults_left_out, .init = setup, .fini = teardown)
{
	/* values of a (NULL default), b (DEFAULT 0), c (NULL default); 7 = NULL */
	static const int v[][3] = {{7, 0, 7}, {0, 0, 7}, {7, 7, 7}, {1, 0, 0}, {7, 0, 5},
	                           {0, 7, 0}, {2, 3, 7}, {7, 0, 0}, {0, 0, 0}};
	enum { N = sizeof v / sizeof *v };
	sqlite3 *db;
	unlink(path);
	umask(077);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "PRAGMA journal_mode = OFF; CREATE TABLE u(id INTEGER PRIMARY KEY, t TEXT,"
	         " a INTEGER, b INTEGER DEFAULT 0, c INTEGER)");
	uint32_t root = root_of(db, "u");
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
	struct sqlbulk bk;
	struct sqlrec r, full;
	cr_assert_eq(sqlbulk_open(&bk, path), 0, "%s", bk.why);
	cr_assert_eq(sqlbulk_table_begin(&bk, root), 0, "%s", bk.why);
	uint32_t saved = 0;
	for (int i = 0; i < N; i++) {
		sqlrec_init(&r);
		sqlrec_null(&r);
		sqlrec_text(&r, "x", 1);
		for (int c = 0; c < 3; c++)
			if (v[i][c] == 7)
				sqlrec_null(&r);
			else
				sqlrec_int(&r, v[i][c]);
		full = r;
		sqlrec_trim(&r, 2, 1u << 3);
		saved += sqlrec_size(&full) - sqlrec_size(&r);
		cr_assert_eq(sqlbulk_table_add(&bk, i, &r), 0, "%s", bk.why);
	}
	cr_assert_eq(sqlbulk_table_end(&bk), 0, "%s", bk.why);
	cr_assert_eq(sqlbulk_close(&bk), 0, "%s", bk.why);
	/* header bytes left out: rows 0 (3), 1 (2: c, b; not the 0 in a), 2 (1: c;
	 * not the NULL in b), 6 (1: c); none of the others ends in its default */
	cr_expect_eq(saved, 7);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	cr_assert_eq(
	        sqlite3_prepare_v2(db, "SELECT id, t, a, b, c FROM u ORDER BY id", -1, &st, NULL),
	        SQLITE_OK);
	int i = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		cr_assert_lt(i, N);
		cr_expect_eq(sqlite3_column_int(st, 0), i);
		cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), "x");
		for (int c = 0; c < 3; c++) {
			if (v[i][c] == 7)
				cr_expect_eq(sqlite3_column_type(st, 2 + c), SQLITE_NULL,
				             "row %d col %d", i, c);
			else {
				cr_expect_eq(sqlite3_column_type(st, 2 + c), SQLITE_INTEGER,
				             "row %d col %d", i, c);
				cr_expect_eq(sqlite3_column_int(st, 2 + c), v[i][c],
				             "row %d col %d", i, c);
			}
		}
		i++;
	}
	sqlite3_finalize(st);
	cr_expect_eq(i, N);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}
