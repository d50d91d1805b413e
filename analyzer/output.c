/* output.c — table / CSV / JSON printing of a prepared statement's rows and
 * the human-unit helpers (output.h). JSON text comes from SQLite's json_quote,
 * never from hand-written escaping; CSV quoting lives in out_csv_field only.
 * Runs no query but "SELECT json_quote(?)"; never exits. */
#include "output.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SAMPLE 1000 /* rows buffered to size the table's columns */

int out_parse_format(const char *s, enum out_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = OUT_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = OUT_CSV;
	else if (strcmp(s, "json") == 0)
		*f = OUT_JSON;
	else
		return -1;
	return 0;
}

/* Three significant digits, switching precision so that rounding never
 * prints "10.00" or "100.0". */
static void fmt3(char *buf, size_t n, double v, const char *unit, const char *sep)
{
	if (v < 9.995)
		snprintf(buf, n, "%.2f%s%s", v, sep, unit);
	else if (v < 99.95)
		snprintf(buf, n, "%.1f%s%s", v, sep, unit);
	else
		snprintf(buf, n, "%.0f%s%s", v, sep, unit);
}

char *out_human_size(int64_t bytes, char *buf, size_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	const char *sign = bytes < 0 ? "-" : "";
	uint64_t a = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
	if (a < 1024) {
		snprintf(buf, n, "%s%" PRIu64 " B", sign, a);
		return buf;
	}
	double v = (double)a / 1024.0;
	size_t u = 0;
	/* 1023.7 KiB would print as "1024 KiB": move up a unit first. */
	while (v >= 1023.5 && u + 1 < sizeof units / sizeof *units) {
		v /= 1024.0;
		u++;
	}
	char tmp[32];
	fmt3(tmp, sizeof tmp, v, units[u], " ");
	snprintf(buf, n, "%s%s", sign, tmp);
	return buf;
}

char *out_human_count(int64_t count, char *buf, size_t n)
{
	static const char *const units[] = {"k", "M", "G", "T", "P", "E"};
	const char *sign = count < 0 ? "-" : "";
	uint64_t a = count < 0 ? (uint64_t)0 - (uint64_t)count : (uint64_t)count;
	if (a < 1000) {
		snprintf(buf, n, "%s%" PRIu64, sign, a);
		return buf;
	}
	double v = (double)a / 1000.0;
	size_t u = 0;
	while (v >= 999.5 && u + 1 < sizeof units / sizeof *units) {
		v /= 1000.0;
		u++;
	}
	if (v < 99.95)
		snprintf(buf, n, "%s%.1f%s", sign, v, units[u]);
	else
		snprintf(buf, n, "%s%.0f%s", sign, v, units[u]);
	return buf;
}

void out_csv_field(FILE *fp, const char *s, size_t n)
{
	int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (!quote) {
		fwrite(s, 1, n, fp);
		return;
	}
	putc('"', fp);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			putc('"', fp);
		putc(s[i], fp);
	}
	putc('"', fp);
}

