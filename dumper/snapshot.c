/* snapshot.c — the heap walk kept in memory for the leak check
 * (pymple._pymple.snapshot()): objects and labelled references in flat C
 * arrays, compared with another snapshot and searched for paths in C.
 * Creates no Python objects while the walk runs (the records arrive through
 * writer.h's in-memory mode); results become Python objects afterwards. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "pyint.h"
#include "pymple_format.h"
#include "snapshot.h"
#include "writer.h"

#if PY_VERSION_HEX >= 0x030D0000
/* Moved to the internal headers in 3.13, still exported. */
extern PyObject *_PyTraceMalloc_GetTraceback(unsigned int domain, uintptr_t ptr);
#endif

/* What a type says about its objects, decided once per type. NAMED: keep
 * the value preview (module, function, type, synthetic thread and frame
 * records), for names on a path. */
#define ST_IMMUTABLE 1u /* content never changes: fingerprint it */
#define ST_NAMED     2u
#define ST_SELF      4u  /* a Snapshot: the check's own object, left out */
#define ST_MODULE    8u  /* a root for paths, as in the analyzer */
#define ST_STR       16u /* exact str: its size is not part of its identity */

struct snap_type {
	uint64_t addr; /* 0 for synthetic records */
	uint32_t name; /* string id */
	uint32_t st;   /* ST_* */
};

struct snap_obj {
	uint64_t addr, size, refcount;
	uint64_t fp;   /* fingerprint of immutable content, 0 for others */
	uint64_t ref0; /* its references: refs[ref0 .. ref0 + nrefs) */
	uint64_t voff; /* its kept name: text[voff .. voff + vlen); 0 when none
	                  (the arena never starts with a name) */
	uint32_t vlen;
	uint32_t nrefs;
	uint32_t type;   /* index into types */
	uint16_t flags;  /* low PYM_F_* bits */
	uint8_t pre;     /* bytes before the object in its allocation */
	uint8_t root;    /* 1 root record, 2 thread root */
	uint64_t serial; /* creation serial (3.13 reference tracer), 0 when
	                    created before the tracing began or not tracing */
};

#define NONE32 UINT32_MAX

struct snapshot {
	PyObject_HEAD struct snap_obj *objs;
	size_t nobjs, objs_cap;
	struct pym_ref *refs;
	size_t nrefs, refs_cap;
	struct snap_type *types;
	size_t ntypes, types_cap;
	char *text; /* string arena */
	size_t ntext, text_cap;
	uint64_t *str_off; /* string id -> offset in text; length in str_len */
	uint32_t *str_len;
	size_t nstrs, strs_cap;
	struct {
		uint64_t addr;
		unsigned kind;
	} * roots;
	size_t nroots, roots_cap;
	uint32_t *index; /* open addressing: object index or NONE32 */
	size_t index_cap;
	/* reverse references, built by the first path(): for object i, the
	 * references into it are rev[rev_off[i] .. rev_off[i + 1]) */
	uint64_t *rev_off, *rev;
	PyObject **type_names; /* str per type, created on demand */
	int tracebacks;
	uint64_t epoch; /* the serial tracing session it was taken in, 0: none */
	double seconds;
};

/* p (capacity *cap elements of elem bytes) with room for need elements:
 * p itself, or a larger copy (doubling; *cap updated). NULL and ENOMEM on
 * failure, p untouched. Never NULL on success, even for need 0. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (p && need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 1024;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * elem);
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	*cap = n;
	return q;
}
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* ---- creation serials (3.13+: PyRefTracer) -----------------------------
 * While a check runs, every object created gets the next serial, kept by
 * address until the address is reused; a destroyed object's entry drops to
 * 0. Two snapshots of one session then tell objects apart exactly, even
 * at a reused address. The tracer calls the one it replaced (tracemalloc
 * uses it on 3.13). Everything here is protected by the GIL. */

struct serials {
	uint64_t *keys, *vals; /* address -> serial; keys are never removed */
	size_t cap, used;
	uint64_t next, epoch;
	int depth;  /* nested serials_start() calls */
	int broken; /* an allocation failed or the tracer was replaced */
#if PY_VERSION_HEX >= 0x030D0000
	PyRefTracer prev;
	void *prev_data;
#endif
};
static struct serials serials;

