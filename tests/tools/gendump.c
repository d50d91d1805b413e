/* gendump.c — writes a synthetic pymple dump of about N objects with the real
 * writer (dumper/writer.c), shaped like a Python heap: instances with
 * attributes, strs, ints, floats, lists, tuples, dicts, cycles, unreachable
 * garbage, weak refs and references to freed addresses. For benchmarks and
 * CLI fixtures only: it is not a test oracle for the loader.
 *
 * usage: gendump OUT N   (prints the object count it wrote on stdout) */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pymple_format.h"
#include "writer.h"

#define GROUP  10  /* objects per group: one Node and what it holds */
#define BUCKET 100 /* groups per bucket list; the last group of each is garbage */

enum {
	T_NODE,
	T_STR,
	T_INT,
	T_FLOAT,
	T_LIST,
	T_TUPLE,
	T_BYTES,
	T_DICT,
	T_MODULE,
	T_WEAK,
	T_THREAD,
	NT
};
static const char *const tnames[NT] = {
        "__main__.Node", "str",   "int",  "float",  "list",
        "tuple",         "bytes", "dict", "module", "weakref.ReferenceType",
        "thread"};
enum { S_NAME, S_VALUE, S_RATIO, S_ITEMS, S_NEXT, S_REGISTRY, S_MAIN, S_DICT, NS };
static const char *const snames[NS] = {"name", "value",    "ratio",    "items",
                                       "next", "REGISTRY", "__main__", "__dict__"};

static uint64_t nobj, perm_mul;
static uint32_t sid[NS], tid[NT], tstr[NT];

/* A scrambled but collision-free address for object i (a permutation of
 * 0..nobj-1 by an odd multiplier coprime with nobj, 32-byte spaced). */
