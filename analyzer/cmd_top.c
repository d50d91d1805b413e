/* cmd_top.c — `pymple-analyze top DUMP`: the objects that retain the most
 * memory, as accumulation points of the dominator tree (graph_dom.h), each
 * with its shortest path from a root. Reads the database and the heap only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dom_view.h"
#include "heap_path.h"
#include "heap_view.h"
#include "leak_cli.h"
#include "output.h"
#include "pathstep.h"

static const char *const usage[] = {
        "top DUMP [--limit N] [--type T] [--threshold F] [--format table|csv|json]",
        "",
        "The objects that keep the most memory alive (retained size: the object and",
        "everything only it keeps alive, README: retained size), largest first, each",
        "with its type, value, own size, retained size, share of the dump's total",
        "and of the process's RSS, and the shortest path from a root.",
        "Rows are accumulation points: from a big retainer, descend into its",
        "largest dominator-tree child while that child retains at least F of it,",
        "and stop at the object whose children share its size; so a module's dict",
        "or sys.modules never hides the cache inside it, and no row lies inside",
        "another row's subtree (the shares add up to at most 100%). Unreachable",
        "objects (garbage) are ranked too; their path is empty.",
        "",
        "  --limit N          at most N rows (default 20, 0 = no limit)",
        "  --type T           only objects of type T, each not kept alive by another",
        "                     T, largest first (no descent)",
        "  --threshold F      the descent's share, in (0, 1] (default 0.8)",
        "  --format F         table (default), csv or json",
        "  -h, --help         this help",
        "",
        "JSON: [{\"address\", \"type\", \"size\", \"retained\", \"alloc\" (file:line or",
        "      null: README, allocation sites), \"path\"}, ...], path as in",
        "      `path --format json`: [{\"label\", \"type\", \"name\", \"address\",",
        "      \"objects\", \"root\"}, ...] ([] when no root holds the object)",
        NULL,
};

/* The objects of type ty with no dominator-tree ancestor of that type, in
 * tree order (depth-first, explicit stack). *out (caller frees) gets them. */
static int type_points(const struct dom_tree *t, const struct heap *h, uint32_t ty, uint32_t **out,
                       uint32_t *nout)
{
	uint32_t *stack = malloc(((size_t)h->n + 2) * sizeof *stack);
	uint32_t *res = malloc(((size_t)h->n + 1) * sizeof *res);
	uint32_t sp = 0, nres = 0, cnt;
	if (!stack || !res) {
		free(stack);
		free(res);
		return -1;
	}
	static const uint32_t tops[2] = {DOM_GARBAGE, DOM_SUPER};
	for (int r = 0; r < 2; r++) {
		const uint32_t *k = dom_children(t, tops[r], &cnt);
		for (uint32_t i = cnt; i-- > 0;)
			stack[sp++] = k[i];
	}
	while (sp) {
		uint32_t v = stack[--sp];
		if (h->type[v] == ty) {
			res[nres++] = v;
			continue;
		}
		const uint32_t *k = dom_children(t, v, &cnt);
		for (uint32_t i = cnt; i-- > 0;)
			stack[sp++] = k[i];
	}
	free(stack);
	*out = res;
	*nout = nres;
	return 0;
}

static const struct dom_tree *sort_tree; /* for by_retained (qsort has no context) */

