/* cmd_leaks.c — `pymple-analyze leaks DUMP...`: is there a leak, what leaks,
 * where is it held. Groups every dump's objects by signature (leak_groups.h),
 * matches the groups across the series, ranks what grew (or, for one dump,
 * where the memory accumulates) and names each suspect's shared path, holder,
 * one example and the commands to run next. One dump's heap in memory at a
 * time; SQL only for the words of the lines printed. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "dbfile.h"
#include "dom_view.h"
#include "heap_path.h"
#include "heap_view.h"
#include "leak_cli.h"
#include "leak_groups.h"
#include "output.h"
#include "pathstep.h"
#include "report_html.h"

static const char *const usage[] = {
        "leaks DUMP... [--format table|csv|json] [--html FILE] [--limit N] [--force]",
        "",
        "Is there a leak, what leaks, where is it held: one report from dumps of one",
        "process, oldest first. Objects are grouped by type and by the path from a",
        "root that reaches them, indexes and dict keys folded ([*]): all the",
        "app.Ticket objects under Store._pending's dict are one group, matched",
        "across dumps by that path (never by address).",
        "",
        "With two dumps or more, suspects are the groups whose count or retained",
        "size grew from the first dump to the last, ranked by the retained size",
        "they gained (memory at stake); with three or more, each has a trend:",
        "steady (grew at every step: ranked first), warm-up (grew, then flat) and",
        "static (large, constant) are counted but not listed. With one dump,",
        "suspects are where the memory accumulates (as in `top`), largest first.",
        "A group held under another suspect's objects is part of that suspect.",
        "",
        "For each suspect: what (type, count per dump, own and retained bytes,",
        "share of the dump and of RSS), where (the path its objects share from a",
        "root, with how many of them pass each step), the holder (the container",
        "at the fan-out, with its length), one example object, and the commands",
        "to run next (path, dominators, sql), each runnable as printed.",
        "",
        "  --format F         table (default), csv or json",
        "  --html FILE        also write the report as one self-contained HTML page",
        "                     (mode 0600, replaced atomically)",
        "  --limit N          at most N suspects (default 10, 0 = all)",
        "  --force            compare dumps of different processes, or out of order",
        "  -h, --help         this help",
        "",
        "JSON (README: leaks): {\"version\", \"dumps\": [{\"path\", \"pid\", \"time\",",
        "      \"objects\", \"size\", \"rss\"}], \"mode\", \"suspects\": [{\"type\", \"count\",",
        "      \"counts\", \"bytes\", \"retained\", \"retained_per_dump\", \"at_stake\",",
        "      \"growth_per_step\", \"share_dump\", \"share_rss\", \"trend\", \"path\",",
        "      \"holder\", \"example\", \"next\"}], \"not_suspects\"}; a path step is",
        "      {\"label\", \"type\", \"name\", \"address\", \"objects\", \"root\"}.",
        "CSV: one row per suspect: rank, type, trend, count, count_1..count_K,",
        "      growth_per_step, bytes, retained, at_stake, share_dump, share_rss,",
        "      holder_address, holder_type, holder_length, example_address, path.",
        NULL,
};

#define STATIC_SHARE 0.01  /* a constant group this big is "static" */
#define SINGLE_SHARE 0.05  /* one dump: points retaining at least this */
#define TREE_SHARE   0.001 /* --html tree: smaller children are merged */
#define TREE_NODES   3000

#define MARKED_BIT(m, v) ((m)[(v) >> 3] & (1u << ((v)&7)))
#define SET_BIT(m, v)    ((m)[(v) >> 3] |= (uint8_t)(1u << ((v)&7)))

/* One dump's header. */
struct dump_info {
	const char *path;
	long long pid; /* -1: unknown */
	double time;   /* NAN: unknown */
	long long rss; /* 0: unknown */
	uint64_t objects, size;
};

