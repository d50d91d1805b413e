/* report_html_stub.c — a stand-in for report_html.c (branch `html`) until it
 * is merged: the leaks document as text inside a <pre>, escaped. Replace this
 * file with report_html.c; nothing else changes. */
#include "report_html.h"

int report_html_write(FILE *fp, const char *json, size_t len)
{
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
	      "<title>pymple leaks</title></head><body><pre>",
	      fp);
	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		if (c == '<')
			fputs("&lt;", fp);
		else if (c == '>')
			fputs("&gt;", fp);
		else if (c == '&')
			fputs("&amp;", fp);
		else
			fputc(c, fp);
	}
	fputs("</pre></body></html>\n", fp);
	return ferror(fp) ? -1 : 0;
}
