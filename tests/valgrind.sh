#!/bin/sh
# valgrind.sh — `make valgrind`: the Criterion unit tests and a `check` and
# `load` of real dumps under valgrind (memcheck, leaks are errors). Any error
# fails the run. Uses the normal build (BUILD, default build/).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
VG="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
make --no-print-directory BUILD="$BUILD" "$BUILD/tests/unit" >/dev/null
# Criterion runs each test in a child process: follow them, one at a time.
$VG --trace-children=yes "$BUILD/tests/unit" --jobs 1 ${VALGRIND_UNIT_FILTER:+--filter "$VALGRIND_UNIT_FILTER"}
if [ -x "$BUILD/bin/pymple-analyze" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for d in tests/fuzz/corpus/chunks tests/fuzz/corpus/more-refs samples/*.dump; do
		[ -f "$d" ] || continue
		echo "valgrind: check $d"
		$VG "$BUILD/bin/pymple-analyze" check "$d" >/dev/null
		$VG "$BUILD/bin/pymple-analyze" -q load "$d" -o "$tmp/x.db" >/dev/null
	done
	# damaged input takes the error paths
	echo "valgrind: check tests/fuzz/corpus/small-truncated (must fail cleanly)"
	set +e
	$VG "$BUILD/bin/pymple-analyze" check tests/fuzz/corpus/small-truncated 2>/dev/null
	rc=$?
	set -e
	[ "$rc" -eq 2 ] || { echo "valgrind: expected exit 2 on a truncated dump, got $rc" >&2; exit 1; }
else
	echo "valgrind: $BUILD/bin/pymple-analyze not built; skipping the analyzer part"
fi
echo "valgrind: clean"
