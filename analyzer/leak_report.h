/* leak_report.h — what `leaks` found, and its three writers: the table
 * for a terminal, CSV and the JSON document of README (leaks), with the
 * aggregated dominator tree for the HTML page. cmd_leaks.c finds; this
 * prints, reading names and values through the newest dump's heap view.
 * Command code: prints to stdout or the FILE* it is given; never exits. */
#ifndef PYMPLE_LEAK_REPORT_H
#define PYMPLE_LEAK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph_dom.h"
#include "heap_view.h"
#include "leak_groups.h"
#include "pathstep.h"

/* One dump's header. */
struct leak_dump {
	const char *path;
	long long pid; /* -1: unknown */
	double time;   /* NAN: unknown */
	long long rss; /* 0: unknown */
	uint64_t objects, size;
};

/* The groups of every dump, by signature: row r has k entries per array. */
struct leak_series {
	int k;
	size_t n, cap, scap;
	uint64_t *sig;
	uint32_t *count;
	uint64_t *bytes, *retained;
	size_t *slot; /* SIZE_MAX: empty */
};

/* One dump open: the heap, its dominator tree and its groups. */
struct leak_state {
	struct heap_view hv;
	struct dom_tree t;
	struct leak_groups g;
	struct leak_groups_input in;
	uint8_t *module_type;
	uint64_t *type_hash, *str_hash;
	sqlite3_stmt *modname;
	int open, has_tree;
};

enum leak_trend { LEAK_STEADY, LEAK_UNKNOWN, LEAK_SINGLE, LEAK_WARMUP, LEAK_STATIC, LEAK_NONE };

/* "steady", "unknown", "single", "warm-up", "static". */
const char *leak_trend_name(enum leak_trend t);

/* One step of a printed path. */
struct leak_step {
	char label[PATHSTEP_TEXT], name[PATHSTEP_TEXT], root[PATHSTEP_TEXT];
	const char *type;
	uint64_t address;
	int has_address;
	long long objects; /* -1: null */
};

struct leak_suspect {
	uint32_t group; /* in the newest dump */
	size_t row;     /* in the series, SIZE_MAX for one dump */
	enum leak_trend trend;
	int64_t at_stake;
	uint32_t holder, example; /* HEAP_NONE: none */
	struct leak_step *path, *expath;
	size_t npath, nexpath;
	uint32_t also; /* objects of other groups folded in (same holder) */
	char *next[3];
};

/* What the writers share. */
struct leak_report {
	int k;
	const struct leak_dump *dumps;
	const struct leak_series *ser;
	struct leak_state *d; /* the newest dump */
	struct leak_suspect *sus;
	size_t nsus;
	unsigned long warmup, statics, small;
};

/* The JSON document (LEAKS_JSON.md), with "tree" when with_tree. 0, -1 on
 * an SQLite error, -2 out of memory. */
int leak_report_json(const struct leak_report *r, FILE *fp, struct pathstep *ps, int with_tree);
/* One CSV row per suspect, on stdout (columns: README, leaks). */
void leak_report_csv(const struct leak_report *r);
/* The table for a terminal, on stdout. */
void leak_report_table(const struct leak_report *r);

#endif
