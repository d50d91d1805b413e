/* pathstep.c — the heap and database side of path naming (see pathstep.h):
 * references, referrers and key objects from the heap's arrays; value,
 * refcount, flags and names from a few prepared statements per printed step. */
#include "pathstep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_path.h"
#include "pathfmt.h"
#include "pymple_format.h"

#define KEY_ITEMS 6 /* tuple items shown in a key's repr */

int pathstep_init(struct pathstep *ps, struct heap_view *hv)
{
	memset(ps, 0, sizeof *ps);
	ps->hv = hv;
	sqlite3 *db = hv->db;
	/* one read transaction for every lookup of the printing, not one each */
	ps->began = sqlite3_get_autocommit(db) &&
	            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_stmt *mods = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT o.value, o.refcount, o.flags, o.address FROM object_data o"
	                       " WHERE o.id = ?1",
	                       -1, &ps->obj, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT kind, name FROM names WHERE address = ?1 LIMIT 1", -1,
	                       &ps->name, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT kind, name FROM root_data WHERE object = ?1 LIMIT 1", -1,
	                       &ps->rootrec, NULL) ||
	    sqlite3_prepare_v2(
	            db,
	            "SELECT json_object('label', ?1, 'type', ?2, 'name', ?3, 'address', ?4,"
	            " 'objects', ?5, 'root', ?6)",
	            -1, &ps->json, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT object FROM root_data WHERE kind = 1 AND object IS NOT NULL",
	                       -1, &mods, NULL)) {
		sqlite3_finalize(mods);
		pathstep_release(ps);
		return -1;
	}
	ps->modules = calloc(((size_t)hv->h.n + 8) / 8, 1);
	if (!ps->modules) {
		sqlite3_finalize(mods);
		pathstep_release(ps);
		return -2;
	}
	int rc;
	while ((rc = sqlite3_step(mods)) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(mods, 0);
		if (v >= 0 && (uint64_t)v < hv->h.n)
			ps->modules[v >> 3] |= (uint8_t)(1u << (v & 7));
	}
	sqlite3_finalize(mods);
	if (rc != SQLITE_DONE) {
		pathstep_release(ps);
		return -1;
	}
	/* The few named addresses in memory: most steps need no lookup there. */
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT address FROM names ORDER BY address", -1, &mods,
	                       NULL)) {
		pathstep_release(ps);
		return -1;
	}
	size_t cap = 0;
	while ((rc = sqlite3_step(mods)) == SQLITE_ROW) {
		if (ps->nnamed == cap) {
			cap = cap ? 2 * cap : 256;
			uint64_t *q = realloc(ps->named, cap * sizeof *q);
			if (!q) {
				sqlite3_finalize(mods);
				pathstep_release(ps);
				return -2;
			}
			ps->named = q;
		}
		ps->named[ps->nnamed++] = (uint64_t)sqlite3_column_int64(mods, 0);
	}
	sqlite3_finalize(mods);
	if (rc != SQLITE_DONE) {
		pathstep_release(ps);
		return -1;
	}
	return 0;
}

/* 1 if the names table names address a (named is sorted as SQLite orders
 * integers: signed). */
static int is_named(const struct pathstep *ps, uint64_t a)
{
	size_t lo = 0, hi = ps->nnamed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)ps->named[mid] < (int64_t)a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ps->nnamed && ps->named[lo] == a;
}

void pathstep_release(struct pathstep *ps)
{
	sqlite3_finalize(ps->obj);
	sqlite3_finalize(ps->name);
	sqlite3_finalize(ps->rootrec);
	sqlite3_finalize(ps->json);
	free(ps->modules);
	free(ps->named);
	if (ps->began)
		sqlite3_exec(ps->hv->db, "COMMIT", NULL, NULL, NULL);
	memset(ps, 0, sizeof *ps);
}

static void copy(char *dst, size_t n, const unsigned char *s)
{
	/* a copy cut to fit: one per printed step, no printf machinery */
	size_t len = s ? strnlen((const char *)s, n - 1) : 0;
	if (len)
		memcpy(dst, s, len);
	dst[len] = 0;
}

