/* cmd_path.c — `pymple-analyze path DUMP ADDRESS|--type T`: the shortest
 * chain of references from a root to an object. Breadth-first search
 * backwards from the target over ref_in (the referrers table), stopping at the first
 * root met: the nearest root, found without loading the whole graph (MAT's
 * "path to GC roots"). Reads the database only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "leak_cli.h"
#include "output.h"
#include "pathstep.h"

static const char *const usage[] = {
	"path DUMP ADDRESS|--type T [--weak] [--format table|csv|json] [--limit N]",
	"",
	"The shortest chain of references from a root to the object at ADDRESS",
	"(0x-hex or decimal), or to up to N reachable instances of type T, one step",
	"per line, the root first (with why it is a root); each line ends with the",
	"label of the reference to the next line's object ([7] index, ['key'] value",
	"under a str key, .name attribute, key (...) a dict key, [42] value under",
	"another key); objects are named as in the code (type C, method C.f, frame",
	"f (app.py:24), cell x):",
	"  module app (sys.modules)",
	"  -> dict ['CACHE']",
	"  -> list [7]",
	"  -> app.Session at 0x7f3a...",
	"",
	"  --type T           paths to instances of T (builtins bare: dict; others",
	"                     module.qualname, or the class name alone when only",
	"                     one class has it)",
	"  --weak             also follow weak references (left out by default)",
	"  --format F         table (default), csv or json",
	"  --limit N          with --type: at most N instances (default 3)",
	"  -h, --help         this help",
	"",
	"JSON: [{\"address\", \"type\", \"name\", \"edge\", \"value\", \"root\"}, ...] from the",
	"      root to the target (edge: the label of the reference into the step;",
	"      root: why the first step is a root); with --type an array of such",
	"      arrays. CSV: path, step, address, type, edge, value, name.",
	NULL,
};

/* Where a path may start: a root, or a module. Modules are where users look
 * for the owner of a leak (`module app -> ...`), and a module held by
 * sys.modules is a root by the rules of issue 3 even when its refcount is
 * fully explained by references inside the dump (sys.modules, an import). */
#define PATH_ROOT_SQL "(o.root OR t.name = 'module')"

/* BFS state: node i is object ids[i], reached from node next[i] (one step
 * nearer the target; -1 for the target) by a reference of kind/label from
 * ids[i] to ids[next[i]]. Nodes are appended in BFS order, so the arrays are
 * also the queue. ix is an open-addressing set of node indices by id. */
struct bfs {
	size_t n, cap;
	int64_t *ids, *labels, *next, *seqs; /* seqs: ref_data.seq of the reference */
	int *kinds;
	size_t ixcap; /* power of two */
	int64_t *ix;  /* node index + 1, 0 = empty */
};

static void bfs_release(struct bfs *b)
{
	free(b->ids);
	free(b->labels);
	free(b->next);
	free(b->kinds);
	free(b->seqs);
	free(b->ix);
	memset(b, 0, sizeof *b);
}

static size_t slot_of(const struct bfs *b, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15u;
	size_t i = (size_t)(h >> 20) & (b->ixcap - 1);
	while (b->ix[i] && b->ids[b->ix[i] - 1] != id)
		i = (i + 1) & (b->ixcap - 1);
	return i;
}

/* Adds id unless seen; returns 1 added, 0 seen, -1 out of memory. */
static int bfs_add(struct bfs *b, int64_t id, int64_t next, int kind, int64_t label, int64_t seq)
{
	if (2 * (b->n + 1) > b->ixcap) {
		size_t ncap = b->ixcap ? b->ixcap * 2 : 1024;
		int64_t *nix = calloc(ncap, sizeof *nix), *old = b->ix;
		if (!nix)
			return -1;
		b->ix = nix;
		b->ixcap = ncap;
		for (size_t i = 0; i < b->n; i++)
			b->ix[slot_of(b, b->ids[i])] = (int64_t)i + 1;
		free(old);
	}
	size_t s = slot_of(b, id);
	if (b->ix[s])
		return 0;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		int64_t *a = realloc(b->ids, ncap * sizeof *a);
		if (a)
			b->ids = a;
		int64_t *l = realloc(b->labels, ncap * sizeof *l);
		if (l)
			b->labels = l;
		int64_t *x = realloc(b->next, ncap * sizeof *x);
		if (x)
			b->next = x;
		int *k = realloc(b->kinds, ncap * sizeof *k);
		if (k)
			b->kinds = k;
		int64_t *q = realloc(b->seqs, ncap * sizeof *q);
		if (q)
			b->seqs = q;
		if (!a || !l || !x || !k || !q)
			return -1;
		b->cap = ncap;
	}
	b->ids[b->n] = id;
	b->next[b->n] = next;
	b->kinds[b->n] = kind;
	b->labels[b->n] = label;
	b->seqs[b->n] = seq;
	b->ix[s] = (int64_t)++b->n;
	return 1;
}

/* Finds the nearest root above target. Returns the node index of the root
 * (its chain of next[] leads to the target, node 0), -1 if no root holds the
 * target, -2 on an SQLite error, -3 out of memory. */
