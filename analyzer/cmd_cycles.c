/* cmd_cycles.c — `pymple-analyze cycles DUMP [--unreachable] [--group|--each]
 * [--dot ID]`: reference cycles (the strongly connected components the
 * loader stored in object_data.scc; references into classes do not count,
 * see schema.sql), grouped by their type make-up, largest group first; one
 * row per cycle (JSON's default, --each); or one cycle as Graphviz. Reads only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "heap_view.h"
#include "leak_cli.h"
#include "output.h"

static const char *const usage[] = {
        "cycles DUMP [--unreachable] [--group|--each] [--dot ID] [--format table|csv|json]",
        "       [--limit N]",
        "",
        "Reference cycles: groups of objects that all reach each other (two or more",
        "objects, or one that refers to itself; references into classes do not",
        "count, since every instance holds its class). The table shows one row per",
        "type make-up: how many cycles, their objects and bytes in all, how many",
        "are unreachable, and the id of the largest (for --dot); largest total size",
        "first, so ten thousand copies of one leaked cycle read as one row. JSON and",
        "CSV list one row per cycle, largest group first.",
        "",
        "  --unreachable      only cycles no root reaches (what gc.collect() frees)",
        "  --group            one row per type make-up (the table's default)",
        "  --each             one row per cycle (the JSON and CSV default)",
        "  --dot ID           Graphviz digraph of cycle ID: its objects and the",
        "                     references between them (at most --limit objects)",
        "  --format F         table (default), csv or json",
        "  --limit N          at most N rows (default 50; 0 = all)",
        "  -h, --help         this help",
        "",
        "JSON: [{\"id\", \"count\", \"size\", \"types\": {\"type\": n, ...},",
        "        \"unreachable\": bool, \"objects\": [first 5 addresses]}, ...];",
        "with --group: [{\"types\", \"cycles\", \"count\", \"size\", \"unreachable\"",
        "        (how many), \"largest\" (a cycle id)}, ...]",
        NULL,
};

/* Per cycle: its members by type, then sizes, reachability and make-up key.
 * The make-up text ("app.Node x2, dict x2") doubles as the grouping key:
 * types sorted by name, so equal make-ups give equal text. */
static const char base_sql[] =
        "WITH m AS (SELECT o.scc AS scc, t.name AS name, count(*) AS n, sum(o.size) AS s,"
        "  max(o.reachable) AS r FROM object_data o JOIN types t ON t.id = o.type_id"
        "  WHERE o.scc IS NOT NULL GROUP BY o.scc, t.name ORDER BY o.scc, t.name),"
        " c AS (SELECT scc, sum(n) AS count, sum(s) AS size, max(r) AS reach,"
        "  group_concat(name || ' x' || n, ', ') AS makeup, json_group_object(name, n) AS types"
        "  FROM m GROUP BY scc),"
        " g AS (SELECT makeup, sum(size) AS gsize FROM c GROUP BY makeup),"
        " sel AS (SELECT c.* FROM c JOIN g USING (makeup) WHERE ?2 = 0 OR c.reach = 0"
        "  ORDER BY g.gsize DESC, c.makeup, c.size DESC, c.scc LIMIT ?1),"
        " f AS (SELECT scc, json_group_array(address) AS objs FROM (SELECT o.scc AS scc,"
        "  o.address AS address, row_number() OVER (PARTITION BY o.scc ORDER BY o.id) AS rn"
        "  FROM object_data o WHERE o.scc IN (SELECT scc FROM sel)) WHERE rn <= 5 GROUP BY scc),"
        /* For the table: the four most numerous types, then how many more. */
        " d AS (SELECT scc, group_concat(name || ' x' || n, ', ')"
        "  || CASE WHEN max(nt) > 4 THEN printf(' and %d more types', max(nt) - 4) ELSE '' END"
        "  AS short FROM (SELECT m.scc AS scc, m.name AS name, m.n AS n,"
        "  row_number() OVER (PARTITION BY m.scc ORDER BY m.n DESC, m.name) AS rn,"
        "  count(*) OVER (PARTITION BY m.scc) AS nt FROM m WHERE m.scc IN (SELECT scc FROM sel))"
        "  WHERE rn <= 4 GROUP BY scc)";

