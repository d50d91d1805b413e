/* pyint.c — CPython internals for the heap walk, one #if per version
 * (3.8–3.13). Compiled with Py_BUILD_CORE (see the Makefile). Reads
 * interpreter structures only: creates no objects, takes no locks, runs no
 * Python code, changes nothing but the collector's enabled flag. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <structmember.h>

#if PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_interp.h"
#endif
#include "internal/pycore_pystate.h"
#include "internal/pycore_object.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#endif
#if PY_VERSION_HEX >= 0x030A0000
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_typeobject.h"
#endif
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h> /* PyFrameObject's fields (3.8 does not include it) */
#endif

#include "pyint.h"

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x030E0000
#error "pymple supports CPython 3.8 to 3.13"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded builds are not supported"
#endif

_Static_assert(sizeof(digit) == 4 && PyLong_SHIFT == 30, "30-bit int digits expected");

#if PY_VERSION_HEX < 0x03090000
#define PyInterpreterState_Get _PyInterpreterState_Get
#define GCSTATE                (&_PyRuntime.gc)
#else
#define GCSTATE (&PyInterpreterState_Get()->gc)
#endif

int pyi_gc_disable(void)
{
	int was = GCSTATE->enabled;
	GCSTATE->enabled = 0;
	return was;
}

void pyi_gc_restore(int was_enabled)
{
	GCSTATE->enabled = was_enabled;
}

_Static_assert(NUM_GENERATIONS + 1 == PYI_GC_LISTS, "three generations and the permanent one");

int pyi_gc_lists(const void **heads, const void **firsts)
{
	struct _gc_runtime_state *gs = GCSTATE;
	for (int i = 0; i < PYI_GC_LISTS; i++) {
		PyGC_Head *h = i < NUM_GENERATIONS ? &gs->generations[i].head
		                                   : &gs->permanent_generation.head;
		heads[i] = h;
		firsts[i] = (const void *)h->_gc_next;
	}
	return PYI_GC_LISTS;
}

_Static_assert(
        sizeof(PyGC_Head) == 2 * sizeof(uintptr_t) && offsetof(PyGC_Head, _gc_next) == 0,
        "pyi_gc_header_tracked() and pyi_gc_next() read _gc_next two words before the object");

size_t pyi_getsizeof_extra(PyObject *o)
{
#if PY_VERSION_HEX < 0x030B0000
	return PyObject_IS_GC(o) ? sizeof(PyGC_Head) : 0;
#elif PY_VERSION_HEX < 0x030D0000
	return _PyType_PreHeaderSize(Py_TYPE(o));
#else
	return (PyObject_IS_GC(o) ? sizeof(PyGC_Head) : 0) +
	       (PyType_HasFeature(Py_TYPE(o), Py_TPFLAGS_PREHEADER) ? 2 * sizeof(PyObject *) : 0);
#endif
}

void pyi_getsizeof_extra_parts(PyTypeObject *tp, size_t *fixed, size_t *if_gc)
{
#if PY_VERSION_HEX < 0x030B0000
	*fixed = 0;
	*if_gc = sizeof(PyGC_Head);
#elif PY_VERSION_HEX < 0x030D0000
	*fixed = _PyType_PreHeaderSize(tp); /* by the type alone on 3.11 and 3.12 */
	*if_gc = 0;
#else
	*fixed = PyType_HasFeature(tp, Py_TPFLAGS_PREHEADER) ? 2 * sizeof(PyObject *) : 0;
	*if_gc = sizeof(PyGC_Head);
#endif
}

void pyi_interp_roots(struct pyi_roots *r)
{
	PyInterpreterState *interp = PyInterpreterState_Get();
	memset(r, 0, sizeof *r);
	r->sysdict = interp->sysdict;
	r->builtins = interp->builtins;
	r->dict = interp->dict;
	r->builtins_copy = interp->builtins_copy;
#if PY_VERSION_HEX < 0x030C0000
	r->modules = interp->modules;
	r->importlib = interp->importlib;
	r->import_func = interp->import_func;
	r->codec_search_path = interp->codec_search_path;
	r->codec_search_cache = interp->codec_search_cache;
	r->codec_error_registry = interp->codec_error_registry;
#else
	r->modules = interp->imports.modules;
	r->importlib = interp->imports.importlib;
	r->import_func = interp->imports.import_func;
	r->interned = interp->cached_objects.interned_strings;
#if PY_VERSION_HEX < 0x030D0000
	r->codec_search_path = interp->codec_search_path;
	r->codec_search_cache = interp->codec_search_cache;
	r->codec_error_registry = interp->codec_error_registry;
#else
	r->codec_search_path = interp->codecs.search_path;
	r->codec_search_cache = interp->codecs.search_cache;
	r->codec_error_registry = interp->codecs.error_registry;
#endif
#endif
}

PyThreadState *pyi_thread_first(void)
{
	return PyInterpreterState_ThreadHead(PyInterpreterState_Get());
}

unsigned long pyi_thread_id(PyThreadState *t)
{
	return t->thread_id;
}

int pyi_thread_is_main(PyThreadState *t)
{
	return t->thread_id == _PyRuntime.main_thread;
}