/* Steps st once: 1 row, 0 none, -1 error. */
static int step1(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The object row: address, value, refcount, flags, name (one lookup, and
 * one more for the few objects the names table names). -1 on error. */
static int read_obj(struct pathstep *ps, uint32_t id, struct pathstep_obj *o, int64_t *refcount,
                    int64_t *flags, char *nm, size_t nmn, int *name_kind)
{
	sqlite3_bind_int64(ps->obj, 1, id);
	int got = step1(ps->obj);
	*name_kind = 0;
	nm[0] = 0;
	if (got > 0) {
		int has_value = sqlite3_column_type(ps->obj, 0) != SQLITE_NULL;
		copy(o->valbuf, sizeof o->valbuf, sqlite3_column_text(ps->obj, 0));
		o->value = has_value ? o->valbuf : NULL;
		*refcount = sqlite3_column_int64(ps->obj, 1);
		*flags = sqlite3_column_int64(ps->obj, 2);
		o->address = (uint64_t)sqlite3_column_int64(ps->obj, 3);
	}
	sqlite3_reset(ps->obj);
	if (got > 0 && is_named(ps, o->address)) {
		sqlite3_bind_int64(ps->name, 1, (sqlite3_int64)o->address);
		got = step1(ps->name);
		if (got > 0 && sqlite3_column_type(ps->name, 1) != SQLITE_NULL) {
			*name_kind = sqlite3_column_int(ps->name, 0);
			copy(nm, nmn, sqlite3_column_text(ps->name, 1));
		}
		sqlite3_reset(ps->name);
		if (got == 0)
			got = 1; /* the name went away: none */
	}
	return got > 0 ? 0 : -1;
}

int pathstep_object(struct pathstep *ps, uint32_t id, int as_root, struct pathstep_obj *o)
{
	const struct heap *h = &ps->hv->h;
	int64_t refcount = 0, flags = 0;
	int name_kind = 0;
	char nm[PATHSTEP_TEXT];
	o->type = heap_view_type(ps->hv, id);
	o->why[0] = 0;
	if (read_obj(ps, id, o, &refcount, &flags, nm, sizeof nm, &name_kind) < 0)
		return -1;
	struct pathfmt_obj f = {o->type, o->value, name_kind ? nm : NULL, name_kind};
	char name[PATHSTEP_TEXT];
	pathfmt_object(&f, name, sizeof name);
	copy(o->name, sizeof o->name, (const unsigned char *)name);
	if (!as_root || !strcmp(o->type, "<thread>"))
		return 0;
	/* A running frame (a <frame> record; before 3.11 the frame object a
	 * thread record points at): the thread it runs in goes first. */
	if (!strcmp(o->type, "<frame>") || !strcmp(o->type, "frame")) {
		for (uint64_t k = h->roff[id]; k < h->roff[id + 1]; k++) {
			uint32_t s = h->rsrc[k];
			if (strcmp(heap_view_type(ps->hv, s), "<thread>") != 0)
				continue;
			struct pathstep_obj t;
			int64_t rc2, fl2;
			int nk2;
			char nm2[8];
			if (read_obj(ps, s, &t, &rc2, &fl2, nm2, sizeof nm2, &nk2) < 0)
				return -1;
			struct pathfmt_obj tf = {"<thread>", t.value, NULL, 0};
			char tn[128];
			pathfmt_object(&tf, tn, sizeof tn);
			snprintf(o->name, sizeof o->name, "%.120s %.380s", tn, name);
			return 0;
		}
		if (!strcmp(o->type, "<frame>"))
			return 0;
	}
	int root_kind = 0, in_modules = 0, got;
	char rname[PATHSTEP_TEXT] = "";
	sqlite3_bind_int64(ps->rootrec, 1, id);
	if ((got = step1(ps->rootrec)) > 0) {
		root_kind = sqlite3_column_int(ps->rootrec, 0);
		copy(rname, sizeof rname, sqlite3_column_text(ps->rootrec, 1));
	}
	sqlite3_reset(ps->rootrec);
	if (got < 0)
		return -1;
	int64_t seen = 0;
	for (uint64_t k = h->roff[id]; k < h->roff[id + 1]; k++) {
		uint32_t s = h->rsrc[k];
		if (!heap_view_rev_weak(ps->hv, k))
			seen++;
		if (ps->modules[s >> 3] & (1u << (s & 7)))
			in_modules = 1;
	}
	if (strcmp(o->type, "module") != 0)
		in_modules = 0;
	pathfmt_root_reason(root_kind, rname, in_modules, refcount, seen, o->why, sizeof o->why);
	return 0;
}

/* The repr of the key object with id key. */
static int key_repr(struct pathstep *ps, uint32_t key, char *buf, size_t n)
{
	const struct heap *h = &ps->hv->h;
	struct pathstep_obj k;
	if (pathstep_object(ps, key, 0, &k) < 0)
		return -1;
	struct pathfmt_obj ko = {k.type, k.value, NULL, 0}, items[KEY_ITEMS];
	struct pathstep_obj it[KEY_ITEMS];
	size_t ni = 0;
	if (!strcmp(k.type, "tuple")) {
		for (uint64_t e = h->off[key]; e < h->off[key + 1] && ni < KEY_ITEMS; e++) {
			struct heap_ref r;
			if (heap_view_edge(ps->hv, e, &r) < 0)
				return -1;
			if (r.kind != HEAP_REF_INDEX || r.dst == HEAP_NONE)
				continue;
			if (pathstep_object(ps, r.dst, 0, &it[ni]) < 0)
				return -1;
			items[ni] = (struct pathfmt_obj){it[ni].type, it[ni].value, NULL, 0};
			ni++;
		}
	}
	pathfmt_key(&ko, items, ni, buf, n);
	return 0;
}

int pathstep_edge(struct pathstep *ps, uint64_t e, char *buf, size_t n)
{
	const struct heap *h = &ps->hv->h;
	int bad = 0;
	struct heap_ref r, key;
	if (heap_view_edge(ps->hv, e, &r) < 0)
		return -1;
	if (r.kind != HEAP_REF_NONE) {
		const char *l = heap_view_label(ps->hv, e, &bad);
		copy(buf, n, (const unsigned char *)l);
		return bad ? -1 : 0;
	}
	/* F_PAIRS: reference 2i is a key, 2i + 1 the value under it */
	uint32_t src = heap_edge_src(h, e);
	uint64_t seq = e - h->off[src], first = h->off[src] + (seq & ~(uint64_t)1);
	struct pathstep_obj so;
	int64_t refcount, flags = 0;
	int nk;
	char nm[8];
	buf[0] = 0;
	if (read_obj(ps, src, &so, &refcount, &flags, nm, sizeof nm, &nk) < 0)
		return -1;
	if (!(flags & PYM_F_PAIRS) || first >= h->off[src + 1])
		return 0;
	if (heap_view_edge(ps->hv, first, &key) < 0)
		return -1;
	if (key.dst == HEAP_NONE)
		return 0;
	char kr[PATHSTEP_TEXT];
	if (key_repr(ps, key.dst, kr, sizeof kr) < 0)
		return -1;
	pathfmt_edge(PYM_LABEL_NONE, 0, NULL, kr, (seq & 1) == 0, buf, n);
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
	if (s && s[0])
		sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col);
}

