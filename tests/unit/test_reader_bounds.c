/* test_reader_bounds.c — the reader's memory bounds: references delivered in
 * pieces equal those gathered whole (in order, labels and all), the NO_TABLES
 * mode counts what it does not keep, a trailer that says less than the file
 * holds is refused as soon as the file goes past it, and the budget stops
 * the reader with PYM_ERR_LIMIT, and the loader, reading in pieces, keeps
 * every reference. Dumps are written with the real writer. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "db.h"
#include "heap.h"
#include "heap_store.h"
#include "load.h"
#include "pymple_format.h"
#include "reader.h"
#include "writer.h"

enum { WIDE = 300000, SMALL = 50 };

/* A dump with 3 strings, one type, an object of WIDE references (labels
 * varying, targets scattered) between two objects of 2 references each.
 * Returned in a malloc'd buffer. */
static unsigned char *wide_dump(size_t *len)
{
	int fd = memfd_create("wide", 0);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	cr_assert(w);
	uint32_t s, k, t;
	cr_assert_eq(pym_writer_string(w, "list", 4, &s), 0);
	cr_assert_eq(pym_writer_string(w, "k", 1, &k), 0);
	cr_assert_eq(pym_writer_string(w, "", 0, &k), 0);
	cr_assert_eq(pym_writer_type(w, s, 0x10, &t), 0);
	struct pym_ref *refs = calloc(WIDE, sizeof *refs);
	cr_assert(refs);
	for (uint32_t i = 0; i < WIDE; i++) {
		refs[i].addr = 0x1000 + (uint64_t)((i * 7919u) % WIDE) * 16;
		refs[i].label = i % 3 == 0   ? ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX
		                : i % 3 == 1 ? ((uint64_t)1 << PYM_LABEL_SHIFT) | PYM_LABEL_KEY
		                             : PYM_LABEL_WEAK;
	}
	struct pym_object o = {0};
	o.type = t;
	o.size = 64;
	o.refcount = 1;
	o.nrefs = 2;
	o.refs = refs;
	o.addr = 0x500;
	cr_assert_eq(pym_writer_object(w, &o), 0);
	o.addr = 0x600;
	o.nrefs = WIDE;
	cr_assert_eq(pym_writer_object(w, &o), 0);
	o.addr = 0x700;
	o.nrefs = 2;
	cr_assert_eq(pym_writer_object(w, &o), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	free(refs);
	off_t n = lseek(fd, 0, SEEK_END);
	unsigned char *b = malloc((size_t)n);
	cr_assert_eq(pread(fd, b, (size_t)n, 0), n);
	close(fd);
	*len = (size_t)n;
	return b;
}

/* All references of every object, in order, as a flat list; returns count. */
static size_t read_refs(const unsigned char *b, size_t len, unsigned mode, struct pym_rref *out,
                        uint64_t *objects, uint32_t *max_piece)
{
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r, "%s", err.msg);
	pym_reader_set_mode(r, mode);
	struct pym_record rec;
	size_t n = 0;
	uint64_t expect_first = 0;
	int got;
	*objects = 0;
	*max_piece = 0;
	while ((got = pym_reader_next(r, &rec, &err)) == 1) {
		if (rec.type != PYM_R_OBJECT && rec.type != PYM_R_REFS)
			continue;
		if (rec.type == PYM_R_OBJECT) {
			++*objects;
			expect_first = 0;
		}
		cr_assert_eq(rec.refs_first, expect_first);
		expect_first += rec.nrefs;
		cr_assert_leq(expect_first, rec.refs_total);
		if (rec.nrefs > *max_piece)
			*max_piece = rec.nrefs;
		memcpy(out + n, rec.refs, rec.nrefs * sizeof *rec.refs);
		n += rec.nrefs;
	}
	cr_assert_eq(got, 0, "%s", err.msg);
	pym_reader_close(r);
	return n;
}

Test(reader_bounds, pieces_equal_whole)
{
	size_t len;
	unsigned char *b = wide_dump(&len);
	struct pym_rref *whole = calloc(WIDE + 4, sizeof *whole),
	                *pieces = calloc(WIDE + 4, sizeof *pieces);
	uint64_t o1, o2;
	uint32_t m1, m2;
	size_t n1 = read_refs(b, len, 0, whole, &o1, &m1);
	size_t n2 = read_refs(b, len, PYM_READ_PIECES | PYM_READ_NO_TABLES, pieces, &o2, &m2);
	cr_expect_eq(n1, WIDE + 4);
	cr_expect_eq(n2, WIDE + 4);
	cr_expect_eq(o1, 3);
	cr_expect_eq(o2, 3);
	cr_expect_eq(m1, WIDE);
	cr_expect_leq(m2, PYM_READ_PIECE_REFS);
	for (size_t i = 0; i < n1; i++)
		if (whole[i].addr != pieces[i].addr || whole[i].kind != pieces[i].kind ||
		    whole[i].value != pieces[i].value) {
			cr_expect_fail("reference %zu: pieces differ from the whole", i);
			break;
		}
	/* the writer's targets, independently */
	for (uint32_t i = 0; i < WIDE; i++)
		if (pieces[2 + i].addr != 0x1000 + (uint64_t)((i * 7919u) % WIDE) * 16) {
			cr_expect_fail("reference %u of the wide object has the wrong target", i);
			break;
		}
	free(whole);
	free(pieces);
	free(b);
}

