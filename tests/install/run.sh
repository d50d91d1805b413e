#!/bin/sh
# run.sh — the README's install routes, each done for real, offline (make test-install,
# CI; `--quick` is part of make test):
#   pip:      for every installed pyenv CPython 3.8-3.13, a fresh venv and
#             `pip install --no-build-isolation .`; then, with the venv activated,
#             pymple-analyze on PATH, the same version from it, `python -m pymple` and the
#             installed metadata as in schema/pymple_version.h, a dump of a small program
#             and `pymple-analyze summary` of it counting its objects right;
#   once, with PYTHON: plain `pip install .` (build isolation), the wheel checked member
#             by member (check_wheel.py), the sdist installed, `make install` into a venv,
#             a build from a clone, and the one-line messages of a build without Python
#             headers, a C compiler, the SQLite or the zlib development files.
# Usage: run.sh [--quick] [PYTHON]   --quick: the pip route on PYTHON only (default python3)
# Writes only under a temporary directory; never touches the source tree's build/.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
QUICK=0
[ "${1:-}" = "--quick" ] && { QUICK=1; shift; }
PYTHON=$(command -v "${1:-python3}") || { echo "install: no python3" >&2; exit 2; }
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
T=$(mktemp -d /tmp/pymple-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
# Offline by construction: pip must never wait on an index.
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
unset PYTHONPATH
VERSION=$(sed -n 's/^#define PYMPLE_VERSION "\(.*\)"$/\1/p' "$ROOT/schema/pymple_version.h")
# Failures go to a file: many checks run in subshells (an activated venv, another cwd).
fail() { echo "install: FAIL: $*" >&2; echo "  $*" >>"$T/failures"; }

# The small program: 1234 instances of one class, then a dump.
cat >"$T/prog.py" <<'EOF'
import sys

import pymple


class Marker:
    pass


keep = [Marker() for _ in range(1234)]
pymple.dump(sys.argv[1], quiet=True)
EOF

# use_tool LABEL ANALYZE PY [ENV...]: the analyzer and the package of one install work
# together: versions agree with the header, a dump of prog.py, its summary counts 1234
# Markers, and the dump names this version as its writer.
use_tool() {
	label=$1 an=$2 py=$3
	shift 3
	got=$("$an" --version) || { fail "$label: pymple-analyze --version exited $?"; return; }
	[ "${got#pymple-analyze $VERSION }" != "$got" ] || fail "$label: pymple-analyze --version: $got"
	got=$(cd "$T" && env "$@" "$py" -m pymple --version) ||
		{ fail "$label: python -m pymple --version"; return; }
	[ "$got" = "pymple $VERSION" ] || fail "$label: python -m pymple --version: $got"
	d="$T/$label.dump"
	(cd "$T" && env "$@" "$py" prog.py "$d") || { fail "$label: the dump exited $?"; return; }
	"$an" -q summary "$d" >"$T/summary.txt" || { fail "$label: summary exited $?"; return; }
	got=$("$an" -q summary "$d" --format csv | grep '^__main__\.Marker,')
	[ "${got#__main__.Marker,1234,}" != "$got" ] || fail "$label: summary: Marker row '$got'"
	got=$("$an" -q sql "$d" "SELECT value FROM meta WHERE key = 'writer'" --format csv | tail -n 1 | tr -d '\r')
	[ "$got" = "pymple $VERSION" ] || fail "$label: the dump's writer is '$got'"
}

# pip_route LABEL PY: fresh venv, pip install --no-build-isolation ., then the tool from
# the activated venv.
pip_route() {
	label=$1 py=$2 v="$T/venv-$1"
	echo "install: === pip, $label ==="
	"$py" -m venv "$v" || { fail "$label: python -m venv"; return; }
	(cd "$ROOT" && "$v/bin/python" -m pip install -q --no-build-isolation .) >"$T/pip.log" 2>&1 ||
		{ cat "$T/pip.log"; fail "$label: pip install --no-build-isolation ."; return; }
	# shellcheck disable=SC1091
	# activate is not written for `set -u` (3.12's reads an unset OSTYPE).
	found=$(set +u && . "$v/bin/activate" && command -v pymple-analyze)
	[ "$found" = "$v/bin/pymple-analyze" ] || fail "$label: pymple-analyze on PATH is '$found'"
	got=$("$v/bin/python" -c 'import importlib.metadata as m; print(m.version("pymple"))')
	[ "$got" = "$VERSION" ] || fail "$label: installed metadata version '$got'"
	(set +u && . "$v/bin/activate" && use_tool "pip-$label" pymple-analyze python)
	readelf -d "$v/bin/pymple-analyze" | grep -q 'libsqlite3\.so' ||
		fail "$label: pymple-analyze does not link the system's libsqlite3"
	"$v/bin/python" -m pip uninstall -q -y pymple >"$T/pip.log" 2>&1 ||
		{ cat "$T/pip.log"; fail "$label: pip uninstall"; }
	[ ! -e "$v/bin/pymple-analyze" ] || fail "$label: pip uninstall left bin/pymple-analyze"
}

if [ "$QUICK" -eq 1 ]; then
	pip_route "$("$PYTHON" -c 'import platform; print(platform.python_version())')" "$PYTHON"
else
	ran=0
	for minor in 8 9 10 11 12 13; do
		dir=$(ls -d "$PYENV_ROOT"/versions/3."$minor".* 2>/dev/null | sort -t. -k3 -n | tail -n 1)
		if [ -z "$dir" ] || [ ! -x "$dir/bin/python3" ]; then
			echo "install: 3.$minor not installed, skipped"
			continue
		fi
		ran=$((ran + 1))
		pip_route "$(basename "$dir")" "$dir/bin/python3"
	done
	[ "$ran" -gt 0 ] || fail "no CPython 3.8-3.13 under $PYENV_ROOT/versions"
fi

if [ "$QUICK" -eq 0 ]; then
	# Plain `pip install .`: build isolation needs nothing from the (absent) index.
	echo "install: === pip install . (build isolation) ==="
	v="$T/venv-iso"
	"$PYTHON" -m venv "$v" && (cd "$ROOT" && "$v/bin/python" -m pip install -q .) >"$T/pip.log" 2>&1 ||
		{ cat "$T/pip.log"; fail "pip install . with build isolation"; }
	[ -x "$v/bin/pymple-analyze" ] || fail "pip install .: no pymple-analyze"

	# The wheel itself, and the sdist: built by pip's own entry points, then installed.
	echo "install: === wheel and sdist ==="
	(cd "$ROOT" && "$v/bin/python" -m pip wheel -q --no-build-isolation -w "$T/wheels" .) >"$T/pip.log" 2>&1 ||
		{ cat "$T/pip.log"; fail "pip wheel"; }
	"$v/bin/python" "$ROOT/tests/install/check_wheel.py" "$T"/wheels/pymple-*.whl "$ROOT" ||
		fail "check_wheel.py"
	(cd "$ROOT/tools" && "$v/bin/python" -c 'import sys, build_backend
build_backend.build_sdist(sys.argv[1])' "$T") || fail "build_sdist"
	v="$T/venv-sdist"
	"$PYTHON" -m venv "$v" &&
		"$v/bin/python" -m pip install -q --no-build-isolation "$T/pymple-$VERSION.tar.gz" >"$T/pip.log" 2>&1 ||
		{ cat "$T/pip.log"; fail "pip install of the sdist"; }
	(cd "$T" && use_tool sdist "$v/bin/pymple-analyze" "$v/bin/python")

	# Editable: the package's Python files from the source tree, the build in build-dir.
	echo "install: === pip install -e ==="
	v="$T/venv-edit"
	"$PYTHON" -m venv "$v" && (cd "$ROOT" && "$v/bin/python" -m pip install -q --no-build-isolation -e . \
		-C build-dir="$T/edit-build") >"$T/pip.log" 2>&1 || { cat "$T/pip.log"; fail "pip install -e"; }
	use_tool editable "$v/bin/pymple-analyze" "$v/bin/python"
	got=$(cd "$T" && "$v/bin/python" -c 'import pymple.__main__ as m; print(m.__file__)')
	[ "$got" = "$ROOT/dumper/pymple/__main__.py" ] || fail "editable: pymple.__main__ is $got"

	# From a clone: the files git tracks (a clone of this tree once committed), built with make.
	echo "install: === from a clone: make, make install ==="
	c="$T/clone"
	mkdir "$c" && (cd "$ROOT" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$c" ||
		fail "copying the tracked files"
	if make -s -C "$c" -j2 PYTHON="$PYTHON" all >"$T/make.log" 2>&1; then
		use_tool clone "$c/build/bin/pymple-analyze" "$PYTHON" PYTHONPATH="$c/build/python"
	else
		cat "$T/make.log"
		fail "make all in a clone"
	fi
	# make install with PREFIX = a venv: the analyzer into its bin/, the package into its
	# site-packages.
	v="$T/venv-make"
	"$PYTHON" -m venv --without-pip "$v" &&
		make -s -C "$c" -j2 PYTHON="$v/bin/python" BUILD="$T/make-build" PREFIX="$v" install >"$T/make.log" 2>&1 ||
		{ cat "$T/make.log"; fail "make install PREFIX=venv"; }
	use_tool make-install "$v/bin/pymple-analyze" "$v/bin/python"
	# The default `sudo make install` (PREFIX /usr/local, python3's own site-packages),
	# staged under DESTDIR.
	s="$T/stage"
	if make -s -C "$c" PYTHON="$v/bin/python" BUILD="$T/make-build" DESTDIR="$s" install \
		>"$T/make.log" 2>&1; then
		site=$("$v/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
		use_tool make-install-default "$s/usr/local/bin/pymple-analyze" "$v/bin/python" PYTHONPATH="$s$site"
	else
		cat "$T/make.log"
		fail "make install DESTDIR=stage"
	fi

	# Missing build dependencies: one line that says what to install. No Python headers:
	# an interpreter whose prefix has no include/ (as Debian's python3 without python3-dev):
	# its own binary, its standard library linked in, nothing else.
	echo "install: === missing headers, missing compiler ==="
	base=$("$PYTHON" -c 'import sys; print(sys.base_prefix)')
	pyv=$("$PYTHON" -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
	p="$T/noheaders"
	mkdir -p "$p/bin" "$p/lib" && cp "$base/bin/$pyv" "$p/bin/" && ln -s "$base/lib/$pyv" "$p/lib/$pyv" &&
		"$p/bin/$pyv" -m venv "$T/venv-nh" || fail "making a Python without headers"
	inc=$("$T/venv-nh/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
	[ ! -e "$inc/Python.h" ] || fail "the headerless Python has headers: $inc"
	expect_one_line() { # LABEL PATTERN LOG
		n=$(grep -c '^ *pymple: cannot build: ' "$3")
		if [ "$n" -ne 1 ] || ! grep -q "$2" "$3" || grep -q Traceback "$3"; then
			cat "$3"
			fail "$1: not one line matching '$2'"
		fi
	}
	if (cd "$ROOT" && "$T/venv-nh/bin/python" -m pip install --no-build-isolation .) >"$T/nh.log" 2>&1; then
		fail "pip install without Python headers succeeded"
	fi
	expect_one_line "no headers" "no Python.h in $inc (install .*python3-dev" "$T/nh.log"
	# What the backend itself prints, without pip's frame: exactly that line.
	(cd "$ROOT/tools" && "$T/venv-nh/bin/python" -c 'import build_backend; build_backend.build_wheel(".")') \
		>"$T/nh.out" 2>"$T/nh.err" && fail "build_wheel without headers succeeded"
	[ ! -s "$T/nh.out" ] && [ "$(wc -l <"$T/nh.err")" -eq 1 ] ||
		{ cat "$T/nh.err"; fail "build_wheel: not one line"; }
	v="$T/venv-iso"
	if (cd "$ROOT" && CC="$T/no/cc" "$v/bin/python" -m pip install --no-build-isolation .) >"$T/cc.log" 2>&1; then
		fail "pip install without a compiler succeeded"
	fi
	expect_one_line "no compiler" "no C compiler ($T/no/cc; install build-essential)" "$T/cc.log"

	# No libsqlite3-dev, no zlib1g-dev: this machine as a sysroot (cc --sysroot) without
	# those packages' headers and link libraries. The backend itself, as pip runs it.
	sysroot() { # DIR FILE...: /usr/include and /usr/lib of this machine without FILEs
		r=$1
		shift
		arch=$(cc -print-multiarch)
		mkdir -p "$r/usr/include" "$r/usr/lib/$arch" && ln -s usr/lib "$r/lib" && ln -s /lib64 "$r/lib64"
		for f in /usr/include/* /usr/lib/"$arch"/* /usr/lib/*; do
			case $f in /usr/include/*) d=usr/include ;; /usr/lib/"$arch"/*) d=usr/lib/$arch ;; *) d=usr/lib ;; esac
			n=${f##*/}
			for x in "$@"; do [ "$n" = "$x" ] && continue 2; done
			[ -e "$r/$d/$n" ] || ln -s "$f" "$r/$d/$n"
		done
	}
	no_dev() { # LABEL PATTERN ABSENT FILE...: a build in a sysroot without FILEs
		label=$1 pattern=$2 absent=$3
		shift 3
		sysroot "$T/sysroot-$label" "$@"
		(cd "$ROOT/tools" && CC="cc --sysroot=$T/sysroot-$label" "$PYTHON" -c 'import sys, build_backend
build_backend.build_wheel(sys.argv[1])' "$T") >"$T/$label.out" 2>"$T/$label.err" &&
			fail "$label: build_wheel succeeded"
		if [ -s "$T/$label.out" ] || [ "$(wc -l <"$T/$label.err")" -ne 1 ] ||
			! grep -q "^pymple: cannot build: .*$pattern" "$T/$label.err" || grep -q "$absent" "$T/$label.err"; then
			cat "$T/$label.out" "$T/$label.err"
			fail "$label: not the one line naming $pattern only"
		fi
	}
	no_dev no-sqlite "no SQLite headers or library (install libsqlite3-dev)" zlib \
		sqlite3.h sqlite3ext.h libsqlite3.so libsqlite3.a
	no_dev no-zlib "no zlib headers or library (install zlib1g-dev)" SQLite \
		zlib.h zconf.h libz.so libz.a
fi

if [ -s "$T/failures" ]; then
	echo "install: FAILED:" >&2
	cat "$T/failures" >&2
	exit 1
fi
echo "install: all passed"
