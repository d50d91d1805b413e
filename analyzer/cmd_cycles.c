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
	snprintf(sql, sizeof sql, "%s%s ORDER BY (SELECT gsize FROM g WHERE g.makeup = sel.makeup)"
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
		static const char *const headers[] = {"cycle", "# objects", "total size",
		                                      "unreachable", "types", "first object"};
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
		fmt == OUT_JSON
			? " SELECT json_object('types', json(gr.types), 'cycles', gr.cycles, 'count',"
			  " gr.objs, 'size', gr.gsize, 'unreachable', gr.unreach, 'largest', gr.example)"
			  " FROM gr"
			: fmt == OUT_CSV
			? " SELECT gr.makeup AS types, gr.cycles AS cycles, gr.objs AS count,"
			  " gr.gsize AS size, gr.unreach AS unreachable, gr.example AS largest FROM gr"
			: " SELECT gr.cycles, gr.objs, gr.gsize, gr.unreach, d.short, gr.example"
			  " FROM gr JOIN d ON d.scc = gr.example";
	snprintf(sql, sizeof sql,
	         "WITH m AS (SELECT o.scc AS scc, t.name AS name, count(*) AS n, sum(o.size) AS s,"
	         "  max(o.reachable) AS r FROM object_data o JOIN types t ON t.id = o.type_id"
	         "  WHERE o.scc IS NOT NULL GROUP BY o.scc, t.name ORDER BY o.scc, t.name),"
	         " c AS (SELECT scc, sum(n) AS count, sum(s) AS size, max(r) AS reach,"
	         "  group_concat(name || ' x' || n, ', ') AS makeup,"
	         "  json_group_object(name, n) AS types FROM m GROUP BY scc),"
	         " gr AS (SELECT makeup, min(types) AS types, count(*) AS cycles, sum(count) AS objs,"
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
		static const char *const headers[] = {"cycles", "# objects", "total size",
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
		       "'--dot ID' draws one)\n", file);
	return 0;
}

static int run_dot(sqlite3 *db, const char *file, long long id, long long limit)
{
	sqlite3_stmt *nodes = NULL, *edges = NULL;
	int rc = 0;
	/* Members (capped), then the references among the members shown. */
	if (sqlite3_prepare_v2(db,
	                       "CREATE TEMP TABLE dot_nodes AS SELECT o.id AS id FROM object_data o"
	                       " WHERE o.scc = ?1 ORDER BY o.id LIMIT ?2",
	                       -1, &nodes, NULL)) {
		rc = cli_sqlite_error(db, file, "cycles");
		goto out;
	}
	sqlite3_bind_int64(nodes, 1, id);
	sqlite3_bind_int64(nodes, 2, limit > 0 ? limit : -1);
	if (sqlite3_step(nodes) != SQLITE_DONE) {
		rc = cli_sqlite_error(db, file, "cycles");
		goto out;
	}
	sqlite3_finalize(nodes);
	nodes = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT printf('n%x', o.address),"
	                       " json_quote(t.name || coalesce(' ' || substr(o.value, 1, 40), '')"
	                       " || ' at ' || printf('0x%x', o.address))"
	                       " FROM dot_nodes d JOIN object_data o ON o.id = d.id"
	                       " JOIN types t ON t.id = o.type_id ORDER BY o.id",
	                       -1, &nodes, NULL) ||
	    sqlite3_prepare_v2(db,
	                       "SELECT printf('n%x', s.address), printf('n%x', d.address), "
	                       "json_quote(" LEAK_LABEL_SQL ")"
	                       " FROM dot_nodes x JOIN ref_data r ON r.src = x.id"
	                       " JOIN object_data s ON s.id = r.src JOIN object_data d ON d.id = r.dst"
	                       " LEFT JOIN strings k ON r.kind IN (2, 3) AND k.id = r.label"
	                       " WHERE r.dst IN (SELECT id FROM dot_nodes) ORDER BY r.src, r.seq",
	                       -1, &edges, NULL)) {
		rc = cli_sqlite_error(db, file, "cycles");
		goto out;
	}
	int n = 0, step;
	while ((step = sqlite3_step(nodes)) == SQLITE_ROW) {
		if (!n++)
			printf("digraph cycle_%lld {\n  node [shape=box, fontname=\"monospace\"];\n", id);
		printf("  %s [label=%s];\n", (const char *)sqlite3_column_text(nodes, 0),
		       (const char *)sqlite3_column_text(nodes, 1));
	}
	if (step != SQLITE_DONE) {
		rc = cli_sqlite_error(db, file, "cycles");
		goto out;
	}
	if (!n) {
		cli_error(file, "no cycle with id %lld (see `cycles`)", id);
		rc = CLI_BAD_INPUT;
		goto out;
	}
	while ((step = sqlite3_step(edges)) == SQLITE_ROW) {
		const char *label = (const char *)sqlite3_column_text(edges, 2);
		printf("  %s -> %s", (const char *)sqlite3_column_text(edges, 0),
		       (const char *)sqlite3_column_text(edges, 1));
		if (label && strcmp(label, "null"))
			printf(" [label=%s]", label);
		fputs(";\n", stdout);
	}
	if (step != SQLITE_DONE) {
		rc = cli_sqlite_error(db, file, "cycles");
		goto out;
	}
	fputs("}\n", stdout);
out:
	sqlite3_finalize(nodes);
	sqlite3_finalize(edges);
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
	sqlite3 *db;
	if ((rc = cli_open(file, 0, &db)))
		return rc;
	if (dot_id >= 0)
		rc = run_dot(db, file, dot_id, limit < 0 ? 500 : limit);
	else if (group == 1 || (group < 0 && fmt == OUT_TABLE))
		rc = run_groups(db, file, fmt, limit < 0 ? 50 : limit, unreachable);
	else
		rc = run_list(db, file, fmt, limit < 0 ? 50 : limit, unreachable);
	sqlite3_close(db);
	return rc;
}