static size_t addr_slot(uint64_t a, size_t cap);

static uint64_t *serial_slot(uint64_t addr, int add)
{
	struct serials *t = &serials;
	if (add && (t->used + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		uint64_t *nk = calloc(ncap, sizeof *nk), *nv = malloc(ncap * sizeof *nv);
		if (!nk || !nv) {
			free(nk);
			free(nv);
			t->broken = 1;
			return NULL;
		}
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->keys[i])
				continue;
			size_t j = addr_slot(t->keys[i], ncap);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = t->keys[i];
			nv[j] = t->vals[i];
		}
		free(t->keys);
		free(t->vals);
		t->keys = nk;
		t->vals = nv;
		t->cap = ncap;
	}
	if (!t->cap)
		return NULL;
	size_t j = addr_slot(addr, t->cap);
	while (t->keys[j] && t->keys[j] != addr)
		j = (j + 1) & (t->cap - 1);
	if (!t->keys[j]) {
		if (!add)
			return NULL;
		t->keys[j] = addr;
		t->used++;
	}
	return &t->vals[j];
}

static uint64_t serial_of(uint64_t addr)
{
	uint64_t *v = serials.depth ? serial_slot(addr, 0) : NULL;
	return v ? *v : 0;
}

#if PY_VERSION_HEX >= 0x030D0000
static int serial_tracer(PyObject *o, PyRefTracerEvent ev, void *data)
{
	(void)data;
	uint64_t *v = serial_slot((uintptr_t)o, ev == PyRefTracer_CREATE);
	if (v)
		*v = ev == PyRefTracer_CREATE ? ++serials.next : 0;
	return serials.prev ? serials.prev(o, ev, serials.prev_data) : 0;
}

static int serials_ours(void)
{
	void *data;
	return PyRefTracer_GetTracer(&data) == serial_tracer;
}
#endif

PyDoc_STRVAR(serials_start_doc,
             "serials_start() -> bool\n\n"
             "Starts numbering the objects created from now on (3.13+, through the\n"
             "reference tracer), so that snapshots taken until serials_stop() tell\n"
             "objects apart exactly. Nests. False when the interpreter cannot.");

static PyObject *serials_start(PyObject *mod, PyObject *unused)
{
	(void)mod;
	(void)unused;
#if PY_VERSION_HEX >= 0x030D0000
	if (serials.depth) {
		serials.depth++;
		return PyBool_FromLong(!serials.broken && serials_ours());
	}
	serials.prev = PyRefTracer_GetTracer(&serials.prev_data);
	if (PyRefTracer_SetTracer(serial_tracer, NULL) < 0)
		return NULL;
	serials.depth = 1;
	serials.broken = 0;
	serials.epoch++;
	Py_RETURN_TRUE;
#else
	Py_RETURN_FALSE;
#endif
}

PyDoc_STRVAR(serials_stop_doc,
             "serials_stop() -> bool\n\n"
             "Ends what serials_start() began; True when every creation since was\n"
             "numbered (the tracer stayed in place, no allocation failed).");

static PyObject *serials_stop(PyObject *mod, PyObject *unused)
{
	(void)mod;
	(void)unused;
#if PY_VERSION_HEX >= 0x030D0000
	if (!serials.depth)
		Py_RETURN_FALSE;
	int ok = !serials.broken && serials_ours();
	if (--serials.depth)
		return PyBool_FromLong(ok);
	/* Put back the tracer we replaced, unless someone replaced ours. */
	if (serials_ours() && PyRefTracer_SetTracer(serials.prev, serials.prev_data) < 0)
		return NULL;
	free(serials.keys);
	free(serials.vals);
	serials.keys = serials.vals = NULL;
	serials.cap = serials.used = 0;
	return PyBool_FromLong(ok);
#else
	Py_RETURN_FALSE;
#endif
}

/* ---- records from the walk (GIL held, objects alive, no Python objects) */

