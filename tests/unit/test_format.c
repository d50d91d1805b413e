/* test_format.c — the dump format: writer.c and reader.c against each other
 * and against hand-built bytes (crafted chunks with valid checksums), so a
 * bug shared by both sides cannot hide. Every corruption case must fail
 * cleanly; none may be accepted. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "pymple_format.h"
#include "reader.h"
#include "writer.h"

/* ---- helpers ------------------------------------------------------------ */

static unsigned char *slurp_fd(int fd, size_t *len)
{
	off_t n = lseek(fd, 0, SEEK_END);
	cr_assert(n >= 0);
	unsigned char *b = malloc((size_t)n + 1);
	cr_assert(b);
	cr_assert(pread(fd, b, (size_t)n, 0) == n);
	*len = (size_t)n;
	return b;
}

typedef void (*fill_fn)(struct pym_writer *w);

/* Set by the *_threaded tests: dump_mem then uses pym_writer_threaded(). */
static int threaded;

static unsigned char *dump_mem(fill_fn fill, size_t *len)
{
	int fd = memfd_create("dump", 0);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	cr_assert(w);
	if (threaded)
		cr_assert(pym_writer_threaded(w) == 0);
	fill(w);
	cr_assert(pym_writer_finish(w) == 0);
	cr_assert(pym_writer_bytes(w) == (uint64_t)lseek(fd, 0, SEEK_END));
	pym_writer_close(w);
	unsigned char *b = slurp_fd(fd, len);
	close(fd);
	return b;
}

/* Reads a whole buffer; returns the last pym_reader_next() result (0 ok) or
 * -1 when open failed. err holds the failure. */
