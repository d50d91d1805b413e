/* pathstep.c — the database side of path naming (see pathstep.h): a few
 * prepared statements per command run, one row each per step. */
#include "pathstep.h"

#include <stdio.h>
#include <string.h>

#include "pathfmt.h"
#include "pymple_format.h"

#define KEY_ITEMS 6 /* tuple items shown in a key's repr */

int pathstep_init(struct pathstep *ps, sqlite3 *db)
{
	memset(ps, 0, sizeof *ps);
	ps->db = db;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT o.address, t.name, o.value, o.refcount,"
	            " (SELECT kind FROM names n WHERE n.address = o.address LIMIT 1),"
	            " (SELECT name FROM names n WHERE n.address = o.address LIMIT 1)"
	            " FROM object_data o JOIN types t ON t.id = o.type_id WHERE o.id = ?1",
	            -1, &ps->obj, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT text FROM strings WHERE id = ?1", -1, &ps->label,
	                       NULL) ||
	    sqlite3_prepare_v2(
	            db,
	            "SELECT s.flags & ?3, r.dst FROM object_data s"
	            " LEFT JOIN ref_data r ON r.src = s.id AND r.seq = ?2 WHERE s.id = ?1",
	            -1, &ps->pair, NULL) ||
	    sqlite3_prepare_v2(
	            db,
	            "SELECT t.name, o.value FROM ref_data r JOIN object_data o ON o.id = r.dst"
	            " JOIN types t ON t.id = o.type_id WHERE r.src = ?1 ORDER BY r.seq"
	            " LIMIT ?2",
	            -1, &ps->items, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT kind, name FROM root_data WHERE object = ?1 LIMIT 1", -1,
	                       &ps->rootrec, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM ref_in i JOIN root_data rd ON rd.object = i.src"
	                       " AND rd.kind = 1 WHERE i.dst = ?1 LIMIT 1",
	                       -1, &ps->modules, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT o.value FROM ref_in i JOIN object_data o ON o.id = i.src"
	                       " JOIN types t ON t.id = o.type_id WHERE i.dst = ?1"
	                       " AND t.name = '<thread>' LIMIT 1",
	                       -1, &ps->thread, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM ref_in i JOIN ref_data r ON r.src = i.src"
	                       " AND r.seq = i.seq WHERE i.dst = ?1 AND r.kind != 4",
	                       -1, &ps->seen, NULL) ||
	    sqlite3_prepare_v2(
	            db,
	            "SELECT json_object('address', ?1, 'type', ?2, 'name', ?3, 'edge', ?4,"
	            " 'value', ?5, 'root', ?6)",
	            -1, &ps->json, NULL)) {
		pathstep_release(ps);
		return -1;
	}
	return 0;
}

void pathstep_release(struct pathstep *ps)
{
	sqlite3_finalize(ps->obj);
	sqlite3_finalize(ps->label);
	sqlite3_finalize(ps->pair);
	sqlite3_finalize(ps->items);
	sqlite3_finalize(ps->rootrec);
	sqlite3_finalize(ps->modules);
	sqlite3_finalize(ps->thread);
	sqlite3_finalize(ps->seen);
	sqlite3_finalize(ps->json);
	memset(ps, 0, sizeof *ps);
}

static void copy(char *dst, size_t n, const unsigned char *s)
{
	snprintf(dst, n, "%s", s ? (const char *)s : "");
}

