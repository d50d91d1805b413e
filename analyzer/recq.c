/* recq.c — the record queue (recq.h): a ring of BATCHRING_N batches; the
 * decoding thread fills one while the caller reads another. A batch holds
 * up to BATCH_RECS records and an arena with their variable parts, stored
 * as offsets while the arena may still move and turned into pointers when
 * the batch is handed over. A batch closes at BATCH_RECS records or
 * BATCH_BYTES of arena, whichever comes first: objects with long reference
 * lists never pile up in the queue beside the heap's copy of them. */
#include "recq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchring.h"

#define BATCH_RECS  4096
#define BATCH_BYTES (4u << 20) /* a batch is handed over once its arena holds this */
#define NONE        SIZE_MAX

struct offs {
	size_t key, text, refs, frames, name, files;
};

struct batch {
	struct recq_rec r[BATCH_RECS];
	struct offs o[BATCH_RECS];
	size_t n;
	char *arena;
	size_t used, cap;
	uint64_t offset;
	int oom;
};

struct recq {
	struct pym_reader *rd;
	pthread_t tid;
	struct batchring ring;
	struct batch b[BATCHRING_N];
	int failed; /* set before batchring_done(), read once take says end */
	struct pym_error err;
	size_t pos; /* the caller's record in its batch (ring.cur) */
};

/* Room for len more bytes in the arena (8-aligned); the offset, or NONE. */
static size_t put(struct batch *bt, const void *p, size_t len)
{
	size_t at = (bt->used + 7) & ~(size_t)7;
	if (at + len > bt->cap) {
		size_t cap = bt->cap ? 2 * bt->cap : 1 << 20;
		while (cap < at + len)
			cap *= 2;
		char *q = realloc(bt->arena, cap);
		if (!q) {
			bt->oom = 1;
			return NONE;
		}
		bt->arena = q;
		bt->cap = cap;
	}
	if (p && len)
		memcpy(bt->arena + at, p, len);
	bt->used = at + len;
	return at;
}

static struct recq_str resolve(struct pym_reader *rd, uint32_t id)
{
	struct recq_str s = {NULL, 0};
	s.p = pym_reader_string(rd, id, &s.len);
	return s;
}

/* Copies rec into bt; 0, or -1 out of memory. Strings resolved here are
 * stored as (offset, length) pairs in the arena, made pointers at publish. */
static int copy(struct recq *q, struct batch *bt, const struct pym_record *rec)
{
	struct recq_rec *w = &bt->r[bt->n];
	struct offs *o = &bt->o[bt->n];
	w->rec = *rec;
	w->rec.value = NULL;
	w->rec.value_len = 0;
	w->name.p = NULL;
	w->name.len = 0;
	w->files = NULL;
	o->key = o->text = o->refs = o->frames = o->name = o->files = NONE;
	/* only the fields of this record's type: the others may be stale */
	w->rec.key = w->rec.text = NULL;
	w->rec.refs = NULL;
	w->rec.frames = NULL;
	if (rec->type == PYM_R_META)
		o->key = put(bt, rec->key, rec->key_len);
	if (rec->type == PYM_R_META || rec->type == PYM_R_STRING)
		o->text = put(bt, rec->text, rec->text_len);
	if ((rec->type == PYM_R_OBJECT || rec->type == PYM_R_REFS) && rec->nrefs)
		o->refs = put(bt, rec->refs, (size_t)rec->nrefs * sizeof *rec->refs);
	if (rec->type == PYM_R_SITE && rec->nframes)
		o->frames = put(bt, rec->frames, (size_t)rec->nframes * sizeof *rec->frames);
	if (rec->type == PYM_R_TYPE || rec->type == PYM_R_NAME) {
		struct recq_str s = resolve(q->rd, rec->name_id);
		w->name.len = s.len;
		if (s.p)
			o->name = put(bt, s.p, s.len);
	}
	if (rec->type == PYM_R_SITE && rec->nframes) {
		/* (offset, length) per frame file, then the texts */
		size_t at = put(bt, NULL, (size_t)rec->nframes * sizeof(struct recq_str));
		o->files = at;
		for (uint32_t i = 0; i < rec->nframes && at != NONE; i++) {
			struct recq_str s = resolve(q->rd, rec->frames[i].file);
			size_t t = s.p ? put(bt, s.p, s.len) : NONE;
			struct recq_str *f = (struct recq_str *)(void *)(bt->arena + at) + i;
			f->p = (const char *)(uintptr_t)t; /* an offset until publish */
			f->len = s.len;
		}
	}
	if (bt->oom)
		return -1;
	bt->n++;
	return 0;
}

