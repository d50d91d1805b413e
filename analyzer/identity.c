/* identity.c — the hashes behind an object's identity across dumps (README:
 * diff matching; schema.sql: object_data.fingerprint): FNV-1a 64 of bytes,
 * and of numbers as 8 little-endian bytes. Pure functions. */
#include <stddef.h>
#include <stdint.h>

#include "load.h"
#include "load_int.h"

uint64_t load_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t identity_fnv_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (unsigned char)(v >> (8 * i));
		h *= 0x100000001b3ull;
	}
	return h;
}
