/* leak_cli.c — helpers shared by the leak-hunting subcommands (see
 * leak_cli.h). Prints only through cli.h and to the FILE* it is given; the
 * second loader thread never prints (its error is reported after the join)
 * and shares no connection with the main thread. */
#include "leak_cli.h"

#include <ctype.h>
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
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	unsigned long long v =
	        strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno || end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
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
	if (cli_db && n > 1)
		return cli_usage_error("--db names one database and this command opens %d inputs",
		                       n);
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
				cli_error(w.err.file[0] ? w.err.file : paths[w.failed], "%s",
				          w.err.msg);
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

/* Edit distance (Levenshtein, case-insensitive) of a and b, giving up above
 * cap (returns cap + 1). Names are short: two rows of 256. */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
	size_t na = strlen(a), nb = strlen(b), row[2][257];
	if (na > 256 || nb > 256)
		return cap + 1;
	for (size_t j = 0; j <= nb; j++)
		row[0][j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t *p = row[(i - 1) & 1], *c = row[i & 1], best = c[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t sub = p[j - 1] + (tolower((unsigned char)a[i - 1]) !=
			                         tolower((unsigned char)b[j - 1]));
			size_t v = sub < p[j] + 1 ? sub : p[j] + 1;
			c[j] = v < c[j - 1] + 1 ? v : c[j - 1] + 1;
			if (c[j] < best)
				best = c[j];
		}
		if (best > cap)
			return cap + 1;
	}
	return row[na & 1][nb];
}

/* One candidate list, kept small. */
struct names {
	char *v[8];
	size_t d[8];
	size_t n, total;
};

static void names_add(struct names *ns, const char *s, size_t d)
{
	ns->total++;
	size_t i = ns->n < 8 ? ns->n++ : 7;
	if (i == 7 && ns->n == 8 && ns->v[7] && d >= ns->d[7])
		return;
	free(ns->v[i]);
	ns->v[i] = strdup(s);
	ns->d[i] = d;
	for (; i > 0 && ns->d[i] < ns->d[i - 1]; i--) { /* insertion by distance */
		char *t = ns->v[i];
		size_t td = ns->d[i];
		ns->v[i] = ns->v[i - 1];
		ns->d[i] = ns->d[i - 1];
		ns->v[i - 1] = t;
		ns->d[i - 1] = td;
	}
}

static void names_release(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	memset(ns, 0, sizeof *ns);
}

int leak_resolve_type(sqlite3 *db, const char *file, const char *want, char **out)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT name FROM types ORDER BY name", -1, &st, NULL))
		return -1;
	struct names exact = {0}, suffix = {0}, near = {0};
	size_t wl = strlen(want), cap = wl / 3 > 2 ? wl / 3 : 2;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		size_t nl = n ? strlen(n) : 0;
		if (!n)
			continue;
		if (!strcmp(n, want)) {
			names_add(&exact, n, 0);
			break;
		}
		if (nl > wl && n[nl - wl - 1] == '.' && !strcmp(n + nl - wl, want)) {
			names_add(&suffix, n, 0);
			continue;
		}
		const char *last = strrchr(n, '.');
		size_t d = edit_distance(want, n, cap),
		       d2 = last ? edit_distance(want, last + 1, cap) : d;
		if (d2 < d)
			d = d2;
		if (d <= cap)
			names_add(&near, n, d);
	}
	sqlite3_finalize(st);
	int status = 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		status = -1;
	} else if (exact.n) {
		*out = strdup(want);
	} else if (suffix.total == 1) {
		*out = strdup(suffix.v[0]);
	} else if (suffix.total > 1) {
		char list[1024] = "";
		for (size_t i = 0; i < suffix.n; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
			         i ? ", " : "", suffix.v[i]);
		cli_error(file, "type '%s' is ambiguous: %s%s (give the full name)", want, list,
		          suffix.total > suffix.n ? ", ..." : "");
		status = CLI_BAD_INPUT;
	} else {
		char list[1024] = "";
		for (size_t i = 0; i < near.n && i < 3; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
			         i ? (i + 1 == near.n || i == 2 ? " or " : ", ") : "", near.v[i]);
		if (near.n)
			cli_error(file, "no object of type '%s' in this dump (did you mean %s?)",
			          want, list);
		else
			cli_error(file, "no object of type '%s' in this dump", want);
		status = CLI_BAD_INPUT;
	}
	if (!status && !*out)
		status = -2;
	names_release(&exact);
	names_release(&suffix);
	names_release(&near);
	return status;
}
