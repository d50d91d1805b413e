/* test_load.c — the loader and db_open_input against a hand-made heap written
 * with the real writer (dumpfix.h): rows, references (missing ones kept),
 * roots, reachability, cycles, fingerprints by the documented rule, per-type
 * totals, reuse of DUMP.db, and that a failed load leaves no database. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "commands.h"
#include "db.h"
#include "dumpfix.h"
#include "heap_store.h"
#include "heap_view.h"
#include "load.h"
#include "refs_table.h"

static char *dir, *dump, *dbpath;
static sqlite3 *db;

static void setup(void)
{
	dir = fix_tmpdir();
	dump = fix_path(dir, "heap.dump");
	dbpath = fix_path(dir, "heap.dump.db");
	fix_write(dump, 1);
}

static void teardown(void)
{
	if (db)
		sqlite3_close(db);
	db = NULL;
	fix_rmdir(dir);
	free(dir);
	free(dump);
	free(dbpath);
}

/* The file is sound by SQLite's own check (the rows and the address index
 * are written page by page by sqlbulk.c, not through SQLite). */
static void expect_integrity(void)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static void load_fixture(void)
{
	struct db_error err;
	struct load_stats st;
	int rc = load_dump_refs(dump, dbpath, 1, NULL, NULL, &st, &err);
	cr_assert_eq(rc, 0, "load failed: %s: %s", err.file, err.msg);
	cr_expect_eq(st.objects, FIX_OBJECTS);
	cr_expect_eq(st.refs, FIX_REFS);
	cr_expect_eq(st.missing_refs, 1);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	expect_integrity();
}

/* The integer result of a one-value query. */
static long long q1(const char *sql)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
	             sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	long long v =
	        sqlite3_column_type(st, 0) == SQLITE_NULL ? -999 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text result of a one-value query (static buffer). */
static const char *qs(const char *sql)
{
	static char buf[1024];
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
	             sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(buf, sizeof buf, "%s", t ? (const char *)t : "(null)");
	sqlite3_finalize(st);
	return buf;
}

Test(load, objects_rows, .init = setup, .fini = teardown)
{
	load_fixture();
	cr_expect_eq(q1("SELECT count(*) FROM objects"), FIX_OBJECTS);
	cr_expect_str_eq(qs("SELECT type FROM objects WHERE address = 0x4000"), "__main__.A");
	cr_expect_eq(q1("SELECT size FROM objects WHERE address = 0x1000"), 232);
	cr_expect_eq(q1("SELECT extra_size FROM objects WHERE address = 0x4000"), 16);
	cr_expect_eq(q1("SELECT refcount FROM objects WHERE address = 0x8000"), 5);
	cr_expect_eq(q1("SELECT length FROM objects WHERE address = 0x3000"), 5);
	cr_expect_eq(q1("SELECT length IS NULL FROM objects WHERE address = 0x8000"), 1);
	cr_expect_str_eq(qs("SELECT value FROM objects WHERE address = 0x3000"), "hello");
	cr_expect_eq(q1("SELECT value IS NULL FROM objects WHERE address = 0x2000"), 1);
	cr_expect_eq(q1("SELECT synthetic FROM objects WHERE address = 0xb000"), 1);
	cr_expect_eq(q1("SELECT sum(synthetic) FROM objects"), 1);
	/* ids follow dump order */
	cr_expect_eq(q1("SELECT id FROM objects WHERE address = 0x1000"), 0);
	cr_expect_eq(q1("SELECT id FROM objects WHERE address = 0xd000"), 11);
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'python_version'"), "3.12.1");
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.complete'"), "1");
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.version'"),
	                 DB_LAYOUT_VERSION);
}

Test(load, references_and_labels, .init = setup, .fini = teardown)
{
	load_fixture();
	cr_expect_eq(q1("SELECT count(*) FROM refs"), FIX_REFS);
	cr_expect_str_eq(qs("SELECT label FROM refs WHERE src = 0x1000"), "['key']");
	cr_expect_str_eq(qs("SELECT group_concat(label, ' ') FROM (SELECT label FROM refs"
	                    " WHERE src = 0x2000 ORDER BY label)"),
	                 "[0] [1] [2]");
	cr_expect_str_eq(qs("SELECT label FROM refs WHERE src = 0x4000 AND dst = 0x3000"), ".attr");
	/* the reference to an address not in the dump is kept and flagged */
	cr_expect_eq(q1("SELECT missing FROM refs WHERE src = 0x2000 AND dst = 0xdead0"), 1);
	cr_expect_eq(q1("SELECT sum(missing) FROM refs"), 1);
	cr_expect_eq(q1("SELECT count(*) FROM refs WHERE dst = 0xdead0 AND missing"), 1);
	cr_expect_eq(q1("SELECT weak FROM refs WHERE src = 0x4000 AND dst = 0x9000"), 1);
	cr_expect_eq(q1("SELECT sum(weak) FROM refs"), 1);
	cr_expect_eq(q1("SELECT label IS NULL FROM refs WHERE src = 0xb000"), 1);
	/* order of references within an object is kept */
	cr_expect_eq(q1("SELECT dst FROM refs r WHERE src = 0x7000 AND label = '[1]'"), 0xd000);
	cr_expect_eq(q1("SELECT dst FROM refs WHERE src = 0x7000 ORDER BY rowid LIMIT 1 OFFSET 1"),
	             0xd000);
}

Test(load, roots_reachability_cycles, .init = setup, .fini = teardown)
{
	load_fixture();
	cr_expect_str_eq(qs("SELECT group_concat(printf('%x', address), ' ') FROM (SELECT address"
	                    " FROM objects WHERE root ORDER BY address)"),
	                 "1000 8000 b000 d000");
	cr_expect_str_eq(qs("SELECT group_concat(printf('%x', address), ' ') FROM (SELECT address"
	                    " FROM objects WHERE NOT reachable ORDER BY address)"),
	                 "5000 6000 7000 9000");
	cr_expect_eq(q1("SELECT count(*) FROM objects WHERE scc IS NOT NULL"), 3);
	cr_expect_eq(q1("SELECT count(DISTINCT scc) FROM objects"), 2);
	cr_expect_eq(q1("SELECT (SELECT scc FROM objects WHERE address = 0x5000) ="
	                " (SELECT scc FROM objects WHERE address = 0x6000)"),
	             1);
	cr_expect_eq(q1("SELECT (SELECT scc FROM objects WHERE address = 0x7000) !="
	                " (SELECT scc FROM objects WHERE address = 0x6000)"),
	             1);
	cr_expect_eq(q1("SELECT count(*) FROM roots"), 3);
	cr_expect_str_eq(qs("SELECT kind || ' ' || name FROM roots WHERE address = 0x1000"),
	                 "sys.modules key");
	cr_expect_eq(q1("SELECT object IS NULL FROM root_data WHERE address = 0xeeee0"), 1);
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.unreachable'"), "4");
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.cycles'"), "2");
}