/* Steps st once: 1 row, 0 none, -1 error. */
static int step1(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pathstep_object(struct pathstep *ps, int64_t id, int as_root, struct pathstep_obj *o)
{
	memset(o, 0, sizeof *o - sizeof o->typebuf - sizeof o->valbuf);
	sqlite3_bind_int64(ps->obj, 1, id);
	int got = step1(ps->obj);
	if (got <= 0) {
		sqlite3_reset(ps->obj);
		return -1;
	}
	o->address = (uint64_t)sqlite3_column_int64(ps->obj, 0);
	copy(o->typebuf, sizeof o->typebuf, sqlite3_column_text(ps->obj, 1));
	o->type = o->typebuf;
	int has_value = sqlite3_column_type(ps->obj, 2) != SQLITE_NULL;
	copy(o->valbuf, sizeof o->valbuf, sqlite3_column_text(ps->obj, 2));
	o->value = has_value ? o->valbuf : NULL;
	int64_t refcount = sqlite3_column_int64(ps->obj, 3);
	char nm[PATHSTEP_TEXT];
	copy(nm, sizeof nm, sqlite3_column_text(ps->obj, 5));
	struct pathfmt_obj f = {o->type, o->value,
	                        sqlite3_column_type(ps->obj, 5) == SQLITE_NULL ? NULL : nm,
	                        sqlite3_column_int(ps->obj, 4)};
	sqlite3_reset(ps->obj);
	char name[PATHSTEP_TEXT];
	pathfmt_object(&f, name, sizeof name);
	snprintf(o->name, sizeof o->name, "%s", name);
	if (!as_root)
		return 0;
	/* A running frame: the thread it runs in goes first. */
	if (!strcmp(o->type, "<frame>")) {
		sqlite3_bind_int64(ps->thread, 1, id);
		got = step1(ps->thread);
		if (got > 0) {
			char tv[PATHSTEP_TEXT], tn[PATHSTEP_TEXT];
			copy(tv, sizeof tv, sqlite3_column_text(ps->thread, 0));
			struct pathfmt_obj t = {"<thread>", tv, NULL, 0};
			pathfmt_object(&t, tn, sizeof tn);
			snprintf(o->name, sizeof o->name, "%.120s %.380s", tn, name);
		}
		sqlite3_reset(ps->thread);
		return got < 0 ? -1 : 0;
	}
	if (!strcmp(o->type, "<thread>"))
		return 0;
	int root_kind = 0, in_modules = 0;
	char rname[PATHSTEP_TEXT] = "";
	sqlite3_bind_int64(ps->rootrec, 1, id);
	if ((got = step1(ps->rootrec)) > 0) {
		root_kind = sqlite3_column_int(ps->rootrec, 0);
		copy(rname, sizeof rname, sqlite3_column_text(ps->rootrec, 1));
	}
	sqlite3_reset(ps->rootrec);
	if (got < 0)
		return -1;
	if (!root_kind && !strcmp(o->type, "module")) {
		sqlite3_bind_int64(ps->modules, 1, id);
		in_modules = got = step1(ps->modules);
		sqlite3_reset(ps->modules);
		if (got < 0)
			return -1;
	}
	int64_t seen = 0;
	if (!root_kind && !in_modules) {
		sqlite3_bind_int64(ps->seen, 1, id);
		got = step1(ps->seen);
		seen = got > 0 ? sqlite3_column_int64(ps->seen, 0) : 0;
		sqlite3_reset(ps->seen);
		if (got < 0)
			return -1;
	}
	pathfmt_root_reason(root_kind, rname, in_modules, refcount, seen, o->why, sizeof o->why);
	return 0;
}

/* The repr of the key object with id key. */
static int key_repr(struct pathstep *ps, int64_t key, char *buf, size_t n)
{
	struct pathstep_obj k;
	if (pathstep_object(ps, key, 0, &k) < 0)
		return -1;
	struct pathfmt_obj ko = {k.type, k.value, NULL, 0}, items[KEY_ITEMS];
	char it[KEY_ITEMS][2][128];
	size_t ni = 0;
	if (!strcmp(k.type, "tuple")) {
		sqlite3_bind_int64(ps->items, 1, key);
		sqlite3_bind_int(ps->items, 2, KEY_ITEMS);
		int rc;
		while ((rc = sqlite3_step(ps->items)) == SQLITE_ROW && ni < KEY_ITEMS) {
			copy(it[ni][0], sizeof it[ni][0], sqlite3_column_text(ps->items, 0));
			copy(it[ni][1], sizeof it[ni][1], sqlite3_column_text(ps->items, 1));
			items[ni].type = it[ni][0];
			items[ni].value =
			        sqlite3_column_type(ps->items, 1) == SQLITE_NULL ? NULL : it[ni][1];
			items[ni].name = NULL;
			items[ni].name_kind = 0;
			ni++;
		}
		sqlite3_reset(ps->items);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return -1;
	}
	pathfmt_key(&ko, items, ni, buf, n);
	return 0;
}

int pathstep_edge(struct pathstep *ps, int64_t src, int64_t seq, int kind, int64_t label, char *buf,
                  size_t n)
{
	char text[PATHSTEP_TEXT] = "", krepr[PATHSTEP_TEXT];
	const char *kr = NULL;
	int got;
	if (kind == PYM_LABEL_KEY || kind == PYM_LABEL_ATTR) {
		sqlite3_bind_int64(ps->label, 1, label);
		got = step1(ps->label);
		if (got > 0)
			copy(text, sizeof text, sqlite3_column_text(ps->label, 0));
		sqlite3_reset(ps->label);
		if (got < 0)
			return -1;
	} else if (kind == PYM_LABEL_NONE) {
		/* F_PAIRS: reference 2i is a key, 2i + 1 the value under it */
		sqlite3_bind_int64(ps->pair, 1, src);
		sqlite3_bind_int64(ps->pair, 2, seq & ~(int64_t)1);
		sqlite3_bind_int64(ps->pair, 3, PYM_F_PAIRS);
		got = step1(ps->pair);
		int pairs = got > 0 && sqlite3_column_int64(ps->pair, 0) != 0 &&
		            sqlite3_column_type(ps->pair, 1) != SQLITE_NULL;
		int64_t key = pairs ? sqlite3_column_int64(ps->pair, 1) : 0;
		sqlite3_reset(ps->pair);
		if (got < 0)
			return -1;
		if (pairs) {
			if (key_repr(ps, key, krepr, sizeof krepr) < 0)
				return -1;
			kr = krepr;
		}
	}
	pathfmt_edge(kind, label, text, kr, (seq & 1) == 0, buf, n);
	return 0;
}

const char *pathstep_json(struct pathstep *ps, const struct pathstep_obj *o, const char *edge)
{
	sqlite3_reset(ps->json);
	sqlite3_bind_int64(ps->json, 1, (int64_t)o->address);
	sqlite3_bind_text(ps->json, 2, o->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ps->json, 3, o->name, -1, SQLITE_TRANSIENT);
	if (edge && edge[0])
		sqlite3_bind_text(ps->json, 4, edge, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(ps->json, 4);
	if (o->value)
		sqlite3_bind_text(ps->json, 5, o->value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(ps->json, 5);
	if (o->why[0])
		sqlite3_bind_text(ps->json, 6, o->why, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(ps->json, 6);
	if (step1(ps->json) <= 0)
		return NULL;
	return (const char *)sqlite3_column_text(ps->json, 0);
}