static int by_retained(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t rx = sort_tree->retained[x], ry = sort_tree->retained[y];
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x < y ? -1 : x > y;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {"threshold", required_argument, NULL, 'T'},
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 20;
	double threshold = DOM_DEFAULT_THRESHOLD;
	const char *type = NULL;
	int c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ht:f:l:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'T': {
			char *end = NULL;
			threshold = strtod(optarg, &end);
			if (!end || *end || !(threshold > 0.0 && threshold <= 1.0))
				return cli_usage_error(
				        "--threshold: '%s' is not a number in (0, 1]", optarg);
			break;
		}
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected one DUMP");
	const char *file = argv[optind];
	struct heap_view hv;
	struct dom_tree t;
	struct heap_path p;
	struct pathstep ps = {0}; /* json: prepared at the first path */
	if ((rc = heap_view_open_lean(&hv, file, HEAP_LEAN_TYPE | HEAP_LEAN_REFERRERS)))
		return rc;
	if ((rc = dom_view_load(hv.db, file, hv.h.n, &t))) {
		heap_view_close(&hv);
		return rc;
	}
	const struct heap *h = &hv.h;
	uint32_t *pts = NULL, npts = 0;
	uint8_t *module_type = heap_path_module_types(&hv);
	uint32_t cap = limit > 0 && (uint64_t)limit < h->n ? (uint32_t)limit : h->n;
	rc = CLI_RUNTIME;
	if (!module_type)
		goto oom;
	if (type) {
		uint32_t ty = UINT32_MAX;
		for (uint32_t k = 0; k < h->ntypes; k++)
			if (hv.type_name[k] && strcmp(hv.type_name[k], type) == 0)
				ty = k;
		if (ty == UINT32_MAX) {
			cli_error(file, "no object of type '%s' in this dump", type);
			rc = CLI_BAD_INPUT;
			goto out;
		}
		if (type_points(&t, h, ty, &pts, &npts) < 0)
			goto oom;
		sort_tree = &t;
		qsort(pts, npts, sizeof *pts, by_retained);
		if (npts > cap)
			npts = cap;
	} else {
		static const uint32_t from[2] = {DOM_SUPER, DOM_GARBAGE};
		pts = malloc(((size_t)cap + 1) * sizeof *pts);
		if (!pts || dom_accumulation_points(&t, from, 2, threshold, cap, pts, &npts) == -1)
			goto oom;
	}
	uint64_t total = t.super_total + t.garbage_total;
	char rssbuf[64], a[16], b[16], d[16];
	char *end = NULL;
	long long rss =
	        db_meta(hv.db, "rss", rssbuf, sizeof rssbuf) == 1 ? strtoll(rssbuf, &end, 10) : 0;
	if (!end || *end || rss < 0)
		rss = 0;
	if (fmt == OUT_TABLE) {
		printf("dump total %s (reachable %s)", out_human_size((int64_t)total, a, sizeof a),
		       out_human_size((int64_t)t.super_total, b, sizeof b));
		if (rss)
			printf(", RSS %s", out_human_size(rss, d, sizeof d));
		printf("\n%10s  %6s  %6s  %9s  %s\n", "retained", "% dump", "% RSS", "size",
		       "object");
	} else if (fmt == OUT_CSV) {
		fputs("address,type,size,retained,share,rss_share,value,path\r\n", stdout);
	} else {
		fputs("[", stdout);
	}
	int bad = 0;
	for (uint32_t i = 0; i < npts && !bad; i++) {
		uint32_t v = pts[i];
		uint64_t own = t.retained[v];
		uint32_t kc;
		const uint32_t *k = dom_children(&t, v, &kc);
		for (uint32_t j = 0; j < kc; j++)
			own -= t.retained[k[j]];
		const char *ty = heap_view_type(&hv, v);
		memset(&p, 0, sizeof p);
		long start = -1;
		if (h->flags[v] & HEAP_REACHED) {
			start = heap_path_find(h, module_type, &p, v, 0);
			if (start == -3) {
				heap_path_release(&p);
				goto oom;
			}
			if (start >= 0 && heap_path_edges(&hv, &p, start) < 0) {
				heap_path_release(&p);
				rc = CLI_BAD_INPUT; /* printed */
				goto out;
			}
		}
		uint64_t addr = heap_view_addr(&hv, v, &bad);
		if (fmt == OUT_JSON) {
			printf("%s\n{\"address\":%llu,\"type\":", i ? "," : "",
			       (unsigned long long)addr);
			sqlite3_stmt *q;
			if (sqlite3_prepare_v2(hv.db, "SELECT json_quote(?1)", -1, &q, NULL) ==
			            SQLITE_OK &&
			    sqlite3_bind_text(q, 1, ty, -1, SQLITE_STATIC) == SQLITE_OK &&
			    sqlite3_step(q) == SQLITE_ROW)
				fputs((const char *)sqlite3_column_text(q, 0), stdout);
			else
				bad = 1;
			sqlite3_finalize(q);
			printf(",\"size\":%llu,\"retained\":%llu,\"alloc\":",
			       (unsigned long long)own, (unsigned long long)t.retained[v]);
			const char *site = heap_view_alloc(&hv, v, &bad);
			if (site && sqlite3_prepare_v2(hv.db, "SELECT json_quote(?1)", -1, &q,
			                               NULL) == SQLITE_OK) {
				if (sqlite3_bind_text(q, 1, site, -1, SQLITE_TRANSIENT) ==
				            SQLITE_OK &&
				    sqlite3_step(q) == SQLITE_ROW)
					fputs((const char *)sqlite3_column_text(q, 0), stdout);
				else
					bad = 1;
				sqlite3_finalize(q);
			} else {
				fputs("null", stdout);
			}
			fputs(",\"path\":", stdout);
			if (start >= 0) {
				if ((!ps.hv && pathstep_init(&ps, &hv) < 0) ||
				    pathstep_chain_json(&ps, &p, start, stdout) < 0)
					bad = 1;
			} else {
				fputs("[]", stdout);
			}
			putchar('}');
		} else if (fmt == OUT_CSV) {
			const char *value = heap_view_value(&hv, v, &bad);
			char *vcopy = value ? strdup(value) : NULL;
			printf("%llu,", (unsigned long long)addr);
			out_csv_field(stdout, ty, strlen(ty));
			printf(",%llu,%llu,%.2f,", (unsigned long long)own,
			       (unsigned long long)t.retained[v], share(t.retained[v], total));
			if (rss)
				printf("%.2f", share(t.retained[v], (uint64_t)rss));
			putchar(',');
			if (vcopy)
				out_csv_field(stdout, vcopy, strlen(vcopy));
			free(vcopy);
			putchar(',');
			if (start >= 0) {
				char *buf = NULL;
				size_t len = 0;
				FILE *mem = open_memstream(&buf, &len);
				if (!mem || (!ps.hv && pathstep_init(&ps, &hv) < 0) ||
				    pathstep_chain_text(&ps, &p, start, mem) < 0)
					bad = 1;
				if (mem)
					fclose(mem);
				if (buf)
					out_csv_field(stdout, buf, len);
				free(buf);
			}
			fputs("\r\n", stdout);
		} else {
			char pr[16] = "-";
			if (rss)
				snprintf(pr, sizeof pr, "%.1f%%",
				         share(t.retained[v], (uint64_t)rss));
			printf("%10s  %5.1f%%  %6s  %9s  %s",
			       out_human_size((int64_t)t.retained[v], a, sizeof a),
			       share(t.retained[v], total), pr,
			       out_human_size((int64_t)own, b, sizeof b), ty);
			const char *value = heap_view_value(&hv, v, &bad);
			if (value)
				printf(" %.40s%s", value, strlen(value) > 40 ? "..." : "");
			printf(" at 0x%llx", (unsigned long long)addr);
			const char *site = heap_view_alloc(&hv, v, &bad);
			if (site)
				printf(", allocated at %s", site);
			printf("\n%10s  ", "");
			if (start >= 0) {
				fputs("path: ", stdout);
				if ((!ps.hv && pathstep_init(&ps, &hv) < 0) ||
				    pathstep_chain_text(&ps, &p, start, stdout) < 0)
					bad = 1;
				putchar('\n');
			} else {
				puts("unreachable: garbage a gc.collect() would free");
			}
		}
		heap_path_release(&p);
	}
	if (fmt == OUT_JSON)
		fputs(npts ? "\n]\n" : "]\n", stdout);
	rc = bad ? cli_sqlite_error(hv.db, file, "top") : CLI_OK;
	goto out;
oom:
	cli_error(file, "top: out of memory");
	rc = CLI_RUNTIME;
out:
	pathstep_release(&ps);
	free(pts);
	free(module_type);
	dom_tree_release(&t);
	heap_view_close(&hv);
	return rc;
}
