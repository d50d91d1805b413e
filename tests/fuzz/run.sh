#!/bin/sh
# run.sh — builds the libFuzzer targets (clang, ASan + UBSan) and runs each
# for FUZZ_SECONDS (default 20) on a copy of tests/fuzz/corpus, so that new
# inputs stay in build/fuzz/<target>/:
#   fuzz_reader       reader.c in memory mode (tables kept, references whole)
#   fuzz_reader_file  reader.c in file mode, as check and load read
#   fuzz_load         dump -> database -> summary, garbage, cycles
#   fuzz_heap         opening a persisted heap (heap_store.c), seeds in
#                     tests/fuzz/corpus-heap (tests/fuzz/heapdb.h: their layout)
#   fuzz_report_html  the HTML report's page writer (report_html.c) on any document,
#                     seeds in tests/fuzz/corpus-report (leaks JSON documents)
#   run.sh --regen      rewrites the committed seeds (tests/fuzz/gen_corpus.c,
#                       tests/fuzz/gen_heap_corpus.py)
#   run.sh --coverage   replays the corpus and what fuzzing found through a
#                       coverage build of each target; prints llvm-cov's
#                       line coverage of the analyzer's files
set -eu
cd "$(dirname "$0")/../.."
OUT=build/fuzz
TARGETS="fuzz_reader fuzz_reader_file fuzz_load fuzz_heap fuzz_report_html"
mkdir -p "$OUT/bin"
INC="-iquote schema -iquote format -iquote analyzer -iquote tests/fuzz -I$OUT/gen"
if [ "${1:-}" = "--regen" ]; then
	cc -std=c11 -D_GNU_SOURCE -O1 $INC tests/fuzz/gen_corpus.c format/writer.c -lz -o "$OUT/gen_corpus"
	rm -f tests/fuzz/corpus/* tests/fuzz/corpus-heap/*
	"$OUT/gen_corpus" tests/fuzz/corpus
	make -s all
	python3 tests/fuzz/gen_heap_corpus.py build/bin/pymple-analyze tests/fuzz/corpus-heap
	ls -l tests/fuzz/corpus tests/fuzz/corpus-heap
	exit 0
fi
command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang)" >&2; exit 1; }
# schema/schema.sql as a C string, as the Makefile makes it
mkdir -p "$OUT/gen"
{ echo '/* generated from schema/schema.sql: do not edit */'; echo 'static const char schema_sql[] =';
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$/\\n"/' schema/schema.sql;
  echo ';'; } >"$OUT/gen/schema_sql.h"
# the HTML report's page as C strings (report_html.c includes them), as the Makefile makes them
cc -std=c11 -D_GNU_SOURCE -O1 analyzer/report/embed.c -o "$OUT/embed"
"$OUT/embed" analyzer/report/report.html analyzer/report/report.css analyzer/report/report.js \
	>"$OUT/gen/report_assets.h"
LIB="$(ls analyzer/*.c | grep -v analyzer/main.c) format/reader.c"
seeds() { # the committed seeds of a target
	case $1 in
	fuzz_heap) echo tests/fuzz/corpus-heap ;;
	fuzz_report_html) echo tests/fuzz/corpus-report ;;
	*) echo tests/fuzz/corpus ;;
	esac
}
CFLAGS_FUZZ="-std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -g -O1"
build() { # flags...: the analyzer's objects once (two compilers at a time), then each target
	obj="$OUT/obj$suffix"
	rm -rf "$obj"
	mkdir -p "$obj"
	# shellcheck disable=SC2086
	echo $LIB | tr ' ' '\n' | xargs -P2 -I{} sh -c \
		'clang '"$CFLAGS_FUZZ $* $INC"' -c {} -o '"$obj"'/$(basename {} .c).o'
	for t in $TARGETS; do
		case $t in
		fuzz_load | fuzz_heap) objs=$(ls "$obj"/*.o) ;;
		*) objs="$obj/reader.o" ;;
		esac
		# shellcheck disable=SC2086
		clang $CFLAGS_FUZZ "$@" $INC "tests/fuzz/$t.c" $objs -lsqlite3 -lz -lm -lpthread \
			-o "$OUT/bin/$t$suffix" &
		[ $t = fuzz_reader_file ] && wait
	done
	wait
}
if [ "${1:-}" = "--coverage" ]; then
	suffix=-cov
	rm -f "$OUT"/*.profraw
	build -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping
	for t in $TARGETS; do
		mkdir -p "$OUT/$t"
		LLVM_PROFILE_FILE="$OUT/$t.profraw" "$OUT/bin/$t-cov" -runs=0 "$(seeds $t)" "$OUT/$t" 2>/dev/null
	done
	llvm-profdata merge -o "$OUT/all.profdata" "$OUT"/*.profraw
	objs=""
	for t in $TARGETS; do objs="${objs:+$objs -object }$OUT/bin/$t-cov"; done
	# shellcheck disable=SC2086
	llvm-cov report $objs -instr-profile="$OUT/all.profdata" | grep -E "^(Filename|analyzer/.*\.c|format/.*\.c|TOTAL)"
	exit 0
fi
suffix=
build -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
for t in $TARGETS; do
	[ -x "$OUT/bin/$t" ] || { echo "fuzz: $t did not build" >&2; exit 1; }
	mkdir -p "$OUT/$t"
	cp "$(seeds $t)"/* "$OUT/$t/"
	echo "fuzz: $t for ${FUZZ_SECONDS:-20} s"
	# The fuzzer's own status decides: a crash, a leak or a sanitizer report
	# fails the run (its log and the input that did it are kept).
	if ! "$OUT/bin/$t" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -timeout=10 \
		-max_len=65536 -artifact_prefix="$OUT/$t-" -print_final_stats=1 "$OUT/$t" \
		>"$OUT/$t.log" 2>&1; then
		grep -v '^#[0-9]' "$OUT/$t.log" | tail -40 >&2
		echo "fuzz: $t failed; the input is $OUT/$t-*, the log $OUT/$t.log" >&2
		exit 1
	fi
	tail -12 "$OUT/$t.log"
done
