/* report_html.h — the self-contained HTML leaks report: one page that embeds the leaks JSON
 * document (LEAKS_JSON in README) and draws it with inline CSS and JS, under a
 * Content-Security-Policy that forbids every network request. It parses nothing but the
 * document's top level, and only when the page would be too big. */
#ifndef PYMPLE_REPORT_HTML_H
#define PYMPLE_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

/* The largest page report_html_write() writes, in bytes (2 MiB; the fuzz target defines a
 * smaller one before including report_html.c, to reach the trimming with small inputs). */
#ifndef REPORT_HTML_MAX
#define REPORT_HTML_MAX ((size_t)2 << 20)
#endif

/* Writes one complete HTML page to fp: the page's assets around json[0..len), the leaks
 * document (with "tree"), embedded in <script type="application/json" id="pymple-data">
 * with every '<', '>', '&', U+2028 and U+2029 written as a \uXXXX escape, so no string of
 * the document can end the script element or be read as markup. The document is not
 * validated: the page shows an error if it does not parse.
 *
 * Size: the page is at most REPORT_HTML_MAX bytes. If it would be larger, the value of the
 * document's top-level "tree" key is replaced by null (the page then says that the tree was
 * left out to keep the file small); if it is still too large, or there is no such key,
 * nothing is written and -1 is returned with errno EFBIG.
 *
 * Returns 0 once the whole page is written and fp flushed; -1 with errno set (by stdio) on a
 * write error, after which fp holds part of a page: callers writing a file should write a
 * temporary and rename it. */
int report_html_write(FILE *fp, const char *json, size_t len);

/* The bytes report_html_write() would write for this document, or 0 when it would refuse it
 * (EFBIG); *tree_dropped (if not NULL) is set to 1 when "tree" would be left out. */
size_t report_html_size(const char *json, size_t len, int *tree_dropped);

#endif
