/* walk.c — visits every object reachable from the interpreter's roots and
 * the GC lists and writes one record per object through writer.h.
 * Creates no Python objects that outlive a single C __sizeof__ call, runs
 * no Python code, never releases the GIL; its memory is anonymous mmap. */
#include <Python.h>
#include <structmember.h>
#include <frameobject.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "allocsite.h"
#include "dump.h"
#include "pyint.h"
#include "pymple_format.h"
#include "walk.h"
#include "writer.h"

/* Set at import by pym_walk_prepare(); read-only afterwards. */
static PyObject *name_sizeof;     /* interned "__sizeof__" */
static PyCFunction object_sizeof; /* the C function of object.__sizeof__ */

int pym_walk_prepare(void)
{
	if (!name_sizeof)
		name_sizeof = PyUnicode_InternFromString("__sizeof__");
	if (!name_sizeof)
		return -1;
	PyObject *d = _PyType_Lookup(&PyBaseObject_Type, name_sizeof);
	if (d && Py_TYPE(d) == &PyMethodDescr_Type)
		object_sizeof = ((PyMethodDescrObject *)d)->d_method->ml_meth;
	return 0;
}

/* ---- anonymous memory ------------------------------------------------ */

/* Populated: the walk's tables and bitmaps are read before they are written,
 * and a first read maps the shared zero page, whose first write then costs a
 * second fault and a TLB flush on every CPU running the compression threads. */
static void *mm_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
	               -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void mm_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

/* Grows *p from *cap to at least need bytes (doubling). 0 or -1 (ENOMEM). */
static int mm_grow(void **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 65536;
	while (n < need)
		n *= 2;
	void *q;
	if (*p)
		q = mremap(*p, *cap, n, MREMAP_MAYMOVE);
	else
		q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED) {
		errno = ENOMEM;
		return -1;
	}
	*p = q;
	*cap = n;
	return 0;
}

/* ---- visited set ------------------------------------------------------
 * One bit per granule of the address space (8 or 16 bytes: gshift), in
 * regions of 32768 granules whose 4 KiB bitmaps are found through a small
 * open-addressing table. A dense heap costs well under one byte per object;
 * no per-object allocation. 16-byte granules suffice for a set of objects:
 * two objects are at least 16 bytes apart (a PyObject header is 16 bytes),
 * so they never share one; the bitmap is then half as large. */

#define BM_SHIFT     15 /* granules per region: 1 << BM_SHIFT */
#define BM_BYTES     ((1u << BM_SHIFT) / 8)
#define BM_PER_CHUNK 64

