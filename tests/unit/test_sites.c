/* test_sites.c — the allocation-site records (FORMAT.md "Allocation sites"):
 * writer and reader against each other, against the FORMAT.md example
 * bytes, against crafted bad records, and the promise to 1.0 readers: the
 * stream minus the skippable records is exactly the stream without sites. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "pymple_format.h"
#include "reader.h"
#include "writer.h"

static unsigned char *file_of(int fd, size_t *len)
{
	off_t n = lseek(fd, 0, SEEK_END);
	cr_assert(n > 0);
	unsigned char *b = malloc((size_t)n);
	cr_assert(pread(fd, b, (size_t)n, 0) == n);
	*len = (size_t)n;
	return b;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The records of the first DATA chunk, inflated. */
static unsigned char *raw_of(const unsigned char *b, size_t *rawlen)
{
	cr_assert(!memcmp(b + 16, "DATA", 4));
	uLongf n = le32(b + 24);
	unsigned char *raw = malloc(n);
	cr_assert(uncompress(raw, &n, b + 32, le32(b + 20)) == Z_OK);
	*rawlen = n;
	return raw;
}

/* Four strings, a type, then objects 0..5; with_sites adds two sites and
 * gives objects 0, 2, 3 and 5 a site. Object 3 has more references than
 * fit one record (REFS records follow it). */
#define REFS_ONE_RECORD 16384 /* the reference writer's limit (FORMAT.md) */
static struct pym_ref many[REFS_ONE_RECORD + 5];
static void fill(struct pym_writer *w, int with_sites)
{
	uint32_t s[4], t, site1 = 0, site2 = 0;
	const char *names[4] = {"T", "a.py", "b.py", "c.py"};
	for (int i = 0; i < 4; i++)
		cr_assert(pym_writer_string(w, names[i], strlen(names[i]), &s[i]) == 0);
	cr_assert(pym_writer_type(w, s[0], 0x1000, &t) == 0);
	if (with_sites) {
		struct pym_site_frame f1[2] = {{s[1], 10}, {s[2], 20}}, f2[1] = {{s[3], 7}};
		cr_assert(pym_writer_site(w, f1, 2, &site1) == 0);
		cr_assert(pym_writer_site(w, f2, 1, &site2) == 0);
		cr_assert_eq(site1, 1);
		cr_assert_eq(site2, 2);
	}
	for (size_t i = 0; i < sizeof many / sizeof *many; i++)
		many[i] = (struct pym_ref){0x9000 + 16 * i, PYM_LABEL_NONE};
	const uint32_t sites[6] = {site1, 0, site2, site1, 0, site2};
	for (uint32_t i = 0; i < 6; i++) {
		struct pym_object o = {
		        .addr = 0x8000 + 64 * i, .type = t, .size = 32, .refcount = 1};
		if (i == 3) {
			o.nrefs = sizeof many / sizeof *many;
			o.refs = many;
		}
		cr_assert(pym_writer_alloc(w, sites[i]) == 0);
		cr_assert(pym_writer_object(w, &o) == 0, "%s", strerror(errno));
	}
}

static void fill_sites(struct pym_writer *w)
{
	fill(w, 1);
}
static void fill_plain(struct pym_writer *w)
{
	fill(w, 0);
}