/* The groups of every dump, by signature: row r has k entries per array. */
struct series {
	int k;
	size_t n, cap, scap;
	uint64_t *sig;
	uint32_t *count;
	uint64_t *bytes, *retained;
	size_t *slot; /* SIZE_MAX: empty */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

static size_t series_find(const struct series *s, uint64_t sig)
{
	if (!s->scap)
		return SIZE_MAX;
	for (size_t i = mix64(sig) & (s->scap - 1); s->slot[i] != SIZE_MAX;
	     i = (i + 1) & (s->scap - 1))
		if (s->sig[s->slot[i]] == sig)
			return s->slot[i];
	return SIZE_MAX;
}

static int series_grow(struct series *s)
{
	size_t cap = s->cap ? 2 * s->cap : 1024, k = (size_t)s->k;
	uint64_t *sig = realloc(s->sig, cap * sizeof *sig);
	if (sig)
		s->sig = sig;
	uint32_t *c = realloc(s->count, cap * k * sizeof *c);
	if (c)
		s->count = c;
	uint64_t *b = realloc(s->bytes, cap * k * sizeof *b);
	if (b)
		s->bytes = b;
	uint64_t *r = realloc(s->retained, cap * k * sizeof *r);
	if (r)
		s->retained = r;
	size_t *slot = malloc(2 * cap * sizeof *slot);
	if (!sig || !c || !b || !r || !slot) {
		free(slot);
		return -1;
	}
	memset(slot, 0xff, 2 * cap * sizeof *slot);
	for (size_t j = 0; j < s->n; j++) {
		size_t i = mix64(s->sig[j]) & (2 * cap - 1);
		while (slot[i] != SIZE_MAX)
			i = (i + 1) & (2 * cap - 1);
		slot[i] = j;
	}
	free(s->slot);
	s->slot = slot;
	s->scap = 2 * cap;
	s->cap = cap;
	return 0;
}

/* Adds dump i's groups. */
static int series_add(struct series *s, int i, const struct leak_groups *g)
{
	size_t k = (size_t)s->k;
	for (uint32_t q = 0; q < g->ngroups; q++) {
		size_t r = series_find(s, g->sig[q]);
		if (r == SIZE_MAX) {
			if (s->n == s->cap && series_grow(s) < 0)
				return -1;
			r = s->n++;
			s->sig[r] = g->sig[q];
			memset(s->count + r * k, 0, k * sizeof *s->count);
			memset(s->bytes + r * k, 0, k * sizeof *s->bytes);
			memset(s->retained + r * k, 0, k * sizeof *s->retained);
			size_t j = mix64(g->sig[q]) & (s->scap - 1);
			while (s->slot[j] != SIZE_MAX)
				j = (j + 1) & (s->scap - 1);
			s->slot[j] = r;
		}
		s->count[r * k + (size_t)i] = g->count[q];
		s->bytes[r * k + (size_t)i] = g->bytes[q];
		s->retained[r * k + (size_t)i] = g->retained[q];
	}
	return 0;
}

static void series_release(struct series *s)
{
	free(s->sig);
	free(s->count);
	free(s->bytes);
	free(s->retained);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* One dump open: the heap, its dominator tree and its groups. */
struct dump_state {
	struct heap_view hv;
	struct dom_tree t;
	struct leak_groups g;
	struct leak_groups_input in;
	uint8_t *module_type;
	uint64_t *type_hash, *str_hash;
	sqlite3_stmt *modname;
	int open, has_tree;
};

/* A module start's name, so that module app and module util differ. */
static uint64_t module_name_hash(void *ctx, uint32_t v)
{
	struct dump_state *d = ctx;
	if (!d->module_type[d->hv.h.type[v]])
		return 0;
	uint64_t x = 0;
	sqlite3_bind_int64(d->modname, 1, v);
	if (sqlite3_step(d->modname) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(d->modname, 0);
		if (s)
			x = leak_hash_str(s, strlen(s));
	}
	sqlite3_reset(d->modname);
	return x;
}

static void dump_close(struct dump_state *d)
{
	leak_groups_release(&d->g);
	if (d->has_tree)
		dom_tree_release(&d->t);
	sqlite3_finalize(d->modname);
	free(d->module_type);
	free(d->type_hash);
	free(d->str_hash);
	if (d->open)
		heap_view_close(&d->hv);
	memset(d, 0, sizeof *d);
}

/* Opens path and builds its groups. 0, or the exit status (error printed). */
static int dump_open(struct dump_state *d, const char *path, struct dump_info *info,
                     struct cli_progress *pr)
{
	int rc;
	memset(d, 0, sizeof *d);
	if ((rc = heap_view_open(&d->hv, path)))
		return rc;
	d->open = 1;
	const struct heap *h = &d->hv.h;
	if ((rc = dom_view_load(d->hv.db, path, h->n, &d->t)))
		return rc;
	d->has_tree = 1;
	cli_progress_step(pr, "grouping the objects");
	d->module_type = heap_path_module_types(&d->hv);
	d->type_hash = calloc((size_t)h->ntypes + 1, sizeof *d->type_hash);
	d->str_hash = calloc((size_t)h->nstrings + 1, sizeof *d->str_hash);
	if (!d->module_type || !d->type_hash || !d->str_hash) {
		cli_error(path, "leaks: out of memory");
		return CLI_RUNTIME;
	}
	for (uint32_t t = 0; t < h->ntypes; t++) {
		const char *s = d->hv.type_name[t] ? d->hv.type_name[t] : "?";
		d->type_hash[t] = leak_hash_str(s, strlen(s));
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->hv.db, "SELECT id, text FROM strings", -1, &st, NULL) ||
	    sqlite3_prepare_v2(d->hv.db, "SELECT value FROM object_data WHERE id = ?1", -1,
	                       &d->modname, NULL)) {
		sqlite3_finalize(st);
		return cli_sqlite_error(d->hv.db, path, "leaks");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		const char *s = (const char *)sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if (id < 0 || (uint64_t)id >= h->nstrings)
			continue;
		d->str_hash[id] = leak_hash_str(s ? s : "", n);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cli_sqlite_error(d->hv.db, path, "leaks");
	d->in = (struct leak_groups_input){h,
	                                   &d->t,
	                                   d->module_type,
	                                   d->type_hash,
	                                   d->str_hash,
	                                   leak_hash_str("__dict__", 8),
	                                   module_name_hash,
	                                   d};
	if (leak_groups_build(&d->g, &d->in) < 0) {
		cli_error(path, "leaks: out of memory");
		return CLI_RUNTIME;
	}
	info->objects = h->n;
	info->size = d->t.super_total + d->t.garbage_total;
	return 0;
}

/* Reads pid, time and rss from a dump's meta. */
static int read_meta(sqlite3 *db, struct dump_info *info)
{
	char buf[64], *end;
	int r;
	info->pid = -1;
	info->time = NAN;
	info->rss = 0;
	if ((r = db_meta(db, "pid", buf, sizeof buf)) < 0)
		return -1;
	if (r == 1) {
		long long v = strtoll(buf, &end, 10);
		if (end != buf && !*end && v >= 0)
			info->pid = v;
	}
	if ((r = db_meta(db, "time", buf, sizeof buf)) < 0)
		return -1;
	if (r == 1) {
		double v = strtod(buf, &end);
		if (end != buf && !*end && isfinite(v))
			info->time = v;
	}
	if ((r = db_meta(db, "rss", buf, sizeof buf)) < 0)
		return -1;
	if (r == 1) {
		long long v = strtoll(buf, &end, 10);
		if (end != buf && !*end && v > 0)
			info->rss = v;
	}
	return 0;
}

enum trend { T_STEADY, T_UNKNOWN, T_SINGLE, T_WARMUP, T_STATIC, T_NONE };
static const char *const trend_name[] = {"steady", "unknown", "single", "warm-up", "static"};

/* One step of a printed path. */
struct step {
	char label[PATHSTEP_TEXT], name[PATHSTEP_TEXT], root[PATHSTEP_TEXT];
	const char *type;
	uint64_t address;
	int has_address;
	long long objects; /* -1: null */
};

struct suspect {
	uint32_t group; /* in the newest dump */
	size_t row;     /* in the series, SIZE_MAX for one dump */
	enum trend trend;
	int64_t at_stake;
	uint32_t holder, example; /* HEAP_NONE: none */
	struct step *path, *expath;
	size_t npath, nexpath;
	uint32_t also; /* objects of other groups folded in (same holder) */
	char *next[3];
};

static void suspect_release(struct suspect *s)
{
	free(s->path);
	free(s->expath);
	for (int i = 0; i < 3; i++)
		free(s->next[i]);
	memset(s, 0, sizeof *s);
}

static const struct series *sort_series;
static const struct leak_groups *sort_groups;

static int by_stake(const void *a, const void *b)
{
	const struct suspect *x = a, *y = b;
	if ((x->trend == T_STEADY) != (y->trend == T_STEADY))
		return x->trend == T_STEADY ? -1 : 1;
	if (x->at_stake != y->at_stake)
		return x->at_stake > y->at_stake ? -1 : 1;
	uint32_t cx = sort_groups->count[x->group], cy = sort_groups->count[y->group];
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/* ['name'] of a __dict__ read as the attribute .name. */
static void as_attribute(char *label)
{
	size_t n = strlen(label);
	if (n < 5 || strncmp(label, "['", 2) != 0 || strcmp(label + n - 2, "']") != 0 ||
	    memchr(label + 2, '\'', n - 4))
		return;
	memmove(label + 1, label + 2, n - 4);
	label[0] = '.';
	label[n - 3] = 0;
}

static int push_step(struct step **v, size_t *n, size_t *cap, struct step **out)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct step *q = realloc(*v, c * sizeof *q);
		if (!q)
			return -1;
		*v = q;
		*cap = c;
	}
	*out = &(*v)[(*n)++];
	memset(*out, 0, sizeof **out);
	(*out)->objects = -1;
	return 0;
}

/* The shared path of s's group as steps, root first, and its holder. A
 * namespace step (a __dict__ reached by .__dict__) is left out and the key
 * under it reads as an attribute: `app.Store ._pending`. -1 SQL error, -2
 * out of memory. */
static int shared_path(struct dump_state *d, struct pathstep *ps, const struct leak_level *lv,
                       uint32_t nlv, struct suspect *s)
{
	size_t cap = 0;
	int attr = 0, rc = 0;
	struct pathstep_obj o;
	for (uint32_t i = nlv; i-- > 0;) {
		const struct leak_level *l = &lv[i];
		int top = i == nlv - 1, one = l->objects == 1;
		char label[PATHSTEP_TEXT] = "";
		if (!top) {
			if (!one && d->g.folded[l->group])
				snprintf(label, sizeof label, "[*]");
			else if (pathstep_edge(ps, d->g.pedge[l->rep], label, sizeof label) < 0) {
				rc = -1;
				break;
			}
			if (attr)
				as_attribute(label);
		}
		const char *type = heap_view_type(&d->hv, l->rep);
		attr = 0;
		if (i > 0 && !strcmp(label, ".__dict__") && !strcmp(type, "dict")) {
			attr = 1;
			continue;
		}
		struct step *st;
		if (push_step(&s->path, &s->npath, &cap, &st) < 0) {
			rc = -2;
			break;
		}
		snprintf(st->label, sizeof st->label, "%s", label);
		st->type = type;
		st->objects = l->objects;
		if (one) {
			if (pathstep_object(ps, l->rep, top, &o) < 0) {
				rc = -1;
				break;
			}
			snprintf(st->name, sizeof st->name, "%s", o.name);
			snprintf(st->root, sizeof st->root, "%s", o.why);
			st->address = o.address;
			st->has_address = 1;
		} else {
			snprintf(st->name, sizeof st->name, "%s", type);
		}
	}
	return rc;
}

/* The holder: the lowest single object above the group on its path. */
static uint32_t holder_of(const struct leak_level *lv, uint32_t nlv)
{
	for (uint32_t i = 1; i < nlv; i++)
		if (lv[i].objects == 1)
			return lv[i].rep;
	return HEAP_NONE;
}

/* The example's own path along the search tree, root first, unfolded. */
static int example_path(struct dump_state *d, struct pathstep *ps, struct suspect *s)
{
	size_t cap = 0, depth = 0;
	for (uint32_t v = s->example; v != HEAP_NONE; v = d->g.parent[v])
		depth++;
	uint32_t *chain = malloc((depth + 1) * sizeof *chain);
	if (!chain)
		return -2;
	size_t i = depth;
	for (uint32_t v = s->example; v != HEAP_NONE; v = d->g.parent[v])
		chain[--i] = v;
	struct pathstep_obj o;
	int rc = 0;
	for (i = 0; i < depth && !rc; i++) {
		struct step *st;
		if (push_step(&s->expath, &s->nexpath, &cap, &st) < 0) {
			rc = -2;
			break;
		}
		if (i && pathstep_edge(ps, d->g.pedge[chain[i]], st->label, sizeof st->label) < 0)
			rc = -1;
		else if (pathstep_object(ps, chain[i], i == 0, &o) < 0)
			rc = -1;
		else {
			pathstep_dict_name(&o, st->label);
			snprintf(st->name, sizeof st->name, "%s", o.name);
			snprintf(st->root, sizeof st->root, "%s", o.why);
			st->type = heap_view_type(&d->hv, chain[i]);
			st->address = o.address;
			st->has_address = 1;
		}
	}
	free(chain);
	return rc;
}

/* Writes s for a POSIX shell: as is when every byte is plain, else in
 * single quotes ('\'' for a quote). */
static void shell_quote(FILE *fp, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                    "_./:=@%+,-") == strlen(s)) {
		fputs(s, fp);
		return;
	}
	if (!strpbrk(s, "\"$`\\!")) {
		fprintf(fp, "\"%s\"", s);
		return;
	}
	fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", fp);
		else
			fputc(*s, fp);
	}
	fputc('\'', fp);
}

