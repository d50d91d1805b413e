/* walk.h — set-up the heap walk needs before any dump (module init).
 * pym_dump_fd itself is declared in dump.h. */
#ifndef PYMPLE_WALK_H
#define PYMPLE_WALK_H

#include "pymple_version.h"

/* Creates the few interned names the walk looks up (once, at import, so a
 * dump in a forked child never has to create an object). 0, or -1 with a
 * Python exception set. */
int pym_walk_prepare(void);

#endif
