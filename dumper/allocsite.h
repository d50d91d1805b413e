/* allocsite.h — allocation sites from tracemalloc for the heap walk
 * (FORMAT.md "Allocation sites"). walk.c opens a table at the start of a
 * dump, asks it for each object's site id before the OBJECT record, and
 * writes its META keys at the end. Without tracemalloc tracing nothing is
 * written. */
#ifndef PYMPLE_ALLOCSITE_H
#define PYMPLE_ALLOCSITE_H

#include <Python.h>
#include <stdint.h>

struct pym_writer;
struct pym_asites;

/* NULL when tracemalloc is not tracing, or on failure (then *err is set to
 * an errno value). *skipped names the reason when tracemalloc traces but
 * its sites cannot be read here (a forked child on 3.8-3.11): no sites,
 * only META. Memory comes from mmap; in_child: no locks, no allocation. */
struct pym_asites *pym_asites_open(struct pym_writer *w, int in_child, const char **skipped,
                                   int *err);

/* The site id of o (0: tracemalloc holds no trace for it), written to the
 * dump (STRING and SITE records) the first time it is seen. Run it before
 * reading o's reference count: on 3.8-3.11 it briefly holds references to
 * file names and line numbers. 0, or -1 with errno set. */
int pym_asites_of(struct pym_asites *s, PyObject *o, uint32_t *site);

/* META: alloc.frames (tracemalloc's frame limit), alloc.sites,
 * alloc.objects (objects with a site). 0, or -1. */
int pym_asites_meta(struct pym_asites *s);

void pym_asites_close(struct pym_asites *s);

#endif