struct vset {
	unsigned gshift; /* log2 of the granule: 3 or 4 */
	uint64_t *keys;  /* region number + 1; 0 is empty */
	uint8_t **bms;
	size_t cap, used;
	uint8_t *chunk; /* current bitmap chunk */
	size_t chunk_left;
	void **chunks; /* every chunk, for freeing */
	size_t nchunks, chunks_cap;
	uint64_t ckey[256]; /* direct-mapped cache of recent regions */
	uint8_t *cbm[256];
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int vset_rehash(struct vset *s, size_t ncap)
{
	uint64_t *nk = mm_alloc(ncap * sizeof *nk);
	uint8_t **nb = mm_alloc(ncap * sizeof *nb);
	if (!nk || !nb) {
		mm_free(nk, ncap * sizeof *nk);
		mm_free(nb, ncap * sizeof *nb);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		size_t j = mix64(s->keys[i]) & (ncap - 1);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = s->keys[i];
		nb[j] = s->bms[i];
	}
	mm_free(s->keys, s->cap * sizeof *s->keys);
	mm_free(s->bms, s->cap * sizeof *s->bms);
	s->keys = nk;
	s->bms = nb;
	s->cap = ncap;
	return 0;
}

/* The bitmap of region key, added when new; the cache is checked by the
 * caller (vset_add). NULL on ENOMEM. */
__attribute__((noinline)) static uint8_t *vset_region(struct vset *s, uint64_t key)
{
	size_t c = key & 255;
	if (s->used * 2 >= s->cap && vset_rehash(s, s->cap ? s->cap * 2 : 1024) < 0)
		return NULL;
	size_t j = mix64(key) & (s->cap - 1);
	while (s->keys[j] && s->keys[j] != key)
		j = (j + 1) & (s->cap - 1);
	if (!s->keys[j]) {
		if (!s->chunk_left) {
			size_t need = (s->nchunks + 1) * sizeof(void *);
			size_t capb = s->chunks_cap * sizeof(void *);
			void *cp = s->chunks;
			if (mm_grow(&cp, &capb, need) < 0)
				return NULL;
			s->chunks = cp;
			s->chunks_cap = capb / sizeof(void *);
			s->chunk = mm_alloc((size_t)BM_BYTES * BM_PER_CHUNK);
			if (!s->chunk) {
				errno = ENOMEM;
				return NULL;
			}
			s->chunks[s->nchunks++] = s->chunk;
			s->chunk_left = BM_PER_CHUNK;
		}
		s->keys[j] = key;
		s->bms[j] = s->chunk;
		s->chunk += BM_BYTES;
		s->chunk_left--;
		s->used++;
	}
	s->ckey[c] = key;
	s->cbm[c] = s->bms[j];
	return s->cbm[c];
}

/* The bitmap of region key, or NULL when the set has none (nothing added). */
static uint8_t *vset_find(struct vset *s, uint64_t key)
{
	if (!s->cap)
		return NULL;
	size_t j = mix64(key) & (s->cap - 1);
	while (s->keys[j] && s->keys[j] != key)
		j = (j + 1) & (s->cap - 1);
	return s->keys[j] ? s->bms[j] : NULL;
}

/* addr's region key (its region number + 1) and its bit in the region. */
static inline uint64_t vset_key(const struct vset *s, uintptr_t addr)
{
	return ((uint64_t)addr >> (BM_SHIFT + s->gshift)) + 1;
}

static inline size_t vset_bit(const struct vset *s, uintptr_t addr)
{
	return (addr >> s->gshift) & ((1u << BM_SHIFT) - 1);
}

/* 1 if addr is in the set, 0 if not. */
static inline int vset_has(struct vset *s, uintptr_t addr)
{
	uint64_t key = vset_key(s, addr);
	size_t c = key & 255;
	const uint8_t *bm = s->ckey[c] == key ? s->cbm[c] : vset_find(s, key);
	if (!bm)
		return 0;
	size_t bit = vset_bit(s, addr);
	return (bm[bit >> 3] >> (bit & 7)) & 1;
}

/* Starts loading addr's byte of the bitmap when its region is cached. */
static inline void vset_prefetch(const struct vset *s, uintptr_t addr)
{
	uint64_t key = vset_key(s, addr);
	size_t c = key & 255;
	if (s->ckey[c] == key)
		__builtin_prefetch(s->cbm[c] + (vset_bit(s, addr) >> 3));
}

/* 1 if addr was already in the set, 0 if it was added now, -1 on ENOMEM. */
static inline int vset_add(struct vset *s, uintptr_t addr)
{
	uint64_t key = vset_key(s, addr);
	size_t c = key & 255;
	uint8_t *bm = s->ckey[c] == key ? s->cbm[c] : vset_region(s, key);
	if (!bm)
		return -1;
	size_t bit = vset_bit(s, addr);
	uint8_t m = (uint8_t)(1u << (bit & 7));
	if (bm[bit >> 3] & m)
		return 1;
	bm[bit >> 3] |= m;
	return 0;
}

static void vset_init(struct vset *s, unsigned gshift)
{
	memset(s, 0, sizeof *s);
	s->gshift = gshift;
}

static void vset_free(struct vset *s)
{
	mm_free(s->keys, s->cap * sizeof *s->keys);
	mm_free(s->bms, s->cap * sizeof *s->bms);
	for (size_t i = 0; i < s->nchunks; i++)
		mm_free(s->chunks[i], (size_t)BM_BYTES * BM_PER_CHUNK);
	mm_free(s->chunks, s->chunks_cap * sizeof(void *));
	vset_init(s, s->gshift);
}

/* ---- address -> u32 map (type info, label string ids) ---------------- */

struct amap {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, used;
};

static int amap_get(const struct amap *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return 0;
	size_t j = mix64(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (m->keys[j] == key) {
			*val = m->vals[j];
			return 1;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return 0;
}

static int amap_put(struct amap *m, uint64_t key, uint32_t val)
{
	if (m->used * 2 >= m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 4096;
		uint64_t *nk = mm_alloc(ncap * sizeof *nk);
		uint32_t *nv = mm_alloc(ncap * sizeof *nv);
		if (!nk || !nv) {
			mm_free(nk, ncap * sizeof *nk);
			mm_free(nv, ncap * sizeof *nv);
			errno = ENOMEM;
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = mix64(m->keys[i]) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = m->keys[i];
			nv[j] = m->vals[i];
		}
		mm_free(m->keys, m->cap * sizeof *m->keys);
		mm_free(m->vals, m->cap * sizeof *m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	size_t j = mix64(key) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j])
		m->used++;
	m->keys[j] = key;
	m->vals[j] = val;
	return 0;
}

static void amap_free(struct amap *m)
{
	mm_free(m->keys, m->cap * sizeof *m->keys);
	mm_free(m->vals, m->cap * sizeof *m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- the walk --------------------------------------------------------- */

#define TI_SIZEOF_C 1u /* sizeof_fn is the type's C __sizeof__ */
#define TI_APPROX   2u /* __sizeof__ is not C: layout size only */
#define TI_LRU      4u /* functools._lru_cache_wrapper: see lru_dedupe() */
#define TI_FOREIGN  8u /* __sizeof__ is another class's C function: not called */
/* __sizeof__ is object.__sizeof__ and instances have no items: its result
 * is the type's (tp_basicsize), so it is called once per type. */
#define TI_SIZE_BY_TYPE 16u
#define TI_SIZE_KNOWN   32u /* type_size holds that result */
/* Exact int, tuple, bytes, list and str: what their C __sizeof__ returns,
 * computed here without the call and its int (formula_size). */
#define TI_SIZE_FORMULA 64u

/* What an object's type says about how to walk it, decided once per type. */
enum tkind {
	K_OTHER,
	K_DICT,  /* exact dict */
	K_LIST,  /* exact list */
	K_TUPLE, /* exact tuple */
	K_STR,   /* str and subclasses: leaves */
	K_BYTES,
	K_INT,
	K_FLOAT,
	K_DICT_SUB, /* subclasses: traversed, then labelled */
	K_LIST_SUB,
	K_TUPLE_SUB,
};

/* Which fields beyond tp_traverse an object of the type has (collect_refs):
 * the first of these checks its type passes, decided once per type. */
enum rkind {
	R_NONE,
	R_TYPE,
	R_CODE,
	R_FUNCTION,
	R_MODULE,
	R_METHOD,
	R_GEN, /* generator, coroutine, async generator */
	R_CELL,
	R_WEAKREF,
	R_DESCR,
	R_SLICE,
	R_RANGE,
	R_FRAME,
	R_EXCEPTION, /* BaseException and subclasses */
	R_TRACEBACK,
};

/* Which value preview and length an object of the type gets. */
enum vkind {
	V_NONE,
	V_SINGLETON, /* None, True, False */
	V_STR,
	V_BYTES,
	V_INT,
	V_FLOAT,
	V_MODULE,
	V_FUNCTION,
	V_CODE,
	V_TYPE,
	V_CFUNCTION,
	V_METHOD,    /* bound method: its function's name and place */
	V_FRAME,     /* frame object: function, file and current line */
	V_CONTAINER, /* no preview, but a length */
};

struct tinfo {
	uint32_t wtype; /* writer type index */
	uint32_t flags;
	uint32_t kind;  /* enum tkind */
	uint32_t vkind; /* enum vkind */
	uint32_t rkind; /* enum rkind */
	uint32_t lkind; /* enum lkind */
	PyCFunction sizeof_fn;
	int sizeof_flags;         /* its ml_flags: how to call it (call_sizeof) */
	PyTypeObject *sizeof_cls; /* the class that defines it (METH_METHOD) */
	uint32_t slot0, nslots;   /* into walk.slots */
	uint64_t type_size;       /* with TI_SIZE_KNOWN */
	/* pyi_getsizeof_extra() of an object: extra_fixed, plus extra_gc when
	 * it is a GC object (gc: PyType_IS_GC, then tp_is_gc decides). */
	uint32_t extra_fixed, extra_gc;
	int gc;
};

struct slotinfo {
	Py_ssize_t offset;
	uint32_t name_id;
};

#define VAL_CAP         (PYM_VALUE_MAX + 8)
#define STR_PREVIEW     120
#define BYTES_PREVIEW   32
#define INT_DIGITS_MAX  100 /* decimal digits kept in an int preview */
#define INT_EXACT_LIMBS 400 /* larger ints get an approximate preview */
#define CLAIM_WINDOW    64
#define TYPE_CACHE      64
#define STR_CACHE       1024
#define CSTR_CACHE      256

struct walk {
	struct pym_writer *w;
	const struct pym_dump_opts *opts;
	struct vset seen;
	PyObject **stack;
	size_t nstack, stack_cap; /* cap in bytes */
	struct pym_ref *refs;
	uint8_t *claimed;
	size_t nrefs, refs_cap, claimed_cap; /* caps in bytes */
	size_t cursor;
	size_t ntrav; /* refs[0..ntrav) came from tp_traverse */
	/* Index of refs[0..ntrav) by address, built by the first claim() of an
	 * object with more than CLAIM_WINDOW of them: hkey/hhead map an address
	 * to its first unclaimed entry, hnext chains entries of one address in
	 * order. Reused from object to object. */
	uint64_t *hkey;
	uint32_t *hhead, *hnext;
	size_t hslots, hkey_cap, hhead_cap, hnext_cap; /* caps in bytes */
	int hbuilt;
	struct amap types; /* type address -> index into tinfo */
	struct tinfo *ti;
	size_t nti, ti_cap;
	struct slotinfo *slots;
	size_t nslots, slots_cap;
	struct amap strs;                    /* str object or C string address -> string id */
	struct amap named;                   /* globals dicts given a NAME record */
	PyTypeObject *type_ckey[TYPE_CACHE]; /* direct-mapped caches */
	uint32_t type_cidx[TYPE_CACHE];
	PyObject *str_ckey[STR_CACHE]; /* strs only (key_label relies on it) */
	uint32_t str_cid[STR_CACHE];
	const char *cstr_ckey[CSTR_CACHE]; /* attribute names of the walk itself */
	uint32_t cstr_cid[CSTR_CACHE];
	uint32_t *scratch; /* big-int digits */
	size_t scratch_cap;
	char val[VAL_CAP];
	char name[1024];
	uint32_t synth_thread, synth_frame;
	PyObject *interned; /* its references are not counted (mortal interned
	                       strings) or point at immortals: all weak */
	/* The GC lists are not walked node by node (a chain of cache misses):
	 * each tracked object emitted notes the node after its own when that
	 * one is not seen yet, in gc_next (a set, while the roots are walked)
	 * or gc_todo (then); walk_gc_rest() starts from those and the lists'
	 * first nodes. Every node is reached: the one after an unseen node is
	 * noted when that one is emitted. */
	struct vset gc_next;
	PyObject **gc_todo;
	size_t ngc_todo, gc_todo_cap; /* cap in bytes */
	int gc_rest;                  /* notes go to gc_todo */
	const void *gc_heads[PYI_GC_LISTS];
	uint64_t gc_objects, refs_total;
	uint64_t skip_sizeof_py, skip_sizeof_err, skip_str, skip_float;
	uint64_t skip_sizeof_foreign;
	struct pym_asites *sites; /* NULL: tracemalloc off (or sites skipped) */
	int no_sites;             /* pym_walk_records(): a snapshot asks tracemalloc itself */
	int failed;
};

static int fail(struct walk *wk)
{
	if (!wk->failed && !errno)
		errno = EIO;
	wk->failed = 1;
	return -1;
}

/* UTF-8 of at most maxchars characters of a str (lone surrogates become
 * U+FFFD); never touches the str's own caches. Returns bytes written. */
static size_t utf8_of(PyObject *s, char *out, size_t cap, size_t maxchars, int *trunc)
{
	*trunc = 0;
#if PY_VERSION_HEX < 0x030C0000
	if (PyUnicode_READY(s) != 0 && !PyUnicode_IS_READY(s))
		return 0;
#endif
	Py_ssize_t len = PyUnicode_GET_LENGTH(s);
	int kind = PyUnicode_KIND(s);
	const void *data = PyUnicode_DATA(s);
	size_t o = 0;
	Py_ssize_t i;
	if (PyUnicode_IS_ASCII(s)) { /* most strs: the UTF-8 is the data itself */
		size_t n = (size_t)len;
		if (n > maxchars)
			n = maxchars;
		if (n + 3 > cap) /* as the loop below: room for a 4-byte sequence */
			n = cap < 3 ? 0 : cap - 3;
		memcpy(out, data, n);
		*trunc = n < (size_t)len;
		return n;
	}
	for (i = 0; i < len && (size_t)i < maxchars; i++) {
		Py_UCS4 c = PyUnicode_READ(kind, data, i);
		if (c >= 0xD800 && c <= 0xDFFF)
			c = 0xFFFD;
		if (o + 4 > cap)
			break;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	if (i < len)
		*trunc = 1;
	return o;
}

/* The str's text with no caching; 0 if it is not a ready str. */
static size_t str_text(PyObject *s, char *out, size_t cap)
{
	int t;
	if (!s || !PyUnicode_Check(s))
		return 0;
	return utf8_of(s, out, cap, cap / 4, &t);
}

/* "00" to "99" */
static const char dec_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";

static size_t put_u64(char *out, uint64_t v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	while (v >= 100) {
		p -= 2;
		memcpy(p, dec_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, dec_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	size_t n = (size_t)(tmp + sizeof tmp - p);
	memcpy(out, p, n);
	return n;
}

/* String id for a C string or a str object, cached by its address. */
static int cstr_id(struct walk *wk, const char *s, uint32_t *id)
{
	size_t c = ((uintptr_t)s >> 2) & (CSTR_CACHE - 1);
	if (wk->cstr_ckey[c] == s) {
		*id = wk->cstr_cid[c];
		return 0;
	}
	if (!amap_get(&wk->strs, (uintptr_t)s, id) &&
	    (pym_writer_string(wk->w, s, strlen(s), id) < 0 ||
	     amap_put(&wk->strs, (uintptr_t)s, *id) < 0))
		return fail(wk);
	wk->cstr_ckey[c] = s;
	wk->cstr_cid[c] = *id;
	return 0;
}

__attribute__((noinline)) static int str_id(struct walk *wk, PyObject *s, uint32_t *id)
{
	size_t c = ((uintptr_t)s >> 4) & (STR_CACHE - 1);
	if (wk->str_ckey[c] == s) {
		*id = wk->str_cid[c];
		return 0;
	}
	if (!amap_get(&wk->strs, (uintptr_t)s, id)) {
		size_t n = str_text(s, wk->name, 512);
		if (pym_writer_string(wk->w, wk->name, n, id) < 0 ||
		    amap_put(&wk->strs, (uintptr_t)s, *id) < 0)
			return fail(wk);
	}
	wk->str_ckey[c] = s;
	wk->str_cid[c] = *id;
	return 0;
}

static uint64_t attr_label(struct walk *wk, const char *name)
{
	uint32_t id;
	if (cstr_id(wk, name, &id) < 0)
		return 0;
	return ((uint64_t)id << PYM_LABEL_SHIFT) | PYM_LABEL_ATTR;
}

static inline uint64_t key_label(struct walk *wk, PyObject *key, unsigned kind)
{
	uint32_t id;
	/* The cache holds strs only: a hit needs no look at the key itself. */
	size_t c = ((uintptr_t)key >> 4) & (STR_CACHE - 1);
	if (wk->str_ckey[c] == key)
		id = wk->str_cid[c];
	else if (!PyUnicode_Check(key) || str_id(wk, key, &id) < 0)
		return 0;
	return ((uint64_t)id << PYM_LABEL_SHIFT) | kind;
}

__attribute__((noinline)) static int stack_grow(struct walk *wk)
{
	size_t capb = wk->stack_cap;
	void *p = wk->stack;
	if (mm_grow(&p, &capb, (wk->nstack + 1) * sizeof(PyObject *)) < 0)
		return fail(wk);
	wk->stack = p;
	wk->stack_cap = capb;
	return 0;
}

static inline int push(struct walk *wk, PyObject *o)
{
	int r = vset_add(&wk->seen, (uintptr_t)o);
	if (r < 0)
		return fail(wk);
	if (r)
		return 0;
	if ((wk->nstack + 1) * sizeof(PyObject *) > wk->stack_cap && stack_grow(wk) < 0)
		return -1;
	wk->stack[wk->nstack++] = o;
	return 0;
}

__attribute__((noinline)) static int refs_grow(struct walk *wk)
{
	void *p = wk->refs, *q = wk->claimed;
	if (mm_grow(&p, &wk->refs_cap, (wk->nrefs + 1) * sizeof(struct pym_ref)) < 0 ||
	    (wk->refs = p,
	     mm_grow(&q, &wk->claimed_cap, wk->refs_cap / sizeof(struct pym_ref)) < 0))
		return fail(wk);
	wk->claimed = q;
	return 0;
}

static inline int ref_add(struct walk *wk, const void *addr, uint64_t label, int claimed)
{
	if ((wk->nrefs + 1) * sizeof(struct pym_ref) > wk->refs_cap && refs_grow(wk) < 0)
		return -1;
	wk->refs[wk->nrefs].addr = (uintptr_t)addr;
	wk->refs[wk->nrefs].label = label;
	wk->claimed[wk->nrefs++] = (uint8_t)claimed;
	return 0;
}

static int visit_cb(PyObject *o, void *arg)
{
	ref_add(arg, o, 0, 0);
	return 0;
}

#define NO_REF UINT32_MAX

static size_t hslot(const struct walk *wk, uint64_t addr)
{
	size_t j = mix64(addr) & (wk->hslots - 1);
	while (wk->hkey[j] && wk->hkey[j] != addr)
		j = (j + 1) & (wk->hslots - 1);
	return j;
}

/* Builds the address index of refs[0..ntrav). 0 or -1 (ENOMEM). */
static int claim_index(struct walk *wk)
{
	size_t n = wk->ntrav, slots = 256;
	while (slots < 2 * n)
		slots *= 2;
	void *a = wk->hkey, *b = wk->hhead, *c = wk->hnext;
	if (mm_grow(&a, &wk->hkey_cap, slots * sizeof(uint64_t)) < 0)
		return fail(wk);
	wk->hkey = a;
	if (mm_grow(&b, &wk->hhead_cap, slots * sizeof(uint32_t)) < 0)
		return fail(wk);
	wk->hhead = b;
	if (mm_grow(&c, &wk->hnext_cap, n * sizeof(uint32_t)) < 0)
		return fail(wk);
	wk->hnext = c;
	wk->hslots = slots;
	memset(wk->hkey, 0, slots * sizeof(uint64_t));
	for (size_t i = n; i-- > 0;) { /* backwards: chains come out in order */
		if (wk->claimed[i])
			continue;
		size_t j = hslot(wk, wk->refs[i].addr);
		if (!wk->hkey[j]) {
			wk->hkey[j] = wk->refs[i].addr;
			wk->hhead[j] = NO_REF;
		}
		wk->hnext[i] = wk->hhead[j];
		wk->hhead[j] = (uint32_t)i;
	}
	wk->hbuilt = 1;
	return 0;
}

/* Labels the reference to p that tp_traverse reported (the first unclaimed
 * one near the cursor, or through the index for objects with many), or adds
 * it when traverse did not report it. A claim never matches an entry twice:
 * each reference is recorded once, whatever path finds it. */
static void claim(struct walk *wk, const void *p, uint64_t label)
{
	if (!p)
		return;
	if (wk->ntrav > CLAIM_WINDOW) {
		if (!wk->hbuilt && claim_index(wk) < 0)
			return;
		size_t j = hslot(wk, (uintptr_t)p);
		if (wk->hkey[j]) {
			uint32_t i = wk->hhead[j];
			while (i != NO_REF && wk->claimed[i])
				i = wk->hnext[i];
			if (i != NO_REF) {
				wk->claimed[i] = 1;
				wk->refs[i].label = label;
				wk->hhead[j] = wk->hnext[i];
				return;
			}
			wk->hhead[j] = NO_REF;
		}
		ref_add(wk, p, label, 1);
		return;
	}
	size_t n = wk->nrefs;
	size_t lim = n < CLAIM_WINDOW ? n : CLAIM_WINDOW;
	for (size_t k = 0; k < lim; k++) {
		size_t i = wk->cursor + k;
		if (i >= n)
			i -= n;
		if (!wk->claimed[i] && wk->refs[i].addr == (uintptr_t)p) {
			wk->claimed[i] = 1;
			wk->refs[i].label = label;
			wk->cursor = i + 1 >= n ? 0 : i + 1;
			return;
		}
	}
	ref_add(wk, p, label, 1);
}

/* ---- types -------------------------------------------------------------- */

/* "module.qualname" for heap types ("qualname" for builtins), tp_name for
 * static types (which already carries the module when not builtin). */
static size_t type_name(PyTypeObject *tp, char *out, size_t cap)
{
	if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
		size_t n = strlen(tp->tp_name);
		if (n > cap)
			n = cap;
		memcpy(out, tp->tp_name, n);
		return n;
	}
	PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;
	PyObject *dict = pyi_type_dict(tp), *mod = NULL, *k, *v;
	Py_ssize_t pos = 0;
	int t;
	while (dict && PyDict_Next(dict, &pos, &k, &v)) {
		if (PyUnicode_Check(k) && PyUnicode_GET_LENGTH(k) == 10 &&
		    PyUnicode_KIND(k) == PyUnicode_1BYTE_KIND &&
		    memcmp(PyUnicode_DATA(k), "__module__", 10) == 0) {
			mod = v;
			break;
		}
	}
	size_t n = 0;
	if (mod && PyUnicode_Check(mod)) {
		n = utf8_of(mod, out, cap / 2, cap / 8, &t);
		if (n == 8 && memcmp(out, "builtins", 8) == 0)
			n = 0;
		else if (n)
			out[n++] = '.';
	}
	if (ht->ht_qualname && PyUnicode_Check(ht->ht_qualname))
		n += utf8_of(ht->ht_qualname, out + n, cap - n, (cap - n) / 4, &t);
	else {
		size_t m = strlen(tp->tp_name);
		if (m > cap - n)
			m = cap - n;
		memcpy(out + n, tp->tp_name, m);
		n += m;
	}
	return n;
}

static int type_slots(struct walk *wk, PyTypeObject *tp, struct tinfo *ti)
{
	ti->slot0 = (uint32_t)wk->nslots;
	for (PyTypeObject *b = tp; b && (b->tp_flags & Py_TPFLAGS_HEAPTYPE); b = b->tp_base) {
		Py_ssize_t n = Py_SIZE(b);
		/* members follow the heap type struct (PyHeapType_GET_MEMBERS) */
		PyMemberDef *mp = (PyMemberDef *)(void *)((char *)b + Py_TYPE(b)->tp_basicsize);
		for (Py_ssize_t i = 0; i < n; i++, mp++) {
			if (mp->type != T_OBJECT_EX) /* what subtype_traverse visits */
				continue;
			size_t need = (wk->nslots + 1) * sizeof(struct slotinfo),
			       capb = wk->slots_cap;
			void *p = wk->slots;
			if (mm_grow(&p, &capb, need) < 0)
				return fail(wk);
			wk->slots = p;
			wk->slots_cap = capb;
			uint32_t id;
			if (pym_writer_string(wk->w, mp->name, strlen(mp->name), &id) < 0)
				return fail(wk);
			wk->slots[wk->nslots].offset = mp->offset;
			wk->slots[wk->nslots++].name_id = id;
		}
	}
	ti->nslots = (uint32_t)wk->nslots - ti->slot0;
	return 0;
}

/* How len(o) is read for objects of a type (has_length). */
enum lkind {
	LEN_NONE,
	LEN_STR,
	LEN_SIZE, /* bytes, bytearray, list, tuple: Py_SIZE */
	LEN_DICT,
	LEN_SET,
};

static uint32_t length_kind(PyTypeObject *tp)
{
	if (PyType_FastSubclass(tp, Py_TPFLAGS_UNICODE_SUBCLASS))
		return LEN_STR;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_BYTES_SUBCLASS | Py_TPFLAGS_LIST_SUBCLASS |
	                                    Py_TPFLAGS_TUPLE_SUBCLASS) ||
	    PyType_IsSubtype(tp, &PyByteArray_Type))
		return LEN_SIZE;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_DICT_SUBCLASS))
		return LEN_DICT;
	if (PyType_IsSubtype(tp, &PySet_Type) || PyType_IsSubtype(tp, &PyFrozenSet_Type))
		return LEN_SET;
	return LEN_NONE;
}

static uint32_t value_kind(PyTypeObject *tp)
{
	if (tp == Py_TYPE(Py_None) || tp == &PyBool_Type)
		return V_SINGLETON;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_UNICODE_SUBCLASS))
		return V_STR;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_BYTES_SUBCLASS))
		return V_BYTES;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_LONG_SUBCLASS))
		return V_INT;
	if (PyType_IsSubtype(tp, &PyFloat_Type))
		return V_FLOAT;
	if (PyType_IsSubtype(tp, &PyModule_Type))
		return V_MODULE;
	if (tp == &PyFunction_Type)
		return V_FUNCTION;
	if (tp == &PyCode_Type)
		return V_CODE;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_TYPE_SUBCLASS))
		return V_TYPE;
	if (PyType_IsSubtype(tp, &PyCFunction_Type))
		return V_CFUNCTION;
	if (tp == &PyMethod_Type)
		return V_METHOD;
	if (tp == &PyFrame_Type)
		return V_FRAME;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_LIST_SUBCLASS | Py_TPFLAGS_TUPLE_SUBCLASS |
	                                    Py_TPFLAGS_DICT_SUBCLASS) ||
	    PyType_IsSubtype(tp, &PyByteArray_Type) || PyType_IsSubtype(tp, &PySet_Type) ||
	    PyType_IsSubtype(tp, &PyFrozenSet_Type))
		return V_CONTAINER;
	return V_NONE;
}

