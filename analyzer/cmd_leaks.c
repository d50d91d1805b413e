/* cmd_leaks.c — `pymple-analyze leaks DUMP...`: is there a leak, what leaks,
 * where is it held. Groups every dump's objects by signature (leak_groups.h),
 * matches the groups across the series, ranks what grew (or, for one dump,
 * where the memory accumulates) and names each suspect's shared path, holder,
 * one example and the commands to run next; leak_report.c writes it out. One
 * dump's heap in memory at a time; SQL only for the words of lines printed. */
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
#include "leak_report.h"
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
        "steady (grew at every step: ranked first); warm-up (grew, then flat),",
        "static (large, constant) and small (grew by less than 0.1% of the dump)",
        "are counted but not listed. With one dump, suspects are where the memory",
        "accumulates (as in `top`), largest first.",
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

#define STATIC_SHARE     0.01  /* a constant group this big is "static" */
#define SMALL_SHARE      0.001 /* growth under this share of the dump is "small" */
#define SINGLE_SHARE     0.05  /* one dump: points retaining at least this */
#define MARKED_BIT(m, v) ((m)[(v) >> 3] & (1u << ((v)&7)))
#define SET_BIT(m, v)    ((m)[(v) >> 3] |= (uint8_t)(1u << ((v)&7)))

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

static size_t series_find(const struct leak_series *s, uint64_t sig)
{
	if (!s->scap)
		return SIZE_MAX;
	for (size_t i = mix64(sig) & (s->scap - 1); s->slot[i] != SIZE_MAX;
	     i = (i + 1) & (s->scap - 1))
		if (s->sig[s->slot[i]] == sig)
			return s->slot[i];
	return SIZE_MAX;
}

static int series_grow(struct leak_series *s)
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
static int series_add(struct leak_series *s, int i, const struct leak_groups *g)
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

static void series_release(struct leak_series *s)
{
	free(s->sig);
	free(s->count);
	free(s->bytes);
	free(s->retained);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* A module start's name, so that module app and module util differ. */
static uint64_t module_name_hash(void *ctx, uint32_t v)
{
	struct leak_state *d = ctx;
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

static void dump_close(struct leak_state *d)
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
static int dump_open(struct leak_state *d, const char *path, struct leak_dump *info,
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
static int read_meta(sqlite3 *db, struct leak_dump *info)
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

static void suspect_release(struct leak_suspect *s)
{
	free(s->path);
	free(s->expath);
	for (int i = 0; i < 3; i++)
		free(s->next[i]);
	memset(s, 0, sizeof *s);
}

static const struct leak_series *sort_series;
static const struct leak_groups *sort_groups;

static int by_stake(const void *a, const void *b)
{
	const struct leak_suspect *x = a, *y = b;
	if ((x->trend == LEAK_STEADY) != (y->trend == LEAK_STEADY))
		return x->trend == LEAK_STEADY ? -1 : 1;
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

static int push_step(struct leak_step **v, size_t *n, size_t *cap, struct leak_step **out)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct leak_step *q = realloc(*v, c * sizeof *q);
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
static int shared_path(struct leak_state *d, struct pathstep *ps, const struct leak_level *lv,
                       uint32_t nlv, struct leak_suspect *s)
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
		struct leak_step *st;
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
static int example_path(struct leak_state *d, struct pathstep *ps, struct leak_suspect *s)
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
		struct leak_step *st;
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
static int next_commands(struct leak_state *d, const char *prog, const char *file,
                         struct leak_suspect *s)
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
static int classify(struct leak_report *r, struct leak_state *d, uint8_t *suspect_group,
                    uint8_t *count_grew, enum leak_trend *trend, int64_t *stake)
{
	int k = r->k;
	uint64_t total = r->dumps[k - 1].size;
	for (uint32_t q = 0; q < d->g.ngroups; q++) {
		size_t row = series_find(r->ser, d->g.sig[q]);
		trend[q] = LEAK_NONE;
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
				trend[q] = LEAK_STATIC;
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
			trend[q] = LEAK_UNKNOWN;
		else if (every)
			trend[q] = LEAK_STEADY;
		else if (!last_grew)
			trend[q] = LEAK_WARMUP;
		else
			trend[q] = LEAK_UNKNOWN;
		if (trend[q] == LEAK_WARMUP) {
			r->warmup++;
		} else if ((double)(stake[q] > 0 ? stake[q] : 0) < SMALL_SHARE * (double)total) {
			trend[q] = LEAK_NONE; /* a frame's list of three ints */
			r->small++;
		} else {
			suspect_group[q] = 1;
		}
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
static int single_suspects(struct leak_state *d, long long limit, uint8_t *suspect_group,
                           enum leak_trend *trend, int64_t *stake)
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
			trend[q] = LEAK_SINGLE;
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
	struct leak_dump *dumps = calloc((size_t)k, sizeof *dumps);
	sqlite3 **dbs = calloc((size_t)k, sizeof *dbs);
	struct leak_series ser = {k, 0, 0, 0, NULL, NULL, NULL, NULL, NULL};
	struct leak_state d;
	struct leak_suspect *sus = NULL;
	size_t nsus = 0;
	uint8_t *suspect_group = NULL, *count_grew = NULL, *mark = NULL, *below = NULL;
	enum leak_trend *trend = NULL;
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
	struct leak_report r = {k, dumps, &ser, &d, NULL, 0, 0, 0, 0};
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
			sus[nsus++] = (struct leak_suspect){
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
		struct leak_suspect *s = &sus[j];
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
	rc = 0;
	if (html) {
		char *buf = NULL;
		size_t len = 0;
		FILE *doc = open_memstream(&buf, &len);
		int jr = doc ? leak_report_json(&r, doc, &ps, 1) : -2;
		if (doc && fclose(doc) != 0 && !jr)
			jr = -2;
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
			int jr = leak_report_json(&r, stdout, &ps, 0);
			if (jr == -2)
				cli_error(paths[k - 1], "leaks: out of memory"), rc = CLI_RUNTIME;
			else if (jr < 0)
				rc = cli_sqlite_error(d.hv.db, paths[k - 1], "leaks");
		} else if (fmt == OUT_CSV) {
			leak_report_csv(&r);
		} else {
			leak_report_table(&r);
			if (html)
				printf("\nHTML report: %s\n", html);
		}
	}
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