/* How the next commands name the analyzer: pymple-analyze when the PATH
 * finds this very program under that name, else its full path. */
static void program_name(char *buf, size_t n)
{
	char self[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
	snprintf(buf, n, "%s", CLI_NAME);
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		return;
	self[len] = 0;
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t dl = strcspn(path, ":");
		snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, dl ? path : ".", CLI_NAME);
		if (realpath(cand, real)) {
			if (!strcmp(real, self))
				return; /* the first one PATH finds is this program */
			break;
		}
		path += dl + (path[dl] == ':');
	}
	snprintf(buf, n, "%s", self);
}

/* s's next commands, each a malloc'ed line. */
static int next_commands(struct dump_state *d, const char *prog, const char *file,
                         struct suspect *s)
{
	const struct heap *h = &d->hv.h;
	uint32_t obj = s->holder != HEAP_NONE ? s->holder : s->example;
	for (int i = 0; i < 3; i++) {
		char *buf = NULL, *q = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&buf, &len);
		if (!fp)
			return -1;
		shell_quote(fp, prog);
		fputs(i == 0 ? " path " : i == 1 ? " dominators " : " sql ", fp);
		shell_quote(fp, file);
		if (cli_db) {
			fputs(" --db ", fp);
			shell_quote(fp, cli_db);
		}
		if (i < 2) {
			fprintf(fp, " 0x%llx",
			        (unsigned long long)h->addr[i == 0 ? s->example : obj]);
		} else {
			const char *type = heap_view_type(&d->hv, s->example);
			char *sql = NULL;
			if (s->holder != HEAP_NONE)
				sql = sqlite3_mprintf(
				        "SELECT address, size, retained FROM objects WHERE idom ="
				        " (SELECT id FROM objects WHERE address = %llu) AND type = "
				        "%Q"
				        " ORDER BY retained DESC LIMIT 20",
				        (unsigned long long)h->addr[s->holder], type);
			else
				sql = sqlite3_mprintf(
				        "SELECT address, size, retained FROM objects"
				        " WHERE type = %Q ORDER BY retained DESC LIMIT 20",
				        type);
			if (sql) {
				q = sql;
				fputc(' ', fp);
				shell_quote(fp, q);
				sqlite3_free(q);
			}
		}
		if (fclose(fp) != 0) {
			free(buf);
			return -1;
		}
		s->next[i] = buf;
	}
	return 0;
}

/* JSON through SQLite's json_quote (no hand-written escaping). */
struct jw {
	FILE *fp;
	sqlite3_stmt *q;
	int bad;
};

static void jstr(struct jw *w, const char *s)
{
	if (!s || !*s) {
		fputs("null", w->fp);
		return;
	}
	sqlite3_reset(w->q);
	if (sqlite3_bind_text(w->q, 1, s, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(w->q) != SQLITE_ROW) {
		w->bad = 1;
		return;
	}
	fputs((const char *)sqlite3_column_text(w->q, 0), w->fp);
}

static void jnum(FILE *fp, double x)
{
	if (isfinite(x))
		fprintf(fp, "%.6g", x);
	else
		fputs("null", fp);
}

/* Steps in pathstep.h's one JSON shape. */
static void json_steps(struct jw *w, struct pathstep *ps, const struct step *st, size_t n)
{
	struct pathstep_obj o;
	fputc('[', w->fp);
	for (size_t i = 0; i < n && !w->bad; i++) {
		memset(&o, 0, sizeof o);
		o.address = st[i].has_address ? st[i].address : 0;
		o.type = st[i].type;
		snprintf(o.name, sizeof o.name, "%s", st[i].name);
		snprintf(o.why, sizeof o.why, "%s", st[i].root);
		const char *j = pathstep_json(ps, &o, st[i].label, st[i].objects);
		if (!j)
			w->bad = 1;
		else
			fprintf(w->fp, "%s%s", i ? "," : "", j);
	}
	fputc(']', w->fp);
}

/* What the writers share. */
struct report {
	int k;
	const struct dump_info *dumps;
	const struct series *ser;
	struct dump_state *d; /* the newest dump */
	struct suspect *sus;
	size_t nsus;
	unsigned long warmup, statics;
};

static uint32_t s_count(const struct report *r, const struct suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.count[s->group]
	                          : r->ser->count[s->row * (size_t)r->k + (size_t)i];
}
static uint64_t s_bytes(const struct report *r, const struct suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.bytes[s->group]
	                          : r->ser->bytes[s->row * (size_t)r->k + (size_t)i];
}
static uint64_t s_retained(const struct report *r, const struct suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.retained[s->group]
	                          : r->ser->retained[s->row * (size_t)r->k + (size_t)i];
}
static double growth_per_step(const struct report *r, const struct suspect *s)
{
	if (r->k < 2)
		return NAN;
	return ((double)s_count(r, s, r->k - 1) - (double)s_count(r, s, 0)) / (r->k - 1);
}
static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : NAN;
}