static long find_root(sqlite3 *db, struct bfs *b, int64_t target, int weak)
{
	sqlite3_stmt *st;
	long found = -1;
	if (sqlite3_prepare_v2(db,
	                       "SELECT r.src, r.kind, r.label, " PATH_ROOT_SQL ", r.seq FROM ref_in i"
	                       " JOIN ref_data r ON r.src = i.src AND r.seq = i.seq"
	                       " JOIN object_data o ON o.id = r.src JOIN types t ON t.id = o.type_id"
	                       " WHERE i.dst = ?1 AND (?2 OR r.kind != 4)",
	                       -1, &st, NULL))
		return -2;
	sqlite3_bind_int(st, 2, weak);
	if (bfs_add(b, target, -1, 0, 0, 0) < 0) {
		found = -3;
		goto out;
	}
	for (size_t head = 0; head < b->n && found == -1; head++) {
		sqlite3_bind_int64(st, 1, b->ids[head]);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int added = bfs_add(b, sqlite3_column_int64(st, 0), (int64_t)head,
			                    sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
			                    sqlite3_column_int64(st, 4));
			if (added < 0) {
				found = -3;
				break;
			}
			if (added && sqlite3_column_int(st, 3)) {
				found = (long)b->n - 1;
				break;
			}
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			found = -2;
		sqlite3_reset(st);
	}
out:
	sqlite3_finalize(st);
	return found;
}

/* Prints the chain from root node `root` down to the target (node 0).
 * nth: 1-based path number (for --type), 0 for a single path. Steps are
 * named by pathstep.c (type Dispatcher, method Menu.on_close, ...). */
static int print_chain(sqlite3 *db, const struct bfs *b, long root, enum out_format fmt, int nth,
                       long long *jsonrows)
{
	struct pathstep ps;
	if (pathstep_init(&ps, db) < 0)
		return -1;
	int step = 0, rc = 0;
	char edge_in[PATHSTEP_TEXT] = "", edge_out[PATHSTEP_TEXT];
	if (fmt == OUT_JSON)
		fputs(nth ? (*jsonrows ? ",\n[\n" : "[\n") : "[\n", stdout);
	for (long i = root; i >= 0; i = (long)b->next[i], step++) {
		struct pathstep_obj o;
		int last = b->next[i] < 0;
		if (pathstep_object(&ps, b->ids[i], step == 0, &o) < 0 ||
		    (!last && pathstep_edge(&ps, b->ids[i], b->seqs[i], b->kinds[i], b->labels[i],
		                            edge_out, sizeof edge_out) < 0)) {
			rc = -1;
			break;
		}
		if (last)
			edge_out[0] = 0;
		/* A module's own namespace needs no second "module" line. */
		if (!strcmp(edge_in, ".__dict__") && !strcmp(o.type, "dict"))
			snprintf(o.name, sizeof o.name, "dict");
		if (fmt == OUT_JSON) {
			const char *j = pathstep_json(&ps, &o, edge_in);
			if (!j) {
				rc = -1;
				break;
			}
			printf("%s%s", step ? ",\n" : "", j);
		} else if (fmt == OUT_CSV) {
			if (nth <= 1 && step == 0)
				fputs("path,step,address,type,edge,value,name\r\n", stdout);
			printf("%d,%d,%llu,", nth ? nth : 1, step, (unsigned long long)o.address);
			out_csv_field(stdout, o.type, strlen(o.type));
			putchar(',');
			out_csv_field(stdout, edge_in, strlen(edge_in));
			putchar(',');
			if (o.value)
				out_csv_field(stdout, o.value, strlen(o.value));
			putchar(',');
			out_csv_field(stdout, o.name, strlen(o.name));
			fputs("\r\n", stdout);
		} else {
			/* Each line ends with the label of the reference to the next
			 * line's object (`dict ['CACHE'] -> dict ...`). A `.__dict__`
			 * is left out: the next line shows that dict anyway. */
			if (step)
				fputs("-> ", stdout);
			fputs(o.name, stdout);
			if (o.why[0])
				printf(" %s", o.why);
			if (last || (step == 0 && !strcmp(o.name, o.type)))
				printf(" at 0x%llx", (unsigned long long)o.address);
			if (edge_out[0] && strcmp(edge_out, ".__dict__") != 0)
				printf(" %s", edge_out);
			putchar('\n');
		}
		memcpy(edge_in, edge_out, sizeof edge_in);
	}
	if (fmt == OUT_JSON)
		fputs("\n]", stdout);
	(*jsonrows)++;
	pathstep_release(&ps);
	return rc;
}

