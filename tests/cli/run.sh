#!/bin/sh
# run.sh — golden tests of pymple-analyze's command line: help and -h of every
# command, version, usage errors, bad-input messages and exit statuses, and
# summary/sql output on a generated dump whose numbers are worked out by hand.
# It never changes anything outside its own temporary directory.
#
# usage: tests/cli/run.sh PATH/TO/pymple-analyze PATH/TO/gendump

A=${1:?usage: run.sh ANALYZER GENDUMP}
G=${2:?usage: run.sh ANALYZER GENDUMP}
case $A in /*) ;; *) A=$(pwd)/$A ;; esac
case $G in /*) ;; *) G=$(pwd)/$G ;; esac
T=$(mktemp -d /tmp/pymple-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run NAME: runs the rest of the line, keeping stdout, stderr and status.
run() {
	"$@" >out 2>err
	rc=$?
}

# expect_status NAME N
expect_status() {
	if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit status $rc, expected $2"; cat err; fi
}

# expect_file NAME FILE EXPECTED-TEXT
expect_file() {
	printf '%s\n' "$3" >expected
	if cmp -s "$2" expected; then ok; else
		bad "$1: $2 differs"
		diff expected "$2" | head -20
	fi
}

# expect_error NAME FILE: exit 2, nothing on stdout, one line on stderr
# naming the file: "pymple-analyze: FILE: ..." (and the text, if given).
expect_error() {
	expect_status "$1" 2
	if [ -s out ]; then bad "$1: wrote to stdout"; else ok; fi
	lines=$(wc -l <err)
	if [ "$lines" -eq 1 ]; then ok; else bad "$1: $lines lines on stderr"; cat err; fi
	if grep -q "^pymple-analyze: $2: " err; then ok; else bad "$1: stderr does not name $2"; cat err; fi
	if [ -n "$3" ]; then
		if grep -q "$3" err; then ok; else bad "$1: stderr lacks '$3'"; cat err; fi
	fi
}

# ---- help, version, usage ----
run "$A" help
expect_status "help" 0
commands=$(sed -n '/^commands:/,/^$/p' out | awk 'NF && !/^commands:/ {print $1}')
for c in load sql summary; do
	if echo "$commands" | grep -qx "$c"; then ok; else bad "help does not list $c"; fi
done
sorted=$(echo "$commands" | LC_ALL=C sort)
if [ "$commands" = "$sorted" ]; then ok; else bad "help: commands are not sorted"; fi
run "$A" --help
expect_status "--help" 0
run "$A" --version
expect_status "--version" 0
if grep -q '^pymple-analyze [0-9]' out; then ok; else bad "--version output"; cat out; fi
for c in $commands; do
	run "$A" "$c" -h
	expect_status "$c -h" 0
	if head -1 out | grep -q "^usage: pymple-analyze $c"; then ok; else bad "$c -h: no usage line"; head -2 out; fi
	run "$A" help "$c"
	expect_status "help $c" 0
done
run "$A"
expect_status "no command" 2
run "$A" frobnicate
expect_status "unknown command" 2
if grep -q "^pymple-analyze: 'frobnicate' is not a command" err; then ok; else bad "unknown command message"; cat err; fi
run "$A" --frob
expect_status "unknown option" 2
# expect_usage NAME CMD TEXT: exit 2, nothing on stdout, one line on stderr:
# "pymple-analyze: CMD: ...TEXT... (see 'pymple-analyze CMD -h')", never the help.
expect_usage() {
	expect_status "$1" 2
	if [ -s out ]; then bad "$1: wrote to stdout"; else ok; fi
	lines=$(wc -l <err)
	if [ "$lines" -eq 1 ]; then ok; else bad "$1: $lines lines on stderr"; cat err; fi
	if grep -q "^pymple-analyze: $2: .*$3.* (see 'pymple-analyze $2 -h')\$" err; then ok; else
		bad "$1: usage error should name '$3' with a hint"; cat err
	fi
}
run "$A" summary
expect_usage "summary without DUMP" summary "missing DUMP"
run "$A" summary a b
expect_usage "summary with two files" summary "expected one"
run "$A" summary x --bogus
expect_usage "summary --bogus" summary "unknown option '--bogus'"
run "$A" summary x -z
expect_usage "summary -z" summary "unknown option '-z'"
run "$A" summary x --limit
expect_usage "summary --limit without value" summary "option '--limit' requires a value"
run "$A" summary x --sort name
expect_usage "summary --sort name" summary "--sort: 'name'"
run "$A" diff a.dump
expect_usage "diff with one operand" diff "missing operand"
run "$A" cycles a.dump --dot abc
expect_usage "cycles --dot abc" cycles "--dot: 'abc' is not a number"
run "$A" referrers a.dump 0x10 --depth x
expect_usage "referrers --depth x" referrers "--depth: 'x'"
run "$A" growth a.dump
expect_usage "growth with one dump" growth "at least two"
run "$A" load
expect_usage "load without DUMP" load "missing DUMP"
run "$A" sql a.dump
expect_usage "sql without statement" sql "expected"
run "$A" path a.dump --format xml
expect_usage "path --format xml" path "--format: 'xml'"
run "$A" leaks
expect_usage "leaks without DUMP" leaks "expected at least one DUMP"
run "$A" leaks a.dump --format xml
expect_usage "leaks --format xml" leaks "--format: 'xml'"
run "$A" leaks a.dump --limit -1
expect_usage "leaks --limit -1" leaks "--limit: '-1' is not a number"
run "$A" leaks a.dump --html
expect_usage "leaks --html without value" leaks "option '--html' requires a value"
run "$A" leaks a.dump --html ""
expect_usage "leaks --html empty" leaks "--html: empty path"
run "$A" leaks a.dump --frob
expect_usage "leaks --frob" leaks "unknown option '--frob'"

# ---- a good dump, from the real writer ----
"$G" good.dump 1000 >/dev/null || { bad "gendump failed"; exit 1; }
size=$(wc -c <good.dump)

# summary of gendump's heap of 100 groups (see tests/tools/gendump.c), by hand:
#   dict  100 per-group dicts x 232 + module dict + sys.modules = 102 x 232 = 23664
#   str   100 "node-G" (49 + 6 bytes for G < 10, 49 + 7 for 10..99) = 5590
#         + 100 "hello" x 54 = 5400                                  -> 200, 10990
#   list  100 x 88 + 1 bucket (56 + 8 x (99 live nodes + 1 freed)) + registry 64
#                                                                    -> 102, 9720
#   int   100 x 28 + 100 x 32 = 6000; tuple 100 x 56; bytes 100 x 49
#   __main__.Node 100 x 48; float 100 x 24; module 72; weakref 72; thread: not counted
run "$A" summary good.dump --format csv
expect_status "summary csv" 0
expect_file "summary csv" out "$(printf '%s\r\n' 'type,count,size' 'dict,102,23664' 'str,200,10990' \
	'list,102,9720' 'int,200,6000' 'tuple,100,5600' 'bytes,100,4900' '__main__.Node,100,4800' \
	'float,100,2400' 'module,1,72' 'weakref.ReferenceType,1,72')"
if [ -f good.dump.db ]; then ok; else bad "summary did not leave good.dump.db"; fi

# left out: int 6000 + tuple 5600 + bytes 4900 + Node 4800 + float 2400 + 72 + 72
#   = 23844 B = 23.3 KiB in 602 objects
# total 23664 + 10990 + 9720 + 23844 = 68218, + 100 x 40 extra = 72218 B = 70.5 KiB;
# rss = 1007 x 160 = 161120 B = 157 KiB -> 72218 / 161120 = 45%
run "$A" summary good.dump --limit 3
expect_status "summary table" 0
expect_file "summary table" out "types | # objects | total size
===== | ========= | ==========
dict  |       102 |   23.1 KiB
str   |       200 |   10.7 KiB
list  |       102 |   9.49 KiB
... 7 more types: 23.3 KiB in 602 objects
70.5 KiB in 1.0k objects = 45% of RSS 157 KiB
(the total includes 3.91 KiB the sizes above do not show: 3.11+ inline attribute values, column extra_size)"

run "$A" summary good.dump --format json --sort count --limit 2
expect_file "summary json" out '[
{"type":"str","count":200,"size":10990},
{"type":"int","count":200,"size":6000}
]'

# 10 unreachable objects: the last group of the bucket (a Node pointing to itself)
run "$A" sql good.dump.db "SELECT count(*) AS n, sum(NOT reachable) AS unreachable FROM objects" --format json
expect_status "sql json" 0
expect_file "sql json" out '[
{"n":1007,"unreachable":10}
]'
run "$A" sql good.dump "SELECT label, missing FROM refs WHERE missing" --format csv
expect_file "sql csv" out "$(printf 'label,missing\r\n[99],1\r')"
run "$A" sql good.dump "DELETE FROM meta"
expect_error "sql write" good.dump "not authorized"
run "$A" sql good.dump "SELECT 1; SELECT 2"
expect_error "sql two statements" good.dump "one statement"
run "$A" sql good.dump "SELEC 1"
expect_error "sql syntax" good.dump "syntax error"
run "$A" -q load good.dump -o other.db
expect_status "load -o" 0
if [ -f other.db ] && [ ! -s out ]; then ok; else bad "load -o other.db"; fi
run "$A" summary other.db --format csv --limit 1
expect_file "summary of a db" out "$(printf 'type,count,size\r\ndict,102,23664\r')"

# ---- retained sizes on the same heap, by hand ----
# Node 0 is held from C (a root) and the nodes form a ring, so every live
# node is reachable both from node 0 and through the bucket: only the
# super-root dominates a node, and a node dominates its whole group:
#   88 (48 + 40 extra) + name str 49+n + int 28 + float 24 + list 88 + tuple 56
#   + int 32 + dict 232 + bytes 49 + str 54 = 700 + n (n = 6 for node-0..9, 7 after)
# The module dict (held by the module and the thread record) dominates the
# registry (64) and the bucket (56 + 8 x 100 = 856): 232 + 64 + 856 = 1152; its
# largest child, the registry (920), is under 80% of it, so it is a point.
# Total 72218: 1152 / 72218 = 1.6%, / RSS 161120 = 0.7%; 707 -> 1.0%, 0.4%.
# Ties (707) by id: nodes 10, 11 (the garbage node 99 comes later).
run "$A" top good.dump --limit 3 --format csv
expect_status "top csv" 0
expect_file "top csv" out "$(printf '%s\r\n' 'address,type,size,retained,share,rss_share,value,path' \
	"139715286159200,dict,232,1152,1.60,0.71,,module __main__ (sys.modules) -> dict" \
	"139715286151392,__main__.Node,88,707,0.98,0.44,,module __main__ (sys.modules) -> dict ['REGISTRY'] -> list [0] -> list [10] -> __main__.Node" \
	"139715286142976,__main__.Node,88,707,0.98,0.44,,module __main__ (sys.modules) -> dict ['REGISTRY'] -> list [0] -> list [11] -> __main__.Node")"
run "$A" top good.dump --limit 1
expect_file "top table" out "dump total 70.5 KiB (reachable 69.8 KiB), RSS 157 KiB
  retained  % dump   % RSS       size  object
  1.12 KiB    1.6%    0.7%      232 B  dict at 0x7f1200004f60
            path: module __main__ (sys.modules) -> dict"
run "$A" top good.dump --limit 1 --type list --format json
expect_file "top --type json" out '[
{"address":139715286163264,"type":"list","size":64,"retained":920,"alloc":null,"path":[
{"label":null,"type":"module","name":"module __main__","address":139715286155136,"objects":null,"root":"(sys.modules)"},
{"label":".__dict__","type":"dict","name":"dict","address":139715286159200,"objects":null,"root":null},
{"label":"['"'"'REGISTRY'"'"']","type":"list","name":"list","address":139715286163264,"objects":null,"root":null}
]}
]'
run "$A" top good.dump --threshold 0
expect_status "top --threshold 0" 2
# node 10's group, by retained size: list 88 + tuple (56 + int 32 + dict 232)
#   + str 54 + bytes 49 = 511; name 56, value 28, ratio 24
run "$A" dominators good.dump 0x7f12000030e0
expect_status "dominators" 0
expect_file "dominators" out "__main__.Node at 0x7f12000030e0 retains 707 B (own size 88 B); only the virtual root above the roots dominates it
       511 B  list at 0x7f1200006f40 .items
         320 B  tuple at 0x7f1200005f60 [0]
           232 B  dict at 0x7f1200001fe0 [1]
            32 B  int 1000000000000 at 0x7f1200002fc0 [0]
          54 B  str 'hello' at 0x7f1200003fa0 [2]
          49 B  bytes at 0x7f1200004f80 [1]
        56 B  str 'node-10' at 0x7f1200002100 .name
        28 B  int 79190 at 0x7f1200001120 .value
        24 B  float 10.5 at 0x7f1200000140 .ratio"
run "$A" dominators good.dump 0x7f12000030e0 --depth 1 --limit 2 --format csv
expect_file "dominators csv" out "$(printf '%s\r\n' 'depth,type,objects,retained,address,label,referrers' \
	'0,__main__.Node,1,707,139715286151392,,2' '1,list,1,511,139715286167360,.items,1' \
	'1,str,1,56,139715286147328,.name,2' '1,,2,52,,,')"
# JSON rows are path steps (label, type, name, address, objects, root) plus
# the command's own keys: the same tree as the csv above.
run "$A" dominators good.dump 0x7f12000030e0 --depth 1 --limit 2 --format json
expect_file "dominators json" out '[
{"label":null,"type":"__main__.Node","name":"__main__.Node","address":139715286151392,"objects":1,"root":null,"depth":0,"retained":707,"referrers":2},
{"label":".items","type":"list","name":"list","address":139715286167360,"objects":1,"root":null,"depth":1,"retained":511,"referrers":1},
{"label":".name","type":"str","name":"str '"'"'node-10'"'"'","address":139715286147328,"objects":1,"root":null,"depth":1,"retained":56,"referrers":2},
{"label":null,"type":null,"name":null,"address":null,"objects":2,"root":null,"depth":1,"retained":52,"referrers":null}
]'
run "$A" referrers good.dump 0x7f12000030e0 --depth 1 --format json
expect_file "referrers json" out '[
{"label":null,"type":"__main__.Node","name":"__main__.Node","address":139715286151392,"objects":1,"root":null,"depth":0,"referent":null,"seen":false},
{"label":".next","type":"__main__.Node","name":"__main__.Node","address":139715286159808,"objects":1,"root":null,"depth":1,"referent":139715286151392,"seen":false},
{"label":"[10]","type":"list","name":"list","address":139715286167328,"objects":1,"root":null,"depth":1,"referent":139715286151392,"seen":false}
]'
run "$A" dominators good.dump 0x1234
expect_error "dominators no object" good.dump "no object at 0x1234"
# per type, nothing counted twice: list = registry 920 (holding the bucket)
#   + 100 x 511; dict = 100 x 232 + module dict 1152 + sys.modules 232 + 72
run "$A" summary good.dump --retained --format csv --limit 4
expect_file "summary --retained" out "$(printf '%s\r\n' 'type,count,size,retained' \
	'__main__.Node,100,4800,70690' 'list,102,9720,52020' 'tuple,100,5600,32000' \
	'dict,102,23664,24656')"
run "$A" summary good.dump --sort retained
expect_status "summary --sort retained alone" 2


n1=$("$G" g1.dump 1000)
n2=$("$G" g2.dump 1500)
n3=$("$G" g3.dump 2000)
run "$A" diff good.dump good.dump
expect_status "diff identical" 0
expect_file "diff identical" out "no type changed: both have 1006 objects, 70.5 KiB, with the same count and size per type"
# (70.5 KiB = the 72218 B worked out above, extra sizes included: summary's total)
# gendump writes one synthetic thread record per dump, not counted as an object
run "$A" diff g1.dump g2.dump
expect_status "diff" 0
if tail -1 out | grep -q "^in all: +$((n2 - n1)) objects, +[0-9.]* [KM]*i*B (A: $((n1 - 1)) objects, "; then ok; else
	bad "diff: no totals line"; tail -2 out
fi
# columns A, B and the signed change, for counts and sizes
if head -1 out | grep -q '^types *| *A | *B | *Δ | *A size | *B size | *Δ size | *A retained | *B retained | *Δ retained$'; then ok; else
	bad "diff: headers"; head -1 out
fi
if sed -n 3p out | grep -q '| *+[0-9][0-9]* | .* | *+[0-9.]* [KM]*i*B$'; then ok; else
	bad "diff: growth rows carry a +"; sed -n 3p out
fi
run "$A" diff g1.dump g2.dump --sort count --format csv
expect_status "diff --sort count" 0
if head -1 out | grep -q '^type,count_a,count_b,count_delta,size_a,size_b,size_delta'; then ok; else
	bad "diff csv: columns"; head -1 out
fi
run "$A" diff g1.dump g2.dump --sort name
expect_status "diff --sort name" 2
run "$A" growth good.dump good.dump good.dump
expect_status "growth flat" 0
expect_file "growth flat" out "no type grew at every step of the 3 dumps
dump 1 = good.dump, dump 2 = good.dump, dump 3 = good.dump"
run "$A" growth g1.dump "$T/g2.dump" g3.dump
expect_status "growth" 0
if head -1 out | grep -q '^types *| dump 1 | dump 2 | dump 3 | Δ objects | *Δ size | *Δ retained$'; then ok; else
	bad "growth: headers"; head -1 out
fi
if tail -1 out | grep -qx "dump 1 = g1.dump, dump 2 = $T/g2.dump, dump 3 = g3.dump"; then ok; else
	bad "growth: legend"; tail -1 out
fi
# retained columns only when every dump used the same --dominators mode
"$A" -q load g2.dump -o g2all.db --dominators=all
run "$A" growth g1.dump g2all.db g3.dump --format csv
if head -1 out | grep -q '^type,count_1,count_2,count_3,count_delta,size_delta.$'; then ok; else
	bad "growth: retained across modes"; head -1 out
fi
run "$A" diff g1.dump g2all.db --format csv
if head -1 out | grep -q '^type,count_a,count_b,count_delta,size_a,size_b,size_delta.$'; then ok; else
	bad "diff: retained across modes"; head -1 out
fi
# str dominates nothing: its retained delta is its size delta (50 x 55 + 50 x 56)
run "$A" diff g1.dump g2.dump --format csv
if grep -q '^str,200,300,100,10990,16540,5550,10990,16540,5550.$' out; then ok; else
	bad "diff: retained columns"; cat out
fi
# good.dump: 10 unreachable objects (the bucket's last group, by hand above) and
# the weakref, which nothing in the dump refers to
run "$A" garbage good.dump
expect_status "garbage" 0
if tail -1 out | grep -q "^10 unreachable objects, .*; 1 unreferenced objects, 72 B "; then ok; else
	bad "garbage: footer should total both kinds"; tail -1 out
fi
# what the garbage holds: node 99, a ring of one, retains its group (700 + 7)
if grep -q "^holders      | __main__.Node         |         1 |      707 B$" out; then ok; else
	bad "garbage: holders"; cat out
fi

# ---- bad input: one line on stderr, exit 2, never a crash ----
: >empty.dump
head -c $((size - 20)) good.dump >truncated.dump
head -c 10 good.dump >short.dump
cp good.dump corrupt.dump
printf '\377' | dd of=corrupt.dump bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
echo 'print("hello")' >foreign.dump
# a future major version with a correct header checksum (crc32 of bytes 0..12)
python3 - good.dump future.dump <<'EOF'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], 'rb').read())
b[8:10] = struct.pack('<H', 99)
b[12:16] = struct.pack('<I', zlib.crc32(bytes(b[:12])))
open(sys.argv[2], 'wb').write(b)
EOF
sqlite3 foreign.db 'CREATE TABLE t(a)' 2>/dev/null || cp good.dump.db foreign.db

for cmd in summary load sql; do
	extra=""
	[ "$cmd" = sql ] && extra="SELECT 1"
	for f in missing.dump empty.dump truncated.dump short.dump corrupt.dump foreign.dump future.dump; do
		if [ -n "$extra" ]; then run "$A" "$cmd" "$f" "$extra"; else run "$A" "$cmd" "$f"; fi
		case $f in
		missing.dump) want="no such file" ;;
		empty.dump) want="empty" ;;
		truncated.dump | short.dump) want="truncated" ;;
		corrupt.dump) want="checksum" ;;
		foreign.dump) want="not a pymple dump" ;;
		future.dump) want="version" ;;
		esac
		expect_error "$cmd $f" "$f" "$want"
		if [ -e "$f.db" ]; then bad "$cmd $f: left $f.db"; else ok; fi
	done
done
run "$A" summary foreign.db
expect_error "summary foreign.db" foreign.db "not a pymple database"

# -v load names where a dump broke in the words of -v check
for f in truncated.dump corrupt.dump; do
	run "$A" -v check "$f"
	cp err check.err
	run "$A" -v load "$f"
	expect_error "-v load $f" "$f" "\[byte [0-9]*, format/reader.c:[0-9]*\]"
	if cmp -s err check.err; then ok; else bad "-v load $f: not the words of -v check"; cat err check.err; fi
done

# the same condition gets the same words from every command
mkdir dir.dump
for f in missing.dump empty.dump dir.dump; do
	case $f in
	missing.dump) want="cannot open: no such file or directory" ;;
	empty.dump) want="empty file (not a pymple dump)" ;;
	dir.dump) want="cannot read: is a directory" ;;
	esac
	for cmd in check load summary; do
		run "$A" "$cmd" "$f"
		expect_status "$cmd $f" 2
		expect_file "$cmd $f message" err "pymple-analyze: $f: $want"
	done
done
ls ./*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind: $(ls ./*.tmp.*)" || ok

# ---- load never overwrites what is not its own database ----
cp good.dump self.dump
run "$A" load self.dump -o self.dump
expect_error "load -o the dump itself" self.dump "is the dump being loaded"
if cmp -s self.dump good.dump; then ok; else bad "load -o self.dump changed the dump"; fi
ln self.dump hard.dump
run "$A" load self.dump -o hard.dump
expect_error "load -o a hard link to the dump" hard.dump "is the dump being loaded"
if cmp -s self.dump good.dump; then ok; else bad "load -o hard.dump changed the dump"; fi
echo "precious" >notes.txt
run "$A" load good.dump -o notes.txt
expect_error "load -o a foreign file" notes.txt "not a pymple database"
if [ "$(cat notes.txt)" = precious ]; then ok; else bad "load -o notes.txt overwrote it"; fi
run "$A" load good.dump -o foreign.db
expect_error "load -o a foreign database" foreign.db "not a pymple database"
run "$A" -q load good.dump -o other.db
expect_status "load -o over its own database" 0

# ---- temporaries of a dead load (kill -9) go at the next load ----
sh -c 'exit 0' &
dead=$!
wait $dead
: >".pym-$dead-0.tmp"
: >".pym-$dead-0-objects.tmp"
: >".pym-$$-7.tmp"
run "$A" -q load good.dump -o other.db
expect_status "load after a dead load" 0
if ls ./.pym-$dead-* >/dev/null 2>&1; then bad "stale temporaries of pid $dead kept"; else ok; fi
if [ -e ".pym-$$-7.tmp" ]; then ok; else bad "a live process's temporary was removed"; fi
rm -f ".pym-$$-7.tmp"

# ---- leaks: errors and the columns of its csv ----
run "$A" leaks good.dump missing.dump
expect_error "leaks, one dump missing" missing.dump "cannot open"
run "$A" leaks missing.dump good.dump
expect_error "leaks, first dump missing" missing.dump "cannot open"
run "$A" leaks good.dump --html "$T/no/such/dir/r.html"
expect_status "leaks --html into a missing directory" 1
if [ -s out ]; then bad "leaks --html failure wrote to stdout"; else ok; fi
if grep -qx "pymple-analyze: $T/no/such/dir/r.html: cannot create: .*" err; then ok; else
	bad "leaks --html failure message"; cat err
fi
run "$A" leaks g1.dump g2.dump g3.dump --format csv
expect_status "leaks csv" 0
if head -1 out | grep -q '^rank,type,trend,count,count_1,count_2,count_3,growth_per_step,bytes,retained,at_stake,share_dump,share_rss,holder_address,holder_type,holder_length,example_address,path.$'; then ok; else
	bad "leaks csv: columns"; head -1 out
fi
run "$A" leaks good.dump good.dump --format json
expect_status "leaks identical dumps" 0
if grep -q '"suspects":\[\]' out; then ok; else bad "leaks identical dumps: suspects"; cat out; fi
run "$A" leaks good.dump --html r.html
expect_status "leaks --html" 0
if [ "$(stat -c %a r.html)" = 600 ]; then ok; else bad "leaks --html: mode $(stat -c %a r.html)"; fi
if tail -1 out | grep -qx "HTML report: r.html"; then ok; else bad "leaks --html: last line"; tail -1 out; fi

# ---- an interrupted load leaves no temporary files ----
"$G" int.dump 300000 >/dev/null
for delay in 0.2 0.5 1; do
	"$A" -q load int.dump -o int.db &
	pid=$!
	sleep $delay
	kill -INT $pid 2>/dev/null
	wait $pid
	if ls ./.pym-* >/dev/null 2>&1; then bad "SIGINT after $delay s left $(ls ./.pym-*)"; else ok; fi
	rm -f int.db
done

"$A" -q load int.dump -o int.db &
pid=$!
sleep 0.3
kill -KILL $pid 2>/dev/null
{ wait $pid; } 2>/dev/null
run "$A" -q load good.dump -o int.db
expect_status "load after kill -9" 0
if ls ./.pym-* >/dev/null 2>&1; then bad "kill -9 left $(ls ./.pym-*) after the next load"; else ok; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
