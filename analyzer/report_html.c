/* report_html.c — writes the self-contained HTML leaks report: the page built from
 * analyzer/report/ at build time (report_assets.h), with the leaks document escaped into it.
 * Reads the document only to find its top-level "tree" when the page must shrink; never
 * writes a page over REPORT_HTML_MAX, nor a page cut short by its own decision. */
#include "report_html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_assets.h" /* generated: report_head, report_tail */

#define HEAD_LEN (sizeof report_head - 1)
#define TAIL_LEN (sizeof report_tail - 1)

/* U+2028 and U+2029 in UTF-8: E2 80 A8 and E2 80 A9. JSON allows them raw in strings; the
 * page's script never evaluates the data as code, but escaping them costs nothing. */
static int is_line_sep(const unsigned char *s, size_t i, size_t n)
{
	return s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80 &&
	       (s[i + 2] == 0xa8 || s[i + 2] == 0xa9);
}

/* Bytes the escaped form of s[0..n) takes: '<' '>' '&' become 6 bytes, U+2028/9 6 for 3. */
static size_t escaped_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = n;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<' || s[i] == '>' || s[i] == '&') {
			out += 5;
		} else if (is_line_sep(s, i, n)) {
			out += 3;
			i += 2;
		}
	}
	return out;
}

/* ---- the document's top level: just enough JSON to find "tree" (no recursion: nesting is
 * counted, so a deep document costs no stack) ---- */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] is '"': returns the index after the closing quote, or 0. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Returns the index after the value starting at s[i], or 0 if it does not end. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
	if (i >= n)
		return 0;
	if (s[i] == '"')
		return skip_string(s, i, n);
	if (s[i] == '{' || s[i] == '[') {
		size_t depth = 0;
		while (i < n) {
			char c = s[i];
			if (c == '"') {
				i = skip_string(s, i, n);
				if (i == 0)
					return 0;
				continue;
			}
			if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0)
					return i + 1;
			}
			i++;
		}
		return 0;
	}
	size_t j = i;
	while (j < n && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\t' &&
	       s[j] != '\n' && s[j] != '\r')
		j++;
	return j > i ? j : 0;
}

/* Finds the value of the top-level key "tree": [*start, *end). Returns 0, or -1 when the
 * document is not an object or has no such key. */
static int find_tree(const char *s, size_t n, size_t *start, size_t *end)
{
	size_t i = skip_ws(s, 0, n);
	if (i >= n || s[i] != '{')
		return -1;
	i++;
	for (;;) {
		i = skip_ws(s, i, n);
		if (i >= n || s[i] != '"')
			return -1;
		size_t key = i;
		i = skip_string(s, i, n);
		if (i == 0)
			return -1;
		int is_tree = i - key == 6 && memcmp(s + key, "\"tree\"", 6) == 0;
		i = skip_ws(s, i, n);
		if (i >= n || s[i] != ':')
			return -1;
		i = skip_ws(s, i + 1, n);
		size_t v = i;
		i = skip_value(s, i, n);
		if (i == 0)
			return -1;
		if (is_tree) {
			*start = v;
			*end = i;
			return 0;
		}
		i = skip_ws(s, i, n);
		if (i >= n || s[i] != ',')
			return -1;
		i++;
	}
}

/* The plan of a page: the document whole, or with [cut0, cut1) replaced by null. */
struct plan {
	size_t size;
	int cut;
	size_t cut0, cut1;
};

static int plan_page(const char *json, size_t len, struct plan *p)
{
	p->cut = 0;
	p->size = HEAD_LEN + escaped_len(json, len) + TAIL_LEN;
	if (p->size <= REPORT_HTML_MAX)
		return 0;
	if (find_tree(json, len, &p->cut0, &p->cut1) < 0)
		return -1;
	p->cut = 1;
	p->size = HEAD_LEN + escaped_len(json, p->cut0) + 4 +
	          escaped_len(json + p->cut1, len - p->cut1) + TAIL_LEN;
	return p->size <= REPORT_HTML_MAX ? 0 : -1;
}

size_t report_html_size(const char *json, size_t len, int *tree_dropped)
{
	struct plan p;
	int rc = plan_page(json, len, &p);
	if (tree_dropped)
		*tree_dropped = rc == 0 && p.cut;
	return rc == 0 ? p.size : 0;
}

/* ---- writing ---- */

struct sink {
	FILE *fp;
	size_t used;
	int failed;
	char buf[1 << 16];
};

static void sink_flush(struct sink *k)
{
	if (k->used && !k->failed && fwrite(k->buf, 1, k->used, k->fp) != k->used)
		k->failed = 1;
	k->used = 0;
}

static void sink_put(struct sink *k, const char *s, size_t n)
{
	while (n > 0) {
		if (k->used == sizeof k->buf)
			sink_flush(k);
		size_t room = sizeof k->buf - k->used;
		size_t m = n < room ? n : room;
		memcpy(k->buf + k->used, s, m);
		k->used += m, s += m, n -= m;
	}
}

static void sink_escaped(struct sink *k, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0; /* start of the bytes not yet copied */
	for (size_t i = 0; i < n; i++) {
		const char *esc = NULL;
		size_t skip = 1;
		if (s[i] == '<')
			esc = "\\u003c";
		else if (s[i] == '>')
			esc = "\\u003e";
		else if (s[i] == '&')
			esc = "\\u0026";
		else if (is_line_sep(s, i, n)) {
			esc = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (!esc)
			continue;
		sink_put(k, str + run, i - run);
		sink_put(k, esc, 6);
		i += skip - 1;
		run = i + 1;
	}
	sink_put(k, str + run, n - run);
}

int report_html_write(FILE *fp, const char *json, size_t len)
{
	struct plan p;
	if (!fp || (!json && len)) {
		errno = EINVAL;
		return -1;
	}
	if (!json)
		json = "";
	if (plan_page(json, len, &p) < 0) {
		errno = EFBIG;
		return -1;
	}
	struct sink *k = malloc(sizeof *k);
	if (!k)
		return -1;
	k->fp = fp;
	k->used = 0;
	k->failed = 0;
	sink_put(k, report_head, HEAD_LEN);
	if (p.cut) {
		sink_escaped(k, json, p.cut0);
		sink_put(k, "null", 4);
		sink_escaped(k, json + p.cut1, len - p.cut1);
	} else {
		sink_escaped(k, json, len);
	}
	sink_put(k, report_tail, TAIL_LEN);
	sink_flush(k);
	int failed = k->failed;
	free(k);
	if (failed || fflush(fp) != 0 || ferror(fp))
		return -1;
	return 0;
}