Test(load, type_stats, .init = setup, .fini = teardown)
{
	load_fixture();
	cr_expect_str_eq(
	        qs("SELECT group_concat(x, ' ') FROM (SELECT t.name || ':' || s.count || ':'"
	           " || s.size || ':' || s.extra_size || ':' || s.unreachable || ':' ||"
	           " s.unreachable_size AS x FROM type_stats s JOIN types t ON t.id = s.type_id"
	           " ORDER BY t.name)"),
	        "__main__.A:1:48:16:0:0 dict:1:232:0:0:0 int:3:84:0:0:0 list:4:288:0:3:208"
	        " str:2:107:0:1:53");
	/* the thread record is not a Python object: not counted */
	cr_expect_eq(q1("SELECT count(*) FROM type_stats s JOIN types t ON t.id = s.type_id"
	                " WHERE t.name = 'thread'"),
	             0);
}

/* The fingerprint rule, written again here from its description:
 * FNV-1a 64 over H(type name), size, length (or all ones), the value bytes,
 * a 0 byte, then H(referent type name) (0 if not in the dump) per reference,
 * each number as 8 little-endian bytes, H = FNV-1a 64 of the name. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n--) {
		h ^= *b++;
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t fnv64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return fnv(h, b, 8);
}

static uint64_t H(const char *name)
{
	return fnv(14695981039346656037ull, name, strlen(name));
}

Test(load, fingerprints, .init = setup, .fini = teardown)
{
	load_fixture();
	/* 2000: list, size 80, length 3, no value, refs to str, __main__.A, missing */
	uint64_t h = fnv64(14695981039346656037ull, H("list"));
	h = fnv64(h, 80);
	h = fnv64(h, 3);
	h = fnv(h, "", 1);
	h = fnv64(h, H("str"));
	h = fnv64(h, H("__main__.A"));
	h = fnv64(h, 0);
	cr_expect_eq((uint64_t)q1("SELECT fingerprint FROM objects WHERE address = 0x2000"), h);
	/* 8000: int, size 28, no length, value "42", no refs */
	h = fnv64(14695981039346656037ull, H("int"));
	h = fnv64(h, 28);
	h = fnv64(h, UINT64_MAX);
	h = fnv(h, "42", 2);
	h = fnv(h, "", 1);
	cr_expect_eq((uint64_t)q1("SELECT fingerprint FROM objects WHERE address = 0x8000"), h);
	/* equal content, different address: equal fingerprints (c000 "7" vs d000 "8" differ) */
	cr_expect_neq(q1("SELECT fingerprint FROM objects WHERE address = 0xc000"),
	              q1("SELECT fingerprint FROM objects WHERE address = 0xd000"));
}

static int dir_entries(const char *d)
{
	int n = 0;
	DIR *dp = opendir(d);
	cr_assert(dp);
	struct dirent *e;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

Test(load, failed_load_leaves_no_database, .init = setup, .fini = teardown)
{
	struct stat sb;
	cr_assert_eq(stat(dump, &sb), 0);
	cr_assert_eq(truncate(dump, sb.st_size - 10), 0);
	struct db_error err;
	cr_expect_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), -1);
	cr_expect_eq(err.status, 2);
	cr_expect_eq(access(dbpath, F_OK), -1, "a database was left behind");
	cr_expect_eq(dir_entries(dir), 1, "a temporary file was left behind");
	/* through db_open_input too */
	sqlite3 *d = NULL;
	cr_expect_eq(db_open_input(dump, NULL, &d, &err), -1);
	cr_expect_null(d);
	cr_expect_eq(err.status, 2);
	cr_expect_eq(dir_entries(dir), 1);
}

/* The dump cut short between the two passes: pass 2's decoding thread meets
 * the end early; the load fails with where, and leaves no file behind. */
static void cut_after_pass1(void *ctx, int pass, uint64_t done, uint64_t total)
{
	if (pass == 1 && done == total && total > 10)
		cr_assert_eq(truncate((const char *)ctx, (off_t)total - 10), 0);
}

Test(load, dump_cut_between_the_passes, .init = setup, .fini = teardown)
{
	struct db_error err;
	cr_expect_eq(load_dump(dump, dbpath, cut_after_pass1, dump, NULL, &err), -1);
	cr_expect_eq(err.status, 2);
	cr_expect_str_eq(err.file, dump);
	cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
	cr_expect_eq(dir_entries(dir), 1, "only the dump is left");
}

