/* cmd_path.c — `pymple-analyze path DUMP ADDRESS|--type T`: the shortest
 * chain of references from a root to an object. Breadth-first search
 * backwards from the target over the heap's referrers (heap.h), stopping at
 * the first root met: the nearest root (MAT's "path to GC roots"). SQL only
 * for the values of the lines printed. Reads the database only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "heap_path.h"
#include "heap_view.h"
#include "pathstep.h"
#include "leak_cli.h"
#include "output.h"

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
        "JSON: [{\"label\", \"type\", \"name\", \"address\", \"objects\", \"root\"}, ...]",
        "      from the root to the target (label: the reference into the step, null",
        "      on the first; objects: null on a path; root: why the first step is a",
        "      root) -- the step of every pymple JSON path; with --type an array of",
        "      such arrays. CSV: path, step, address, type, label, value, name.",
        NULL,
};

/* Prints the chain from queue entry `root` down to the target (entry 0).
 * nth: 1-based path number (for --type), 0 for a single path. Steps are
 * named by pathstep.c (type Dispatcher, method Menu.on_close, ...), the
 * first with why it is a root. */
static int print_chain(struct heap_view *hv, const struct heap_path *b, long root,
                       enum out_format fmt, int nth, long long *jsonrows)
{
	struct pathstep ps;
	if (pathstep_init(&ps, hv) < 0)
		return -1;
	int step = 0, rc = 0;
	if (fmt == OUT_JSON) {
		if (nth && *jsonrows)
			fputs(",\n", stdout);
		rc = pathstep_chain_json(&ps, b, root, stdout);
		(*jsonrows)++;
		pathstep_release(&ps);
		return rc;
	}
	char edge_in[PATHSTEP_TEXT] = "", edge_out[PATHSTEP_TEXT];
	struct pathstep_obj o;
	for (long i = root; i >= 0; i = (long)b->next[i], step++) {
		uint32_t v = b->node[i];
		int last = b->next[i] < 0;
		edge_out[0] = 0;
		if (pathstep_object(&ps, v, step == 0, &o) < 0 ||
		    (!last && pathstep_edge(&ps, b->edge[i], edge_out, sizeof edge_out) < 0)) {
			rc = -1;
			break;
		}
		pathstep_dict_name(&o, edge_in);
		if (fmt == OUT_CSV) {
			if (nth <= 1 && step == 0)
				fputs("path,step,address,type,label,value,name\r\n", stdout);
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
	(*jsonrows)++;
	pathstep_release(&ps);
	return rc;
}

/* The path to one object; *printed tells whether a chain was printed. */
static int path_one(struct heap_view *hv, const uint8_t *module_type, uint32_t id, int weak,
                    enum out_format fmt, int nth, long long *printed)
{
	const struct heap *h = &hv->h;
	int reachable = (h->flags[id] & HEAP_REACHED) != 0;
	int bad = 0;
	uint64_t addr = heap_view_addr(hv, id, &bad);
	struct heap_path b = {0};
	long r = -1;
	if (bad) {
		heap_path_release(&b);
		return cli_sqlite_error(hv->db, hv->file, "path");
	}
	if (reachable || weak || heap_path_is_start(h, module_type, id))
		r = heap_path_find(h, module_type, &b, id, weak);
	int status = 0;
	if (r >= 0 && heap_path_edges(hv, &b, r) < 0) {
		status = CLI_BAD_INPUT;
	} else if (r == -3) {
		cli_error(hv->file, "path: out of memory");
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
		if (print_chain(hv, &b, r, fmt, nth, printed) < 0)
			status = cli_sqlite_error(hv->db, hv->file, "path");
	}
	if (r == -1 && fmt == OUT_JSON && !nth)
		fputs("]\n", stdout);
	else if (r >= 0 && fmt == OUT_JSON && !nth)
		putchar('\n');
	heap_path_release(&b);
	return status;
}

int cmd_path(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},   {"weak", no_argument, NULL, 'w'},
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
	struct heap_view hv;
	if ((rc = heap_view_open_lean(&hv, file, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS)))
		return rc;
	sqlite3 *db = hv.db;
	long long printed = 0;
	uint8_t *module_type = calloc((size_t)hv.h.ntypes + 1, 1);
	if (!module_type) {
		cli_error(file, "path: out of memory");
		heap_view_close(&hv);
		return CLI_RUNTIME;
	}
	for (uint32_t t = 0; t < hv.h.ntypes; t++)
		module_type[t] = hv.type_name[t] && strcmp(hv.type_name[t], "module") == 0;
	if (!type) {
		int bad = 0;
		uint32_t id = heap_view_find(&hv, addr, &bad);
		if (bad)
			rc = cli_sqlite_error(db, file, "path");
		else if (id == HEAP_NONE) {
			cli_error(file, "no object at 0x%llx in this dump",
			          (unsigned long long)addr);
			rc = CLI_BAD_INPUT;
		} else
			rc = path_one(&hv, module_type, id, weak, fmt, 0, &printed);
		free(module_type);
		heap_view_close(&hv);
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
		free(module_type);
		heap_view_close(&hv);
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
		free(module_type);
		heap_view_close(&hv);
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
		rc = path_one(&hv, module_type, (uint32_t)ids[i], weak, fmt, (int)i + 1, &printed);
	if (!rc && fmt == OUT_JSON)
		fputs(printed ? "\n]\n" : "]\n", stdout);
	free(ids);
	free(resolved);
	free(module_type);
	heap_view_close(&hv);
	return rc;
}
