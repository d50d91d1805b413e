/* test_fuzz_replay.c — replays the fuzz seed corpus (tests/fuzz/corpus/) in
 * every `make test` and asserts each seed's outcome, which its name states:
 * ok-* read to a verified end in every mode of the reader (memory, file in
 * pieces without tables, file gathered whole) and load into a database that
 * opens; bad-* are refused in every mode with a clean error, and by the
 * loader with status 2 and no database left. Inputs starting with 'R' are
 * framed as the fuzz targets frame them (tests/fuzz/frame.h). The heap
 * target's seeds (tests/fuzz/corpus-heap) likewise, through heap_load. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../fuzz/frame.h"
#include "../fuzz/heapdb.h"
#include "db.h"
#include "heap.h"
#include "heap_store.h"
#include "load.h"
#include "reader.h"

/* Reads the whole input; 0 at a verified end, -1 with a clean error. */
static int read_through(struct pym_reader *r, struct pym_error *err)
{
	struct pym_record rec;
	int rc;
	while ((rc = pym_reader_next(r, &rec, err)) == 1)
		;
	pym_reader_close(r);
	return rc;
}

static void expect_clean(const char *seed, const char *mode, int rc, const struct pym_error *e,
                         int ok)
{
	if (ok) {
		cr_expect_eq(rc, 0, "%s (%s): %s", seed, mode, e->msg);
		return;
	}
	cr_expect_eq(rc, -1, "%s (%s) was read to its end", seed, mode);
	cr_expect(e->code > PYM_OK && e->code <= PYM_ERR_LIMIT && e->msg[0] &&
	                  !strchr(e->msg, '\n'),
	          "%s (%s): unclean error %d '%s'", seed, mode, e->code, e->msg);
}

static void replay(const char *dir, const char *seed, const unsigned char *in, size_t len, int ok)
{
	struct pym_error e = {0};
	struct pym_reader *r = pym_reader_open_mem(in, len, &e);
	expect_clean(seed, "memory", r ? read_through(r, &e) : -1, &e, ok);

	char path[512], db[512];
	snprintf(path, sizeof path, "%s/in.dump", dir);
	snprintf(db, sizeof db, "%s/in.db", dir);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(in, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	for (unsigned mode = 0; mode < 2; mode++) {
		memset(&e, 0, sizeof e);
		r = pym_reader_open(path, &e);
		if (r)
			pym_reader_set_mode(r, mode ? PYM_READ_PIECES | PYM_READ_NO_TABLES : 0);
		expect_clean(seed, mode ? "file, pieces" : "file, whole",
		             r ? read_through(r, &e) : -1, &e, ok);
	}
	struct db_error de;
	unlink(db);
	int rc = load_dump(path, db, NULL, NULL, NULL, &de);
	if (ok) {
		cr_expect_eq(rc, 0, "%s: load: %s", seed, de.msg);
		sqlite3 *d = NULL;
		cr_expect_eq(db_open_input(db, NULL, &d, &de), 0, "%s: open: %s", seed, de.msg);
		sqlite3_close(d);
	} else {
		cr_expect_eq(rc, -1, "%s: loaded", seed);
		cr_expect_eq(de.status, 2, "%s: load status %d (%s)", seed, de.status, de.msg);
		cr_expect_neq(access(db, F_OK), 0, "%s: a database was left", seed);
	}
}

Test(fuzz_replay, every_seed_has_its_named_outcome)
{
	DIR *d = opendir("tests/fuzz/corpus");
	cr_assert(d, "run from the repository root (tests/fuzz/corpus)");
	char dir[] = "/tmp/pymple-replay-XXXXXX";
	cr_assert(mkdtemp(dir));
	struct dirent *ent;
	int oks = 0, bads = 0;
	while ((ent = readdir(d))) {
		const char *name = ent->d_name;
		if (name[0] == '.')
			continue;
		int ok = strncmp(name, "ok-", 3) == 0;
		cr_assert(ok || strncmp(name, "bad-", 4) == 0, "seed %s: name it ok-* or bad-*",
		          name);
		char path[512];
		snprintf(path, sizeof path, "tests/fuzz/corpus/%s", name);
		FILE *f = fopen(path, "rb");
		cr_assert(f, "%s", path);
		unsigned char *buf = malloc(1 << 20);
		size_t n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		unsigned char *framed;
		size_t len;
		const uint8_t *in = fuzz_input(buf, n, &len, &framed);
		cr_assert(in, "%s: nothing to read", name);
		replay(dir, name, in, len, ok);
		free(framed);
		free(buf);
		ok ? oks++ : bads++;
	}
	closedir(d);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	cr_expect_geq(oks, 5, "the corpus holds valid dumps");
	cr_expect_geq(bads, 5, "the corpus holds damaged files");
}

/* The seeds of the heap target (tests/fuzz/corpus-heap, layout in
 * tests/fuzz/heapdb.h): ok-* open into a heap that holds heap_check's
 * invariants; bad-* are refused with status 2 and one clean line. */
Test(fuzz_replay, every_heap_seed_has_its_named_outcome)
{
	DIR *d = opendir("tests/fuzz/corpus-heap");
	cr_assert(d, "run from the repository root (tests/fuzz/corpus-heap)");
	struct dirent *ent;
	int oks = 0, bads = 0;
	while ((ent = readdir(d))) {
		const char *name = ent->d_name;
		if (name[0] == '.')
			continue;
		int ok = strncmp(name, "ok-", 3) == 0;
		cr_assert(ok || strncmp(name, "bad-", 4) == 0, "seed %s: name it ok-* or bad-*",
		          name);
		char path[512];
		snprintf(path, sizeof path, "tests/fuzz/corpus-heap/%s", name);
		FILE *f = fopen(path, "rb");
		cr_assert(f, "%s", path);
		unsigned char *buf = malloc(1 << 20);
		size_t n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		sqlite3 *db;
		cr_assert_eq(heapdb_build(buf, n, &db), 0, "%s: no database", name);
		struct heap h;
		struct db_error err;
		heap_init(&h);
		memset(&err, 0, sizeof err);
		int rc = heap_load(db, name, &h, &err);
		if (ok) {
			char why[200] = "";
			cr_expect_eq(rc, 0, "%s: %s", name, err.msg);
			cr_expect_eq(heap_check(&h, why, sizeof why), 0, "%s: %s", name, why);
			oks++;
		} else {
			cr_expect_eq(rc, -1, "%s was opened", name);
			cr_expect_eq(err.status, 2, "%s: status %d (%s)", name, err.status,
			             err.msg);
			cr_expect(err.msg[0] && !strchr(err.msg, '\n'), "%s: unclean error '%s'",
			          name, err.msg);
			bads++;
		}
		heap_release(&h);
		sqlite3_close(db);
		free(buf);
	}
	closedir(d);
	cr_expect_geq(oks, 4, "the heap corpus holds valid heaps");
	cr_expect_geq(bads, 6, "the heap corpus holds damaged heaps");
}