static uint32_t refs_kind(PyTypeObject *tp)
{
	if (PyType_FastSubclass(tp, Py_TPFLAGS_TYPE_SUBCLASS))
		return R_TYPE;
	if (tp == &PyCode_Type)
		return R_CODE;
	if (tp == &PyFunction_Type)
		return R_FUNCTION;
	if (PyType_IsSubtype(tp, &PyModule_Type))
		return R_MODULE;
	if (tp == &PyMethod_Type)
		return R_METHOD;
	if (tp == &PyGen_Type || tp == &PyCoro_Type || tp == &PyAsyncGen_Type)
		return R_GEN;
	if (tp == &PyCell_Type)
		return R_CELL;
	if (PyType_IsSubtype(tp, &_PyWeakref_RefType) ||
	    PyType_IsSubtype(tp, &_PyWeakref_ProxyType) ||
	    PyType_IsSubtype(tp, &_PyWeakref_CallableProxyType))
		return R_WEAKREF;
	if (tp == &PyMethodDescr_Type || tp == &PyClassMethodDescr_Type ||
	    tp == &PyMemberDescr_Type || tp == &PyGetSetDescr_Type || tp == &PyWrapperDescr_Type)
		return R_DESCR;
	if (tp == &PySlice_Type)
		return R_SLICE;
	if (tp == &PyRange_Type)
		return R_RANGE;
	if (tp == &PyFrame_Type)
		return R_FRAME;
	if (PyType_FastSubclass(tp, Py_TPFLAGS_BASE_EXC_SUBCLASS))
		return R_EXCEPTION;
	if (tp == &PyTraceBack_Type)
		return R_TRACEBACK;
	return R_NONE;
}

/* The calling conventions a C __sizeof__ (no arguments) comes in: plain
 * METH_NOARGS, and what Argument Clinic generates otherwise, notably
 * METH_METHOD (defining class; 3.13's ctypes metatypes). */
#define SIZEOF_CONV                                                                                \
	(METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL | SIZEOF_METHOD)
#ifdef METH_METHOD
#define SIZEOF_METHOD METH_METHOD
#else
#define SIZEOF_METHOD 0
#endif
typedef PyObject *(*fast_fn)(PyObject *, PyObject *const *, Py_ssize_t);
typedef PyObject *(*fastkw_fn)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
typedef PyObject *(*cmethod_fn)(PyObject *, PyTypeObject *, PyObject *const *, size_t, PyObject *);

static int sizeof_callable(int flags)
{
	if (flags & (METH_CLASS | METH_STATIC))
		return 0;
	switch (flags & SIZEOF_CONV) {
	case METH_NOARGS:
	case METH_FASTCALL:
	case METH_FASTCALL | METH_KEYWORDS:
#ifdef METH_METHOD
	case METH_METHOD | METH_FASTCALL | METH_KEYWORDS:
#endif
		return 1;
	default: /* METH_VARARGS would need an argument tuple: approximate */
		return 0;
	}
}

/* Calls the type's C __sizeof__ on o with no arguments, as CPython's
 * method descriptors do for its calling convention. New reference or NULL. */
static PyObject *call_sizeof(const struct tinfo *ti, PyObject *o)
{
	switch (ti->sizeof_flags & SIZEOF_CONV) {
	case METH_FASTCALL:
		return ((fast_fn)(void (*)(void))ti->sizeof_fn)(o, NULL, 0);
	case METH_FASTCALL | METH_KEYWORDS:
		return ((fastkw_fn)(void (*)(void))ti->sizeof_fn)(o, NULL, 0, NULL);
#ifdef METH_METHOD
	case METH_METHOD | METH_FASTCALL | METH_KEYWORDS:
		return ((cmethod_fn)(void (*)(void))ti->sizeof_fn)(o, ti->sizeof_cls, NULL, 0,
		                                                   NULL);
#endif
	default:
		return ti->sizeof_fn(o, NULL);
	}
}

/* Decides how objects of tp are sized: by the C __sizeof__ found through
 * its MRO (TI_SIZEOF_C), or by layout only (TI_APPROX, and TI_FOREIGN when
 * that C function belongs to a class tp does not derive from). A method
 * descriptor's C function assumes its own class's layout: a class that
 * borrows one (`__sizeof__ = dict.__sizeof__`) would have it read a dict
 * out of an object that is not one. CPython refuses that call (the
 * descriptor checks PyObject_TypeCheck(self, d_type)); so do we, once per
 * type, since every object sized through ti has exactly the type tp. */
static void sizeof_choose(struct tinfo *ti, PyTypeObject *tp)
{
	PyObject *d = name_sizeof ? _PyType_Lookup(tp, name_sizeof) : NULL;
	if (d && Py_TYPE(d) == &PyMethodDescr_Type) {
		PyMethodDef *md = ((PyMethodDescrObject *)d)->d_method;
		if (!PyType_IsSubtype(tp, PyDescr_TYPE(d))) {
			ti->flags |= TI_APPROX | TI_FOREIGN;
			return;
		}
		if (sizeof_callable(md->ml_flags)) {
			ti->sizeof_fn = md->ml_meth;
			ti->sizeof_flags = md->ml_flags;
			ti->sizeof_cls = PyDescr_TYPE(d);
			ti->flags |= TI_SIZEOF_C;
			return;
		}
	}
	ti->flags |= TI_APPROX;
}

