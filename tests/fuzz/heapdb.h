/* heapdb.h — turns a fuzz input into a database whose persisted heap
 * heap_load() then opens, for the heap fuzz target and the corpus replay
 * test. The input describes the heap's meta counts and its heap_chunk rows
 * with each chunk's bytes before compression, so mutations reach the varint
 * decoder and the checks of heap_store.c instead of dying in zlib:
 *
 *   n m missing wide types strings cycles          (varints: the heap.* and load.* counts)
 *   per chunk, to the end of the input:
 *     how (1 byte: bit 0 store the bytes as they are, uncompressed;
 *          bit 1 ulen is the varint below, not the bytes' length)
 *     part first count base missing wide_base wide (varints: heap_chunk's columns)
 *     [ulen]  len  bytes[len]
 *
 * Around it the tables heap_load compares with: one object_rows row of id
 * n - 1, `types` and `strings` rows. Header-only. */
#ifndef PYMPLE_FUZZ_HEAPDB_H
#define PYMPLE_FUZZ_HEAPDB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <sqlite3.h>

#include "load.h"

#define HEAPDB_MAX_ROWS 4096 /* types and strings rows a fuzz input may ask for */

struct heapdb_in {
	const uint8_t *p, *end;
	int bad;
};

static inline uint64_t heapdb_varint(struct heapdb_in *in)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (in->p >= in->end) {
			in->bad = 1;
			return 0;
		}
		uint8_t b = *in->p++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
	in->bad = 1;
	return 0;
}

static inline int heapdb_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static inline int heapdb_meta(sqlite3_stmt *st, const char *key, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A new in-memory database holding the heap the input describes, in *out.
 * 0, or -1 when the input is too short or asks for more rows than
 * HEAPDB_MAX_ROWS (nothing to test then), or SQLite failed. */
static inline int heapdb_build(const uint8_t *data, size_t size, sqlite3 **out)
{
	struct heapdb_in in = {data, data + size, 0};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t c[7];
	const char *cut = strstr(load_schema_sql, "\n-- @refs\n");
	char *schema = cut ? strndup(load_schema_sql, (size_t)(cut - load_schema_sql)) : NULL;
	int rc = -1;
	*out = NULL;
	for (int i = 0; i < 7; i++)
		c[i] = heapdb_varint(&in);
	if (in.bad || !schema || c[4] > HEAPDB_MAX_ROWS || c[5] > HEAPDB_MAX_ROWS ||
	    c[0] > INT64_MAX)
		goto out;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    heapdb_exec(db, schema) < 0 || heapdb_exec(db, "BEGIN") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES (?1, ?2)", -1, &st, NULL) !=
	            SQLITE_OK ||
	    heapdb_meta(st, "heap.format", 1) < 0 || heapdb_meta(st, "heap.objects", c[0]) < 0 ||
	    heapdb_meta(st, "heap.refs", c[1]) < 0 || heapdb_meta(st, "heap.missing", c[2]) < 0 ||
	    heapdb_meta(st, "heap.wide", c[3]) < 0 || heapdb_meta(st, "heap.types", c[4]) < 0 ||
	    heapdb_meta(st, "heap.strings", c[5]) < 0 || heapdb_meta(st, "heap.cycles", c[6]) < 0 ||
	    heapdb_meta(st, "load.objects", c[0]) < 0 || heapdb_meta(st, "load.refs", c[1]) < 0 ||
	    heapdb_meta(st, "load.missing_refs", c[2]) < 0 ||
	    heapdb_meta(st, "load.cycles", c[6]) < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	char sql[512];
	if (c[0]) {
		snprintf(sql, sizeof sql,
		         "INSERT INTO object_rows(id, address, type_id, size, extra_size, refcount,"
		         " bits, fingerprint, retained_in)"
		         " VALUES (%lld, 0, 0, 0, 0, 0, 4294967296, 0, 0)",
		         (long long)(c[0] - 1));
		if (heapdb_exec(db, sql) < 0)
			goto out;
	}
	snprintf(
	        sql, sizeof sql,
	        "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < %llu)"
	        " INSERT INTO types SELECT i, 'T' || i, NULL FROM k WHERE %llu > 0;"
	        "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < %llu)"
	        " INSERT INTO strings SELECT i, 's' || i FROM k WHERE %llu > 0",
	        (unsigned long long)c[4], (unsigned long long)c[4], (unsigned long long)c[5],
	        (unsigned long long)c[5]);
	if (heapdb_exec(db, sql) < 0 ||
	    sqlite3_prepare_v2(
	            db,
	            "INSERT INTO heap_chunk(part, first, count, base, missing, wide_base,"
	            " wide, ulen, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	            -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (in.p < in.end) {
		unsigned how = *in.p++;
		uint64_t col[7], ulen = 0;
		for (int i = 0; i < 7; i++)
			col[i] = heapdb_varint(&in);
		if (how & 2)
			ulen = heapdb_varint(&in);
		uint64_t len = heapdb_varint(&in);
		if (in.bad || len > (uint64_t)(in.end - in.p))
			break; /* a cut chunk ends the input */
		if (!(how & 2))
			ulen = len;
		uLongf zl = compressBound((uLong)len);
		unsigned char *z = malloc(zl + 1);
		if (!z)
			goto out;
		if (how & 1) {
			memcpy(z, in.p, (size_t)len);
			zl = (uLongf)len;
		} else if (compress2(z, &zl, in.p, (uLong)len, 1) != Z_OK) {
			free(z);
			goto out;
		}
		in.p += len;
		for (int i = 0; i < 7; i++)
			sqlite3_bind_int64(st, i + 1, (sqlite3_int64)col[i]);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)ulen);
		sqlite3_bind_blob(st, 9, z, (int)zl, SQLITE_TRANSIENT);
		int step = sqlite3_step(st);
		sqlite3_reset(st);
		free(z);
		if (step != SQLITE_DONE)
			goto out;
	}
	if (heapdb_exec(db, "COMMIT") < 0)
		goto out;
	*out = db;
	db = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(schema);
	return rc;
}

#endif
