/* cli.h — helpers shared by main.c and the cmd_*.c subcommands: the one
 * error-line format, opening a DUMP|DB argument with its diagnostics and the
 * common options. These print (to stderr) and are for command code only;
 * library files (reader, graph, db, output) never call them. */
#ifndef PYMPLE_CLI_H
#define PYMPLE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "db.h"
#include "output.h"

#define CLI_NAME "pymple-analyze"

/* Exit statuses, chosen once (README): */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_BAD_INPUT = 2 };

/* Global options set by main.c before the subcommand runs. */
extern int cli_quiet;           /* -q: no progress line */
extern int cli_verbose;         /* -v: more detail on stderr */
extern const char *cli_command; /* the subcommand being run (main.c), for hints */
extern const char *cli_db;      /* --db PATH: where a dump's database goes, or NULL */
extern uint64_t cli_max_memory; /* --max-memory: bytes a dump may cost to read (0: default) */

/* Takes the options every command accepts, before or after the command name,
 * out of argv (shifting the rest down, updating *argc; a "--" ends them):
 * --db PATH, --timeout S, --max-memory SIZE (K, M, G or T suffix), each also
 * as --opt=VALUE. Sets cli_db, cli_max_memory and the sqlguard limits.
 * Returns 0, or prints one usage-error line and returns CLI_BAD_INPUT. */
int cli_global_options(int *argc, char **argv);

/* The memory a command may spend reading one dump: --max-memory, or by
 * default half the physical memory, at most CLI_MEMORY_DEFAULT_MAX. */
#define CLI_MEMORY_DEFAULT_MAX (16ull << 30)
uint64_t cli_memory_budget(void);

/* Prints "pymple-analyze: <file>: <message>\n" to stderr (file may be NULL:
 * then "pymple-analyze: <message>"). */
void cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Control characters in the file name and the message print escaped (\r,
 * \n, \t, \x1b): an error is always one visible line. cli_usage_error too. */

/* Writes s to fp with control characters escaped as above. */
void cli_put_escaped(FILE *fp, const char *s);

/* Opens a DUMP|DB argument with db_open_input (loading a dump on first use,
 * with a progress line on a terminal unless -q). Returns 0 with *db set, or
 * prints the one error line and returns the exit status to use (1 or 2). */
int cli_open(const char *path, int readonly, sqlite3 **db);

/* The progress line of a load: "pymple-analyze: loading F: pass 1/2 37%",
 * shown on stderr only when it is a terminal, -q is off and the load has run
 * for a second. cli_progress_begin returns the callback to pass to the loader
 * (NULL when no line should be shown); cli_progress_end erases the line. */
struct cli_progress {
	const char *file;
	double start, last;
	int shown;
};
db_progress_fn cli_progress_begin(struct cli_progress *p, const char *file);
void cli_progress_end(struct cli_progress *p);
/* For a command's own long work after cli_progress_begin: "pymple-analyze:
 * <file>: <what>" on the same line, under the same rules (a terminal, no -q,
 * a second gone by). */
void cli_progress_step(struct cli_progress *p, const char *what);

/* Prints the usage lines (NULL-terminated array; the first is the synopsis)
 * to fp: "usage: pymple-analyze <first line>" then the rest as is. */
void cli_usage(FILE *fp, const char *const *usage);

/* Prints one usage-error line, "pymple-analyze: <command>: <message> (see
 * 'pymple-analyze <command> -h')" (no command part when none is running),
 * never the whole help. Returns CLI_BAD_INPUT. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The usage error for what getopt_long returned in its default case (c is
 * ':' for a missing value when the option string starts with ':', else '?'),
 * naming the offending option. main.c sets opterr = 0 so getopt itself prints
 * nothing. Returns CLI_BAD_INPUT. */
int cli_option_error(int c, char **argv);

/* Parsing of the shared options; each prints its own usage-error line and
 * returns CLI_BAD_INPUT on a bad value, 0 on success. */
int cli_parse_format(const char *arg, enum out_format *f);
int cli_parse_limit(const char *arg, long long *limit); /* N >= 0; 0 = no limit */
/* The options the listing commands share, for the default case of their
 * getopt_long switch: 'f' (--format), 'l' (--limit; only when limit is not
 * NULL) and 'h' (--help, printed on stdout). Returns CLI_MORE when c was one
 * of them and parsing goes on; otherwise the exit status to return at once:
 * CLI_OK after the help, CLI_BAD_INPUT for a bad value or unknown option. */
#define CLI_MORE (-1)
int cli_common_option(int c, char **argv, const char *const *usage, enum out_format *fmt,
                      long long *limit);
/* A number >= 0 for option `opt` (named in the error, e.g. "--dot"). */
int cli_parse_count(const char *opt, const char *arg, long long *v);

/* Reports a failed SQLite call on db for file: "<file>: <what>: <errmsg>";
 * returns CLI_RUNTIME. */
int cli_sqlite_error(sqlite3 *db, const char *file, const char *what);

#endif
