/* cmd_dominators.c — `pymple-analyze dominators DUMP ADDRESS [--depth N]`:
 * what an object keeps alive, as its dominator subtree grouped by type at
 * every level. Groups wait on an explicit stack, each expanded once; the
 * work is bounded by the part of the subtree within the depth. Reads only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dom_view.h"
#include "heap_view.h"
#include "leak_cli.h"
#include "output.h"
#include "pathstep.h"

static const char *const usage[] = {
        "dominators DUMP ADDRESS [--depth N] [--limit N] [--format table|csv|json]",
        "",
        "What the object at ADDRESS (0x-hex or decimal) keeps alive: the objects it",
        "dominates (every path from a root to them passes through it, README: retained",
        "size), as a tree grouped by type. Each line is a group of objects of one type",
        "whose immediate dominator is in the group above: their number and the memory",
        "they retain together. A group of one object shows its address and the label",
        "of the reference its dominator holds to it, or, when the dominator does not",
        "refer to it directly, through how many referrers it is held.",
        "",
        "  --depth N          levels below the object (default 3, 0 = no limit)",
        "  --limit N          at most N groups under each group (default 10, 0 = all)",
        "  --format F         table (default), csv or json",
        "  -h, --help         this help",
        "",
        "JSON: [{\"label\", \"type\", \"name\", \"address\", \"objects\", \"root\",",
        "        \"depth\", \"retained\", \"referrers\"}, ...] in tree order: the step of",
        "        every pymple JSON path plus depth (0 is the object itself), retained",
        "        and referrers; address, label and referrers are null for groups of",
        "        several objects (objects: how many), label null too when the",
        "        dominator holds no direct reference; a row with type null stands for",
        "        the groups --limit left out (objects: how many, retained: their",
        "        total). CSV: depth, type, objects, retained, address, label,",
        "        referrers.",
        NULL,
};

/* A group: objects of one type under the same parent group. */
struct group {
	uint32_t *ids; /* owned */
	uint32_t n, type;
	uint64_t retained;
	int depth;
	long long more; /* > 0: a "more groups" line for more groups, retained */
};

struct gstack {
	struct group *v;
	size_t n, cap;
};

static int push(struct gstack *s, const struct group *g)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct group *q = realloc(s->v, cap * sizeof *q);
		if (!q)
			return -1;
		s->v = q;
		s->cap = cap;
	}
	s->v[s->n++] = *g;
	return 0;
}

static const struct dom_tree *sort_t;
static const struct heap *sort_h;