Test(load, dump_db_is_reused_while_unchanged, .init = setup, .fini = teardown)
{
	struct db_error err;
	sqlite3 *d;
	cr_assert_eq(db_open_input(dump, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(access(dbpath, F_OK), 0);
	/* mark this database: if it is reused, the mark is still there */
	cr_assert_eq(
	        sqlite3_exec(d, "INSERT INTO meta VALUES ('test.mark', 'x')", NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(d);
	char v[16];
	cr_assert_eq(db_open_input(dump, NULL, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(db_meta(d, "test.mark", v, sizeof v), 1, "DUMP.db was not reused");
	sqlite3_close(d);
	/* a dump with another mtime is loaded again */
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, dump, ts, 0), 0);
	cr_assert_eq(db_open_input(dump, NULL, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(db_meta(d, "test.mark", v, sizeof v), 0, "a stale DUMP.db was reused");
	sqlite3_close(d);
	/* the database itself can be given */
	cr_assert_eq(db_open_input(dbpath, NULL, &d, &err), 0, "%s", err.msg);
	sqlite3_close(d);
}

Test(load, read_only_connection_refuses_writes, .init = setup, .fini = teardown)
{
	struct db_error err;
	struct db_open_opts o = {1, NULL, NULL, NULL, NULL};
	sqlite3 *d;
	cr_assert_eq(db_open_input(dump, &o, &d, &err), 0, "%s", err.msg);
	cr_expect_neq(sqlite3_exec(d, "DELETE FROM meta", NULL, NULL, NULL), SQLITE_OK);
	cr_expect_neq(sqlite3_exec(d, "CREATE TABLE x(a)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(d);
}

static void expect_open_error(const char *path, const char *needle)
{
	struct db_error err;
	sqlite3 *d = (sqlite3 *)1;
	cr_expect_eq(db_open_input(path, NULL, &d, &err), -1, "%s opened", path);
	cr_expect_null(d);
	cr_expect_eq(err.status, 2, "%s: status %d (%s)", path, err.status, err.msg);
	cr_expect(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", path, err.msg,
	          needle);
	cr_expect(strchr(err.msg, '\n') == NULL);
}

Test(load, bad_inputs, .init = setup, .fini = teardown)
{
	char *p = fix_path(dir, "missing.dump");
	expect_open_error(p, "no such file");
	free(p);
	p = fix_path(dir, "empty.dump");
	fclose(fopen(p, "w"));
	expect_open_error(p, "empty");
	free(p);
	/* a database that is not a complete pymple database */
	p = fix_path(dir, "other.db");
	sqlite3 *d;
	cr_assert_eq(sqlite3_open(p, &d), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(d, "CREATE TABLE t(a)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(d);
	expect_open_error(p, "not a pymple database");
	cr_assert_eq(sqlite3_open(p, &d), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(d, "CREATE TABLE meta(key, value)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(d);
	expect_open_error(p, "schema differs");
	free(p);
	expect_open_error(dir, "directory");
}

/* A longer heap: a chain of 200000 lists from one root, every 1000th link
 * also referring to an address not in the dump; all reachable, none in a
 * cycle, and one object with more references than one record holds. */
Test(load, long_chain_and_wide_object, .init = setup, .fini = teardown)
{
	enum { N = 200000, WIDE = 70000 };
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, tl;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &tl), 0);
	struct pym_ref *refs = calloc(WIDE, sizeof *refs);
	cr_assert(refs);
	for (uint64_t i = 0; i < N; i++) {
		struct pym_ref r[2] = {{0x100000 + 16 * (i + 1), fix_lab(0, PYM_LABEL_INDEX)},
		                       {0x10, fix_lab(1, PYM_LABEL_INDEX)}};
		uint32_t nr = i + 1 < N ? 1 : 0;
		if (i % 1000 == 999 && nr)
			nr = 2;
		struct pym_object o = {0x100000 + 16 * i,
		                       tl,
		                       PYM_F_LENGTH,
		                       64,
		                       i ? 1 : 2,
		                       nr,
		                       0,
		                       0,
		                       NULL,
		                       0,
		                       nr,
		                       r};
		cr_assert_eq(pym_writer_object(w, &o), 0);
	}
	for (uint32_t i = 0; i < WIDE; i++)
		refs[i] = (struct pym_ref){0x100000 + 16 * (uint64_t)(i % N),
		                           fix_lab(i, PYM_LABEL_INDEX)};
	struct pym_object wide = {0x90000000, tl, PYM_F_LENGTH, 8 * WIDE, 1,    WIDE,
	                          0,          0,  NULL,         0,        WIDE, refs};
	cr_assert_eq(pym_writer_object(w, &wide), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	free(refs);
	struct db_error err;
	struct load_stats st;
	cr_assert_eq(load_dump_refs(dump, dbpath, 1, NULL, NULL, &st, &err), 0, "%s", err.msg);
	cr_expect_eq(st.objects, N + 1);
	cr_expect_eq(st.missing_refs, N / 1000 - 1);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(q1("SELECT count(*) FROM object_data WHERE reachable"), N + 1);
	cr_expect_eq(q1("SELECT count(*) FROM object_data WHERE scc IS NOT NULL"), 0);
	cr_expect_eq(q1("SELECT count(*) FROM refs WHERE src = 0x90000000"), WIDE);
	/* roots: the chain head (rc 2 > 0) and the wide object (rc 1 > 0) */
	cr_expect_eq(q1("SELECT count(*) FROM object_data WHERE root"), 2);
	/* many pages of rows and of index: sound, and the index finds them */
	expect_integrity();
	cr_expect_eq(q1("SELECT count(*) FROM object_rows INDEXED BY object_address"
	                " WHERE address >= 0"),
	             N + 1);
	cr_expect_eq(q1("SELECT id FROM object_rows INDEXED BY object_address"
	                " WHERE address = 1048576 + 16 * 123457"),
	             123457);
	cr_expect_eq(q1("SELECT id FROM object_rows INDEXED BY object_address"
	                " WHERE address = 2415919104"),
	             N);
}

/* A dump with no objects at all loads, and every count is zero. */
Test(load, empty_heap, .init = setup, .fini = teardown)
{
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	cr_assert(w);
	cr_assert_eq(pym_writer_meta(w, "rss", "100", 3), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	struct load_stats st;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, &st, &err), 0, "%s", err.msg);
	cr_expect_eq(st.objects, 0);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(q1("SELECT count(*) FROM objects"), 0);
	cr_expect_eq(q1("SELECT count(*) FROM type_stats"), 0);
	expect_integrity();
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.complete'"), "1");
}

/* Two objects at one address (a dump that raced a free, or a corrupt one):
 * both rows loaded, counted in meta, references resolve to the first. */
Test(load, duplicate_address, .init = setup, .fini = teardown)
{
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	struct pym_ref r[] = {{0x2000, fix_lab(0, PYM_LABEL_INDEX)}};
	struct pym_object a = {0x1000, t, 0, 64, 1, 0, 0, 0, NULL, 0, 1, r};
	struct pym_object b = {0x2000, t, 0, 72, 1, 0, 0, 0, NULL, 0, 0, NULL};
	struct pym_object c = {0x2000, t, 0, 80, 1, 0, 0, 0, NULL, 0, 0, NULL};
	cr_assert_eq(pym_writer_object(w, &a), 0);
	cr_assert_eq(pym_writer_object(w, &b), 0);
	cr_assert_eq(pym_writer_object(w, &c), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(q1("SELECT count(*) FROM object_data"), 3);
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.duplicate_addresses'"), "1");
	/* both in the address index, in id order */
	expect_integrity();
	cr_expect_eq(q1("SELECT group_concat(id) = '1,2' FROM object_rows INDEXED BY object_address"
	                " WHERE address = 8192"),
	             1);
	/* the heap kept with the database resolves the reference to the first */
	struct heap h;
	heap_init(&h);
	cr_assert_eq(heap_load(db, dbpath, &h, &err), 0, "%s", err.msg);
	cr_expect_eq(h.dst[0], 1);
	heap_release(&h);
}

/* Addresses with the top bit set are negative as SQLite integers: the
 * address index the loader writes itself keeps SQLite's order. */
Test(load, address_index_in_sqlite_order, .init = setup, .fini = teardown)
{
	static const uint64_t addr[] = {0x8000000000000010ull, 0x10,   0x7fffffffffffff00ull,
	                                0xfffffffffffffff0ull, 0x1000, 0xfffffffffffffff0ull,
	                                0x8000000000000000ull, 0x20};
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_string(w, "int", 3, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x30, &t), 0);
	for (size_t i = 0; i < sizeof addr / sizeof *addr; i++) {
		struct pym_object o = {addr[i], t, 0, 28, 1, 0, 0, 0, NULL, 0, 0, NULL};
		cr_assert_eq(pym_writer_object(w, &o), 0);
	}
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	expect_integrity();
	cr_expect_str_eq(qs("SELECT group_concat(id) FROM (SELECT id FROM object_rows"
	                    " INDEXED BY object_address WHERE address IS NOT NULL)"),
	                 "6,0,3,5,1,7,4,2");
	cr_expect_str_eq(qs("SELECT group_concat(id) FROM (SELECT id FROM object_rows NOT INDEXED"
	                    " ORDER BY address, id)"),
	                 "6,0,3,5,1,7,4,2");
	cr_expect_eq(q1("SELECT id FROM object_rows INDEXED BY object_address"
	                " WHERE address = -9223372036854775792"),
	             0);
}

/* Objects of 4 GiB or more (size + extra_size over 32 bits, which the
 * loader keeps aside until the tree is built): retained sizes stay exact. */
Test(load, retained_of_huge_objects, .init = setup, .fini = teardown)
{
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_string(w, "bytearray", 9, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	struct pym_ref r[] = {{0x2000, fix_lab(0, PYM_LABEL_INDEX)},
	                      {0x3000, fix_lab(1, PYM_LABEL_INDEX)}};
	const uint64_t G = 1ull << 30;
	/* a root (refcount 1, no referrer) holding the two others */
	struct pym_object a = {0x1000, t, 0, 5 * G, 1, 0, 0, 0, NULL, 0, 2, r};
	struct pym_object b = {0x2000, t, PYM_F_EXTRA, 4 * G - 1, 1, 0, 7, 0, NULL, 0, 0, NULL};
	struct pym_object c = {0x3000, t, 0, 100, 1, 0, 0, 0, NULL, 0, 0, NULL};
	cr_assert_eq(pym_writer_object(w, &a), 0);
	cr_assert_eq(pym_writer_object(w, &b), 0);
	cr_assert_eq(pym_writer_object(w, &c), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(q1("SELECT retained FROM objects WHERE address = 0x2000"), 4 * G + 6);
	cr_expect_eq(q1("SELECT retained FROM objects WHERE address = 0x3000"), 100);
	cr_expect_eq(q1("SELECT retained FROM objects WHERE address = 0x1000"), 9 * G + 106);
	cr_expect_eq(q1("SELECT idom FROM objects WHERE address = 0x2000"), 0);
	cr_expect_eq(q1("SELECT count(*) FROM objects WHERE idom IS NULL AND root AND reachable"),
	             1);
	cr_expect_eq(q1("SELECT value FROM meta WHERE key = 'dominators.reachable'"), 9 * G + 106);
}

/* A DUMP.db of another layout version is rebuilt from its dump; given
 * directly (no dump at hand) it is refused with a message saying so. */
Test(load, other_layout_version, .init = setup, .fini = teardown)
{
	struct db_error err;
	sqlite3 *d;
	cr_assert_eq(db_open_input(dump, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_exec(d, "UPDATE meta SET value = '0' WHERE key = 'load.version'", NULL,
	                          NULL, NULL),
	             SQLITE_OK);
	sqlite3_close(d);
	d = (sqlite3 *)1;
	cr_expect_eq(db_open_input(dbpath, NULL, &d, &err), -1);
	cr_expect_null(d);
	cr_expect_eq(err.status, 2);
	cr_expect(strstr(err.msg, "layout 0") != NULL, "%s", err.msg);
	char v[16];
	cr_assert_eq(db_open_input(dump, NULL, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(db_meta(d, "load.version", v, sizeof v), 1);
	cr_expect_str_eq(v, DB_LAYOUT_VERSION);
	sqlite3_close(d);
}

/* ---- the refs view uses indexes (no full scan) for dst and src ---------- */

/* The EXPLAIN QUERY PLAN lines of sql, joined by '\n' (static buffer). */
static const char *plan(const char *sql)
{
	static char buf[4096];
	char q[1024];
	sqlite3_stmt *st;
	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	size_t n = 0;
	buf[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	return buf;
}

Test(load, refs_view_filters_use_indexes, .init = setup, .fini = teardown)
{
	load_fixture();
	const char *p = plan("SELECT * FROM refs WHERE dst = 12288");
	cr_expect(strstr(p, "SCAN") == NULL, "refs WHERE dst scans:\n%s", p);
	cr_expect(strstr(p, "USING INDEX refs_dst (dst=?)") != NULL, "refs WHERE dst:\n%s", p);
	p = plan("SELECT * FROM refs WHERE src = 8192");
	cr_expect(strstr(p, "SCAN") == NULL, "refs WHERE src scans:\n%s", p);
	/* and the answers are the same as before: 3000 is held by 2000 [0] and
	 * 4000 .attr; dead0 (not in the dump) by 2000 [2] */
	cr_expect_eq(q1("SELECT count(*) FROM refs WHERE dst = 12288"), 2);
	cr_expect_str_eq(qs("SELECT group_concat(label, ' ') FROM (SELECT label FROM refs"
	                    " WHERE dst = 12288 ORDER BY src)"),
	                 "[0] .attr");
	cr_expect_str_eq(qs("SELECT group_concat(printf('%x:%s:%d', dst, label, missing), ' ') FROM"
	                    " (SELECT * FROM refs WHERE src = 8192 ORDER BY label)"),
	                 "3000:[0]:0 4000:[1]:0 dead0:[2]:1");
	cr_expect_eq(q1("SELECT count(*) FROM refs"), FIX_REFS);
	cr_expect_eq(q1("SELECT count(*) FROM refs WHERE missing"), 1);
}

/* ---- the SCC rule: references into type objects do not make cycles ----- */

/* class C at 0x100 (a type object: TYPE record address) -> its dict 0x200 ->
 * function 0x300 -> globals 0x400 -> instance 0x500 -> class C (every
 * instance holds its class): one component of 5 without the rule, none with
 * it. Instances 0x600 <-> 0x700 refer to each other (and to C): one cycle of
 * two. */
Test(load, scc_ignores_references_into_classes, .init = setup, .fini = teardown)
{
	int fd = open(dump, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, tt, tc, tf, td;
	cr_assert_eq(pym_writer_string(w, "type", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x90, &tt), 0);
	cr_assert_eq(pym_writer_string(w, "__main__.C", 10, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x100, &tc), 0);
	cr_assert_eq(pym_writer_string(w, "function", 8, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x91, &tf), 0);
	cr_assert_eq(pym_writer_string(w, "dict", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x92, &td), 0);
	struct pym_ref r100[] = {{0x200, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r200[] = {{0x300, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r300[] = {{0x400, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r400[] = {{0x500, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r500[] = {{0x100, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r600[] = {{0x100, fix_lab(0, PYM_LABEL_NONE)},
	                         {0x700, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_ref r700[] = {{0x100, fix_lab(0, PYM_LABEL_NONE)},
	                         {0x600, fix_lab(0, PYM_LABEL_NONE)}};
	struct pym_object o[] = {
	        {0x100, tt, 0, 900, 9, 0, 0, 0, NULL, 0, 1, r100},
	        {0x200, td, 0, 100, 1, 0, 0, 0, NULL, 0, 1, r200},
	        {0x300, tf, 0, 100, 1, 0, 0, 0, NULL, 0, 1, r300},
	        {0x400, td, 0, 100, 1, 0, 0, 0, NULL, 0, 1, r400},
	        {0x500, tc, 0, 48, 1, 0, 0, 0, NULL, 0, 1, r500},
	        {0x600, tc, 0, 48, 1, 0, 0, 0, NULL, 0, 2, r600},
	        {0x700, tc, 0, 48, 1, 0, 0, 0, NULL, 0, 2, r700},
	};
	for (size_t i = 0; i < sizeof o / sizeof *o; i++)
		cr_assert_eq(pym_writer_object(w, &o[i]), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(
	        q1("SELECT count(*) FROM object_data WHERE address <= 1280 AND scc IS NOT NULL"),
	        0);
	cr_expect_eq(
	        q1("SELECT count(DISTINCT scc) FROM object_data WHERE address IN (1536, 1792)"), 1);
	cr_expect_eq(q1("SELECT count(*) FROM object_data WHERE scc = (SELECT scc FROM object_data"
	                " WHERE address = 1536)"),
	             2);
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.cycles'"), "1");
	/* reachability still uses every reference: C (rc 9 > 3 in the dump) is a
	 * root and reaches 0x200..0x500; 0x600/0x700 are held only by each other */
	cr_expect_eq(q1("SELECT group_concat(reachable, '') FROM (SELECT reachable FROM object_data"
	                " ORDER BY id)"),
	             1111100);
}

/* ---- allocation serials: stored, shown, and diff matches on them -------- */

struct sobj {
	uint64_t addr, size, serial; /* serial 0: none */
	const char *value;
};

static void write_serial_dump(const char *path, const char *pid, const struct sobj *so, int n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_meta(w, "pid", pid, strlen(pid)), 0);
	cr_assert_eq(pym_writer_string(w, "str", 3, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x90, &t), 0);
	for (int i = 0; i < n; i++) {
		struct pym_object o = {so[i].addr,
		                       t,
		                       PYM_F_VALUE | (so[i].serial ? PYM_F_SERIAL : 0),
		                       so[i].size,
		                       2,
		                       0,
		                       0,
		                       so[i].serial,
		                       so[i].value,
		                       (uint32_t)strlen(so[i].value),
		                       0,
		                       NULL};
		cr_assert_eq(pym_writer_object(w, &o), 0);
	}
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
}

/* Runs `diff A B --new --format csv` and returns its stdout (static). */
static const char *diff_new(char *a, char *b)
{
	static char out[4096];
	char *path = fix_path(dir, "diff.out");
	fflush(stdout);
	int saved = dup(1), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	char *args[] = {"diff", a, b, "--new", "--format", "csv", NULL};
	int rc = cmd_diff(6, args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_assert_eq(rc, 0);
	FILE *fp = fopen(path, "r");
	size_t n = fread(out, 1, sizeof out - 1, fp);
	out[n] = 0;
	fclose(fp);
	free(path);
	return out;
}

Test(load, serials_give_exact_identity_in_diff, .init = setup, .fini = teardown)
{
	char *a = fix_path(dir, "a.dump"), *b = fix_path(dir, "b.dump"),
	     *c = fix_path(dir, "c.dump");
	/* 1000: the same object (serial 1) whose value changed (a new fingerprint);
	 * 2000: freed and its address reused by an identical-looking new object
	 * (serial 7): only the serial tells; 3000: new; 4000: no serial on
	 * either side, unchanged: matched by fingerprint. */
	const struct sobj sa[] = {
	        {0x1000, 50, 1, "old"}, {0x2000, 60, 2, "same"}, {0x4000, 70, 0, "pre"}};
	const struct sobj sb[] = {{0x1000, 52, 1, "newer"},
	                          {0x2000, 60, 7, "same"},
	                          {0x3000, 80, 8, "fresh"},
	                          {0x4000, 70, 0, "pre"}};
	write_serial_dump(a, "42", sa, 3);
	write_serial_dump(b, "42", sb, 4);
	write_serial_dump(c, "43", sb, 4); /* another process: serials not comparable */
	cr_expect_str_eq(diff_new(a, b), "address,type,size,value\r\n12288,str,80,fresh\r\n"
	                                 "8192,str,60,same\r\n");
	/* without comparable serials the probable rule applies: 1000 changed its
	 * fingerprint (new), 2000 looks the same (probable match) */
	cr_expect_str_eq(diff_new(a, c), "address,type,size,value\r\n12288,str,80,fresh\r\n"
	                                 "4096,str,52,newer\r\n");
	char *bdb = fix_path(dir, "b.dump.db");
	cr_assert_eq(sqlite3_open_v2(bdb, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_eq(q1("SELECT serial FROM objects WHERE address = 8192"), 7);
	cr_expect_eq(q1("SELECT serial FROM objects WHERE address = 16384"), -999); /* NULL */
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.serials'"), "3");
	free(a);
	free(b);
	free(c);
	free(bdb);
}

/* ---- the heap kept with the database, and refs on demand ----------------- */

/* A default load has no refs table: a plain client's query of refs fails with
 * a message naming the command that builds it; refs_table_ensure builds it
 * once, with the same rows a `load --refs` writes. */
Test(load, refs_built_on_demand, .init = setup, .fini = teardown)
{
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	cr_expect_neq(sqlite3_prepare_v2(db, "SELECT * FROM refs", -1, &st, NULL), SQLITE_OK);
	cr_expect(strstr(sqlite3_errmsg(db), "pymple-analyze load --refs") != NULL, "%s",
	          sqlite3_errmsg(db));
	sqlite3_finalize(st);
	cr_expect_eq(refs_table_built(db), 0);
	cr_assert_eq(refs_table_ensure(db, dbpath, &err), 0, "%s", err.msg);
	cr_expect_eq(refs_table_built(db), 1);
	cr_assert_eq(refs_table_ensure(db, dbpath, &err), 0, "%s", err.msg); /* once */
	cr_expect_eq(q1("SELECT count(*) FROM refs"), FIX_REFS);
	cr_expect_str_eq(qs("SELECT label FROM refs WHERE src = 0x4000 AND dst = 0x3000"), ".attr");
	cr_expect_str_eq(qs("SELECT value FROM meta WHERE key = 'load.refs_table'"), "1");
	/* a join of referrers with their objects uses indexes on both sides */
	const char *p = plan("SELECT r.label, o.type, o.address FROM refs r JOIN objects o"
	                     " ON o.address = r.src WHERE r.dst = 12288");
	cr_expect(strstr(p, "SCAN") == NULL, "the README's join scans:\n%s", p);
	refs_table_named("x");
	cr_expect(refs_table_named("select * FROM Refs r"));
	cr_expect(refs_table_named("select * from refs"));
	cr_expect(!refs_table_named("select * from refs_x"));
	cr_expect(!refs_table_named("select xrefs from objects"));
}

/* The heap read back from the database agrees with the rows of objects. */
Test(load, heap_read_back_matches_rows, .init = setup, .fini = teardown)
{
	load_fixture();
	struct db_error err;
	struct heap h;
	heap_init(&h);
	cr_assert_eq(heap_load(db, dbpath, &h, &err), 0, "%s", err.msg);
	cr_expect_eq(h.n, FIX_OBJECTS);
	cr_expect_eq(h.m, FIX_REFS);
	cr_expect_eq(h.nmissing, 1);
	cr_expect_eq(h.missing[0], 0xdead0);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT id, address, root, reachable, scc FROM objects",
	                                -1, &st, NULL),
	             SQLITE_OK);
	int rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
		cr_assert_lt(id, h.n);
		cr_expect_eq(h.addr[id], (uint64_t)sqlite3_column_int64(st, 1));
		cr_expect_eq((h.flags[id] & HEAP_ROOT) != 0, sqlite3_column_int(st, 2));
		cr_expect_eq((h.flags[id] & HEAP_REACHED) != 0, sqlite3_column_int(st, 3));
		cr_expect_eq(h.scc[id], sqlite3_column_type(st, 4) == SQLITE_NULL
		                                ? HEAP_NONE
		                                : (uint32_t)sqlite3_column_int64(st, 4));
		rows++;
	}
	sqlite3_finalize(st);
	cr_expect_eq(rows, FIX_OBJECTS);
	/* 0x2000 [1] -> 0x4000: edge 2 of the dump order (after 0x1000's one) */
	cr_expect_eq(h.addr[h.dst[2]], 0x4000);
	cr_expect_eq(h.kind[2], HEAP_REF_INDEX);
	cr_expect_eq(heap_label(&h, 2), 1);
	heap_release(&h);
}

/* A damaged heap is refused with one line, never used. */
Test(load, damaged_heap_is_refused, .init = setup, .fini = teardown)
{
	struct db_error err;
	static const char *const damage[] = {
	        "UPDATE heap_chunk SET data = zeroblob(length(data)) WHERE part = 1",
	        "UPDATE heap_chunk SET count = count + 1 WHERE part = 0",
	        "UPDATE meta SET value = value + 1 WHERE key = 'heap.refs'",
	        "DELETE FROM heap_chunk WHERE part = 1",
	        "UPDATE heap_chunk SET first = 1 WHERE part = 0",
	};
	for (size_t i = 0; i < sizeof damage / sizeof *damage; i++) {
		cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(db, damage[i], NULL, NULL, NULL), SQLITE_OK, "%s",
		             sqlite3_errmsg(db));
		struct heap h;
		heap_init(&h);
		memset(&err, 0, sizeof err);
		cr_expect_eq(heap_load(db, dbpath, &h, &err), -1, "%s: heap accepted", damage[i]);
		cr_expect_eq(err.status, 2, "%s", damage[i]);
		cr_expect(strstr(err.msg, "damaged database") != NULL, "%s: %s", damage[i],
		          err.msg);
		cr_expect_null(h.dst);
		/* the lean heap the graph commands read refuses it the same way */
		struct heap_refs refs;
		memset(&err, 0, sizeof err);
		cr_expect_eq(heap_load_lean(db, dbpath, &h, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS,
		                            &refs, &err),
		             -1, "%s: lean heap accepted", damage[i]);
		cr_expect(err.status == 2 && strstr(err.msg, "damaged database") != NULL, "%s: %s",
		          damage[i], err.msg);
		cr_expect_null(h.flags);
		sqlite3_close(db);
		db = NULL;
	}
}

/* An index label of 33 bits or more (a list longer than 4G items) survives
 * the heap's 32-bit label array, the database and the refs table. */
Test(load, wide_index_label, .init = setup, .fini = teardown)
{
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	struct pym_ref r[] = {{0x2000, fix_lab(5000000000ull, PYM_LABEL_INDEX)},
	                      {0x2000, fix_lab(7, PYM_LABEL_INDEX)}};
	struct pym_object a = {0x1000, t, 0, 64, 1, 0, 0, 0, NULL, 0, 2, r};
	struct pym_object b = {0x2000, t, 0, 72, 2, 0, 0, 0, NULL, 0, 0, NULL};
	cr_assert_eq(pym_writer_object(w, &a), 0);
	cr_assert_eq(pym_writer_object(w, &b), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump_refs(dump, dbpath, 1, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_expect_str_eq(qs("SELECT group_concat(label, ' ') FROM refs"), "[5000000000] [7]");
	struct heap h;
	heap_init(&h);
	cr_assert_eq(heap_load(db, dbpath, &h, &err), 0, "%s", err.msg);
	cr_expect_eq(heap_label(&h, 0), 5000000000ull);
	cr_expect_eq(heap_label(&h, 1), 7);
	cr_expect_eq(h.nwide, 1);
	heap_release(&h);
}

/* Random damage to the stored heap (a byte of a chunk, a count of its row)
 * never crashes the reader: it is refused, or what it accepts passes
 * heap_check (under ASan this also proves no read out of bounds). */
Test(load, randomly_damaged_heap_never_crashes, .init = setup, .fini = teardown)
{
	enum { N = 3000 };
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, t;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	for (uint64_t i = 0; i < N; i++) {
		struct pym_ref r[3] = {
		        {0x100000 + 16 * ((i * 7 + 1) % N), fix_lab(0, PYM_LABEL_INDEX)},
		        {0x100000 + 16 * ((i * 13 + 5) % N), fix_lab(0, PYM_LABEL_KEY)},
		        {0xdead0 + 16 * i, fix_lab(0, PYM_LABEL_WEAK)}};
		struct pym_object o = {0x100000 + 16 * i, t, 0, 64, 1, 0, 0, 0, NULL, 0, 3, r};
		cr_assert_eq(pym_writer_object(w, &o), 0);
	}
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TEMP TABLE good AS SELECT * FROM heap_chunk", NULL,
	                          NULL, NULL),
	             SQLITE_OK);
	uint32_t seed = 7;
	int refused = 0, accepted = 0;
	for (int round = 0; round < 300; round++) {
		char sql[512];
		seed = seed * 1103515245u + 12345u;
		int col = (int)((seed >> 8) % 9);
		seed = seed * 1103515245u + 12345u;
		unsigned pick = (seed >> 8) % 1000, byte = (seed >> 4) % 251;
		static const char *const cols[] = {"part",    "first",     "count", "base",
		                                   "missing", "wide_base", "wide",  "ulen"};
		/* restore, then damage one chunk: a byte of its data or one column */
		cr_assert_eq(sqlite3_exec(db,
		                          "DELETE FROM heap_chunk; INSERT INTO heap_chunk SELECT *"
		                          " FROM temp.good",
		                          NULL, NULL, NULL),
		             SQLITE_OK);
		if (col == 8)
			snprintf(sql, sizeof sql,
			         "UPDATE heap_chunk SET data = substr(data, 1, %u %% length(data))"
			         " || x'%02x' || substr(data, %u %% length(data) + 2)"
			         " WHERE id = (SELECT id FROM heap_chunk ORDER BY id"
			         " LIMIT 1 OFFSET %u %% (SELECT count(*) FROM heap_chunk))",
			         pick, byte, pick, pick);
		else
			snprintf(sql, sizeof sql,
			         "UPDATE heap_chunk SET %s = %s + %d WHERE id = (SELECT id FROM "
			         "heap_chunk"
			         " ORDER BY id LIMIT 1 OFFSET %u %% (SELECT count(*) FROM "
			         "heap_chunk))",
			         cols[col], cols[col], (int)(byte % 5) - 2, pick);
		cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
		             sqlite3_errmsg(db));
		struct heap h;
		char why[256];
		heap_init(&h);
		memset(&err, 0, sizeof err);
		if (heap_load(db, dbpath, &h, &err) == 0) {
			accepted++;
			cr_assert_eq(heap_check(&h, why, sizeof why), 0, "%s", why);
		} else {
			refused++;
			cr_assert(err.status == 2 && strstr(err.msg, "damaged database"), "%s",
			          err.msg);
			cr_assert_null(h.dst);
		}
		heap_release(&h);
		/* the lean heap: refused cleanly, or every part of it in range */
		struct heap_refs refs;
		memset(&err, 0, sizeof err);
		if (heap_load_lean(db, dbpath, &h, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS, &refs,
		                   &err) == 0) {
			cr_assert_eq(h.off[h.n], h.m);
			for (uint32_t v = 0; v < h.n; v++) {
				cr_assert_leq(h.off[v], h.off[v + 1]);
				cr_assert_lt(h.type[v], h.ntypes);
				for (uint64_t k = h.roff[v]; k < h.roff[v + 1]; k++)
					cr_assert_lt(h.rsrc[k], h.n);
			}
			for (uint64_t e = 0; e < h.m; e++) {
				struct heap_ref r;
				if (heap_refs_get(&refs, e, &r, why, sizeof why) == 0)
					cr_assert(r.dst < h.n || r.dst == HEAP_NONE);
			}
			heap_refs_release(&refs);
		} else {
			cr_assert(err.status == 2 && strstr(err.msg, "damaged database"), "%s",
			          err.msg);
		}
		heap_release(&h);
	}
	cr_expect_gt(refused, 100, "only %d of 300 damaged heaps refused", refused);
}

/* A lean heap (heap_load_lean: what path, referrers and garbage read) holds
 * what the full heap holds for those parts: flags, offsets, types, and the
 * referrers with or without weak references; every reference decoded on
 * demand equals the full heap's. The dump spans several references chunks,
 * with weak references, missing targets, every label kind and repeated
 * references from one source to one target. */
static void expect_lean_matches_full(void)
{
	struct db_error err;
	struct heap full, lean;
	heap_init(&full);
	heap_init(&lean);
	cr_assert_eq(heap_load(db, dbpath, &full, &err), 0, "%s", err.msg);
	cr_assert_eq(heap_reverse(&full), 0);
	for (unsigned parts = 0; parts < 4; parts++) {
		struct heap_refs refs;
		cr_assert_eq(heap_load_lean(db, dbpath, &lean, parts, &refs, &err), 0, "%s",
		             err.msg);
		cr_assert_eq(lean.n, full.n);
		cr_assert_eq(lean.m, full.m);
		cr_expect_null(lean.dst);
		cr_expect_null(lean.redge);
		cr_expect_eq(memcmp(lean.flags, full.flags, full.n), 0);
		cr_expect_eq(memcmp(lean.off, full.off, (full.n + 1) * sizeof *full.off), 0);
		if (parts & HEAP_LEAN_TYPE)
			cr_expect_eq(memcmp(lean.type, full.type, full.n * sizeof *full.type), 0);
		else
			cr_expect_null(lean.type);
		/* referrers: the full heap's, the weak ones marked */
		uint64_t k = 0;
		for (uint32_t v = 0; v < full.n; v++) {
			cr_assert_eq(lean.roff[v], k, "object %u (parts %u)", v, parts);
			for (uint64_t j = full.roff[v]; j < full.roff[v + 1]; j++) {
				uint32_t e = full.redge[j];
				int w = full.kind[e] == HEAP_REF_WEAK;
				if (parts & HEAP_LEAN_REFERRERS) {
					cr_assert_eq(lean.rsrc[k], full.rsrc[j]);
					cr_assert_eq(w, (lean.rweak[k >> 3] >> (k & 7)) & 1);
				}
				k++;
			}
		}
		cr_assert_eq(lean.roff[full.n], k);
		if (!(parts & HEAP_LEAN_REFERRERS))
			cr_expect_null(lean.rsrc);
		/* references on demand, forwards then backwards (chunk changes) */
		char why[200];
		for (int pass = 0; pass < 2 && parts == 0; pass++)
			for (uint64_t i = 0; i < full.m; i++) {
				uint64_t e = pass ? full.m - 1 - i : i;
				struct heap_ref r;
				cr_assert_eq(heap_refs_get(&refs, e, &r, why, sizeof why), 0, "%s",
				             why);
				cr_assert_eq(r.dst, full.dst[e], "reference %llu",
				             (unsigned long long)e);
				cr_assert_eq(r.kind, full.kind[e]);
				cr_assert_eq(r.label, heap_label(&full, e));
			}
		struct heap_ref r;
		cr_expect_eq(heap_refs_get(&refs, full.m, &r, why, sizeof why), -1);
		heap_refs_release(&refs);
		heap_release(&lean);
	}
	heap_release(&full);
}

Test(load, lean_heap_matches_full, .init = setup, .fini = teardown)
{
	enum { N = 60000 };
	int fd = open(dump, O_WRONLY | O_TRUNC, 0600);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	uint32_t s, a, t, u;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_string(w, "attr", 4, &a), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	cr_assert_eq(pym_writer_type(w, a, 0x20, &u), 0);
	uint32_t seed = 11;
	for (uint64_t i = 0; i < N; i++) {
		struct pym_ref r[5];
		uint16_t nr = 0;
		seed = seed * 1103515245u + 12345u;
		uint64_t x = 0x100000 + 16 * ((seed >> 8) % N),
		         y = 0x100000 + 16 * ((i * 7 + 3) % N);
		r[nr++] = (struct pym_ref){x, fix_lab(i, PYM_LABEL_INDEX)};
		r[nr++] = (struct pym_ref){y, fix_lab(a, PYM_LABEL_ATTR)};
		if (i % 3 == 0)
			r[nr++] = (struct pym_ref){x, fix_lab(0, PYM_LABEL_WEAK)};
		if (i % 5 == 0)
			r[nr++] = (struct pym_ref){x, fix_lab(s, PYM_LABEL_KEY)}; /* x twice more */
		if (i % 7 == 0)
			r[nr++] = (struct pym_ref){0xdead0 + 16 * i, fix_lab(0, PYM_LABEL_NONE)};
		if (i == 5)
			r[nr++] = (struct pym_ref){y, fix_lab(6000000000ull, PYM_LABEL_INDEX)};
		struct pym_object o = {
		        0x100000 + 16 * i, i % 2 ? t : u, 0, 64, 1, 0, 0, 0, NULL, 0, nr, r};
		cr_assert_eq(pym_writer_object(w, &o), 0);
	}
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	close(fd);
	struct db_error err;
	cr_assert_eq(load_dump(dump, dbpath, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_gt(q1("SELECT count(*) FROM heap_chunk WHERE part = 1"), 1,
	             "one references chunk: the test would not cross chunks");
	expect_lean_matches_full();
	/* the reference behind each referrer entry, as the commands read it
	 * from a lean heap, is the whole heap's (sampled targets, every entry:
	 * weak ones, repeated sources, entries past the first of a source) */
	struct heap_view full, lean;
	cr_assert_eq(heap_view_open(&full, dbpath), 0);
	cr_assert_eq(heap_view_open_lean(&lean, dbpath, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS), 0);
	uint64_t checked = 0;
	for (uint32_t v = 0; v < full.h.n; v += 37)
		for (uint64_t k = full.h.roff[v]; k < full.h.roff[v + 1]; k++) {
			uint32_t e;
			cr_assert_eq(lean.h.rsrc[k], full.h.rsrc[k]);
			cr_assert_eq(heap_view_rev_edges(&lean, v, k, 1, &e), 0);
			cr_assert_eq(e, full.h.redge[k], "object %u entry %llu", v,
			             (unsigned long long)k);
			cr_assert_eq(heap_view_rev_weak(&lean, k), heap_view_rev_weak(&full, k));
			checked++;
		}
	cr_expect_gt(checked, 3000);
	heap_view_close(&lean);
	heap_view_close(&full);
	/* a chunk damaged after the lean heap was read: a clean refusal */
	sqlite3_close(db);
	cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	struct heap h;
	struct heap_refs refs;
	heap_init(&h);
	cr_assert_eq(heap_load_lean(db, dbpath, &h, HEAP_LEAN_REFERRERS, &refs, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(sqlite3_exec(db,
	                          "UPDATE heap_chunk SET data = zeroblob(length(data))"
	                          " WHERE part = 1",
	                          NULL, NULL, NULL),
	             SQLITE_OK);
	struct heap_ref r;
	char why[200] = "";
	cr_expect_eq(heap_refs_get(&refs, 0, &r, why, sizeof why), -1);
	cr_expect(strstr(why, "does not decompress") != NULL, "%s", why);
	heap_refs_release(&refs);
	heap_release(&h);
}
