/* commands.h — the entry points of every pymple-analyze subcommand, one per
 * analyzer/cmd_<name>.c. Each takes the subcommand's own argv (argv[0] is the
 * subcommand name), answers -h/--help with its usage on stdout and exit 0,
 * and returns the process exit status (0 ok, 1 runtime failure, 2 bad input
 * or usage). main.c's sorted table lists them with a one-line summary. */
#ifndef PYMPLE_COMMANDS_H
#define PYMPLE_COMMANDS_H

int cmd_check(int argc, char **argv);     /* cmd_check.c (codec) */
int cmd_cycles(int argc, char **argv);    /* cmd_cycles.c (graph) */
int cmd_diff(int argc, char **argv);      /* cmd_diff.c (graph) */
int cmd_garbage(int argc, char **argv);   /* cmd_garbage.c (graph) */
int cmd_growth(int argc, char **argv);    /* cmd_growth.c (graph) */
int cmd_inspect(int argc, char **argv);   /* cmd_check.c (codec) */
int cmd_load(int argc, char **argv);      /* cmd_load.c */
int cmd_path(int argc, char **argv);      /* cmd_path.c (graph) */
int cmd_referrers(int argc, char **argv); /* cmd_referrers.c (graph) */
int cmd_sql(int argc, char **argv);       /* cmd_sql.c */
int cmd_summary(int argc, char **argv);   /* cmd_summary.c */

#endif