static int read_all(const unsigned char *b, size_t len, struct pym_error *err, uint64_t *nrec)
{
	memset(err, 0, sizeof *err);
	struct pym_reader *r = pym_reader_open_mem(b, len, err);
	if (!r)
		return -1;
	struct pym_record rec;
	int rc;
	uint64_t n = 0;
	while ((rc = pym_reader_next(r, &rec, err)) == 1)
		n++;
	pym_reader_close(r);
	if (nrec)
		*nrec = n;
	return rc;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Independent encoder of the file framing, written from FORMAT.md: header,
 * one DATA chunk holding raw (deflated with compress2), a TAIL with counts. */
static size_t craft_header(unsigned char *out, unsigned major, unsigned minor)
{
	memcpy(out, "\x89PYMPLE\n", 8);
	out[8] = (unsigned char)major;
	out[9] = (unsigned char)(major >> 8);
	out[10] = (unsigned char)minor;
	out[11] = (unsigned char)(minor >> 8);
	put32(out + 12, (uint32_t)crc32(0, out, 12));
	return 16;
}

static size_t craft_chunk(unsigned char *out, const char *tag, const unsigned char *payload,
                          uint32_t clen, uint32_t ulen)
{
	memcpy(out, tag, 4);
	put32(out + 4, clen);
	put32(out + 8, ulen);
	uLong c = crc32(0, out, 12);
	memcpy(out + 16, payload, clen);
	put32(out + 12, (uint32_t)crc32(c, out + 16, clen));
	return 16 + (size_t)clen;
}

static size_t craft_data(unsigned char *out, const unsigned char *raw, size_t rawlen)
{
	uLongf clen = compressBound(rawlen);
	unsigned char *z = malloc(clen);
	cr_assert(compress2(z, &clen, raw, rawlen, 1) == Z_OK);
	size_t n = craft_chunk(out, "DATA", z, (uint32_t)clen, (uint32_t)rawlen);
	free(z);
	return n;
}

static size_t craft_tail(unsigned char *out, const uint64_t counts[6])
{
	unsigned char t[48];
	for (int i = 0; i < 6; i++)
		put64(t + 8 * i, counts[i]);
	return craft_chunk(out, "TAIL", t, 48, 48);
}

/* A whole crafted file around raw records. */
static unsigned char *craft_file(const unsigned char *raw, size_t rawlen, const uint64_t counts[6],
                                 size_t *len)
{
	unsigned char *b = malloc(64 + compressBound(rawlen) + 64);
	size_t n = craft_header(b, 1, 0);
	if (rawlen)
		n += craft_data(b + n, raw, rawlen);
	n += craft_tail(b + n, counts);
	*len = n;
	return b;
}

/* ---- a small dump with every record kind --------------------------------- */

static char big_value[PYM_VALUE_MAX];

static void fill_small(struct pym_writer *w)
{
	uint32_t s_dict, s_key, s_empty, t_dict, t_int;
	cr_assert(pym_writer_meta(w, "python_version", "3.11.7", 6) == 0);
	cr_assert(pym_writer_meta(w, "argv", "[\"x\"]", 5) == 0);
	cr_assert(pym_writer_string(w, "dict", 4, &s_dict) == 0);
	cr_assert(pym_writer_string(w, "key", 3, &s_key) == 0);
	cr_assert(pym_writer_string(w, "", 0, &s_empty) == 0);
	cr_assert(s_dict == 0 && s_key == 1 && s_empty == 2);
	cr_assert(pym_writer_type(w, s_dict, 0x7f00aa001000, &t_dict) == 0);
	cr_assert(pym_writer_type(w, s_key, 0x7f00aa002000, &t_int) == 0);
	cr_assert(t_dict == 0 && t_int == 1);
	struct pym_ref refs[5] = {
	        {0x7f00bb000000, PYM_LABEL_NONE},
	        {0x10, ((uint64_t)7 << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX},
	        {UINT64_MAX, ((uint64_t)s_key << PYM_LABEL_SHIFT) | PYM_LABEL_KEY},
	        {0, ((uint64_t)s_dict << PYM_LABEL_SHIFT) | PYM_LABEL_ATTR},
	        {0x7f00bb000000, PYM_LABEL_WEAK},
	};
	struct pym_object o = {.addr = 0x7f00cc000000,
	                       .type = t_dict,
	                       .flags = PYM_F_GC_TRACKED,
	                       .size = 232,
	                       .refcount = 3,
	                       .nrefs = 5,
	                       .refs = refs};
	cr_assert(pym_writer_object(w, &o) == 0);
	struct pym_object v = {.addr = 0x7f00cb000000,
	                       .type = t_int,
	                       .flags = PYM_F_VALUE | PYM_F_LENGTH,
	                       .size = 28,
	                       .refcount = UINT64_MAX,
	                       .length = 1,
	                       .value = "12345",
	                       .value_len = 5};
	cr_assert(pym_writer_object(w, &v) == 0);
	cr_assert(pym_writer_root(w, PYM_ROOT_MODULES, 0x7f00cc000000, s_key) == 0);
	cr_assert(pym_writer_root(w, PYM_ROOT_THREAD, 0, -1) == 0);
}

static void small_roundtrip_every_record_kind_body(void)
{
	size_t len;
	unsigned char *b = dump_mem(fill_small, &len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r, "%s", err.msg);
	cr_assert_eq(pym_reader_major(r), PYM_VERSION_MAJOR);
	cr_assert_eq(pym_reader_minor(r), PYM_VERSION_MINOR);
	struct pym_record rec;
	const int want[] = {PYM_R_META,   PYM_R_META, PYM_R_STRING, PYM_R_STRING,
	                    PYM_R_STRING, PYM_R_TYPE, PYM_R_TYPE,   PYM_R_OBJECT,
	                    PYM_R_OBJECT, PYM_R_ROOT, PYM_R_ROOT};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "record %zu: %s", i, err.msg);
		cr_assert_eq(rec.type, want[i], "record %zu", i);
		switch (i) {
		case 0:
			cr_assert(rec.key_len == 14 && !memcmp(rec.key, "python_version", 14));
			cr_assert(rec.text_len == 6 && !memcmp(rec.text, "3.11.7", 6));
			break;
		case 3:
			cr_assert(rec.id == 1 && rec.text_len == 3 && !strcmp(rec.text, "key"));
			break;
		case 4:
			cr_assert(rec.id == 2 && rec.text_len == 0);
			break;
		case 6:
			cr_assert(rec.id == 1 && rec.name_id == 1 && rec.addr == 0x7f00aa002000);
			break;
		case 7:
			cr_assert_eq(rec.addr, 0x7f00cc000000);
			cr_assert(rec.type_index == 0 && rec.flags == PYM_F_GC_TRACKED);
			cr_assert(rec.size == 232 && rec.refcount == 3 && rec.value_len == 0);
			cr_assert_eq(rec.nrefs, 5);
			cr_assert(rec.refs[0].addr == 0x7f00bb000000 &&
			          rec.refs[0].kind == PYM_LABEL_NONE);
			cr_assert(rec.refs[1].addr == 0x10 && rec.refs[1].kind == PYM_LABEL_INDEX &&
			          rec.refs[1].value == 7);
			cr_assert(rec.refs[2].addr == UINT64_MAX &&
			          rec.refs[2].kind == PYM_LABEL_KEY && rec.refs[2].value == 1);
			cr_assert(rec.refs[3].addr == 0 && rec.refs[3].kind == PYM_LABEL_ATTR &&
			          rec.refs[3].value == 0);
			cr_assert(rec.refs[4].kind == PYM_LABEL_WEAK);
			break;
		case 8:
			cr_assert(rec.addr == 0x7f00cb000000 && rec.type_index == 1);
			cr_assert(rec.refcount == UINT64_MAX && rec.length == 1 && rec.nrefs == 0);
			cr_assert(rec.value_len == 5 && !memcmp(rec.value, "12345", 5));
			break;
		case 9:
			cr_assert(rec.root_kind == PYM_ROOT_MODULES && rec.addr == 0x7f00cc000000 &&
			          rec.root_name == 1);
			break;
		case 10:
			cr_assert(rec.root_kind == PYM_ROOT_THREAD && rec.addr == 0 &&
			          rec.root_name == -1);
			break;
		}
	}
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0);
	size_t sl;
	cr_assert_str_eq(pym_reader_string(r, 0, &sl), "dict");
	cr_assert_eq(sl, 4);
	cr_assert_null(pym_reader_string(r, 3, &sl));
	cr_assert_eq(pym_reader_nstrings(r), 3);
	cr_assert_eq(pym_reader_ntypes(r), 2);
	cr_assert_eq(pym_reader_type_name(r, 1), 1);
	cr_assert_eq(pym_reader_type_name(r, 2), -1);
	cr_assert_eq(pym_reader_offset(r), len);
	cr_assert_eq(pym_reader_file_size(r), len);
	pym_reader_close(r);
	free(b);
}