/* Copies n bytes into the arena; *off gets where. 0 or -1 (ENOMEM). */
static int append_text(struct snapshot *sn, const char *s, size_t n, uint64_t *off)
{
	char *text = grow(sn->text, &sn->text_cap, sn->ntext + n + 1, 1);
	if (!text)
		return -1;
	sn->text = text;
	if (!sn->ntext)
		sn->text[sn->ntext++] = 0; /* offset 0 means "no name" */
	memcpy(sn->text + sn->ntext, s, n);
	*off = sn->ntext;
	sn->ntext += n;
	return 0;
}

static int on_string(void *ctx, uint32_t id, const char *s, size_t n)
{
	struct snapshot *sn = ctx;
	uint64_t off;
	if (id != sn->nstrs || append_text(sn, s, n, &off) < 0)
		return -1;
	if (sn->nstrs == sn->strs_cap) { /* str_off and str_len share strs_cap */
		size_t cap = sn->strs_cap ? sn->strs_cap * 2 : 1024;
		uint64_t *offs = realloc(sn->str_off, cap * sizeof *offs);
		if (offs)
			sn->str_off = offs;
		uint32_t *lens = offs ? realloc(sn->str_len, cap * sizeof *lens) : NULL;
		if (!lens) {
			errno = ENOMEM;
			return -1;
		}
		sn->str_len = lens;
		sn->strs_cap = cap;
	}
	sn->str_off[sn->nstrs] = off;
	sn->str_len[sn->nstrs++] = (uint32_t)n;
	return 0;
}

static PyTypeObject SnapshotType;

static int on_type(void *ctx, uint32_t index, uint32_t name_id, uint64_t type_addr)
{
	struct snapshot *sn = ctx;
	struct snap_type *types = grow(sn->types, &sn->types_cap, sn->ntypes + 1, sizeof *types);
	if (index != sn->ntypes || !types)
		return -1;
	sn->types = types;
	struct snap_type *t = &sn->types[sn->ntypes++];
	t->addr = type_addr;
	t->name = name_id;
	t->st = 0;
	PyTypeObject *tp = (PyTypeObject *)(uintptr_t)type_addr;
	if (!tp) {
		t->st = ST_NAMED;
	} else if (tp == &SnapshotType) {
		t->st = ST_SELF;
	} else if (tp == &PyUnicode_Type) {
		t->st = ST_IMMUTABLE | ST_STR;
	} else if (tp == &PyBytes_Type || tp == &PyLong_Type || tp == &PyFloat_Type ||
	           tp == &PyTuple_Type || tp == &PyFrozenSet_Type || tp == &PyBool_Type ||
	           tp == &PyComplex_Type) {
		t->st = ST_IMMUTABLE;
	} else if (PyType_IsSubtype(tp, &PyModule_Type)) {
		t->st = ST_NAMED | ST_MODULE;
	} else if (tp == &PyFunction_Type || PyType_FastSubclass(tp, Py_TPFLAGS_TYPE_SUBCLASS)) {
		t->st = ST_NAMED;
	}
	return 0;
}