int pyi_thread_fields(PyThreadState *t, PyObject **objs, const char **names, int max)
{
	int n = 0;
#define F(expr, name)                                                                              \
	do {                                                                                       \
		PyObject *f_ = (PyObject *)(expr);                                                 \
		if (f_ && n < max) {                                                               \
			objs[n] = f_;                                                              \
			names[n++] = name;                                                         \
		}                                                                                  \
	} while (0)
#if PY_VERSION_HEX < 0x030B0000
	F(t->frame, "frame");
#endif
#if PY_VERSION_HEX < 0x030C0000
	F(t->curexc_type, "curexc_type");
	F(t->curexc_value, "curexc_value");
	F(t->curexc_traceback, "curexc_traceback");
#else
	F(t->current_exception, "current_exception");
#endif
	for (_PyErr_StackItem *e = t->exc_info; e; e = e->previous_item) {
#if PY_VERSION_HEX < 0x030B0000
		F(e->exc_type, "exc_type");
		F(e->exc_value, "exc_value");
		F(e->exc_traceback, "exc_traceback");
#else
		F(e->exc_value, "exc_value");
#endif
	}
	F(t->dict, "dict");
	F(t->async_exc, "async_exc");
	F(t->context, "context");
	F(t->c_profileobj, "c_profileobj");
	F(t->c_traceobj, "c_traceobj");
	F(t->async_gen_firstiter, "async_gen_firstiter");
	F(t->async_gen_finalizer, "async_gen_finalizer");
#undef F
	return n;
}

#if PY_VERSION_HEX >= 0x030B0000
static _PyInterpreterFrame *skip_cstack(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
	while (f && f->owner == FRAME_OWNED_BY_CSTACK)
		f = f->previous;
#endif
	return f;
}
#endif

void *pyi_frame_first(PyThreadState *t)
{
#if PY_VERSION_HEX >= 0x030D0000
	return skip_cstack(t->current_frame);
#elif PY_VERSION_HEX >= 0x030B0000
	return skip_cstack(t->cframe ? t->cframe->current_frame : NULL);
#else
	(void)t;
	return NULL;
#endif
}

void *pyi_frame_next(void *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
	return skip_cstack(((_PyInterpreterFrame *)frame)->previous);
#else
	(void)frame;
	return NULL;
#endif
}

void pyi_frame_info(void *frame, struct pyi_frame *fi)
{
	memset(fi, 0, sizeof *fi);
	fi->line = -1;
#if PY_VERSION_HEX >= 0x030B0000
	_PyInterpreterFrame *f = frame;
#if PY_VERSION_HEX >= 0x030D0000
	PyObject *code = f->f_executable;
#else
	PyObject *code = (PyObject *)f->f_code;
#endif
#if PY_VERSION_HEX >= 0x030C0000
	fi->func = f->f_funcobj;
#else
	fi->func = (PyObject *)f->f_func;
#endif
	fi->code = code;
	fi->globals = f->f_globals;
	fi->builtins = f->f_builtins;
	fi->locals = f->f_locals;
	fi->frame_obj = (PyObject *)f->frame_obj;
	fi->owner_generator = f->owner == FRAME_OWNED_BY_GENERATOR;
	if (code && PyCode_Check(code)) {
		PyCodeObject *co = (PyCodeObject *)code;
		int n = co->co_nlocalsplus;
		/* stacktop is -1 while the frame's own stack pointer lives in the
		 * eval loop; only trust it when it is in range. */
		if (f->stacktop > n && f->stacktop <= n + co->co_stacksize)
			fi->nvalues = f->stacktop;
		else
			fi->nvalues = n;
		fi->nnamed = n;
		fi->localsplus = f->localsplus;
#if PY_VERSION_HEX >= 0x030C0000
		fi->line = PyUnstable_InterpreterFrame_GetLine(f);
#else
		fi->line = PyCode_Addr2Line(co, _PyInterpreterFrame_LASTI(f) *
		                                        (int)sizeof(_Py_CODEUNIT));
#endif
	}
#else
	(void)frame;
#endif
}

void *pyi_frame_object(PyObject *f, PyObject **back, PyObject **trace)
{
	*back = *trace = NULL;
#if PY_VERSION_HEX >= 0x030B0000
	if (!PyFrame_Check(f))
		return NULL;
	PyFrameObject *fo = (PyFrameObject *)f;
	*back = (PyObject *)fo->f_back;
	*trace = fo->f_trace;
	if (fo->f_frame && fo->f_frame->owner == FRAME_OWNED_BY_FRAME_OBJECT)
		return fo->f_frame;
#else
	(void)f;
#endif
	return NULL;
}

PyObject *pyi_frame_object_where(PyObject *f, int *line)
{
	*line = -1;
	if (!PyFrame_Check(f))
		return NULL;
#if PY_VERSION_HEX >= 0x030B0000
	PyFrameObject *fo = (PyFrameObject *)f;
	if (!fo->f_frame)
		return NULL;
	struct pyi_frame fi;
	pyi_frame_info(fo->f_frame, &fi);
	*line = fi.line;
	return fi.code;
#else
	PyFrameObject *fo = (PyFrameObject *)f;
	*line = PyFrame_GetLineNumber(fo);
	return (PyObject *)fo->f_code;
#endif
}

