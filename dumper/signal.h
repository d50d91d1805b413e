/* signal.h — dump on signal: pymple.install() / pymple.uninstall(). */
#ifndef PYMPLE_SIGNAL_H
#define PYMPLE_SIGNAL_H

#include <Python.h>

/* Adds install/uninstall (and anything else signal.c owns) to the module.
 * Called once from the module's init. Returns 0, or -1 with an exception set. */
int pym_signal_init(PyObject *module);

#endif