/* Every combination of the field-carrying flags, and informational bits. */
static void fill_flags(struct pym_writer *w)
{
	uint32_t s, t;
	memset(big_value, 'v', sizeof big_value);
	cr_assert(pym_writer_string(w, "T", 1, &s) == 0);
	cr_assert(pym_writer_type(w, s, 1, &t) == 0);
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t f = ((i & 1) ? PYM_F_LENGTH : 0) | ((i & 2) ? PYM_F_EXTRA : 0) |
		             ((i & 4) ? PYM_F_VALUE : 0) | ((i & 8) ? PYM_F_SERIAL : 0) |
		             ((i & 16) ? PYM_F_SIZE_APPROX : 0) | ((i & 32) ? PYM_F_IMMORTAL : 0) |
		             ((i & 64) ? PYM_F_SYNTHETIC : 0) |
		             ((i & 128) ? PYM_F_VALUE_TRUNC : 0) |
		             ((i & 256) ? (1u << 20) : 0); /* an unknown informational bit */
		struct pym_ref ref = {i * 48u, ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX};
		struct pym_object o = {
		        .addr = (i % 2 ? 0x7f0000000000 - i * 64u : 0x10000 + i * 16u),
		        .type = t,
		        .flags = f,
		        .size = i,
		        .refcount = (uint64_t)1 << (i % 64),
		        .length = i + 1,
		        .extra = i + 2,
		        .serial = (uint64_t)i << 40,
		        .value = big_value,
		        .value_len = (i & 512) ? PYM_VALUE_MAX : i % 7,
		        .nrefs = i % 3,
		        .refs = &ref};
		if (o.nrefs == 2)
			o.nrefs = 1;
		cr_assert(pym_writer_object(w, &o) == 0);
	}
}

static void every_flag_combination_body(void)
{
	size_t len;
	unsigned char *b = dump_mem(fill_flags, &len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	struct pym_record rec;
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	for (uint32_t i = 0; i < 1024; i++) {
		cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%u: %s", i, err.msg);
		cr_assert_eq(rec.type, PYM_R_OBJECT);
		uint64_t addr = i % 2 ? 0x7f0000000000 - i * 64u : 0x10000 + i * 16u;
		cr_assert_eq(rec.addr, addr);
		cr_assert_eq(rec.size, i);
		cr_assert_eq(rec.refcount, (uint64_t)1 << (i % 64));
		cr_assert_eq(rec.length, (i & 1) ? i + 1 : 0);
		cr_assert_eq(rec.extra, (i & 2) ? i + 2 : 0);
		cr_assert_eq(rec.serial, (i & 8) ? (uint64_t)i << 40 : 0);
		uint32_t vl = (i & 4) ? ((i & 512) ? PYM_VALUE_MAX : i % 7) : 0;
		cr_assert_eq(rec.value_len, vl);
		cr_assert(vl == 0 || !memcmp(rec.value, big_value, vl));
		cr_assert_eq(!!(rec.flags & PYM_F_IMMORTAL), !!(i & 32));
		cr_assert_eq(!!(rec.flags & (1u << 20)), !!(i & 256));
		cr_assert_eq(rec.nrefs, i % 3 ? 1 : 0);
		if (rec.nrefs)
			cr_assert(rec.refs[0].addr == i * 48u && rec.refs[0].value == i);
	}
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	pym_reader_close(r);
	free(b);
}

/* ---- large records and many chunks --------------------------------------- */

#define BIG_NREFS 1000000u
static struct pym_ref *big_refs;

static void fill_big(struct pym_writer *w)
{
	uint32_t s, t;
	cr_assert(pym_writer_string(w, "list", 4, &s) == 0);
	cr_assert(pym_writer_type(w, s, 1, &t) == 0);
	big_refs = malloc(BIG_NREFS * sizeof *big_refs);
	uint64_t x = 88172645463325252ull;
	for (uint32_t i = 0; i < BIG_NREFS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: scattered addresses */
		big_refs[i].addr = 0x7f0000000000 + (x & 0xffffff0);
		big_refs[i].label = ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX;
	}
	/* around the split size, then a million refs, with a value to carry over */
	static const uint32_t sizes[] = {16383, 16384, 16385, 32768, 32769, BIG_NREFS};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		struct pym_object o = {.addr = 0x1000 * (k + 1),
		                       .type = t,
		                       .flags = PYM_F_VALUE,
		                       .size = k,
		                       .value = "carried",
		                       .value_len = 7,
		                       .nrefs = sizes[k],
		                       .refs = big_refs};
		cr_assert(pym_writer_object(w, &o) == 0, "%s", strerror(errno));
	}
}