static int on_object(void *ctx, const struct pym_object *o)
{
	struct snapshot *sn = ctx;
	if (o->type >= sn->ntypes) {
		errno = EINVAL;
		return -1;
	}
	const struct snap_type *t = &sn->types[o->type];
	if (t->st & ST_SELF)
		return 0;
	struct snap_obj *objs = grow(sn->objs, &sn->objs_cap, sn->nobjs + 1, sizeof *objs);
	if (!objs)
		return -1;
	sn->objs = objs;
	struct pym_ref *refs = grow(sn->refs, &sn->refs_cap, sn->nrefs + o->nrefs, sizeof *refs);
	if (!refs)
		return -1;
	sn->refs = refs;
	struct snap_obj *s = &sn->objs[sn->nobjs];
	memset(s, 0, sizeof *s);
	s->addr = o->addr;
	s->size = o->size;
	s->refcount = o->refcount;
	s->type = o->type;
	s->flags = (uint16_t)o->flags;
	s->ref0 = sn->nrefs;
	s->nrefs = o->nrefs;
	memcpy(sn->refs + sn->nrefs, o->refs, o->nrefs * sizeof *o->refs);
	sn->nrefs += o->nrefs;
	if (t->st & ST_IMMUTABLE) {
		/* size, length, value preview and referents: what an object of
		 * the same type at the same address would have to repeat */
		uint64_t h = 0xcbf29ce484222325ULL;
		if (!(t->st & ST_STR)) /* a str grows when its UTF-8 form is cached */
			h = fnv(h, &o->size, sizeof o->size);
		h = fnv(h, &o->length, sizeof o->length);
		if (o->flags & PYM_F_VALUE)
			h = fnv(h, o->value, o->value_len);
		for (uint32_t i = 0; i < o->nrefs; i++)
			h = fnv(h, &o->refs[i].addr, sizeof o->refs[i].addr);
		s->fp = h | 1;
	}
	if ((t->st & ST_NAMED) && (o->flags & PYM_F_VALUE) && o->value_len) {
		if (append_text(sn, o->value, o->value_len, &s->voff) < 0)
			return -1;
		s->vlen = o->value_len;
	}
	s->serial = serial_of(o->addr);
	if (sn->tracebacks && t->addr)
		s->pre = (uint8_t)pyi_getsizeof_extra((PyObject *)(uintptr_t)o->addr);
	sn->nobjs++;
	return 0;
}

static int on_root(void *ctx, unsigned kind, uint64_t addr, int64_t name_id)
{
	struct snapshot *sn = ctx;
	(void)name_id;
	void *roots = grow(sn->roots, &sn->roots_cap, sn->nroots + 1, sizeof *sn->roots);
	if (!roots)
		return -1;
	sn->roots = roots;
	sn->roots[sn->nroots].addr = addr;
	sn->roots[sn->nroots++].kind = kind;
	return 0;
}

/* ---- lookups ---------------------------------------------------------- */

static size_t addr_slot(uint64_t a, size_t cap)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return (size_t)a & (cap - 1);
}

static uint32_t find(const struct snapshot *sn, uint64_t addr)
{
	if (!sn->index_cap)
		return NONE32;
	for (size_t j = addr_slot(addr, sn->index_cap);; j = (j + 1) & (sn->index_cap - 1)) {
		uint32_t i = sn->index[j];
		if (i == NONE32 || sn->objs[i].addr == addr)
			return i;
	}
}

static int build_index(struct snapshot *sn)
{
	if (sn->nobjs >= NONE32) {
		errno = ENOMEM;
		return -1;
	}
	size_t cap = 1024;
	while (cap < 2 * sn->nobjs)
		cap *= 2;
	sn->index = malloc(cap * sizeof *sn->index);
	if (!sn->index) {
		errno = ENOMEM;
		return -1;
	}
	memset(sn->index, 0xff, cap * sizeof *sn->index);
	sn->index_cap = cap;
	for (size_t i = 0; i < sn->nobjs; i++) {
		size_t j = addr_slot(sn->objs[i].addr, cap);
		while (sn->index[j] != NONE32)
			j = (j + 1) & (cap - 1);
		sn->index[j] = (uint32_t)i;
	}
	for (size_t r = 0; r < sn->nroots; r++) {
		uint32_t i = find(sn, sn->roots[r].addr);
		if (i != NONE32 && sn->objs[i].root != 1)
			sn->objs[i].root = sn->roots[r].kind == PYM_ROOT_THREAD ? 2 : 1;
	}
	return 0;
}

