/* sqlguard.c — the limits of sqlguard.h: defensive connection flags, a time
 * limit through the progress handler, SQLite's hard heap limit, and the
 * read-only authorizer of `sql`. Never prints or exits. */
#include "sqlguard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double sqlguard_timeout = SQLGUARD_TIMEOUT_DEFAULT;  /* set once by main.c */
int64_t sqlguard_heap_limit = SQLGUARD_HEAP_DEFAULT; /* set once by main.c */

/* The deadline of one connection: owned by the connection (freed when it
 * closes, as the user data of a function registered on it), read by the
 * progress handler on the connection's thread. */
struct deadline {
	double at;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sqlguard_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
	sqlite3_initialize();
}

int sqlguard_defend(sqlite3 *db)
{
	int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	return rc;
}

/* Called every few thousand virtual machine steps: non-zero interrupts. */
static int on_progress(void *ctx)
{
	struct deadline *d = ctx;
	return now_seconds() >= d->at;
}

/* The function that carries the deadline: it does nothing when called. */
static void deadline_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc, (void)argv;
	sqlite3_result_null(ctx);
}

static struct deadline *deadline_of(sqlite3 *db)
{
	struct deadline *d = sqlite3_malloc(sizeof *d);
	if (!d)
		return NULL;
	/* Registered with xDestroy: SQLite frees d when db closes (or when the
	 * function is registered again, for a connection armed twice). */
	if (sqlite3_create_function_v2(db, "pymple_deadline", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, d,
	                               deadline_fn, NULL, NULL, sqlite3_free) != SQLITE_OK)
		return NULL; /* xDestroy already ran */
	return d;
}

int sqlguard_limit(sqlite3 *db)
{
	if (sqlguard_heap_limit > 0)
		sqlite3_hard_heap_limit64(sqlguard_heap_limit);
	if (sqlguard_timeout <= 0)
		return SQLITE_OK;
	struct deadline *d = deadline_of(db);
	if (!d)
		return SQLITE_NOMEM;
	d->at = now_seconds() + sqlguard_timeout;
	sqlite3_progress_handler(db, 10000, on_progress, d);
	return SQLITE_OK;
}

/* Functions that reach outside the database or change the connection. */
static const char *const denied_functions[] = {
        "load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "fts5_tokenizer",
};

/* Pragmas that only read: those whose argument names what to read, and
 * those allowed without an argument only (with one, they would write). */
static const char *const naming_pragmas[] = {
        "table_info", "table_xinfo", "table_list",       "index_list",
        "index_info", "index_xinfo", "foreign_key_list",
};
static const char *const reading_pragmas[] = {
        "function_list",   "module_list",   "pragma_list",  "collation_list",
        "compile_options", "database_list", "page_count",   "page_size",
        "freelist_count",  "encoding",      "user_version", "application_id",
};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcasecmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int authorize(void *ctx, int action, const char *a, const char *b, const char *dbname,
                     const char *trigger)
{
	(void)ctx, (void)dbname, (void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION: /* a: NULL, b: the function's name */
		return in_list(b, denied_functions,
		               sizeof denied_functions / sizeof *denied_functions)
		               ? SQLITE_DENY
		               : SQLITE_OK;
	case SQLITE_PRAGMA: /* a: the pragma, b: its argument or value, or NULL */
		if (in_list(a, naming_pragmas, sizeof naming_pragmas / sizeof *naming_pragmas))
			return SQLITE_OK;
		return !b && in_list(a, reading_pragmas,
		                     sizeof reading_pragmas / sizeof *reading_pragmas)
		               ? SQLITE_OK
		               : SQLITE_DENY;
	default: /* writes, DDL, ATTACH/DETACH, transactions, ANALYZE, ... */
		return SQLITE_DENY;
	}
}

int sqlguard_readonly(sqlite3 *db)
{
	/* VACUUM INTO attaches its output file first: no attachment, no file. */
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	return sqlite3_set_authorizer(db, authorize, NULL);
}

const char *sqlguard_why(sqlite3 *db, char *buf, size_t n)
{
	int code = sqlite3_errcode(db) & 0xff;
	if (code == SQLITE_INTERRUPT && sqlguard_timeout > 0) {
		snprintf(buf, n, "stopped after %g s (--timeout)", sqlguard_timeout);
		return buf;
	}
	if (code == SQLITE_NOMEM && sqlguard_heap_limit > 0) {
		snprintf(buf, n, "needs more than %lld MiB of memory (--max-memory)",
		         (long long)(sqlguard_heap_limit >> 20));
		return buf;
	}
	return NULL;
}