static void large_records_span_chunks_body(void)
{
	size_t len;
	unsigned char *b = dump_mem(fill_big, &len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	struct pym_record rec;
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	static const uint32_t sizes[] = {16383, 16384, 16385, 32768, 32769, BIG_NREFS};
	for (size_t k = 0; k < 6; k++) {
		cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
		cr_assert_eq(rec.type, PYM_R_OBJECT);
		cr_assert_eq(rec.addr, 0x1000 * (k + 1));
		cr_assert_eq(rec.nrefs, sizes[k]);
		cr_assert(rec.value_len == 7 && !memcmp(rec.value, "carried", 7));
		cr_assert_eq(!!(rec.flags & PYM_F_MORE_REFS), sizes[k] > 16384);
		for (uint32_t i = 0; i < rec.nrefs; i++) {
			if (rec.refs[i].addr != big_refs[i].addr || rec.refs[i].value != i ||
			    rec.refs[i].kind != PYM_LABEL_INDEX)
				cr_assert_fail("object %zu ref %u differs", k, i);
		}
	}
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	pym_reader_close(r);
	free(big_refs);
	free(b);
}

#define MANY 150000u
static void fill_many(struct pym_writer *w)
{
	uint32_t s, t;
	cr_assert(pym_writer_string(w, "x", 1, &s) == 0);
	cr_assert(pym_writer_type(w, s, 1, &t) == 0);
	uint64_t x = 12345;
	for (uint32_t i = 0; i < MANY; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct pym_ref ref = {x, 0};
		char v[16];
		int vl = snprintf(v, sizeof v, "%u", i);
		struct pym_object o = {.addr = x >> 8,
		                       .type = t,
		                       .flags = PYM_F_VALUE,
		                       .size = i,
		                       .refcount = 1,
		                       .value = v,
		                       .value_len = (uint32_t)vl,
		                       .nrefs = 1,
		                       .refs = &ref};
		cr_assert(pym_writer_object(w, &o) == 0);
	}
	cr_assert_eq(pym_writer_objects(w), MANY);
}

static void many_chunks_body(void)
{
	size_t len;
	unsigned char *b = dump_mem(fill_many, &len);
	/* walk the framing by hand: several DATA chunks, none over the target
	 * by more than one record, then a TAIL whose chunk count matches */
	size_t off = 16, ndata = 0;
	while (off < len && memcmp(b + off, "TAIL", 4) != 0) {
		cr_assert(!memcmp(b + off, "DATA", 4));
		cr_assert_leq(get32(b + off + 8), PYM_CHUNK_TARGET_ULEN + 64);
		off += 16 + get32(b + off + 4);
		ndata++;
	}
	cr_assert_gt(ndata, 3);
	cr_assert_eq(off + 16 + 48, len);
	cr_assert_eq(get32(b + off + 16 + 40), ndata);
	cr_assert_eq(get32(b + off + 16), MANY);

	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	struct pym_record rec;
	uint64_t x = 12345;
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	for (uint32_t i = 0; i < MANY; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
		char v[16];
		int vl = snprintf(v, sizeof v, "%u", i);
		if (rec.addr != x >> 8 || rec.size != i || rec.nrefs != 1 ||
		    rec.refs[0].addr != x || rec.value_len != (uint32_t)vl ||
		    memcmp(rec.value, v, (size_t)vl))
			cr_assert_fail("object %u differs", i);
	}
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	pym_reader_close(r);
	free(b);
}

/* ---- damage -------------------------------------------------------------- */

Test(format, truncation_at_every_byte)
{
	size_t len;
	unsigned char *b = dump_mem(fill_small, &len);
	struct pym_error err;
	cr_assert_eq(read_all(b, len, &err, NULL), 0);
	for (size_t n = 0; n < len; n++) {
		unsigned char *cut = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(cut, b, n);
		int rc = read_all(cut, n, &err, NULL);
		cr_assert_eq(rc, -1, "prefix of %zu bytes accepted", n);
		if (n == 0) {
			cr_assert_eq(err.code, PYM_ERR_EMPTY);
		} else {
			cr_assert_eq(err.code, PYM_ERR_TRUNCATED, "prefix %zu: %s", n, err.msg);
			char want[96];
			snprintf(want, sizeof want, "truncated at byte %zu (no trailer;", n);
			cr_assert(!strncmp(err.msg, want, strlen(want)), "prefix %zu: %s", n,
			          err.msg);
		}
		free(cut);
	}
	free(b);
}

Test(format, every_byte_flip_is_detected)
{
	size_t len;
	unsigned char *b = dump_mem(fill_small, &len);
	struct pym_error err;
	static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x10};
	for (size_t i = 0; i < len; i++) {
		for (size_t m = 0; m < sizeof masks; m++) {
			b[i] ^= masks[m];
			int rc = read_all(b, len, &err, NULL);
			cr_assert_eq(rc, -1, "flip of byte %zu by %#x accepted", i, masks[m]);
			cr_assert(err.code == PYM_ERR_CORRUPT || err.code == PYM_ERR_FOREIGN ||
			                  err.code == PYM_ERR_TRUNCATED,
			          "byte %zu: code %d", i, err.code);
			cr_assert(err.msg[0] && err.where);
			b[i] ^= masks[m];
		}
	}
	free(b);
}

