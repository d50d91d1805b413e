/* dombench.c — speed and memory of graph_dom.c on synthetic graphs: a random
 * graph (default 10M nodes, 35M edges, 1% roots) and a long chain. A tool,
 * not a test: prints numbers (CPU time, and peak RSS above the graph), asserts
 * nothing about time. graph_reach + graph_scc on the same graph, what load
 * already runs, is printed as the reference.
 * "local" is a guess at a heap's shape: 90% of the edges go to one of the
 * next 64 nodes (objects refer to objects allocated near them), 10% anywhere.
 * Usage: dombench [random|local NODES EDGES | chain NODES] [rev] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "graph_dom.h"

/* CPU time of this process: the machine is shared, wall time is noise. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Peak resident set since the last reset_peak(), in bytes (VmHWM). */
static long long peak_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static long long cur_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS. */
static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "random";
	int chain = strcmp(mode, "chain") == 0, local = strcmp(mode, "local") == 0;
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : chain ? 1000000 : 10000000;
	uint64_t m = chain ? n - 1 : argc > 3 ? strtoull(argv[3], NULL, 10) : 35000000;
	int use_rev = argc > (chain ? 3 : 4) && strcmp(argv[chain ? 3 : 4], "rev") == 0;

	uint32_t *src = malloc(m * sizeof *src), *dst = malloc(m * sizeof *dst);
	uint8_t *root = calloc(n, 1);
	uint64_t *own = malloc((size_t)n * sizeof *own);
	if (!src || !dst || !root || !own)
		return 1;
	for (uint64_t i = 0; i < m; i++) {
		src[i] = chain ? (uint32_t)i : (uint32_t)(next64() % n);
		dst[i] = chain ? (uint32_t)i + 1 : (uint32_t)(next64() % n);
		if (local && next64() % 10)
			dst[i] = (uint32_t)((src[i] + 1 + next64() % 64) % n);
	}
	for (uint32_t v = 0; v < n; v++) {
		root[v] = chain ? v == 0 : next64() % 100 == 0;
		own[v] = 16 + next64() % 200;
	}
	struct graph g, rev;
	if (graph_build(&g, n, src, dst, m) < 0)
		return 1;
	free(src);
	free(dst);
	if (use_rev && graph_reverse(&g, &rev) < 0)
		return 1;

	/* Reference: what load already does on the same graph (reach + SCC). */
	uint32_t *idom = malloc((size_t)n * sizeof *idom);
	uint8_t *reached = malloc(n);
	if (!idom || !reached)
		return 1;
	double r0 = now();
	uint32_t ncomp;
	if (graph_reach(&g, root, reached) < 0 || graph_scc(&g, NULL, idom, &ncomp) < 0)
		return 1;
	double r1 = now();
	free(reached);
	long long base = cur_rss();
	reset_peak();
	double t0 = now();
	struct dom_input in = {.g = &g, .is_root = root, .rev = use_rev ? &rev : NULL};
	if (dom_idom(&in, idom) < 0)
		return 1;
	double t1 = now();
	long long peak_idom = peak_rss();
	reset_peak();
	struct dom_tree t;
	if (dom_tree_from_idom(&t, n, idom, own) < 0)
		return 1;
	double t2 = now();
	long long peak_tree = peak_rss();
	uint32_t from[] = {DOM_SUPER, DOM_GARBAGE}, out[50], nout;
	if (dom_accumulation_points(&t, from, 2, DOM_DEFAULT_THRESHOLD, 50, out, &nout) < 0)
		return 1;
	double t3 = now();

	uint32_t nsuper = 0;
	for (uint32_t v = 0; v < n; v++)
		nsuper += idom[v] == DOM_SUPER;
	printf("%s: %u nodes, %llu edges, predecessors %s\n", mode, n, (unsigned long long)m,
	       use_rev ? "from the caller" : "built inside");
	printf("reach+scc (ref.)    %7.3f s  %6.1f ns/node\n", r1 - r0, (r1 - r0) * 1e9 / n);
	printf("dom_idom            %7.3f s  %6.1f ns/node  peak +%6.1f bytes/node\n", t1 - t0,
	       (t1 - t0) * 1e9 / n, (double)(peak_idom - base) / n);
	printf("dom_tree_from_idom  %7.3f s  %6.1f ns/node  peak +%6.1f bytes/node\n", t2 - t1,
	       (t2 - t1) * 1e9 / n, (double)(peak_tree - base) / n);
	printf("accumulation (50)   %7.3f s\n", t3 - t2);
	printf("super total %llu, garbage total %llu, super children %u, top point %u "
	       "retains %llu\n",
	       (unsigned long long)t.super_total, (unsigned long long)t.garbage_total, nsuper,
	       nout ? out[0] : 0, nout ? (unsigned long long)t.retained[out[0]] : 0ull);
	dom_tree_release(&t);
	free(idom);
	if (use_rev)
		graph_release(&rev);
	graph_release(&g);
	free(root);
	free(own);
	return 0;
}
