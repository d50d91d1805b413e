/* load_records.c — pass 1 of a load: every record of the dump through the
 * one reader, on a second thread (recq.h) while this one takes them: META,
 * STRING and TYPE rows go straight to SQLite, OBJECTs and ROOTs into the
 * heap builder (heap_build.h). References come in pieces (PYM_READ_PIECES):
 * the reader never gathers an object's whole list beside the heap's copy.
 * Never prints. */
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "load_int.h"
#include "pymple_format.h"
#include "recq.h"

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

static int add_type(struct loader *L, const struct recq_rec *qr, sqlite3_stmt *typ)
{
	const struct pym_record *rec = &qr->rec;
	size_t len = qr->name.len;
	const char *name = qr->name.p;
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

/* Refuses a dump whose trailer says the load would need more than
 * load_max_memory, and puts the reader on that budget. */
static int check_memory(struct loader *L, struct pym_reader *r)
{
	uint64_t t[6];
	pym_reader_set_budget(r, load_max_memory);
	if (!load_max_memory || !pym_reader_trailer(r, t))
		return 0;
	long double need = (long double)t[0] * LOAD_BYTES_PER_OBJECT +
	                   (long double)t[1] * LOAD_BYTES_PER_REF +
	                   (long double)t[2] * LOAD_BYTES_PER_STRING;
	if (need <= (long double)load_max_memory)
		return 0;
	return load_fail(
	        L, 2, L->dump,
	        "loading it needs about %.0Lf MiB of memory (%llu objects, %llu references, "
	        "%llu strings), more than --max-memory %llu MiB",
	        need / (1 << 20), (unsigned long long)t[0], (unsigned long long)t[1],
	        (unsigned long long)t[2], (unsigned long long)(load_max_memory >> 20));
}

static int too_many_or_oom(struct loader *L, uint32_t nrefs)
{
	if (L->b.h.n >= HEAP_MAX_OBJECTS || L->b.h.m + nrefs > HEAP_MAX_REFS)
		return load_fail(L, 1, L->dump, "too many objects or references for one load");
	return load_fail_oom(L);
}

/* A SITE record: its sites row (the innermost frame as 'file:line') and
 * one site_frames row per frame. */
static int add_site(struct loader *L, const struct recq_rec *qr, sqlite3_stmt *site,
                    sqlite3_stmt *frame)
{
	const struct pym_record *rec = &qr->rec;
	for (uint32_t i = 0; i < rec->nframes; i++) {
		size_t len = qr->files[i].len;
		const char *file = qr->files[i].p;
		if (i == 0) {
			char *alloc =
			        sqlite3_mprintf("%.*s:%u", (int)len, file, rec->frames[0].line);
			if (!alloc)
				return load_fail_oom(L);
			sqlite3_bind_int64(site, 1, rec->id);
			sqlite3_bind_text(site, 2, alloc, -1, sqlite3_free);
			sqlite3_bind_int64(site, 3, rec->nframes);
			if (step_done(L, site) < 0)
				return -1;
		}
		sqlite3_bind_int64(frame, 1, rec->id);
		sqlite3_bind_int64(frame, 2, i);
		sqlite3_bind_text(frame, 3, file, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(frame, 4, rec->frames[i].line);
		if (step_done(L, frame) < 0)
			return -1;
	}
	L->sites++;
	return 0;
}

int load_records(struct loader *L)
{
	struct pym_error e = {0};
	const struct recq_rec *qr;
	struct recq *q = NULL;
	uint64_t offset;
	sqlite3_stmt *meta = NULL, *str = NULL, *typ = NULL, *site = NULL, *frame = NULL;
	sqlite3_stmt *nam = NULL;
	uint64_t count = 0;
	int rc = -1, got;
	struct pym_reader *r = pym_reader_open(L->dump, &e);
	if (!r)
		return load_fail_reader(L, &e);
	L->file_size = pym_reader_file_size(r);
	/* References in pieces: a long list never sits whole in the reader. */
	pym_reader_set_mode(r, PYM_READ_PIECES);
	if (check_memory(L, r) < 0)
		goto out;
	if (prep(L, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &meta) < 0 ||
	    prep(L, "INSERT INTO strings(id, text) VALUES (?1, ?2)", &str) < 0 ||
	    prep(L, "INSERT INTO types(id, name, address) VALUES (?1, ?2, ?3)", &typ) < 0 ||
	    prep(L, "INSERT INTO sites(id, alloc, frames) VALUES (?1, ?2, ?3)", &site) < 0 ||
	    prep(L, "INSERT INTO site_frames(site, depth, file, line) VALUES (?1, ?2, ?3, ?4)",
	         &frame) < 0 ||
	    prep(L, "INSERT INTO names(address, kind, name) VALUES (?1, ?2, ?3)", &nam) < 0)
		goto out;
	/* the records are decoded on a second thread (recq.h) */
	if (!(q = recq_start(r))) {
		load_fail(L, 1, L->dump, "cannot start the decoding thread");
		goto out;
	}
	while ((got = recq_next(q, &qr, &offset)) == 1) {
		const struct pym_record *rec = &qr->rec;
		if (++count % PROGRESS_EVERY == 0 && L->progress)
			L->progress(L->progress_ctx, 1, offset, L->file_size);
		switch (rec->type) {
		case PYM_R_OBJECT:
			if (rec->type_index >= L->b.h.ntypes) {
				load_fail(L, 2, L->dump,
				          "corrupt: object at 0x%llx has unknown type %u",
				          (unsigned long long)rec->addr, rec->type_index);
				goto out;
			}
			if (heap_builder_object(&L->b, rec) < 0) {
				too_many_or_oom(L, rec->nrefs);
				goto out;
			}
			if (grow(&L->own, sizeof *L->own, L->b.h.n, &L->owncap) < 0) {
				load_fail_oom(L);
				goto out;
			}
			uint64_t own = rec->size + ((rec->flags & PYM_F_EXTRA) ? rec->extra : 0);
			if (own >= UINT32_MAX) {
				if (grow(&L->big, sizeof *L->big, L->nbig + 1, &L->bigcap) < 0) {
					load_fail_oom(L);
					goto out;
				}
				L->big[L->nbig].v = L->b.h.n - 1;
				L->big[L->nbig++].own = own;
				own = UINT32_MAX;
			}
			L->own[L->b.h.n - 1] = (uint32_t)own;
			L->serials += (rec->flags & PYM_F_SERIAL) != 0;
			L->alloc_objects += rec->site != 0;
			if (!(rec->flags & PYM_F_SYNTHETIC)) {
				struct tstat *t = &L->tstat[rec->type_index];
				t->count++;
				t->size += rec->size;
				t->extra += (rec->flags & PYM_F_EXTRA) ? rec->extra : 0;
			}
			break;
		case PYM_R_REFS: {
			int brc = heap_builder_refs(&L->b, rec);
			if (brc == -2) {
				load_fail(L, 2, L->dump,
				          "corrupt: references of 0x%llx out of place",
				          (unsigned long long)rec->addr);
				goto out;
			}
			if (brc < 0) {
				too_many_or_oom(L, rec->nrefs);
				goto out;
			}
			break;
		}
		case PYM_R_STRING:
			sqlite3_bind_int64(str, 1, rec->id);
			sqlite3_bind_text(str, 2, rec->text, (int)rec->text_len, SQLITE_STATIC);
			if (step_done(L, str) < 0)
				goto out;
			L->strings++;
			break;
		case PYM_R_TYPE:
			if (add_type(L, qr, typ) < 0)
				goto out;
			break;
		case PYM_R_SITE:
			if (add_site(L, qr, site, frame) < 0)
				goto out;
			break;
		case PYM_R_META:
			sqlite3_bind_text(meta, 1, rec->key, (int)rec->key_len, SQLITE_STATIC);
			sqlite3_bind_text(meta, 2, rec->text, (int)rec->text_len, SQLITE_STATIC);
			if (step_done(L, meta) < 0)
				goto out;
			break;
		case PYM_R_ROOT:
			if (grow(&L->roots, sizeof *L->roots, L->nroots + 1, &L->rcap) < 0 ||
			    heap_builder_named_root(&L->b, rec->addr) < 0) {
				load_fail_oom(L);
				goto out;
			}
			L->roots[L->nroots].addr = rec->addr;
			L->roots[L->nroots].kind = rec->root_kind;
			L->roots[L->nroots].name = rec->root_name;
			L->nroots++;
			break;
		case PYM_R_NAME: {
			size_t len = qr->name.len;
			const char *name = qr->name.p;
			if (rec->name_kind != PYM_NAME_CELL && rec->name_kind != PYM_NAME_GLOBALS)
				break; /* a kind of a later minor version */
			sqlite3_bind_int64(nam, 1, (sqlite3_int64)rec->addr);
			sqlite3_bind_int(nam, 2, (int)rec->name_kind);
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
		recq_stop(q, &e);
		q = NULL;
		load_fail_reader(L, &e);
		goto out;
	}
	load_progress(L, 1, r);
	rc = 0;
out:
	if (q)
		recq_stop(q, NULL);
	sqlite3_finalize(meta);
	sqlite3_finalize(str);
	sqlite3_finalize(typ);
	sqlite3_finalize(nam);
	sqlite3_finalize(site);
	sqlite3_finalize(frame);
	pym_reader_close(r);
	return rc;
}
