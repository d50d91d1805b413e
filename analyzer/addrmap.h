/* addrmap.h — address -> object id lookup over an array of addresses: open
 * addressing, one uint32 slot per entry at most half full. No SQLite, no
 * files; library code (returns -1 on out-of-memory, never prints). */
#ifndef PYMPLE_ADDRMAP_H
#define PYMPLE_ADDRMAP_H

#include <stdint.h>

#define ADDRMAP_NONE UINT32_MAX

struct addrmap {
	const uint64_t *addr; /* the caller's array; must outlive the map */
	uint32_t *slot;
	uint64_t mask;
	int bits;
	uint64_t dups; /* addresses seen again (the first occurrence wins) */
};

/* Indexes addr[0 .. n). 0, or -1 out of memory. */
int addrmap_build(struct addrmap *am, const uint64_t *addr, uint32_t n);
/* The id of the first object at a, or ADDRMAP_NONE. */
uint32_t addrmap_find(const struct addrmap *am, uint64_t a);
void addrmap_release(struct addrmap *am);

#endif
