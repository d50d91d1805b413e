/* output.h — prints the rows of a prepared SQLite statement as an aligned
 * table, RFC 4180 CSV or JSON (through SQLite's own json_quote), plus the
 * human-unit helpers every command shares. It runs no user-visible query of
 * its own and never exits; it writes only to the FILE* it is given. */
#ifndef PYMPLE_OUTPUT_H
#define PYMPLE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

enum out_format { OUT_TABLE = 0, OUT_CSV, OUT_JSON };

/* Parses "table", "csv" or "json". Returns 0, or -1 for anything else. */
int out_parse_format(const char *s, enum out_format *f);

struct out_opts {
	enum out_format format;
	/* Table only: bit i set = column i holds a byte count, shown with
	 * out_human_size() (csv and json always print plain bytes). */
	uint64_t size_cols;
	/* Table only: column headers to print instead of the statement's column
	 * names (csv/json keep the names, which are the stable keys). NULL: none.
	 * Otherwise one entry per column; an entry may be NULL to keep the name. */
	const char *const *headers;
	/* Table only: print nothing at all (not even the header) when there are
	 * no rows; default prints the header. */
	int quiet_empty;
};

/* Steps st to the end and prints every row to fp in the chosen format:
 *   table: a header row, a rule of '=', then the rows; columns separated by
 *          " | ", numbers right-aligned, text left-aligned. Widths come from
 *          the header and the first 1000 rows (later rows may overflow).
 *          NULL prints as "", a BLOB as "<blob N bytes>".
 *   csv:   a header line of column names, then rows; fields quoted per
 *          RFC 4180 when needed; CRLF line ends; NULL is an empty field.
 *   json:  one array of objects keyed by column name, one object per line:
 *          [\n{"a":1,"b":"x"},\n...\n]\n ; an empty result is "[]\n".
 *          Integers and reals are numbers, NULL is null, text a string and
 *          a BLOB a string of lower-case hex.
 * db is the connection st belongs to (used for json_quote). Returns the
 * number of rows printed (>= 0), or -1 if a step failed: then sqlite3_errmsg(db)
 * says why and output may be partial. Does not finalize st. */
long long out_rows(FILE *fp, sqlite3 *db, sqlite3_stmt *st, const struct out_opts *o);

/* out_rows() where, in a table, bit i of signed_cols makes column i a change:
 * a positive number gets a '+' ("+12", and "+1.50 KiB" when the column is
 * also in size_cols). csv and json are as out_rows() prints them. */
long long out_rows_signed(FILE *fp, sqlite3 *db, sqlite3_stmt *st, const struct out_opts *o,
                          uint64_t signed_cols);

/* Writes one CSV field (RFC 4180): quoted with '"' and inner quotes doubled
 * when it contains ',', '"', CR or LF, or starts/ends with a space; as is
 * otherwise. s need not be NUL-terminated. */
void out_csv_field(FILE *fp, const char *s, size_t n);

/* Human units for byte counts (binary, IEC): "0 B", "999 B", "1.00 KiB",
 * "12.3 KiB", "412 MiB", "1.50 GiB" — three significant digits from 1 KiB
 * up. Writes a NUL-terminated string into buf (16 bytes are always enough)
 * and returns buf. Negative values (size deltas) get a leading '-'. */
char *out_human_size(int64_t bytes, char *buf, size_t n);

/* Human counts: "999", "1.2k" / "12.3k" / "412k", "1.2M", "3.4G" (decimal). */
char *out_human_count(int64_t count, char *buf, size_t n);

#endif
