/* cmd_referrers.c — `pymple-analyze referrers DUMP ADDRESS [--depth N]`: the
 * tree of objects that refer to an object, their referrers, and so on, with
 * edge labels, as a text tree, rows (csv/json) or Graphviz (--dot). An
 * explicit stack, not recursion; each object is expanded once. Reads only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "leak_cli.h"
#include "output.h"
#include "pathstep.h"

static const char *const usage[] = {
	"referrers DUMP ADDRESS [--depth N] [--limit N] [--dot] [--format table|csv|json]",
	"",
	"The referrers of the object at ADDRESS (0x-hex or decimal), their",
	"referrers and so on up to depth N, as a tree: every line is an object that",
	"refers to the object above it, with the label of that reference.",
	"An object met twice is shown again but not expanded (\"seen above\").",
	"",
	"  --depth N          levels of referrers (default 3)",
	"  --limit N          at most N referrers per object (default 20, 0 = all)",
	"  --weak             also show weak references (left out by default)",
	"  --dot              Graphviz digraph of the same tree instead",
	"  --format F         table (default), csv or json",
	"  -h, --help         this help",
	"",
	"JSON: [{\"depth\", \"address\", \"type\", \"edge\", \"value\", \"referent\",",
	"        \"root\", \"seen\"}, ...] in tree order (depth 0 is the object itself;",
	"        referent is the address of the object it refers to). CSV: same columns.",
	NULL,
};

/* A tree node waiting on the explicit stack. */
struct item {
	int64_t id, parent_id; /* parent_id: the referent (-1 for the top object);
	                        * id -1: a "more referrers" marker, count in label */
	int depth, last;       /* last: the last child shown under its parent */
	int kind;              /* edge kind from id into parent_id, -1: none */
	int64_t label;
	int64_t seq; /* ref_data.seq of that reference (the first, if several) */
};

struct stack {
	struct item *v;
	size_t n, cap;
};

static int push(struct stack *s, struct item it)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		struct item *nv = realloc(s->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = it;
	return 0;
}

/* Set of expanded ids: open addressing, grows at half load. */
struct idset {
	int64_t *v; /* id + 1, 0 = empty */
	size_t cap, n;
};

/* Adds id; returns 1 if new, 0 if present, -1 out of memory. */
static int idset_add(struct idset *s, int64_t id)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 1024;
		int64_t *nv = calloc(ncap, sizeof *nv);
		if (!nv)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t j = (size_t)(((uint64_t)s->v[i] * 0x9E3779B97F4A7C15u) >> 20) & (ncap - 1);
				while (nv[j])
					j = (j + 1) & (ncap - 1);
				nv[j] = s->v[i];
			}
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	size_t j = (size_t)(((uint64_t)(id + 1) * 0x9E3779B97F4A7C15u) >> 20) & (s->cap - 1);
	while (s->v[j]) {
		if (s->v[j] == id + 1)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->v[j] = id + 1;
	s->n++;
	return 1;
}

enum mode { M_TABLE, M_CSV, M_JSON, M_DOT };

