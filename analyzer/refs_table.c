/* refs_table.c — builds the public refs table from the heap (refs_table.h):
 * the same rows, labels spelled as the schema documents ([7], ['key'],
 * .name), in dump order of src, then one index per direction. Never prints. */
#include "refs_table.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_store.h"
#include "load_int.h"

__attribute__((format(printf, 4, 5))) static int fail(struct db_error *err, int status,
                                                      const char *file, const char *fmt, ...)
{
	va_list ap;
	err->status = status;
	snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int refs_table_named(const char *sql)
{
	for (const char *p = sql; (p = strcasestr(p, "refs")) != NULL; p += 4) {
		int before = p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		int after = isalnum((unsigned char)p[4]) || p[4] == '_';
		if (!before && !after)
			return 1;
	}
	return 0;
}

int refs_table_built(sqlite3 *db)
{
	sqlite3_stmt *st;
	int r = -1;
	if (sqlite3_prepare_v2(db, "SELECT type = 'table' FROM sqlite_schema WHERE name = 'refs'",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		r = 0;
	sqlite3_finalize(st);
	return r;
}

/* The string table, for key and attribute labels. */
struct strtab {
	char **s;
	int *len;
	uint32_t n;
};

static void strtab_release(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->len);
}

static int strtab_load(sqlite3 *db, uint32_t n, struct strtab *t)
{
	sqlite3_stmt *st;
	t->n = n;
	t->s = calloc((size_t)n + 1, sizeof *t->s);
	t->len = calloc((size_t)n + 1, sizeof *t->len);
	if (!t->s || !t->len)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT id, text FROM strings", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		const unsigned char *x = sqlite3_column_text(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		if (id < 0 || (uint64_t)id >= n || t->s[id])
			continue;
		t->s[id] = malloc((size_t)len + 1);
		if (!t->s[id]) {
			sqlite3_finalize(st);
			return -1;
		}
		memcpy(t->s[id], x ? (const char *)x : "", (size_t)len);
		t->s[id][len] = 0;
		t->len[id] = len;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The label text of a reference (schema.sql: refs.label), or NULL. buf has
 * room for a quoted string: 4 + 2 * len bytes. */
static const char *label_text(const struct strtab *t, unsigned kind, uint64_t l, char **buf,
                              size_t *cap, int *n)
{
	if (kind == HEAP_REF_INDEX) {
		*n = snprintf(*buf, *cap, "[%lld]", (long long)(int64_t)l);
		return *buf;
	}
	if (kind != HEAP_REF_KEY && kind != HEAP_REF_ATTR)
		return NULL;
	const char *s = l < t->n && t->s[l] ? t->s[l] : NULL;
	size_t len = s ? (size_t)t->len[l] : 0, need = 2 * len + 8;
	if (!s)
		return kind == HEAP_REF_KEY ? "[NULL]" : NULL; /* as quote(NULL) would */
	if (need > *cap) {
		char *q = realloc(*buf, need);
		if (!q)
			return NULL;
		*buf = q;
		*cap = need;
	}
	char *p = *buf;
	if (kind == HEAP_REF_ATTR) {
		*p++ = '.';
		memcpy(p, s, len);
		p += len;
	} else {
		/* quote(): single quotes around, each ' doubled, cut at a NUL */
		len = strnlen(s, len);
		*p++ = '[';
		*p++ = '\'';
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '\'')
				*p++ = '\'';
			*p++ = s[i];
		}
		*p++ = '\'';
		*p++ = ']';
	}
	*n = (int)(p - *buf);
	return *buf;
}

int refs_table_build(sqlite3 *db, const struct heap *h, const char *file, struct db_error *err)
{
	struct strtab t = {0};
	sqlite3_stmt *ins = NULL;
	char *buf = malloc(64);
	size_t cap = 64;
	int rc = -1;
	if (!buf || strtab_load(db, h->nstrings, &t) < 0) {
		fail(err, 1, file, "cannot build refs: %s",
		     buf ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (store_schema_part(db, "refs", err, file) < 0)
		goto out;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO refs(src, dst, label, weak, missing)"
	                       " VALUES (?1, ?2, ?3, ?4, ?5)",
	                       -1, &ins, NULL) != SQLITE_OK) {
		fail(err, 1, file, "cannot build refs: %s", sqlite3_errmsg(db));
		goto out;
	}
	uint64_t miss = 0;
	for (uint32_t v = 0; v < h->n; v++) {
		for (uint64_t e = h->off[v]; e < h->off[v + 1]; e++) {
			uint32_t d = h->dst[e];
			unsigned k = h->kind[e];
			int n = 0;
			const char *l = label_text(&t, k, heap_label(h, e), &buf, &cap, &n);
			sqlite3_bind_int64(ins, 1, (sqlite3_int64)h->addr[v]);
			sqlite3_bind_int64(
			        ins, 2,
			        (sqlite3_int64)(d == HEAP_NONE ? h->missing[miss++] : h->addr[d]));
			if (l)
				sqlite3_bind_text(ins, 3, l, l == buf ? n : -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(ins, 3);
			sqlite3_bind_int(ins, 4, k == HEAP_REF_WEAK);
			sqlite3_bind_int(ins, 5, d == HEAP_NONE);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				fail(err, 1, file, "cannot build refs: %s", sqlite3_errmsg(db));
				goto out;
			}
			sqlite3_reset(ins);
		}
	}
	if (store_schema_part(db, "refs-index", err, file) < 0)
		goto out;
	if (sqlite3_exec(db,
	                 "INSERT OR REPLACE INTO meta(key, value) VALUES ('load.refs_table', '1')",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, 1, file, "cannot build refs: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(ins);
	strtab_release(&t);
	free(buf);
	return rc;
}

int refs_table_ensure(sqlite3 *db, const char *file, struct db_error *err)
{
	struct heap h;
	int built = refs_table_built(db);
	if (built < 0)
		return fail(err, 2, file, "not a pymple database (%s)", sqlite3_errmsg(db));
	if (built)
		return 0;
	heap_init(&h);
	if (heap_load(db, file, &h, err) < 0)
		return -1;
	sqlite3_busy_timeout(db, 600000);
	int rc = -1;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, 1, file, "cannot build refs: %s", sqlite3_errmsg(db));
		goto out;
	}
	built = refs_table_built(db); /* another process may have built it meanwhile */
	if (built == 0 && refs_table_build(db, &h, file, err) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, 1, file, "cannot build refs: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	rc = 0;
out:
	heap_release(&h);
	return rc;
}
