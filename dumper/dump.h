/* dump.h — the heap walk as a C entry point, shared by module.c (pymple.dump)
 * and signal.c (dump on signal, in-process or in a forked child). */
#ifndef PYMPLE_DUMP_H
#define PYMPLE_DUMP_H

#include <stddef.h>
#include <stdint.h>

struct pym_dump_opts {
	int values;   /* write value previews */
	int in_child; /* running in a forked child: no Python-level calls, no
	                 locks, no malloc (mmap only); see walk.c */
	int level;    /* zlib level, 1 by default */
	/* The process the dump describes, for META: a forked child passes its
	 * parent's pid and RSS, measured before fork(). 0 = measure here. */
	uint64_t pid, rss;
};

struct pym_dump_stats {
	uint64_t objects, refs, bytes;
	double seconds;
};

/* Writes one complete dump of the current interpreter's heap to fd. The caller
 * holds the GIL. Garbage collection is paused during the walk and restored.
 * Creates no Python objects that outlive the call and leaves the heap as it
 * was. Returns 0, or -1 with errno set and a one-line reason in errbuf. */
int pym_dump_fd(int fd, const struct pym_dump_opts *opts, struct pym_dump_stats *stats,
                char *errbuf, size_t errlen);

/* The same walk into a writer the caller opened and will close (an
 * in-memory one from pym_writer_open_records(): snapshot.c); finishes it.
 * Same conditions as pym_dump_fd(). Returns 0, or -1 with errno set. */
struct pym_writer;
int pym_walk_records(struct pym_writer *w, const struct pym_dump_opts *opts);

/* This process's resident set size in bytes (/proc/self/statm), 0 if
 * unknown. Async-signal-safe (open, read, close). */
uint64_t pym_rss_bytes(void);

/* Atomic output file: a temporary name in the target's directory (never
 * ending in ".dump"), mode 0600, fsync, rename, fsync of the directory. */
struct pym_sink {
	int fd;
	int noreplace; /* set after open for generated names: never replace an
	                  existing file, take "<stem>-N<ext>" instead */
	char tmp[4096];
	char path[4096]; /* the final name (commit may add "-N") */
};
/* Opens sink->tmp for path (noreplace = 0). 0, or -1 with errno set.
 * Async-signal-safe. */
int pym_sink_open(struct pym_sink *s, const char *path);
/* fsync, close, rename to path, fsync the directory. With noreplace, an
 * existing file is never replaced (renameat2 RENAME_NOREPLACE, or link and
 * unlink where the file system lacks it): path gets the first free "-N"
 * (1..999) before its extension, and s->path says which. 0 or -1 (errno);
 * on failure the temporary file is removed. Async-signal-safe. */
int pym_sink_commit(struct pym_sink *s);
/* Closes and unlinks the temporary file. Async-signal-safe. */
void pym_sink_abort(struct pym_sink *s);

#endif
