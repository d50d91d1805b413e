/* cli.c — the diagnostics and option helpers shared by main.c and cmd_*.c
 * (cli.h): one error-line format, opening DUMP|DB arguments with a progress
 * line, --format/--limit parsing. Command code only: library files never
 * call into it. */
#include "cli.h"

#include "load.h"
#include "sqlguard.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_quiet;           /* set once by main.c before the subcommand runs */
int cli_verbose;         /* set once by main.c before the subcommand runs */
const char *cli_command; /* set once by main.c before the subcommand runs */
const char *cli_db;      /* set once by cli_global_options */
uint64_t cli_max_memory; /* set once by cli_global_options */

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

/* Redrawn at most 10 times a second, from the first second on; a new step
 * is always shown. */
static void show_progress(void *ctx, int pass, uint64_t done, uint64_t total)
{
	static const char *const steps[] = {
	        [DB_PROGRESS_FINISH] = "the last tables",
	        [DB_PROGRESS_GRAPH] = "roots, reachability, cycles",
	        [DB_PROGRESS_HEAP] = "storing the heap",
	        [DB_PROGRESS_DOM] = "retained sizes",
	};
	struct cli_progress *p = ctx;
	int is_pass = pass == DB_PROGRESS_PASS1 || pass == DB_PROGRESS_PASS2;
	double t = now_seconds();
	if (t - p->start < 1.0 || (is_pass && t - p->last < 0.1))
		return;
	p->last = t;
	p->shown = 1;
	if (!is_pass) {
		const char *what =
		        pass > 0 && pass < (int)(sizeof steps / sizeof *steps) && steps[pass]
		                ? steps[pass]
		                : "working";
		fprintf(stderr, "\r%s: loading %s: %s\033[K", CLI_NAME, p->file, what);
		fflush(stderr);
		return;
	}
	unsigned pct = total ? (unsigned)(done * 100 / total) : 0;
	fprintf(stderr, "\r%s: loading %s: pass %d/2 %3u%%\033[K", CLI_NAME, p->file, pass, pct);
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

void cli_progress_step(struct cli_progress *p, const char *what)
{
	if (cli_quiet || !isatty(STDERR_FILENO) || now_seconds() - p->start < 1.0)
		return;
	fprintf(stderr, "\r%s: ", CLI_NAME);
	cli_put_escaped(stderr, p->file);
	fprintf(stderr, ": %s\033[K", what);
	fflush(stderr);
	p->shown = 1;
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* One line when a dump's database went to the cache directory. */
static void show_notice(void *ctx, const char *dbpath, const char *why)
{
	struct cli_progress *p = ctx;
	cli_progress_end(p);
	if (!cli_quiet)
		cli_error(p->file, "database in %s (%s)", dbpath, why);
}

int cli_open(const char *path, int readonly, sqlite3 **db)
{
	struct db_error err;
	struct cli_progress p;
	struct db_open_opts o = {readonly, NULL, &p, cli_db, show_notice};
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
	char why[128];
	const char *limit = db ? sqlguard_why(db, why, sizeof why) : NULL;
	cli_error(file, "%s: %s", what, limit ? limit : db ? sqlite3_errmsg(db) : "out of memory");
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

/* "64M", "2G", "1048576": bytes, or -1. */
static long long parse_size(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	double m = 1;
	switch (*end) {
	case 'k':
	case 'K':
		m = 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		m = 1024.0 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		m = 1024.0 * 1024 * 1024;
		end++;
		break;
	case 't':
	case 'T':
		m = 1024.0 * 1024 * 1024 * 1024;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || v * m > 9e18)
		return -1;
	return (long long)(v * m);
}

int cli_global_options(int *argc, char **argv)
{
	static const char *const names[] = {"--db", "--timeout", "--max-memory"};
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;
		int k = -1;
		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		for (int j = 0; j < 3 && k < 0; j++) {
			size_t n = strlen(names[j]);
			if (strncmp(a, names[j], n) == 0 && (a[n] == 0 || a[n] == '='))
				k = j, val = a[n] ? a + n + 1 : NULL;
		}
		if (k < 0) {
			argv[out++] = argv[i];
			continue;
		}
		if (!val) {
			if (i + 1 >= *argc)
				return cli_usage_error("option '%s' requires a value", names[k]);
			val = argv[++i];
		}
		if (k == 0) {
			if (!*val)
				return cli_usage_error("--db: empty path");
			cli_db = val;
		} else if (k == 1) {
			char *end;
			errno = 0;
			double t = strtod(val, &end);
			if (errno || end == val || *end || t < 0 || t > 1e9)
				return cli_usage_error(
				        "--timeout: '%s' is not a number of seconds >= 0", val);
			sqlguard_timeout = t;
		} else {
			long long b = parse_size(val);
			if (b <= 0)
				return cli_usage_error(
				        "--max-memory: '%s' is not a size (e.g. 512M, 4G)", val);
			cli_max_memory = (uint64_t)b;
			sqlguard_heap_limit = b;
			load_max_memory = (uint64_t)b;
		}
	}
	argv[out] = NULL;
	*argc = out;
	load_max_memory = cli_memory_budget();
	return 0;
}

uint64_t cli_memory_budget(void)
{
	if (cli_max_memory)
		return cli_max_memory;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t half = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2 : 0;
	return half && half < CLI_MEMORY_DEFAULT_MAX ? half : CLI_MEMORY_DEFAULT_MAX;
}