void *pyi_gen_frame(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030B0000
	PyTypeObject *tp = Py_TYPE(o);
	if (tp != &PyGen_Type && tp != &PyCoro_Type && tp != &PyAsyncGen_Type)
		return NULL;
	/* the three share _PyGenObject_HEAD */
	PyGenObject *g = (PyGenObject *)o;
	if (g->gi_frame_state >= FRAME_CLEARED)
		return NULL;
	return (void *)g->gi_iframe;
#else
	(void)o;
	return NULL;
#endif
}

Py_ssize_t pyi_inline_values(PyObject *o, PyObject *const **values, size_t *name_stride,
                             const char **names_base, size_t *extra)
{
	*extra = 0;
#if PY_VERSION_HEX >= 0x030B0000
	PyTypeObject *tp = Py_TYPE(o);
	if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE))
		return 0;
	PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
	PyDictValues *vals = NULL;
#if PY_VERSION_HEX >= 0x030D0000
	if (!(tp->tp_flags & Py_TPFLAGS_INLINE_VALUES))
		return 0;
	vals = _PyObject_InlineValues(o);
	*extra = _Py_SIZE_ROUND_UP(vals->capacity, sizeof(PyObject *)) +
	         ((size_t)vals->capacity + 1) * sizeof(PyObject *);
	if (!vals->valid)
		return 0;
#elif PY_VERSION_HEX >= 0x030C0000
	PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(o);
	if (!_PyDictOrValues_IsValues(dorv))
		return 0;
	vals = _PyDictOrValues_GetValues(dorv);
	if (keys)
		*extra = ((uint8_t *)vals)[-1] +
		         (size_t)(keys->dk_nentries + keys->dk_usable) * sizeof(PyObject *);
#else
	vals = *_PyObject_ValuesPointer(o);
	if (!vals)
		return 0;
	if (keys)
		*extra = (size_t)(keys->dk_nentries + keys->dk_usable) * sizeof(PyObject *);
#endif
	if (!keys || !DK_IS_UNICODE(keys))
		return 0;
	*values = vals->values;
	*names_base = (const char *)&DK_UNICODE_ENTRIES(keys)[0].me_key;
	*name_stride = sizeof(PyDictUnicodeEntry);
	Py_ssize_t n = keys->dk_nentries;
#if PY_VERSION_HEX >= 0x030D0000
	if (n > vals->capacity)
		n = vals->capacity;
#endif
	return n;
#else
	(void)o, (void)values, (void)name_stride, (void)names_base;
	return 0;
#endif
}

int pyi_dict_values_embedded(PyObject *d)
{
#if PY_VERSION_HEX >= 0x030D0000
	PyDictValues *v = ((PyDictObject *)d)->ma_values;
	return v && v->embedded;
#else
	(void)d;
	return 0;
#endif
}

PyObject *pyi_managed_dict(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030B0000
	if (!(Py_TYPE(o)->tp_flags & Py_TPFLAGS_MANAGED_DICT))
		return NULL;
#if PY_VERSION_HEX >= 0x030D0000
	return (PyObject *)_PyObject_GetManagedDict(o);
#elif PY_VERSION_HEX >= 0x030C0000
	PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(o);
	return _PyDictOrValues_IsValues(dorv) ? NULL : _PyDictOrValues_GetDict(dorv);
#else
	return *_PyObject_ManagedDictPointer(o);
#endif
#else
	(void)o;
	return NULL;
#endif
}

PyObject *pyi_type_dict(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
	return _PyType_GetDict(tp);
#else
	return tp->tp_dict;
#endif
}

PyObject *pyi_type_subclasses(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
	if (tp->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN)
		return NULL; /* an index into the interpreter's table */
#endif
	return (PyObject *)tp->tp_subclasses;
}

#if PY_VERSION_HEX < 0x030A0000
/* Objects/moduleobject.c keeps the struct private before 3.10; its layout
 * is the same from 3.8 on. */
typedef struct {
	PyObject ob_base;
	PyObject *md_dict;
	struct PyModuleDef *md_def;
	void *md_state;
	PyObject *md_weaklist;
	PyObject *md_name;
} PyModuleObject;
#endif

PyObject *pyi_module_name(PyObject *m)
{
	return ((PyModuleObject *)m)->md_name;
}

const uint32_t *pyi_long_digits(PyObject *o, size_t *ndigits, int *neg)
{
	PyLongObject *l = (PyLongObject *)o;
#if PY_VERSION_HEX >= 0x030C0000
	uintptr_t tag = l->long_value.lv_tag;
	*ndigits = (size_t)(tag >> 3);
	*neg = (tag & 3) == 2;
	return l->long_value.ob_digit;
#else
	Py_ssize_t s = Py_SIZE(l);
	*neg = s < 0;
	*ndigits = (size_t)(s < 0 ? -s : s);
	return l->ob_digit;
#endif
}
