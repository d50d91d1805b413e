/* report_html.h — the self-contained HTML page of `leaks --html`: the leaks
 * document (LEAKS_JSON.md, with "tree") embedded in one page. Writes only to
 * the FILE* it is given; never prints elsewhere, never exits. */
#ifndef PYMPLE_REPORT_HTML_H
#define PYMPLE_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Writes the page for the JSON document json (len bytes) to fp. 0, or -1
 * when a write failed (errno set). */
int report_html_write(FILE *fp, const char *json, size_t len);

#endif
