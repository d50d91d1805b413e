/* frame.h — the framing shared by the fuzz targets and the corpus replay
 * test: an input whose first byte is 'R' holds raw records, which get a valid
 * header, one DATA chunk and a TAIL around them, so mutations reach the record
 * decoder instead of dying in zlib. The TAIL's counts are all 2^64-1 (which no
 * file can hold: the reader decodes every record, then refuses the counts).
 * Header-only. */
#ifndef PYMPLE_FUZZ_FRAME_H
#define PYMPLE_FUZZ_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pymple_format.h"

static inline void fuzz_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* header + DATA(raw) + TAIL(counts 2^64-1) in a fresh buffer; NULL if raw is
 * empty or too large for one chunk */
static inline unsigned char *fuzz_frame(const uint8_t *raw, size_t n, size_t *len)
{
	if (n == 0 || n > PYM_CHUNK_MAX_ULEN)
		return NULL;
	uLongf zl = compressBound(n);
	unsigned char *b = malloc(16 + 16 + zl + 16 + 48);
	if (!b)
		return NULL;
	memcpy(b, PYM_MAGIC, 8);
	b[8] = PYM_VERSION_MAJOR, b[9] = 0, b[10] = 0, b[11] = 0;
	fuzz_le32(b + 12, (uint32_t)crc32(0, b, 12));
	unsigned char *c = b + 16;
	if (compress2(c + 16, &zl, raw, n, 1) != Z_OK) {
		free(b);
		return NULL;
	}
	memcpy(c, "DATA", 4);
	fuzz_le32(c + 4, (uint32_t)zl);
	fuzz_le32(c + 8, (uint32_t)n);
	fuzz_le32(c + 12, (uint32_t)crc32(crc32(0, c, 12), c + 16, (uInt)zl));
	unsigned char *t = c + 16 + zl;
	memcpy(t, "TAIL", 4);
	fuzz_le32(t + 4, 48);
	fuzz_le32(t + 8, 48);
	memset(t + 16, 0xff, 48);
	fuzz_le32(t + 12, (uint32_t)crc32(crc32(0, t, 12), t + 16, 48));
	*len = (size_t)(t + 64 - b);
	return b;
}

/* The bytes a target reads for input data: data itself, or framed when it
 * starts with 'R' (*owned then must be freed). NULL when there is nothing
 * to read. */
static inline const uint8_t *fuzz_input(const uint8_t *data, size_t size, size_t *len,
                                        unsigned char **owned)
{
	*owned = NULL;
	*len = size;
	if (size > 0 && data[0] == 'R') {
		*owned = fuzz_frame(data + 1, size - 1, len);
		return *owned;
	}
	return data;
}

#endif