static uint64_t addr_of(uint64_t i)
{
	return 0x7f1200000000ull + ((i * perm_mul) % nobj) * 32;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

struct layout {
	uint64_t groups, buckets;
	uint64_t first_bucket, registry, mdict, module, sysmods, thread, first_weak, total;
};

static void plan(struct layout *L, uint64_t n)
{
	L->groups = n / GROUP ? n / GROUP : 1;
	L->buckets = (L->groups + BUCKET - 1) / BUCKET;
	L->first_bucket = L->groups * GROUP;
	L->registry = L->first_bucket + L->buckets;
	L->mdict = L->registry + 1;
	L->module = L->mdict + 1;
	L->sysmods = L->module + 1;
	L->thread = L->sysmods + 1;
	L->first_weak = L->thread + 1;
	L->total = L->first_weak + L->buckets;
}

static int is_garbage(uint64_t g)
{
	return g % BUCKET == BUCKET - 1;
}

/* The node after group g's node in its bucket's ring (garbage nodes point
 * to themselves). */
static uint64_t next_node(const struct layout *L, uint64_t g)
{
	if (is_garbage(g))
		return g;
	uint64_t b = g / BUCKET, first = b * BUCKET;
	uint64_t nx = g + 1;
	if (nx >= L->groups || is_garbage(nx) || nx / BUCKET != b)
		nx = first;
	return nx;
}

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0) {                                                                     \
			fprintf(stderr, "gendump: %s: %s\n", #x, strerror(errno));                 \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint64_t lab(uint64_t value, unsigned kind)
{
	return (value << PYM_LABEL_SHIFT) | kind;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gendump OUT N\n");
		return 2;
	}
	struct layout L;
	plan(&L, strtoull(argv[2], NULL, 10));
	nobj = L.total;
	perm_mul = 0x9E3779B1ull % nobj;
	while (perm_mul < 2 || gcd(perm_mul, nobj) != 1)
		perm_mul++;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	if (!w) {
		fprintf(stderr, "gendump: cannot open the writer\n");
		return 1;
	}
	CHECK(pym_writer_meta(w, "python_version", "3.11.7", 6));
	CHECK(pym_writer_meta(w, "pointer_size", "8", 1));
	char rss[32];
	snprintf(rss, sizeof rss, "%llu", (unsigned long long)(L.total * 160));
	CHECK(pym_writer_meta(w, "rss", rss, strlen(rss)));
	for (int i = 0; i < NS; i++)
		CHECK(pym_writer_string(w, snames[i], strlen(snames[i]), &sid[i]));
	for (int i = 0; i < NT; i++) {
		CHECK(pym_writer_string(w, tnames[i], strlen(tnames[i]), &tstr[i]));
		CHECK(pym_writer_type(w, tstr[i], 0x5600000000ull + 0x400ull * (uint64_t)i,
		                      &tid[i]));
	}
	CHECK(pym_writer_root(w, PYM_ROOT_MODULES, addr_of(L.sysmods), -1));

	struct pym_ref refs[BUCKET + 2];
	char val[64];
	for (uint64_t g = 0; g < L.groups; g++) {
		uint64_t b = g * GROUP;
		int garbage = is_garbage(g);
		struct pym_object o;
		/* 0: Node instance, held by its bucket and the previous node. */
		memset(&o, 0, sizeof o);
		refs[0] = (struct pym_ref){addr_of(b + 1), lab(sid[S_NAME], PYM_LABEL_ATTR)};
		refs[1] = (struct pym_ref){addr_of(b + 2), lab(sid[S_VALUE], PYM_LABEL_ATTR)};
		refs[2] = (struct pym_ref){addr_of(b + 3), lab(sid[S_RATIO], PYM_LABEL_ATTR)};
		refs[3] = (struct pym_ref){addr_of(b + 4), lab(sid[S_ITEMS], PYM_LABEL_ATTR)};
		refs[4] = (struct pym_ref){addr_of(next_node(&L, g) * GROUP),
		                           lab(sid[S_NEXT], PYM_LABEL_ATTR)};
		o.addr = addr_of(b);
		o.type = tid[T_NODE];
		o.flags = PYM_F_GC_TRACKED | PYM_F_EXTRA;
		o.size = 48;
		o.extra = 40;
		/* refcount = strong references in the dump: bucket + previous node
		 * (+1 held from C for the first node of every 10th bucket). */
		o.refcount = garbage ? 1 : 2 + ((g % (BUCKET * 10)) == 0);
		if (!garbage && g / BUCKET * BUCKET == g && next_node(&L, g) == g)
			o.refcount = 2; /* a ring of one: itself + bucket */
		o.nrefs = 5;
		o.refs = refs;
		CHECK(pym_writer_object(w, &o));
		/* 1: str name (node attr + dict key) */
		int n = snprintf(val, sizeof val, "node-%llu", (unsigned long long)g);
		o = (struct pym_object){addr_of(b + 1),
		                        tid[T_STR],
		                        PYM_F_LENGTH | PYM_F_VALUE,
		                        (uint64_t)(49 + n),
		                        2,
		                        (uint64_t)n,
		                        0,
		                        0,
		                        val,
		                        (uint32_t)n,
		                        0,
		                        NULL};
		CHECK(pym_writer_object(w, &o));
		/* 2: int value (node attr + dict value) */
		n = snprintf(val, sizeof val, "%llu", (unsigned long long)(g * 7919));
		o = (struct pym_object){
		        addr_of(b + 2), tid[T_INT], PYM_F_VALUE, 28, 2, 0, 0, 0, val,
		        (uint32_t)n,    0,          NULL};
		CHECK(pym_writer_object(w, &o));
		/* 3: float */
		n = snprintf(val, sizeof val, "%llu.5", (unsigned long long)g);
		o = (struct pym_object){addr_of(b + 3),
		                        tid[T_FLOAT],
		                        PYM_F_VALUE,
		                        24,
		                        1,
		                        0,
		                        0,
		                        0,
		                        val,
		                        (uint32_t)n,
		                        0,
		                        NULL};
		CHECK(pym_writer_object(w, &o));
		/* 4: list [tuple, bytes, str] */
		refs[0] = (struct pym_ref){addr_of(b + 5), lab(0, PYM_LABEL_INDEX)};
		refs[1] = (struct pym_ref){addr_of(b + 6), lab(1, PYM_LABEL_INDEX)};
		refs[2] = (struct pym_ref){addr_of(b + 7), lab(2, PYM_LABEL_INDEX)};
		o = (struct pym_object){addr_of(b + 4),
		                        tid[T_LIST],
		                        PYM_F_GC_TRACKED | PYM_F_LENGTH,
		                        88,
		                        1,
		                        3,
		                        0,
		                        0,
		                        NULL,
		                        0,
		                        3,
		                        refs};
		CHECK(pym_writer_object(w, &o));
		/* 5: tuple (int, dict) */
		refs[0] = (struct pym_ref){addr_of(b + 8), lab(0, PYM_LABEL_INDEX)};
		refs[1] = (struct pym_ref){addr_of(b + 9), lab(1, PYM_LABEL_INDEX)};
		o = (struct pym_object){addr_of(b + 5),
		                        tid[T_TUPLE],
		                        PYM_F_GC_TRACKED | PYM_F_LENGTH,
		                        56,
		                        1,
		                        2,
		                        0,
		                        0,
		                        NULL,
		                        0,
		                        2,
		                        refs};
		CHECK(pym_writer_object(w, &o));
		/* 6: bytes */
		o = (struct pym_object){addr_of(b + 6),
		                        tid[T_BYTES],
		                        PYM_F_LENGTH | PYM_F_VALUE,
		                        49,
		                        1,
		                        16,
		                        0,
		                        0,
		                        "00112233445566778899aabbccddeeff",
		                        32,
		                        0,
		                        NULL};
		CHECK(pym_writer_object(w, &o));
		/* 7: str */
		o = (struct pym_object){addr_of(b + 7),
		                        tid[T_STR],
		                        PYM_F_LENGTH | PYM_F_VALUE,
		                        54,
		                        1,
		                        5,
		                        0,
		                        0,
		                        "hello",
		                        5,
		                        0,
		                        NULL};
		CHECK(pym_writer_object(w, &o));
		/* 8: int */
		o = (struct pym_object){addr_of(b + 8),  tid[T_INT], PYM_F_VALUE, 32,  1, 0, 0, 0,
		                        "1000000000000", 13,         0,           NULL};
		CHECK(pym_writer_object(w, &o));
		/* 9: dict {name-str: int} */
		refs[0] = (struct pym_ref){addr_of(b + 1), lab(0, PYM_LABEL_NONE)};
		refs[1] = (struct pym_ref){addr_of(b + 2), lab(sid[S_NAME], PYM_LABEL_KEY)};
		o = (struct pym_object){addr_of(b + 9),
		                        tid[T_DICT],
		                        PYM_F_GC_TRACKED | PYM_F_LENGTH,
		                        232,
		                        1,
		                        1,
		                        0,
		                        0,
		                        NULL,
		                        0,
		                        2,
		                        refs};
		CHECK(pym_writer_object(w, &o));
	}
	/* Buckets: the live nodes of 100 groups, plus one freed address. */
	for (uint64_t k = 0; k < L.buckets; k++) {
		uint32_t nr = 0;
		for (uint64_t g = k * BUCKET; g < (k + 1) * BUCKET && g < L.groups; g++)
			if (!is_garbage(g)) {
				refs[nr] = (struct pym_ref){addr_of(g * GROUP),
				                            lab(nr, PYM_LABEL_INDEX)};
				nr++;
			}
		refs[nr] = (struct pym_ref){0x10000000ull + 64 * k, lab(nr, PYM_LABEL_INDEX)};
		nr++;
		struct pym_object o = {addr_of(L.first_bucket + k),
		                       tid[T_LIST],
		                       PYM_F_GC_TRACKED | PYM_F_LENGTH,
		                       56 + 8ull * nr,
		                       1,
		                       nr,
		                       0,
		                       0,
		                       NULL,
		                       0,
		                       nr,
		                       refs};
		CHECK(pym_writer_object(w, &o));
	}
	/* registry list of buckets: a streaming writer wants refs in memory, so
	 * it is written in one record with a heap array. */
	struct pym_ref *rr = calloc(L.buckets + 1, sizeof *rr);
	if (!rr)
		return 1;
	for (uint64_t k = 0; k < L.buckets; k++)
		rr[k] = (struct pym_ref){addr_of(L.first_bucket + k), lab(k, PYM_LABEL_INDEX)};
	struct pym_object o = {addr_of(L.registry),
	                       tid[T_LIST],
	                       PYM_F_GC_TRACKED | PYM_F_LENGTH,
	                       56 + 8 * L.buckets,
	                       1,
	                       L.buckets,
	                       0,
	                       0,
	                       NULL,
	                       0,
	                       (uint32_t)L.buckets,
	                       rr};
	CHECK(pym_writer_object(w, &o));
	free(rr);
	refs[0] = (struct pym_ref){addr_of(L.registry), lab(sid[S_REGISTRY], PYM_LABEL_KEY)};
	o = (struct pym_object){addr_of(L.mdict),
	                        tid[T_DICT],
	                        PYM_F_GC_TRACKED | PYM_F_LENGTH,
	                        232,
	                        2,
	                        1,
	                        0,
	                        0,
	                        NULL,
	                        0,
	                        1,
	                        refs};
	CHECK(pym_writer_object(w, &o));
	refs[0] = (struct pym_ref){addr_of(L.mdict), lab(sid[S_DICT], PYM_LABEL_ATTR)};
	o = (struct pym_object){addr_of(L.module),
	                        tid[T_MODULE],
	                        PYM_F_GC_TRACKED | PYM_F_VALUE,
	                        72,
	                        1,
	                        0,
	                        0,
	                        0,
	                        "__main__",
	                        8,
	                        1,
	                        refs};
	CHECK(pym_writer_object(w, &o));
	refs[0] = (struct pym_ref){addr_of(L.module), lab(sid[S_MAIN], PYM_LABEL_KEY)};
	o = (struct pym_object){addr_of(L.sysmods),
	                        tid[T_DICT],
	                        PYM_F_GC_TRACKED | PYM_F_LENGTH,
	                        232,
	                        2,
	                        1,
	                        0,
	                        0,
	                        NULL,
	                        0,
	                        1,
	                        refs};
	CHECK(pym_writer_object(w, &o));
	refs[0] = (struct pym_ref){addr_of(L.mdict), lab(0, PYM_LABEL_NONE)};
	o = (struct pym_object){
	        addr_of(L.thread), tid[T_THREAD], PYM_F_SYNTHETIC, 0, 0, 0, 0, 0, NULL, 0, 1, refs};
	CHECK(pym_writer_object(w, &o));
	for (uint64_t k = 0; k < L.buckets; k++) {
		refs[0] = (struct pym_ref){addr_of(k * BUCKET * GROUP), lab(0, PYM_LABEL_WEAK)};
		o = (struct pym_object){addr_of(L.first_weak + k),
		                        tid[T_WEAK],
		                        PYM_F_GC_TRACKED,
		                        72,
		                        1,
		                        0,
		                        0,
		                        0,
		                        NULL,
		                        0,
		                        1,
		                        refs};
		CHECK(pym_writer_object(w, &o));
	}
	CHECK(pym_writer_finish(w));
	pym_writer_close(w);
	CHECK(fsync(fd));
	CHECK(close(fd));
	printf("%llu\n", (unsigned long long)L.total);
	return 0;
}