/* type_info() past its cache: the map, or a new type. */
__attribute__((noinline)) static struct tinfo *type_info_slow(struct walk *wk, PyTypeObject *tp,
                                                              size_t c)
{
	uint32_t idx;
	if (!amap_get(&wk->types, (uintptr_t)tp, &idx)) {
		size_t capb = wk->ti_cap;
		void *p = wk->ti;
		if (mm_grow(&p, &capb, (wk->nti + 1) * sizeof(struct tinfo)) < 0) {
			fail(wk);
			return NULL;
		}
		wk->ti = p;
		wk->ti_cap = capb;
		struct tinfo *ti = &wk->ti[wk->nti];
		memset(ti, 0, sizeof *ti);
		size_t n = type_name(tp, wk->name, sizeof wk->name);
		uint32_t sid;
		if (pym_writer_string(wk->w, wk->name, n, &sid) < 0 ||
		    pym_writer_type(wk->w, sid, (uintptr_t)tp, &ti->wtype) < 0) {
			fail(wk);
			return NULL;
		}
		sizeof_choose(ti, tp);
		size_t xf, xg;
		pyi_getsizeof_extra_parts(tp, &xf, &xg);
		ti->extra_fixed = (uint32_t)xf;
		ti->extra_gc = (uint32_t)xg;
		ti->gc = PyType_IS_GC(tp) != 0;
		if ((ti->flags & TI_SIZEOF_C) && ti->sizeof_fn == object_sizeof && object_sizeof &&
		    tp->tp_itemsize == 0)
			ti->flags |= TI_SIZE_BY_TYPE;
		if ((ti->flags & TI_SIZEOF_C) &&
		    (tp == &PyLong_Type || tp == &PyTuple_Type || tp == &PyBytes_Type ||
		     tp == &PyList_Type || tp == &PyUnicode_Type))
			ti->flags |= TI_SIZE_FORMULA;
		if (strcmp(tp->tp_name, "functools._lru_cache_wrapper") == 0)
			ti->flags |= TI_LRU;
		if (tp == &PyDict_Type)
			ti->kind = K_DICT;
		else if (tp == &PyList_Type)
			ti->kind = K_LIST;
		else if (tp == &PyTuple_Type)
			ti->kind = K_TUPLE;
		else if (PyType_FastSubclass(tp, Py_TPFLAGS_UNICODE_SUBCLASS) && !tp->tp_traverse)
			ti->kind = K_STR;
		else if (PyType_FastSubclass(tp, Py_TPFLAGS_BYTES_SUBCLASS) && !tp->tp_traverse)
			ti->kind = K_BYTES;
		else if (tp == &PyLong_Type)
			ti->kind = K_INT;
		else if (tp == &PyFloat_Type)
			ti->kind = K_FLOAT;
		else if (PyType_FastSubclass(tp, Py_TPFLAGS_DICT_SUBCLASS))
			ti->kind = K_DICT_SUB;
		else if (PyType_FastSubclass(tp, Py_TPFLAGS_LIST_SUBCLASS))
			ti->kind = K_LIST_SUB;
		else if (PyType_FastSubclass(tp, Py_TPFLAGS_TUPLE_SUBCLASS))
			ti->kind = K_TUPLE_SUB;
		ti->rkind = refs_kind(tp);
		ti->lkind = length_kind(tp);
		ti->vkind = value_kind(tp);
		/* The type is walked like any object: once, from here. */
		if (push(wk, (PyObject *)tp) < 0)
			return NULL;
		if (type_slots(wk, tp, ti) < 0)
			return NULL;
		idx = (uint32_t)wk->nti++;
		if (amap_put(&wk->types, (uintptr_t)tp, idx) < 0) {
			fail(wk);
			return NULL;
		}
	}
	wk->type_ckey[c] = tp;
	wk->type_cidx[c] = idx;
	return &wk->ti[idx];
}

static inline struct tinfo *type_info(struct walk *wk, PyTypeObject *tp)
{
	size_t c = ((uintptr_t)tp >> 4) & (TYPE_CACHE - 1);
	if (wk->type_ckey[c] == tp)
		return &wk->ti[wk->type_cidx[c]];
	return type_info_slow(wk, tp, c);
}

/* ---- values ------------------------------------------------------------- */

static size_t int_preview(struct walk *wk, PyObject *o, char *out, int *trunc)
{
	size_t nd;
	int neg;
	const uint32_t *d = pyi_long_digits(o, &nd, &neg);
	size_t n = 0;
	*trunc = 0;
	if (neg)
		out[n++] = '-';
	if (nd <= 2) {
		uint64_t v = nd ? d[0] : 0;
		if (nd == 2)
			v |= (uint64_t)d[1] << 30;
		return n + put_u64(out + n, v);
	}
	if (nd > INT_EXACT_LIMBS) {
		/* Too big to print exactly here: leading digits from a double. */
		double top = (double)d[nd - 1] * 1073741824.0 * 1073741824.0 +
		             (double)d[nd - 2] * 1073741824.0 + (double)d[nd - 3];
		double e10 = log10(top) + (double)(nd - 3) * 30.0 * 0.30102999566398119521;
		double ex = floor(e10);
		uint64_t mant = (uint64_t)(pow(10.0, e10 - ex) * 1e14);
		char m[24];
		size_t mn = put_u64(m, mant);
		out[n++] = m[0];
		out[n++] = '.';
		memcpy(out + n, m + 1, mn - 1);
		n += mn - 1;
		out[n++] = 'e';
		out[n++] = '+';
		n += put_u64(out + n, (uint64_t)ex);
		*trunc = 1;
		return n;
	}
	size_t need = nd * sizeof(uint32_t) * 2 + 64;
	if (need > wk->scratch_cap) {
		void *p = wk->scratch;
		if (mm_grow(&p, &wk->scratch_cap, need) < 0)
			return 0;
		wk->scratch = p;
	}
	uint32_t *x = wk->scratch, *chunks = wk->scratch + nd;
	memcpy(x, d, nd * sizeof *x);
	size_t len = nd, nc = 0;
	while (len) {
		uint64_t rem = 0;
		for (size_t i = len; i-- > 0;) {
			uint64_t cur = (rem << 30) | x[i];
			x[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		chunks[nc++] = (uint32_t)rem;
		while (len && !x[len - 1])
			len--;
	}
	char buf[16];
	size_t start = n;
	for (size_t c = nc; c-- > 0;) {
		size_t bn = put_u64(buf, chunks[c]);
		if (c != nc - 1)
			for (size_t pad = bn; pad < 9; pad++) {
				if (n - start >= INT_DIGITS_MAX)
					break;
				out[n++] = '0';
			}
		for (size_t i = 0; i < bn; i++) {
			if (n - start >= INT_DIGITS_MAX) {
				*trunc = 1;
				return n;
			}
			out[n++] = buf[i];
		}
	}
	return n;
}

static size_t code_where(PyCodeObject *co, PyObject *name, char *out, size_t cap)
{
	size_t n = str_text(name, out, cap / 2);
	out[n++] = ' ';
	n += str_text(co->co_filename, out + n, cap - n - 24);
	out[n++] = ':';
	n += put_u64(out + n, (uint64_t)(co->co_firstlineno < 0 ? 0 : co->co_firstlineno));
	return n;
}

/* repr(x) for the common floats, without CPython's dtoa (a big-number
 * algorithm, the costliest part of a dump's values): 1e-4 <= |x| < 1e15 with
 * at most 15 significant digits. For k = 0, 1, ... fractional digits it
 * looks for an integer m < 10^15 with m / 10^k == x in double arithmetic.
 * That test is exact (m and 10^k, k <= 22, are exact doubles and one
 * division rounds correctly, as strtod does), and at 15 digits the decimal
 * spacing exceeds the double spacing, so the first k that works gives the
 * one shortest round-tripping decimal: repr's digits. Fixed notation, as
 * repr uses below 1e16. Returns the length, or 0 to leave x to dtoa. */
static size_t float_repr_fast(double x, char *out)
{
	static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	double a = x < 0 ? -x : x;
	if (!(a >= 1e-4 && a < 1e15))
		return 0; /* also NaN */
	for (int k = 0; k <= 22; k++) {
		double y = a * p10[k];
		if (y >= 1e15)
			return 0;
		double r = floor(y + 0.5);
		/* m / 10^k == x puts m within y * 2^-52 of y (x's rounding and
		 * y's): no integer that near, no m at this k (a 16x margin) */
		if (fabs(y - r) > y * 0x1p-48)
			continue;
		for (int d = -1; d <= 1; d++) {
			double m = r + d;
			if (m <= 0 || m >= 1e15 || m / p10[k] != a)
				continue;
			/* digits of m, with k of them after the point */
			char dig[24];
			uint64_t mi = (uint64_t)m;
			size_t nd = put_u64(dig, mi), n = 0;
			if (x < 0)
				out[n++] = '-';
			if (nd <= (size_t)k) { /* 0.000ddd */
				out[n++] = '0';
				out[n++] = '.';
				for (size_t z = nd; z < (size_t)k; z++)
					out[n++] = '0';
				memcpy(out + n, dig, nd);
				return n + nd;
			}
			memcpy(out + n, dig, nd - (size_t)k);
			n += nd - (size_t)k;
			out[n++] = '.';
			if (k == 0) {
				out[n++] = '0';
				return n;
			}
			memcpy(out + n, dig + nd - (size_t)k, (size_t)k);
			return n + (size_t)k;
		}
	}
	return 0;
}

/* "000102...ff": the two hex digits of every byte value. */
static const char hex_pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Writes the value preview of o into wk->val; returns its length. vkind is
 * value_kind(Py_TYPE(o)), decided once per type. */
static size_t value_of(struct walk *wk, PyObject *o, uint32_t vkind, int *trunc)
{
	char *v = wk->val;
	*trunc = 0;
	switch (vkind) {
	case V_SINGLETON:
		if (o == Py_None) {
			memcpy(v, "None", 4);
			return 4;
		}
		if (o == Py_True) {
			memcpy(v, "True", 4);
			return 4;
		}
		memcpy(v, "False", 5);
		return 5;
	case V_STR:
#if PY_VERSION_HEX < 0x030C0000
		if (!PyUnicode_IS_READY(o)) {
			wk->skip_str++;
			return 0;
		}
#endif
		return utf8_of(o, v, PYM_VALUE_MAX, STR_PREVIEW, trunc);
	case V_BYTES: {
		Py_ssize_t len = PyBytes_GET_SIZE(o);
		const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(o);
		size_t n = (size_t)(len < BYTES_PREVIEW ? len : BYTES_PREVIEW);
		for (size_t i = 0; i < n; i++)
			memcpy(v + 2 * i, hex_pairs + 2 * b[i], 2);
		*trunc = len > BYTES_PREVIEW;
		return 2 * n;
	}
	case V_INT:
		return int_preview(wk, o, v, trunc);
	case V_FLOAT: {
		size_t fn = float_repr_fast(PyFloat_AS_DOUBLE(o), v);
		if (fn)
			return fn;
		char *s = PyOS_double_to_string(PyFloat_AS_DOUBLE(o), 'r', 0, Py_DTSF_ADD_DOT_0,
		                                NULL);
		if (!s) {
			PyErr_Clear();
			wk->skip_float++;
			return 0;
		}
		size_t n = strlen(s);
		if (n > 64)
			n = 64;
		memcpy(v, s, n);
		PyMem_Free(s);
		return n;
	}
	case V_MODULE:
		return str_text(pyi_module_name(o), v, 512);
	case V_FUNCTION: {
		PyFunctionObject *f = (PyFunctionObject *)o;
		if (!PyCode_Check(f->func_code))
			return str_text(f->func_qualname, v, 512);
		return code_where((PyCodeObject *)f->func_code, f->func_qualname, v, 1000);
	}
	case V_CODE: {
		PyCodeObject *co = (PyCodeObject *)o;
#if PY_VERSION_HEX >= 0x030B0000
		return code_where(co, co->co_qualname, v, 1000);
#else
		return code_where(co, co->co_name, v, 1000);
#endif
	}
	case V_TYPE:
		return type_name((PyTypeObject *)o, v, 512);
	case V_METHOD: {
		PyObject *fn = PyMethod_GET_FUNCTION(o);
		if (!fn || !PyFunction_Check(fn))
			return 0;
		PyFunctionObject *f = (PyFunctionObject *)fn;
		if (!PyCode_Check(f->func_code))
			return str_text(f->func_qualname, v, 512);
		return code_where((PyCodeObject *)f->func_code, f->func_qualname, v, 1000);
	}
	case V_FRAME: {
		int line;
		PyObject *c = pyi_frame_object_where(o, &line);
		if (!c || !PyCode_Check(c))
			return 0;
		PyCodeObject *co = (PyCodeObject *)c;
#if PY_VERSION_HEX >= 0x030B0000
		size_t n = code_where(co, co->co_qualname, v, 1000);
#else
		size_t n = code_where(co, co->co_name, v, 1000);
#endif
		/* code_where ended with the first line: the current one instead */
		while (n && v[n - 1] != ':')
			n--;
		return n + put_u64(v + n, (uint64_t)(line < 0 ? 0 : line));
	}
	case V_CFUNCTION: {
		const char *nm = ((PyCFunctionObject *)o)->m_ml->ml_name;
		size_t n = nm ? strlen(nm) : 0;
		if (n > 200)
			n = 200;
		memcpy(v, nm, n);
		return n;
	}
	default: /* V_NONE, V_CONTAINER */
		return 0;
	}
}

static int has_length(PyObject *o, uint32_t lkind, uint64_t *len)
{
	switch (lkind) {
	case LEN_STR:
#if PY_VERSION_HEX < 0x030C0000
		if (!PyUnicode_IS_READY(o))
			return 0;
#endif
		*len = (uint64_t)PyUnicode_GET_LENGTH(o);
		return 1;
	case LEN_SIZE:
		*len = (uint64_t)Py_SIZE(o);
		return 1;
	case LEN_DICT:
		*len = (uint64_t)((PyDictObject *)o)->ma_used;
		return 1;
	case LEN_SET:
		*len = (uint64_t)PySet_GET_SIZE(o);
		return 1;
	default:
		return 0;
	}
}

/* ---- references an object holds --------------------------------------- */

#ifdef Py_TPFLAGS_MANAGED_DICT
#define MANAGED_DICT_FLAG Py_TPFLAGS_MANAGED_DICT
#else
#define MANAGED_DICT_FLAG 0
#endif

/* range keeps its struct private; the layout is stable in 3.8-3.13. */
struct range_layout {
	PyObject ob_base;
	PyObject *start, *stop, *step, *length;
};

static void type_refs(struct walk *wk, PyTypeObject *t)
{
	claim(wk, pyi_type_dict(t), attr_label(wk, "__dict__"));
	claim(wk, t->tp_mro, attr_label(wk, "__mro__"));
	claim(wk, t->tp_bases, attr_label(wk, "__bases__"));
	/* A static type does not own its tp_base (PyType_Ready stores it
	 * without a reference): recorded as weak so that it does not count. */
	if (t->tp_flags & Py_TPFLAGS_HEAPTYPE)
		claim(wk, t->tp_base, attr_label(wk, "__base__"));
	else
		claim(wk, t->tp_base, PYM_LABEL_WEAK);
	claim(wk, pyi_type_subclasses(t), attr_label(wk, "__subclasses__"));
	claim(wk, t->tp_cache, attr_label(wk, "tp_cache"));
	if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {
		PyHeapTypeObject *ht = (PyHeapTypeObject *)t;
		claim(wk, ht->ht_name, attr_label(wk, "__name__"));
		claim(wk, ht->ht_qualname, attr_label(wk, "__qualname__"));
		claim(wk, ht->ht_slots, attr_label(wk, "__slots__"));
#if PY_VERSION_HEX >= 0x03090000
		claim(wk, ht->ht_module, attr_label(wk, "ht_module"));
#endif
	}
}

static void code_refs(struct walk *wk, PyCodeObject *co)
{
#define C(field) claim(wk, co->field, attr_label(wk, #field))
	C(co_consts);
	C(co_names);
	C(co_filename);
	C(co_name);
#if PY_VERSION_HEX >= 0x030A0000
	C(co_linetable);
#endif
#if PY_VERSION_HEX < 0x030B0000
	C(co_code);
	C(co_varnames);
	C(co_freevars);
	C(co_cellvars);
#if PY_VERSION_HEX < 0x030A0000
	C(co_lnotab);
#endif
#else
	C(co_qualname);
	C(co_exceptiontable);
	C(co_localsplusnames);
	C(co_localspluskinds);
#if PY_VERSION_HEX < 0x030C0000
	C(_co_code);
#else
	if (co->_co_cached) {
		claim(wk, co->_co_cached->_co_code, attr_label(wk, "_co_code"));
		claim(wk, co->_co_cached->_co_varnames, attr_label(wk, "_co_varnames"));
		claim(wk, co->_co_cached->_co_cellvars, attr_label(wk, "_co_cellvars"));
		claim(wk, co->_co_cached->_co_freevars, attr_label(wk, "_co_freevars"));
	}
#endif
#endif
#undef C
}

static PyObject *dict_find(PyObject *d, const char *name);

/* NAME records for the cells of f's closure: each is named by the free
 * variable it holds (the closure and the code's free-variable names run in
 * the same order). A cell shared by several closures is named again by each:
 * the same name, a few bytes. */
static void closure_names(struct walk *wk, PyFunctionObject *f)
{
	PyObject *cl = f->func_closure;
	if (!cl || !PyTuple_Check(cl) || !f->func_code || !PyCode_Check(f->func_code))
		return;
	PyCodeObject *co = (PyCodeObject *)f->func_code;
#if PY_VERSION_HEX >= 0x030B0000
	PyObject *names = co->co_localsplusnames; /* locals, cells, then the free */
	if (!names || !PyTuple_Check(names))
		return;
	Py_ssize_t first = PyTuple_GET_SIZE(names) - co->co_nfreevars;
#else
	PyObject *names = co->co_freevars;
	if (!names || !PyTuple_Check(names))
		return;
	Py_ssize_t first = 0;
#endif
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cl); i++) {
		if (first < 0 || first + i >= PyTuple_GET_SIZE(names))
			return;
		PyObject *cell = PyTuple_GET_ITEM(cl, i), *nm = PyTuple_GET_ITEM(names, first + i);
		uint32_t id;
		if (!cell || !PyCell_Check(cell) || !nm || !PyUnicode_Check(nm) ||
		    str_id(wk, nm, &id) < 0)
			continue;
		if (pym_writer_name(wk->w, PYM_NAME_CELL, (uintptr_t)cell, id) < 0) {
			fail(wk);
			return;
		}
	}
}