static int run_list(sqlite3 *db, const char *file, enum out_format fmt, long long limit,
                    int unreachable)
{
	char sql[4096];
	const char *tail =
	        fmt == OUT_JSON
	                ? " SELECT json_object('id', sel.scc, 'count', sel.count, 'size', sel.size,"
	                  " 'types', json(sel.types), 'unreachable',"
	                  " json(CASE sel.reach WHEN 0 THEN 'true' ELSE 'false' END),"
	                  " 'objects', json(f.objs)) FROM sel JOIN f USING (scc)"
	        : fmt == OUT_CSV
	                ? " SELECT sel.scc AS id, sel.count AS count, sel.size AS size,"
	                  " sel.makeup AS types, sel.reach = 0 AS unreachable,"
	                  " (SELECT group_concat(value, ' ') FROM json_each(f.objs)) AS objects"
	                  " FROM sel JOIN f USING (scc)"
	                : " SELECT sel.scc, sel.count, sel.size,"
	                  " CASE sel.reach WHEN 0 THEN 'yes' ELSE '' END, d.short,"
	                  " (SELECT printf('0x%x', value) FROM json_each(f.objs) LIMIT 1)"
	                  " FROM sel JOIN f USING (scc) JOIN d USING (scc)";
	/* sel's order is kept by re-sorting on the same keys. */
	snprintf(sql, sizeof sql,
	         "%s%s ORDER BY (SELECT gsize FROM g WHERE g.makeup = sel.makeup)"
	         " DESC, sel.makeup, sel.size DESC, sel.scc",
	         base_sql, tail);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
		return cli_sqlite_error(db, file, "cycles");
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	sqlite3_bind_int(st, 2, unreachable);
	long long rows;
	if (fmt == OUT_JSON) {
		rows = leak_json_rows(stdout, st);
	} else {
		static const char *const headers[] = {"cycle",       "# objects", "total size",
		                                      "unreachable", "types",     "first object"};
		struct out_opts o = {fmt, fmt == OUT_TABLE ? 1u << 2 : 0,
		                     fmt == OUT_TABLE ? headers : NULL, 0};
		rows = out_rows(stdout, db, st, &o);
	}
	sqlite3_finalize(st);
	return rows < 0 ? cli_sqlite_error(db, file, "cycles") : 0;
}

/* One row per make-up. The example cycle is the group's largest (then
 * lowest id); its short make-up text (d) names the group in the table. */
