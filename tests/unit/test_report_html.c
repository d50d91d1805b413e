/* test_report_html.c — report_html.c: the escaping of the embedded document (expected bytes
 * written by hand), the 2 MiB budget (the tree left out, then refusal with nothing written),
 * and write errors. The page's drawing is tested in a browser by tests/html/run.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"

#define DATA_OPEN "<script type=\"application/json\" id=\"pymple-data\">"

struct page {
	char *buf;
	size_t len;
	int rc, err;
};

static struct page write_page(const char *doc, size_t len)
{
	struct page p = {NULL, 0, 0, 0};
	FILE *fp = open_memstream(&p.buf, &p.len);
	cr_assert_not_null(fp);
	errno = 0;
	p.rc = report_html_write(fp, doc, len);
	p.err = errno;
	fclose(fp);
	return p;
}

/* The embedded document: the bytes between the data script's tags (a copy, NUL-ended). */
static char *data_of(const struct page *p)
{
	const char *a = strstr(p->buf, DATA_OPEN);
	cr_assert_not_null(a, "no data script in the page");
	a += strlen(DATA_OPEN);
	const char *b = strstr(a, "</script>");
	cr_assert_not_null(b);
	return strndup(a, (size_t)(b - a));
}

/* A document with a string of n copies of c at key: {"version":1,"KEY":"ccc..."REST} */
static char *padded(const char *head, size_t n, char c, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);
	cr_assert_not_null(s);
	memcpy(s, head, h);
	memset(s + h, c, n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

Test(report_html, escapes_markup_and_line_separators)
{
	const char *doc = "{\"a\":\"</script><b>x&y</b>\xe2\x80\xa8|\xe2\x80\xa9\",\"b\":\"<!--\"}";
	struct page p = write_page(doc, strlen(doc));
	cr_assert_eq(p.rc, 0);
	char *data = data_of(&p);
	cr_expect_str_eq(data,
	                 "{\"a\":\"\\u003c/script\\u003e\\u003cb\\u003ex\\u0026y\\u003c/b\\u003e"
	                 "\\u2028|\\u2029\",\"b\":\"\\u003c!--\"}");
	cr_expect_eq(strncmp(p.buf, "<!DOCTYPE html>", 15), 0);
	cr_expect_eq(strcmp(p.buf + p.len - 8, "</html>\n"), 0);
	cr_expect_eq(report_html_size(doc, strlen(doc), NULL), p.len);
	/* two script elements, each closed once: the data's "</script>" did not survive */
	size_t opens = 0, closes = 0;
	for (const char *q = p.buf; (q = strstr(q, "<script")) != NULL; q++)
		opens++;
	for (const char *q = p.buf; (q = strstr(q, "</script")) != NULL; q++)
		closes++;
	cr_expect_eq(opens, 2);
	cr_expect_eq(closes, 2);
	cr_expect_not_null(strstr(p.buf, "content=\"default-src 'none'; script-src 'sha256-"));
	free(data);
	free(p.buf);
}

Test(report_html, other_bytes_pass_unchanged)
{
	/* a lone E2 and an E2 80 not followed by A8/A9 are not line separators */
	const char *doc = "{\"k\":\"caf\xc3\xa9 \xe2\x80\x94 \\\"q\\\" \xe2\"}";
	struct page p = write_page(doc, strlen(doc));
	cr_assert_eq(p.rc, 0);
	char *data = data_of(&p);
	cr_expect_str_eq(data, doc);
	free(data);
	free(p.buf);
}

Test(report_html, big_tree_left_out)
{
	/* the tree's strings hold braces, brackets and escaped quotes the scanner must skip */
	char *doc =
	        padded("{\"version\":1,\"dumps\":[{\"path\":\"{[\"}],\"tree\":{\"a\":\"}\\\"{\","
	               "\"b\":[1,{\"c\":\"]\"}],\"pad\":\"",
	               REPORT_HTML_MAX, 'A', "\"} ,\"z\":[\"tree\"]}");
	int dropped = 0;
	size_t size = report_html_size(doc, strlen(doc), &dropped);
	cr_expect_eq(dropped, 1);
	struct page p = write_page(doc, strlen(doc));
	cr_assert_eq(p.rc, 0);
	cr_expect_eq(p.len, size);
	cr_expect_leq(p.len, REPORT_HTML_MAX);
	char *data = data_of(&p);
	cr_expect_str_eq(data, "{\"version\":1,\"dumps\":[{\"path\":\"{[\"}],\"tree\":null ,"
	                       "\"z\":[\"tree\"]}");
	free(data);
	free(p.buf);
	free(doc);
}

Test(report_html, budget_counts_escaped_bytes)
{
	/* 300,000 '<' take 1.8 MB escaped: fits; 400,000 take 2.4 MB: refused, no tree to drop */
	char *fits = padded("{\"s\":\"", 300000, '<', "\"}");
	struct page p = write_page(fits, strlen(fits));
	cr_expect_eq(p.rc, 0);
	cr_expect_gt(p.len, 1800000);
	cr_expect_leq(p.len, REPORT_HTML_MAX);
	free(p.buf);
	free(fits);

	char *big = padded("{\"s\":\"", 400000, '<', "\"}");
	cr_expect_eq(report_html_size(big, strlen(big), NULL), 0);
	p = write_page(big, strlen(big));
	cr_expect_eq(p.rc, -1);
	cr_expect_eq(p.err, EFBIG);
	cr_expect_eq(p.len, 0, "a refused page writes nothing (%zu bytes)", p.len);
	free(p.buf);
	free(big);
}

Test(report_html, refused_when_too_big_without_the_tree)
{
	char *doc = padded("{\"tree\":{},\"suspects\":\"", REPORT_HTML_MAX, 'x', "\"}");
	struct page p = write_page(doc, strlen(doc));
	cr_expect_eq(p.rc, -1);
	cr_expect_eq(p.err, EFBIG);
	cr_expect_eq(p.len, 0);
	free(p.buf);
	free(doc);

	/* not an object at the top: nothing to trim */
	doc = padded("[\"", REPORT_HTML_MAX, 'x', "\"]");
	p = write_page(doc, strlen(doc));
	cr_expect_eq(p.rc, -1);
	cr_expect_eq(p.err, EFBIG);
	free(p.buf);
	free(doc);
}

Test(report_html, write_error_and_bad_arguments)
{
	FILE *full = fopen("/dev/full", "w");
	cr_assert_not_null(full);
	errno = 0;
	cr_expect_eq(report_html_write(full, "{}", 2), -1);
	cr_expect_eq(errno, ENOSPC);
	fclose(full);
	errno = 0;
	cr_expect_eq(report_html_write(NULL, "{}", 2), -1);
	cr_expect_eq(errno, EINVAL);
}