/* A NAME record for a function's globals dict, once per dict: the module it
 * belongs to by its __name__ (runpy.run_path runs code in a dict whose module
 * is gone by the time the functions it defined are found). */
static void globals_name(struct walk *wk, PyObject *g)
{
	uint32_t seen, id;
	if (!g || !PyDict_Check(g) || amap_get(&wk->named, (uintptr_t)g, &seen))
		return;
	if (amap_put(&wk->named, (uintptr_t)g, 1) < 0) {
		fail(wk);
		return;
	}
	PyObject *nm = dict_find(g, "__name__");
	if (!nm || !PyUnicode_Check(nm) || str_id(wk, nm, &id) < 0)
		return;
	if (pym_writer_name(wk->w, PYM_NAME_GLOBALS, (uintptr_t)g, id) < 0)
		fail(wk);
}

static void function_refs(struct walk *wk, PyFunctionObject *f)
{
	closure_names(wk, f);
	globals_name(wk, f->func_globals);
#define F(field, name) claim(wk, f->field, attr_label(wk, name))
	F(func_code, "__code__");
	F(func_globals, "__globals__");
	F(func_name, "__name__");
	F(func_qualname, "__qualname__");
	F(func_defaults, "__defaults__");
	F(func_kwdefaults, "__kwdefaults__");
	F(func_closure, "__closure__");
	F(func_doc, "__doc__");
	F(func_dict, "__dict__");
	F(func_module, "__module__");
	F(func_annotations, "__annotations__");
#if PY_VERSION_HEX >= 0x030A0000
	F(func_builtins, "__builtins__");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	F(func_typeparams, "__type_params__");
#endif
#undef F
}

#if PY_VERSION_HEX < 0x030B0000
static void frame_refs(struct walk *wk, PyFrameObject *f)
{
	PyCodeObject *co = f->f_code;
	claim(wk, f->f_back, attr_label(wk, "f_back"));
	claim(wk, co, attr_label(wk, "f_code"));
	claim(wk, f->f_builtins, attr_label(wk, "f_builtins"));
	claim(wk, f->f_globals, attr_label(wk, "f_globals"));
	claim(wk, f->f_locals, attr_label(wk, "f_locals"));
	claim(wk, f->f_trace, attr_label(wk, "f_trace"));
	if (!co)
		return;
	PyObject *groups[3] = {co->co_varnames, co->co_cellvars, co->co_freevars};
	Py_ssize_t k = 0;
	for (int g = 0; g < 3; g++) {
		if (!groups[g] || !PyTuple_Check(groups[g]))
			continue;
		for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(groups[g]); i++, k++)
			claim(wk, f->f_localsplus[k],
			      key_label(wk, PyTuple_GET_ITEM(groups[g], i), PYM_LABEL_ATTR));
	}
}
#endif

#if PY_VERSION_HEX >= 0x030B0000
/* Labels what traverse reported for a frame's data by field and local name. */
static void frame_data_refs(struct walk *wk, void *frame)
{
	struct pyi_frame fi;
	pyi_frame_info(frame, &fi);
	claim(wk, fi.code, attr_label(wk, "f_code"));
	claim(wk, fi.func, attr_label(wk, "f_func"));
	claim(wk, fi.locals, attr_label(wk, "f_locals"));
	PyObject *names = fi.code && PyCode_Check(fi.code)
	                          ? ((PyCodeObject *)fi.code)->co_localsplusnames
	                          : NULL;
	for (int i = 0; i < fi.nnamed; i++)
		if (fi.localsplus[i] && names && PyTuple_Check(names) &&
		    i < PyTuple_GET_SIZE(names))
			claim(wk, fi.localsplus[i],
			      key_label(wk, PyTuple_GET_ITEM(names, i), PYM_LABEL_ATTR));
}

/* Frame objects that own their frame data (the function has returned, a
 * traceback keeps them). */
static void frame_object_refs(struct walk *wk, PyObject *o)
{
	PyObject *back, *trace;
	void *frame = pyi_frame_object(o, &back, &trace);
	claim(wk, back, attr_label(wk, "f_back"));
	claim(wk, trace, attr_label(wk, "f_trace"));
	if (frame)
		frame_data_refs(wk, frame);
}
#endif

/* dict_done: the __dict__ the type-specific branch already claimed (types,
 * functions and modules reach theirs through tp_dictoffset too); claiming
 * it again would record the reference twice. */
static void instance_refs(struct walk *wk, PyObject *o, PyTypeObject *tp, struct tinfo *ti,
                          const void *dict_done, uint64_t *extra)
{
	if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE)
		claim(wk, tp, attr_label(wk, "__class__"));
	for (uint32_t i = 0; i < ti->nslots; i++) {
		const struct slotinfo *s = &wk->slots[ti->slot0 + i];
		PyObject *v = *(PyObject **)(void *)((char *)o + s->offset);
		claim(wk, v, ((uint64_t)s->name_id << PYM_LABEL_SHIFT) | PYM_LABEL_ATTR);
	}
	PyObject *md = pyi_managed_dict(o);
	if (md) {
		claim(wk, md, attr_label(wk, "__dict__"));
	} else if (tp->tp_dictoffset && !(tp->tp_flags & MANAGED_DICT_FLAG)) {
		PyObject **dp = tp->tp_dictoffset > 0
		                        ? (PyObject **)(void *)((char *)o + tp->tp_dictoffset)
		                        : _PyObject_GetDictPtr(o);
		if (dp && *dp != dict_done)
			claim(wk, *dp, attr_label(wk, "__dict__"));
	}
	PyObject *const *vals;
	const char *names;
	size_t stride, ex = 0;
	Py_ssize_t n = pyi_inline_values(o, &vals, &stride, &names, &ex);
	for (Py_ssize_t i = 0; i < n; i++)
		if (vals[i])
			claim(wk, vals[i],
			      key_label(wk, pyi_inline_name(names, stride, i), PYM_LABEL_ATTR));
	*extra = ex;
}

/* The label of a dict's references to its keys: a split-table dict (an
 * instance __dict__ sharing its class's keys) does not own its keys, the
 * shared keys object does, so they are weak there. Likewise the values of
 * a 3.13 dict embedded in its object belong to the object (inline values,
 * labelled there by name). */
static uint64_t dict_key_label(PyObject *d)
{
	return ((PyDictObject *)d)->ma_values ? PYM_LABEL_WEAK : 0;
}

/* 3.11+ lru_cache_wrapper's traverse visits, for each of its (non-GC)
 * cache links, the link's type: the link records that reference itself
 * (__class__), so the wrapper keeps only one reference to each type. */
static void lru_dedupe(struct walk *wk, PyTypeObject *tp)
{
	uint64_t types[8]; /* the few types kept so far (link type, info type...) */
	size_t w = 0, nt = 0;
	for (size_t i = 0; i < wk->nrefs; i++) {
		PyObject *r = (PyObject *)(uintptr_t)wk->refs[i].addr;
		int dup = 0;
		if (PyType_Check(r) && r != (PyObject *)tp) {
			for (size_t j = 0; j < nt && !dup; j++)
				dup = types[j] == wk->refs[i].addr;
			if (!dup && nt < 8)
				types[nt++] = wk->refs[i].addr;
		}
		if (!dup)
			wk->refs[w++] = wk->refs[i];
	}
	wk->nrefs = w;
}

/* 3.11's deep-frozen code objects and their constants are static data
 * (refcount 999999999): they hold their referents without counting them
 * (True, False, small ints, other static objects), so their references are
 * recorded as weak. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define STATIC_REFCNT_MIN 500000000
static int static_object(PyObject *o)
{
	return Py_REFCNT(o) >= STATIC_REFCNT_MIN;
}
#else
static int static_object(PyObject *o)
{
	(void)o;
	return 0;
}
#endif

static int gc_todo_add(struct walk *wk, PyObject *o)
{
	if ((wk->ngc_todo + 1) * sizeof(PyObject *) > wk->gc_todo_cap) {
		void *p = wk->gc_todo;
		if (mm_grow(&p, &wk->gc_todo_cap, (wk->ngc_todo + 1) * sizeof(PyObject *)) < 0)
			return fail(wk);
		wk->gc_todo = p;
	}
	wk->gc_todo[wk->ngc_todo++] = o;
	return 0;
}

/* Notes the GC list node after tracked object o's, unless it is a head or
 * seen (see struct walk). 0 or -1. */