/* The holder's length (object_data.length), or -1. */
static long long holder_length(struct dump_state *d, uint32_t v, int *bad)
{
	sqlite3_stmt *st;
	long long len = -1;
	if (sqlite3_prepare_v2(d->hv.db, "SELECT length FROM object_data WHERE id = ?1", -1, &st,
	                       NULL)) {
		*bad = 1;
		return -1;
	}
	sqlite3_bind_int64(st, 1, v);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		len = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return len;
}

/* The dominator tree of the newest dump, aggregated (LEAKS_JSON.md NODE):
 * nodes made breadth-first, each node's children contiguous. */
struct tnode {
	uint32_t obj;   /* HEAP_NONE: the root or an aggregate */
	uint32_t first; /* first child node */
	uint32_t nkids, merged;
	uint64_t size, retained;
};

static int tree_json(struct jw *w, struct dump_state *d, struct pathstep *ps)
{
	const struct dom_tree *t = &d->t;
	uint64_t total = t->super_total + t->garbage_total;
	double min = TREE_SHARE * (double)total;
	/* at most TREE_NODES + 1: nodes are expanded while fewer are made */
	struct tnode *nd = malloc((TREE_NODES + 8) * sizeof *nd);
	uint32_t nn = 1, cap = TREE_NODES + 8;
	if (!nd)
		return -2;
	nd[0] = (struct tnode){HEAP_NONE, 0, 0, 0, 0, total};
	for (uint32_t x = 0; x < nn; x++) {
		if ((x > 0 && nd[x].obj == HEAP_NONE) || nn >= TREE_NODES)
			continue; /* an aggregate, or the page's budget is spent */
		nd[x].first = nn;
		struct tnode agg = {HEAP_NONE, 0, 0, 0, 0, 0};
		for (int part = 0; part < 2; part++) {
			uint32_t nk = 0;
			const uint32_t *kids =
			        x == 0 ? dom_children(t, part ? DOM_GARBAGE : DOM_SUPER, &nk)
			        : part ? NULL
			               : dom_children(t, nd[x].obj, &nk);
			for (uint32_t j = 0; kids && j < nk; j++) {
				uint32_t c = kids[j];
				if ((double)t->retained[c] >= min && nn + 2 < cap) {
					uint32_t ck;
					const uint32_t *cc = dom_children(t, c, &ck);
					uint64_t own = t->retained[c];
					for (uint32_t q = 0; q < ck; q++)
						own -= t->retained[cc[q]];
					nd[nn++] = (struct tnode){c, 0, 0, 0, own, t->retained[c]};
					nd[x].nkids++;
				} else {
					agg.merged++;
					agg.size += t->retained[c];
					agg.retained += t->retained[c];
				}
			}
		}
		if (agg.merged) {
			nd[nn++] = agg;
			nd[x].nkids++;
		}
	}
	/* Depth-first output with an explicit stack of (node, next child). */
	uint32_t *stk = malloc((size_t)nn * 2 * sizeof *stk), sp = 0;
	if (!stk) {
		free(nd);
		return -2;
	}
	struct pathstep_obj o;
	stk[sp++] = 0;
	stk[sp++] = 0;
	int rc = 0;
	while (sp && !rc) {
		uint32_t x = stk[sp - 2], i = stk[sp - 1];
		if (i == 0) {
			char label[64];
			fputs("{\"label\":", w->fp);
			if (x == 0) {
				fputs("\"heap\",\"type\":null,\"address\":null", w->fp);
			} else if (nd[x].obj == HEAP_NONE) {
				snprintf(label, sizeof label, "(%u smaller objects)", nd[x].merged);
				jstr(w, label);
				fputs(",\"type\":null,\"address\":null", w->fp);
			} else {
				if (pathstep_object(ps, nd[x].obj, 0, &o) < 0) {
					rc = -1;
					break;
				}
				jstr(w, o.name);
				fputs(",\"type\":", w->fp);
				jstr(w, o.type);
				fprintf(w->fp, ",\"address\":%llu", (unsigned long long)o.address);
			}
			fprintf(w->fp, ",\"size\":%llu,\"retained\":%llu,\"children\":[",
			        (unsigned long long)nd[x].size, (unsigned long long)nd[x].retained);
		}
		if (i < nd[x].nkids) {
			if (i)
				fputc(',', w->fp);
			stk[sp - 1] = i + 1;
			stk[sp++] = nd[x].first + i;
			stk[sp++] = 0;
		} else {
			fputs("]}", w->fp);
			sp -= 2;
		}
	}
	free(stk);
	free(nd);
	return rc;
}

