/* heap_view.c — the graph commands' window on a loaded heap (heap_view.h).
 * Reads only; prints nothing but the open error (through cli.h). */
#include "heap_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "heap_store.h"

/* Set by main.c from its table; callers without main.c (unit tests) get
 * everything. */
unsigned cmd_needs = CMD_NEEDS_DB | CMD_NEEDS_HEAP;

static int open_view(struct heap_view *v, const char *path, int lean, unsigned parts);

int heap_view_open_lean(struct heap_view *v, const char *path, unsigned parts)
{
	if (cmd_needs & CMD_NEEDS_HEAP)
		return open_view(v, path, 1, parts);
	memset(v, 0, sizeof *v); /* the database alone (main.c's table) */
	heap_init(&v->h);
	v->file = path;
	return cli_open(path, 0, &v->db);
}

int heap_view_open(struct heap_view *v, const char *path)
{
	return open_view(v, path, 0, 0);
}

static int open_view(struct heap_view *v, const char *path, int lean, unsigned parts)
{
	struct db_error err;
	int rc;
	memset(v, 0, sizeof *v);
	heap_init(&v->h);
	v->file = path;
	v->lean = lean;
	if ((rc = cli_open(path, 0, &v->db)))
		return rc;
	/* The commands look rows up one by one (a path of a million steps is
	 * millions of lookups): keep the shared lock from the first read on,
	 * instead of taking it, checking for a journal and dropping it again
	 * around each statement. */
	sqlite3_exec(v->db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL, NULL);
	memset(&err, 0, sizeof err);
	if ((lean ? heap_load_lean(v->db, path, &v->h, parts, &v->refs, &err)
	          : heap_load(v->db, path, &v->h, &err)) < 0) {
		cli_error(err.file[0] ? err.file : path, "%s", err.msg);
		heap_view_close(v);
		return err.status ? err.status : CLI_RUNTIME;
	}
	v->type_name = calloc((size_t)v->h.ntypes + 1, sizeof *v->type_name);
	if (!v->type_name || (!lean && heap_reverse(&v->h) < 0)) {
		cli_error(path, "out of memory");
		heap_view_close(v);
		return CLI_RUNTIME;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(v->db, "SELECT id, name FROM types", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(v->db, "SELECT value FROM object_data WHERE id = ?1", -1, &v->value,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(v->db, "SELECT text FROM strings WHERE id = ?1", -1, &v->text,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(v->db,
	                       "SELECT s.alloc FROM object_data o JOIN sites s ON s.id = o.site"
	                       " WHERE o.id = ?1",
	                       -1, &v->alloc, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(v->db, "SELECT address FROM object_data WHERE id = ?1", -1, &v->addr,
	                       NULL) != SQLITE_OK) {
		rc = cli_sqlite_error(v->db, path, "reading the heap");
		heap_view_close(v);
		return rc;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (id >= 0 && (uint64_t)id < v->h.ntypes && name && !v->type_name[id])
			v->type_name[id] = strdup(name);
	}
	sqlite3_finalize(st);
	return 0;
}

void heap_view_close(struct heap_view *v)
{
	if (v->type_name)
		for (uint32_t i = 0; i < v->h.ntypes; i++)
			free(v->type_name[i]);
	free(v->type_name);
	sqlite3_finalize(v->value);
	sqlite3_finalize(v->alloc);
	free(v->site);
	sqlite3_finalize(v->text);
	sqlite3_finalize(v->addr);
	heap_refs_release(&v->refs);
	heap_release(&v->h);
	sqlite3_close(v->db);
	free(v->label);
	free(v->val);
	memset(v, 0, sizeof *v);
}

uint64_t heap_view_addr(struct heap_view *v, uint32_t id, int *err)
{
	if (v->h.addr)
		return v->h.addr[id];
	uint64_t a = 0;
	sqlite3_bind_int64(v->addr, 1, id);
	if (sqlite3_step(v->addr) == SQLITE_ROW)
		a = (uint64_t)sqlite3_column_int64(v->addr, 0);
	else
		*err = 1;
	sqlite3_reset(v->addr);
	return a;
}

int heap_view_edge(struct heap_view *v, uint64_t e, struct heap_ref *r)
{
	if (!v->lean) {
		r->dst = v->h.dst[e];
		r->kind = v->h.kind[e];
		r->label = heap_label(&v->h, e);
		return 0;
	}
	char why[200];
	if (heap_refs_get(&v->refs, e, r, why, sizeof why) == 0)
		return 0;
	cli_error(v->file, "damaged database: heap %s", why);
	return -1;
}

int heap_view_rev_edges(struct heap_view *v, uint32_t t, uint64_t k, size_t n, uint32_t *edges)
{
	const struct heap *h = &v->h;
	if (!v->lean) {
		memcpy(edges, h->redge + k, n * sizeof *edges);
		return 0;
	}
	/* The source's references into t that the referrers kept, in order:
	 * the entries of one source are its references into t by position, so
	 * entry k is the one after as many as precede it from that source. */
	uint32_t s = h->rsrc[k];
	uint64_t skip = 0;
	while (k - skip > h->roff[t] && h->rsrc[k - skip - 1] == s)
		skip++;
	size_t got = 0;
	for (uint64_t e = h->off[s]; e < h->off[s + 1] && got < n; e++) {
		struct heap_ref r;
		if (heap_view_edge(v, e, &r) < 0)
			return -1;
		if (r.dst != t)
			continue;
		if (skip)
			skip--;
		else
			edges[got++] = (uint32_t)e;
	}
	if (got == n)
		return 0;
	cli_error(v->file, "damaged database: heap referrers of object %u disagree", t);
	return -1;
}

int heap_view_rev_weak(const struct heap_view *v, uint64_t k)
{
	const struct heap *h = &v->h;
	if (!v->lean)
		return h->kind[h->redge[k]] == HEAP_REF_WEAK;
	return (h->rweak[k >> 3] >> (k & 7)) & 1;
}

const char *heap_view_type(const struct heap_view *v, uint32_t id)
{
	if (!v->h.type)
		return "?"; /* a lean heap read without types */
	const char *s = v->type_name[v->h.type[id]];
	return s ? s : "?";
}

/* Makes *buf hold at least need bytes. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	if (need > *cap) {
		char *q = realloc(*buf, need + 64);
		if (!q)
			return -1;
		*buf = q;
		*cap = need + 64;
	}
	return 0;
}

/* Copies n bytes of s into *buf (growing it), NUL-terminated. */
static const char *keep(char **buf, size_t *cap, const char *s, size_t n)
{
	if (reserve(buf, cap, n + 1) < 0)
		return NULL;
	memcpy(*buf, s, n);
	(*buf)[n] = 0;
	return *buf;
}

const char *heap_view_value(struct heap_view *v, uint32_t id, int *err)
{
	const char *r = NULL;
	sqlite3_bind_int64(v->value, 1, id);
	int rc = sqlite3_step(v->value);
	if (rc == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(v->value, 0);
		if (s)
			r = keep(&v->val, &v->val_cap, s,
			         (size_t)sqlite3_column_bytes(v->value, 0));
	} else {
		*err = 1;
	}
	sqlite3_reset(v->value);
	return r;
}

const char *heap_view_alloc(struct heap_view *v, uint32_t id, int *err)
{
	const char *r = NULL;
	sqlite3_bind_int64(v->alloc, 1, id);
	int rc = sqlite3_step(v->alloc);
	if (rc == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(v->alloc, 0);
		if (s)
			r = keep(&v->site, &v->site_cap, s,
			         (size_t)sqlite3_column_bytes(v->alloc, 0));
	} else if (rc != SQLITE_DONE) {
		*err = 1;
	}
	sqlite3_reset(v->alloc);
	return r;
}

const char *heap_view_label(struct heap_view *v, uint64_t e, int *err)
{
	struct heap_ref ref;
	if (heap_view_edge(v, e, &ref) < 0) {
		*err = 1;
		return NULL;
	}
	unsigned k = ref.kind;
	uint64_t l = ref.label;
	char num[32];
	if (k == HEAP_REF_WEAK)
		return "(weak)";
	if (k == HEAP_REF_INDEX) {
		int n = snprintf(num, sizeof num, "[%lld]", (long long)(int64_t)l);
		return keep(&v->label, &v->label_cap, num, (size_t)n);
	}
	if (k != HEAP_REF_KEY && k != HEAP_REF_ATTR)
		return NULL;
	/* the spelling of the refs view: ['key'] as SQLite's quote(), .name */
	const char *r = NULL;
	sqlite3_bind_int64(v->text, 1, (sqlite3_int64)l);
	int rc = sqlite3_step(v->text);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		const char *s =
		        rc == SQLITE_ROW ? (const char *)sqlite3_column_text(v->text, 0) : NULL;
		size_t n = s ? (size_t)sqlite3_column_bytes(v->text, 0) : 0, q = 0;
		if (!s) {
			r = k == HEAP_REF_KEY ? "[NULL]" : NULL;
		} else if (reserve(&v->label, &v->label_cap, 2 * n + 8) == 0) {
			char *p = v->label;
			if (k == HEAP_REF_ATTR) {
				p[q++] = '.';
				memcpy(p + q, s, n);
				q += n;
			} else {
				n = strnlen(s, n); /* quote() stops at a NUL */
				p[q++] = '[';
				p[q++] = '\'';
				for (size_t i = 0; i < n; i++) {
					if (s[i] == '\'')
						p[q++] = '\'';
					p[q++] = s[i];
				}
				p[q++] = '\'';
				p[q++] = ']';
			}
			p[q] = 0;
			r = p;
		}
	} else {
		*err = 1;
	}
	sqlite3_reset(v->text);
	return r;
}

uint32_t heap_view_find(struct heap_view *v, uint64_t addr, int *err)
{
	sqlite3_stmt *st;
	uint32_t id = HEAP_NONE;
	if (sqlite3_prepare_v2(v->db, "SELECT id FROM object_data WHERE address = ?1 ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		*err = 1;
		return HEAP_NONE;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)addr);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 x = sqlite3_column_int64(st, 0);
		if (x >= 0 && (uint64_t)x < v->h.n)
			id = (uint32_t)x;
	} else if (rc != SQLITE_DONE) {
		*err = 1;
	}
	sqlite3_finalize(st);
	return id;
}