static int gc_note_next(struct walk *wk, PyObject *o)
{
	const void *n = pyi_gc_next(o);
	for (int i = 0; i < PYI_GC_LISTS; i++)
		if (n == wk->gc_heads[i])
			return 0;
	PyObject *next = pyi_gc_node_object(n);
	if (vset_has(&wk->seen, (uintptr_t)next))
		return 0;
	if (wk->gc_rest)
		return gc_todo_add(wk, next);
	return vset_add(&wk->gc_next, (uintptr_t)next) < 0 ? fail(wk) : 0;
}

/* Fills wk->refs with everything o holds; *extra gets uncounted memory. */
static void collect_refs(struct walk *wk, PyObject *o, PyTypeObject *tp, struct tinfo *ti,
                         uint64_t *extra)
{
	wk->nrefs = 0;
	wk->cursor = 0;
	wk->ntrav = 0;
	wk->hbuilt = 0;
	*extra = 0;
	switch (ti->kind) {
	case K_STR:
	case K_BYTES:
	case K_INT:
	case K_FLOAT:
		return;
	default:
		break;
	}
	if (ti->kind == K_DICT) {
		Py_ssize_t pos = 0;
		PyObject *k, *v;
		uint64_t klabel = dict_key_label(o);
		int vweak = pyi_dict_values_embedded(o);
		while (PyDict_Next(o, &pos, &k, &v)) {
			ref_add(wk, k, klabel, 1);
			ref_add(wk, v, vweak ? PYM_LABEL_WEAK : key_label(wk, k, PYM_LABEL_KEY), 1);
		}
		return;
	}
	if (ti->kind == K_LIST || ti->kind == K_TUPLE) {
		PyObject **items = ti->kind == K_LIST ? ((PyListObject *)o)->ob_item
		                                      : ((PyTupleObject *)o)->ob_item;
		for (Py_ssize_t i = 0; i < Py_SIZE(o); i++)
			if (items[i])
				ref_add(wk, items[i],
				        ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX, 1);
		return;
	}
	/* PyObject_IS_GC(o), as gc.get_referents decides */
	if (tp->tp_traverse && PyType_IS_GC(tp) && (!tp->tp_is_gc || tp->tp_is_gc(o)))
		tp->tp_traverse(o, visit_cb, wk);
	if (ti->flags & TI_LRU)
		lru_dedupe(wk, tp);
	wk->ntrav = wk->nrefs;
#if PY_VERSION_HEX >= 0x030B0000
	void *gframe;
#endif
	const void *dict_done = NULL;
	switch (ti->rkind) {
	case R_TYPE:
		type_refs(wk, (PyTypeObject *)o);
		dict_done = pyi_type_dict((PyTypeObject *)o);
		break;
	case R_CODE:
		code_refs(wk, (PyCodeObject *)o);
		break;
	case R_FUNCTION:
		function_refs(wk, (PyFunctionObject *)o);
		dict_done = ((PyFunctionObject *)o)->func_dict;
		break;
	case R_MODULE:
		dict_done = PyModule_GetDict(o);
		claim(wk, dict_done, attr_label(wk, "__dict__"));
		claim(wk, pyi_module_name(o), attr_label(wk, "__name__"));
		break;
	case R_METHOD:
		claim(wk, PyMethod_GET_FUNCTION(o), attr_label(wk, "__func__"));
		claim(wk, PyMethod_GET_SELF(o), attr_label(wk, "__self__"));
		break;
	case R_GEN:
		/* the three share _PyGenObject_HEAD */
		claim(wk, ((PyGenObject *)o)->gi_name, attr_label(wk, "__name__"));
		claim(wk, ((PyGenObject *)o)->gi_qualname, attr_label(wk, "__qualname__"));
#if PY_VERSION_HEX >= 0x030B0000
		if ((gframe = pyi_gen_frame(o)) != NULL)
			frame_data_refs(wk, gframe);
#endif
		break;
	case R_CELL:
		claim(wk, PyCell_GET(o), attr_label(wk, "cell_contents"));
		break;
	case R_EXCEPTION: {
		PyBaseExceptionObject *e = (PyBaseExceptionObject *)o;
		claim(wk, e->args, attr_label(wk, "args"));
		claim(wk, e->traceback, attr_label(wk, "__traceback__"));
		claim(wk, e->context, attr_label(wk, "__context__"));
		claim(wk, e->cause, attr_label(wk, "__cause__"));
#if PY_VERSION_HEX >= 0x030B0000
		claim(wk, e->notes, attr_label(wk, "__notes__"));
#endif
		break;
	}
	case R_TRACEBACK: {
		PyTracebackObject *tb = (PyTracebackObject *)o;
		claim(wk, tb->tb_next, attr_label(wk, "tb_next"));
		claim(wk, tb->tb_frame, attr_label(wk, "tb_frame"));
		break;
	}
	case R_WEAKREF: {
		PyObject *r = ((PyWeakReference *)o)->wr_object;
		if (r && r != Py_None)
			ref_add(wk, r, PYM_LABEL_WEAK, 1);
		break;
	}
	case R_DESCR: {
		PyDescrObject *d = (PyDescrObject *)o;
		claim(wk, d->d_type, attr_label(wk, "__objclass__"));
		claim(wk, d->d_name, attr_label(wk, "__name__"));
		claim(wk, d->d_qualname, attr_label(wk, "__qualname__"));
		break;
	}
	case R_SLICE: {
		PySliceObject *s = (PySliceObject *)o;
		claim(wk, s->start, attr_label(wk, "start"));
		claim(wk, s->stop, attr_label(wk, "stop"));
		claim(wk, s->step, attr_label(wk, "step"));
		break;
	}
	case R_RANGE: {
		struct range_layout *r = (struct range_layout *)o;
		claim(wk, r->start, attr_label(wk, "start"));
		claim(wk, r->stop, attr_label(wk, "stop"));
		claim(wk, r->step, attr_label(wk, "step"));
		claim(wk, r->length, 0);
		break;
	}
	case R_FRAME:
#if PY_VERSION_HEX < 0x030B0000
		frame_refs(wk, (PyFrameObject *)o);
#else
		frame_object_refs(wk, o);
#endif
		break;
	default:
		break;
	}
	if (ti->kind == K_DICT_SUB) { /* label values, add str keys */
		Py_ssize_t pos = 0;
		PyObject *k, *v;
		uint64_t klabel = dict_key_label(o);
		int vweak = pyi_dict_values_embedded(o);
		while (PyDict_Next(o, &pos, &k, &v)) {
			claim(wk, k, klabel);
			claim(wk, v, vweak ? PYM_LABEL_WEAK : key_label(wk, k, PYM_LABEL_KEY));
		}
	} else if (ti->kind == K_LIST_SUB || ti->kind == K_TUPLE_SUB) {
		PyObject **items = ti->kind == K_LIST_SUB ? ((PyListObject *)o)->ob_item
		                                          : ((PyTupleObject *)o)->ob_item;
		for (Py_ssize_t i = 0; i < Py_SIZE(o); i++)
			claim(wk, items[i], ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX);
	}
	if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE || tp->tp_dictoffset)
		instance_refs(wk, o, tp, ti, dict_done, extra);
}

/* ---- one object -------------------------------------------------------- */

static uint64_t layout_size(PyObject *o, PyTypeObject *tp)
{
	uint64_t n = (uint64_t)tp->tp_basicsize;
	if (tp->tp_itemsize) {
		uint64_t items;
		if (PyLong_Check(o)) {
			size_t nd;
			int neg;
			pyi_long_digits(o, &nd, &neg);
			items = nd;
		} else {
			Py_ssize_t s = Py_SIZE(o);
			items = (uint64_t)(s < 0 ? -s : s);
		}
		n += items * (uint64_t)tp->tp_itemsize;
	}
	return n;
}

/* What int, tuple, bytes, list and str.__sizeof__ return for an object of
 * that exact type (TI_SIZE_FORMULA): the header and the items, for ints at
 * least one digit from 3.11 on, for lists the allocated slots; for strs only
 * the compact ASCII ones (their text and its NUL follow the header; before
 * 3.12 only without a wchar_t copy). 0: not computed here, call __sizeof__. */
static uint64_t formula_size(PyObject *o, PyTypeObject *tp)
{
	uint64_t items;
	if (tp == &PyUnicode_Type) {
		if (!PyUnicode_IS_COMPACT_ASCII(o))
			return 0;
#if PY_VERSION_HEX < 0x030C0000
		if (((PyASCIIObject *)o)->wstr)
			return 0;
#endif
		return sizeof(PyASCIIObject) + (uint64_t)PyUnicode_GET_LENGTH(o) + 1;
	}
	if (tp == &PyLong_Type) {
		size_t nd;
		int neg;
		pyi_long_digits(o, &nd, &neg);
#if PY_VERSION_HEX >= 0x030B0000
		if (nd == 0)
			nd = 1;
#endif
		items = nd;
	} else if (tp == &PyList_Type) {
		return (uint64_t)tp->tp_basicsize +
		       (uint64_t)((PyListObject *)o)->allocated * sizeof(PyObject *);
	} else {
		items = (uint64_t)Py_SIZE(o);
	}
	return (uint64_t)tp->tp_basicsize + items * (uint64_t)tp->tp_itemsize;
}

static int emit(struct walk *wk, PyObject *o)
{
	/* The GC header is read below and is often on the line before. */
	__builtin_prefetch((const char *)o - 16);
	PyTypeObject *tp = Py_TYPE(o);
	struct tinfo *ti = type_info(wk, tp);
	if (!ti)
		return -1;
	struct pym_object rec;
	memset(&rec, 0, sizeof rec);
	/* first: on 3.8-3.11 the lookup briefly holds references */
	uint32_t site = 0;
	if (wk->sites && pym_asites_of(wk->sites, o, &site) < 0)
		return fail(wk);
	rec.addr = (uintptr_t)o;
	rec.type = ti->wtype;
	rec.refcount = (uint64_t)Py_REFCNT(o);
	if (pyi_is_immortal(o))
		rec.flags |= PYM_F_IMMORTAL;
	/* PyObject_IS_GC(o) and the pre-header sys.getsizeof adds
	 * (pyi_getsizeof_extra), from the type's decisions */
	int is_gc = ti->gc && (!tp->tp_is_gc || tp->tp_is_gc(o));
	uint64_t pre = ti->extra_fixed + (is_gc ? ti->extra_gc : 0);
	if (is_gc && pyi_gc_header_tracked(o)) {
		rec.flags |= PYM_F_GC_TRACKED;
		wk->gc_objects++; /* every node of the GC lists is emitted once */
		if (gc_note_next(wk, o) < 0)
			return -1;
	}

	int sized = 0;
	uint64_t fsize;
	if (ti->flags & TI_SIZE_KNOWN) {
		rec.size = ti->type_size + pre;
		sized = 1;
	} else if ((ti->flags & TI_SIZE_FORMULA) && (fsize = formula_size(o, tp)) != 0) {
		rec.size = fsize + pre;
		sized = 1;
	} else if (ti->flags & TI_SIZEOF_C) {
		PyObject *r = call_sizeof(ti, o);
		if (r && PyLong_Check(r)) {
			Py_ssize_t s = PyLong_AsSsize_t(r);
			if (s >= 0) {
				rec.size = (uint64_t)s + pre;
				sized = 1;
			}
		}
		Py_XDECREF(r);
		if (PyErr_Occurred())
			PyErr_Clear();
		if (!sized)
			wk->skip_sizeof_err++;
	} else if (ti->flags & TI_FOREIGN) {
		wk->skip_sizeof_foreign++;
	} else {
		wk->skip_sizeof_py++;
	}
	if (!sized) {
		rec.size = layout_size(o, tp) + pre;
		rec.flags |= PYM_F_SIZE_APPROX;
	} else if ((ti->flags & (TI_SIZE_BY_TYPE | TI_SIZE_KNOWN)) == TI_SIZE_BY_TYPE) {
		ti->type_size = rec.size - pre;
		ti->flags |= TI_SIZE_KNOWN;
	}

	collect_refs(wk, o, tp, ti, &rec.extra);
	if (wk->failed)
		return -1;
	/* push() reads each referent's bit in the visited set after the
	 * record is encoded: start loading those bytes now. */
	for (size_t i = 0; i < wk->nrefs; i++)
		vset_prefetch(&wk->seen, wk->refs[i].addr);
	if (static_object(o) || o == wk->interned)
		for (size_t i = 0; i < wk->nrefs; i++)
			wk->refs[i].label = PYM_LABEL_WEAK;
	if (rec.extra)
		rec.flags |= PYM_F_EXTRA;
	if (ti->kind == K_DICT) /* collect_refs wrote (key, value) pairs */
		rec.flags |= PYM_F_PAIRS;
	if (ti->vkind != V_NONE && has_length(o, ti->lkind, &rec.length))
		rec.flags |= PYM_F_LENGTH;
	if (wk->opts->values) {
		int trunc;
		size_t n = value_of(wk, o, ti->vkind, &trunc);
		if (n || ti->vkind == V_STR || ti->vkind == V_BYTES) {
			rec.value = wk->val;
			rec.value_len = (uint32_t)n;
			rec.flags |= PYM_F_VALUE | (trunc ? PYM_F_VALUE_TRUNC : 0);
		}
		if (wk->failed)
			return -1;
	}
	rec.nrefs = (uint32_t)wk->nrefs;
	rec.refs = wk->refs;
	if ((site && pym_writer_alloc(wk->w, site) < 0) || pym_writer_object(wk->w, &rec) < 0)
		return fail(wk);
	wk->refs_total += wk->nrefs;
	/* Referents go on the stack after the record is written: the refs
	 * buffer is reused by the next object. */
	size_t n = wk->nrefs;
	for (size_t i = 0; i < n; i++)
		if (push(wk, (PyObject *)(uintptr_t)wk->refs[i].addr) < 0)
			return -1;
	return 0;
}