int cmd_referrers(int argc, char **argv)
{
	static const struct option opts[] = {
		{"depth", required_argument, NULL, 'd'},  {"dot", no_argument, NULL, 'D'},
		{"weak", no_argument, NULL, 'w'},         {"format", required_argument, NULL, 'f'},
		{"limit", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 20, depth = 3;
	int dot = 0, weak = 0, c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hd:f:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if ((rc = cli_parse_count("--depth", optarg, &depth)))
				return rc;
			break;
		case 'D':
			dot = 1;
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
	uint64_t addr;
	if (argc - optind != 2) {
		return cli_usage_error("expected DUMP and ADDRESS");
	}
	if (leak_parse_address(argv[optind + 1], &addr) < 0) {
		cli_usage_error("'%s' is not an address (0x-hex or decimal)",
		          argv[optind + 1]);
		return CLI_BAD_INPUT;
	}
	if (depth > 100000)
		depth = 100000; /* the tree is linear anyway: each object expands once */
	enum mode mode = dot ? M_DOT : fmt == OUT_CSV ? M_CSV : fmt == OUT_JSON ? M_JSON : M_TABLE;
	const char *file = argv[optind];
	sqlite3 *db;
	if ((rc = cli_open(file, 0, &db)))
		return rc;
	int64_t top;
	int found = leak_object_id(db, addr, &top);
	if (found <= 0) {
		if (found < 0)
			rc = cli_sqlite_error(db, file, "referrers");
		else {
			cli_error(file, "no object at 0x%llx in this dump", (unsigned long long)addr);
			rc = CLI_BAD_INPUT;
		}
		sqlite3_close(db);
		return rc;
	}
	sqlite3_stmt *node = NULL, *refs = NULL;
	struct pathstep ps = {0};
	struct stack stk = {0}, kids = {0};
	struct idset seen = {0};
	char *open_last = NULL; /* per depth: 1 if that ancestor was a last child */
	long long rows = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT o.address, t.name, o.value, o.root, " LEAK_LABEL_SQL ","
	                       " json_object('depth', ?4, 'address', o.address, 'type', t.name,"
	                       " 'edge', " LEAK_LABEL_SQL ", 'value', o.value, 'referent', ?5,"
	                       " 'root', json(CASE o.root WHEN 1 THEN 'true' ELSE 'false' END),"
	                       " 'seen', json(CASE ?6 WHEN 1 THEN 'true' ELSE 'false' END))"
	                       " FROM object_data o JOIN types t ON t.id = o.type_id"
	                       " LEFT JOIN (SELECT ?2 AS kind, ?3 AS label) r"
	                       " LEFT JOIN strings k ON r.kind IN (2, 3) AND k.id = r.label"
	                       " WHERE o.id = ?1",
	                       -1, &node, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT r.src, r.kind, r.label, min(r.seq) FROM ref_in i JOIN ref_data r"
	                       " ON r.src = i.src AND r.seq = i.seq WHERE i.dst = ?1"
	                       " AND (?2 OR r.kind != 4) GROUP BY r.src, r.kind, r.label"
	                       " ORDER BY r.src",
	                       -1, &refs, NULL)) {
		rc = cli_sqlite_error(db, file, "referrers");
		goto out;
	}
	sqlite3_bind_int(refs, 2, weak);
	open_last = calloc((size_t)(depth > 0 ? depth : 0) + 2, 1);
	if (pathstep_init(&ps, db) < 0) {
		rc = cli_sqlite_error(db, file, "referrers");
		goto out;
	}
	if (!open_last || push(&stk, (struct item){top, -1, 0, 1, -1, 0, 0}) < 0)
		goto oom;
	if (mode == M_DOT)
		fputs("digraph referrers {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
		      stdout);
	else if (mode == M_CSV)
		fputs("depth,address,type,edge,value,referent,root,seen\r\n", stdout);
	else if (mode == M_JSON)
		fputs("[\n", stdout);
	uint64_t *addr_at = calloc((size_t)(depth > 0 ? depth : 0) + 2, sizeof *addr_at);
	if (!addr_at)
		goto oom;
	while (stk.n) {
		struct item it = stk.v[--stk.n];
		if (it.id < 0) {
			/* The "more referrers" marker, after the shown ones. */
			if (mode == M_TABLE) {
				for (int d = 1; d < it.depth; d++)
					fputs(open_last[d] ? "   " : "|  ", stdout);
				printf("+- ... %lld more referrers (--limit)\n", (long long)it.label);
			}
			continue;
		}
		int fresh = idset_add(&seen, it.id);
		if (fresh < 0) {
			free(addr_at);
			goto oom;
		}
		sqlite3_bind_int64(node, 1, it.id);
		if (it.kind < 0) {
			sqlite3_bind_null(node, 2);
			sqlite3_bind_null(node, 3);
		} else {
			sqlite3_bind_int(node, 2, it.kind);
			sqlite3_bind_int64(node, 3, it.label);
		}
		sqlite3_bind_int(node, 4, it.depth);
		if (it.depth)
			sqlite3_bind_int64(node, 5, (int64_t)addr_at[it.depth - 1]);
		else
			sqlite3_bind_null(node, 5);
		sqlite3_bind_int(node, 6, !fresh);
		if (sqlite3_step(node) != SQLITE_ROW) {
			free(addr_at);
			rc = cli_sqlite_error(db, file, "referrers");
			goto out;
		}
		uint64_t a = (uint64_t)sqlite3_column_int64(node, 0);
		const char *type = (const char *)sqlite3_column_text(node, 1);
		const char *value = (const char *)sqlite3_column_text(node, 2);
		int is_root = sqlite3_column_int(node, 3);
		const char *edge = (const char *)sqlite3_column_text(node, 4);
		addr_at[it.depth] = a;
		open_last[it.depth] = (char)it.last;
		if (mode == M_TABLE) {
			for (int d = 1; d < it.depth; d++)
				fputs(open_last[d] ? "   " : "|  ", stdout);
			if (it.depth)
				fputs("+- ", stdout);
			/* Named as in `path` (method Menu.on_close, key ('q1', <Token>)). */
			struct pathstep_obj po;
			char ed[PATHSTEP_TEXT] = "";
			if (pathstep_object(&ps, it.id, 0, &po) < 0 ||
			    (it.kind >= 0 &&
			     pathstep_edge(&ps, it.id, it.seq, it.kind, it.label, ed, sizeof ed) < 0)) {
				free(addr_at);
				rc = cli_sqlite_error(db, file, "referrers");
				goto out;
			}
			printf("%s", po.name);
			if (ed[0])
				printf(" %s", ed);
			printf(" at 0x%llx%s%s\n", (unsigned long long)a, is_root ? " (root)" : "",
			       fresh ? "" : " (seen above)");
		} else if (mode == M_CSV) {
			printf("%d,%llu,", it.depth, (unsigned long long)a);
			out_csv_field(stdout, type ? type : "", type ? strlen(type) : 0);
			putchar(',');
			if (edge)
				out_csv_field(stdout, edge, strlen(edge));
			putchar(',');
			if (value)
				out_csv_field(stdout, value, strlen(value));
			if (it.depth)
				printf(",%llu", (unsigned long long)addr_at[it.depth - 1]);
			else
				putchar(',');
			printf(",%d,%d\r\n", is_root, !fresh);
		} else if (mode == M_JSON) {
			printf("%s%s", rows ? ",\n" : "", (const char *)sqlite3_column_text(node, 5));
		} else {
			if (fresh) {
				/* Labels are JSON strings: valid DOT quoted strings too. */
				sqlite3_stmt *q;
				if (sqlite3_prepare_v2(db,
				                       "SELECT json_quote(?1 || coalesce(' ' || substr(?3, 1, 40), '')"
				                       " || ' at ' || printf('0x%x', ?2))",
				                       -1, &q, NULL) == SQLITE_OK) {
					sqlite3_bind_text(q, 1, type ? type : "?", -1, SQLITE_TRANSIENT);
					sqlite3_bind_int64(q, 2, (int64_t)a);
					if (value)
						sqlite3_bind_text(q, 3, value, -1, SQLITE_TRANSIENT);
					if (sqlite3_step(q) == SQLITE_ROW)
						printf("  n%llx [label=%s%s];\n", (unsigned long long)a,
						       (const char *)sqlite3_column_text(q, 0),
						       is_root ? ", style=bold" : "");
					sqlite3_finalize(q);
				}
			}
			if (it.depth) {
				printf("  n%llx -> n%llx", (unsigned long long)a,
				       (unsigned long long)addr_at[it.depth - 1]);
				if (edge) {
					sqlite3_stmt *q;
					if (sqlite3_prepare_v2(db, "SELECT json_quote(?1)", -1, &q, NULL) ==
					    SQLITE_OK) {
						sqlite3_bind_text(q, 1, edge, -1, SQLITE_TRANSIENT);
						if (sqlite3_step(q) == SQLITE_ROW)
							printf(" [label=%s]", (const char *)sqlite3_column_text(q, 0));
						sqlite3_finalize(q);
					}
				}
				fputs(";\n", stdout);
			}
		}
		rows++;
		sqlite3_reset(node);
		if (!fresh || it.depth >= depth)
			continue;
		/* Expand: referrers of it, pushed in reverse so the first pops first. */
		kids.n = 0;
		long long more = 0;
		sqlite3_bind_int64(refs, 1, it.id);
		int src;
		while ((src = sqlite3_step(refs)) == SQLITE_ROW) {
			if (limit > 0 && (long long)kids.n >= limit) {
				more++;
				continue;
			}
			if (push(&kids, (struct item){sqlite3_column_int64(refs, 0), it.id, it.depth + 1,
			                              0, sqlite3_column_int(refs, 1),
			                              sqlite3_column_int64(refs, 2),
			                              sqlite3_column_int64(refs, 3)}) < 0) {
				free(addr_at);
				goto oom;
			}
		}
		sqlite3_reset(refs);
		if (src != SQLITE_DONE) {
			free(addr_at);
			rc = cli_sqlite_error(db, file, "referrers");
			goto out;
		}
		if (more && push(&stk, (struct item){-1, it.id, it.depth + 1, 1, -1, more, 0}) < 0) {
			free(addr_at);
			goto oom;
		}
		if (kids.n && !more)
			kids.v[kids.n - 1].last = 1;
		for (size_t i = kids.n; i-- > 0;)
			if (push(&stk, kids.v[i]) < 0) {
				free(addr_at);
				goto oom;
			}
	}
	free(addr_at);
	if (mode == M_DOT)
		fputs("}\n", stdout);
	else if (mode == M_JSON)
		fputs(rows ? "\n]\n" : "]\n", stdout);
	rc = 0;
	goto out;
oom:
	cli_error(file, "referrers: out of memory");
	rc = CLI_RUNTIME;
out:
	sqlite3_finalize(node);
	sqlite3_finalize(refs);
	pathstep_release(&ps);
	free(stk.v);
	free(kids.v);
	free(seen.v);
	free(open_last);
	sqlite3_close(db);
	return rc;
}
