/* pymple_version.h — the release version of pymple, in one place: the
 * extension (pymple.__version__, the dump's "writer" META entry), the analyzer
 * (--version) and the wheel's metadata (tools/build_backend.py reads the line
 * below) all take it from here. Not the dump format's version: that is
 * PYM_VERSION_* in pymple_format.h. */
#ifndef PYMPLE_VERSION_H
#define PYMPLE_VERSION_H

#define PYMPLE_VERSION "0.1.0"

#endif