static int drain(struct walk *wk)
{
	while (wk->nstack && !wk->failed) {
		PyObject *o = wk->stack[--wk->nstack];
		/* The walk waits on memory: start loading the next objects now. */
		if (wk->nstack >= 2) {
			__builtin_prefetch(wk->stack[wk->nstack - 1]);
			__builtin_prefetch((const char *)wk->stack[wk->nstack - 1] - 16);
			__builtin_prefetch(wk->stack[wk->nstack - 2]);
			__builtin_prefetch((const char *)wk->stack[wk->nstack - 2] - 16);
		}
		if (emit(wk, o) < 0)
			return -1;
	}
	return wk->failed ? -1 : 0;
}

/* Walks from o (when not seen) and from every node noted meanwhile. */
static int walk_gc_from(struct walk *wk, PyObject *o)
{
	if (push(wk, o) < 0 || drain(wk) < 0)
		return -1;
	while (wk->ngc_todo)
		if (push(wk, wk->gc_todo[--wk->ngc_todo]) < 0 || drain(wk) < 0)
			return -1;
	return 0;
}

/* After the roots: what only the GC lists reach, from the lists' first
 * nodes and the nodes noted in gc_next (see struct walk). gc_next is not
 * added to from here on, so its table stays put while it is read. */
static int walk_gc_rest(struct walk *wk, const void *const *firsts)
{
	wk->gc_rest = 1;
	for (int i = 0; i < PYI_GC_LISTS; i++)
		if (firsts[i] != wk->gc_heads[i] &&
		    walk_gc_from(wk, pyi_gc_node_object(firsts[i])) < 0)
			return -1;
	const struct vset *s = &wk->gc_next;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		uintptr_t base = (uintptr_t)(s->keys[i] - 1) << (BM_SHIFT + s->gshift);
		const uint8_t *bm = s->bms[i];
		for (size_t j = 0; j < BM_BYTES; j += 8) {
			uint64_t word;
			memcpy(&word, bm + j, 8);
			if (!word)
				continue;
			for (size_t k = j; k < j + 8; k++)
				for (unsigned b = 0; b < 8; b++)
					if ((bm[k] >> b) & 1) {
						PyObject *o = (PyObject *)(base + ((k * 8 + b)
						                                   << s->gshift));
						if (walk_gc_from(wk, o) < 0)
							return -1;
					}
		}
	}
	return 0;
}

/* ---- roots: interpreter, threads, frames ------------------------------- */

static int root(struct walk *wk, PyObject *o, unsigned kind, const char *name)
{
	if (!o)
		return 0;
	uint32_t id;
	if (cstr_id(wk, name, &id) < 0)
		return -1;
	if (pym_writer_root(wk->w, kind, (uintptr_t)o, (int64_t)id) < 0)
		return fail(wk);
	return push(wk, o);
}

/* Writes a synthetic record from wk->refs and pushes its referents. */
static int emit_synthetic(struct walk *wk, const void *addr, uint32_t type, const char *value,
                          size_t vlen)
{
	struct pym_object rec;
	memset(&rec, 0, sizeof rec);
	rec.addr = (uintptr_t)addr;
	rec.type = type;
	rec.flags = PYM_F_SYNTHETIC | PYM_F_VALUE;
	rec.value = value;
	rec.value_len = (uint32_t)vlen;
	rec.nrefs = (uint32_t)wk->nrefs;
	rec.refs = wk->refs;
	if (pym_writer_object(wk->w, &rec) < 0)
		return fail(wk);
	wk->refs_total += wk->nrefs;
	return 0;
}

static int push_refs_from(struct walk *wk, size_t from)
{
	for (size_t i = from; i < wk->nrefs; i++)
		if (!(wk->refs[i].label == PYM_LABEL_WEAK) &&
		    push(wk, (PyObject *)(uintptr_t)wk->refs[i].addr) < 0)
			return -1;
	return 0;
}

/* 3.11+: one <frame> record per running _PyInterpreterFrame. */
static int emit_frame(struct walk *wk, void *frame)
{
	struct pyi_frame fi;
	pyi_frame_info(frame, &fi);
	wk->nrefs = 0;
	ref_add(wk, fi.code, attr_label(wk, "f_code"), 1);
	if (fi.func)
		ref_add(wk, fi.func, attr_label(wk, "f_func"), 1);
	/* f_globals and f_builtins are borrowed by _PyInterpreterFrame: weak. */
	if (fi.globals)
		ref_add(wk, fi.globals, PYM_LABEL_WEAK, 1);
	if (fi.builtins)
		ref_add(wk, fi.builtins, PYM_LABEL_WEAK, 1);
	if (fi.locals)
		ref_add(wk, fi.locals, attr_label(wk, "f_locals"), 1);
	if (fi.frame_obj)
		ref_add(wk, fi.frame_obj, attr_label(wk, "frame_obj"), 1);
	PyObject *names = NULL;
#if PY_VERSION_HEX >= 0x030B0000
	if (fi.code && PyCode_Check(fi.code))
		names = ((PyCodeObject *)fi.code)->co_localsplusnames;
#endif
	for (int i = 0; i < fi.nvalues; i++) {
		PyObject *v = fi.localsplus[i];
		if (!v)
			continue;
		uint64_t label = 0;
		if (i < fi.nnamed && names && PyTuple_Check(names) && i < PyTuple_GET_SIZE(names))
			label = key_label(wk, PyTuple_GET_ITEM(names, i), PYM_LABEL_ATTR);
		ref_add(wk, v, label, 1);
	}
	if (wk->failed)
		return -1;
	size_t n = 0;
	char *v = wk->val;
	if (fi.code && PyCode_Check(fi.code)) {
		PyCodeObject *co = (PyCodeObject *)fi.code;
#if PY_VERSION_HEX >= 0x030B0000
		n = str_text(co->co_qualname, v, 400);
#else
		n = str_text(co->co_name, v, 400);
#endif
		v[n++] = ' ';
		n += str_text(co->co_filename, v + n, 500);
		v[n++] = ':';
		n += put_u64(v + n, (uint64_t)(fi.line < 0 ? 0 : fi.line));
	}
	if (emit_synthetic(wk, frame, wk->synth_frame, v, n) < 0)
		return -1;
	return push_refs_from(wk, 0);
}

/* The value of the str key `name` in dict d, found by scanning (no hashing,
 * no comparison that could run code). NULL when absent. */
static PyObject *dict_find(PyObject *d, const char *name)
{
	size_t len = strlen(name);
	Py_ssize_t pos = 0;
	PyObject *k, *v;
	if (!d || !PyDict_Check(d))
		return NULL;
	while (PyDict_Next(d, &pos, &k, &v))
		if (PyUnicode_Check(k) && (size_t)PyUnicode_GET_LENGTH(k) == len &&
		    PyUnicode_KIND(k) == PyUnicode_1BYTE_KIND &&
		    memcmp(PyUnicode_DATA(k), name, len) == 0)
			return v;
	return NULL;
}

/* An instance attribute without creating a __dict__: managed dict, inline
 * values or tp_dictoffset. NULL when absent. */
static PyObject *attr_find(PyObject *o, const char *name)
{
	PyObject *md = pyi_managed_dict(o);
	if (md)
		return dict_find(md, name);
	PyObject *const *vals;
	const char *names;
	size_t stride, extra, len = strlen(name);
	Py_ssize_t n = pyi_inline_values(o, &vals, &stride, &names, &extra);
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *k = pyi_inline_name(names, stride, i);
		if (vals[i] && PyUnicode_Check(k) && (size_t)PyUnicode_GET_LENGTH(k) == len &&
		    PyUnicode_KIND(k) == PyUnicode_1BYTE_KIND &&
		    memcmp(PyUnicode_DATA(k), name, len) == 0)
			return vals[i];
	}
	Py_ssize_t off = Py_TYPE(o)->tp_dictoffset;
	if (n == 0 && off > 0 && !(Py_TYPE(o)->tp_flags & MANAGED_DICT_FLAG))
		return dict_find(*(PyObject **)(void *)((char *)o + off), name);
	return NULL;
}

/* threading._active[ident]._name, read without calling Python; NULL if
 * threading is not imported or the thread is not a threading.Thread. */
static PyObject *thread_name(PyObject *modules, unsigned long ident)
{
	PyObject *mod = dict_find(modules, "threading");
	if (!mod || !PyModule_Check(mod))
		return NULL;
	PyObject *active = dict_find(PyModule_GetDict(mod), "_active"), *k, *v;
	Py_ssize_t pos = 0;
	if (!active || !PyDict_Check(active))
		return NULL;
	while (PyDict_Next(active, &pos, &k, &v)) {
		size_t nd;
		int neg;
		if (!PyLong_Check(k))
			continue;
		const uint32_t *d = pyi_long_digits(k, &nd, &neg);
		if (neg || nd > 3)
			continue;
		uint64_t x = 0;
		for (size_t i = nd; i-- > 0;)
			x = (x << 30) | d[i];
		if (x == (uint64_t)ident) {
			PyObject *nm = attr_find(v, "_name");
			return nm && PyUnicode_Check(nm) ? nm : NULL;
		}
	}
	return NULL;
}

static int emit_threads(struct walk *wk, PyObject *modules)
{
	for (PyThreadState *t = pyi_thread_first(); t; t = PyThreadState_Next(t)) {
		/* Frames first (they reuse the refs buffer), then the thread. */
		size_t depth = 0;
		for (void *f = pyi_frame_first(t); f; f = pyi_frame_next(f), depth++)
			if (emit_frame(wk, f) < 0)
				return -1;
		PyObject *objs[64];
		const char *names[64];
		int nf = pyi_thread_fields(t, objs, names, 64);
		wk->nrefs = 0;
		/* tstate->frame (3.8-3.10) is borrowed: the C stack owns the frame. */
		for (int i = 0; i < nf; i++)
			ref_add(wk, objs[i],
			        strcmp(names[i], "frame") == 0 ? PYM_LABEL_WEAK
			                                       : attr_label(wk, names[i]),
			        1);
		size_t i = 0;
		for (void *f = pyi_frame_first(t); f; f = pyi_frame_next(f), i++)
			ref_add(wk, f, ((uint64_t)i << PYM_LABEL_SHIFT) | PYM_LABEL_INDEX, 1);
		if (wk->failed)
			return -1;
		char v[256];
		size_t n = 0;
		memcpy(v, "thread ", 7);
		n = 7 + put_u64(v + 7, pyi_thread_id(t));
		PyObject *name = thread_name(modules, pyi_thread_id(t));
		if (name) {
			v[n++] = ' ';
			n += str_text(name, v + n, 128);
		}
		if (pyi_thread_is_main(t)) {
			memcpy(v + n, " (main)", 7);
			n += 7;
		}
		uint32_t id;
		if (emit_synthetic(wk, t, wk->synth_thread, v, n) < 0 ||
		    cstr_id(wk, "thread", &id) < 0 ||
		    pym_writer_root(wk->w, PYM_ROOT_THREAD, (uintptr_t)t, (int64_t)id) < 0)
			return fail(wk);
		/* Only the Python objects: the frames were written above. */
		for (size_t k = 0; k < (size_t)nf; k++)
			if (push(wk, objs[k]) < 0)
				return -1;
		if (drain(wk) < 0)
			return -1;
	}
	return 0;
}