static int write_json(struct report *r, struct jw *w, struct pathstep *ps, int with_tree)
{
	FILE *fp = w->fp;
	int k = r->k;
	fputs("{\"version\":1,\"dumps\":[", fp);
	for (int i = 0; i < k; i++) {
		const struct dump_info *di = &r->dumps[i];
		fputs(i ? ",\n{\"path\":" : "\n{\"path\":", fp);
		jstr(w, di->path);
		if (di->pid >= 0)
			fprintf(fp, ",\"pid\":%lld", di->pid);
		else
			fputs(",\"pid\":null", fp);
		fputs(",\"time\":", fp);
		if (isfinite(di->time))
			fprintf(fp, "%.6f", di->time);
		else
			fputs("null", fp);
		fprintf(fp, ",\"objects\":%llu,\"size\":%llu", (unsigned long long)di->objects,
		        (unsigned long long)di->size);
		if (di->rss)
			fprintf(fp, ",\"rss\":%lld}", di->rss);
		else
			fputs(",\"rss\":null}", fp);
	}
	fprintf(fp, "],\n\"mode\":\"%s\",\n\"suspects\":[", k > 1 ? "growth" : "single");
	const struct dump_info *last = &r->dumps[k - 1];
	for (size_t j = 0; j < r->nsus; j++) {
		struct suspect *s = &r->sus[j];
		const char *type = heap_view_type(&r->d->hv, s->example);
		fputs(j ? ",\n{\"type\":" : "\n{\"type\":", fp);
		jstr(w, type);
		fprintf(fp, ",\"count\":%u,\"counts\":[", s_count(r, s, k - 1));
		for (int i = 0; i < k; i++)
			fprintf(fp, "%s%u", i ? "," : "", s_count(r, s, i));
		fputs("],\"bytes\":[", fp);
		for (int i = 0; i < k; i++)
			fprintf(fp, "%s%llu", i ? "," : "", (unsigned long long)s_bytes(r, s, i));
		fprintf(fp, "],\"retained\":%llu,\"retained_per_dump\":[",
		        (unsigned long long)s_retained(r, s, k - 1));
		for (int i = 0; i < k; i++)
			fprintf(fp, "%s%llu", i ? "," : "",
			        (unsigned long long)s_retained(r, s, i));
		fprintf(fp, "],\"at_stake\":%lld,\"growth_per_step\":", (long long)s->at_stake);
		if (k > 1)
			fprintf(fp, "%.1f", growth_per_step(r, s)); /* exact to a tenth */
		else
			fputs("null", fp);
		fputs(",\"share_dump\":", fp);
		jnum(fp, share(s_retained(r, s, k - 1), last->size));
		fputs(",\"share_rss\":", fp);
		jnum(fp, last->rss ? share(s_retained(r, s, k - 1), (uint64_t)last->rss) : NAN);
		fprintf(fp, ",\"trend\":\"%s\",\"path\":", trend_name[s->trend]);
		json_steps(w, ps, s->path, s->npath);
		fputs(",\"holder\":", fp);
		if (s->holder != HEAP_NONE) {
			long long len = holder_length(r->d, s->holder, &w->bad);
			fprintf(fp, "{\"address\":%llu,\"type\":",
			        (unsigned long long)r->d->hv.h.addr[s->holder]);
			jstr(w, heap_view_type(&r->d->hv, s->holder));
			if (len >= 0)
				fprintf(fp, ",\"length\":%lld}", len);
			else
				fputs(",\"length\":null}", fp);
		} else {
			fputs("null", fp);
		}
		fprintf(fp, ",\"example\":{\"address\":%llu,\"path\":",
		        (unsigned long long)r->d->hv.h.addr[s->example]);
		json_steps(w, ps, s->expath, s->nexpath);
		fputs("},\"next\":[", fp);
		for (int i = 0; i < 3; i++) {
			if (i)
				fputc(',', fp);
			jstr(w, s->next[i]);
		}
		fputs("]}", fp);
	}
	fprintf(fp, "%s],\n\"not_suspects\":{\"warm-up\":%lu,\"static\":%lu}", r->nsus ? "\n" : "",
	        r->warmup, r->statics);
	if (with_tree) {
		fputs(",\n\"tree\":", fp);
		int rc = tree_json(w, r->d, ps);
		if (rc)
			return rc;
	}
	fputs("}\n", fp);
	return w->bad ? -1 : 0;
}

/* "module app (sys.modules) .APP -> app.App .chain -> ... -> 12000 x app.Ticket" */
static void path_line(FILE *fp, const struct step *st, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(sep, fp);
		if (st[i].objects > 1)
			fprintf(fp, "%lld \u00d7 ", st[i].objects);
		fputs(st[i].name, fp);
		if (i == 0 && st[i].root[0])
			fprintf(fp, " %s", st[i].root);
		if (i + 1 < n && st[i + 1].label[0])
			fprintf(fp, " %s", st[i + 1].label);
	}
}

static void write_csv(struct report *r)
{
	int k = r->k;
	fputs("rank,type,trend,count", stdout);
	for (int i = 0; i < k; i++)
		printf(",count_%d", i + 1);
	fputs(",growth_per_step,bytes,retained,at_stake,share_dump,share_rss,holder_address,"
	      "holder_type,holder_length,example_address,path\r\n",
	      stdout);
	const struct dump_info *last = &r->dumps[k - 1];
	for (size_t j = 0; j < r->nsus; j++) {
		struct suspect *s = &r->sus[j];
		const char *type = heap_view_type(&r->d->hv, s->example);
		printf("%zu,", j + 1);
		out_csv_field(stdout, type, strlen(type));
		printf(",%s,%u", trend_name[s->trend], s_count(r, s, k - 1));
		for (int i = 0; i < k; i++)
			printf(",%u", s_count(r, s, i));
		putchar(',');
		if (k > 1)
			printf("%.1f", growth_per_step(r, s));
		printf(",%llu,%llu,%lld,%.4f,", (unsigned long long)s_bytes(r, s, k - 1),
		       (unsigned long long)s_retained(r, s, k - 1), (long long)s->at_stake,
		       share(s_retained(r, s, k - 1), last->size));
		if (last->rss)
			printf("%.4f", share(s_retained(r, s, k - 1), (uint64_t)last->rss));
		putchar(',');
		if (s->holder != HEAP_NONE) {
			int bad = 0;
			const char *ht = heap_view_type(&r->d->hv, s->holder);
			long long len = holder_length(r->d, s->holder, &bad);
			printf("%llu,", (unsigned long long)r->d->hv.h.addr[s->holder]);
			out_csv_field(stdout, ht, strlen(ht));
			putchar(',');
			if (len >= 0)
				printf("%lld", len);
		} else {
			fputs(",,", stdout);
		}
		printf(",%llu,", (unsigned long long)r->d->hv.h.addr[s->example]);
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		if (mem) {
			path_line(mem, s->path, s->npath, " -> ");
			fclose(mem);
			out_csv_field(stdout, buf, len);
		}
		free(buf);
		fputs("\r\n", stdout);
	}
}