/* Counting sort of the references by target: O(objects + references). */
static int build_reverse(struct snapshot *sn)
{
	size_t n = sn->nobjs;
	sn->rev_off = calloc(n + 1, sizeof *sn->rev_off);
	uint32_t *tgt = malloc((sn->nrefs ? sn->nrefs : 1) * sizeof *tgt);
	if (!sn->rev_off || !tgt) {
		free(tgt);
		errno = ENOMEM;
		return -1;
	}
	for (size_t e = 0; e < sn->nrefs; e++) {
		tgt[e] = (sn->refs[e].label & PYM_LABEL_KIND_MASK) == PYM_LABEL_WEAK
		                 ? NONE32
		                 : find(sn, sn->refs[e].addr);
		if (tgt[e] != NONE32)
			sn->rev_off[tgt[e] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		sn->rev_off[i + 1] += sn->rev_off[i];
	sn->rev = malloc((sn->rev_off[n] ? sn->rev_off[n] : 1) * sizeof *sn->rev);
	uint64_t *fill = malloc((n ? n : 1) * sizeof *fill);
	if (!sn->rev || !fill) {
		free(tgt);
		free(fill);
		errno = ENOMEM;
		return -1;
	}
	memcpy(fill, sn->rev_off, n * sizeof *fill);
	/* entry: the reference's index; its source is found from it below */
	for (size_t e = 0; e < sn->nrefs; e++)
		if (tgt[e] != NONE32)
			sn->rev[fill[tgt[e]]++] = e;
	free(tgt);
	free(fill);
	return 0;
}

/* The object holding reference e (binary search over ref0, which grows
 * with the object index). */
static uint32_t ref_source(const struct snapshot *sn, uint64_t e)
{
	size_t lo = 0, hi = sn->nobjs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (sn->objs[mid].ref0 <= e)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* ---- Python-facing ------------------------------------------------------ */

static PyObject *type_name(struct snapshot *sn, uint32_t t)
{
	if (!sn->type_names) {
		sn->type_names = calloc(sn->ntypes ? sn->ntypes : 1, sizeof *sn->type_names);
		if (!sn->type_names)
			return PyErr_NoMemory();
	}
	if (!sn->type_names[t]) {
		uint32_t s = sn->types[t].name;
		sn->type_names[t] =
		        PyUnicode_DecodeUTF8(sn->text + sn->str_off[s], sn->str_len[s], "replace");
		if (!sn->type_names[t])
			return NULL;
	}
	Py_INCREF(sn->type_names[t]);
	return sn->type_names[t];
}

static PyObject *string_of(const struct snapshot *sn, uint32_t s)
{
	return PyUnicode_DecodeUTF8(sn->text + sn->str_off[s], sn->str_len[s], "replace");
}

static PyObject *name_of(const struct snapshot *sn, const struct snap_obj *o)
{
	if (!o->voff)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(sn->text + o->voff, o->vlen, "replace");
}

static void snapshot_dealloc(PyObject *self)
{
	struct snapshot *sn = (struct snapshot *)self;
	free(sn->objs);
	free(sn->refs);
	free(sn->types);
	free(sn->text);
	free(sn->str_off);
	free(sn->str_len);
	free(sn->roots);
	free(sn->index);
	free(sn->rev_off);
	free(sn->rev);
	if (sn->type_names) {
		for (size_t i = 0; i < sn->ntypes; i++)
			Py_XDECREF(sn->type_names[i]);
		free(sn->type_names);
	}
	Py_TYPE(self)->tp_free(self);
}

static Py_ssize_t snapshot_len(PyObject *self)
{
	return (Py_ssize_t)((struct snapshot *)self)->nobjs;
}

/* Same object in both snapshots (the address agrees): with exact serials,
 * the creation serial; otherwise the type and, for immutable types, the
 * fingerprint of their content (README "Identity"). */
static int same_object(const struct snapshot *a, uint32_t ia, const struct snapshot *b, uint32_t ib,
                       int exact)
{
	const struct snap_obj *x = &a->objs[ia], *y = &b->objs[ib];
	if (exact)
		return x->serial == y->serial && a->types[x->type].addr == b->types[y->type].addr;
	return a->types[x->type].addr == b->types[y->type].addr && x->fp == y->fp;
}

PyDoc_STRVAR(new_objects_doc,
             "new_objects(older, exact=False) -> list of (address, type name, size)\n\n"
             "The Python objects of this snapshot that older does not have: an object\n"
             "counts as the same when address and type agree and, for immutable\n"
             "types (str, bytes, int, float, tuple, frozenset), size, value and\n"
             "items too. exact=True (pass serials_stop()'s answer) compares creation\n"
             "serials instead when both snapshots were taken in one serials session.\n"
             "Thread and frame records are left out.");

static PyObject *snapshot_new_objects(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"older", "exact", NULL};
	struct snapshot *sn = (struct snapshot *)self;
	PyObject *arg;
	int exact = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|p:new_objects", kwlist, &SnapshotType, &arg,
	                                 &exact))
		return NULL;
	const struct snapshot *old = (const struct snapshot *)arg;
	exact = exact && sn->epoch && sn->epoch == old->epoch;
	PyObject *out = PyList_New(0);
	if (!out)
		return NULL;
	for (size_t i = 0; i < sn->nobjs; i++) {
		const struct snap_obj *o = &sn->objs[i];
		if (o->flags & PYM_F_SYNTHETIC)
			continue;
		uint32_t j = find(old, o->addr);
		if (j != NONE32 && same_object(old, j, sn, (uint32_t)i, exact))
			continue;
		PyObject *tn = type_name(sn, o->type);
		PyObject *t = tn ? Py_BuildValue("(KNK)", (unsigned long long)o->addr, tn,
		                                 (unsigned long long)o->size)
		                 : NULL;
		if (!t || PyList_Append(out, t) < 0) {
			Py_XDECREF(t);
			Py_DECREF(out);
			return NULL;
		}
		Py_DECREF(t);
	}
	return out;
}