static int by_type_retained(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (sort_h->type[x] != sort_h->type[y])
		return sort_h->type[x] < sort_h->type[y] ? -1 : 1;
	if (sort_t->retained[x] != sort_t->retained[y])
		return sort_t->retained[x] > sort_t->retained[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int by_group_retained(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->retained != y->retained)
		return x->retained > y->retained ? -1 : 1;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* The children groups of g, largest first, pushed so the largest pops
 * first; beyond limit, one "more" marker. */
static int expand(const struct dom_tree *t, const struct heap *h, const struct group *g,
                  long long limit, struct gstack *s)
{
	uint64_t total = 0;
	uint32_t cnt;
	for (uint32_t i = 0; i < g->n; i++) {
		dom_children(t, g->ids[i], &cnt);
		total += cnt;
	}
	if (!total)
		return 0;
	uint32_t *kids = malloc((size_t)total * sizeof *kids);
	struct group *gs = NULL;
	size_t ng = 0;
	int rc = -1;
	if (!kids)
		return -1;
	uint64_t k = 0;
	for (uint32_t i = 0; i < g->n; i++) {
		const uint32_t *c = dom_children(t, g->ids[i], &cnt);
		memcpy(kids + k, c, (size_t)cnt * sizeof *kids);
		k += cnt;
	}
	sort_t = t;
	sort_h = h;
	qsort(kids, (size_t)total, sizeof *kids, by_type_retained);
	for (uint64_t i = 0; i < total; i++)
		ng += i == 0 || h->type[kids[i]] != h->type[kids[i - 1]];
	gs = calloc(ng, sizeof *gs);
	if (!gs)
		goto out;
	size_t j = 0;
	for (uint64_t i = 0, start = 0; i <= total; i++) {
		if (i < total && (i == start || h->type[kids[i]] == h->type[kids[start]]))
			continue;
		struct group *x = &gs[j++];
		x->n = (uint32_t)(i - start);
		x->type = h->type[kids[start]];
		x->depth = g->depth + 1;
		x->ids = malloc((size_t)x->n * sizeof *x->ids);
		if (!x->ids)
			goto out;
		memcpy(x->ids, kids + start, (size_t)x->n * sizeof *x->ids);
		for (uint32_t q = 0; q < x->n; q++)
			x->retained += t->retained[x->ids[q]];
		start = i;
	}
	qsort(gs, ng, sizeof *gs, by_group_retained);
	size_t shown = limit > 0 && (size_t)limit < ng ? (size_t)limit : ng;
	if (shown < ng) {
		struct group more = {.depth = g->depth + 1, .more = (long long)(ng - shown)};
		for (size_t q = shown; q < ng; q++)
			more.retained += gs[q].retained;
		if (push(s, &more) < 0)
			goto out;
	}
	for (size_t q = shown; q-- > 0;) {
		if (push(s, &gs[q]) < 0)
			goto out;
		gs[q].ids = NULL; /* owned by the stack now */
	}
	rc = 0;
out:
	if (gs)
		for (size_t q = 0; q < ng; q++)
			free(gs[q].ids);
	free(gs);
	free(kids);
	return rc;
}

/* The strong reference from the immediate dominator of v to v, -1 if
 * none, -2 if the heap could not be read (printed). */
static int64_t direct_edge(const struct dom_tree *t, struct heap_view *hv, uint32_t v)
{
	const struct heap *h = &hv->h;
	uint32_t d = t->idom[v];
	if (d >= h->n)
		return -1;
	for (uint64_t e = h->off[d]; e < h->off[d + 1]; e++) {
		struct heap_ref r;
		if (heap_view_edge(hv, e, &r) < 0)
			return -2;
		if (r.dst == v && r.kind != HEAP_REF_WEAK)
			return (int64_t)e;
	}
	return -1;
}

static uint64_t strong_referrers(const struct heap_view *hv, uint32_t v)
{
	uint64_t n = 0;
	for (uint64_t k = hv->h.roff[v]; k < hv->h.roff[v + 1]; k++)
		n += !heap_view_rev_weak(hv, k);
	return n;
}

int cmd_dominators(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"depth", required_argument, NULL, 'd'},
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 10, depth = 3;
	int c, rc;
	uint64_t addr;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hd:f:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if ((rc = cli_parse_count("--depth", optarg, &depth)))
				return rc;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("expected DUMP and ADDRESS");
	if (leak_parse_address(argv[optind + 1], &addr) < 0)
		return cli_usage_error("'%s' is not an address (0x-hex or decimal)",
		                       argv[optind + 1]);
	const char *file = argv[optind];
	struct heap_view hv;
	struct dom_tree t;
	struct gstack s = {0};
	struct pathstep ps = {0}; /* json: prepared at the first row */
	if ((rc = heap_view_open_lean(&hv, file, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS)))
		return rc;
	int bad = 0;
	uint32_t id = heap_view_find(&hv, addr, &bad);
	if (bad) {
		rc = cli_sqlite_error(hv.db, file, "dominators");
		heap_view_close(&hv);
		return rc;
	}
	if (id == HEAP_NONE) {
		cli_error(file, "no object at 0x%llx in this dump", (unsigned long long)addr);
		heap_view_close(&hv);
		return CLI_BAD_INPUT;
	}
	if ((rc = dom_view_load(hv.db, file, hv.h.n, &t))) {
		heap_view_close(&hv);
		return rc;
	}
	const struct heap *h = &hv.h;
	struct group top = {.n = 1, .type = h->type[id], .retained = t.retained[id]};
	top.ids = malloc(sizeof *top.ids);
	if (!top.ids || push(&s, &top) < 0) {
		free(top.ids);
		goto oom;
	}
	if (fmt == OUT_JSON)
		fputs("[", stdout);
	else if (fmt == OUT_CSV)
		fputs("depth,type,objects,retained,address,label,referrers\r\n", stdout);
	s.v[0].ids[0] = id;
	long long rows = 0;
	char a[16], b[16];
	while (s.n && !bad) {
		struct group g = s.v[--s.n];
		const char *ty = g.more ? "" : hv.type_name[g.type] ? hv.type_name[g.type] : "?";
		const char *edge = NULL;
		uint64_t nref = 0;
		int64_t e = -1;
		if (!g.more && g.n == 1) {
			e = g.depth ? direct_edge(&t, &hv, g.ids[0]) : -1;
			if (e == -2) {
				free(g.ids);
				pathstep_release(&ps);
				rc = CLI_BAD_INPUT; /* printed */
				goto out;
			}
			if (e >= 0)
				edge = heap_view_label(&hv, (uint64_t)e, &bad);
			nref = strong_referrers(&hv, g.ids[0]);
		}
		if (fmt == OUT_TABLE && g.depth == 0) {
			uint32_t kc;
			uint64_t own = t.retained[id];
			const uint32_t *k = dom_children(&t, id, &kc);
			for (uint32_t i = 0; i < kc; i++)
				own -= t.retained[k[i]];
			printf("%s at 0x%llx retains %s (own size %s)", ty,
			       (unsigned long long)addr,
			       out_human_size((int64_t)g.retained, a, sizeof a),
			       out_human_size((int64_t)own, b, sizeof b));
			if (t.idom[id] == DOM_SUPER)
				fputs("; only the virtual root above the roots dominates it",
				      stdout);
			else if (t.idom[id] == DOM_GARBAGE)
				fputs("; unreachable (garbage)", stdout);
			else
				printf("; its immediate dominator is %s at 0x%llx",
				       heap_view_type(&hv, t.idom[id]),
				       (unsigned long long)heap_view_addr(&hv, t.idom[id], &bad));
			putchar('\n');
		} else if (fmt == OUT_TABLE) {
			int ind = g.depth > 24 ? 24 : g.depth;
			printf("%*s%10s  ", 2 * ind, "",
			       out_human_size((int64_t)g.retained, a, sizeof a));
			if (g.more)
				printf("... %lld more types", g.more);
			else if (g.n > 1)
				printf("%u × %s", g.n, ty);
			else {
				/* Named as in `path` (str 'node-10', function handle). */
				struct pathstep_obj o;
				char lab[PATHSTEP_TEXT] = "";
				if ((!ps.hv && pathstep_init(&ps, &hv) < 0) ||
				    pathstep_object(&ps, g.ids[0], 0, &o) < 0 ||
				    (e >= 0 &&
				     pathstep_edge(&ps, (uint64_t)e, lab, sizeof lab) < 0))
					bad = 1;
				printf("%s at 0x%llx", bad ? ty : o.name,
				       (unsigned long long)heap_view_addr(&hv, g.ids[0], &bad));
				if (lab[0])
					printf(" %s", lab);
				else if (edge)
					printf(" %s", edge);
				else
					printf(" (held through %llu referrers)",
					       (unsigned long long)nref);
			}
			if (g.depth > 24)
				printf(" (depth %d)", g.depth);
			putchar('\n');
		} else {
			int one = !g.more && g.n == 1;
			char *ecopy = edge ? strdup(edge) : NULL;
			if (fmt == OUT_JSON) {
				/* The step shape (pathstep_json) plus depth, retained
				 * and referrers. */
				struct pathstep_obj o = {0};
				char lab[PATHSTEP_TEXT] = "";
				if (one) {
					if ((!ps.hv && pathstep_init(&ps, &hv) < 0) ||
					    pathstep_object(&ps, g.ids[0], 0, &o) < 0 ||
					    (e >= 0 &&
					     pathstep_edge(&ps, (uint64_t)e, lab, sizeof lab) < 0))
						bad = 1;
				} else {
					if (!ps.hv && pathstep_init(&ps, &hv) < 0)
						bad = 1;
					o.type = g.more ? NULL : ty;
					snprintf(o.name, sizeof o.name, "%s", g.more ? "" : ty);
				}
				fputs(rows ? ",\n" : "\n", stdout);
				if (bad || pathstep_json_open(stdout, &ps, &o, lab,
				                              g.more ? g.more : (long long)g.n) < 0)
					bad = 1;
				printf(",\"depth\":%d,\"retained\":%llu,\"referrers\":", g.depth,
				       (unsigned long long)g.retained);
				if (one)
					printf("%llu}", (unsigned long long)nref);
				else
					fputs("null}", stdout);
			} else {
				printf("%d,", g.depth);
				out_csv_field(stdout, ty, strlen(ty));
				printf(",%llu,%llu,",
				       g.more ? (unsigned long long)g.more
				              : (unsigned long long)g.n,
				       (unsigned long long)g.retained);
				if (one)
					printf("%llu", (unsigned long long)heap_view_addr(
					                       &hv, g.ids[0], &bad));
				putchar(',');
				if (ecopy)
					out_csv_field(stdout, ecopy, strlen(ecopy));
				putchar(',');
				if (one)
					printf("%llu", (unsigned long long)nref);
				fputs("\r\n", stdout);
			}
			free(ecopy);
		}
		if (!g.more && (depth == 0 || g.depth < depth) &&
		    expand(&t, h, &g, limit, &s) < 0) {
			free(g.ids);
			goto oom;
		}
		free(g.ids);
		rows++;
	}
	if (fmt == OUT_JSON)
		fputs(rows ? "\n]\n" : "]\n", stdout);
	pathstep_release(&ps);
	rc = bad ? cli_sqlite_error(hv.db, file, "dominators") : CLI_OK;
	goto out;
oom:
	pathstep_release(&ps);
	cli_error(file, "dominators: out of memory");
	rc = CLI_RUNTIME;
out:
	while (s.n)
		free(s.v[--s.n].ids);
	free(s.v);
	dom_tree_release(&t);
	heap_view_close(&hv);
	return rc;
}