static void write_table(struct report *r)
{
	int k = r->k;
	char a[16], b[16], c[16];
	const struct dump_info *last = &r->dumps[k - 1];
	char pidtext[48] = "";
	if (last->pid >= 0)
		snprintf(pidtext, sizeof pidtext, " of process %lld", last->pid);
	if (k == 1)
		printf("leaks: one dump%s: where the memory accumulates (dumps taken as it grows"
		       "\nwould show what leaks)\n",
		       pidtext);
	else {
		double span = last->time - r->dumps[0].time;
		printf("leaks: %d dumps%s, oldest first", k, pidtext);
		if (isfinite(span) && span >= 1.0)
			printf(", over %.0f s", span);
		putchar('\n');
	}
	for (int i = 0; i < k; i++) {
		const struct dump_info *di = &r->dumps[i];
		printf("  dump %d: %s, %llu objects, %s", i + 1, di->path,
		       (unsigned long long)di->objects,
		       out_human_size((int64_t)di->size, a, sizeof a));
		if (di->rss)
			printf(", RSS %s", out_human_size(di->rss, b, sizeof b));
		putchar('\n');
	}
	if (k > 1)
		printf("%zu suspect%s; not suspects: %lu group%s grew then stayed flat (warm-up),"
		       " %lu large group%s stayed the same (static)\n",
		       r->nsus, r->nsus == 1 ? "" : "s", r->warmup, r->warmup == 1 ? "" : "s",
		       r->statics, r->statics == 1 ? "" : "s");
	if (k == 2 && r->nsus)
		puts("With two dumps the trend is unknown: a third dump would tell steady growth"
		     "\nfrom warm-up.");
	if (!r->nsus)
		puts(k > 1 ? "Nothing grew from the first dump to the last."
		           : "No object retains a sizeable share of the dump.");
	for (size_t j = 0; j < r->nsus; j++) {
		struct suspect *s = &r->sus[j];
		const char *type = heap_view_type(&r->d->hv, s->example);
		uint64_t ret = s_retained(r, s, k - 1);
		printf("\n#%zu %s", j + 1, type);
		if (k > 1) {
			printf(", %s:", trend_name[s->trend]);
			for (int i = 0; i < k; i++)
				printf("%s%u", i ? " -> " : " ", s_count(r, s, i));
			double gps = growth_per_step(r, s);
			printf(gps == floor(gps) ? " objects (%+.0f per step)\n"
			                         : " objects (%+.1f per step)\n",
			       gps);
		} else {
			putchar('\n');
		}
		printf("   what     %u object%s, own %s, retained %s: %.1f%% of the dump",
		       s_count(r, s, k - 1), s_count(r, s, k - 1) == 1 ? "" : "s",
		       out_human_size((int64_t)s_bytes(r, s, k - 1), a, sizeof a),
		       out_human_size((int64_t)ret, b, sizeof b), 100.0 * share(ret, last->size));
		if (last->rss)
			printf(", %.1f%% of RSS", 100.0 * share(ret, (uint64_t)last->rss));
		putchar('\n');
		if (k > 1)
			printf("            %s more retained than in dump 1\n",
			       out_human_size(s->at_stake, c, sizeof c));
		if (s->also)
			printf("            and %u objects of other types under the same holder\n",
			       s->also);
		for (size_t i = 0; i < s->npath; i++) {
			const struct step *st = &s->path[i];
			printf("   %-8s %s", i ? "" : "where", i ? "-> " : "");
			if (st->objects > 1)
				printf("%lld \u00d7 ", st->objects);
			fputs(st->name, stdout);
			if (st->root[0])
				printf(" %s", st->root);
			if (i + 1 < s->npath && s->path[i + 1].label[0])
				printf(" %s", s->path[i + 1].label);
			if (s->holder != HEAP_NONE && st->has_address &&
			    st->address == r->d->hv.h.addr[s->holder]) {
				int bad = 0;
				long long len = holder_length(r->d, s->holder, &bad);
				printf("   <- holder at 0x%llx", (unsigned long long)st->address);
				if (len >= 0)
					printf(", %lld items", len);
			}
			putchar('\n');
		}
		const struct step *ex = s->nexpath ? &s->expath[s->nexpath - 1] : NULL;
		printf("   example  %s at 0x%llx", ex ? ex->name : type,
		       (unsigned long long)r->d->hv.h.addr[s->example]);
		if (ex && ex->label[0])
			printf(", held as %s", ex->label);
		putchar('\n');
		/* What one of them keeps alive, when one object does most of it (a
		 * bound method and the closed window it holds). */
		uint32_t nk;
		const uint32_t *kids = dom_children(&r->d->t, s->example, &nk);
		if (nk && 2 * r->d->t.retained[kids[0]] >= r->d->t.retained[s->example] &&
		    r->d->hv.h.type[kids[0]] != r->d->hv.h.type[s->example])
			printf("            it keeps alive a %s at 0x%llx (%s)\n",
			       heap_view_type(&r->d->hv, kids[0]),
			       (unsigned long long)r->d->hv.h.addr[kids[0]],
			       out_human_size((int64_t)r->d->t.retained[kids[0]], a, sizeof a));
		for (int i = 0; i < 3; i++)
			printf("   %-8s %s\n", i ? "" : "next", s->next[i]);
	}
}

/* Writes the HTML page to path atomically: a temporary file in the same
 * directory (mode 0600), fsync, rename. */
static int write_html(const char *path, const char *json, size_t len)
{
	struct db_error err;
	char tmp[4096 + 64];
	memset(&err, 0, sizeof err);
	if (dbfile_create_temp(path, tmp, sizeof tmp, &err) < 0) {
		cli_error(path, "%s", err.msg);
		return CLI_RUNTIME;
	}
	FILE *fp = fopen(tmp, "w");
	int ok = fp && report_html_write(fp, json, len) == 0 && fflush(fp) == 0 &&
	         fsync(fileno(fp)) == 0;
	int e = errno;
	if (fp && fclose(fp) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok || rename(tmp, path) < 0) {
		if (ok)
			e = errno;
		dbfile_abort(tmp);
		cli_error(path, "cannot write the HTML report: %s", strerror(e));
		return CLI_RUNTIME;
	}
	dbfile_abort(tmp); /* disarms the cleanup; the name is gone already */
	return 0;
}

/* Marks which groups grew in count, from the newest dump's point of view. */
static int classify(struct report *r, struct dump_state *d, uint8_t *suspect_group,
                    uint8_t *count_grew, enum trend *trend, int64_t *stake)
{
	int k = r->k;
	uint64_t total = r->dumps[k - 1].size;
	for (uint32_t q = 0; q < d->g.ngroups; q++) {
		size_t row = series_find(r->ser, d->g.sig[q]);
		trend[q] = T_NONE;
		if (row == SIZE_MAX)
			continue;
		const uint32_t *c = r->ser->count + row * (size_t)k;
		const uint64_t *ret = r->ser->retained + row * (size_t)k;
		stake[q] = (int64_t)ret[k - 1] - (int64_t)ret[0];
		count_grew[q] = c[k - 1] > c[0];
		if (!(c[k - 1] > c[0] || ret[k - 1] > ret[0])) {
			int same = 1;
			for (int i = 1; i < k; i++)
				same &= c[i] == c[0] && ret[i] == ret[0];
			if (same && (double)ret[k - 1] >= STATIC_SHARE * (double)total) {
				trend[q] = T_STATIC;
				r->statics++;
			}
			continue;
		}
		int every = 1, last_grew = 0;
		for (int i = 0; i + 1 < k; i++) {
			int grew = c[i + 1] > c[i] || (c[i + 1] >= c[i] && ret[i + 1] > ret[i]);
			every &= grew;
			last_grew = grew;
		}
		if (k == 2)
			trend[q] = T_UNKNOWN;
		else if (every)
			trend[q] = T_STEADY;
		else if (!last_grew)
			trend[q] = T_WARMUP;
		else
			trend[q] = T_UNKNOWN;
		if (trend[q] == T_WARMUP)
			r->warmup++;
		else
			suspect_group[q] = 1;
	}
	return 0;
}

/* One dump: where the memory accumulates. From each accumulation point
 * (graph_dom.h) retaining SINGLE_SHARE of the dump or more (the first one
 * always), the groups of its dominator-tree children that together retain
 * that share are suspects; a group where one child with children of its own
 * retains most (80%) is descended into instead, through that child (module
 * app's dict -> STATIC -> its 2000 bytes objects), so a suspect is a group
 * of many objects where it can be. When no single object retains that
 * share, the groups of several objects that do are the suspects.
 * Work: the children of the nodes descended through. */
