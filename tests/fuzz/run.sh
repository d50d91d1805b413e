#!/bin/sh
# run.sh — builds the dump-reader fuzzer (clang libFuzzer + ASan + UBSan) and
# runs it for FUZZ_SECONDS (default 60) on a copy of tests/fuzz/corpus, so new
# inputs stay in build/fuzz/. `run.sh --regen` rewrites the committed seeds.
set -eu
cd "$(dirname "$0")/../.."
OUT=build/fuzz
mkdir -p "$OUT/corpus"
INC="-iquote schema -iquote format -iquote analyzer"
if [ "${1:-}" = "--regen" ]; then
	cc -std=c11 -D_GNU_SOURCE -O1 $INC tests/fuzz/gen_corpus.c format/writer.c -lz -o "$OUT/gen_corpus"
	rm -f tests/fuzz/corpus/*
	"$OUT/gen_corpus" tests/fuzz/corpus
	ls -l tests/fuzz/corpus
	exit 0
fi
command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang)" >&2; exit 1; }
clang -std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -g -O1 \
	-fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $INC tests/fuzz/fuzz_reader.c format/reader.c -lz \
	-o "$OUT/fuzz_reader"
cp tests/fuzz/corpus/* "$OUT/corpus/"
"$OUT/fuzz_reader" -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=1024 -timeout=10 \
	-artifact_prefix="$OUT/" -print_final_stats=1 "$OUT/corpus"
