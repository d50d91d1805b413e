/* fuzz_heap.c — libFuzzer entry over opening a persisted heap: the input
 * becomes the heap_chunk rows and heap.* counts of a database (heapdb.h)
 * and heap_load() decodes and validates it as every graph command does; a
 * heap it accepts must hold heap_check's invariants, so the walks built on
 * it (the reverse CSR here) stay in bounds. Any input must end in a clean
 * error (status 2: damaged; 1: out of memory, refused past --max-memory) or
 * a sound heap, never a crash, a leak or a hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "heap_store.h"
#include "heapdb.h"
#include "load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sqlite3 *db;
	struct heap h;
	struct db_error err;
	load_max_memory = 256u << 20; /* as --max-memory 256M */
	if (heapdb_build(data, size, &db) < 0)
		return 0;
	heap_init(&h);
	memset(&err, 0, sizeof err);
	if (heap_load(db, "fuzz.db", &h, &err) == 0) {
		char why[200];
		if (heap_check(&h, why, sizeof why) < 0 || heap_reverse(&h) < 0)
			abort();
		for (uint32_t v = 0; v < h.n; v++)
			for (uint64_t k = h.roff[v]; k < h.roff[v + 1]; k++)
				if (h.rsrc[k] >= h.n || h.dst[h.redge[k]] != v)
					abort();
	} else if ((err.status != 1 && err.status != 2) || !err.msg[0] || strchr(err.msg, '\n')) {
		abort();
	}
	heap_release(&h);
	/* the lean heap of path, referrers and garbage: the same input */
	struct heap_refs refs;
	memset(&err, 0, sizeof err);
	if (heap_load_lean(db, "fuzz.db", &h, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS, &refs, &err) ==
	    0) {
		char why[200];
		for (uint32_t v = 0; v < h.n; v++)
			for (uint64_t k = h.roff[v]; k < h.roff[v + 1]; k++)
				if (h.rsrc[k] >= h.n || (h.type && h.type[h.rsrc[k]] >= h.ntypes))
					abort();
		for (uint64_t e = 0; e < h.m; e++) {
			struct heap_ref r;
			if (heap_refs_get(&refs, e, &r, why, sizeof why) == 0 && r.dst >= h.n &&
			    r.dst != HEAP_NONE)
				abort();
		}
		heap_refs_release(&refs);
	} else if ((err.status != 1 && err.status != 2) || !err.msg[0] || strchr(err.msg, '\n')) {
		abort();
	}
	heap_release(&h);
	sqlite3_close(db);
	return 0;
}
