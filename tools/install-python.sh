#!/bin/sh
# install-python.sh — installs the built pymple package, the start-up hook module and
# pymple-signal.pth into a Python's site-packages (called by `make install`).
# Usage: install-python.sh PYTHON PYDIR DESTDIR PREFIX
#   PYTHON   the interpreter the extension was built for (its version picks the path)
#   PYDIR    the build's python dir (holds pymple/ with _pymple*.so)
#   DESTDIR  staging root prepended to every path (may be empty)
#   PREFIX   empty: the interpreter's own site-packages (sysconfig "platlib"), so that
#            `make install` makes `import pymple` work for that python at once; the
#            Makefile passes an empty PREFIX unless PREFIX was given on its command line.
#            Otherwise: the platlib of the install scheme rooted at PREFIX, e.g.
#            PREFIX/lib/python3.11/site-packages; that directory is a site dir (and runs
#            the .pth hook) only if PREFIX is the interpreter's prefix or it is added
#            with PYTHONPATH + site.addsitedir / a venv.
# Must not touch anything outside that site-packages directory.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 PYTHON PYDIR DESTDIR PREFIX" >&2; exit 2; }
PYTHON=$1 PYDIR=$2 DESTDIR=$3 PREFIX=$4
HERE=$(cd "$(dirname "$0")" && pwd)
HOOK="$HERE/../dumper/pymple_signal_hook.py"

[ -d "$PYDIR/pymple" ] || { echo "install-python.sh: $PYDIR/pymple: not built (run make)" >&2; exit 2; }
SITE=$("$PYTHON" - "$PREFIX" <<'PY'
import sys, sysconfig
prefix = sys.argv[1]
if prefix:
    print(sysconfig.get_path("platlib", vars={"base": prefix, "platbase": prefix}))
else:
    print(sysconfig.get_path("platlib"))
PY
)
DEST="$DESTDIR$SITE"
# Replace the package as a whole: a stale _pymple*.so from another build must not stay.
rm -rf "$DEST/pymple"
install -d "$DEST/pymple"
for f in "$PYDIR"/pymple/*; do
	[ -f "$f" ] || continue
	install -m 644 "$f" "$DEST/pymple/"
done
chmod 755 "$DEST"/pymple/_pymple*.so
install -m 644 "$HOOK" "$DEST/pymple_signal_hook.py"
# site.py executes .pth lines that start with "import"; the module does nothing unless
# PYMPLE_SIGNAL is set.
printf 'import pymple_signal_hook\n' >"$DEST/pymple-signal.pth"
chmod 644 "$DEST/pymple-signal.pth"
echo "installed pymple into $DEST"
# Python runs .pth files only in its site directories (not in PYTHONPATH entries): say so
# when SITE is not one of them, or the PYMPLE_SIGNAL hook silently does nothing.
if ! "$PYTHON" - "$SITE" <<'PY'
import os, site, sys
target = os.path.realpath(sys.argv[1])
dirs = list(site.getsitepackages())
if site.ENABLE_USER_SITE:
    dirs.append(site.getusersitepackages())
sys.exit(0 if any(os.path.realpath(d) == target for d in dirs) else 1)
PY
then
	echo "install-python.sh: warning: $SITE is not a site directory of $PYTHON: its .pth files" \
	     "do not run (PYTHONPATH does not run them either), so PYMPLE_SIGNAL does nothing for" \
	     "programs that find pymple there; use pymple.install() or 'python3 -m pymple run'," \
	     "or make it a site directory (site.addsitedir, a venv, or install without PREFIX)" >&2
fi