const char *pathstep_json(struct pathstep *ps, const struct pathstep_obj *o, const char *label,
                          int64_t objects)
{
	sqlite3_reset(ps->json);
	bind_text_or_null(ps->json, 1, label);
	bind_text_or_null(ps->json, 2, o->type);
	bind_text_or_null(ps->json, 3, o->name);
	if (o->address)
		sqlite3_bind_int64(ps->json, 4, (int64_t)o->address);
	else
		sqlite3_bind_null(ps->json, 4);
	if (objects >= 0)
		sqlite3_bind_int64(ps->json, 5, objects);
	else
		sqlite3_bind_null(ps->json, 5);
	bind_text_or_null(ps->json, 6, o->why);
	if (step1(ps->json) <= 0)
		return NULL;
	return (const char *)sqlite3_column_text(ps->json, 0);
}

int pathstep_json_open(FILE *fp, struct pathstep *ps, const struct pathstep_obj *o,
                       const char *label, int64_t objects)
{
	const char *j = pathstep_json(ps, o, label, objects);
	if (!j)
		return -1;
	size_t n = strlen(j);
	fwrite(j, 1, n ? n - 1 : 0, fp); /* json_object() ends with its '}' */
	return 0;
}

void pathstep_dict_name(struct pathstep_obj *o, const char *edge_in)
{
	if (!strcmp(edge_in, ".__dict__") && !strcmp(o->type, "dict"))
		snprintf(o->name, sizeof o->name, "dict");
}

/* The chain of p from entry start, as JSON steps or as one line of text. */
static int chain_write(struct pathstep *ps, const struct heap_path *p, long start, FILE *fp,
                       int json)
{
	char edge_in[PATHSTEP_TEXT] = "", edge_out[PATHSTEP_TEXT];
	struct pathstep_obj o;
	int step = 0;
	if (json)
		fputs("[\n", fp);
	for (long i = start; i >= 0; i = (long)p->next[i], step++) {
		edge_out[0] = 0;
		if (pathstep_object(ps, p->node[i], step == 0, &o) < 0 ||
		    (p->next[i] >= 0 &&
		     pathstep_edge(ps, p->edge[i], edge_out, sizeof edge_out) < 0))
			return -1;
		pathstep_dict_name(&o, edge_in);
		if (json) {
			const char *j = pathstep_json(ps, &o, edge_in, -1);
			if (!j)
				return -1;
			fprintf(fp, "%s%s", step ? ",\n" : "", j);
		} else {
			fprintf(fp, "%s%s%s%s", step ? " -> " : "", o.name, o.why[0] ? " " : "",
			        o.why);
			if (edge_out[0] && strcmp(edge_out, ".__dict__") != 0)
				fprintf(fp, " %s", edge_out);
		}
		memcpy(edge_in, edge_out, sizeof edge_in);
	}
	if (json)
		fputs("\n]", fp);
	return 0;
}

int pathstep_chain_json(struct pathstep *ps, const struct heap_path *p, long start, FILE *fp)
{
	return chain_write(ps, p, start, fp, 1);
}

int pathstep_chain_text(struct pathstep *ps, const struct heap_path *p, long start, FILE *fp)
{
	return chain_write(ps, p, start, fp, 0);
}
