/* snapshot.h — pymple._pymple.snapshot(): the heap walk kept in C memory
 * for the leak check (pymple/leakcheck.py). */
#ifndef PYMPLE_SNAPSHOT_H
#define PYMPLE_SNAPSHOT_H

#include <Python.h>

/* Adds the Snapshot type and the functions snapshot(), serials_start()
 * and serials_stop() to module m. 0, or -1 with an exception set. */
int pym_snapshot_init(PyObject *m);

#endif