static int single_suspects(struct dump_state *d, long long limit, uint8_t *suspect_group,
                           enum trend *trend, int64_t *stake)
{
	static const uint32_t from[1] = {DOM_SUPER};
	const struct dom_tree *t = &d->t;
	uint32_t ng = d->g.ngroups, np = 0;
	uint32_t cap = limit > 0 && limit < 1000 ? 4 * (uint32_t)limit : 4000;
	double min = SINGLE_SHARE * (double)(t->super_total + t->garbage_total);
	uint32_t *pts = malloc((size_t)cap * sizeof *pts);
	uint64_t *acc = calloc((size_t)ng + 1, sizeof *acc);
	uint32_t *cnt = calloc((size_t)ng + 1, sizeof *cnt);
	uint32_t *one = malloc(((size_t)ng + 1) * sizeof *one);
	uint32_t *work = NULL;
	size_t nwork = 0, wcap = 0;
	int rc = -1;
	if (!pts || !acc || !cnt || !one ||
	    dom_accumulation_points(t, from, 1, DOM_DEFAULT_THRESHOLD, cap, pts, &np) == -1)
		goto out;
	for (uint32_t i = 0; i < np; i++) {
		if ((double)t->retained[pts[i]] < min && i > 0)
			break;
		nwork = 0;
		if (nwork == wcap) {
			wcap = wcap ? 2 * wcap : 64;
			uint32_t *q = realloc(work, wcap * sizeof *q);
			if (!q)
				goto out;
			work = q;
		}
		work[nwork++] = pts[i];
		while (nwork) {
			uint32_t p = work[--nwork], nk, found = 0, best = d->g.group[p];
			uint64_t top = 0;
			const uint32_t *kids = dom_children(t, p, &nk);
			for (uint32_t j = 0; j < nk; j++) {
				uint32_t q = d->g.group[kids[j]];
				if (q == HEAP_NONE)
					continue;
				acc[q] += t->retained[kids[j]];
				if (!cnt[q]++ || t->retained[kids[j]] > t->retained[one[q]])
					one[q] = kids[j];
			}
			for (uint32_t j = 0; j < nk; j++) {
				uint32_t q = d->g.group[kids[j]], kc;
				if (q == HEAP_NONE || !cnt[q])
					continue;
				if (acc[q] > top) {
					top = acc[q];
					best = q;
				}
				if ((double)acc[q] >= min) {
					found = 1;
					dom_children(t, one[q], &kc);
					if (kc && (double)t->retained[one[q]] >=
					                  DOM_DEFAULT_THRESHOLD * (double)acc[q]) {
						if (nwork == wcap) {
							wcap = 2 * wcap;
							uint32_t *w =
							        realloc(work, wcap * sizeof *w);
							if (!w)
								goto out;
							work = w;
						}
						work[nwork++] = one[q];
					} else if (!suspect_group[q]) {
						suspect_group[q] = 1;
					}
				}
				cnt[q] = 0; /* each group once */
			}
			for (uint32_t j = 0; j < nk; j++)
				if (d->g.group[kids[j]] != HEAP_NONE)
					acc[d->g.group[kids[j]]] = 0;
			if (!found && best != HEAP_NONE)
				suspect_group[best] = 1;
		}
	}
	/* No object holds that share (the memory is spread over many objects
	 * that no one of them dominates): the groups of two objects or more
	 * that hold it together. */
	if (np && (double)t->retained[pts[0]] < min) {
		memset(suspect_group, 0, ng);
		for (uint32_t q = 0; q < ng; q++)
			if (d->g.count[q] > 1 && (double)d->g.retained[q] >= min)
				suspect_group[q] = 1;
	}
	for (uint32_t q = 0; q < ng; q++)
		if (suspect_group[q]) {
			trend[q] = T_SINGLE;
			stake[q] = (int64_t)d->g.retained[q];
		}
	rc = 0;
out:
	free(pts);
	free(acc);
	free(cnt);
	free(one);
	free(work);
	return rc;
}

