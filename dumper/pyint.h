/* pyint.h — the few CPython internals the heap walk needs, per version
 * (3.8–3.13), behind one small API. pyint.c is the only file compiled with
 * Py_BUILD_CORE. Nothing here creates Python objects, takes locks or runs
 * Python code; every function requires the GIL (or a forked child). */
#ifndef PYMPLE_PYINT_H
#define PYMPLE_PYINT_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

/* Disables automatic collection; returns the previous state (1 enabled). */
int pyi_gc_disable(void);
/* Restores the state pyi_gc_disable() returned. */
void pyi_gc_restore(int was_enabled);

/* The GC lists: generations 0-2 and the permanent generation
 * (gc.freeze()), each a circular list through the objects' GC headers
 * around a head that is no object. heads[i] receives list i's head and
 * firsts[i] the node after it (the head itself when the list is empty).
 * Returns the number of lists, PYI_GC_LISTS. */
#define PYI_GC_LISTS 4
int pyi_gc_lists(const void **heads, const void **firsts);

/* The node after tracked object o's in its GC list: a head, or the node
 * of the object pyi_gc_node_object() names. */
static inline const void *pyi_gc_next(PyObject *o)
{
	/* _gc_next, the first of the two words right before the object; its
	 * low bit is a flag only during a collection */
	return (const void *)(((const uintptr_t *)(const void *)o)[-2] & ~(uintptr_t)1);
}

static inline PyObject *pyi_gc_node_object(const void *node)
{
	return (PyObject *)(uintptr_t)((const uintptr_t *)node + 2);
}

/* 1 if o, known to be a GC object (PyObject_IS_GC(o), not the type flag
 * alone: a static type has no GC header), is tracked by the collector: its
 * GC header's _gc_next is set. The header is two words right before the
 * object on 3.8-3.13 (pyint.c checks). */
static inline int pyi_gc_header_tracked(PyObject *o)
{
	return ((const uintptr_t *)(const void *)o)[-2] != 0;
}

/* What sys.getsizeof adds to __sizeof__() on this version (GC header,
 * managed dict/weakref pre-header). */
size_t pyi_getsizeof_extra(PyObject *o);

/* The same decided once per type: pyi_getsizeof_extra(o) for an o of type
 * tp is *fixed, plus *if_gc when PyObject_IS_GC(o). */
void pyi_getsizeof_extra_parts(PyTypeObject *tp, size_t *fixed, size_t *if_gc);

/* 1 if the object is immortal (3.12+); 0 before. */
static inline int pyi_is_immortal(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030C0000
	return _Py_IsImmortal(o);
#else
	(void)o;
	return 0;
#endif
}

/* 1 if dict d's values live inside the object that owns the dict (3.13
 * embedded values): the object holds those references, not the dict. */
int pyi_dict_values_embedded(PyObject *d);

/* Interpreter-level roots (borrowed; any may be NULL). */
struct pyi_roots {
	PyObject *modules, *sysdict, *builtins, *dict, *interned;
	PyObject *importlib, *import_func, *builtins_copy;
	PyObject *codec_search_path, *codec_search_cache, *codec_error_registry;
};
void pyi_interp_roots(struct pyi_roots *r);

/* Thread states of the current interpreter: first, then PyThreadState_Next. */
PyThreadState *pyi_thread_first(void);
unsigned long pyi_thread_id(PyThreadState *t);
int pyi_thread_is_main(PyThreadState *t);

/* Objects a thread state holds, with their field names. 3.8-3.10: "frame"
 * is the innermost frame object. Returns how many were written (<= max). */
int pyi_thread_fields(PyThreadState *t, PyObject **objs, const char **names, int max);

/* 3.11+: the innermost _PyInterpreterFrame of a thread, or NULL (always
 * NULL before 3.11). Frames owned by the C stack are skipped. */
void *pyi_frame_first(PyThreadState *t);
void *pyi_frame_next(void *frame);

struct pyi_frame {
	PyObject *code, *func, *globals, *builtins, *locals, *frame_obj;
	PyObject **localsplus; /* nvalues entries, may hold NULL */
	int nnamed;            /* the first nnamed are named by code's localsplus names */
	int nvalues;
	int line;            /* -1 if unknown */
	int owner_generator; /* the frame belongs to a generator/coroutine */
};
void pyi_frame_info(void *frame, struct pyi_frame *fi);

/* 3.11+ frame objects: *back and *trace get f_back and f_trace; returns
 * the _PyInterpreterFrame the object owns (a frame that finished running),
 * or NULL when the frame still runs in a thread or generator. Always NULL
 * before 3.11, where frame objects are plain structs. */
void *pyi_frame_object(PyObject *f, PyObject **back, PyObject **trace);

/* Any frame object: its code (borrowed, NULL if none) and *line its current
 * line (-1 if unknown). Reads the line table; allocates nothing. */
PyObject *pyi_frame_object_where(PyObject *f, int *line);

/* 3.11+ generators, coroutines and async generators: the frame they hold
 * (NULL once cleared, and always before 3.11). */
void *pyi_gen_frame(PyObject *o);

/* 3.11+ managed-dict instances whose attributes live in a values array and
 * not in a dict object: *names and *values point at arrays of n entries
 * (names are str, values may be NULL). Returns n, or 0 when the object has
 * no such values. *extra gets the bytes of that storage that
 * sys.getsizeof does not count (0 when none). */
Py_ssize_t pyi_inline_values(PyObject *o, PyObject *const **values, size_t *name_stride,
                             const char **names_base, size_t *extra);
/* The name of value i given the base and stride from pyi_inline_values. */
static inline PyObject *pyi_inline_name(const char *base, size_t stride, Py_ssize_t i)
{
	return *(PyObject *const *)(const void *)(base + (size_t)i * stride);
}

/* The instance dict of a managed-dict object (3.11+), or NULL. Never
 * materializes one. Returns NULL for other objects. */
PyObject *pyi_managed_dict(PyObject *o);

/* tp_dict of a type without creating a reference (3.12+ static builtin
 * types keep it in the interpreter). Borrowed; may be NULL. */
PyObject *pyi_type_dict(PyTypeObject *tp);
/* tp_subclasses when it is an object (dict), else NULL. */
PyObject *pyi_type_subclasses(PyTypeObject *tp);

/* A module's md_name (borrowed, may be NULL). */
PyObject *pyi_module_name(PyObject *m);

/* int digits: 30-bit digits, least significant first; *neg set. */
const uint32_t *pyi_long_digits(PyObject *o, size_t *ndigits, int *neg);

#endif
