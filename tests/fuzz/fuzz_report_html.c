/* fuzz_report_html.c — libFuzzer entry over report_html_write(): any input document gives either
 * a whole page whose embedded data holds no '<', '>' or '&' and that is no larger than the
 * budget, or a refusal that wrote nothing. The budget is set here 4 KiB above the page's own
 * size, so small inputs reach the search for "tree" and its removal. Built and run by
 * tests/fuzz/run.sh; no main() here. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expanded where report_html.c uses it, after it has included the page's parts */
#define REPORT_HTML_MAX (sizeof report_head + sizeof report_tail + 4096)
#include "report_html.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char open_tag[] = "id=\"pymple-data\">";
	const char *doc = (const char *)data;
	char *page = NULL;
	size_t len = 0;
	int dropped = 0;
	FILE *fp = open_memstream(&page, &len);
	if (!fp)
		return 0;
	int rc = report_html_write(fp, doc, size);
	fclose(fp);
	size_t planned = report_html_size(doc, size, &dropped);
	if (rc != 0) {
		if (len != 0 || planned != 0)
			abort(); /* a refusal writes nothing and says so up front */
		free(page);
		return 0;
	}
	if (len != planned || len > REPORT_HTML_MAX || len < HEAD_LEN + TAIL_LEN)
		abort();
	if (memcmp(page, report_head, HEAD_LEN) != 0 ||
	    memcmp(page + len - TAIL_LEN, report_tail, TAIL_LEN) != 0)
		abort();
	/* the data: from the end of the head to the start of the tail */
	if (memcmp(page + HEAD_LEN - strlen(open_tag), open_tag, strlen(open_tag)) != 0)
		abort();
	for (size_t i = HEAD_LEN; i < len - TAIL_LEN; i++)
		if (page[i] == '<' || page[i] == '>' || page[i] == '&')
			abort();
	if (!dropped && len - HEAD_LEN - TAIL_LEN < size)
		abort(); /* untrimmed, the data is never shorter than the document */
	free(page);
	return 0;
}
