/* allocsite.c — each object's allocation traceback from tracemalloc, as
 * deduplicated sites (FORMAT.md "Allocation sites").
 *
 * Where the traceback comes from:
 * - 3.12+: tracemalloc's state is _PyRuntime.tracemalloc (internal headers,
 *   Py_BUILD_CORE). The domain-0 traces table maps the start of a memory
 *   block to a trace {size, traceback}; tracebacks are interned and hold
 *   (filename, lineno) frames, innermost first. Reading it creates no
 *   object. In-process the table lookup takes tracemalloc's tables lock (a
 *   thread without the GIL may change the table from PyMem_RawMalloc); in a
 *   forked child nothing else runs, so the lock is only tried once at the
 *   start (held at fork time: the table may be half-updated, no sites).
 * - 3.8-3.11: the tables are static in libpython; the exported
 *   _PyTraceMalloc_GetTraceback() builds a tuple of (filename, lineno)
 *   tuples. It is called for one object at a time and the tuple is freed
 *   before the object's record is read and before anything else is walked:
 *   nothing in the heap refers to it, the walk never meets it, and type
 *   counts are the same after the dump. Not in a forked child (it
 *   allocates and takes a lock): there the dump says why in META.
 *
 * The block starts before the PyObject: the GC header and, on 3.11+, the
 * managed dict/weakref pre-header (pyi_getsizeof_extra(); 3.11's own
 * tracemalloc.get_object_traceback() subtracts only the GC header). */
#define Py_BUILD_CORE 1
#include <Python.h>
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_runtime.h"
#elif PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_pymem.h"
#endif

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "allocsite.h"
#include "pyint.h"
#include "pymple_format.h"
#include "writer.h"

#if PY_VERSION_HEX >= 0x030C0000
#define TM (&_PyRuntime.tracemalloc)
/* Python/tracemalloc.c's trace_t, the value of the traces table. */
struct tm_trace {
	size_t size;
	struct tracemalloc_traceback *traceback;
};
#define TM_TRACING()    (TM->config.tracing)
#define TM_MAX_NFRAME() (TM->config.max_nframe)
#else
#define TM_TRACING()    (_Py_tracemalloc_config.tracing)
#define TM_MAX_NFRAME() (_Py_tracemalloc_config.max_nframe)
#endif

struct fr {
	uintptr_t file; /* tracemalloc's interned filename str */
	uint32_t line;
};

struct site {
	uint64_t hash;
	size_t off; /* into fr */
	uint32_t n;
};

struct pym_asites {
	struct pym_writer *w;
	int lock;      /* take tracemalloc's tables lock per lookup (3.12+, in-process) */
	struct fr *fr; /* frames of every site, back to back */
	size_t nfr, fr_cap;
	struct site *sites;
	size_t nsites, sites_cap;
	uint32_t *slots; /* site index + 1, 0 empty */
	size_t nslots;
	uintptr_t *fkey; /* filename object -> string id */
	uint32_t *fid;
	size_t fslots, nfiles;
	struct fr *cur; /* the traceback being looked up */
	size_t cur_cap;
	struct pym_site_frame *out;
	size_t out_cap;
	uint64_t objects;
	int max_nframe;
	char text[4096];
};

static void *mm_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void mm_free(void *p, size_t n)
{
	if (p && n)
		munmap(p, n);
}

/* Grows *p (cap elements of elem bytes) to hold need elements. */
static int mm_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 4096 / elem;
	while (n < need)
		n *= 2;
	void *q = mm_alloc(n * elem);
	if (!q)
		return -1;
	if (*p) {
		memcpy(q, *p, *cap * elem);
		mm_free(*p, *cap * elem);
	}
	*p = q;
	*cap = n;
	return 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9u;
	return h ^ (h >> 29);
}

/* ---- reading tracemalloc --------------------------------------------- */

/* The traceback of the block at ptr into s->cur; returns its frame count
 * (0: untraced), -1 on failure. */
