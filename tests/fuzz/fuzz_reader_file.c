/* fuzz_reader_file.c — libFuzzer entry over reader.c in file mode, the path
 * `load` and `check` take (fetch() through read(2), the chunk buffers, the
 * trailer read at open), once as `check` reads (references in pieces, no
 * tables) and once as `load` does (gathered whole, within a budget). The
 * input goes to a memfd. Inputs starting with 'R' are raw records (frame.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_file(const char *path, unsigned mode)
{
	struct pym_error err;
	struct pym_reader *r = pym_reader_open(path, &err);
	if (!r)
		return;
	pym_reader_set_mode(r, mode);
	pym_reader_set_budget(r, 256u << 20);
	struct pym_record rec;
	volatile uint64_t sink = 0;
	uint64_t counts[6];
	if (pym_reader_trailer(r, counts))
		sink += counts[0];
	while (pym_reader_next(r, &rec, &err) == 1) {
		if (rec.type == PYM_R_OBJECT || rec.type == PYM_R_REFS)
			for (uint32_t i = 0; i < rec.nrefs; i++)
				sink += rec.refs[i].addr + rec.refs[i].value + rec.refs[i].kind;
		if (rec.type == PYM_R_STRING)
			sink += rec.text_len ? (unsigned char)rec.text[rec.text_len - 1] : 0;
	}
	sink += pym_reader_offset(r);
	pym_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *framed;
	size_t len;
	const uint8_t *in = fuzz_input(data, size, &len, &framed);
	if (!in)
		return 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write(fd, in, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		free(framed);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	read_file(path, PYM_READ_PIECES | PYM_READ_NO_TABLES);
	read_file(path, 0);
	close(fd);
	free(framed);
	return 0;
}