static int run_groups(sqlite3 *db, const char *file, enum out_format fmt, long long limit,
                      int unreachable)
{
	char sql[4096];
	const char *tail =
	        fmt == OUT_JSON ? " SELECT json_object('types', json(gr.types), 'cycles', "
	                          "gr.cycles, 'count',"
	                          " gr.objs, 'size', gr.gsize, 'unreachable', gr.unreach, "
	                          "'largest', gr.example)"
	                          " FROM gr"
	        : fmt == OUT_CSV
	                ? " SELECT gr.makeup AS types, gr.cycles AS cycles, gr.objs AS count,"
	                  " gr.gsize AS size, gr.unreach AS unreachable, gr.example AS largest "
	                  "FROM gr"
	                : " SELECT gr.cycles, gr.objs, gr.gsize, gr.unreach, d.short, gr.example"
	                  " FROM gr JOIN d ON d.scc = gr.example";
	snprintf(
	        sql, sizeof sql,
	        "WITH m AS (SELECT o.scc AS scc, t.name AS name, count(*) AS n, sum(o.size) AS s,"
	        "  max(o.reachable) AS r FROM object_data o JOIN types t ON t.id = o.type_id"
	        "  WHERE o.scc IS NOT NULL GROUP BY o.scc, t.name ORDER BY o.scc, t.name),"
	        " c AS (SELECT scc, sum(n) AS count, sum(s) AS size, max(r) AS reach,"
	        "  group_concat(name || ' x' || n, ', ') AS makeup,"
	        "  json_group_object(name, n) AS types FROM m GROUP BY scc),"
	        " gr AS (SELECT makeup, min(types) AS types, count(*) AS cycles, sum(count) AS "
	        "objs,"
	        "  sum(size) AS gsize, sum(reach = 0) AS unreach,"
	        "  (SELECT c2.scc FROM c c2 WHERE c2.makeup = c.makeup AND (?2 = 0 OR c2.reach = 0)"
	        "   ORDER BY c2.size DESC, c2.scc LIMIT 1) AS example"
	        "  FROM c WHERE ?2 = 0 OR reach = 0 GROUP BY makeup"
	        "  ORDER BY gsize DESC, makeup LIMIT ?1),"
	        " d AS (SELECT scc, group_concat(name || ' x' || n, ', ')"
	        "  || CASE WHEN max(nt) > 4 THEN printf(' and %%d more types', max(nt) - 4) ELSE ''"
	        "  END AS short FROM (SELECT m.scc AS scc, m.name AS name, m.n AS n,"
	        "  row_number() OVER (PARTITION BY m.scc ORDER BY m.n DESC, m.name) AS rn,"
	        "  count(*) OVER (PARTITION BY m.scc) AS nt FROM m"
	        "  WHERE m.scc IN (SELECT example FROM gr)) WHERE rn <= 4 GROUP BY scc)"
	        "%s ORDER BY gr.gsize DESC, gr.makeup",
	        tail);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
		return cli_sqlite_error(db, file, "cycles");
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	sqlite3_bind_int(st, 2, unreachable);
	long long rows;
	if (fmt == OUT_JSON) {
		rows = leak_json_rows(stdout, st);
	} else {
		static const char *const headers[] = {
		        "cycles",      "# objects",         "total size",
		        "unreachable", "types (per cycle)", "largest"};
		struct out_opts o = {fmt, fmt == OUT_TABLE ? 1u << 2 : 0,
		                     fmt == OUT_TABLE ? headers : NULL, 1};
		rows = out_rows(stdout, db, st, &o);
	}
	sqlite3_finalize(st);
	if (rows < 0)
		return cli_sqlite_error(db, file, "cycles");
	if (rows == 0 && fmt == OUT_TABLE)
		printf(unreachable ? "no unreachable reference cycles\n" : "no reference cycles\n");
	else if (fmt == OUT_TABLE)
		printf("(one row per type make-up; 'cycles %s --each' lists the cycles, "
		       "'--dot ID' draws one)\n",
		       file);
	return 0;
}

/* Graphviz of one cycle from the heap: its members in id order (capped),
 * then every reference between the members shown, in (source, position)
 * order, weak ones included. */