static void hex_of(const unsigned char *p, int n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* ---- table ---- */

/* A growable byte buffer of NUL-terminated cells. */
struct cells {
	char *buf;
	size_t len, cap;
	size_t *off; /* start of each cell */
	size_t n, ncap;
};

static int cells_add(struct cells *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (c->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b)
			return -1;
		c->buf = b;
		c->cap = cap;
	}
	if (c->n == c->ncap) {
		size_t ncap = c->ncap ? 2 * c->ncap : 256;
		size_t *o = realloc(c->off, ncap * sizeof *o);
		if (!o)
			return -1;
		c->off = o;
		c->ncap = ncap;
	}
	c->off[c->n++] = c->len;
	memcpy(c->buf + c->len, s, n);
	c->buf[c->len + n] = 0;
	c->len += n + 1;
	return 0;
}

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t utf8_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Renders column i of the current row as table text into *scratch (one
 * malloc'd buffer per column, reused across rows). Control characters become
 * spaces so one row stays one line. Returns NULL when out of memory. */
static const char *table_cell(sqlite3_stmt *st, int i, uint64_t size_cols, uint64_t signed_cols,
                              char **scratch, size_t *scap)
{
	int t = sqlite3_column_type(st, i);
	char small[64];
	const char *s;
	size_t n;
	if (t == SQLITE_NULL) {
		s = "";
		n = 0;
	} else if (t == SQLITE_BLOB) {
		snprintf(small, sizeof small, "<blob %d bytes>", sqlite3_column_bytes(st, i));
		s = small;
		n = strlen(s);
	} else if (i < 64 && ((size_cols | signed_cols) >> i & 1) &&
	           (t == SQLITE_INTEGER || t == SQLITE_FLOAT)) {
		int64_t v = sqlite3_column_int64(st, i);
		int plus = (signed_cols >> i & 1) && v > 0;
		small[0] = '+';
		if (size_cols >> i & 1)
			out_human_size(v, small + plus, sizeof small - 1);
		else
			snprintf(small + plus, sizeof small - 1, "%lld", (long long)v);
		s = small;
		n = strlen(s);
	} else {
		s = (const char *)sqlite3_column_text(st, i);
		n = (size_t)sqlite3_column_bytes(st, i);
		if (!s)
			return NULL;
	}
	if (n + 1 > *scap) {
		size_t cap = n + 1 < 64 ? 64 : n + 1;
		char *p = realloc(*scratch, cap);
		if (!p)
			return NULL;
		*scratch = p;
		*scap = cap;
	}
	for (size_t k = 0; k < n; k++)
		(*scratch)[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k];
	(*scratch)[n] = 0;
	return *scratch;
}

static void pad(FILE *fp, size_t n)
{
	while (n--)
		putc(' ', fp);
}

static void table_row(FILE *fp, const char *const *cell, const size_t *width, const int *right,
                      int ncol)
{
	for (int i = 0; i < ncol; i++) {
		size_t w = utf8_width(cell[i]);
		if (i)
			fputs(" | ", fp);
		if (right[i])
			pad(fp, width[i] > w ? width[i] - w : 0);
		fputs(cell[i], fp);
		if (!right[i] && i + 1 < ncol)
			pad(fp, width[i] > w ? width[i] - w : 0);
	}
	putc('\n', fp);
}

static long long out_table(FILE *fp, sqlite3_stmt *st, const struct out_opts *o,
                           uint64_t signed_cols)
{
	int ncol = sqlite3_column_count(st);
	size_t nc = (size_t)ncol + 1;
	long long rows = 0;
	int rc = SQLITE_ROW;
	struct cells c = {0};
	size_t *width = calloc(nc, sizeof *width);
	int *right = calloc(nc, sizeof *right);
	int *typed = calloc(nc, sizeof *typed);
	const char **cell = calloc(nc, sizeof *cell);
	char **scratch = calloc(nc, sizeof *scratch);
	size_t *scap = calloc(nc, sizeof *scap);
	if (!width || !right || !typed || !cell || !scratch || !scap)
		goto fail;
	for (int i = 0; i < ncol; i++) {
		const char *h =
		        o->headers && o->headers[i] ? o->headers[i] : sqlite3_column_name(st, i);
		if (cells_add(&c, h, strlen(h)) < 0)
			goto fail;
		width[i] = utf8_width(h);
	}
	/* Buffer a sample of rows to size the columns. */
	while (rows < TABLE_SAMPLE && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			int t = sqlite3_column_type(st, i);
			if (!typed[i] && t != SQLITE_NULL) {
				typed[i] = 1;
				right[i] = t == SQLITE_INTEGER || t == SQLITE_FLOAT;
			}
			const char *s =
			        table_cell(st, i, o->size_cols, signed_cols, &scratch[i], &scap[i]);
			if (!s || cells_add(&c, s, strlen(s)) < 0)
				goto fail;
			size_t w = utf8_width(s);
			if (w > width[i])
				width[i] = w;
		}
		rows++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (rows == 0 && o->quiet_empty)
		goto done;
	for (int i = 0; i < ncol; i++)
		cell[i] = c.buf + c.off[i];
	table_row(fp, cell, width, right, ncol);
	for (int i = 0; i < ncol; i++) {
		if (i)
			fputs(" | ", fp);
		for (size_t k = 0; k < width[i]; k++)
			putc('=', fp);
	}
	putc('\n', fp);
	for (long long r = 0; r < rows; r++) {
		for (int i = 0; i < ncol; i++)
			cell[i] = c.buf + c.off[(size_t)(r + 1) * (size_t)ncol + (size_t)i];
		table_row(fp, cell, width, right, ncol);
	}
	/* Stream the rest with the widths found so far. */
	if (rc == SQLITE_ROW) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int i = 0; i < ncol; i++)
				if (!(cell[i] = table_cell(st, i, o->size_cols, signed_cols,
				                           &scratch[i], &scap[i])))
					goto fail;
			table_row(fp, cell, width, right, ncol);
			rows++;
		}
		if (rc != SQLITE_DONE)
			goto fail;
	}
