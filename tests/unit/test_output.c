/* test_output.c — output.c: RFC 4180 quoting, human units, and the table /
 * csv / json renderings of a statement's rows (an in-memory SQLite db whose
 * rows are written here, so the expected text is known independently). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static char *csv_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	out_csv_field(fp, s, strlen(s));
	fclose(fp);
	return buf;
}

Test(output, csv_field_rfc4180)
{
	static const char *const cases[][2] = {
	        {"plain", "plain"},
	        {"", ""},
	        {"a,b", "\"a,b\""},
	        {"say \"hi\"", "\"say \"\"hi\"\"\""},
	        {"line\nbreak", "\"line\nbreak\""},
	        {"cr\rhere", "\"cr\rhere\""},
	        {" lead", "\" lead\""},
	        {"trail ", "\"trail \""},
	        {"\"", "\"\"\"\""},
	        {"caf\xc3\xa9", "caf\xc3\xa9"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *got = csv_of(cases[i][0]);
		cr_expect_str_eq(got, cases[i][1], "csv of [%s]", cases[i][0]);
		free(got);
	}
}

Test(output, csv_field_embedded_nul_length)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	out_csv_field(fp, "ab,cd", 2); /* only "ab": the comma is past n */
	fclose(fp);
	cr_expect_str_eq(buf, "ab");
	free(buf);
}

Test(output, human_size)
{
	char b[32];
	cr_expect_str_eq(out_human_size(0, b, sizeof b), "0 B");
	cr_expect_str_eq(out_human_size(1023, b, sizeof b), "1023 B");
	cr_expect_str_eq(out_human_size(1024, b, sizeof b), "1.00 KiB");
	cr_expect_str_eq(out_human_size(1536, b, sizeof b), "1.50 KiB");
	cr_expect_str_eq(out_human_size(10 * 1024 - 1, b, sizeof b), "10.0 KiB");
	cr_expect_str_eq(out_human_size(100 * 1024, b, sizeof b), "100 KiB");
	cr_expect_str_eq(out_human_size(1024 * 1024 - 1, b, sizeof b), "1.00 MiB");
	cr_expect_str_eq(out_human_size(412LL << 20, b, sizeof b), "412 MiB");
	cr_expect_str_eq(out_human_size(3LL << 30, b, sizeof b), "3.00 GiB");
	cr_expect_str_eq(out_human_size(-2048, b, sizeof b), "-2.00 KiB");
	cr_expect_str_eq(out_human_size(-5, b, sizeof b), "-5 B");
}

Test(output, human_count)
{
	char b[32];
	cr_expect_str_eq(out_human_count(0, b, sizeof b), "0");
	cr_expect_str_eq(out_human_count(999, b, sizeof b), "999");
	cr_expect_str_eq(out_human_count(1000, b, sizeof b), "1.0k");
	cr_expect_str_eq(out_human_count(12345, b, sizeof b), "12.3k");
	cr_expect_str_eq(out_human_count(412000, b, sizeof b), "412k");
	cr_expect_str_eq(out_human_count(1200000, b, sizeof b), "1.2M");
	cr_expect_str_eq(out_human_count(999999, b, sizeof b), "1.0M");
	cr_expect_str_eq(out_human_count(-1500, b, sizeof b), "-1.5k");
}

Test(output, parse_format)
{
	enum out_format f;
	cr_expect_eq(out_parse_format("table", &f), 0);
	cr_expect_eq(f, OUT_TABLE);
	cr_expect_eq(out_parse_format("csv", &f), 0);
	cr_expect_eq(f, OUT_CSV);
	cr_expect_eq(out_parse_format("json", &f), 0);
	cr_expect_eq(f, OUT_JSON);
	cr_expect_eq(out_parse_format("xml", &f), -1);
	cr_expect_eq(out_parse_format("", &f), -1);
}

static sqlite3 *db;

