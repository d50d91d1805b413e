#!/bin/sh
# run.sh — the HTML leaks report in a real browser. Each hand-written document of tests/html/
# (three.json: 3 dumps, 3 suspects, hostile strings, a 2000-node tree; one.json: 1 dump;
# none.json: 2 dumps, no suspects) goes through report_html_write() (gen_report) and is
# rendered by Debian's headless chromium. Checks: no console message and no CSP refusal in
# chromium's log; not one request reaches a local listener although the data holds
# <img src=http://127.0.0.1:PORT/...> strings; the DOM after scripts shows the suspects'
# types and path steps, and the hostile strings as text, never as elements; the file is at
# most 2 MiB; a click on the treemap opens a box and the breadcrumb goes back up (cdp.py
# drives chromium over its DevTools pipe for this and for the print-media picture); a
# document over the budget gives a page without its tree. Controls prove each check can fail:
# a page without CSP does reach the listener, a page with an altered script is refused by the
# CSP, a raw <img> put into the page loads nothing. Screenshots (1366x768, the whole page,
# print media) and a PDF are left in OUTPUT-DIR for people to look at.
#
# usage: tests/html/run.sh PATH/TO/gen_report OUTPUT-DIR

G=${1:?usage: run.sh GEN_REPORT OUTPUT-DIR}
OUT=${2:?usage: run.sh GEN_REPORT OUTPUT-DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
case $G in /*) ;; *) G=$(pwd)/$G ;; esac
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}

if ! command -v chromium >/dev/null 2>&1; then
	echo "FAIL: html: chromium is not installed; the HTML report tests need it" \
		"(make deps installs it: apt-get install chromium)"
	exit 1
fi

T=$(mktemp -d /tmp/pymple-html-XXXXXX)
LPID=""
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: html: $*"; }

# chrome ARGS...: headless chromium with a fresh profile; the virtual-time budget lets the
# page's script finish before the DOM is dumped or the picture taken (no wall clock).
chrome() {
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$T/profile" --enable-logging=stderr --v=0 \
		--virtual-time-budget=10000 "$@"
}

# log_clean NAME ERRFILE: chromium's log holds no console message and no CSP refusal.
log_clean() {
	if grep -E ':CONSOLE|Content Security Policy|Refused to|violates|Uncaught' "$2" >"$T/bad.log"; then
		bad "$1: chromium logged:"
		cut -c1-300 "$T/bad.log" | head -10
	else ok; fi
}

requests() { wc -l <"$T/requests.log" | tr -d ' '; }

# ---- the listener ----
: >"$T/requests.log"
"$PY" "$HERE/listener.py" "$T/port" "$T/requests.log" &
LPID=$!
while [ ! -s "$T/port" ]; do
	kill -0 "$LPID" 2>/dev/null || { echo "FAIL: html: the listener did not start"; exit 1; }
	sleep 0.1
done
PORT=$(cat "$T/port")

# Control: a page without a CSP that asks for an image does reach the listener, so the
# listener's silence below means something.
printf '<!DOCTYPE html><title>control</title><img src="http://127.0.0.1:%s/control.png">\n' \
	"$PORT" >"$T/control.html"
chrome --dump-dom "file://$T/control.html" >/dev/null 2>&1
if grep -q 'GET /control.png' "$T/requests.log"; then ok; else
	bad "control: a page without CSP did not reach the listener on port $PORT; the" \
		"no-request checks would prove nothing"
fi
base=$(requests)

# ---- each document ----
for name in three one none; do
	sed "s/@PORT@/$PORT/g" "$HERE/$name.json" >"$T/$name.json"
	page="$OUT/$name.html"
	if "$G" "$T/$name.json" "$page" 2>"$T/gen.err"; then ok; else
		bad "$name: gen_report failed: $(cat "$T/gen.err")"
		continue
	fi
	size=$(wc -c <"$page" | tr -d ' ')
	if [ "$size" -le 2097152 ]; then ok; else bad "$name: page is $size bytes, over 2 MiB"; fi
	echo "html: $name.html $size bytes"

	# The page as written: two script elements (the data, the code), no <img anywhere, and
	# the CSP names the hashes of the inline blocks (computed here with Python's hashlib).
	n=$(grep -o '<script' "$page" | wc -l)
	c=$(grep -o '</script' "$page" | wc -l)
	if [ "$n" -eq 2 ] && [ "$c" -eq 2 ]; then ok; else
		bad "$name: $n <script and $c </script in the page, expected 2 and 2"
	fi
	if grep -qi '<img' "$page"; then bad "$name: the page holds a raw <img"; else ok; fi
	"$PY" "$HERE/expect.py" "$page" hashes >"$T/hashes"
	while IFS= read -r h; do
		if grep -qF "$h" "$page"; then ok; else bad "$name: the CSP lacks $h"; fi
	done <"$T/hashes"
	if grep -q "content=\"default-src 'none';" "$page"; then ok; else
		bad "$name: no default-src 'none' policy"
	fi

	# The DOM after scripts.
	chrome --dump-dom "file://$page" >"$T/$name.dom" 2>"$T/$name.err"
	log_clean "$name" "$T/$name.err"
	if grep -q 'data-rendered="ok"' "$T/$name.dom"; then ok; else
		bad "$name: the page's script did not finish (no data-rendered=ok)"
	fi
	"$PY" "$HERE/expect.py" "$T/$name.json" texts >"$T/texts"
	while IFS= read -r s; do
		if grep -qF -- "$s" "$T/$name.dom"; then ok; else bad "$name: the DOM lacks the text $s"; fi
	done <"$T/texts"
	if grep -qi '<img' "$T/$name.dom"; then
		bad "$name: the DOM holds an <img> element: a data string became markup"
	else ok; fi
	if [ "$(requests)" -eq "$base" ]; then ok; else
		bad "$name: the page made requests:"
		tail -n +"$((base + 1))" "$T/requests.log"
		base=$(requests)
	fi

	# Pictures for people: the first screen of a laptop, the whole page, print.
	chrome --window-size=1366,768 --screenshot="$OUT/$name-1366x768.png" "file://$page" \
		>/dev/null 2>&1
	"$PY" "$HERE/cdp.py" page "$page" "$OUT/$name-page.png" || bad "$name: no page picture"
	chrome --no-pdf-header-footer --print-to-pdf="$OUT/$name.pdf" "file://$page" \
		>/dev/null 2>&1
	"$PY" "$HERE/cdp.py" print "$page" "$OUT/$name-print.png" || bad "$name: no print picture"
	for f in "$name-1366x768.png" "$name-page.png" "$name.pdf" "$name-print.png"; do
		if [ -s "$OUT/$f" ]; then ok; else bad "$name: chromium wrote no $f"; fi
	done
done

# What each document must say.
grep -q 'three dumps\|3 dumps of pid 4242' "$T/three.dom" && ok || bad "three: no dumps line"
grep -q 'No suspects: no group of objects grew' "$T/none.dom" && ok ||
	bad "none: no 'No suspects' message"
grep -q 'Two dumps: what grew is known, the trend is not' "$T/none.dom" && ok ||
	bad "none: no two-dump note"
grep -q 'One dump: the suspects are the accumulation points' "$T/one.dom" && ok ||
	bad "one: no one-dump note"
grep -q 'One dump: no growth to draw' "$T/one.dom" && ok || bad "one: no note in place of the chart"
grep -q 'Retained by each suspect' "$T/three.dom" && ok || bad "three: no growth chart"

# A link into the tree (#tree=0.1: the second child of the root's first child) opens that
# node: the breadcrumb ends there.
chrome --dump-dom "file://$OUT/three.html#tree=0.1" >"$T/deep.dom" 2>"$T/deep.err"
log_clean "three#tree=0.1" "$T/deep.err"
child=$("$PY" "$HERE/expect.py" "$T/three.json" node 0.1)
if grep -qF "<span class=\"here\">$child " "$T/deep.dom"; then ok; else
	bad "three#tree=0.1: the breadcrumb does not end at '$child'"
fi

# A document too big for the budget (three.json with 60,000 more tree nodes, about 5 MB): the
# page leaves the tree out, stays under 2 MiB, and says why.
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
kids = d["tree"]["children"]
for i in range(60000):
    kids.append({"label": "filler %d" % i, "type": "str", "address": 4096 + i * 16, "size": 50,
                 "retained": 50, "children": []})
json.dump(d, open(sys.argv[2], "w"))' "$T/three.json" "$T/big.json"
if "$G" "$T/big.json" "$OUT/big.html" 2>"$T/gen.err"; then ok; else
	bad "big: gen_report failed: $(cat "$T/gen.err")"
fi
grep -q 'tree left out' "$T/gen.err" && ok || bad "big: the tree was not left out"
size=$(wc -c <"$OUT/big.html" | tr -d ' ')
echo "html: big.json $(wc -c <"$T/big.json" | tr -d ' ') bytes -> big.html $size bytes"
if [ "$size" -le 2097152 ]; then ok; else bad "big: page is $size bytes, over 2 MiB"; fi
chrome --dump-dom "file://$OUT/big.html" >"$T/big.dom" 2>"$T/big.err"
log_clean big "$T/big.err"
grep -q 'data-rendered="ok"' "$T/big.dom" && ok || bad "big: the page's script did not finish"
grep -q 'The dominator tree was left out of this page to keep it under 2 MiB' "$T/big.dom" && ok ||
	bad "big: the page does not say the tree was left out"

# Clicks (over the DevTools protocol): a treemap box opens, the breadcrumb goes back up.
if "$PY" "$HERE/cdp.py" click "$OUT/three.html"; then ok; else bad "three: the treemap's clicks"; fi

# Controls for the CSP itself: the written page with one byte of its script changed runs
# nothing (the hash no longer matches), and the page with a raw <img> pointing at the
# listener put into its body loads nothing: the policy holds even where escaping would fail.
sed 's/^(function () {$/(function ()  {/' "$OUT/three.html" >"$T/altered.html"
if cmp -s "$OUT/three.html" "$T/altered.html"; then bad "altered: sed changed nothing"; fi
chrome --dump-dom "file://$T/altered.html" >"$T/altered.dom" 2>"$T/altered.err"
if grep -q 'data-rendered="ok"' "$T/altered.dom"; then
	bad "altered: a script whose hash is not in the CSP ran"
else ok; fi
if grep -q "inline script violates the following Content Security Policy" "$T/altered.err"
then ok; else
	bad "altered: chromium did not report the CSP refusal"
fi
sed "s|<main id=\"report\"></main>|<main id=\"report\"></main><img src=\"http://127.0.0.1:$PORT/injected.png\">|" \
	"$OUT/three.html" >"$T/injected.html"
chrome --dump-dom "file://$T/injected.html" >"$T/injected.dom" 2>"$T/injected.err"
if grep -q 'injected.png' "$T/requests.log"; then bad "injected: the CSP let an image through"; else
	ok; fi
if grep -q "image 'http://127.0.0.1:$PORT/injected.png' violates" "$T/injected.err"; then ok; else
	bad "injected: chromium did not report the refused image"
fi

echo "html: $pass passed, $fail failed (pages and pictures in $OUT)"
[ "$fail" -eq 0 ]
