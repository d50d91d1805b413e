#!/bin/sh
# hostile.sh — pymple-analyze against files another user planted and inputs
# meant to cost time or memory: a database planted next to a dump in a
# sticky directory (by another uid) is neither trusted nor blocking; a
# read-only dump directory gets its database in the cache directory; a
# 250-character dump name loads; `sql` writes no file and stops at its
# limits. Runs as root (setpriv to two unprivileged uids); it never changes
# anything outside its own temporary directory.
#
# usage: tests/cli/hostile.sh PATH/TO/pymple-analyze PATH/TO/gendump PATH/TO/genbomb

A=${1:?usage: hostile.sh ANALYZER GENDUMP GENBOMB}
G=${2:?usage: hostile.sh ANALYZER GENDUMP GENBOMB}
B=${3:?usage: hostile.sh ANALYZER GENDUMP GENBOMB}
case $A in /*) ;; *) A=$(pwd)/$A ;; esac
case $G in /*) ;; *) G=$(pwd)/$G ;; esac
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
PY=/usr/bin/python3
T=$(mktemp -d /tmp/pymple-hostile-XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
cd "$T" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
run() {
	"$@" >out 2>err
	rc=$?
}
expect_status() {
	if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit status $rc, expected $2"; cat err; fi
}
# sqlite FILE SQL...: runs statements with Python's sqlite3 (no sqlite3 CLI needed)
sqlite() {
	f=$1
	shift
	"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$f" "$*"
}

# Two unprivileged users: the victim (a uid with no passwd entry, so that
# nothing but this test's environment says where its home is) and the other
# user, nobody.
VU=4242
OU=$(id -u nobody)
as_victim() { setpriv --reuid=$VU --regid=$VU --clear-groups env HOME="$T/home" XDG_CACHE_HOME="$T/home/.cache" "$@"; }
as_other() { setpriv --reuid="$OU" --regid="$OU" --clear-groups env HOME=/nonexistent "$@"; }
mkdir -p home/.cache && chown -R $VU:$VU home && chmod 700 home

# ---- a sticky shared directory (like /tmp) with the victim's dump ----
mkdir shared && chmod 1777 shared
as_victim "$G" shared/v.dump 1000 >/dev/null || { bad "gendump as the victim failed"; exit 1; }
# the truth: the victim's own database of the dump, in a private directory
mkdir truth && chown $VU truth
cp shared/v.dump truth/v.dump && chown $VU truth/v.dump
as_victim "$A" sql truth/v.dump "SELECT type, count(*) AS n FROM objects GROUP BY type ORDER BY type" >truth.txt
if grep -q '^dict' truth.txt; then ok; else bad "no truth: $(cat truth.txt)"; fi

# plant PLANTED-FILE: the other user puts it at shared/v.dump.db; then the
# victim's summary of the dump must succeed, show the truth, never read the
# planted file, and say once where its database went.
plant_and_check() {
	name=$1
	rm -rf shared/v.dump.db "$T/home/.cache/pymple"
	cp "$2" shared/v.dump.db && chown "$OU:$OU" shared/v.dump.db && chmod "${3:-600}" shared/v.dump.db
	run as_victim "$A" --timeout 60 sql shared/v.dump \
		"SELECT type, count(*) AS n FROM objects GROUP BY type ORDER BY type"
	expect_status "$name" 0
	if cmp -s out truth.txt; then ok; else bad "$name: output is not the truth"; diff truth.txt out | head -5; fi
	if [ "$(wc -l <err)" -eq 1 ] && grep -q "^pymple-analyze: shared/v.dump: database in $T/home/.cache/pymple/.*belongs to another user" err; then ok; else
		bad "$name: no one line saying where the database went"
		cat err
	fi
	owner=$(stat -c %u shared/v.dump.db)
	if [ "$owner" = "$OU" ]; then ok; else bad "$name: the planted file was replaced"; fi
	# and again: the cached database is reused, silently
	run as_victim "$A" --timeout 60 sql shared/v.dump \
		"SELECT type, count(*) AS n FROM objects GROUP BY type ORDER BY type"
	expect_status "$name (again)" 0
	if cmp -s out truth.txt && [ ! -s err ]; then ok; else bad "$name (again): not the truth, or a message"; cat err; fi
}

# 1. a copy of the real database with false data, owned by the other user
cp truth/v.dump.db fake.db
sqlite fake.db "UPDATE types SET name = 'EVIL' WHERE name = 'dict'"
plant_and_check "planted database with false data" fake.db
# 2. one whose view never ends (its rows would hang every command)
cp truth/v.dump.db loop.db
sqlite loop.db "DROP VIEW objects; CREATE VIEW objects AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS id, 'dict' AS type FROM c"
plant_and_check "planted database whose view loops" loop.db
chmod 644 loop.db
# 3. not a database at all, and one readable by everybody
printf 'not a database\n' >junk.db
plant_and_check "planted junk file" junk.db
plant_and_check "planted world-readable copy" fake.db 644
# the planted database given directly is refused at once, its view never run
run as_victim "$A" --timeout 60 summary "$T/loop.db"
expect_status "looping database given directly" 2
if grep -q "schema differs" err; then ok; else bad "looping database given directly: $(cat err)"; fi

# ---- a read-only dump directory (run unprivileged: root bypasses it) ----
mkdir ro && cp shared/v.dump ro/v.dump && chmod 644 ro/v.dump && chmod 755 ro
rm -rf "$T/home/.cache/pymple"
run as_victim "$A" sql ro/v.dump "SELECT type, count(*) AS n FROM objects GROUP BY type ORDER BY type"
expect_status "read-only directory" 0
if cmp -s out truth.txt; then ok; else bad "read-only directory: not the truth"; fi
if grep -q "database in $T/home/.cache/pymple/.* (the dump's directory is not writable)" err; then ok; else bad "read-only directory: $(cat err)"; fi
if [ -e ro/v.dump.db ]; then bad "read-only directory: a database next to the dump"; else ok; fi
if [ "$(stat -c %a "$T/home/.cache/pymple")" = 700 ]; then ok; else bad "cache directory mode $(stat -c %a "$T/home/.cache/pymple")"; fi
for f in "$T"/home/.cache/pymple/*.db; do
	if [ "$(stat -c '%a %u' "$f")" = "600 $VU" ]; then ok; else bad "cache database $f: $(stat -c '%a %u' "$f")"; fi
done
# a cache directory that others may write is refused, not used
mkdir -p bad-cache/pymple && chown -R $VU bad-cache && chmod 777 bad-cache/pymple
run setpriv --reuid=$VU --regid=$VU --clear-groups env XDG_CACHE_HOME="$T/bad-cache" "$A" summary ro/v.dump
expect_status "cache directory writable by others" 1
if grep -q "others may write it" err; then ok; else bad "cache writable by others: $(cat err)"; fi

# ---- --db and PYMPLE_CACHE_DIR ----
"$G" g.dump 1000 >/dev/null
run "$A" summary g.dump --db "$T/chosen.db"
expect_status "--db" 0
if [ -f chosen.db ] && [ ! -e g.dump.db ]; then ok; else bad "--db: $(ls)"; fi
mkdir -m 700 pcache
run env PYMPLE_CACHE_DIR="$T/pcache" "$A" summary g.dump
expect_status "PYMPLE_CACHE_DIR" 0
if [ ! -e g.dump.db ] && ls pcache/*.db >/dev/null 2>&1; then ok; else bad "PYMPLE_CACHE_DIR: $(ls pcache)"; fi

# ---- our own database of another schema (an older pymple) is rebuilt in place ----
"$A" -q load g.dump
sqlite g.dump.db "CREATE TABLE older_layout(a)"
run "$A" sql g.dump "SELECT count(*) AS n FROM sqlite_master WHERE name = 'older_layout'"
expect_status "our database of another schema" 0
if [ ! -s err ] && grep -q '^0$' out; then ok; else bad "our database of another schema was not rebuilt in place: $(cat err) $(cat out)"; fi

# ---- a 250-character dump name ----
long=$(printf 'd%.0s' $(seq 1 245)).dump
"$G" "$long" 1000 >/dev/null
run "$A" summary "$long"
expect_status "250-character dump name" 0
if [ -f "$long.db" ]; then ok; else bad "250-character dump name: no database"; cat err; fi
run "$A" -q load "$long"
expect_status "load of a 250-character dump name" 0

# ---- sql writes no file and stops at its limits ----
run "$A" sql g.dump "VACUUM INTO '$T/vacuum.db'"
expect_status "VACUUM INTO" 2
if [ -e vacuum.db ]; then bad "VACUUM INTO created a file"; else ok; fi
run "$A" sql g.dump "ATTACH '$T/attach.db' AS x"
expect_status "ATTACH" 2
if [ -e attach.db ]; then bad "ATTACH created a file"; else ok; fi
run "$A" sql g.dump "SELECT * FROM pragma_table_info('objects') JOIN (SELECT writefile('$T/w', 'x'))"
if [ -e w ]; then bad "writefile created a file"; else ok; fi
run "$A" sql g.dump "PRAGMA query_only = 0"
expect_status "PRAGMA write" 2
run "$A" sql g.dump --timeout 1 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
expect_status "--timeout" 2
if grep -q "^pymple-analyze: g.dump: sql: stopped after 1 s (--timeout)$" err; then ok; else bad "--timeout: $(cat err)"; fi
run "$A" sql g.dump --max-memory 64M "SELECT length(zeroblob(40000000) || zeroblob(40000000))"
expect_status "zeroblob bomb" 2
if grep -q "^pymple-analyze: g.dump: sql: needs more than 64 MiB of memory (--max-memory)$" err; then ok; else bad "zeroblob bomb: $(cat err)"; fi
run "$A" sql g.dump "SELECT count(*) AS n FROM objects" --timeout 30 --max-memory 64M
expect_status "sql within its limits" 0

# ---- decompression bombs (valid checksums, true trailers) ----
# peak KiB of the command in "$@" (VmHWM through GNU time), status in rc
peak() {
	/usr/bin/time -f %M -o peak.txt "$@" >out 2>err
	rc=$?
	kib=$(tail -1 peak.txt)
}
# check holds one chunk (at most 16 MiB raw and its compressed form) and no
# table: FORMAT.md's bound for it, stated as 48 MiB of peak memory in all.
"$B" morerefs morerefs.dump 32000000    # 62 KB: one object, 32M references
"$B" morerefs manyrefs.dump 500000000   # 1 MB: one object, 500M references
"$B" strings strings.dump 130000000     # 253 KB: 130M empty strings
"$B" objects objects.dump 20000000      # 350 KB: 20M objects
for f in morerefs manyrefs strings objects; do
	size=$(stat -c %s $f.dump)
	peak "$A" check $f.dump
	expect_status "check $f.dump ($size bytes)" 0
	if [ "$kib" -lt 49152 ]; then ok; else bad "check $f.dump: peak $kib KiB, over 48 MiB"; fi
	if [ $f = manyrefs ]; then
		if grep -q "^references  500000000$" out; then ok; else bad "check manyrefs.dump: $(cat out)"; fi
	fi
done
# load: refused up front, with one line, when the trailer's counts say it
# would need more than --max-memory
for f in morerefs manyrefs strings objects; do
	peak "$A" --max-memory 512M load $f.dump -o $f.db
	expect_status "load $f.dump --max-memory 512M" 2
	if [ "$(wc -l <err)" -eq 1 ] && grep -q "^pymple-analyze: $f.dump: loading it needs about [0-9]* MiB of memory .*more than --max-memory 512 MiB$" err; then ok; else bad "load $f.dump: $(cat err)"; fi
	if [ "$kib" -lt 65536 ]; then ok; else bad "refused load of $f.dump: peak $kib KiB"; fi
	if [ -e $f.db ]; then bad "refused load of $f.dump left $f.db"; else ok; fi
done
# a load within the budget stays within what it promised: 2M references
# of one object in a 4 KB file cost at most LOAD_BYTES_PER_REF (80) each
# on top of a small dump's load
"$B" morerefs wide.dump 2000000
peak "$A" -q load g.dump -o base.db
base=$kib
peak "$A" --max-memory 256M -q load wide.dump -o wide.db
expect_status "load wide.dump" 0
limit=$((base + 2000000 * 80 / 1024))
if ldd "$A" | grep -q libasan; then
	: # under ASan the heap's quarantine and shadow memory are not the load's
elif [ "$kib" -le "$limit" ]; then ok; else bad "load wide.dump: peak $kib KiB, over $limit KiB"; fi
# the whole heap kept with wide.db (2M references, about 32 MiB open, as
# top reads it) is refused before it is read when --max-memory is smaller,
# and opens within it
run "$A" --max-memory 16M leaks wide.db
expect_status "leaks wide.db --max-memory 16M" 2
if [ "$(wc -l <err)" -eq 1 ] && grep -q "^pymple-analyze: wide.db: its heap needs about [0-9]* MiB of memory (1 objects, 2000000 references), more than --max-memory 16 MiB$" err; then ok; else bad "leaks wide.db --max-memory 16M: $(cat err)"; fi
run "$A" --max-memory 64M leaks wide.db
expect_status "leaks wide.db --max-memory 64M" 0
# garbage reads only flags and in-degrees (no memory per reference)
run "$A" --max-memory 16M garbage wide.db
expect_status "garbage wide.db --max-memory 16M" 0
# a reader budget too small for one chunk: one line, exit 2
peak "$A" --max-memory 1M check morerefs.dump
expect_status "check --max-memory 1M" 2
if grep -q "needs more than 1 MiB of memory" err; then ok; else bad "check --max-memory 1M: $(cat err)"; fi

# a full disk (the file size limit in 512-byte blocks, its signal ignored)
# at three points of a load (a 12 MB database): SQLite's first pages, the
# rows written page by page, their address index (the last quarter of the
# file: 1 MB before its end). One line naming the database, exit 1, nothing
# left behind.
"$G" full.dump 200000 >/dev/null
mkdir full whole
run "$A" -q load full.dump -o whole/x.db
expect_status "load full.dump into another directory" 0
last=$(($(wc -c <whole/x.db) / 512 - 2048))
for lim in 40 4000 $last; do
	run sh -c "trap '' XFSZ; ulimit -f $lim; exec \"\$0\" -q load full.dump -o full/x.db" "$A"
	expect_status "load with ulimit -f $lim" 1
	if [ "$(wc -l <err)" -eq 1 ] && grep -q "^pymple-analyze: full/x.db: " err; then ok; else bad "load with ulimit -f $lim: $(cat err)"; fi
	if [ -z "$(ls -A full)" ]; then ok; else bad "load with ulimit -f $lim left: $(ls -A full)"; fi
done
run "$A" -q load full.dump -o full/x.db
expect_status "load full.dump without a limit" 0

echo "hostile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
