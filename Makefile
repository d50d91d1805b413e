# pymple — one GNU Makefile. `make help` lists the targets.
# Flags compose as $(STD) $(WARN) $(OPT) $(CFLAGS): add to CFLAGS, never replace.

PYTHON   ?= python3
PYCONFIG ?= $(PYTHON)-config
BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= cc
SANITIZE ?=
FUZZ_SECONDS ?= 20

STD  = -std=c11 -D_GNU_SOURCE
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wvla -Wformat=2 -Wpointer-arith -Wcast-qual -Wundef -Wno-unused-parameter
OPT  = -O2 -g
ifneq ($(SANITIZE),)
OPT += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN = -fsanitize=$(SANITIZE)
endif
# dumper/ is -iquote: its signal.h must not shadow the system <signal.h>.
ALLCFLAGS = $(STD) $(WARN) $(OPT) -Ischema -Iformat -iquote dumper -Ianalyzer $(CFLAGS)
LDLIBS_AN = -lsqlite3 -lz -lm

# Python extension: built against $(PYTHON) through its python3-config.
# A venv has no python3-config: then ask the interpreter itself.
PY_INCLUDES := $(shell $(PYCONFIG) --includes 2>/dev/null || \
                 $(PYTHON) -c 'import sysconfig; print("-I" + sysconfig.get_paths()["include"])')
PY_EXT      := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PYDIR       := $(BUILD)/python
EXT         := $(PYDIR)/pymple/_pymple$(PY_EXT)
# One object directory per interpreter ABI, so `make PYTHON=python3.8` and
# `make PYTHON=python3.12` can share one BUILD: both extensions land side by
# side in $(PYDIR)/pymple, where `dump --attach` picks the one a target needs.
EXTOBJ       = $(OBJ)/ext$(basename $(PY_EXT))

