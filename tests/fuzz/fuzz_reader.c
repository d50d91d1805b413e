/* fuzz_reader.c — libFuzzer entry over the one dump decoder (reader.c): any
 * input must end in a clean error or a verified end, never a crash, a leak
 * or a hang. Built and run by tests/fuzz/run.sh; no main() here.
 * Inputs starting with 'R' are raw records: the target frames them in a valid
 * header, DATA chunk and TAIL, so mutations reach the record decoder instead
 * of dying in zlib. (The build also sets FUZZING_BUILD_MODE_UNSAFE_FOR_
 * PRODUCTION, which makes reader.c ignore checksum mismatches.) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pymple_format.h"
#include "reader.h"

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* header + DATA(raw) + TAIL(zero counts) in a fresh buffer; NULL if raw is
 * too large for one chunk */
static unsigned char *frame(const uint8_t *raw, size_t n, size_t *len)
{
	if (n == 0 || n > PYM_CHUNK_MAX_ULEN)
		return NULL;
	uLongf zl = compressBound(n);
	unsigned char *b = malloc(16 + 16 + zl + 16 + 48);
	if (!b)
		return NULL;
	memcpy(b, PYM_MAGIC, 8);
	b[8] = PYM_VERSION_MAJOR, b[9] = 0, b[10] = 0, b[11] = 0;
	le32(b + 12, (uint32_t)crc32(0, b, 12));
	unsigned char *c = b + 16;
	if (compress2(c + 16, &zl, raw, n, 1) != Z_OK) {
		free(b);
		return NULL;
	}
	memcpy(c, "DATA", 4);
	le32(c + 4, (uint32_t)zl);
	le32(c + 8, (uint32_t)n);
	le32(c + 12, (uint32_t)crc32(crc32(0, c, 12), c + 16, (uInt)zl));
	unsigned char *t = c + 16 + zl;
	memcpy(t, "TAIL", 4);
	le32(t + 4, 48);
	le32(t + 8, 48);
	memset(t + 16, 0, 48);
	le32(t + 12, (uint32_t)crc32(crc32(0, t, 12), t + 16, 48));
	*len = (size_t)(t + 64 - b);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pym_error err;
	unsigned char *framed = NULL;
	if (size > 0 && data[0] == 'R') {
		framed = frame(data + 1, size - 1, &size);
		if (!framed)
			return 0;
		data = framed;
	}
	struct pym_reader *r = pym_reader_open_mem(data, size, &err);
	if (!r) {
		free(framed);
		return 0;
	}
	struct pym_record rec;
	volatile uint64_t sink = 0;
	while (pym_reader_next(r, &rec, &err) == 1) {
		/* touch everything the record points at, as the loader would */
		if (rec.type == PYM_R_OBJECT) {
			for (uint32_t i = 0; i < rec.nrefs; i++)
				sink += rec.refs[i].addr + rec.refs[i].value + rec.refs[i].kind;
			for (uint32_t i = 0; i < rec.value_len; i++)
				sink += (unsigned char)rec.value[i];
			sink += (uint64_t)pym_reader_type_name(r, rec.type_index);
		} else if (rec.type == PYM_R_META) {
			for (size_t i = 0; i < rec.key_len; i++)
				sink += (unsigned char)rec.key[i];
			for (size_t i = 0; i < rec.text_len; i++)
				sink += (unsigned char)rec.text[i];
		} else if (rec.type == PYM_R_STRING) {
			size_t len;
			const char *s = pym_reader_string(r, rec.id, &len);
			sink += len + (s && len ? (unsigned char)s[len - 1] : 0);
		}
	}
	pym_reader_close(r);
	free(framed);
	return 0;
}
