/* addrmap.c — address -> id hash (addrmap.h). Linear probing over a power
 * of two table; objects are 16-byte aligned, so the low bits are dropped
 * before Fibonacci hashing. */
#include "addrmap.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t addr_hash(uint64_t a, int bits)
{
	return ((a >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - bits);
}

int addrmap_build(struct addrmap *am, const uint64_t *addr, uint32_t n)
{
	int bits = 4;
	while (bits < 40 && ((uint64_t)1 << bits) < 2 * (uint64_t)n)
		bits++;
	am->addr = addr;
	am->bits = bits;
	am->mask = ((uint64_t)1 << bits) - 1;
	am->dups = 0;
	am->slot = malloc(((size_t)1 << bits) * sizeof *am->slot);
	if (!am->slot)
		return -1;
	memset(am->slot, 0xff, ((size_t)1 << bits) * sizeof *am->slot);
	for (uint32_t v = 0; v < n; v++) {
		uint64_t a = addr[v], h = addr_hash(a, bits);
		for (;;) {
			uint32_t s = am->slot[h];
			if (s == ADDRMAP_NONE) {
				am->slot[h] = v;
				break;
			}
			if (addr[s] == a) {
				am->dups++;
				break;
			}
			h = (h + 1) & am->mask;
		}
	}
	return 0;
}

uint32_t addrmap_find(const struct addrmap *am, uint64_t a)
{
	uint64_t h = addr_hash(a, am->bits);
	for (;;) {
		uint32_t s = am->slot[h];
		if (s == ADDRMAP_NONE || am->addr[s] == a)
			return s;
		h = (h + 1) & am->mask;
	}
}

void addrmap_release(struct addrmap *am)
{
	free(am->slot);
	memset(am, 0, sizeof *am);
}
