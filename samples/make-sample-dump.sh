#!/bin/sh
# make-sample-dump.sh — regenerates samples/registry_leak.dump, the small
# committed dump of samples/registry_leak.py (3 rounds of 100 requests: exactly
# 300 __main__.Session objects). Usage: sh samples/make-sample-dump.sh [BUILD]
# Runs the real dumper from BUILD (default build/); writes nothing but that file.
set -eu

BUILD=${1:-build}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/registry_leak.dump"
LIMIT=204800 # keep the committed file under 200 KB

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pymple-sample.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# -S (no site) keeps the interpreter's own share of the heap small.
PYTHONPATH="$BUILD/python" "$PYTHON" -S "$HERE/registry_leak.py" \
	--rounds 3 --requests 100 --dump-dir "$tmp" >/dev/null
size=$(wc -c <"$tmp/round-3.dump")
if [ "$size" -ge "$LIMIT" ]; then
	echo "make-sample-dump: round-3.dump is $size bytes, over the $LIMIT limit" >&2
	exit 1
fi
cp "$tmp/round-3.dump" "$OUT"
chmod 0644 "$OUT"
echo "$OUT: $size bytes"