done:
	free(c.buf);
	free(c.off);
	for (int i = 0; scratch && i < ncol; i++)
		free(scratch[i]);
	free(scratch);
	free(scap);
	free(width);
	free(right);
	free(typed);
	free(cell);
	return rows;
fail:
	rows = -1;
	goto done;
}

/* ---- csv ---- */

static long long out_csv(FILE *fp, sqlite3_stmt *st)
{
	int ncol = sqlite3_column_count(st);
	long long rows = 0;
	int rc;
	for (int i = 0; i < ncol; i++) {
		const char *h = sqlite3_column_name(st, i);
		if (i)
			putc(',', fp);
		out_csv_field(fp, h, strlen(h));
	}
	fputs("\r\n", fp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			if (i)
				putc(',', fp);
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_NULL)
				continue;
			if (t == SQLITE_BLOB) {
				int n = sqlite3_column_bytes(st, i);
				char *h = malloc(2 * (size_t)n + 1);
				if (!h)
					return -1;
				hex_of(sqlite3_column_blob(st, i), n, h);
				fputs(h, fp);
				free(h);
				continue;
			}
			const char *s = (const char *)sqlite3_column_text(st, i);
			if (!s)
				return -1;
			out_csv_field(fp, s, (size_t)sqlite3_column_bytes(st, i));
		}
		fputs("\r\n", fp);
		rows++;
	}
	return rc == SQLITE_DONE ? rows : -1;
}

/* ---- json ---- */

/* Prints json_quote(v) for one value: SQLite does the escaping. */
static int json_value(FILE *fp, sqlite3_stmt *q, sqlite3_value *v)
{
	int rc;
	if (sqlite3_value_type(v) == SQLITE_BLOB) {
		int n = sqlite3_value_bytes(v);
		char *h = malloc(2 * (size_t)n + 1);
		if (!h)
			return -1;
		hex_of(sqlite3_value_blob(v), n, h);
		rc = sqlite3_bind_text(q, 1, h, -1, free);
	} else {
		rc = sqlite3_bind_value(q, 1, v);
	}
	if (rc != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return -1;
	}
	fwrite(sqlite3_column_text(q, 0), 1, (size_t)sqlite3_column_bytes(q, 0), fp);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return 0;
}

static int json_text(FILE *fp, sqlite3_stmt *q, const char *s)
{
	if (sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return -1;
	}
	fwrite(sqlite3_column_text(q, 0), 1, (size_t)sqlite3_column_bytes(q, 0), fp);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return 0;
}

static long long out_json(FILE *fp, sqlite3 *db, sqlite3_stmt *st)
{
	int ncol = sqlite3_column_count(st);
	long long rows = 0;
	int rc;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT json_quote(?1)", -1, &q, NULL) != SQLITE_OK)
		return -1;
	fputs("[", fp);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(rows ? ",\n{" : "\n{", fp);
		for (int i = 0; i < ncol; i++) {
			if (i)
				putc(',', fp);
			if (json_text(fp, q, sqlite3_column_name(st, i)) < 0)
				goto fail;
			putc(':', fp);
			if (json_value(fp, q, sqlite3_column_value(st, i)) < 0)
				goto fail;
		}
		putc('}', fp);
		rows++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	fputs(rows ? "\n]\n" : "]\n", fp);
	sqlite3_finalize(q);
	return rows;
fail:
	sqlite3_finalize(q);
	return -1;
}

long long out_rows(FILE *fp, sqlite3 *db, sqlite3_stmt *st, const struct out_opts *o)
{
	return out_rows_signed(fp, db, st, o, 0);
}

long long out_rows_signed(FILE *fp, sqlite3 *db, sqlite3_stmt *st, const struct out_opts *o,
                          uint64_t signed_cols)
{
	static const struct out_opts dflt = {0};
	if (!o)
		o = &dflt;
	switch (o->format) {
	case OUT_CSV:
		return out_csv(fp, st);
	case OUT_JSON:
		return out_json(fp, db, st);
	case OUT_TABLE:
	default:
		return out_table(fp, st, o, signed_cols);
	}
}
