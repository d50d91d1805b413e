/* leak_report.c — the writers of `leaks` (leak_report.h): table, CSV, JSON
 * (through SQLite's json_quote and pathstep_json, no hand-written escaping)
 * and the aggregated dominator tree of the HTML page, built breadth-first
 * and written with an explicit stack. Reads; never changes the report. */
#include "leak_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define TREE_SHARE 0.001 /* --html tree: smaller children are merged */
#define TREE_NODES 3000

static const char *const trend_names[] = {"steady", "unknown", "single", "warm-up", "static"};

const char *leak_trend_name(enum leak_trend t)
{
	return t <= LEAK_STATIC ? trend_names[t] : "?";
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
static void json_steps(struct jw *w, struct pathstep *ps, const struct leak_step *st, size_t n)
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

static uint32_t s_count(const struct leak_report *r, const struct leak_suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.count[s->group]
	                          : r->ser->count[s->row * (size_t)r->k + (size_t)i];
}
static uint64_t s_bytes(const struct leak_report *r, const struct leak_suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.bytes[s->group]
	                          : r->ser->bytes[s->row * (size_t)r->k + (size_t)i];
}
static uint64_t s_retained(const struct leak_report *r, const struct leak_suspect *s, int i)
{
	return s->row == SIZE_MAX ? r->d->g.retained[s->group]
	                          : r->ser->retained[s->row * (size_t)r->k + (size_t)i];
}
static double growth_per_step(const struct leak_report *r, const struct leak_suspect *s)
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
static long long holder_length(struct leak_state *d, uint32_t v, int *bad)
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

static int tree_json(struct jw *w, struct leak_state *d, struct pathstep *ps)
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

static int json_doc(const struct leak_report *r, struct jw *w, struct pathstep *ps, int with_tree)
{
	FILE *fp = w->fp;
	int k = r->k;
	fputs("{\"version\":1,\"dumps\":[", fp);
	for (int i = 0; i < k; i++) {
		const struct leak_dump *di = &r->dumps[i];
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
	const struct leak_dump *last = &r->dumps[k - 1];
	for (size_t j = 0; j < r->nsus; j++) {
		struct leak_suspect *s = &r->sus[j];
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
		fprintf(fp, ",\"trend\":\"%s\",\"path\":", leak_trend_name(s->trend));
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
	fprintf(fp, "%s],\n\"not_suspects\":{\"warm-up\":%lu,\"static\":%lu,\"small\":%lu}",
	        r->nsus ? "\n" : "", r->warmup, r->statics, r->small);
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
static void path_line(FILE *fp, const struct leak_step *st, size_t n, const char *sep)
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

void leak_report_csv(const struct leak_report *r)
{
	int k = r->k;
	fputs("rank,type,trend,count", stdout);
	for (int i = 0; i < k; i++)
		printf(",count_%d", i + 1);
	fputs(",growth_per_step,bytes,retained,at_stake,share_dump,share_rss,holder_address,"
	      "holder_type,holder_length,example_address,path\r\n",
	      stdout);
	const struct leak_dump *last = &r->dumps[k - 1];
	for (size_t j = 0; j < r->nsus; j++) {
		struct leak_suspect *s = &r->sus[j];
		const char *type = heap_view_type(&r->d->hv, s->example);
		printf("%zu,", j + 1);
		out_csv_field(stdout, type, strlen(type));
		printf(",%s,%u", leak_trend_name(s->trend), s_count(r, s, k - 1));
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

void leak_report_table(const struct leak_report *r)
{
	int k = r->k;
	char a[16], b[16], c[16];
	const struct leak_dump *last = &r->dumps[k - 1];
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
		const struct leak_dump *di = &r->dumps[i];
		printf("  dump %d: %s, %llu objects, %s", i + 1, di->path,
		       (unsigned long long)di->objects,
		       out_human_size((int64_t)di->size, a, sizeof a));
		if (di->rss)
			printf(", RSS %s", out_human_size(di->rss, b, sizeof b));
		putchar('\n');
	}
	if (k > 1)
		printf("%zu suspect%s; not listed: %lu group%s that grew, then stayed flat "
		       "(warm-up),\n  %lu large constant group%s (static), %lu that grew by less "
		       "than 0.1%% of the dump (small)\n",
		       r->nsus, r->nsus == 1 ? "" : "s", r->warmup, r->warmup == 1 ? "" : "s",
		       r->statics, r->statics == 1 ? "" : "s", r->small);
	if (k == 2 && r->nsus)
		puts("With two dumps the trend is unknown: a third dump would tell steady growth"
		     "\nfrom warm-up.");
	if (!r->nsus)
		puts(k > 1 ? "Nothing grew from the first dump to the last."
		           : "No object retains a sizeable share of the dump.");
	for (size_t j = 0; j < r->nsus; j++) {
		struct leak_suspect *s = &r->sus[j];
		const char *type = heap_view_type(&r->d->hv, s->example);
		uint64_t ret = s_retained(r, s, k - 1);
		printf("\n#%zu %s", j + 1, type);
		if (k > 1) {
			printf(", %s:", leak_trend_name(s->trend));
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
			const struct leak_step *st = &s->path[i];
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
		const struct leak_step *ex = s->nexpath ? &s->expath[s->nexpath - 1] : NULL;
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

int leak_report_json(const struct leak_report *r, FILE *fp, struct pathstep *ps, int with_tree)
{
	struct jw w = {fp, NULL, 0};
	if (sqlite3_prepare_v2(r->d->hv.db, "SELECT json_quote(?1)", -1, &w.q, NULL))
		return -1;
	int rc = json_doc(r, &w, ps, with_tree);
	sqlite3_finalize(w.q);
	return rc;
}
