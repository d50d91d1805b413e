/* main.c — pymple-analyze's entry point: global options and a sorted table
 * of subcommands (name, function, one-line summary), `help`, --help and
 * --version. Nothing else lives here: each command is analyzer/cmd_<name>.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "load.h"
#include "sqlguard.h"
#include "pymple_format.h"
#include "pymple_version.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	unsigned needs; /* CMD_NEEDS_*: what opening its input gives it */
};

#define DB   CMD_NEEDS_DB
#define HEAP (CMD_NEEDS_DB | CMD_NEEDS_HEAP)
/* Sorted by name; `help` prints it in this order. check, inspect and load
 * read dumps; cycles reads the heap only for --dot; diff and growth read
 * per-type totals of several databases. */
static const struct command commands[] = {
        {"check", cmd_check, "verify a dump's structure and checksums", CMD_NEEDS_NOTHING},
        {"cycles", cmd_cycles, "reference cycles grouped by type make-up", DB},
        {"diff", cmd_diff, "per-type change between two dumps", DB},
        {"dominators", cmd_dominators,
         "what an object keeps alive, grouped by type (retained size)", HEAP},
        {"garbage", cmd_garbage, "unreachable objects summarized by type", HEAP},
        {"growth", cmd_growth, "types that grow at every step of a series of dumps", DB},
        {"help", NULL, "list the commands, or show one command's help", CMD_NEEDS_NOTHING},
        {"inspect", cmd_inspect, "print a dump's records in readable form", CMD_NEEDS_NOTHING},
        {"leaks", cmd_leaks, "what grows, what leaks and where it is held, in one report",
         CMD_NEEDS_NOTHING},
        {"load", cmd_load, "load a dump into an SQLite database", CMD_NEEDS_NOTHING},
        {"path", cmd_path, "shortest chain of references from a root to an object", HEAP},
        {"referrers", cmd_referrers, "tree of the objects that refer to an object", HEAP},
        {"sql", cmd_sql, "run a read-only SQL query on a loaded dump", DB},
        {"summary", cmd_summary, "objects and bytes per type, and the share of RSS", DB},
        {"top", cmd_top, "the objects that keep the most memory alive (retained size)", HEAP},
};
#undef DB
#undef HEAP
#define NCOMMANDS (sizeof commands / sizeof *commands)

static const char *const usage[] = {
        "[-q] [-v] <command> [<args>]",
        "",
        "Offline analysis of pymple heap dumps. Every command that takes DUMP|DB",
        "accepts a dump (loaded on first use into DUMP.db, reused while the dump",
        "is unchanged) or a database made by `load`.",
        "",
        "  -q, --quiet      no progress line, no load report",
        "  -v, --verbose    more detail (load timings)",
        "",
        "These options go before or after the command:",
        "  --db PATH           the database of the dump (default: DUMP.db next to it,",
        "                      or the cache directory; see README)",
        "  --timeout S         stop any query after S seconds (default 600, 0: none)",
        "  --max-memory SIZE   refuse a dump that needs more memory to read, and cap",
        "                      SQLite's heap (default: half the RAM up to 16G; 1G)",
        "  -h, --help       this help",
        "      --version    print the version",
        "",
        "exit status: 0 ok, 1 runtime failure, 2 bad input or usage",
        NULL,
};

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void list_commands(FILE *fp)
{
	size_t w = 0;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i].name) > w)
			w = strlen(commands[i].name);
	cli_usage(fp, usage);
	fprintf(fp, "\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-*s  %s\n", (int)w, commands[i].name, commands[i].summary);
	fprintf(fp, "\n'%s help <command>' or '%s <command> -h' shows a command's help.\n",
	        CLI_NAME, CLI_NAME);
}

static int cmd_help(int argc, char **argv)
{
	static const char *const help_usage[] = {
	        "help [<command>]",
	        "",
	        "Lists the commands, or shows the help of one command.",
	        NULL,
	};
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		cli_usage(stdout, help_usage);
		return CLI_OK;
	}
	if (argc < 2) {
		list_commands(stdout);
		return CLI_OK;
	}
	const struct command *c = find(argv[1]);
	if (!c) {
		cli_error(NULL, "'%s' is not a command (see '%s help')", argv[1], CLI_NAME);
		return CLI_BAD_INPUT;
	}
	if (!c->fn)
		return cmd_help(1, argv);
	char h[] = "-h";
	char *args[] = {argv[1], h, NULL};
	return c->fn(2, args);
}

/* An interrupted load leaves no temporary files: remove them, then die of
 * the signal as if unhandled. */
static void on_fatal_signal(int sig)
{
	load_cleanup_signal_safe();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[k], &sa, NULL);
	}
	if (cli_global_options(&argc, argv))
		return CLI_BAD_INPUT;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli_quiet = 1;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			cli_verbose = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			list_commands(stdout);
			return CLI_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("%s %s (dump format %d.%d, sqlite %s)\n", CLI_NAME, PYMPLE_VERSION,
			       PYM_VERSION_MAJOR, PYM_VERSION_MINOR, sqlite3_libversion());
			return CLI_OK;
		} else {
			cli_error(NULL, "unknown option '%s' (see '%s --help')", a, CLI_NAME);
			return CLI_BAD_INPUT;
		}
	}
	if (i == argc)
		return cli_usage_error("no command given");
	const struct command *c = find(argv[i]);
	if (!c) {
		cli_error(NULL, "'%s' is not a command (see '%s help')", argv[i], CLI_NAME);
		return CLI_BAD_INPUT;
	}
	if (!c->fn)
		return cmd_help(argc - i, argv + i);
	/* -q and -v may follow the command too (`load -v DUMP`): taken out of
	 * its arguments here, up to a "--". */
	int w = i + 1;
	for (int r = i + 1; r < argc; r++) {
		const char *a = argv[r];
		if (!strcmp(a, "--")) {
			while (r < argc)
				argv[w++] = argv[r++];
			break;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			cli_quiet = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			cli_verbose = 1;
		else
			argv[w++] = argv[r];
	}
	argc = w;
	argv[argc] = NULL;
	cli_command = c->name;
	cmd_needs = c->needs;
	if (c->needs & CMD_NEEDS_DB)
		sqlguard_init(); /* memory statistics on: the heap ceiling needs them */
	opterr = 0;              /* commands report option errors through cli_option_error */
	int rc = c->fn(argc - i, argv + i);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, "cannot write the output");
		return CLI_RUNTIME;
	}
	return rc;
}
