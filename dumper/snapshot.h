/* snapshot.h — pymple._pymple.snapshot(): the heap walk kept in C memory
 * for the leak check (pymple/leakcheck.py). */
#ifndef PYMPLE_SNAPSHOT_H
#define PYMPLE_SNAPSHOT_H

#include <Python.h>

/* snapshot(*, tracebacks=False) -> Snapshot. New reference, or NULL with
 * an exception set. Requires the GIL. */
PyObject *pym_snapshot(PyObject *mod, PyObject *args, PyObject *kw);

extern const char pym_snapshot_doc[];

/* Adds the Snapshot type to module m. 0, or -1 with an exception set. */
int pym_snapshot_init(PyObject *m);

#endif