# format/ is the dump format code both sides share: the analyzer links the
# reader only, the extension the writer only; unit tests both.
ANALYZER_SRC := $(wildcard analyzer/*.c)
ANALYZER_LIB := $(filter-out analyzer/main.c,$(ANALYZER_SRC))
WRITER_SRC   := format/writer.c
READER_SRC   := format/reader.c
DUMPER_SRC   := $(wildcard dumper/*.c)
DUMPER_PY    := $(wildcard dumper/pymple/*.py)
UNIT_SRC     := $(wildcard tests/unit/test_*.c)

OBJ = $(BUILD)/obj
AN_OBJS  := $(patsubst %.c,$(OBJ)/%.o,$(ANALYZER_SRC) $(READER_SRC))
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(ANALYZER_LIB) $(READER_SRC) $(WRITER_SRC))
ANALYZE  := $(BUILD)/bin/pymple-analyze

.PHONY: all deps test unit e2e e2e-asan cli html test-pip test-install test-all-pythons asan valgrind \
        fuzz fuzz-coverage bench bench-dom bench-load bench-scale demo install clean format style lint help

all: $(ANALYZE) $(EXT) ## build the analyzer and the extension (default)

deps: ## install the Debian packages the build needs, if missing
	@sh .ci/deps.sh

$(OBJ)/%.o: %.c $(wildcard schema/*.h format/*.h dumper/*.h analyzer/*.h tests/unit/*.h tests/fuzz/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

# schema/schema.sql compiled into the analyzer as a C string (one source of truth).
$(BUILD)/gen/schema_sql.h: schema/schema.sql
	@mkdir -p $(dir $@)
	{ echo '/* generated from schema/schema.sql by the Makefile: do not edit */'; \
	  echo 'static const char schema_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@
$(OBJ)/analyzer/store.o: $(BUILD)/gen/schema_sql.h
$(OBJ)/analyzer/store.o: ALLCFLAGS += -I$(BUILD)/gen

# The HTML report's page (analyzer/report/: template, CSS, JS) compiled into the analyzer as
# two C strings, with the Content-Security-Policy hashes of the inline CSS and JS.
REPORT_ASSETS := analyzer/report/report.html analyzer/report/report.css analyzer/report/report.js
$(BUILD)/tools/embed: analyzer/report/embed.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $<
$(BUILD)/gen/report_assets.h: $(BUILD)/tools/embed $(REPORT_ASSETS)
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $(REPORT_ASSETS) > $@.tmp && mv $@.tmp $@
$(OBJ)/analyzer/report_html.o: $(BUILD)/gen/report_assets.h
$(OBJ)/analyzer/report_html.o: ALLCFLAGS += -I$(BUILD)/gen

$(ANALYZE): $(AN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_AN)

# The extension's objects get -fPIC and the Python headers; a file may add
# its own flags with a target-specific variable below.
$(EXTOBJ)/%.o: dumper/%.c $(wildcard schema/*.h format/*.h dumper/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -fPIC -fvisibility=hidden $(PY_INCLUDES) -c $< -o $@
$(OBJ)/ext/format/%.o: format/%.c $(wildcard schema/*.h format/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# libdeflate (libdeflate-dev), when installed, compresses the in-process
# dumps (writer.c, PYM_LIBDEFLATE) and the heap the analyzer keeps in its
# database (heap_store.c); without it zlib does. Both write zlib streams.
HAVE_LIBDEFLATE := $(shell printf '\043include <libdeflate.h>\n' | $(CC) -E - >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_LIBDEFLATE),1)
$(OBJ)/ext/format/writer.o: CFLAGS += -DPYM_LIBDEFLATE
$(OBJ)/analyzer/heap_store.o: CFLAGS += -DPYM_LIBDEFLATE
EXT_LIBS = -ldeflate
LDLIBS_AN += -ldeflate
endif

# pyint.c and allocsite.c read CPython internals (Py_BUILD_CORE); those headers need two
# warnings off.
$(EXTOBJ)/pyint.o $(EXTOBJ)/allocsite.o: CFLAGS += -Wno-cast-qual -Wno-undef

$(EXT): $(patsubst dumper/%.c,$(EXTOBJ)/%.o,$(DUMPER_SRC)) $(OBJ)/ext/format/writer.o $(DUMPER_PY)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) -shared $(LDFLAGS) -o $@ $(filter %.o,$^) $(EXT_LIBS) -lz
	cp $(DUMPER_PY) $(PYDIR)/pymple/

$(BUILD)/tests/unit: $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRC)) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS_AN)

test: unit e2e cli html test-pip ## run every test (unit, end-to-end, CLI, HTML report, pip install) on $(PYTHON)

unit: $(BUILD)/tests/unit ## Criterion unit tests
	$(BUILD)/tests/unit --jobs 2

e2e: all ## end-to-end tests driving a real Python
	$(PYTHON) tests/e2e/run.py --build $(BUILD)

cli: all $(BUILD)/tests/gendump $(BUILD)/tests/genbomb ## golden tests of the command line, hostile inputs
	sh tests/cli/run.sh $(ANALYZE) $(BUILD)/tests/gendump
	sh tests/cli/hostile.sh $(ANALYZE) $(BUILD)/tests/gendump $(BUILD)/tests/genbomb

# The HTML report in headless chromium, on hand-written documents (tests/html/*.json).
html: $(BUILD)/tests/gen_report ## the HTML leaks report rendered by headless chromium
	sh tests/html/run.sh $(BUILD)/tests/gen_report $(BUILD)/test-output/html

$(BUILD)/tests/gen_report: tests/html/gen_report.c $(OBJ)/analyzer/report_html.o
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $^

# Synthetic dump generator (bench and CLI fixtures), built on the real writer.
$(BUILD)/tests/gendump: tests/tools/gendump.c $(OBJ)/format/writer.o
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $^ -lz

# pip's build runs the Makefile itself (tools/build_backend.py), into its own temporary BUILD.
test-pip: ## pip install --no-build-isolation . into a fresh venv of $(PYTHON), then use it
	sh tests/install/run.sh --quick $(PYTHON)

test-install: ## every install route (pip on every CPython 3.8-3.13, sdist, make install, clone)
	sh tests/install/run.sh $(PYTHON)

# Decompression bombs with valid checksums (tests/cli/hostile.sh).
$(BUILD)/tests/genbomb: tests/tools/genbomb.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $^ -lz

# Speed and memory of the dominator code on synthetic graphs (a tool, not a test).
$(BUILD)/tests/dombench: tests/tools/dombench.c $(patsubst %.c,$(OBJ)/%.o,$(wildcard analyzer/graph_*.c))
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDSAN) $(LDFLAGS) -o $@ $^

bench-dom: $(BUILD)/tests/dombench ## dominators on a 10M-node random graph and a 1M-node chain
	$(BUILD)/tests/dombench random
	$(BUILD)/tests/dombench chain

test-all-pythons: ## end-to-end tests on every installed CPython 3.8-3.13
	sh tests/all-pythons.sh

asan: ## all tests under ASan+UBSan (the extension too, inside a real Python)
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined unit cli html e2e-asan

# The sanitizer runtime must be the first library a sanitized extension's
# host process loads, hence LD_PRELOAD; CPython's own allocations are not
# ours to judge, so leak detection is off for the Python processes.
e2e-asan: all
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	PYTHONMALLOC=malloc $(PYTHON) tests/e2e/run.py --build $(BUILD)

valgrind: ## unit tests and a load under valgrind
	sh tests/valgrind.sh

fuzz: ## build and briefly run each fuzz target (clang libFuzzer; FUZZ_SECONDS each, default 20)
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

fuzz-coverage: ## line coverage of the analyzer by the fuzz corpus and what fuzzing found
	sh tests/fuzz/run.sh --coverage

bench: all ## the ~1M-object benchmark (medians of several runs)
	$(PYTHON) bench/bench.py --build $(BUILD)

# BEFORE: other pymple-analyze builds to measure beside this one (interleaved runs).
bench-load: all ## issue 7's load numbers (load/check, DB/dump, peak) on the bench and real heaps
	$(PYTHON) bench/loadratio.py --build $(BUILD) $(BEFORE)

# Not in CI: 50M objects need about 8 GB of memory, 15 GB of disk and minutes.
bench-scale: all $(BUILD)/tests/gendump ## load time and memory per object at 1M, 10M and 50M objects (linear?)
	$(PYTHON) bench/scale.py --build $(BUILD) $(SCALE_ARGS)

demo: all ## dump a leaking sample program, analyze it, write its HTML leaks report
	sh samples/demo.sh $(BUILD)

# The Python package goes into $(PYTHON)'s own site-packages unless PREFIX is
# given explicitly (then PREFIX/lib/pythonX.Y/site-packages); see tools/install-python.sh.
PY_PREFIX = $(if $(filter file,$(origin PREFIX)),,$(PREFIX))
install: all ## install pymple-analyze and the extension under PREFIX
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(ANALYZE) $(DESTDIR)$(PREFIX)/bin/pymple-analyze
	sh tools/install-python.sh $(PYTHON) $(PYDIR) "$(DESTDIR)" "$(PY_PREFIX)"

clean: ## remove build/
	rm -rf build

format: ## rewrite the C sources with clang-format
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c tests/*/*.h)

style: ## show what clang-format would change
	@for f in $(wildcard */*.c */*.h tests/*/*.c tests/*/*.h); do clang-format $$f | diff -u $$f - ; done; true

lint: ## cppcheck on the C sources
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 -Ischema -Iformat -Idumper -Ianalyzer analyzer format

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20