/* ---- META --------------------------------------------------------------- */

static int meta(struct walk *wk, const char *key, const char *value, size_t len)
{
	if (pym_writer_meta(wk->w, key, value, len) < 0)
		return fail(wk);
	return 0;
}

static int meta_u64(struct walk *wk, const char *key, uint64_t v)
{
	char buf[24];
	size_t n = put_u64(buf, v);
	return meta(wk, key, buf, n);
}

uint64_t pym_rss_bytes(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	while (*p == ' ')
		p++;
	while (*p >= '0' && *p <= '9')
		pages = pages * 10 + (uint64_t)(*p++ - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* sys.argv as a JSON array, read from the sys dict without lookups that
 * could run code. Non-str items become null. */
static size_t argv_json(PyObject *sysdict, char *out, size_t cap)
{
	PyObject *argv = NULL, *k, *v;
	Py_ssize_t pos = 0;
	while (sysdict && PyDict_Next(sysdict, &pos, &k, &v)) {
		if (PyUnicode_Check(k) && PyUnicode_GET_LENGTH(k) == 4 &&
		    PyUnicode_KIND(k) == PyUnicode_1BYTE_KIND &&
		    memcmp(PyUnicode_DATA(k), "argv", 4) == 0) {
			argv = v;
			break;
		}
	}
	size_t n = 0;
	out[n++] = '[';
	if (argv && PyList_Check(argv)) {
		char tmp[1024];
		for (Py_ssize_t i = 0; i < PyList_GET_SIZE(argv); i++) {
			PyObject *a = PyList_GET_ITEM(argv, i);
			if (n + 16 > cap)
				break;
			if (i)
				out[n++] = ',';
			if (!PyUnicode_Check(a)) {
				memcpy(out + n, "null", 4);
				n += 4;
				continue;
			}
			size_t tn = str_text(a, tmp, sizeof tmp);
			if (n + tn * 6 + 4 > cap)
				break;
			out[n++] = '"';
			for (size_t j = 0; j < tn; j++) {
				unsigned char c = (unsigned char)tmp[j];
				if (c == '"' || c == '\\') {
					out[n++] = '\\';
					out[n++] = (char)c;
				} else if (c < 0x20) {
					static const char hex[] = "0123456789abcdef";
					memcpy(out + n, "\\u00", 4);
					n += 4;
					out[n++] = hex[c >> 4];
					out[n++] = hex[c & 15];
				} else {
					out[n++] = (char)c;
				}
			}
			out[n++] = '"';
		}
	}
	out[n++] = ']';
	return n;
}

static int header_meta(struct walk *wk, const struct pyi_roots *r)
{
	const char *ver = Py_GetVersion();
	size_t vn = 0;
	while (ver[vn] && ver[vn] != ' ')
		vn++;
	char host[256];
	if (gethostname(host, sizeof host) < 0)
		host[0] = 0;
	host[sizeof host - 1] = 0;
	size_t argv_cap = 65536;
	char *argv = mm_alloc(argv_cap);
	if (!argv) {
		errno = ENOMEM;
		return fail(wk);
	}
	size_t an = argv_json(r->sysdict, argv, argv_cap);
	int rc = meta(wk, "python_version", ver, vn) | meta(wk, "python", ver, strlen(ver)) |
	         meta_u64(wk, "pointer_size", sizeof(void *)) |
	         meta_u64(wk, "pid", wk->opts->pid ? wk->opts->pid : (uint64_t)getpid()) |
	         meta_u64(wk, "time", (uint64_t)time(NULL)) | meta(wk, "argv", argv, an) |
	         meta_u64(wk, "rss", wk->opts->rss ? wk->opts->rss : pym_rss_bytes()) |
	         meta(wk, "hostname", host, strlen(host)) |
	         meta(wk, "writer", "pymple " PYMPLE_VERSION, strlen("pymple " PYMPLE_VERSION)) |
	         meta(wk, "values", wk->opts->values ? "1" : "0", 1) |
	         meta(wk, "in_child", wk->opts->in_child ? "1" : "0", 1);
	mm_free(argv, argv_cap);
	return rc ? -1 : 0;
}

static int walk_all(struct walk *wk, struct timespec t0)
{
	struct pyi_roots r;
	pyi_interp_roots(&r);
	wk->interned = r.interned;
	if (header_meta(wk, &r) < 0)
		return -1;
	const char *skipped;
	int e;
	skipped = NULL;
	e = 0;
	wk->sites = wk->no_sites ? NULL : pym_asites_open(wk->w, wk->opts->in_child, &skipped, &e);
	if (!wk->sites && e) {
		errno = e;
		return fail(wk);
	}
	if (skipped && meta(wk, "alloc.skipped", skipped, strlen(skipped)) < 0)
		return -1;
	uint32_t sid;
	if (pym_writer_string(wk->w, "<thread>", 8, &sid) < 0 ||
	    pym_writer_type(wk->w, sid, 0, &wk->synth_thread) < 0 ||
	    pym_writer_string(wk->w, "<frame>", 7, &sid) < 0 ||
	    pym_writer_type(wk->w, sid, 0, &wk->synth_frame) < 0)
		return fail(wk);
	const void *firsts[PYI_GC_LISTS];
	pyi_gc_lists(wk->gc_heads, firsts);
	if (root(wk, r.modules, PYM_ROOT_MODULES, "sys.modules") < 0 ||
	    root(wk, r.builtins, PYM_ROOT_BUILTINS, "builtins") < 0 ||
	    root(wk, r.sysdict, PYM_ROOT_SYSDICT, "sys") < 0 ||
	    root(wk, r.interned, PYM_ROOT_INTERNED, "interned") < 0 ||
	    root(wk, r.dict, PYM_ROOT_INTERP, "interp.dict") < 0 ||
	    root(wk, r.importlib, PYM_ROOT_INTERP, "interp.importlib") < 0 ||
	    root(wk, r.import_func, PYM_ROOT_INTERP, "interp.import_func") < 0 ||
	    root(wk, r.builtins_copy, PYM_ROOT_INTERP, "interp.builtins_copy") < 0 ||
	    root(wk, r.codec_search_path, PYM_ROOT_INTERP, "interp.codec_search_path") < 0 ||
	    root(wk, r.codec_search_cache, PYM_ROOT_INTERP, "interp.codec_search_cache") < 0 ||
	    root(wk, r.codec_error_registry, PYM_ROOT_INTERP, "interp.codec_error_registry") < 0 ||
	    drain(wk) < 0)
		return -1;
	if (emit_threads(wk, r.modules) < 0)
		return -1;
	if (walk_gc_rest(wk, firsts) < 0)
		return -1;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
	              (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
	char d[32];
	size_t n = put_u64(d, us / 1000000u);
	d[n++] = '.';
	char frac[8];
	size_t fn = put_u64(frac, us % 1000000u);
	for (size_t i = fn; i < 6; i++)
		d[n++] = '0';
	memcpy(d + n, frac, fn);
	n += fn;
	if (meta_u64(wk, "gc_objects", wk->gc_objects) < 0 ||
	    meta_u64(wk, "objects", pym_writer_objects(wk->w)) < 0 ||
	    meta_u64(wk, "refs", wk->refs_total) < 0 ||
	    meta_u64(wk, "skipped.sizeof_python", wk->skip_sizeof_py) < 0 ||
	    meta_u64(wk, "skipped.sizeof_error", wk->skip_sizeof_err) < 0 ||
	    meta_u64(wk, "skipped.sizeof_foreign", wk->skip_sizeof_foreign) < 0 ||
	    meta_u64(wk, "skipped.str_not_ready", wk->skip_str) < 0 ||
	    meta_u64(wk, "skipped.float_value", wk->skip_float) < 0 ||
	    meta(wk, "duration", d, n) < 0 || (wk->sites && pym_asites_meta(wk->sites) < 0))
		return fail(wk);
	return 0;
}

/* seen holds objects only (16-byte granules); gc_next gives its members
 * back as addresses (walk_gc_rest), so it keeps every 8-byte word apart. */
static void walk_init_sets(struct walk *wk)
{
	vset_init(&wk->seen, 4);
	vset_init(&wk->gc_next, 3);
}

static void walk_release(struct walk *wk)
{
	vset_free(&wk->seen);
	vset_free(&wk->gc_next);
	mm_free(wk->gc_todo, wk->gc_todo_cap);
	mm_free(wk->stack, wk->stack_cap);
	mm_free(wk->refs, wk->refs_cap);
	mm_free(wk->claimed, wk->claimed_cap);
	mm_free(wk->hkey, wk->hkey_cap);
	mm_free(wk->hhead, wk->hhead_cap);
	mm_free(wk->hnext, wk->hnext_cap);
	amap_free(&wk->types);
	amap_free(&wk->strs);
	amap_free(&wk->named);
	mm_free(wk->ti, wk->ti_cap);
	mm_free(wk->slots, wk->slots_cap);
	mm_free(wk->scratch, wk->scratch_cap);
	pym_asites_close(wk->sites);
}

static void set_err(char *errbuf, size_t errlen, const char *what, int e)
{
	if (!errbuf || !errlen)
		return;
	size_t n = 0;
	for (const char *p = what; *p && n + 1 < errlen; p++)
		errbuf[n++] = *p;
	const char *s = strerror(e);
	if (n + 3 < errlen) {
		errbuf[n++] = ':';
		errbuf[n++] = ' ';
	}
	for (const char *p = s; *p && n + 1 < errlen; p++)
		errbuf[n++] = *p;
	errbuf[n] = 0;
}

int pym_dump_fd(int fd, const struct pym_dump_opts *opts, struct pym_dump_stats *stats,
                char *errbuf, size_t errlen)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct walk *wk = mm_alloc(sizeof *wk);
	if (!wk) {
		set_err(errbuf, errlen, "out of memory", ENOMEM);
		errno = ENOMEM;
		return -1;
	}
	wk->opts = opts;
	walk_init_sets(wk);
	int gc_was = pyi_gc_disable();
	errno = 0;
	wk->w = pym_writer_open(fd, &pym_alloc_mmap, opts->level > 0 ? opts->level : 1);
	int rc = -1, e = 0;
	/* Compression on other threads overlaps the walk (about half the CPU
	 * of a dump). Not in a forked child: pthread_create is not safe there.
	 * If no thread can start, the dump goes on in this thread. */
	if (wk->w && !opts->in_child && pym_writer_threaded(wk->w) < 0) {
		pym_writer_close(wk->w);
		if (lseek(fd, 0, SEEK_SET) == 0 && ftruncate(fd, 0) == 0)
			wk->w = pym_writer_open(fd, &pym_alloc_mmap,
			                        opts->level > 0 ? opts->level : 1);
		else
			wk->w = NULL;
	}
	if (!wk->w) {
		e = errno ? errno : ENOMEM;
		set_err(errbuf, errlen, "cannot start the dump", e);
	} else if (walk_all(wk, t0) < 0 || pym_writer_finish(wk->w) < 0) {
		e = errno ? errno : EIO;
		set_err(errbuf, errlen, "dump failed", e);
	} else {
		rc = 0;
	}
	if (stats && wk->w) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		stats->objects = pym_writer_objects(wk->w);
		stats->refs = wk->refs_total;
		stats->bytes = pym_writer_bytes(wk->w);
		stats->seconds =
		        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
	if (wk->w)
		pym_writer_close(wk->w);
	walk_release(wk);
	mm_free(wk, sizeof *wk);
	pyi_gc_restore(gc_was);
	if (rc < 0)
		errno = e;
	return rc;
}

int pym_walk_records(struct pym_writer *w, const struct pym_dump_opts *opts)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct walk *wk = mm_alloc(sizeof *wk);
	if (!wk) {
		errno = ENOMEM;
		return -1;
	}
	wk->opts = opts;
	wk->w = w;
	wk->no_sites = 1;
	walk_init_sets(wk);
	int gc_was = pyi_gc_disable();
	errno = 0;
	int rc = walk_all(wk, t0) < 0 || pym_writer_finish(w) < 0 ? -1 : 0;
	int e = errno ? errno : EIO;
	walk_release(wk);
	mm_free(wk, sizeof *wk);
	pyi_gc_restore(gc_was);
	if (rc < 0)
		errno = e;
	return rc;
}
