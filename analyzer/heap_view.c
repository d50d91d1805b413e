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

int heap_view_open_input(struct heap_view *v, const char *path)
{
	if (cmd_needs & CMD_NEEDS_HEAP)
		return heap_view_open(v, path);
	memset(v, 0, sizeof *v);
	heap_init(&v->h);
	v->file = path;
	return cli_open(path, 0, &v->db);
}

int heap_view_open(struct heap_view *v, const char *path)
{
	struct db_error err;
	int rc;
	memset(v, 0, sizeof *v);
	heap_init(&v->h);
	v->file = path;
	if ((rc = cli_open(path, 0, &v->db)))
		return rc;
	memset(&err, 0, sizeof err);
	if (heap_load(v->db, path, &v->h, &err) < 0) {
		cli_error(err.file[0] ? err.file : path, "%s", err.msg);
		heap_view_close(v);
		return err.status ? err.status : CLI_RUNTIME;
	}
	v->type_name = calloc((size_t)v->h.ntypes + 1, sizeof *v->type_name);
	if (!v->type_name || heap_reverse(&v->h) < 0) {
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
	                       -1, &v->alloc, NULL) != SQLITE_OK) {
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
	heap_release(&v->h);
	sqlite3_close(v->db);
	free(v->label);
	free(v->val);
	memset(v, 0, sizeof *v);
}

const char *heap_view_type(const struct heap_view *v, uint32_t id)
{
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
	unsigned k = v->h.kind[e];
	uint64_t l = heap_label(&v->h, e);
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
