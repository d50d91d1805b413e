/* sqlguard.h — limits on every SQLite connection a command opens: defensive
 * configuration, a time limit (progress handler), a process-wide heap ceiling,
 * and for `sql` an authorizer that allows reading only. Library code: never
 * prints or exits. */
#ifndef PYMPLE_SQLGUARD_H
#define PYMPLE_SQLGUARD_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Defaults, stated in README (sql's limits). */
#define SQLGUARD_TIMEOUT_DEFAULT 600.0       /* seconds of queries per connection */
#define SQLGUARD_HEAP_DEFAULT    (1ll << 30) /* SQLite heap ceiling: 1 GiB */

/* Set once by main.c (--timeout, --max-memory) before any connection opens;
 * read-only afterwards. timeout <= 0: no time limit. */
extern double sqlguard_timeout;
extern int64_t sqlguard_heap_limit;

/* Makes SQLite keep memory statistics (which its heap ceiling needs) by
 * initializing the library now; call before anything else touches SQLite.
 * A later sqlite3_config() then fails harmlessly. */
void sqlguard_init(void);

/* Turns on SQLITE_DBCONFIG_DEFENSIVE, turns off TRUSTED_SCHEMA and the
 * two-argument fts3_tokenizer(), for a connection to a file that may not be
 * ours. Returns 0 or an SQLite error code. */
int sqlguard_defend(sqlite3 *db);

/* Arms the time limit (from now) and the heap ceiling on db. Returns 0 or
 * an SQLite error code. */
int sqlguard_limit(sqlite3 *db);

/* Makes db read-only for the user's own SQL: an authorizer that allows
 * SELECT, reading tables and views, recursive CTEs and functions that touch
 * no file (no load_extension), and reading pragmas only; no ATTACH (also
 * limited to 0 attached databases, which VACUUM INTO needs), no writes, no
 * transactions, no VACUUM. Returns 0 or an SQLite error code. */
int sqlguard_readonly(sqlite3 *db);

/* After a call on db failed: a message for the limit that stopped it
 * ("stopped after 2 s (--timeout 2)", "needs more than 64 MiB of memory
 * (--max-memory)"), or NULL when no limit of ours was the cause. */
const char *sqlguard_why(sqlite3 *db, char *buf, size_t n);

#endif
