/* genbomb.c — writes valid pymple dumps (every checksum right, counts in the
 * trailer true) that decompress to far more than their size: the inputs a
 * reader must survive within its stated memory bound. Records are framed by
 * hand here because the real writer (format/writer.c) needs an object's
 * references in memory at once, which is what these files are too large
 * for; the framing follows schema/FORMAT.md and uses zlib as the writer does.
 * Streams: holds one chunk.
 *
 * usage: genbomb KIND OUT N
 *   morerefs  one object with F_MORE_REFS and N references in REFS records
 *   strings   N empty strings
 *   objects   N objects of one type, each with one reference */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pymple_format.h"

static FILE *out;
static unsigned char *raw;
static size_t used;
static uint64_t counts[6]; /* objects, refs, strings, types, roots, chunks */
#define CHUNK (PYM_CHUNK_MAX_ULEN - 64)

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void die(const char *what)
{
	fprintf(stderr, "genbomb: %s\n", what);
	exit(1);
}

/* Writes a chunk with tag and payload (compressed unless TAIL). */
static void chunk(const char *tag, const unsigned char *payload, size_t clen, size_t ulen)
{
	unsigned char h[PYM_CHUNK_HEADER_LEN];
	memcpy(h, tag, 4);
	put32(h + 4, (uint32_t)clen);
	put32(h + 8, (uint32_t)ulen);
	put32(h + 12, (uint32_t)crc32(crc32(0L, h, 12), payload, (uInt)clen));
	if (fwrite(h, 1, sizeof h, out) != sizeof h || fwrite(payload, 1, clen, out) != clen)
		die("write failed");
}

static void flush(void)
{
	if (!used)
		return;
	uLongf zl = compressBound(used);
	unsigned char *z = malloc(zl);
	if (!z || compress2(z, &zl, raw, used, 9) != Z_OK)
		die("zlib failed");
	chunk(PYM_TAG_DATA, z, zl, used);
	free(z);
	used = 0;
	counts[5]++;
}

static void varint(uint64_t v)
{
	while (v >= 0x80) {
		raw[used++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	raw[used++] = (unsigned char)v;
}

/* Makes room for a record of up to n bytes in the current chunk. */
static void room(size_t n)
{
	if (used + n > CHUNK)
		flush();
}

int main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: genbomb morerefs|strings|objects OUT N");
	const char *kind = argv[1];
	uint64_t n = strtoull(argv[3], NULL, 10);
	out = fopen(argv[2], "wb");
	raw = malloc(PYM_CHUNK_MAX_ULEN);
	if (!out || !raw)
		die("cannot open the output");
	unsigned char hdr[PYM_FILE_HEADER_LEN];
	memcpy(hdr, PYM_MAGIC, PYM_MAGIC_LEN);
	hdr[8] = PYM_VERSION_MAJOR, hdr[9] = 0, hdr[10] = PYM_VERSION_MINOR, hdr[11] = 0;
	put32(hdr + 12, (uint32_t)crc32(0L, hdr, 12));
	fwrite(hdr, 1, sizeof hdr, out);
	/* string 0 "object", type 0 named by it */
	raw[used++] = PYM_REC_STRING;
	varint(6);
	memcpy(raw + used, "object", 6);
	used += 6;
	raw[used++] = PYM_REC_TYPE;
	varint(0);
	varint(0x1000);
	counts[2] = counts[3] = 1;
	if (strcmp(kind, "morerefs") == 0) {
		/* OBJECT addr type flags size refcount total nrefs=0, then REFS
		 * records of (delta 0, label NONE) = 2 bytes per reference */
		raw[used++] = PYM_REC_OBJECT;
		varint(0x20000 << 1);
		varint(0);
		varint(PYM_F_MORE_REFS);
		varint(16);
		varint(1);
		varint(n);
		varint(0);
		counts[0] = 1;
		for (uint64_t left = n; left;) {
			room(32);
			uint64_t k = (CHUNK - used - 16) / 2;
			if (k > left)
				k = left;
			raw[used++] = PYM_REC_REFS;
			varint(k);
			memset(raw + used, 0, 2 * k);
			used += 2 * k;
			left -= k;
		}
		counts[1] = n;
	} else if (strcmp(kind, "strings") == 0) {
		for (uint64_t i = 0; i < n; i++) {
			room(2);
			raw[used++] = PYM_REC_STRING;
			raw[used++] = 0;
		}
		counts[2] += n;
	} else if (strcmp(kind, "objects") == 0) {
		/* the same address again and again: delta 0 after the first */
		for (uint64_t i = 0; i < n; i++) {
			room(16);
			raw[used++] = PYM_REC_OBJECT;
			varint(i == 0 ? 0x20000 << 1 : 0);
			raw[used++] = 0, raw[used++] = 0, raw[used++] = 16, raw[used++] = 1;
			raw[used++] = 1, raw[used++] = 0, raw[used++] = 0;
		}
		counts[0] = n;
		counts[1] = n;
	} else {
		die("unknown kind");
	}
	flush();
	unsigned char tail[PYM_TAIL_LEN];
	for (int i = 0; i < 6; i++)
		put64(tail + 8 * i, counts[i]);
	chunk(PYM_TAG_TAIL, tail, sizeof tail, sizeof tail);
	if (fclose(out) != 0)
		die("write failed");
	free(raw);
	return 0;
}
