/* fuzz_reader.c — libFuzzer entry over the one dump decoder (reader.c) in
 * memory mode, gathering references whole and keeping the tables: any input
 * must end in a clean error or a verified end, never a crash, a leak or a
 * hang. Built and run by tests/fuzz/run.sh; no main() here. Inputs starting
 * with 'R' are raw records (frame.h). The build sets FUZZING_BUILD_MODE_
 * UNSAFE_FOR_PRODUCTION, which makes reader.c ignore chunk checksums. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pym_error err;
	unsigned char *framed;
	size_t len;
	const uint8_t *in = fuzz_input(data, size, &len, &framed);
	if (!in)
		return 0;
	struct pym_reader *r = pym_reader_open_mem(in, len, &err);
	if (!r) {
		free(framed);
		return 0;
	}
	pym_reader_set_budget(r, 256u << 20);
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
			size_t n;
			const char *s = pym_reader_string(r, rec.id, &n);
			sink += n + (s && n ? (unsigned char)s[n - 1] : 0);
		}
	}
	pym_reader_close(r);
	free(framed);
	return 0;
}
