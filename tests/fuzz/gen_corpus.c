/* gen_corpus.c — writes the fuzz seed corpus (tests/fuzz/corpus/): small valid
 * dumps of every record kind and shape through writer.c, plus hand-framed
 * files (skippable records, ancillary chunks, versions) and damaged copies.
 * Each name says the outcome the replay test (tests/unit/test_fuzz_replay.c)
 * asserts: ok-* read to a verified end and load, bad-* are refused cleanly
 * (raw-record seeds, bad-R-*, are framed with a trailer of unknown counts,
 * so they decode to the end and are refused there).
 * Run by `tests/fuzz/run.sh --regen`; the corpus is committed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "pymple_format.h"
#include "writer.h"

static const char *dir;

static void save(const char *name, const unsigned char *b, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

typedef void (*fill_fn)(struct pym_writer *w);

static unsigned char *dump(fill_fn fill, size_t *len)
{
	int fd = memfd_create("seed", 0);
	struct pym_writer *w = pym_writer_open(fd, NULL, 6);
	if (!w) {
		perror("writer");
		exit(1);
	}
	fill(w);
	if (pym_writer_finish(w) < 0) {
		perror("finish");
		exit(1);
	}
	pym_writer_close(w);
	off_t n = lseek(fd, 0, SEEK_END);
	unsigned char *b = malloc((size_t)n);
	if (pread(fd, b, (size_t)n, 0) != n)
		exit(1);
	close(fd);
	*len = (size_t)n;
	return b;
}

static void ok(int rc)
{
	if (rc < 0) {
		perror("write");
		exit(1);
	}
}

static void fill_empty(struct pym_writer *w)
{
	(void)w;
}

static void fill_small(struct pym_writer *w)
{
	uint32_t s0, s1, t0, t1;
	ok(pym_writer_meta(w, "python_version", "3.11.7", 6));
	ok(pym_writer_meta(w, "pointer_size", "8", 1));
	ok(pym_writer_string(w, "dict", 4, &s0));
	ok(pym_writer_string(w, "name", 4, &s1));
	ok(pym_writer_type(w, s0, 0x7f0000001000, &t0));
	ok(pym_writer_type(w, s1, 0x7f0000002000, &t1));
	struct pym_ref refs[5] = {{0x7f0000003000, PYM_LABEL_NONE},
	                          {0x7f0000003040, (3u << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX},
	                          {0x7f0000003080, (1u << PYM_LABEL_SHIFT) | PYM_LABEL_KEY},
	                          {0x7f0000002f00, (1u << PYM_LABEL_SHIFT) | PYM_LABEL_ATTR},
	                          {0x10, PYM_LABEL_WEAK}};
	struct pym_object o = {.addr = 0x7f0000003000,
	                       .type = t0,
	                       .flags = PYM_F_GC_TRACKED | PYM_F_LENGTH,
	                       .size = 232,
	                       .refcount = 2,
	                       .length = 3,
	                       .nrefs = 5,
	                       .refs = refs};
	ok(pym_writer_object(w, &o));
	struct pym_object v = {.addr = 0x7f0000003040,
	                       .type = t1,
	                       .flags = PYM_F_VALUE | PYM_F_EXTRA,
	                       .size = 53,
	                       .refcount = 1,
	                       .extra = 16,
	                       .value = "hello",
	                       .value_len = 5};
	ok(pym_writer_object(w, &v));
	ok(pym_writer_root(w, PYM_ROOT_MODULES, 0x7f0000003000, s1));
	ok(pym_writer_root(w, PYM_ROOT_THREAD, 0x7f0000009000, -1));
}

static void fill_flags(struct pym_writer *w)
{
	uint32_t s, t;
	ok(pym_writer_string(w, "T", 1, &s));
	ok(pym_writer_type(w, s, 64, &t));
	for (uint32_t i = 0; i < 64; i++) {
		struct pym_ref r = {i * 16u, ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX};
		struct pym_object o = {.addr = 4096 +
		                               (i % 2 ? -16 * (uint64_t)i : 16 * (uint64_t)i),
		                       .type = t,
		                       .flags = i * 8u | (i & 7),
		                       .size = i,
		                       .refcount = i,
		                       .length = i,
		                       .extra = i,
		                       .serial = i,
		                       .value = "abcdefgh",
		                       .value_len = i % 9,
		                       .nrefs = i % 2,
		                       .refs = &r};
		o.flags &= ~PYM_F_MORE_REFS;
		ok(pym_writer_object(w, &o));
	}
}

static void fill_more_refs(struct pym_writer *w)
{
	uint32_t s, t;
	static struct pym_ref refs[17000];
	ok(pym_writer_string(w, "list", 4, &s));
	ok(pym_writer_type(w, s, 64, &t));
	for (uint32_t i = 0; i < 17000; i++) {
		refs[i].addr = 0x1000 + 32 * (uint64_t)i;
		refs[i].label = i < 8 ? (((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX) : 0;
	}
	struct pym_object o = {.addr = 0x800,
	                       .type = t,
	                       .flags = PYM_F_VALUE,
	                       .value = "v",
	                       .value_len = 1,
	                       .nrefs = 17000,
	                       .refs = refs};
	ok(pym_writer_object(w, &o));
}

static void fill_chunks(struct pym_writer *w)
{
	uint32_t s, t;
	ok(pym_writer_string(w, "float", 5, &s));
	ok(pym_writer_type(w, s, 64, &t));
	for (uint32_t i = 0; i < 200000; i++) {
		struct pym_object o = {.addr = 0x100000 + 32 * (uint64_t)i,
		                       .type = t,
		                       .flags = 0,
		                       .size = 24,
		                       .refcount = 1};
		ok(pym_writer_object(w, &o));
	}
}

/* Allocation sites: SITE records and objects with ALLOC records. */
static void fill_sites(struct pym_writer *w)
{
	uint32_t s, f1, f2, t, site1, site2;
	ok(pym_writer_string(w, "Node", 4, &s));
	ok(pym_writer_string(w, "app.py", 6, &f1));
	ok(pym_writer_string(w, "lib.py", 6, &f2));
	ok(pym_writer_type(w, s, 64, &t));
	struct pym_site_frame a[2] = {{f1, 12}, {f2, 7}}, b[1] = {{f2, 99}};
	ok(pym_writer_site(w, a, 2, &site1));
	ok(pym_writer_site(w, b, 1, &site2));
	for (uint32_t i = 0; i < 6; i++) {
		struct pym_object o = {
		        .addr = 0x2000 + 48 * (uint64_t)i, .type = t, .size = 48, .refcount = 1};
		ok(pym_writer_alloc(w, i % 3 == 0 ? site1 : i % 3 == 1 ? site2 : 0));
		ok(pym_writer_object(w, &o));
	}
}