static void setup(void)
{
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(
	        sqlite3_exec(db,
	                     "CREATE TABLE t(name TEXT, n INTEGER, size INTEGER, x REAL, b BLOB);"
	                     "INSERT INTO t VALUES ('dict', 3, 2048, 1.5, NULL);"
	                     "INSERT INTO t VALUES ('say \"hi\", \\ok', -1, 10, NULL, x'00ff');"
	                     "INSERT INTO t VALUES (NULL, 0, 0, 0.25, NULL);",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
}

static void teardown(void)
{
	sqlite3_close(db);
}

static char *render(const char *sql, const struct out_opts *o, long long *rows)
{
	sqlite3_stmt *st;
	char *buf = NULL;
	size_t len = 0;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(db));
	FILE *fp = open_memstream(&buf, &len);
	*rows = out_rows(fp, db, st, o);
	fclose(fp);
	sqlite3_finalize(st);
	return buf;
}

Test(output, json_rows, .init = setup, .fini = teardown)
{
	struct out_opts o = {OUT_JSON, 0, NULL, 0};
	long long rows;
	char *s = render("SELECT name, n, size, x, b FROM t ORDER BY rowid", &o, &rows);
	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s, "[\n"
	                    "{\"name\":\"dict\",\"n\":3,\"size\":2048,\"x\":1.5,\"b\":null},\n"
	                    "{\"name\":\"say \\\"hi\\\", \\\\ok\",\"n\":-1,\"size\":10,\"x\":null,"
	                    "\"b\":\"00ff\"},\n"
	                    "{\"name\":null,\"n\":0,\"size\":0,\"x\":0.25,\"b\":null}\n"
	                    "]\n");
	free(s);
	/* The JSON is valid: SQLite parses it back to the same values. */
	s = render("SELECT name, n FROM t ORDER BY rowid", &o, &rows);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(
	                     db, "SELECT json_extract(?1, '$[1].name'), json_array_length(?1)", -1,
	                     &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "say \"hi\", \\ok");
	cr_expect_eq(sqlite3_column_int(st, 1), 3);
	sqlite3_finalize(st);
	free(s);
}

Test(output, json_empty, .init = setup, .fini = teardown)
{
	struct out_opts o = {OUT_JSON, 0, NULL, 0};
	long long rows;
	char *s = render("SELECT name FROM t WHERE 0", &o, &rows);
	cr_expect_eq(rows, 0);
	cr_expect_str_eq(s, "[]\n");
	free(s);
}

Test(output, csv_rows, .init = setup, .fini = teardown)
{
	struct out_opts o = {OUT_CSV, 1u << 2, NULL, 0}; /* size_cols ignored in csv */
	long long rows;
	char *s =
	        render("SELECT name, n, size AS \"total, size\" FROM t ORDER BY rowid", &o, &rows);
	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s, "name,n,\"total, size\"\r\n"
	                    "dict,3,2048\r\n"
	                    "\"say \"\"hi\"\", \\ok\",-1,10\r\n"
	                    ",0,0\r\n");
	free(s);
}

Test(output, table_rows, .init = setup, .fini = teardown)
{
	static const char *const headers[] = {"types", NULL, "total size"};
	struct out_opts o = {OUT_TABLE, 1u << 2, headers, 0};
	long long rows;
	char *s = render("SELECT name, n, size FROM t ORDER BY rowid", &o, &rows);
	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s, "types         |  n | total size\n"
	                    "============= | == | ==========\n"
	                    "dict          |  3 |   2.00 KiB\n"
	                    "say \"hi\", \\ok | -1 |       10 B\n"
	                    "              |  0 |        0 B\n");
	free(s);
}

Test(output, table_control_chars_and_utf8, .init = setup, .fini = teardown)
{
	struct out_opts o = {OUT_TABLE, 0, NULL, 0};
	long long rows;
	char *s = render("SELECT 'a' || char(10) || 'b' AS v, 'é' AS w", &o, &rows);
	cr_expect_eq(rows, 1);
	cr_expect_str_eq(s, "v   | w\n=== | =\na b | é\n");
	free(s);
}

Test(output, table_quiet_empty, .init = setup, .fini = teardown)
{
	struct out_opts o = {OUT_TABLE, 0, NULL, 1};
	long long rows;
	char *s = render("SELECT name FROM t WHERE 0", &o, &rows);
	cr_expect_eq(rows, 0);
	cr_expect_str_eq(s, "");
	free(s);
}

Test(output, step_error_is_reported, .init = setup, .fini = teardown)
{
	/* A runtime error mid-query (not at prepare): out_rows returns -1. */
	struct out_opts o = {OUT_CSV, 0, NULL, 0};
	long long rows;
	char *s = render("SELECT json_extract('not json', '$')", &o, &rows);
	cr_expect_eq(rows, -1);
	free(s);
}
