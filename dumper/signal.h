/* signal.h — dump on signal: pymple.install() / pymple.uninstall(). */
#ifndef PYMPLE_SIGNAL_H
#define PYMPLE_SIGNAL_H

#include <Python.h>

#include "dump.h"

/* Adds install/uninstall (and anything else signal.c owns) to the module.
 * Called once from the module's init. Returns 0, or -1 with an exception set. */
int pym_signal_init(PyObject *module);

/* What a dump child writes to its report pipe, once, before _exit(). */
struct pym_child_report {
	int rc;  /* 0 ok, -1 failed */
	int err; /* errno on failure */
	struct pym_dump_stats stats;
	char msg[256];
};

/* The body of a forked dump child (signal dumps and `dump --attach`): ten
 * steps nicer than its parent, it writes the dump into sink (META pid and
 * rss name the parent), commits or aborts the sink, writes a struct
 * pym_child_report to report_fd and _exit()s. Only pym_dump_fd(in_child),
 * the sink, write(2) and _exit(): no Python, no malloc. Never returns. */
void pym_dump_child_signal_safe(struct pym_sink *sink, int report_fd, int values,
                                uint64_t parent_pid, uint64_t parent_rss) __attribute__((noreturn));

#endif