/* Hand framing, independent of writer.c. */
static size_t chunk(unsigned char *out, const char *tag, const unsigned char *p, uint32_t clen,
                    uint32_t ulen)
{
	memcpy(out, tag, 4);
	for (int i = 0; i < 4; i++) {
		out[4 + i] = (unsigned char)(clen >> (8 * i));
		out[8 + i] = (unsigned char)(ulen >> (8 * i));
	}
	uLong c = crc32(crc32(0, out, 12), p, clen);
	for (int i = 0; i < 4; i++)
		out[12 + i] = (unsigned char)(c >> (8 * i));
	memcpy(out + 16, p, clen);
	return 16 + (size_t)clen;
}

static size_t crafted(unsigned char *b, unsigned major, const unsigned char *raw, size_t rawlen,
                      const uint64_t counts[6], int note)
{
	memcpy(b, PYM_MAGIC, 8);
	b[8] = (unsigned char)major, b[9] = 0, b[10] = 3, b[11] = 0;
	uLong c = crc32(0, b, 12);
	for (int i = 0; i < 4; i++)
		b[12 + i] = (unsigned char)(c >> (8 * i));
	size_t n = 16;
	unsigned char z[4096];
	uLongf zl = sizeof z;
	if (compress2(z, &zl, raw, rawlen, 9) != Z_OK)
		exit(1);
	n += chunk(b + n, "DATA", z, (uint32_t)zl, (uint32_t)rawlen);
	if (note)
		n += chunk(b + n, "note", (const unsigned char *)"ancillary", 9, 9);
	unsigned char t[48];
	for (int i = 0; i < 48; i++)
		t[i] = (unsigned char)(counts[i / 8] >> (8 * (i % 8)));
	n += chunk(b + n, "TAIL", t, 48, 48);
	return n;
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	static const struct {
		const char *name;
		fill_fn fill;
	} seeds[] = {{"ok-empty-dump", fill_empty}, {"ok-small", fill_small},
	             {"ok-flags", fill_flags},      {"ok-more-refs", fill_more_refs},
	             {"ok-chunks", fill_chunks},    {"ok-sites", fill_sites}};
	for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
		size_t n;
		unsigned char *b = dump(seeds[i].fill, &n);
		save(seeds[i].name, b, n);
		if (seeds[i].fill == fill_small) {
			save("bad-small-truncated", b, n - 30);
			b[40] ^= 0x20;
			save("bad-small-flipped", b, n);
		}
		free(b);
	}
	/* string, type, object with key label and MORE_REFS + REFS, skippable
	 * record, root; then the same with an ancillary chunk and a later minor */
	static const unsigned char raw[] = "\x02\x01T\x03\x00\x80\x01"
	                                   "\x04\x80\x02\x00\x00\x05\x01\x01\x01\x02"
	                                   "\x5f\x03xyz"
	                                   "\x04\x04\x00\x80\x04\x00\x00\x03\x01\x02\x00"
	                                   "\x06\x02\x04\x09\x00\x00"
	                                   "\x05\x03\x80\x01\x01";
	uint64_t counts[6] = {2, 4, 1, 1, 1, 1};
	unsigned char b[8192];
	save("ok-crafted", b, crafted(b, 1, raw, sizeof raw - 1, counts, 0));
	save("ok-crafted-note", b, crafted(b, 1, raw, sizeof raw - 1, counts, 1));
	save("bad-future-major", b, crafted(b, 2, raw, sizeof raw - 1, counts, 0));
	counts[0] = 3;
	save("bad-tail-mismatch", b, crafted(b, 1, raw, sizeof raw - 1, counts, 0));
	counts[0] = 1; /* a trailer that says fewer objects: refused at the second */
	save("bad-tail-short", b, crafted(b, 1, raw, sizeof raw - 1, counts, 0));
	/* raw-record seeds ('R' + records; fuzz_reader.c frames them) */
	b[0] = 'R';
	memcpy(b + 1, raw, sizeof raw - 1);
	save("bad-R-crafted", b, sizeof raw);
	size_t n;
	unsigned char *s = dump(fill_small, &n);
	uLongf ul = sizeof b - 1;
	uint32_t clen = (uint32_t)s[20] | (uint32_t)s[21] << 8;
	if (uncompress(b + 1, &ul, s + 32, clen) != Z_OK)
		exit(1);
	save("bad-R-small", b, 1 + ul);
	free(s);
	s = dump(fill_flags, &n);
	ul = sizeof b - 1;
	clen = (uint32_t)s[20] | (uint32_t)s[21] << 8;
	if (uncompress(b + 1, &ul, s + 32, clen) != Z_OK)
		exit(1);
	save("bad-R-flags", b, 1 + ul);
	free(s);
	save("bad-foreign", (const unsigned char *)"PK\x03\x04 not a dump", 17);
	return 0;
}