Test(format, empty_and_foreign)
{
	struct pym_error err;
	cr_assert_eq(read_all((const unsigned char *)"", 0, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_EMPTY);
	cr_assert_str_eq(err.msg, "empty file");
	const char *elf = "\x7f"
	                  "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0";
	cr_assert_eq(read_all((const unsigned char *)elf, 20, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_FOREIGN);
	cr_assert_eq(read_all((const unsigned char *)"{\"a\": 1}\n", 9, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_FOREIGN);
	cr_assert_eq(read_all((const unsigned char *)"x", 1, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_FOREIGN);
	/* a prefix of the magic is a truncated dump, not a foreign file */
	cr_assert_eq(read_all((const unsigned char *)"\x89PYM", 4, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_TRUNCATED);
}

Test(format, files_on_disk)
{
	struct pym_error err;
	cr_assert_null(pym_reader_open("/nonexistent/x.dump", &err));
	cr_assert_eq(err.code, PYM_ERR_IO);
	cr_assert(strstr(err.msg, "No such file"), "%s", err.msg);
	cr_assert_null(pym_reader_open("/", &err));
	cr_assert_eq(err.code, PYM_ERR_IO);
	cr_assert_null(pym_reader_open("/dev/null", &err));
	cr_assert_eq(err.code, PYM_ERR_EMPTY);

	size_t len;
	unsigned char *b = dump_mem(fill_many, &len);
	char path[] = "/tmp/pymple-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert(write(fd, b, len) == (ssize_t)len);
	close(fd);
	struct pym_reader *r = pym_reader_open(path, &err);
	cr_assert(r, "%s", err.msg);
	struct pym_record rec;
	uint64_t n = 0;
	int rc;
	while ((rc = pym_reader_next(r, &rec, &err)) == 1)
		n += rec.type == PYM_R_OBJECT;
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(n, MANY);
	cr_assert_eq(pym_reader_offset(r), len);
	pym_reader_close(r);
	/* truncated on disk: the streaming path names the same byte */
	cr_assert(truncate(path, (off_t)(len - 100)) == 0);
	r = pym_reader_open(path, &err);
	cr_assert(r);
	while ((rc = pym_reader_next(r, &rec, &err)) == 1)
		;
	cr_assert_eq(rc, -1);
	cr_assert_eq(err.code, PYM_ERR_TRUNCATED);
	cr_assert_eq(err.offset, len - 100);
	cr_assert_eq(pym_reader_next(r, &rec, &err), -1, "errors are sticky");
	pym_reader_close(r);
	unlink(path);
	free(b);
}

Test(format, versions)
{
	unsigned char b[256];
	uint64_t counts[6] = {0};
	size_t n = craft_header(b, 2, 0);
	n += craft_tail(b + n, counts);
	struct pym_error err;
	cr_assert_eq(read_all(b, n, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_VERSION);
	cr_assert_str_eq(err.msg, "dump format version 2.0 is newer than this pymple-analyze "
	                          "supports (1.x); upgrade pymple");
	/* a later minor of our major is accepted */
	n = craft_header(b, 1, 7);
	n += craft_tail(b + n, counts);
	cr_assert_eq(read_all(b, n, &err, NULL), 0, "%s", err.msg);
	n = craft_header(b, 0, 9);
	n += craft_tail(b + n, counts);
	cr_assert_eq(read_all(b, n, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
}

Test(format, trailing_garbage_and_tail_counts)
{
	size_t len;
	unsigned char *b = dump_mem(fill_small, &len);
	struct pym_error err;
	unsigned char *g = malloc(len + 1);
	memcpy(g, b, len);
	g[len] = 0;
	cr_assert_eq(read_all(g, len + 1, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
	cr_assert_eq(err.offset, len);
	/* a TAIL with a wrong count but a valid checksum */
	for (int i = 0; i < 6; i++) {
		memcpy(g, b, len);
		unsigned char *t = g + len - 48;
		put64(t + 8 * i, get32(t + 8 * i) + 1);
		put32(t - 4, (uint32_t)crc32(crc32(0, t - 16, 12), t, 48));
		cr_assert_eq(read_all(g, len, &err, NULL), -1, "count %d", i);
		cr_assert_eq(err.code, PYM_ERR_CORRUPT);
		cr_assert(strstr(err.msg, "trailer says"), "%s", err.msg);
	}
	free(g);
	free(b);
}

/* Records that are wrong although every checksum is right. */
struct bad_case {
	const char *name;
	const char *raw;
	size_t len;
};
#define RAW(s) s, sizeof(s) - 1
static const struct bad_case bad_cases[] = {
        {"unknown record type", RAW("\x07")},
        {"refs without object", RAW("\x06\x01\x00\x00")},
        {"type before its string", RAW("\x03\x00\x10")},
        {"object before its type", RAW("\x02\x01T\x04\x02\x00\x00\x01\x01\x00")},
        {"varint over 64 bits", RAW("\x02\x01T\x03\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f")},
        {"varint past chunk end", RAW("\x02\x01T\x03\x00\xff")},
        {"string past chunk end", RAW("\x02\x05T")},
        {"string over PYM_STR_MAX", RAW("\x02\x81\x80\x40")},
        {"value over PYM_VALUE_MAX", RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x20\x01\x01\x81\x08")},
        {"label kind 5", RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x00\x01\x01\x01\x02\x05")},
        {"label none with a value",
         RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x00\x01\x01\x01\x02\x08")},
        {"key label of undefined string",
         RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x00\x01\x01\x01\x02\x0a")},
        {"more refs than bytes", RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x00\x01\x01\x05\x02\x00")},
        {"more-refs total not above count",
         RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x80\x04\x01\x01\x01\x01\x02\x00")},
        {"more-refs cut short",
         RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x80\x04\x01\x01\x02\x01\x02\x00\x05\x00\x01\x01")},
        {"flags over 32 bits",
         RAW("\x02\x01T\x03\x00\x01\x04\x02\x00\x80\x80\x80\x80\x10\x01\x01\x00")},
        {"root named by undefined string", RAW("\x05\x01\x10\x01")},
        {"skippable record past chunk end", RAW("\x40\x05\x00")},
};

Test(format, bad_records_with_valid_checksums)
{
	uint64_t counts[6] = {0};
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		size_t len;
		unsigned char *b = craft_file((const unsigned char *)bad_cases[i].raw,
		                              bad_cases[i].len, counts, &len);
		struct pym_error err;
		cr_assert_eq(read_all(b, len, &err, NULL), -1, "%s accepted", bad_cases[i].name);
		cr_assert_eq(err.code, PYM_ERR_CORRUPT, "%s: %s", bad_cases[i].name, err.msg);
		cr_assert(strstr(err.where, "reader.c:"));
		free(b);
	}
}

Test(format, crafted_valid_file_and_skippable_parts)
{
	/* string, type, object with a key-labelled ref and a more-refs tail, a
	 * skippable record 0x5f of 3 bytes (no reader knows it), a root */
	static const unsigned char raw[] =
	        "\x02\x01T"                            /* string 0 "T" */
	        "\x03\x00\x80\x01"                     /* type 0: name 0, addr 128 */
	        "\x04\x80\x02\x00\x00\x05\x01\x01"     /* object addr 128, size 5, rc 1, 1 ref */
	        "\x01\x02"                             /* ref: +(-1) -> 127, key label string 0 */
	        "\x5f\x03xyz"                          /* skippable, unknown */
	        "\x04\x04\x00\x80\x04\x00\x00\x03\x01" /* object addr 130, MORE_REFS, total 3, here
	                                                  1 */
	        "\x02\x00"                             /* ref 131 */
	        "\x06\x02\x04\x09\x00\x01"             /* REFS: 132 index 1, 132 none */
	        "\x05\x03\x80\x01\x01";                /* root kind 3 addr 128 name 0 */
	uint64_t counts[6] = {2, 4, 1, 1, 1, 1};
	size_t len;
	unsigned char *b = craft_file(raw, sizeof raw - 1, counts, &len);
	/* an ancillary chunk "note" before the TAIL is skipped */
	unsigned char *c = malloc(len + 64);
	size_t tail = len - 64;
	memcpy(c, b, tail);
	size_t k = craft_chunk(c + tail, "note", (const unsigned char *)"hello", 5, 5);
	memcpy(c + tail + k, b + tail, 64);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(c, tail + k + 64, &err);
	cr_assert(r);
	struct pym_record rec;
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert(rec.type == PYM_R_TYPE && rec.addr == 128);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
	cr_assert(rec.type == PYM_R_OBJECT && rec.addr == 128 && rec.size == 5 && rec.nrefs == 1);
	cr_assert(rec.refs[0].addr == 127 && rec.refs[0].kind == PYM_LABEL_KEY &&
	          rec.refs[0].value == 0);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
	cr_assert(rec.type == PYM_R_OBJECT && rec.addr == 130 && rec.nrefs == 3);
	cr_assert(rec.refs[0].addr == 131 && rec.refs[1].addr == 132 && rec.refs[2].addr == 132);
	cr_assert(rec.refs[1].kind == PYM_LABEL_INDEX && rec.refs[1].value == 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert(rec.type == PYM_R_ROOT && rec.root_kind == 3 && rec.root_name == 0);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	pym_reader_close(r);
	/* an unknown critical chunk tag is refused */
	k = craft_chunk(c + tail, "NOTE", (const unsigned char *)"hello", 5, 5);
	memcpy(c + tail + k, b + tail, 64);
	cr_assert_eq(read_all(c, tail + k + 64, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
	free(c);
	free(b);
}

Test(format, chunk_lengths_checked_before_allocation)
{
	unsigned char b[128];
	size_t n = craft_header(b, 1, 0);
	/* ulen over PYM_CHUNK_MAX_ULEN, and clen impossible for its ulen */
	n += craft_chunk(b + n, "DATA", (const unsigned char *)"x", 1, PYM_CHUNK_MAX_ULEN + 1);
	struct pym_error err;
	cr_assert_eq(read_all(b, n, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
	n = craft_header(b, 1, 0);
	memcpy(b + n, "DATA", 4);
	put32(b + n + 4, 0xfffffff0u);
	put32(b + n + 8, 100);
	cr_assert_eq(read_all(b, n + 16, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
	/* a DATA chunk that inflates to less than its ulen */
	unsigned char z[64];
	uLongf zl = sizeof z;
	cr_assert(compress2(z, &zl, (const unsigned char *)"\x02\x01T", 3, 1) == Z_OK);
	n = craft_header(b, 1, 0);
	n += craft_chunk(b + n, "DATA", z, (uint32_t)zl, 4);
	cr_assert_eq(read_all(b, n, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "does not inflate"), "%s", err.msg);
	n = craft_header(b, 1, 0);
	n += craft_chunk(b + n, "DATA", z, (uint32_t)zl, 2);
	cr_assert_eq(read_all(b, n, &err, NULL), -1);
	cr_assert_eq(err.code, PYM_ERR_CORRUPT);
}

/* ---- writer argument checks ---------------------------------------------- */

Test(format, writer_refuses_bad_arguments_and_stays_failed)
{
	int fd = memfd_create("w", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	cr_assert(w);
	uint32_t id;
	struct pym_object o = {.addr = 1, .type = 0};
	cr_assert_eq(pym_writer_object(w, &o), -1, "type 0 is not defined yet");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(pym_writer_string(w, "a", 1, &id), -1, "failures are sticky");
	cr_assert_eq(pym_writer_finish(w), -1);
	pym_writer_close(w);
	close(fd);

	fd = memfd_create("w", 0);
	w = pym_writer_open(fd, NULL, 1);
	cr_assert_eq(pym_writer_string(w, "a", 1, &id), 0);
	cr_assert_eq(pym_writer_type(w, 0, 1, &id), 0);
	struct pym_ref ref = {1, ((uint64_t)5 << PYM_LABEL_SHIFT) | PYM_LABEL_KEY};
	struct pym_object bad = {.addr = 1, .type = 0, .nrefs = 1, .refs = &ref};
	cr_assert_eq(pym_writer_object(w, &bad), -1, "string 5 undefined");
	pym_writer_close(w);
	close(fd);

	fd = memfd_create("w", 0);
	w = pym_writer_open(fd, NULL, 1);
	cr_assert_eq(pym_writer_string(w, "a", 1, &id), 0);
	cr_assert_eq(pym_writer_type(w, 0, 1, &id), 0);
	struct pym_object big = {.type = 0,
	                         .flags = PYM_F_VALUE,
	                         .value = big_value,
	                         .value_len = PYM_VALUE_MAX + 1};
	cr_assert_eq(pym_writer_object(w, &big), -1);
	cr_assert_eq(pym_writer_root(w, 1, 1, 3), -1);
	pym_writer_close(w);
	close(fd);
	cr_assert_null(pym_writer_open(fd, NULL, 1), "closed fd");
	cr_assert_eq(errno, EBADF);
}

/* ---- the fuzz corpus: replayed with its named outcomes by test_fuzz_replay.c */

/* ---- the worked example of FORMAT.md, byte for byte ------------------------ */

static void fill_example(struct pym_writer *w)
{
	uint32_t s0, s1, t;
	cr_assert(pym_writer_string(w, "dict", 4, &s0) == 0);
	cr_assert(pym_writer_string(w, "name", 4, &s1) == 0);
	cr_assert(pym_writer_type(w, s0, 1, &t) == 0);
	struct pym_ref ref = {0x7f0000003040, ((uint64_t)s1 << PYM_LABEL_SHIFT) | PYM_LABEL_KEY};
	struct pym_object o = {.addr = 0x7f0000003000,
	                       .type = t,
	                       .flags = PYM_F_GC_TRACKED,
	                       .size = 232,
	                       .refcount = 2,
	                       .nrefs = 1,
	                       .refs = &ref};
	cr_assert(pym_writer_object(w, &o) == 0);
}

Test(format, format_md_example_bytes)
{
	size_t len;
	unsigned char *b = dump_mem(fill_example, &len);
	static const unsigned char want[] = "\x02\x04"
	                                    "dict"
	                                    "\x02\x04"
	                                    "name"
	                                    "\x03\x00\x01"
	                                    "\x04\x80\xc0\x81\x80\x80\xc0\x3f\x00\x04\xe8\x01\x02"
	                                    "\x01\x80\x01\x0a";
	cr_assert(!memcmp(b, "\x89PYMPLE\n\x01\x00\x02\x00", 12));
	cr_assert(!memcmp(b + 16, "DATA", 4));
	uint32_t clen = get32(b + 20), ulen = get32(b + 24);
	cr_assert_eq(ulen, sizeof want - 1);
	unsigned char raw[64];
	uLongf rl = sizeof raw;
	cr_assert(uncompress(raw, &rl, b + 32, clen) == Z_OK);
	cr_assert_eq(rl, sizeof want - 1);
	cr_assert(!memcmp(raw, want, rl), "the writer no longer matches FORMAT.md's example");
	cr_assert_eq(len, 16 + 16 + clen + 16 + 48);
	free(b);
}

/* META and STRING records up to PYM_STR_MAX: the writer grows its buffers */
static char *huge;
static void fill_huge(struct pym_writer *w)
{
	uint32_t id;
	huge = malloc(PYM_STR_MAX);
	for (size_t i = 0; i < PYM_STR_MAX; i++)
		huge[i] = (char)('a' + (i * 7919) % 26);
	cr_assert(pym_writer_string(w, "small", 5, &id) == 0);
	cr_assert(pym_writer_meta(w, "argv", huge, PYM_STR_MAX) == 0, "%s", strerror(errno));
	cr_assert(pym_writer_string(w, huge, PYM_STR_MAX, &id) == 0);
	cr_assert_eq(id, 1);
	cr_assert(pym_writer_string(w, "after", 5, &id) == 0);
}

static void records_up_to_str_max_body(void)
{
	size_t len;
	unsigned char *b = dump_mem(fill_huge, &len);
	struct pym_error err;
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	struct pym_record rec;
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
	cr_assert(rec.type == PYM_R_META && rec.text_len == PYM_STR_MAX);
	cr_assert(!memcmp(rec.text, huge, PYM_STR_MAX));
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1, "%s", err.msg);
	cr_assert(rec.type == PYM_R_STRING && rec.id == 1 && rec.text_len == PYM_STR_MAX);
	cr_assert(!memcmp(rec.text, huge, PYM_STR_MAX));
	cr_assert_eq(pym_reader_next(r, &rec, &err), 1);
	cr_assert_str_eq(rec.text, "after");
	cr_assert_eq(pym_reader_next(r, &rec, &err), 0, "%s", err.msg);
	pym_reader_close(r);
	free(b);

	int fd = memfd_create("w", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	uint32_t id;
	cr_assert_eq(pym_writer_string(w, huge, PYM_STR_MAX + 1, &id), -1);
	cr_assert_eq(errno, EINVAL);
	pym_writer_close(w);
	close(fd);
	free(huge);
}

Test(format, small_roundtrip_every_record_kind)
{
	small_roundtrip_every_record_kind_body();
}

Test(format, small_roundtrip_every_record_kind_threaded)
{
	threaded = 1;
	small_roundtrip_every_record_kind_body();
}

Test(format, large_records_span_chunks)
{
	large_records_span_chunks_body();
}

Test(format, large_records_span_chunks_threaded)
{
	threaded = 1;
	large_records_span_chunks_body();
}

Test(format, many_chunks)
{
	many_chunks_body();
}

Test(format, many_chunks_threaded)
{
	threaded = 1;
	many_chunks_body();
}

Test(format, records_up_to_str_max)
{
	records_up_to_str_max_body();
}

Test(format, records_up_to_str_max_threaded)
{
	threaded = 1;
	records_up_to_str_max_body();
}

Test(format, every_flag_combination)
{
	every_flag_combination_body();
}

Test(format, every_flag_combination_threaded)
{
	threaded = 1;
	every_flag_combination_body();
}

/* NAME records (format 1.1): written, read back with their kind, address and
 * string; a name of an undefined string is refused by the writer; an object
 * with F_PAIRS reads back with the flag (informational, no field). */
static void fill_names(struct pym_writer *w)
{
	uint32_t s0, s1, t;
	cr_assert(pym_writer_string(w, "cell", 4, &s0) == 0);
	cr_assert(pym_writer_string(w, "cap", 3, &s1) == 0);
	cr_assert(pym_writer_type(w, s0, 0x1000, &t) == 0);
	cr_assert(pym_writer_name(w, PYM_NAME_CELL, 0x7f0000005000, s1) == 0);
	cr_assert(pym_writer_name(w, 77, 0x10, s0) == 0); /* a kind of a later minor */
	struct pym_ref refs[2] = {{0x7f0000006000, 0}, {0x7f0000006040, 0}};
	struct pym_object o = {.addr = 0x7f0000005000,
	                       .type = t,
	                       .flags = PYM_F_PAIRS,
	                       .size = 64,
	                       .refcount = 1,
	                       .nrefs = 2,
	                       .refs = refs};
	cr_assert(pym_writer_object(w, &o) == 0);
}

Test(format, name_records_and_pairs_flag)
{
	size_t len;
	unsigned char *b = dump_mem(fill_names, &len);
	struct pym_error err = {0};
	struct pym_reader *r = pym_reader_open_mem(b, len, &err);
	cr_assert(r);
	struct pym_record rec;
	int names = 0, objects = 0, rc;
	while ((rc = pym_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PYM_R_NAME && names++ == 0) {
			cr_assert_eq(rec.name_kind, PYM_NAME_CELL);
			cr_assert_eq(rec.addr, 0x7f0000005000);
			size_t n;
			const char *s = pym_reader_string(r, rec.name_id, &n);
			cr_assert(n == 3 && !memcmp(s, "cap", 3));
		} else if (rec.type == PYM_R_NAME) {
			cr_assert_eq(rec.name_kind, 77);
		} else if (rec.type == PYM_R_OBJECT) {
			objects++;
			cr_assert_eq(rec.flags, PYM_F_PAIRS);
			cr_assert_eq(rec.nrefs, 2);
		}
	}
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(names, 2);
	cr_assert_eq(objects, 1);
	pym_reader_close(r);
	free(b);
}

static void fill_bad_name(struct pym_writer *w)
{
	uint32_t s0;
	cr_assert(pym_writer_string(w, "x", 1, &s0) == 0);
	cr_assert(pym_writer_name(w, PYM_NAME_CELL, 0x10, s0 + 1) == -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert(pym_writer_finish(w) == -1); /* stays failed */
}

Test(format, writer_refuses_name_of_undefined_string)
{
	int fd = memfd_create("dump", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 1);
	cr_assert(w);
	fill_bad_name(w);
	pym_writer_close(w);
	close(fd);
}
