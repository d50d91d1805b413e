/* recq.h — a dump's records decoded on a second thread and handed over in
 * batches, so that decoding and what the caller does with each record run
 * on both cores (pass 1 of a load). Each record is a deep copy: its texts,
 * references and frames, and the strings it names (a TYPE's or NAME's name,
 * a SITE's frame files), resolved by the decoding thread, which alone
 * touches the reader. Object values are not copied (pass 1 does not read
 * them). Memory: a few batches, whatever the dump's size. Never prints. */
#ifndef PYMPLE_RECQ_H
#define PYMPLE_RECQ_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"

struct recq_str {
	const char *p; /* NULL if the string is not defined */
	size_t len;
};

/* One record as the caller sees it: rec's pointers (key, text, refs,
 * frames) point into the batch; value is NULL. */
struct recq_rec {
	struct pym_record rec;
	struct recq_str name;         /* TYPE, NAME: the name_id's text */
	const struct recq_str *files; /* SITE: nframes frame files */
};

struct recq;

/* Starts decoding from r (opened, mode and budget set; the queue reads it
 * from now on, and the caller must not touch it until recq_stop()).
 * NULL if out of memory or no thread could start (r untouched then). */
struct recq *recq_start(struct pym_reader *r);

/* The next record: 1 with *out set (valid until the next call), 0 at the
 * verified end, -1 if decoding failed (recq_stop() gives the error).
 * *offset: dump bytes read when the record's batch was full. */
int recq_next(struct recq *q, const struct recq_rec **out, uint64_t *offset);

/* Stops the thread (at once if still decoding) and frees the queue. If
 * decoding failed, returns -1 with err filled; else 0. */
int recq_stop(struct recq *q, struct pym_error *err);

#endif