/* The path to one object; *printed tells whether a chain was printed. */
static int path_one(sqlite3 *db, const char *file, int64_t id, int weak, enum out_format fmt,
                    int nth, long long *printed)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT o.reachable, " PATH_ROOT_SQL ", o.address FROM object_data o"
	                       " JOIN types t ON t.id = o.type_id WHERE o.id = ?1",
	                       -1, &st, NULL))
		return cli_sqlite_error(db, file, "path");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return cli_sqlite_error(db, file, "path");
	}
	int reachable = sqlite3_column_int(st, 0), root = sqlite3_column_int(st, 1);
	uint64_t addr = (uint64_t)sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	struct bfs b = {0};
	long r = -1;
	if (root) {
		if (bfs_add(&b, id, -1, 0, 0, 0) < 0)
			r = -3;
		else
			r = 0;
	} else if (reachable || weak) {
		r = find_root(db, &b, id, weak);
	}
	int status = 0;
	if (r == -2)
		status = cli_sqlite_error(db, file, "path");
	else if (r == -3) {
		cli_error(file, "path: out of memory");
		status = CLI_RUNTIME;
	} else if (r == -1) {
		if (fmt == OUT_TABLE)
			printf("%s0x%llx: no path from a root%s\n", nth > 1 ? "\n" : "",
			       (unsigned long long)addr,
			       reachable ? " without weak references (try --weak)"
			                 : ": unreachable, garbage a gc.collect() would free"
			                   " (see `garbage`)");
		else if (fmt == OUT_JSON && !nth)
			fputs("[", stdout); /* closed as "[]" below */
	} else {
		if (fmt == OUT_TABLE && nth > 1)
			putchar('\n');
		if (print_chain(db, &b, r, fmt, nth, printed) < 0)
			status = cli_sqlite_error(db, file, "path");
	}
	if (r == -1 && fmt == OUT_JSON && !nth)
		fputs("]\n", stdout);
	else if (r >= 0 && fmt == OUT_JSON && !nth)
		putchar('\n');
	bfs_release(&b);
	return status;
}

int cmd_path(int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},  {"weak", no_argument, NULL, 'w'},
		{"format", required_argument, NULL, 'f'}, {"limit", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 3;
	const char *type = NULL;
	int weak = 0, c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ht:f:l:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'w':
			weak = 1;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	int nargs = argc - optind;
	uint64_t addr = 0;
	if (nargs != (type ? 1 : 2)) {
		return cli_usage_error("expected DUMP and ADDRESS, or DUMP --type T");
	}
	if (!type && leak_parse_address(argv[optind + 1], &addr) < 0) {
		cli_usage_error("'%s' is not an address (0x-hex or decimal)", argv[optind + 1]);
		return CLI_BAD_INPUT;
	}
	const char *file = argv[optind];
	sqlite3 *db;
	if ((rc = cli_open(file, 0, &db)))
		return rc;
	long long printed = 0;
	if (!type) {
		int64_t id;
		int found = leak_object_id(db, addr, &id);
		if (found < 0)
			rc = cli_sqlite_error(db, file, "path");
		else if (!found) {
			cli_error(file, "no object at 0x%llx in this dump", (unsigned long long)addr);
			rc = CLI_BAD_INPUT;
		} else
			rc = path_one(db, file, id, weak, fmt, 0, &printed);
		sqlite3_close(db);
		return rc;
	}
	/* --type: the first reachable instances in dump order, else the first
	 * unreachable ones. Scanning in id order stops at the limit, so common
	 * types answer at once (there is no index on type_id). */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id FROM (SELECT o.id AS id FROM object_data o"
	                       "  WHERE o.type_id IN (SELECT id FROM types WHERE name = ?1)"
	                       "  AND o.reachable = 1 ORDER BY o.id LIMIT ?2)"
	                       " UNION ALL SELECT id FROM (SELECT o.id AS id FROM object_data o"
	                       "  WHERE o.type_id IN (SELECT id FROM types WHERE name = ?1)"
	                       "  AND o.reachable = 0 ORDER BY o.id LIMIT ?2)"
	                       " LIMIT ?2",
	                       -1, &st, NULL)) {
		rc = cli_sqlite_error(db, file, "path");
		sqlite3_close(db);
		return rc;
	}
	char *resolved = NULL;
	rc = leak_resolve_type(db, file, type, &resolved);
	if (rc) {
		sqlite3_finalize(st);
		if (rc == -1)
			rc = cli_sqlite_error(db, file, "path");
		else if (rc == -2) {
			cli_error(file, "path: out of memory");
			rc = CLI_RUNTIME;
		}
		sqlite3_close(db);
		return rc;
	}
	type = resolved;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			int64_t *nids = realloc(ids, cap * sizeof *ids);
			if (!nids)
				break;
			ids = nids;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	rc = (rc == SQLITE_DONE) ? 0 : cli_sqlite_error(db, file, "path");
	sqlite3_finalize(st);
	if (!rc && n == 0) {
		cli_error(file, "no object of type '%s' in this dump", type);
		rc = CLI_BAD_INPUT;
	}
	if (!rc && fmt == OUT_JSON)
		fputs("[\n", stdout);
	for (size_t i = 0; i < n && !rc; i++)
		rc = path_one(db, file, ids[i], weak, fmt, (int)i + 1, &printed);
	if (!rc && fmt == OUT_JSON)
		fputs(printed ? "\n]\n" : "]\n", stdout);
	free(ids);
	free(resolved);
	sqlite3_close(db);
	return rc;
}