/* The label of reference e as the analyzer prints it: [3], ['key'], .attr;
 * None when unlabelled. */
static PyObject *edge_text(const struct snapshot *sn, uint64_t e)
{
	uint64_t label = sn->refs[e].label, v = label >> PYM_LABEL_SHIFT;
	switch (label & PYM_LABEL_KIND_MASK) {
	case PYM_LABEL_INDEX:
		return PyUnicode_FromFormat("[%llu]", (unsigned long long)v);
	case PYM_LABEL_KEY:
	case PYM_LABEL_ATTR:
		if (v < sn->nstrs) {
			PyObject *s = string_of(sn, (uint32_t)v), *r;
			if (!s)
				return NULL;
			if ((label & PYM_LABEL_KIND_MASK) == PYM_LABEL_ATTR)
				r = PyUnicode_FromFormat(".%U", s);
			else
				r = PyUnicode_FromFormat("[%R]", s);
			Py_DECREF(s);
			return r;
		}
		break;
	default:
		break;
	}
	Py_RETURN_NONE;
}

/* BFS from the target up the reverse references to the nearest root (a
 * root record or a module; thread records only when with_threads).
 * Returns the root's index and fills prev/via, NONE32 if none. */
static uint32_t bfs_up(const struct snapshot *sn, uint32_t target, int with_threads,
                       uint32_t *queue, uint32_t *next, uint64_t *via)
{
	for (size_t i = 0; i < sn->nobjs; i++)
		next[i] = NONE32;
	size_t head = 0, tail = 0;
	queue[tail++] = target;
	next[target] = target;
	while (head < tail) {
		uint32_t i = queue[head++];
		const struct snap_obj *o = &sn->objs[i];
		if (o->root == 1 || (o->root == 2 && with_threads) ||
		    (sn->types[o->type].st & ST_MODULE))
			return i;
		for (uint64_t k = sn->rev_off[i]; k < sn->rev_off[i + 1]; k++) {
			uint64_t e = sn->rev[k];
			uint32_t src = ref_source(sn, e);
			if (next[src] != NONE32)
				continue;
			next[src] = i;
			via[src] = e;
			queue[tail++] = src;
		}
	}
	return NONE32;
}

PyDoc_STRVAR(path_doc, "path(address) -> list of (address, type name, name, edge) or None\n\n"
                       "The shortest chain of strong references from a root (a root record or\n"
                       "a module, threads' frames only when nothing else holds it) to the\n"
                       "object, root first. name is a module's, function's or type's name\n"
                       "(else None); edge is the label of the reference to the next step\n"
                       "([3], ['key'], .attr; None when unlabelled or last). None when no\n"
                       "root reaches it; KeyError when the snapshot has no such object.");