static unsigned char *dump(void (*f)(struct pym_writer *), size_t *len)
{
	int fd = memfd_create("d", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	cr_assert(w);
	f(w);
	cr_assert(pym_writer_finish(w) == 0);
	pym_writer_close(w);
	unsigned char *b = file_of(fd, len);
	close(fd);
	return b;
}

Test(sites, roundtrip)
{
	size_t len;
	unsigned char *b = dump(fill_sites, &len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	struct pym_record rec;
	uint32_t got_sites = 0, obj = 0;
	const uint32_t want[6] = {1, 0, 2, 1, 0, 2};
	int rc;
	while ((rc = pym_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PYM_R_SITE) {
			got_sites++;
			cr_assert_eq(rec.id, got_sites);
			if (rec.id == 1) {
				cr_assert_eq(rec.nframes, 2);
				cr_assert(rec.frames[0].file == 1 && rec.frames[0].line == 10);
				cr_assert(rec.frames[1].file == 2 && rec.frames[1].line == 20);
			} else {
				cr_assert_eq(rec.nframes, 1);
				cr_assert(rec.frames[0].file == 3 && rec.frames[0].line == 7);
			}
		} else if (rec.type == PYM_R_OBJECT) {
			cr_assert_eq(rec.site, want[obj], "object %u", obj);
			if (obj == 3)
				cr_assert_eq(rec.nrefs, REFS_ONE_RECORD + 5);
			obj++;
		}
	}
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(got_sites, 2);
	cr_assert_eq(obj, 6);
	pym_reader_close(r);
	free(b);
}

/* The loader and check read in pieces (long reference lists as REFS
 * records), without string tables: every OBJECT still carries its site. */
Test(sites, roundtrip_in_pieces)
{
	static const int modes[] = {PYM_READ_PIECES, PYM_READ_PIECES | PYM_READ_NO_TABLES};
	size_t len;
	unsigned char *b = dump(fill_sites, &len);
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
		struct pym_error err;
		struct pym_reader *r = pym_reader_open_mem(b, len, &err);
		cr_assert(r);
		pym_reader_set_mode(r, modes[m]);
		struct pym_record rec;
		uint32_t obj = 0, pieces = 0;
		const uint32_t want[6] = {1, 0, 2, 1, 0, 2};
		int rc;
		while ((rc = pym_reader_next(r, &rec, &err)) == 1) {
			if (rec.type == PYM_R_OBJECT) {
				cr_assert_eq(rec.site, want[obj], "mode %zu, object %u", m, obj);
				obj++;
			} else if (rec.type == PYM_R_REFS) {
				pieces++;
			}
		}
		cr_assert_eq(rc, 0, "%s", err.msg);
		cr_assert_eq(obj, 6);
		cr_assert_gt(pieces, 0, "object 3's references came whole");
		pym_reader_close(r);
	}
	free(b);
}

Test(sites, format_md_example_bytes)
{
	size_t len, rawlen;
	unsigned char *b = dump(fill_sites, &len);
	unsigned char *raw = raw_of(b, &rawlen);
	/* FORMAT.md: "40 05 02 03 0c 03 09" is string 3 line 12 then string 3
	 * line 9; here site 1 is (1, 10), (2, 20): */
	static const unsigned char site1[] = {0x40, 0x05, 0x02, 0x01, 0x0a, 0x02, 0x14};
	static const unsigned char alloc1[] = {0x41, 0x01, 0x01, 0x04};
	cr_assert(memmem(raw, rawlen, site1, sizeof site1));
	cr_assert(memmem(raw, rawlen, alloc1, sizeof alloc1));
	free(raw);
	free(b);
	/* the example itself, written by the writer */
	int fd = memfd_create("e", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	uint32_t id, t, site;
	for (int i = 0; i < 4; i++)
		cr_assert(pym_writer_string(w, "f", 1, &id) == 0);
	cr_assert(pym_writer_type(w, 0, 0, &t) == 0);
	struct pym_site_frame f[2] = {{3, 12}, {3, 9}};
	cr_assert(pym_writer_site(w, f, 2, &site) == 0);
	struct pym_object o = {.addr = 0x40, .type = t};
	cr_assert(pym_writer_alloc(w, site) == 0);
	cr_assert(pym_writer_object(w, &o) == 0);
	cr_assert(pym_writer_finish(w) == 0);
	pym_writer_close(w);
	b = file_of(fd, &len);
	close(fd);
	raw = raw_of(b, &rawlen);
	static const unsigned char ex[] = {0x40, 0x05, 0x02, 0x03, 0x0c, 0x03,
	                                   0x09, 0x41, 0x01, 0x01, 0x04};
	cr_assert(memmem(raw, rawlen, ex, sizeof ex), "the writer no longer matches FORMAT.md");
	free(raw);
	free(b);
}

/* Minimal decoder of what fill() writes, from FORMAT.md alone: STRING,
 * TYPE, OBJECT without optional fields, REFS, and the generic framing of
 * skippable records (type, varint len, len bytes) — what a 1.0 reader does. */
static uint64_t varint(const unsigned char **p)
{
	uint64_t v = 0;
	for (int shift = 0;; shift += 7) {
		unsigned c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
}

static size_t strip_skippable(const unsigned char *raw, size_t n, unsigned char *out)
{
	const unsigned char *p = raw, *end = raw + n;
	size_t o = 0;
	while (p < end) {
		const unsigned char *r0 = p;
		unsigned t = *p++;
		if (t >= PYM_REC_SKIPPABLE) {
			uint64_t l = varint(&p);
			p += l;
			continue;
		}
		if (t == PYM_REC_STRING) {
			uint64_t l = varint(&p);
			p += l;
		} else if (t == PYM_REC_TYPE) {
			varint(&p);
			varint(&p);
		} else if (t == PYM_REC_OBJECT || t == PYM_REC_REFS) {
			uint64_t nrefs;
			if (t == PYM_REC_OBJECT) {
				varint(&p); /* addr */
				varint(&p); /* type */
				uint64_t flags = varint(&p);
				varint(&p); /* size */
				varint(&p); /* refcount */
				if (flags & PYM_F_MORE_REFS)
					varint(&p);
			}
			nrefs = varint(&p);
			for (uint64_t i = 0; i < nrefs; i++) {
				varint(&p);
				varint(&p);
			}
		} else {
			cr_assert_fail("record 0x%02x not expected", t);
		}
		memcpy(out + o, r0, (size_t)(p - r0));
		o += (size_t)(p - r0);
	}
	return o;
}

Test(sites, old_readers_see_the_records_of_a_dump_without_sites)
{
	size_t len1, len2, n1, n2;
	unsigned char *b1 = dump(fill_sites, &len1), *b2 = dump(fill_plain, &len2);
	unsigned char *r1 = raw_of(b1, &n1), *r2 = raw_of(b2, &n2);
	cr_assert_gt(n1, n2);
	unsigned char *s = malloc(n1);
	size_t ns = strip_skippable(r1, n1, s);
	cr_assert_eq(ns, n2);
	cr_assert(!memcmp(s, r2, n2));
	/* and the TAILs agree: the skippable records are not counted */
	cr_assert(!memcmp(b1 + len1 - 48, b2 + len2 - 48, 40));
	free(s);
	free(r1);
	free(r2);
	free(b1);
	free(b2);
}

Test(sites, writer_refuses_undefined_sites_and_strings)
{
	int fd = memfd_create("w", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	uint32_t id, t;
	cr_assert(pym_writer_string(w, "T", 1, &id) == 0);
	cr_assert(pym_writer_type(w, id, 0, &t) == 0);
	cr_assert_eq(pym_writer_alloc(w, 1), -1);
	cr_assert_eq(errno, EINVAL);
	pym_writer_close(w);
	w = pym_writer_open(fd, NULL, 1);
	struct pym_site_frame f = {5, 1};
	cr_assert_eq(pym_writer_site(w, &f, 1, &id), -1);
	cr_assert_eq(errno, EINVAL);
	pym_writer_close(w);
	w = pym_writer_open(fd, NULL, 1);
	cr_assert_eq(pym_writer_site(w, &f, 0, &id), -1);
	pym_writer_close(w);
	close(fd);
}

/* Crafted files: header 1.0, one DATA chunk of raw, a TAIL with counts. */
static unsigned char *craft(const unsigned char *raw, size_t n, const uint64_t counts[6],
                            size_t *len)
{
	unsigned char *b = calloc(1, 200 + compressBound(n));
	memcpy(b, "\x89PYMPLE\n\x01\x00\x00\x00", 12);
	uint32_t c = (uint32_t)crc32(0, b, 12);
	memcpy(b + 12, &c, 4);
	size_t o = 16;
	uLongf cl = compressBound(n);
	cr_assert(compress2(b + o + 16, &cl, raw, n, 1) == Z_OK);
	memcpy(b + o, "DATA", 4);
	uint32_t v = (uint32_t)cl;
	memcpy(b + o + 4, &v, 4);
	v = (uint32_t)n;
	memcpy(b + o + 8, &v, 4);
	c = (uint32_t)crc32(crc32(0, b + o, 12), b + o + 16, (uInt)cl);
	memcpy(b + o + 12, &c, 4);
	o += 16 + cl;
	memcpy(b + o, "TAIL", 4);
	v = 48;
	memcpy(b + o + 4, &v, 4);
	memcpy(b + o + 8, &v, 4);
	memcpy(b + o + 16, counts, 48); /* little-endian host */
	c = (uint32_t)crc32(crc32(0, b + o, 12), b + o + 16, 48);
	memcpy(b + o + 12, &c, 4);
	*len = o + 64;
	return b;
}

struct bad {
	const char *name, *raw;
	size_t len;
	const char *why; /* in the reader's message */
};
#define RAW(s) s, sizeof(s) - 1
static const struct bad bads[] = {
        {"ALLOC of an undefined site",
         RAW("\x02\x01T\x03\x00\x01\x41\x01\x01\x04\x02\x00\x00\x01\x01\x00"), "undefined site"},
        {"ALLOC of site 0",
         RAW("\x02\x01T\x40\x03\x01\x00\x01\x03\x00\x01\x41\x01\x00\x04\x02\x00\x00\x01\x01\x00"),
         "undefined site"},
        {"ALLOC before a STRING", RAW("\x02\x01T\x40\x03\x01\x00\x01\x41\x01\x01\x02\x01U"),
         "not followed by its OBJECT"},
        {"ALLOC at the chunk end", RAW("\x02\x01T\x40\x03\x01\x00\x01\x41\x01\x01"),
         "not followed by its OBJECT"},
        {"ALLOC length mismatch",
         RAW("\x02\x01T\x40\x03\x01\x00\x01\x41\x02\x01\x00\x04\x02\x00\x00\x01\x01\x00"),
         "ALLOC record length"},
        {"SITE without frames", RAW("\x02\x01T\x40\x01\x00"), "bad SITE frame count"},
        {"SITE of an undefined string", RAW("\x40\x03\x01\x05\x01"), "undefined string"},
        {"SITE length mismatch", RAW("\x02\x01T\x40\x04\x01\x00\x01\x00"),
         "does not match its frames"},
        {"SITE frames past its length", RAW("\x02\x01T\x40\x02\x02\x00\x01\x00\x01"),
         "run past the record"},
        {"SITE line over 32 bits", RAW("\x02\x01T\x40\x07\x01\x00\x80\x80\x80\x80\x10"),
         "line over 32 bits"},
};

Test(sites, bad_records_are_refused)
{
	/* Counts no record below reaches: each one is refused for its own fault
	 * before the reader compares them with what it decoded. */
	const uint64_t counts[6] = {8, 8, 8, 8, 8, 1};
	for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
		size_t len;
		unsigned char *b =
		        craft((const unsigned char *)bads[i].raw, bads[i].len, counts, &len);
		struct pym_error err;
		struct pym_reader *r = pym_reader_open_mem(b, len, &err);
		cr_assert(r);
		struct pym_record rec;
		int rc;
		while ((rc = pym_reader_next(r, &rec, &err)) == 1)
			;
		cr_assert_eq(rc, -1, "%s accepted", bads[i].name);
		cr_assert_eq(err.code, PYM_ERR_CORRUPT, "%s: %s", bads[i].name, err.msg);
		cr_assert(strstr(err.msg, bads[i].why), "%s: %s", bads[i].name, err.msg);
		pym_reader_close(r);
		free(b);
	}
}
