/* dumpfix.h — a small hand-made heap written with the real writer, shared by
 * test_load.c and test_summary.c. The expected answers below are worked out
 * by hand from the heap's description, not computed by the code under test.
 * Header-only (static functions) because the unit build compiles test_*.c. */
#ifndef PYMPLE_TEST_DUMPFIX_H
#define PYMPLE_TEST_DUMPFIX_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pymple_format.h"
#include "writer.h"

/* The heap (addresses in hex; rc = refcount):
 *
 *   1000 dict   rc 1  ['key'] -> 2000            root: rc 1 > in-degree 0, ROOT(modules)
 *   2000 list   rc 1  [0] -> 3000, [1] -> 4000, [2] -> dead0 (not in the dump)
 *   3000 str    rc 2  "hello"                    held by 2000 and 4000
 *   4000 __main__.A rc 1  .attr -> 3000, weak -> 9000   extra_size 16
 *   5000 list   rc 1  [0] -> 6000, [1] -> 9000   } a garbage cycle
 *   6000 list   rc 1  [0] -> 5000                }
 *   7000 list   rc 1  [0] -> 7000, [1] -> d000   garbage self-loop
 *   8000 int    rc 5  "42"                        root: rc 5 > in-degree 0 (held by C)
 *   9000 str    rc 1  "weak"                      held by 5000; weakly by 4000: unreachable
 *   b000 thread synthetic, -> c000               root (synthetic), not counted in summary
 *   c000 int    rc 1  "7"                         reachable only from the thread
 *   d000 int    rc 1  "8"                         ROOT(other) record: root although rc = in-degree
 *   ROOT(other) at eeee0, an address not in the dump
 *
 * reachable: 1000 2000 3000 4000 8000 b000 c000 d000; unreachable: 5000 6000 7000 9000
 * cycles: {5000, 6000} and {7000}
 */
#define FIX_OBJECTS 12
#define FIX_REFS    12
#define FIX_RSS     4096

enum { FT_DICT, FT_LIST, FT_STR, FT_INT, FT_A, FT_THREAD, FT_N };
static const char *const fix_tnames[FT_N] = {"dict", "list", "str", "int", "__main__.A", "thread"};

static inline uint64_t fix_lab(uint64_t v, unsigned kind)
{
	return (v << PYM_LABEL_SHIFT) | kind;
}

/* Writes the heap above to path. with_rss: include the rss meta key. */
static inline void fix_write(const char *path, int with_rss)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	struct pym_writer *w = pym_writer_open(fd, &pym_alloc_mmap, 1);
	cr_assert(w);
	uint32_t t[FT_N], s, key, attr;
	cr_assert_eq(pym_writer_meta(w, "python_version", "3.12.1", 6), 0);
	if (with_rss)
		cr_assert_eq(pym_writer_meta(w, "rss", "4096", 4), 0);
	for (int i = 0; i < FT_N; i++) {
		cr_assert_eq(pym_writer_string(w, fix_tnames[i], strlen(fix_tnames[i]), &s), 0);
		cr_assert_eq(pym_writer_type(w, s, 0x100 + (uint64_t)i, &t[i]), 0);
	}
	cr_assert_eq(pym_writer_string(w, "key", 3, &key), 0);
	cr_assert_eq(pym_writer_string(w, "attr", 4, &attr), 0);
	cr_assert_eq(pym_writer_root(w, PYM_ROOT_MODULES, 0x1000, key), 0);

	struct pym_ref r1000[] = {{0x2000, fix_lab(key, PYM_LABEL_KEY)}};
	struct pym_ref r2000[] = {{0x3000, fix_lab(0, PYM_LABEL_INDEX)},
	                          {0x4000, fix_lab(1, PYM_LABEL_INDEX)},
	                          {0xdead0, fix_lab(2, PYM_LABEL_INDEX)}};
	struct pym_ref r4000[] = {{0x3000, fix_lab(attr, PYM_LABEL_ATTR)},
	                          {0x9000, fix_lab(0, PYM_LABEL_WEAK)}};
	struct pym_ref r5000[] = {{0x6000, fix_lab(0, PYM_LABEL_INDEX)},
	                          {0x9000, fix_lab(1, PYM_LABEL_INDEX)}};
	struct pym_ref r6000[] = {{0x5000, fix_lab(0, PYM_LABEL_INDEX)}};
	struct pym_ref r7000[] = {{0x7000, fix_lab(0, PYM_LABEL_INDEX)},
	                          {0xd000, fix_lab(1, PYM_LABEL_INDEX)}};
	struct pym_ref rb000[] = {{0xc000, fix_lab(0, PYM_LABEL_NONE)}};
	const uint32_t LEN = PYM_F_LENGTH, VAL = PYM_F_VALUE, GC = PYM_F_GC_TRACKED;
	struct pym_object objs[FIX_OBJECTS] = {
	        {0x1000, t[FT_DICT], GC | LEN, 232, 1, 1, 0, 0, NULL, 0, 1, r1000},
	        {0x2000, t[FT_LIST], GC | LEN, 80, 1, 3, 0, 0, NULL, 0, 3, r2000},
	        {0x3000, t[FT_STR], LEN | VAL, 54, 2, 5, 0, 0, "hello", 5, 0, NULL},
	        {0x4000, t[FT_A], GC | PYM_F_EXTRA, 48, 1, 0, 16, 0, NULL, 0, 2, r4000},
	        {0x5000, t[FT_LIST], GC | LEN, 72, 1, 2, 0, 0, NULL, 0, 2, r5000},
	        {0x6000, t[FT_LIST], GC | LEN, 64, 1, 1, 0, 0, NULL, 0, 1, r6000},
	        {0x7000, t[FT_LIST], GC | LEN, 72, 1, 2, 0, 0, NULL, 0, 2, r7000},
	        {0x8000, t[FT_INT], VAL, 28, 5, 0, 0, 0, "42", 2, 0, NULL},
	        {0x9000, t[FT_STR], LEN | VAL, 53, 1, 4, 0, 0, "weak", 4, 0, NULL},
	        {0xb000, t[FT_THREAD], PYM_F_SYNTHETIC, 0, 0, 0, 0, 0, NULL, 0, 1, rb000},
	        {0xc000, t[FT_INT], VAL, 28, 1, 0, 0, 0, "7", 1, 0, NULL},
	        {0xd000, t[FT_INT], VAL, 28, 1, 0, 0, 0, "8", 1, 0, NULL},
	};
	for (int i = 0; i < FIX_OBJECTS; i++)
		cr_assert_eq(pym_writer_object(w, &objs[i]), 0, "object %d", i);
	cr_assert_eq(pym_writer_root(w, PYM_ROOT_OTHER, 0xd000, -1), 0);
	cr_assert_eq(pym_writer_root(w, PYM_ROOT_OTHER, 0xeeee0, -1), 0);
	cr_assert_eq(pym_writer_finish(w), 0);
	pym_writer_close(w);
	cr_assert_eq(close(fd), 0);
}

/* A fresh private directory for one test; returns a malloc'd path. */
static inline char *fix_tmpdir(void)
{
	char *d = strdup("/tmp/pymple-unit-XXXXXX");
	cr_assert(d && mkdtemp(d));
	return d;
}

static inline char *fix_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	cr_assert(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static inline void fix_rmdir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

#endif