static long traceback_of(struct pym_asites *s, uintptr_t ptr)
{
#if PY_VERSION_HEX >= 0x030C0000
	if (s->lock)
		PyThread_acquire_lock(TM->tables_lock, WAIT_LOCK);
	const struct tm_trace *t =
	        TM->traces ? _Py_hashtable_get(TM->traces, (const void *)ptr) : NULL;
	const struct tracemalloc_traceback *tb = t ? t->traceback : NULL;
	if (s->lock)
		PyThread_release_lock(TM->tables_lock);
	if (!tb || tb->nframe == 0)
		return 0;
	size_t n = tb->nframe;
	if (mm_grow((void **)&s->cur, &s->cur_cap, n, sizeof *s->cur) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct tracemalloc_frame *f = &tb->frames[i];
		s->cur[i].file = (uintptr_t)f->filename;
		s->cur[i].line = f->lineno;
	}
	return (long)n;
#else
	PyObject *t = _PyTraceMalloc_GetTraceback(0, ptr);
	if (!t) {
		PyErr_Clear();
		return 0;
	}
	long n = 0;
	if (PyTuple_Check(t) && PyTuple_GET_SIZE(t) > 0 &&
	    mm_grow((void **)&s->cur, &s->cur_cap, (size_t)PyTuple_GET_SIZE(t), sizeof *s->cur) ==
	            0) {
		for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
			PyObject *f = PyTuple_GET_ITEM(t, i);
			if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 2)
				continue;
			unsigned long line = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(f, 1));
			if (line == (unsigned long)-1 && PyErr_Occurred()) {
				PyErr_Clear();
				line = 0;
			}
			/* the filename stays alive in tracemalloc's own table */
			s->cur[n].file = (uintptr_t)PyTuple_GET_ITEM(f, 0);
			s->cur[n].line = (uint32_t)line;
			n++;
		}
	} else if (PyTuple_Check(t) && PyTuple_GET_SIZE(t) > 0) {
		n = -1;
	}
	Py_DECREF(t);
	return n;
#endif
}

/* ---- the tables ------------------------------------------------------- */

