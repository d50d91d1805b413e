/* signal.c — dump on signal (pymple.install). Scaffolding only: the real
 * handler, dumper thread and fork mode land with issue 4. */
#include "signal.h"

int pym_signal_init(PyObject *module)
{
	(void)module;
	return 0;
}
