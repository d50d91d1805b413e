/* cli.c — the diagnostics and option helpers shared by main.c and cmd_*.c
 * (cli.h): one error-line format, opening DUMP|DB arguments with a progress
 * line, --format/--limit parsing. Command code only: library files never
 * call into it. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


int cli_quiet;   /* set once by main.c before the subcommand runs */
int cli_verbose; /* set once by main.c before the subcommand runs */
const char *cli_command; /* set once by main.c before the subcommand runs */

void cli_put_escaped(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r')
			fputs("\\r", fp);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c == '\t')
			fputs("\\t", fp);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\x%02x", c);
		else
			fputc(c, fp);
	}
}

/* Formats a message and prints it escaped: a message stays one line whatever
 * bytes the user's arguments carried (an address pasted with its CR). */
static void put_message(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void put_message(const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0 || !msg) {
		fputs("(out of memory)", stderr);
		return;
	}
	cli_put_escaped(stderr, msg);
	free(msg);
}

void cli_error(const char *file, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s: ", CLI_NAME);
	if (file) {
		cli_put_escaped(stderr, file);
		fputs(": ", stderr);
	}
	va_start(ap, fmt);
	put_message(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Redrawn at most 10 times a second, from the first second on. */
static void show_progress(void *ctx, int pass, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;
	double t = now_seconds();
	if (t - p->start < 1.0 || (pass < 3 && t - p->last < 0.1))
		return;
	p->last = t;
	p->shown = 1;
	if (pass >= 3) {
		fprintf(stderr, "\r%s: loading %s: indexes\033[K", CLI_NAME, p->file);
		fflush(stderr);
		return;
	}
	unsigned pct = total ? (unsigned)(done * 100 / total) : 0;
	fprintf(stderr, "\r%s: loading %s: pass %d/2 %3u%%", CLI_NAME, p->file, pass, pct);
	fflush(stderr);
}

db_progress_fn cli_progress_begin(struct cli_progress *p, const char *file)
{
	p->file = file;
	p->start = now_seconds();
	p->last = 0;
	p->shown = 0;
	return !cli_quiet && isatty(STDERR_FILENO) ? show_progress : NULL;
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

int cli_open(const char *path, int readonly, sqlite3 **db)
{
	struct db_error err;
	struct cli_progress p;
	struct db_open_opts o = {readonly, NULL, &p};
	o.progress = cli_progress_begin(&p, path);
	int rc = db_open_input(path, &o, db, &err);
	cli_progress_end(&p);
	if (rc < 0) {
		cli_error(err.file[0] ? err.file : path, "%s", err.msg);
		return err.status ? err.status : CLI_RUNTIME;
	}
	return 0;
}

void cli_usage(FILE *fp, const char *const *usage)
{
	fprintf(fp, "usage: %s %s\n", CLI_NAME, usage[0]);
	for (size_t i = 1; usage[i]; i++)
		fprintf(fp, "%s\n", usage[i]);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	if (cli_command)
		fprintf(stderr, "%s: %s: ", CLI_NAME, cli_command);
	else
		fprintf(stderr, "%s: ", CLI_NAME);
	va_start(ap, fmt);
	put_message(fmt, ap);
	va_end(ap);
	if (cli_command)
		fprintf(stderr, " (see '%s %s -h')\n", CLI_NAME, cli_command);
	else
		fprintf(stderr, " (see '%s --help')\n", CLI_NAME);
	return CLI_BAD_INPUT;
}

int cli_option_error(int c, char **argv)
{
	char shortopt[3] = {'-', (char)optopt, 0};
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	/* A short option (maybe inside a cluster like -qx) is named by optopt;
	 * a long one by its argument, up to any '='. */
	int is_long = strncmp(arg, "--", 2) == 0;
	if (!is_long && optopt)
		arg = shortopt;
	int n = (int)strcspn(arg, "=");
	if (c == ':')
		return cli_usage_error("option '%.*s' requires a value", n, arg);
	return cli_usage_error("unknown option '%.*s'", n, arg);
}

int cli_parse_format(const char *arg, enum out_format *f)
{
	if (out_parse_format(arg, f) < 0)
		return cli_usage_error("--format: '%s' is not one of table, csv, json", arg);
	return 0;
}

int cli_parse_count(const char *opt, const char *arg, long long *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || x < 0)
		return cli_usage_error("%s: '%s' is not a number >= 0", opt, arg);
	*v = x;
	return 0;
}

int cli_parse_limit(const char *arg, long long *limit)
{
	return cli_parse_count("--limit", arg, limit);
}

int cli_sqlite_error(sqlite3 *db, const char *file, const char *what)
{
	cli_error(file, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return CLI_RUNTIME;
}

int cli_common_option(int c, char **argv, const char *const *usage, enum out_format *fmt,
                      long long *limit)
{
	int rc;
	switch (c) {
	case 'f':
		return (rc = cli_parse_format(optarg, fmt)) ? rc : CLI_MORE;
	case 'l':
		if (!limit)
			break;
		return (rc = cli_parse_limit(optarg, limit)) ? rc : CLI_MORE;
	case 'h':
		cli_usage(stdout, usage);
		return CLI_OK;
	}
	return cli_option_error(c, argv);
}
