#!/bin/sh
# make-sample-dump.sh — regenerates samples/registry_leak.dump, the small
# committed dump of samples/registry_leak.py (3 rounds of 50 requests: exactly
# 150 __main__.Session objects). Usage: sh samples/make-sample-dump.sh [BUILD]
# Runs the real dumper from BUILD (default build/); writes nothing but that file.
set -eu

BUILD=${1:-build}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/registry_leak.dump"
# Keep the committed file small. The interpreter's own heap (about 17,000
# objects even under -S) is most of it: ~300 KB, so 200 KB is out of reach.
LIMIT=409600

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pymple-sample.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# -S (no site) keeps the interpreter's own share of the heap small.
PYTHONPATH="$BUILD/python" "$PYTHON" -S "$HERE/registry_leak.py" \
	--rounds 3 --requests 50 --dump-dir "$tmp" >/dev/null
size=$(wc -c <"$tmp/round-3.dump")
if [ "$size" -ge "$LIMIT" ]; then
	echo "make-sample-dump: round-3.dump is $size bytes, over the $LIMIT limit" >&2
	exit 1
fi
cp "$tmp/round-3.dump" "$OUT"
chmod 0644 "$OUT"
echo "$OUT: $size bytes"