static PyObject *snapshot_path(PyObject *self, PyObject *arg)
{
	struct snapshot *sn = (struct snapshot *)self;
	unsigned long long addr = PyLong_AsUnsignedLongLong(arg);
	if (addr == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	uint32_t target = find(sn, addr);
	if (target == NONE32) {
		PyErr_SetObject(PyExc_KeyError, arg);
		return NULL;
	}
	if (!sn->rev_off && build_reverse(sn) < 0)
		return PyErr_NoMemory();
	size_t n = sn->nobjs;
	uint32_t *queue = malloc(n * sizeof *queue), *next = malloc(n * sizeof *next);
	uint64_t *via = malloc(n * sizeof *via);
	PyObject *out = NULL;
	if (!queue || !next || !via) {
		PyErr_NoMemory();
		goto done;
	}
	uint32_t r = bfs_up(sn, target, 0, queue, next, via);
	if (r == NONE32)
		r = bfs_up(sn, target, 1, queue, next, via);
	if (r == NONE32) {
		out = Py_None;
		Py_INCREF(out);
		goto done;
	}
	out = PyList_New(0);
	for (uint32_t i = r; out; i = next[i]) {
		const struct snap_obj *o = &sn->objs[i];
		PyObject *tn = type_name(sn, o->type);
		PyObject *name = tn ? name_of(sn, o) : NULL;
		PyObject *edge = !name         ? NULL
		                 : i == target ? (Py_INCREF(Py_None), Py_None)
		                               : edge_text(sn, via[i]);
		PyObject *t =
		        edge ? Py_BuildValue("(KNNN)", (unsigned long long)o->addr, tn, name, edge)
		             : NULL;
		if (!edge) {
			Py_XDECREF(tn);
			Py_XDECREF(name);
		}
		if (!t || PyList_Append(out, t) < 0)
			Py_CLEAR(out);
		Py_XDECREF(t);
		if (i == target)
			break;
	}
done:
	free(queue);
	free(next);
	free(via);
	return out;
}

PyDoc_STRVAR(info_doc, "info(address) -> (type name, size, refcount, referrers)\n\n"
                       "referrers counts the strong references to it that the walk saw;\n"
                       "refcount above that means references the walk cannot see\n"
                       "(C code, extensions). KeyError when the snapshot has no such object.");

static PyObject *snapshot_info(PyObject *self, PyObject *arg)
{
	struct snapshot *sn = (struct snapshot *)self;
	unsigned long long addr = PyLong_AsUnsignedLongLong(arg);
	if (addr == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	uint32_t i = find(sn, addr);
	if (i == NONE32) {
		PyErr_SetObject(PyExc_KeyError, arg);
		return NULL;
	}
	if (!sn->rev_off && build_reverse(sn) < 0)
		return PyErr_NoMemory();
	const struct snap_obj *o = &sn->objs[i];
	PyObject *tn = type_name(sn, o->type);
	if (!tn)
		return NULL;
	return Py_BuildValue("(NKKK)", tn, (unsigned long long)o->size,
	                     (unsigned long long)o->refcount,
	                     (unsigned long long)(sn->rev_off[i + 1] - sn->rev_off[i]));
}

PyDoc_STRVAR(allocated_doc,
             "allocated(address) -> (filename, lineno) or None\n\n"
             "Where tracemalloc saw the object allocated (the most recent frame);\n"
             "None when the snapshot was taken without tracebacks=True, tracemalloc\n"
             "does not trace or no longer knows the block. Reads tracemalloc's table\n"
             "by address only: safe even if the object has died since.");

static PyObject *snapshot_allocated(PyObject *self, PyObject *arg)
{
	struct snapshot *sn = (struct snapshot *)self;
	unsigned long long addr = PyLong_AsUnsignedLongLong(arg);
	if (addr == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	uint32_t i = find(sn, addr);
	if (i == NONE32 || !sn->tracebacks || (sn->objs[i].flags & PYM_F_SYNTHETIC))
		Py_RETURN_NONE;
	PyObject *tb = _PyTraceMalloc_GetTraceback(0, (uintptr_t)(addr - sn->objs[i].pre));
	if (!tb)
		return NULL;
	if (PyTuple_Check(tb) && PyTuple_GET_SIZE(tb) > 0) {
		PyObject *frame = PyTuple_GET_ITEM(tb, 0);
		Py_INCREF(frame);
		Py_DECREF(tb);
		return frame;
	}
	Py_DECREF(tb);
	Py_RETURN_NONE;
}

static PyObject *snapshot_get_seconds(PyObject *self, void *closure)
{
	(void)closure;
	return PyFloat_FromDouble(((struct snapshot *)self)->seconds);
}

static PyObject *snapshot_get_refs(PyObject *self, void *closure)
{
	(void)closure;
	return PyLong_FromSize_t(((struct snapshot *)self)->nrefs);
}

static PyMethodDef snapshot_methods[] = {
        {"new_objects", (PyCFunction)(void (*)(void))snapshot_new_objects,
         METH_VARARGS | METH_KEYWORDS, new_objects_doc},
        {"path", snapshot_path, METH_O, path_doc},
        {"info", snapshot_info, METH_O, info_doc},
        {"allocated", snapshot_allocated, METH_O, allocated_doc},
        {NULL, NULL, 0, NULL},
};

static PyGetSetDef snapshot_getset[] = {
        {"seconds", snapshot_get_seconds, NULL, "how long the walk took", NULL},
        {"refs", snapshot_get_refs, NULL, "references recorded", NULL},
        {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods snapshot_seq = {.sq_length = snapshot_len};

static PyTypeObject SnapshotType = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pymple._pymple.Snapshot",
        .tp_basicsize = sizeof(struct snapshot),
        .tp_dealloc = snapshot_dealloc,
        .tp_as_sequence = &snapshot_seq,
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "The heap of this interpreter at one moment, held in C memory\n"
                  "(pymple._pymple.snapshot()); len() is its number of objects.",
        .tp_methods = snapshot_methods,
        .tp_getset = snapshot_getset,
};

PyDoc_STRVAR(snapshot_doc,
             "snapshot(*, tracebacks=False) -> Snapshot\n\n"
             "Walks the heap as dump() does, into memory. tracebacks=True keeps what\n"
             "allocated() needs (when tracemalloc traces). Snapshot objects are\n"
             "left out of every snapshot. Raises MemoryError.");

static PyObject *snapshot(PyObject *mod, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"tracebacks", NULL};
	int tracebacks = 0;
	(void)mod;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|$p:snapshot", kwlist, &tracebacks))
		return NULL;
	struct snapshot *sn = PyObject_New(struct snapshot, &SnapshotType);
	if (!sn)
		return NULL;
	memset((char *)sn + sizeof(PyObject), 0, sizeof *sn - sizeof(PyObject));
	sn->tracebacks = tracebacks;
	sn->epoch = serials.depth ? serials.epoch : 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pym_records rec = {on_string, on_type, on_object, on_root, sn};
	struct pym_dump_opts opts = {.values = 1};
	struct pym_writer *w = pym_writer_open_records(&rec, NULL);
	int rc = w ? pym_walk_records(w, &opts) : -1;
	if (w)
		pym_writer_close(w);
	if (rc == 0)
		rc = build_index(sn);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sn->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc < 0) {
		int e = errno;
		Py_DECREF(sn);
		if (e == ENOMEM)
			return PyErr_NoMemory();
		errno = e;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	return (PyObject *)sn;
}

static PyMethodDef functions[] = {
        {"snapshot", (PyCFunction)(void (*)(void))snapshot, METH_VARARGS | METH_KEYWORDS,
         snapshot_doc},
        {"serials_start", serials_start, METH_NOARGS, serials_start_doc},
        {"serials_stop", serials_stop, METH_NOARGS, serials_stop_doc},
        {NULL, NULL, 0, NULL},
};

int pym_snapshot_init(PyObject *m)
{
	if (PyModule_AddFunctions(m, functions) < 0)
		return -1;
	if (PyType_Ready(&SnapshotType) < 0)
		return -1;
	Py_INCREF(&SnapshotType);
	if (PyModule_AddObject(m, "Snapshot", (PyObject *)&SnapshotType) < 0) {
		Py_DECREF(&SnapshotType);
		return -1;
	}
	return 0;
}
