/* cmd_load.c — `pymple-analyze load DUMP [-o DB]`: loads a dump into a new
 * SQLite database (default DUMP.db) through load.c and reports what it found.
 * All the work is in load.c; this file parses options and prints. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "dbcache.h"
#include "load.h"

static const char *const usage[] = {
        "load DUMP [-o DB] [--refs] [--dominators=classes|all]",
        "",
        "Loads DUMP into an SQLite database (default DUMP.db, or the cache",
        "directory when DUMP's directory is not writable or DUMP.db is not ours),",
        "replacing it once the load is complete. Other commands load a dump on",
        "first use by themselves; `load` is for choosing the output or timing it.",
        "The table refs (one row per reference) is left out of a default load:",
        "it is built the first time `sql` runs a query naming refs, or here with",
        "--refs; until then other SQLite clients get an error naming this command.",
        "",
        "  -o, --output DB   write the database to DB (the same as --db DB)",
        "      --refs        build the refs table now (for sqlite3, pandas ...)",
        "      --dominators=M  which strong references the dominator tree (retained",
        "                    sizes) follows: classes (default) cuts references into",
        "                    class objects; all keeps every strong reference",
        "  -h, --help        this help",
        NULL,
};

int cmd_load(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"output", required_argument, NULL, 'o'},
	        {"refs", no_argument, NULL, 'r'},
	        {"dominators", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	int c, refs = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'r':
			refs |= LOAD_REFS;
			break;
		case 'd':
			if (strcmp(optarg, "all") == 0)
				refs |= LOAD_ALL_REFS;
			else if (strcmp(optarg, "classes") == 0)
				refs &= ~LOAD_ALL_REFS;
			else
				return cli_usage_error(
				        "--dominators takes classes or all, not '%s'", optarg);
			break;
		case 'h':
			cli_usage(stdout, usage);
			return CLI_OK;
		default:
			return cli_option_error(c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(optind == argc ? "missing DUMP"
		                                      : "expected one DUMP, got %d files",
		                       argc - optind);
	const char *dump = argv[optind];
	struct dbcache_place *dflt = NULL;
	struct load_stats s;
	struct db_error err;
	if (!out)
		out = cli_db;
	if (!out) {
		struct stat sb;
		if (stat(dump, &sb) < 0) {
			char m[128];
			snprintf(m, sizeof m, "%s", strerror(errno));
			m[0] = (char)tolower((unsigned char)m[0]);
			cli_error(dump, "cannot open: %s", m);
			return CLI_BAD_INPUT;
		}
		dflt = malloc(sizeof *dflt);
		if (!dflt) {
			cli_error(dump, "out of memory");
			return CLI_RUNTIME;
		}
		if (dbcache_place(dump, &sb, NULL, dflt, &err) < 0) {
			cli_error(err.file[0] ? err.file : dump, "%s", err.msg);
			free(dflt);
			return err.status ? err.status : CLI_RUNTIME;
		}
		out = dflt->path;
	}
	struct cli_progress p;
	db_progress_fn fn = cli_progress_begin(&p, dump);
	int rc = load_dump_refs(dump, out, refs, fn, &p, &s, &err);
	cli_progress_end(&p);
	if (rc < 0) {
		if (cli_verbose && err.where) /* the words of `-v check` */
			cli_error(err.file[0] ? err.file : dump, "%s [byte %llu, %s]", err.msg,
			          (unsigned long long)err.offset, err.where);
		else
			cli_error(err.file[0] ? err.file : dump, "%s", err.msg);
		free(dflt);
		return err.status ? err.status : CLI_RUNTIME;
	}
	if (dflt && dflt->note[0] && !cli_quiet)
		cli_error(dump, "database in %s (%s)", out, dflt->note);
	if (!cli_quiet) {
		printf("%s: %llu objects, %llu references (%llu to addresses not in the dump), "
		       "%llu roots, %llu unreachable, %llu cycles; %.2f s\n",
		       out, (unsigned long long)s.objects, (unsigned long long)s.refs,
		       (unsigned long long)s.missing_refs, (unsigned long long)s.roots,
		       (unsigned long long)s.unreachable, (unsigned long long)s.cycles, s.t_total);
		if (cli_verbose)
			printf("pass 1 %.3f s, roots+reachability+scc %.3f s, heap encoding %.3f "
			       "s, "
			       "dominators %.3f s, pass 2 %.3f s, indexes %.3f s, refs+commit %.3f "
			       "s, fsync %.3f "
			       "s; "
			       "%.0f objects/s\n",
			       s.t_pass1, s.t_graph, s.t_encode, s.t_dom, s.t_pass2, s.t_indexes,
			       s.t_index, s.t_sync,
			       s.t_total > 0 ? (double)s.objects / s.t_total : 0.0);
		if (cli_verbose)
			printf("cpu: %.3f s loading thread (dominators %.3f s); pass 1 %.3f s, "
			       "graph "
			       "%.3f s, encoding %.3f s, pass 2 %.3f s (decoding thread %.3f s),"
			       " indexes %.3f s\n",
			       s.cpu_main, s.cpu_dom, s.cpu_pass1, s.cpu_graph, s.cpu_encode,
			       s.cpu_pass2, s.cpu_decoder, s.cpu_indexes);
	}
	free(dflt);
	return CLI_OK;
}
