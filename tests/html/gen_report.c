/* gen_report.c — test tool: reads a leaks JSON document from a file and writes the HTML report
 * with report_html_write(), as `pymple-analyze leaks --html` does, without needing dumps.
 *
 * usage: gen_report DOCUMENT.json PAGE.html   (exit 0, or 1 with one line on stderr) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_report DOCUMENT.json PAGE.html\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	if (!in) {
		fprintf(stderr, "gen_report: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size_t len = 0, cap = 1 << 16;
	char *doc = malloc(cap);
	for (size_t k; doc && (k = fread(doc + len, 1, cap - len, in)) > 0;) {
		len += k;
		if (len == cap) {
			char *bigger = realloc(doc, cap *= 2);
			if (!bigger)
				free(doc);
			doc = bigger;
		}
	}
	if (!doc || ferror(in)) {
		fprintf(stderr, "gen_report: %s: cannot read\n", argv[1]);
		return 1;
	}
	fclose(in);
	FILE *out = fopen(argv[2], "wb");
	if (!out) {
		fprintf(stderr, "gen_report: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	int dropped = 0;
	report_html_size(doc, len, &dropped);
	if (report_html_write(out, doc, len) != 0) {
		fprintf(stderr, "gen_report: %s: %s\n", argv[2], strerror(errno));
		fclose(out);
		remove(argv[2]);
		return 1;
	}
	free(doc);
	if (fclose(out) != 0) {
		fprintf(stderr, "gen_report: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (dropped)
		fprintf(stderr, "gen_report: %s: tree left out (page over the budget)\n", argv[2]);
	return 0;
}
