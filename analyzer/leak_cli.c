/* leak_cli.c — helpers shared by the leak-hunting subcommands (see
 * leak_cli.h). Prints only through cli.h and to the FILE* it is given; the
 * second loader thread never prints (its error is reported after the join)
 * and shares no connection with the main thread. */
#include "leak_cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"

int leak_parse_address(const char *s, uint64_t *addr)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	unsigned long long v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno || *end)
		return -1;
	*addr = v;
	return 0;
}

void leak_getopt_reset(void)
{
	optind = 0; /* GNU: full re-initialisation, permuting options */
	opterr = 0; /* the commands print their own usage errors */
}

/* The second loader: opens inputs 1, 3, 5, ... silently, keeping errors. */
struct worker {
	char **paths;
	int n;
	sqlite3 **dbs;
	int failed; /* index of the first failure, or -1 */
	struct db_error err;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (int i = 1; i < w->n; i += 2)
		if (db_open_input(w->paths[i], NULL, &w->dbs[i], &w->err) < 0) {
			w->failed = i;
			break;
		}
	return NULL;
}

int leak_open_many(char **paths, int n, sqlite3 **dbs)
{
	memset(dbs, 0, (size_t)n * sizeof *dbs);
	/* The same dump twice must not be built by two loaders at once. */
	int distinct = 1;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			distinct &= strcmp(paths[i], paths[j]) != 0;
	struct worker w = {paths, n, dbs, -1, {0}};
	pthread_t th;
	int threaded = distinct && n > 1 && pthread_create(&th, NULL, worker_run, &w) == 0;
	int status = 0, failed = -1;
	for (int i = 0; i < n; i += threaded ? 2 : 1)
		if ((status = cli_open(paths[i], 0, &dbs[i])) != 0) {
			failed = i;
			break;
		}
	if (threaded) {
		pthread_join(th, NULL);
		if (w.failed >= 0 && (failed < 0 || w.failed < failed)) {
			if (status == 0) {
				cli_error(w.err.file[0] ? w.err.file : paths[w.failed], "%s", w.err.msg);
				status = w.err.status ? w.err.status : CLI_RUNTIME;
			}
			failed = w.failed;
		}
	}
	if (status) {
		for (int j = 0; j < n; j++)
			if (j != failed)
				sqlite3_close(dbs[j]);
		memset(dbs, 0, (size_t)n * sizeof *dbs);
	}
	return status;
}

long long leak_json_rows(FILE *fp, sqlite3_stmt *st)
{
	long long rows = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *j = sqlite3_column_text(st, 0);
		fputs(rows ? ",\n" : "[\n", fp);
		fputs(j ? (const char *)j : "null", fp);
		rows++;
	}
	if (rc != SQLITE_DONE)
		return -1;
	fputs(rows ? "\n]\n" : "[]\n", fp);
	return rows;
}