int cmd_leaks(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'f'}, {"limit", required_argument, NULL, 'l'},
	        {"html", required_argument, NULL, 'H'},   {"force", no_argument, NULL, 'F'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	enum out_format fmt = OUT_TABLE;
	long long limit = 10;
	const char *html = NULL;
	int force = 0, c, rc;
	leak_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (!*optarg)
				return cli_usage_error("--html: empty path");
			html = optarg;
			break;
		case 'F':
			force = 1;
			break;
		default:
			if ((rc = cli_common_option(c, argv, usage, &fmt, &limit)) != CLI_MORE)
				return rc;
			break;
		}
	}
	int k = argc - optind;
	if (k < 1)
		return cli_usage_error("expected at least one DUMP");
	char **paths = argv + optind;
	struct dump_info *dumps = calloc((size_t)k, sizeof *dumps);
	sqlite3 **dbs = calloc((size_t)k, sizeof *dbs);
	struct series ser = {k, 0, 0, 0, NULL, NULL, NULL, NULL, NULL};
	struct dump_state d;
	struct suspect *sus = NULL;
	size_t nsus = 0;
	uint8_t *suspect_group = NULL, *count_grew = NULL, *mark = NULL, *below = NULL;
	enum trend *trend = NULL;
	int64_t *stake = NULL;
	uint32_t *up = NULL;
	memset(&d, 0, sizeof d);
	rc = CLI_RUNTIME;
	if (!dumps || !dbs) {
		cli_error(NULL, "out of memory");
		goto out;
	}
	/* Every input loaded first (two at a time), and checked to be one
	 * process's series, oldest first, before any heap is read (a dump
	 * without pid or time cannot be checked for it). */
	if ((rc = leak_open_many(paths, k, dbs)))
		goto out;
	for (int i = 0; i < k; i++) {
		dumps[i].path = paths[i];
		if (read_meta(dbs[i], &dumps[i]) < 0) {
			rc = cli_sqlite_error(dbs[i], paths[i], "leaks");
			goto out;
		}
		sqlite3_close(dbs[i]);
		dbs[i] = NULL;
	}
	for (int i = 1; i < k && !force; i++) {
		if (dumps[i].pid != dumps[0].pid && dumps[i].pid >= 0 && dumps[0].pid >= 0) {
			cli_error(paths[i],
			          "dump of process %lld, and %s of process %lld: leaks compares"
			          " dumps of one process (--force compares them anyway)",
			          dumps[i].pid, paths[0], dumps[0].pid);
			rc = CLI_BAD_INPUT;
			goto out;
		}
		if (dumps[i].time < dumps[i - 1].time) {
			cli_error(paths[i],
			          "taken before %s: give the dumps oldest first (--force takes"
			          " them in this order)",
			          paths[i - 1]);
			rc = CLI_BAD_INPUT;
			goto out;
		}
	}
	struct cli_progress pr;
	for (int i = 0; i < k; i++) {
		cli_progress_begin(&pr, paths[i]);
		rc = dump_open(&d, paths[i], &dumps[i], &pr);
		if (!rc && k > 1 && series_add(&ser, i, &d.g) < 0) {
			cli_error(paths[i], "leaks: out of memory");
			rc = CLI_RUNTIME;
		}
		cli_progress_end(&pr);
		if (rc)
			goto out;
		if (i + 1 < k)
			dump_close(&d);
	}
	cli_progress_begin(&pr, paths[k - 1]);
	cli_progress_step(&pr, "finding the suspects");
	const struct heap *h = &d.hv.h;
	uint32_t ng = d.g.ngroups;
	struct report r = {k, dumps, &ser, &d, NULL, 0, 0, 0};
	suspect_group = calloc((size_t)ng + 1, 1);
	count_grew = calloc((size_t)ng + 1, 1);
	trend = calloc((size_t)ng + 1, sizeof *trend);
	stake = calloc((size_t)ng + 1, sizeof *stake);
	mark = calloc(((size_t)h->n + 8) / 8, 1);
	below = calloc(((size_t)h->n + 8) / 8, 1);
	up = malloc(((size_t)h->n + 1) * sizeof *up);
	if (!suspect_group || !count_grew || !trend || !stake || !mark || !below || !up)
		goto oom;
	if (k > 1) {
		classify(&r, &d, suspect_group, count_grew, trend, stake);
		/* A group whose count did not grow but whose retained size did is
		 * a container of the growth when a group below it grew in count:
		 * that group is the suspect, this one its holder or path. */
		for (uint32_t i = d.g.nreached; i-- > 0;) {
			uint32_t v = d.g.order[i], p = d.g.parent[v];
			if (p != HEAP_NONE && (MARKED_BIT(below, v) || count_grew[d.g.group[v]]))
				SET_BIT(below, p);
		}
		for (uint32_t i = 0; i < d.g.nreached; i++) {
			uint32_t v = d.g.order[i];
			if (suspect_group[d.g.group[v]] && !count_grew[d.g.group[v]] &&
			    MARKED_BIT(below, v))
				suspect_group[d.g.group[v]] = 0;
		}
	} else {
		if (single_suspects(&d, limit, suspect_group, trend, stake) < 0)
			goto oom;
	}
	/* A suspect under another suspect's objects (its path extends the
	 * other's) is part of that one: the outermost suspect above each
	 * object, in breadth-first order. */
	for (uint32_t i = 0; i < d.g.nreached; i++) {
		uint32_t v = d.g.order[i], p = d.g.parent[v];
		up[v] = HEAP_NONE;
		if (p == HEAP_NONE)
			continue;
		if (up[p] != HEAP_NONE)
			up[v] = up[p];
		else if (suspect_group[d.g.group[p]] && d.g.group[p] != d.g.group[v])
			up[v] = d.g.group[p];
	}
	for (uint32_t q = 0; q < ng; q++)
		if (suspect_group[q] && up[d.g.example[q]] == HEAP_NONE)
			nsus++;
	sus = calloc(nsus + 1, sizeof *sus);
	if (!sus)
		goto oom;
	nsus = 0;
	for (uint32_t q = 0; q < ng; q++)
		if (suspect_group[q] && up[d.g.example[q]] == HEAP_NONE)
			sus[nsus++] = (struct suspect){
			        q,         k > 1 ? series_find(&ser, d.g.sig[q]) : SIZE_MAX,
			        trend[q],  stake[q],
			        HEAP_NONE, d.g.example[q],
			        NULL,      NULL,
			        0,         0,
			        0,         {NULL, NULL, NULL}};
	sort_series = &ser;
	sort_groups = &d.g;
	qsort(sus, nsus, sizeof *sus, by_stake);
	/* The listed suspects: paths, holders, examples; one with the holder of
	 * a suspect ranked above it is folded into that one. */
	struct pathstep ps;
	char prog[PATH_MAX];
	program_name(prog, sizeof prog);
	if (pathstep_init(&ps, &d.hv) < 0) {
		rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		goto out;
	}
	/* up[] is free again: it maps a holder to the listed suspect that has
	 * it. Past --limit only the holders are found, to fold into the listed. */
	uint32_t *moff = NULL, *mem = NULL;
	if (leak_groups_members(&d.g, &moff, &mem) < 0) {
		pathstep_release(&ps);
		goto oom;
	}
	for (uint32_t v = 0; v < h->n; v++)
		up[v] = HEAP_NONE;
	size_t kept = 0;
	int err = 0;
	for (size_t j = 0; j < nsus && !err; j++) {
		struct suspect *s = &sus[j];
		struct leak_level *lv = NULL;
		uint32_t nlv = 0;
		if (leak_groups_path(&d.g, s->group, moff, mem, mark, &lv, &nlv) < 0) {
			err = -2;
			break;
		}
		s->holder = holder_of(lv, nlv);
		if (s->holder != HEAP_NONE && up[s->holder] != HEAP_NONE) {
			sus[up[s->holder]].also += d.g.count[s->group];
			suspect_release(s);
		} else if (limit > 0 && kept == (size_t)limit) {
			suspect_release(s);
		} else if ((err = shared_path(&d, &ps, lv, nlv, s)) == 0 &&
		           (err = example_path(&d, &ps, s)) == 0 &&
		           (err = next_commands(&d, prog, paths[k - 1], s) ? -2 : 0) == 0) {
			if (s->holder != HEAP_NONE)
				up[s->holder] = (uint32_t)kept;
			if (kept != j) {
				sus[kept] = *s;
				memset(s, 0, sizeof *s);
			}
			kept++;
		}
		free(lv);
	}
	free(moff);
	free(mem);
	if (err) {
		for (size_t j = 0; j < nsus; j++)
			suspect_release(&sus[j]);
		nsus = 0;
		pathstep_release(&ps);
		if (err == -2)
			goto oom;
		rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		goto out;
	}
	for (size_t j = kept; j < nsus; j++)
		memset(&sus[j], 0, sizeof sus[j]);
	nsus = kept;
	r.sus = sus;
	r.nsus = nsus;
	cli_progress_end(&pr);
	struct jw w = {stdout, NULL, 0};
	if (sqlite3_prepare_v2(d.hv.db, "SELECT json_quote(?1)", -1, &w.q, NULL)) {
		pathstep_release(&ps);
		rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		goto out;
	}
	rc = 0;
	if (html) {
		char *buf = NULL;
		size_t len = 0;
		struct jw hw = {open_memstream(&buf, &len), w.q, 0};
		int jr = hw.fp ? write_json(&r, &hw, &ps, 1) : -2;
		if (hw.fp)
			fclose(hw.fp);
		if (jr == 0)
			rc = write_html(html, buf, len);
		else if (jr == -2)
			cli_error(paths[k - 1], "leaks: out of memory"), rc = CLI_RUNTIME;
		else
			rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		free(buf);
	}
	if (!rc) {
		if (fmt == OUT_JSON) {
			if (write_json(&r, &w, &ps, 0) < 0)
				rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		} else if (fmt == OUT_CSV) {
			write_csv(&r);
		} else {
			write_table(&r);
			if (html)
				printf("\nHTML report: %s\n", html);
		}
	}
	sqlite3_finalize(w.q);
	pathstep_release(&ps);
	goto out;
oom:
	cli_error(paths[k - 1], "leaks: out of memory");
	rc = CLI_RUNTIME;
out:
	if (sus)
		for (size_t j = 0; j < nsus; j++)
			suspect_release(&sus[j]);
	free(sus);
	free(suspect_group);
	free(count_grew);
	free(trend);
	free(stake);
	free(mark);
	free(below);
	free(up);
	dump_close(&d);
	series_release(&ser);
	if (dbs)
		for (int i = 0; i < k; i++)
			sqlite3_close(dbs[i]);
	free(dbs);
	free(dumps);
	return rc;
}
