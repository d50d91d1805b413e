#!/bin/sh
# demo.sh — the `make demo` walk-through: dump a leaking sample program three
# times, ask pymple-analyze what holds the memory, what grew, and who holds it,
# then the whole answer in one report: `leaks`, as text and as an HTML page.
# Usage: sh samples/demo.sh BUILD   (BUILD holds bin/pymple-analyze and python/)
# Writes the dumps, their databases and the HTML report into $DEMO_DIR
# (default BUILD/demo) and keeps them, so the commands the report prints
# under "next" run as printed afterwards; a new run replaces them.
set -eu

BUILD=${1:-build}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
AN="$BUILD/bin/pymple-analyze"
LEAKER='__main__.Session'
DEMO_DIR=${DEMO_DIR:-$BUILD/demo}

if [ ! -x "$AN" ] || [ ! -d "$BUILD/python/pymple" ]; then
	echo "demo: $BUILD has no pymple-analyze or pymple module; run 'make' first" >&2
	exit 2
fi
mkdir -p "$DEMO_DIR"
chmod 700 "$DEMO_DIR" # dumps hold whatever the program held
rm -f "$DEMO_DIR"/round-*.dump "$DEMO_DIR"/round-*.dump.db "$DEMO_DIR/leaks.html"
DEMO_HTML=$DEMO_DIR/leaks.html

# step TITLE WHY COMMAND...: prints a heading, the command, then runs it.
step() {
	title=$1 why=$2
	shift 2
	printf '\n=== %s\n    %s\n    $ %s\n\n' "$title" "$why" "$*"
	"$@"
}

step "1. Run a program that leaks, dumping its heap after each round" \
	"samples/registry_leak.py keeps every Session in a dict and never evicts one." \
	env PYTHONPATH="$BUILD/python" "$PYTHON" "$HERE/registry_leak.py" \
	--rounds 3 --requests 2000 --dump-dir "$DEMO_DIR"

A="$DEMO_DIR/round-1.dump"
B="$DEMO_DIR/round-2.dump"
C="$DEMO_DIR/round-3.dump"

step "2. What holds the memory after round 2?" \
	"One row per type, largest first; the last line compares the dump with the RSS." \
	"$AN" summary "$B" --limit 12

step "3. What grew between round 1 and round 2?" \
	"Per-type change in count and bytes; a leak grows by about as much every round." \
	"$AN" diff "$A" "$B" --limit 10

step "4. Who keeps the sessions alive?" \
	"The shortest chain of references from a root to a few $LEAKER objects." \
	"$AN" path "$B" --type "$LEAKER" --limit 2

printf '\nThe chain ends in the module-level SESSIONS dict: end_session() never removes entries.\n'

step "5. All of it in one report" \
	"What grew at every step, the path its objects share, the dict that holds them, what to run next." \
	"$AN" leaks "$A" "$B" "$C" --html "$DEMO_HTML"