static int run_dot(const char *file, long long id, long long limit)
{
	struct heap_view hv;
	int rc = heap_view_open(&hv, file);
	if (rc)
		return rc;
	const struct heap *h = &hv.h;
	sqlite3_stmt *node = NULL, *quote = NULL;
	uint8_t *in = calloc(((size_t)h->n + 8) / 8, 1);
	uint32_t *members = NULL;
	size_t n = 0, cap = 0;
	int bad = 0;
	if (!in) {
		cli_error(file, "cycles: out of memory");
		rc = CLI_RUNTIME;
		goto out;
	}
	for (uint32_t v = 0; v < h->n && (limit <= 0 || (long long)n < limit); v++) {
		if (id < 0 || h->scc[v] != (uint64_t)id)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			uint32_t *q = realloc(members, cap * sizeof *q);
			if (!q) {
				cli_error(file, "cycles: out of memory");
				rc = CLI_RUNTIME;
				goto out;
			}
			members = q;
		}
		members[n++] = v;
		in[v >> 3] |= (uint8_t)(1u << (v & 7));
	}
	if (!n) {
		cli_error(file, "no cycle with id %lld (see `cycles`)", id);
		rc = CLI_BAD_INPUT;
		goto out;
	}
	if (sqlite3_prepare_v2(hv.db,
	                       "SELECT json_quote(?1 || coalesce(' ' || substr(?2, 1, 40), '')"
	                       " || ' at ' || printf('0x%x', ?3))",
	                       -1, &node, NULL) ||
	    sqlite3_prepare_v2(hv.db, "SELECT json_quote(?1)", -1, &quote, NULL)) {
		rc = cli_sqlite_error(hv.db, file, "cycles");
		goto out;
	}
	printf("digraph cycle_%lld {\n  node [shape=box, fontname=\"monospace\"];\n", id);
	for (size_t i = 0; i < n && !bad; i++) {
		uint32_t v = members[i];
		const char *value = heap_view_value(&hv, v, &bad);
		sqlite3_bind_text(node, 1, heap_view_type(&hv, v), -1, SQLITE_STATIC);
		if (value)
			sqlite3_bind_text(node, 2, value, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(node, 2);
		sqlite3_bind_int64(node, 3, (sqlite3_int64)h->addr[v]);
		if (sqlite3_step(node) != SQLITE_ROW) {
			bad = 1;
			break;
		}
		printf("  n%llx [label=%s];\n", (unsigned long long)h->addr[v],
		       (const char *)sqlite3_column_text(node, 0));
		sqlite3_reset(node);
	}
	for (size_t i = 0; i < n && !bad; i++) {
		uint32_t v = members[i];
		for (uint64_t e = h->off[v]; e < h->off[v + 1] && !bad; e++) {
			uint32_t t = h->dst[e];
			if (t == HEAP_NONE || !(in[t >> 3] & (1u << (t & 7))))
				continue;
			const char *label = heap_view_label(&hv, e, &bad);
			printf("  n%llx -> n%llx", (unsigned long long)h->addr[v],
			       (unsigned long long)h->addr[t]);
			if (label) {
				sqlite3_bind_text(quote, 1, label, -1, SQLITE_TRANSIENT);
				if (sqlite3_step(quote) == SQLITE_ROW)
					printf(" [label=%s]",
					       (const char *)sqlite3_column_text(quote, 0));
				sqlite3_reset(quote);
			}
			fputs(";\n", stdout);
		}
	}
	if (bad)
		rc = cli_sqlite_error(hv.db, file, "cycles");
	else
		fputs("}\n", stdout);
out:
	sqlite3_finalize(node);
	sqlite3_finalize(quote);
	free(in);
	free(members);
	heap_view_close(&hv);
	return rc;
}

int cmd_cycles(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"unreachable", no_argument, NULL, 'u'},  {"dot", required_argument, NULL, 'D'},
	        {"group", no_argument, NULL, 'g'},        {"each", no_argument, NULL, 'e'},
	        {"format", required_argument, NULL, 'f'}, {"limit", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = -1, dot_id = -1;
	int unreachable = 0, group = -1, c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			unreachable = 1;
			break;
		case 'g':
			group = 1;
			break;
		case 'e':
			group = 0;
			break;
		case 'D':
			if (cli_parse_count("--dot", optarg, &dot_id))
				return CLI_BAD_INPUT;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (argc - optind != 1) {
		return cli_usage_error("expected one DUMP");
	}
	const char *file = argv[optind];
	if (dot_id >= 0)
		return run_dot(file, dot_id, limit < 0 ? 500 : limit);
	sqlite3 *db;
	if ((rc = cli_open(file, 0, &db)))
		return rc;
	if (group == 1 || (group < 0 && fmt == OUT_TABLE))
		rc = run_groups(db, file, fmt, limit < 0 ? 50 : limit, unreachable);
	else
		rc = run_list(db, file, fmt, limit < 0 ? 50 : limit, unreachable);
	sqlite3_close(db);
	return rc;
}