/* UTF-8 of a str without creating anything (a cut at the buffer's end). */
static size_t utf8(PyObject *u, char *out, size_t cap)
{
	static const char unknown[] = "<unknown>";
	if (!u || !PyUnicode_Check(u)
#if PY_VERSION_HEX < 0x030C0000
	    || !PyUnicode_IS_READY(u)
#endif
	) {
		memcpy(out, unknown, sizeof unknown - 1);
		return sizeof unknown - 1;
	}
	int kind = PyUnicode_KIND(u);
	const void *data = PyUnicode_DATA(u);
	Py_ssize_t len = PyUnicode_GET_LENGTH(u);
	size_t n = 0;
	for (Py_ssize_t i = 0; i < len; i++) {
		Py_UCS4 c = PyUnicode_READ(kind, data, i);
		if (n + 4 > cap)
			break;
		if (c < 0x80) {
			out[n++] = (char)c;
		} else if (c < 0x800) {
			out[n++] = (char)(0xC0 | (c >> 6));
			out[n++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[n++] = (char)(0xE0 | (c >> 12));
			out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[n++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[n++] = (char)(0xF0 | (c >> 18));
			out[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[n++] = (char)(0x80 | (c & 0x3F));
		}
	}
	return n;
}

/* String id of a filename object, writing its STRING record once. */
static int file_id(struct pym_asites *s, uintptr_t file, uint32_t *id)
{
	if ((s->nfiles + 1) * 2 > s->fslots) {
		size_t nn = s->fslots ? s->fslots * 2 : 256;
		uintptr_t *k = mm_alloc(nn * sizeof *k);
		uint32_t *v = mm_alloc(nn * sizeof *v);
		if (!k || !v) {
			mm_free(k, nn * sizeof *k);
			mm_free(v, nn * sizeof *v);
			return -1;
		}
		for (size_t i = 0; i < s->fslots; i++) {
			if (!s->fkey[i])
				continue;
			size_t j = (size_t)mix(0, s->fkey[i]) & (nn - 1);
			while (k[j])
				j = (j + 1) & (nn - 1);
			k[j] = s->fkey[i];
			v[j] = s->fid[i];
		}
		mm_free(s->fkey, s->fslots * sizeof *s->fkey);
		mm_free(s->fid, s->fslots * sizeof *s->fid);
		s->fkey = k;
		s->fid = v;
		s->fslots = nn;
	}
	size_t j = (size_t)mix(0, file) & (s->fslots - 1);
	while (s->fkey[j] && s->fkey[j] != file)
		j = (j + 1) & (s->fslots - 1);
	if (s->fkey[j]) {
		*id = s->fid[j];
		return 0;
	}
	size_t n = utf8((PyObject *)file, s->text, sizeof s->text);
	if (pym_writer_string(s->w, s->text, n, id) < 0)
		return -1;
	s->fkey[j] = file;
	s->fid[j] = *id;
	s->nfiles++;
	return 0;
}

static int slots_grow(struct pym_asites *s)
{
	size_t nn = s->nslots ? s->nslots * 2 : 1024;
	uint32_t *t = mm_alloc(nn * sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < s->nsites; i++) {
		size_t j = (size_t)s->sites[i].hash & (nn - 1);
		while (t[j])
			j = (j + 1) & (nn - 1);
		t[j] = (uint32_t)(i + 1);
	}
	mm_free(s->slots, s->nslots * sizeof *s->slots);
	s->slots = t;
	s->nslots = nn;
	return 0;
}

/* A new site: STRING records for unseen files, then its SITE record. */
static int site_new(struct pym_asites *s, size_t n, uint64_t h, size_t slot, uint32_t *site)
{
	if (mm_grow((void **)&s->out, &s->out_cap, n, sizeof *s->out) < 0 ||
	    mm_grow((void **)&s->fr, &s->fr_cap, s->nfr + n, sizeof *s->fr) < 0 ||
	    mm_grow((void **)&s->sites, &s->sites_cap, s->nsites + 1, sizeof *s->sites) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (file_id(s, s->cur[i].file, &s->out[i].file) < 0)
			return -1;
		s->out[i].line = s->cur[i].line;
	}
	uint32_t id;
	if (pym_writer_site(s->w, s->out, (uint32_t)n, &id) < 0)
		return -1;
	memcpy(s->fr + s->nfr, s->cur, n * sizeof *s->fr);
	s->sites[s->nsites] = (struct site){h, s->nfr, (uint32_t)n};
	s->nfr += n;
	s->slots[slot] = (uint32_t)++s->nsites;
	/* the writer numbers sites from 1 in the same order */
	*site = id;
	return 0;
}

static int same(const struct fr *a, const struct fr *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].file != b[i].file || a[i].line != b[i].line)
			return 0;
	return 1;
}

int pym_asites_of(struct pym_asites *s, PyObject *o, uint32_t *site)
{
	*site = 0;
	long nl = traceback_of(s, (uintptr_t)o - pyi_getsizeof_extra(o));
	if (nl <= 0) {
		if (nl < 0)
			errno = ENOMEM;
		return (int)nl;
	}
	size_t n = (size_t)nl;
	if (n > PYM_SITE_FRAMES_MAX)
		n = PYM_SITE_FRAMES_MAX;
	uint64_t h = n;
	for (size_t i = 0; i < n; i++)
		h = mix(mix(h, s->cur[i].file), s->cur[i].line);
	if ((s->nsites + 1) * 2 > s->nslots && slots_grow(s) < 0) {
		errno = ENOMEM;
		return -1;
	}
	size_t j = (size_t)h & (s->nslots - 1);
	for (; s->slots[j]; j = (j + 1) & (s->nslots - 1)) {
		const struct site *st = &s->sites[s->slots[j] - 1];
		if (st->hash == h && st->n == n && same(s->fr + st->off, s->cur, n)) {
			*site = s->slots[j];
			s->objects++;
			return 0;
		}
	}
	if (site_new(s, n, h, j, site) < 0) {
		if (!errno)
			errno = ENOMEM;
		return -1;
	}
	s->objects++;
	return 0;
}

struct pym_asites *pym_asites_open(struct pym_writer *w, int in_child, const char **skipped,
                                   int *err)
{
	*skipped = NULL;
	*err = 0;
	if (!TM_TRACING())
		return NULL;
	int lock = 0;
#if PY_VERSION_HEX >= 0x030C0000
	if (in_child) {
		if (TM->tables_lock && !PyThread_acquire_lock(TM->tables_lock, NOWAIT_LOCK)) {
			*skipped = "tracemalloc's tables were locked at fork";
			return NULL;
		}
		if (TM->tables_lock)
			PyThread_release_lock(TM->tables_lock);
	} else {
		lock = TM->tables_lock != NULL;
	}
#else
	if (in_child) {
		*skipped = "forked child on CPython 3.8-3.11 (tracemalloc is read through an "
		           "allocating call there)";
		return NULL;
	}
#endif
	struct pym_asites *s = mm_alloc(sizeof *s);
	if (!s) {
		*err = ENOMEM;
		return NULL;
	}
	s->w = w;
	s->lock = lock;
	s->max_nframe = TM_MAX_NFRAME();
	if (slots_grow(s) < 0) {
		pym_asites_close(s);
		*err = ENOMEM;
		return NULL;
	}
	return s;
}

static int meta_u64(struct pym_writer *w, const char *key, uint64_t v)
{
	char b[24];
	size_t n = sizeof b;
	do
		b[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return pym_writer_meta(w, key, b + n, sizeof b - n);
}

int pym_asites_meta(struct pym_asites *s)
{
	if (meta_u64(s->w, "alloc.frames", (uint64_t)(s->max_nframe > 0 ? s->max_nframe : 0)) < 0 ||
	    meta_u64(s->w, "alloc.sites", s->nsites) < 0 ||
	    meta_u64(s->w, "alloc.objects", s->objects) < 0)
		return -1;
	return 0;
}

void pym_asites_close(struct pym_asites *s)
{
	if (!s)
		return;
	mm_free(s->fr, s->fr_cap * sizeof *s->fr);
	mm_free(s->sites, s->sites_cap * sizeof *s->sites);
	mm_free(s->slots, s->nslots * sizeof *s->slots);
	mm_free(s->fkey, s->fslots * sizeof *s->fkey);
	mm_free(s->fid, s->fslots * sizeof *s->fid);
	mm_free(s->cur, s->cur_cap * sizeof *s->cur);
	mm_free(s->out, s->out_cap * sizeof *s->out);
	mm_free(s, sizeof *s);
}
