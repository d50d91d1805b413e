/* load_records.c — pass 1 of a load: every record of the dump through the
 * one reader; META, STRING and TYPE rows go straight to SQLite, OBJECTs and
 * ROOTs into the heap builder (heap_build.h). Never prints. */
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "load_int.h"
#include "pymple_format.h"

static int grow(void *pp, size_t sz, uint64_t need, uint64_t *cap)
{
	void **p = pp;
	if (need <= *cap)
		return 0;
	uint64_t c = *cap ? *cap : 64;
	while (c < need)
		c += c / 2 + 64;
	void *q = realloc(*p, (size_t)(c * sz));
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int step_done(struct loader *L, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return load_fail_sql(L, "cannot insert");
	return 0;
}

static int prep(struct loader *L, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(L->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return load_fail_sql(L, "cannot prepare an insert");
	return 0;
}

static int add_type(struct loader *L, struct pym_reader *r, const struct pym_record *rec,
                    sqlite3_stmt *typ)
{
	size_t len = 0;
	const char *name = pym_reader_string(r, rec->name_id, &len);
	uint32_t nt = L->b.h.ntypes;
	uint64_t cap;
	if (!name)
		return load_fail(L, 2, L->dump, "corrupt: type %u names unknown string %u", rec->id,
		                 rec->name_id);
	if (rec->id != nt)
		return load_fail(L, 2, L->dump, "corrupt: type index %u out of order", rec->id);
	cap = L->tcap;
	if (grow(&L->thash, sizeof *L->thash, (uint64_t)nt + 1, &cap) < 0)
		return load_fail_oom(L);
	cap = L->tcap;
	if (grow(&L->tstat, sizeof *L->tstat, (uint64_t)nt + 1, &cap) < 0)
		return load_fail_oom(L);
	L->tcap = cap;
	if (heap_builder_type(&L->b, rec->addr) < 0)
		return load_fail_oom(L);
	L->thash[nt] = load_fnv1a(LOAD_FNV_OFFSET, name, len);
	memset(&L->tstat[nt], 0, sizeof *L->tstat);
	sqlite3_bind_int64(typ, 1, rec->id);
	sqlite3_bind_text(typ, 2, name, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(typ, 3, (sqlite3_int64)rec->addr);
	return step_done(L, typ);
}

int load_records(struct loader *L)
{
	struct pym_error e = {0};
	struct pym_record rec;
	sqlite3_stmt *meta = NULL, *str = NULL, *typ = NULL, *nam = NULL;
	uint64_t count = 0;
	int rc = -1, got;
	struct pym_reader *r = pym_reader_open(L->dump, &e);
	if (!r)
		return load_fail_reader(L, &e);
	L->file_size = pym_reader_file_size(r);
	if (prep(L, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &meta) < 0 ||
	    prep(L, "INSERT INTO strings(id, text) VALUES (?1, ?2)", &str) < 0 ||
	    prep(L, "INSERT INTO types(id, name, address) VALUES (?1, ?2, ?3)", &typ) < 0 ||
	    prep(L, "INSERT INTO names(address, kind, name) VALUES (?1, ?2, ?3)", &nam) < 0)
		goto out;
	while ((got = pym_reader_next(r, &rec, &e)) == 1) {
		if (++count % PROGRESS_EVERY == 0)
			load_progress(L, 1, r);
		switch (rec.type) {
		case PYM_R_OBJECT:
			if (rec.type_index >= L->b.h.ntypes) {
				load_fail(L, 2, L->dump,
				          "corrupt: object at 0x%llx has unknown type %u",
				          (unsigned long long)rec.addr, rec.type_index);
				goto out;
			}
			if (heap_builder_object(&L->b, &rec) < 0) {
				if (L->b.h.n >= HEAP_MAX_OBJECTS ||
				    L->b.h.m + rec.nrefs > HEAP_MAX_REFS)
					load_fail(L, 1, L->dump,
					          "too many objects or references for one load");
				else
					load_fail_oom(L);
				goto out;
			}
			L->serials += (rec.flags & PYM_F_SERIAL) != 0;
			if (!(rec.flags & PYM_F_SYNTHETIC)) {
				struct tstat *t = &L->tstat[rec.type_index];
				t->count++;
				t->size += rec.size;
				t->extra += (rec.flags & PYM_F_EXTRA) ? rec.extra : 0;
			}
			break;
		case PYM_R_STRING:
			sqlite3_bind_int64(str, 1, rec.id);
			sqlite3_bind_text(str, 2, rec.text, (int)rec.text_len, SQLITE_STATIC);
			if (step_done(L, str) < 0)
				goto out;
			L->strings++;
			break;
		case PYM_R_TYPE:
			if (add_type(L, r, &rec, typ) < 0)
				goto out;
			break;
		case PYM_R_META:
			sqlite3_bind_text(meta, 1, rec.key, (int)rec.key_len, SQLITE_STATIC);
			sqlite3_bind_text(meta, 2, rec.text, (int)rec.text_len, SQLITE_STATIC);
			if (step_done(L, meta) < 0)
				goto out;
			break;
		case PYM_R_ROOT:
			if (grow(&L->roots, sizeof *L->roots, L->nroots + 1, &L->rcap) < 0 ||
			    heap_builder_named_root(&L->b, rec.addr) < 0) {
				load_fail_oom(L);
				goto out;
			}
			L->roots[L->nroots].addr = rec.addr;
			L->roots[L->nroots].kind = rec.root_kind;
			L->roots[L->nroots].name = rec.root_name;
			L->nroots++;
			break;
		case PYM_R_NAME: {
			size_t len;
			const char *name = pym_reader_string(r, rec.name_id, &len);
			if (rec.name_kind != PYM_NAME_CELL && rec.name_kind != PYM_NAME_GLOBALS)
				break; /* a kind of a later minor version */
			sqlite3_bind_int64(nam, 1, (sqlite3_int64)rec.addr);
			sqlite3_bind_int(nam, 2, (int)rec.name_kind);
			sqlite3_bind_text(nam, 3, name, (int)len, SQLITE_STATIC);
			if (step_done(L, nam) < 0)
				goto out;
			break;
		}
		default:
			break;
		}
	}
	if (got < 0) {
		load_fail_reader(L, &e);
		goto out;
	}
	load_progress(L, 1, r);
	rc = 0;
out:
	sqlite3_finalize(meta);
	sqlite3_finalize(str);
	sqlite3_finalize(typ);
	sqlite3_finalize(nam);
	pym_reader_close(r);
	return rc;
}
