/* cmd_referrers.c — `pymple-analyze referrers DUMP ADDRESS [--depth N]`: the
 * tree of objects that refer to an object, their referrers, and so on, with
 * edge labels, as a text tree, rows (csv/json) or Graphviz (--dot), walking
 * the heap's referrers (heap.h). An explicit stack, not recursion; each
 * object is expanded once; past depth 24 lines show their depth instead of
 * more indentation, so the output is linear in its size. Reads only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "heap_view.h"
#include "pathstep.h"
#include "leak_cli.h"
#include "output.h"

static const char *const usage[] = {
        "referrers DUMP ADDRESS [--depth N] [--limit N] [--dot] [--format table|csv|json]",
        "",
        "The referrers of the object at ADDRESS (0x-hex or decimal), their",
        "referrers and so on up to depth N, as a tree: every line is an object that",
        "refers to the object above it, with the label of that reference.",
        "An object met twice is shown again but not expanded (\"seen above\").",
        "Past depth 24 a line shows \"(depth N)\" instead of more indentation.",
        "",
        "  --depth N          levels of referrers (default 3)",
        "  --limit N          at most N referrers per object (default 20, 0 = all)",
        "  --weak             also show weak references (left out by default)",
        "  --dot              Graphviz digraph of the same tree instead",
        "  --format F         table (default), csv or json",
        "  -h, --help         this help",
        "",
        "JSON: [{\"label\", \"type\", \"name\", \"address\", \"objects\", \"root\",",
        "        \"depth\", \"referent\", \"seen\"}, ...] in tree order: the step of every",
        "        pymple JSON path (label: the reference into the referent; root: why",
        "        a root is one, else null) plus depth (0 is the object itself),",
        "        referent (the address of the object it refers to) and seen (shown",
        "        above already). CSV: depth, address, type, label, value, referent,",
        "        root (0/1), seen (0/1).",
        NULL,
};

/* A tree node waiting on the explicit stack. */
struct item {
	int64_t id;      /* object id; -1: a "more referrers" marker, count in more */
	int64_t edge;    /* the reference from id into its parent, -1: none */
	int depth, last; /* last: the last child shown under its parent */
	long long more;
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

/* Past this depth a line is not indented further: it shows its depth as a
 * number, so the output stays linear in its size however deep the tree. */
#define INDENT_MAX 24

/* The tree's left margin for a line at depth d (table mode). */
static void indent(const char *open_last, int d)
{
	int shown = d <= INDENT_MAX ? d : INDENT_MAX;
	for (int k = 1; k < shown; k++)
		fputs(open_last[k] ? "   " : "|  ", stdout);
	if (d > INDENT_MAX)
		printf("(depth %d) ", d);
}

/* The referrers of object t to show, in the order of the old SQL query
 * (SELECT DISTINCT src, kind, label ... ORDER BY src): by referrer id, then
 * position, each (referrer, kind, label) once. Fills kids (depth and last
 * are the caller's); *more gets how many were left out by limit. -1 out of
 * memory, -2 a damaged heap (printed). */
struct cand {
	uint64_t label;
	uint32_t pos;
	uint8_t kind;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int referrers_of(struct heap_view *hv, uint32_t t, int weak, long long limit,
                        struct stack *kids, long long *more, struct cand **cbuf, size_t *ccap,
                        uint8_t **keep, uint32_t **edges, size_t *kcap)
{
	const struct heap *h = &hv->h;
	*more = 0;
	kids->n = 0;
	uint64_t k = h->roff[t], end = h->roff[t + 1];
	while (k < end) {
		uint32_t src = h->rsrc[k];
		uint64_t g = k;
		while (g < end && h->rsrc[g] == src)
			g++;
		size_t n = (size_t)(g - k);
		if (n == 1 && hv->lean && limit > 0 && (long long)kids->n >= limit) {
			/* one reference, past the limit: counted without decoding it */
			if (weak || !heap_view_rev_weak(hv, k))
				(*more)++;
			k = g;
			continue;
		}
		if (n > *ccap) {
			struct cand *c = realloc(*cbuf, n * sizeof *c);
			uint8_t *kp = realloc(*keep, n);
			uint32_t *ed = realloc(*edges, n * sizeof *ed);
			if (c)
				*cbuf = c;
			if (kp)
				*keep = kp;
			if (ed)
				*edges = ed;
			if (!c || !kp || !ed)
				return -1;
			*ccap = n;
			*kcap = n;
		}
		/* one row per distinct (kind, label): the first by position */
		size_t nc = 0;
		if (heap_view_rev_edges(hv, t, k, n, *edges) < 0)
			return -2;
		for (size_t i = 0; i < n; i++) {
			struct heap_ref r;
			if (heap_view_edge(hv, (*edges)[i], &r) < 0)
				return -2;
			unsigned kind = r.kind;
			(*keep)[i] = 0;
			if (!weak && kind == HEAP_REF_WEAK)
				continue;
			int labelled = kind == HEAP_REF_INDEX || kind == HEAP_REF_KEY ||
			               kind == HEAP_REF_ATTR;
			(*cbuf)[nc++] =
			        (struct cand){labelled ? r.label : 0, (uint32_t)i, (uint8_t)kind};
		}
		qsort(*cbuf, nc, sizeof **cbuf, cand_cmp);
		for (size_t i = 0; i < nc; i++)
			if (i == 0 || (*cbuf)[i].kind != (*cbuf)[i - 1].kind ||
			    (*cbuf)[i].label != (*cbuf)[i - 1].label)
				(*keep)[(*cbuf)[i].pos] = 1;
		for (size_t i = 0; i < n; i++) {
			if (!(*keep)[i])
				continue;
			if (limit > 0 && (long long)kids->n >= limit) {
				(*more)++;
				continue;
			}
			if (push(kids, (struct item){src, (*edges)[i], 0, 0, 0}) < 0)
				return -1;
		}
		k = g;
	}
	return 0;
}

enum mode { M_TABLE, M_CSV, M_JSON, M_DOT };

int cmd_referrers(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"depth", required_argument, NULL, 'd'},
	        {"dot", no_argument, NULL, 'D'},
	        {"weak", no_argument, NULL, 'w'},
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
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
		cli_usage_error("'%s' is not an address (0x-hex or decimal)", argv[optind + 1]);
		return CLI_BAD_INPUT;
	}
	if (depth > 100000)
		depth = 100000; /* the tree is linear anyway: each object expands once */
	enum mode mode = dot ? M_DOT : fmt == OUT_CSV ? M_CSV : fmt == OUT_JSON ? M_JSON : M_TABLE;
	const char *file = argv[optind];
	struct heap_view hv;
	if ((rc = heap_view_open_lean(&hv, file, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS)))
		return rc;
	const struct heap *h = &hv.h;
	sqlite3 *db = hv.db;
	int bad = 0;
	uint32_t top = heap_view_find(&hv, addr, &bad);
	if (bad || top == HEAP_NONE) {
		if (bad)
			rc = cli_sqlite_error(db, file, "referrers");
		else {
			cli_error(file, "no object at 0x%llx in this dump",
			          (unsigned long long)addr);
			rc = CLI_BAD_INPUT;
		}
		heap_view_close(&hv);
		return rc;
	}
	sqlite3_stmt *quote = NULL;
	struct stack stk = {0}, kids = {0};
	uint8_t *seen = calloc(((size_t)h->n + 8) / 8, 1);
	char *open_last = NULL; /* per depth: 1 if that ancestor was a last child */
	uint64_t *addr_at = NULL;
	struct cand *cbuf = NULL;
	uint8_t *keep = NULL;
	uint32_t *edges = NULL;
	size_t ccap = 0, kcap = 0;
	long long rows = 0;
	struct pathstep ps = {0}; /* table mode: prepared at the first line */
	if (sqlite3_prepare_v2(db, "SELECT json_quote(?1)", -1, &quote, NULL)) {
		rc = cli_sqlite_error(db, file, "referrers");
		goto out;
	}
	open_last = calloc((size_t)(depth > 0 ? depth : 0) + 2, 1);
	addr_at = calloc((size_t)(depth > 0 ? depth : 0) + 2, sizeof *addr_at);
	if (!seen || !open_last || !addr_at || push(&stk, (struct item){top, -1, 0, 1, 0}) < 0)
		goto oom;
	if (mode == M_DOT)
		fputs("digraph referrers {\n  rankdir=BT;\n  node [shape=box, "
		      "fontname=\"monospace\"];\n",
		      stdout);
	else if (mode == M_CSV)
		fputs("depth,address,type,label,value,referent,root,seen\r\n", stdout);
	else if (mode == M_JSON)
		fputs("[\n", stdout);
	while (stk.n) {
		struct item it = stk.v[--stk.n];
		if (it.id < 0) {
			/* The "more referrers" marker, after the shown ones. */
			if (mode == M_TABLE) {
				indent(open_last, it.depth);
				printf("+- ... %lld more referrers (--limit)\n", it.more);
			}
			continue;
		}
		uint32_t id = (uint32_t)it.id;
		int fresh = !(seen[id >> 3] & (1u << (id & 7)));
		seen[id >> 3] |= (uint8_t)(1u << (id & 7));
		uint64_t a = heap_view_addr(&hv, id, &bad);
		const char *type = heap_view_type(&hv, id);
		int is_root = (h->flags[id] & HEAP_ROOT) != 0;
		char *edge = NULL;
		if (it.edge >= 0) {
			const char *l = heap_view_label(&hv, (uint64_t)it.edge, &bad);
			if (l && !(edge = strdup(l)))
				goto oom;
		}
		addr_at[it.depth] = a;
		open_last[it.depth] = (char)it.last;
		if (mode == M_JSON) {
			/* The step shape (pathstep_json) plus depth, referent and
			 * seen; root says why a root is one. */
			struct pathstep_obj po;
			char ed[PATHSTEP_TEXT] = "";
			if ((!ps.hv && pathstep_init(&ps, &hv) < 0) ||
			    pathstep_object(&ps, id, is_root, &po) < 0 ||
			    (it.edge >= 0 &&
			     pathstep_edge(&ps, (uint64_t)it.edge, ed, sizeof ed) < 0)) {
				bad = 1;
			} else {
				if (!is_root)
					po.why[0] = 0;
				else if (!po.why[0])
					snprintf(po.why, sizeof po.why, "(root)");
				fputs(rows ? ",\n" : "", stdout);
				if (pathstep_json_open(stdout, &ps, &po, ed, 1) < 0)
					bad = 1;
				printf(",\"depth\":%d,\"referent\":", it.depth);
				if (it.depth)
					printf("%llu", (unsigned long long)addr_at[it.depth - 1]);
				else
					fputs("null", stdout);
				printf(",\"seen\":%s}", fresh ? "false" : "true");
			}
		} else {
			const char *value = heap_view_value(&hv, id, &bad);
			if (mode == M_TABLE) {
				/* Named as in `path` (method Menu.on_close, key ('q1', <Token>)).
				 */
				struct pathstep_obj po;
				char ed[PATHSTEP_TEXT] = "";
				if (!ps.hv && pathstep_init(&ps, &hv) < 0)
					bad = 1;
				else if (pathstep_object(&ps, id, 0, &po) < 0 ||
				         (it.edge >= 0 &&
				          pathstep_edge(&ps, (uint64_t)it.edge, ed, sizeof ed) < 0))
					bad = 1;
				indent(open_last, it.depth);
				if (it.depth)
					fputs("+- ", stdout);
				printf("%s", bad ? type : po.name);
				if (!bad && ed[0])
					printf(" %s", ed);
				printf(" at 0x%llx%s%s\n", (unsigned long long)a,
				       is_root ? " (root)" : "", fresh ? "" : " (seen above)");
			} else if (mode == M_CSV) {
				printf("%d,%llu,", it.depth, (unsigned long long)a);
				out_csv_field(stdout, type, strlen(type));
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
			} else {
				if (fresh) {
					/* Labels are JSON strings: valid DOT quoted strings too. */
					sqlite3_stmt *q;
					if (sqlite3_prepare_v2(
					            db,
					            "SELECT json_quote(?1 || coalesce(' ' ||"
					            " substr(?3, 1, 40), '') || ' at ' ||"
					            " printf('0x%x', ?2))",
					            -1, &q, NULL) == SQLITE_OK) {
						sqlite3_bind_text(q, 1, type, -1, SQLITE_TRANSIENT);
						sqlite3_bind_int64(q, 2, (int64_t)a);
						if (value)
							sqlite3_bind_text(q, 3, value, -1,
							                  SQLITE_TRANSIENT);
						if (sqlite3_step(q) == SQLITE_ROW)
							printf("  n%llx [label=%s%s];\n",
							       (unsigned long long)a,
							       (const char *)sqlite3_column_text(q,
							                                         0),
							       is_root ? ", style=bold" : "");
						sqlite3_finalize(q);
					}
				}
				if (it.depth) {
					printf("  n%llx -> n%llx", (unsigned long long)a,
					       (unsigned long long)addr_at[it.depth - 1]);
					if (edge) {
						sqlite3_bind_text(quote, 1, edge, -1,
						                  SQLITE_TRANSIENT);
						if (sqlite3_step(quote) == SQLITE_ROW)
							printf(" [label=%s]",
							       (const char *)sqlite3_column_text(
							               quote, 0));
						sqlite3_reset(quote);
					}
					fputs(";\n", stdout);
				}
			}
		}
		free(edge);
		if (bad) {
			rc = cli_sqlite_error(db, file, "referrers");
			goto out;
		}
		rows++;
		if (!fresh || it.depth >= depth)
			continue;
		/* Expand: referrers of it, pushed in reverse so the first pops first. */
		long long more = 0;
		int got = referrers_of(&hv, id, weak, limit, &kids, &more, &cbuf, &ccap, &keep,
		                       &edges, &kcap);
		if (got == -2) {
			rc = CLI_BAD_INPUT; /* printed */
			goto out;
		}
		if (got < 0)
			goto oom;
		for (size_t i = 0; i < kids.n; i++)
			kids.v[i].depth = it.depth + 1;
		if (more && push(&stk, (struct item){-1, -1, it.depth + 1, 1, more}) < 0)
			goto oom;
		if (kids.n && !more)
			kids.v[kids.n - 1].last = 1;
		for (size_t i = kids.n; i-- > 0;)
			if (push(&stk, kids.v[i]) < 0)
				goto oom;
	}
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
	pathstep_release(&ps);
	sqlite3_finalize(quote);
	free(stk.v);
	free(kids.v);
	free(seen);
	free(open_last);
	free(addr_at);
	free(cbuf);
	free(keep);
	free(edges);
	heap_view_close(&hv);
	return rc;
}