static const char *at(const struct batch *bt, size_t off)
{
	return off == NONE ? NULL : bt->arena + off;
}

/* The arena is final: offsets become pointers. */
static void fix(struct batch *bt)
{
	for (size_t i = 0; i < bt->n; i++) {
		struct recq_rec *w = &bt->r[i];
		const struct offs *o = &bt->o[i];
		w->rec.key = at(bt, o->key);
		w->rec.text = at(bt, o->text);
		w->rec.refs = (const struct pym_rref *)(const void *)at(bt, o->refs);
		w->rec.frames = (const struct pym_rframe *)(const void *)at(bt, o->frames);
		w->name.p = at(bt, o->name);
		if (o->files != NONE) {
			struct recq_str *f = (struct recq_str *)(void *)(bt->arena + o->files);
			for (uint32_t k = 0; k < w->rec.nframes; k++)
				f[k].p = at(bt, (size_t)(uintptr_t)f[k].p);
			w->files = f;
		}
	}
}

static void *decode_main(void *arg)
{
	struct recq *q = arg;
	struct pym_record rec;
	struct pym_error e = {0};
	size_t slot = 0;
	int got, failed = 0;
	struct batch *bt = &q->b[0];
	bt->n = bt->used = 0;
	while ((got = pym_reader_next(q->rd, &rec, &e)) == 1) {
		if (copy(q, bt, &rec) < 0) {
			memset(&e, 0, sizeof e);
			e.code = PYM_ERR_NOMEM;
			snprintf(e.msg, sizeof e.msg, "out of memory");
			failed = 1;
			break;
		}
		if (bt->n == BATCH_RECS || bt->used >= BATCH_BYTES) {
			bt->offset = pym_reader_offset(q->rd);
			fix(bt);
			if (batchring_publish(&q->ring) < 0)
				goto out;
			slot = (slot + 1) % BATCHRING_N;
			bt = &q->b[slot];
			bt->n = bt->used = 0;
		}
	}
	if (got < 0)
		failed = 1;
	if (!failed) {
		bt->offset = pym_reader_offset(q->rd);
		fix(bt);
		if (bt->n && batchring_publish(&q->ring) < 0)
			goto out;
	}
out:
	if (failed) {
		q->failed = 1;
		q->err = e;
	}
	batchring_done(&q->ring);
	return NULL;
}

struct recq *recq_start(struct pym_reader *r)
{
	struct recq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->rd = r;
	batchring_init(&q->ring);
	if (pthread_create(&q->tid, NULL, decode_main, q) != 0) {
		batchring_destroy(&q->ring);
		free(q);
		return NULL;
	}
	return q;
}

int recq_next(struct recq *q, const struct recq_rec **out, uint64_t *offset)
{
	unsigned cur = q->ring.cur; /* the caller's own: only it moves cur */
	if (cur < BATCHRING_N && ++q->pos < q->b[cur].n) {
		*out = &q->b[cur].r[q->pos];
		*offset = q->b[cur].offset;
		return 1;
	}
	int slot = batchring_take(&q->ring);
	if (slot < 0)
		return q->failed ? -1 : 0;
	q->pos = 0;
	*out = &q->b[slot].r[0];
	*offset = q->b[slot].offset;
	return 1;
}

int recq_stop(struct recq *q, struct pym_error *err)
{
	batchring_cancel(&q->ring);
	pthread_join(q->tid, NULL);
	int rc = q->failed ? -1 : 0;
	if (q->failed && err)
		*err = q->err;
	for (int i = 0; i < BATCHRING_N; i++)
		free(q->b[i].arena);
	batchring_destroy(&q->ring);
	free(q);
	return rc;
}