Test(reader_bounds, no_tables_counts)
{
	size_t len;
	unsigned char *b = wide_dump(&len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	pym_reader_set_mode(r, PYM_READ_NO_TABLES | PYM_READ_PIECES);
	struct pym_record rec;
	while (pym_reader_next(r, &rec, &err) == 1)
		;
	cr_expect_eq(pym_reader_nstrings(r), 3);
	cr_expect_eq(pym_reader_ntypes(r), 1);
	cr_expect_null(pym_reader_string(r, 0, NULL));
	cr_expect_eq(pym_reader_type_name(r, 0), -1);
	uint64_t t[6];
	cr_expect_eq(pym_reader_trailer(r, t), 1);
	cr_expect_eq(t[0], 3);
	cr_expect_eq(t[1], WIDE + 4);
	pym_reader_close(r);
	free(b);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A trailer that says fewer references than the object declares: refused
 * at the object, before any of its references is gathered. */
Test(reader_bounds, trailer_bounds_counts)
{
	size_t len;
	unsigned char *b = wide_dump(&len);
	unsigned char *t = b + len - PYM_TAIL_LEN;
	put64(t + 8, 10); /* refs */
	uint32_t crc = (uint32_t)crc32(crc32(0, t - 16, 12), t, PYM_TAIL_LEN);
	for (int i = 0; i < 4; i++)
		t[-4 + i] = (unsigned char)(crc >> (8 * i));
	for (unsigned mode = 0; mode <= PYM_READ_PIECES; mode += PYM_READ_PIECES) {
		struct pym_error err;
		struct pym_reader *r = pym_reader_open_mem(b, len, &err);
		cr_assert(r);
		pym_reader_set_mode(r, mode);
		struct pym_record rec;
		int got;
		uint64_t objects = 0;
		while ((got = pym_reader_next(r, &rec, &err)) == 1)
			objects += rec.type == PYM_R_OBJECT;
		cr_expect_eq(got, -1);
		cr_expect_eq(objects, 1, "the wide object was delivered");
		cr_expect(strstr(err.msg, "trailer says 10 refs but the file holds more"), "%s",
		          err.msg);
		pym_reader_close(r);
	}
	free(b);
}

Test(reader_bounds, budget)
{
	size_t len;
	unsigned char *b = wide_dump(&len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	pym_reader_set_budget(r, 4 << 20); /* the wide object gathered whole needs 7 MiB */
	struct pym_record rec;
	int got;
	while ((got = pym_reader_next(r, &rec, &err)) == 1)
		;
	cr_expect_eq(got, -1);
	cr_expect_eq(err.code, PYM_ERR_LIMIT);
	cr_expect(strstr(err.msg, "needs more than 4 MiB"), "%s", err.msg);
	pym_reader_close(r);
	/* in pieces the same budget is enough */
	r = pym_reader_open_mem(b, len, &err);
	pym_reader_set_mode(r, PYM_READ_PIECES);
	pym_reader_set_budget(r, 4 << 20);
	while ((got = pym_reader_next(r, &rec, &err)) == 1)
		;
	cr_expect_eq(got, 0, "%s", err.msg);
	pym_reader_close(r);
	free(b);
}

/* The loader reads references in pieces: the heap it keeps with the database
 * holds every reference of the wide object, in order, with its kind, label
 * and target, as the writer was given them. */
Test(reader_bounds, load_keeps_every_piece)
{
	size_t len;
	unsigned char *b = wide_dump(&len);
	char dir[] = "/tmp/pymple-pieces-XXXXXX", dump[64], db[64];
	cr_assert(mkdtemp(dir));
	snprintf(dump, sizeof dump, "%s/wide.dump", dir);
	snprintf(db, sizeof db, "%s/wide.db", dir);
	FILE *f = fopen(dump, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(b, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(b);
	struct db_error err;
	cr_assert_eq(load_dump(dump, db, NULL, NULL, NULL, &err), 0, "%s", err.msg);
	sqlite3 *d;
	cr_assert_eq(db_open_input(db, NULL, &d, &err), 0, "%s", err.msg);
	struct heap h;
	heap_init(&h);
	cr_assert_eq(heap_load(d, db, &h, &err), 0, "%s", err.msg);
	cr_assert_eq(h.n, 3);
	cr_assert_eq(h.m, (uint64_t)WIDE + 4);
	cr_expect_eq(h.off[1], 2);
	cr_expect_eq(h.off[2], (uint64_t)WIDE + 2);
	cr_expect_eq(h.nmissing, (uint64_t)WIDE + 4); /* no target is in the dump */
	for (uint32_t i = 0; i < WIDE; i++) {
		uint64_t e = 2 + (uint64_t)i;
		unsigned kind = i % 3 == 0   ? HEAP_REF_INDEX
		                : i % 3 == 1 ? HEAP_REF_KEY
		                             : HEAP_REF_WEAK;
		uint64_t label = i % 3 == 0 ? i : i % 3 == 1 ? 1 : 0;
		if (h.dst[e] != HEAP_NONE ||
		    h.missing[e] != 0x1000 + (uint64_t)((i * 7919u) % WIDE) * 16 ||
		    h.kind[e] != kind || heap_label(&h, e) != label) {
			cr_expect_fail(
			        "reference %u of the wide object differs from what was written", i);
			break;
		}
	}
	heap_release(&h);
	sqlite3_close(d);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}
