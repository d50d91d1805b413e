/* commands.h — the entry points of every pymple-analyze subcommand, one per
 * analyzer/cmd_<name>.c. Each takes the subcommand's own argv (argv[0] is the
 * subcommand name), answers -h/--help with its usage on stdout and exit 0,
 * and returns the process exit status (0 ok, 1 runtime failure, 2 bad input
 * or usage). main.c's sorted table lists them with a one-line summary. */
#ifndef PYMPLE_COMMANDS_H
#define PYMPLE_COMMANDS_H

/* What a command needs opened for it, in main.c's table: a database (a dump
 * is loaded on first use), and the heap read from it with its referrers
 * (heap_view_open() honours cmd_needs). */
enum { CMD_NEEDS_NOTHING = 0, CMD_NEEDS_DB = 1, CMD_NEEDS_HEAP = 2 };
/* The needs of the command running (set by main.c before it starts;
 * defined in heap_view.c). */
extern unsigned cmd_needs;

int cmd_check(int argc, char **argv);      /* cmd_check.c (codec) */
int cmd_cycles(int argc, char **argv);     /* cmd_cycles.c (graph) */
int cmd_diff(int argc, char **argv);       /* cmd_diff.c (graph) */
int cmd_dominators(int argc, char **argv); /* cmd_dominators.c (graph) */
int cmd_garbage(int argc, char **argv);    /* cmd_garbage.c (graph) */
int cmd_growth(int argc, char **argv);     /* cmd_growth.c (graph) */
int cmd_inspect(int argc, char **argv);    /* cmd_check.c (codec) */
int cmd_leaks(int argc, char **argv);      /* cmd_leaks.c (graph) */
int cmd_load(int argc, char **argv);       /* cmd_load.c */
int cmd_path(int argc, char **argv);       /* cmd_path.c (graph) */
int cmd_referrers(int argc, char **argv);  /* cmd_referrers.c (graph) */
int cmd_sql(int argc, char **argv);        /* cmd_sql.c */
int cmd_summary(int argc, char **argv);    /* cmd_summary.c */
int cmd_top(int argc, char **argv);        /* cmd_top.c (graph) */

#endif
