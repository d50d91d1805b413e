/* leak_cli.h — helpers shared by the leak-hunting subcommands (diff, growth,
 * path, referrers, cycles, garbage): address parsing, opening several inputs
 * in parallel and printing of JSON-valued rows. Command code
 * only (it may print to the FILE* it is given); never exits. */
#ifndef PYMPLE_LEAK_CLI_H
#define PYMPLE_LEAK_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

/* Parses an object address: 0x-prefixed hex or decimal, with any white
 * space around it (a CR from a pasted CSV field). Returns 0, or -1 if s is
 * not a number that fits in 64 bits. */
int leak_parse_address(const char *s, uint64_t *addr);

/* Opens n DUMP|DB arguments (read-write: dumps load on first use). A second
 * thread opens every second input while this one opens the others, so two
 * loads run at once on two cores; that thread is silent (no progress line)
 * and its error, if any, is printed here after the join. Returns 0 with
 * dbs[0..n) open, or the exit status to use after printing the error of the
 * first input that failed (nothing left open). */
int leak_open_many(char **paths, int n, sqlite3 **dbs);

/* Steps st to the end; column 0 of every row must be JSON text. Prints them
 * as one array, one element per line ("[\n" e1 ",\n" e2 "\n]\n"; "[]\n" when
 * empty), the layout out_rows() uses. Returns the row count or -1 if a step
 * failed (sqlite3_errmsg says why). Does not finalize st. */
long long leak_json_rows(FILE *fp, sqlite3_stmt *st);

/* The type name `want` stands for, for --type: the name itself when some
 * type has it; else the one type whose name ends in ".want" (EditorWindow
 * for __main__.EditorWindow, Outer.Inner for app.Outer.Inner). Returns 0
 * with *out a malloc'ed name; CLI_BAD_INPUT after printing "type 'T' is
 * ambiguous: a.T, b.T" or "no object of type 'T' in this dump (did you mean
 * app.Tx?)"; -1 on an SQLite error, -2 out of memory (nothing printed). */
int leak_resolve_type(sqlite3 *db, const char *file, const char *want, char **out);

/* Resets getopt for a subcommand's own argv. */
void leak_getopt_reset(void);

#endif
