/* pathfmt.c — names path steps, reference labels and root reasons from what
 * the dump recorded (see pathfmt.h). Pure string work: no SQLite, no I/O,
 * no allocation; every output is cut to the caller's buffer. */
#include "pathfmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pymple_format.h"

/* snprintf that never fails the caller: buf always ends up NUL-terminated. */
static char *fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static char *fmt(char *buf, size_t n, const char *f, ...)
{
	va_list ap;
	if (!n)
		return buf;
	va_start(ap, f);
	if (vsnprintf(buf, n, f, ap) < 0)
		buf[0] = 0;
	va_end(ap);
	return buf;
}

/* The first word of a "qualname file:line" value and the place after it:
 * w and wn the name, file and fn the file's base name, line and ln the
 * line. 0 if the value does not have that shape. */
static int where(const char *v, const char **w, int *wn, const char **file, int *fn,
                 const char **line, int *ln)
{
	const char *sp = strchr(v, ' '), *colon = strrchr(v, ':');
	if (!sp || !colon || colon < sp)
		return 0;
	*w = v;
	*wn = (int)(sp - v);
	const char *f = sp + 1, *slash = NULL;
	for (const char *p = f; p < colon; p++)
		if (*p == '/')
			slash = p;
	if (slash)
		f = slash + 1;
	*file = f;
	*fn = (int)(colon - f);
	*line = colon + 1;
	*ln = (int)strlen(colon + 1);
	return 1;
}

static int is_scalar(const char *t)
{
	return !strcmp(t, "int") || !strcmp(t, "float") || !strcmp(t, "bool") ||
	       !strcmp(t, "NoneType");
}

/* The last dotted component of a type name: "app.models.Token" -> "Token". */
static const char *short_type(const char *t)
{
	const char *d = strrchr(t, '.');
	return d ? d + 1 : t;
}

/* 'text' as Python would quote it, cut at max characters ("..." after). */
static size_t quote(const char *s, size_t max, char *buf, size_t n)
{
	size_t o = 0, i = 0;
	if (n < 8)
		return 0;
	buf[o++] = '\'';
	for (; i < max && s[i] && o + 6 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\'' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (s[i] && o + 4 < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = 0;
	return o;
}

char *pathfmt_object(const struct pathfmt_obj *o, char *buf, size_t n)
{
	const char *t = o->type ? o->type : "?", *v = o->value;
	const char *w, *file, *line;
	int wn, fnl, ln;
	if (o->name && o->name_kind == PYM_NAME_CELL && !strcmp(t, "cell"))
		return fmt(buf, n, "cell %s", o->name);
	if (o->name && o->name_kind == PYM_NAME_GLOBALS)
		return fmt(buf, n, "module %s", o->name);
	if (!v)
		return fmt(buf, n, "%s", t);
	if (!strcmp(t, "type") || !strcmp(t, "abc.ABCMeta") || !strcmp(t, "enum.EnumType") ||
	    !strcmp(t, "enum.EnumMeta"))
		return fmt(buf, n, "type %s", strncmp(v, "__main__.", 9) ? v : v + 9);
	if (!strcmp(t, "module"))
		return fmt(buf, n, "module %s", v);
	if (!strcmp(t, "<thread>")) {
		/* "thread <ident> [<name>] [(main)]" */
		const char *p = strchr(v, ' ');
		const char *q = p ? strchr(p + 1, ' ') : NULL;
		if (q && strcmp(q, " (main)") != 0) {
			const char *e = strstr(q + 1, " (main)");
			return fmt(buf, n, "thread %.*s", e ? (int)(e - q - 1) : (int)strlen(q + 1),
			           q + 1);
		}
		return fmt(buf, n, "%s", v);
	}
	if (!strcmp(t, "frame") || !strcmp(t, "<frame>")) {
		if (where(v, &w, &wn, &file, &fnl, &line, &ln))
			return fmt(buf, n, "frame %.*s (%.*s:%.*s)", wn, w, fnl, file, ln, line);
		return fmt(buf, n, "frame %s", v);
	}
	if (!strcmp(t, "function") || !strcmp(t, "method") || !strcmp(t, "code")) {
		if (where(v, &w, &wn, &file, &fnl, &line, &ln))
			return fmt(buf, n, "%s %.*s", t, wn, w);
		return fmt(buf, n, "%s %s", t, v);
	}
	if (!strcmp(t, "builtin_function_or_method"))
		return fmt(buf, n, "builtin %s", v);
	if (!strcmp(t, "str")) {
		char q[160];
		quote(v, 40, q, sizeof q);
		return fmt(buf, n, "str %s", q);
	}
	if (is_scalar(t))
		return fmt(buf, n, "%s %s", t, v);
	return fmt(buf, n, "%s", t);
}

static size_t scalar_repr(const struct pathfmt_obj *o, char *buf, size_t n)
{
	const char *t = o->type ? o->type : "?";
	if (!strcmp(t, "str") && o->value)
		return quote(o->value, 40, buf, n);
	if (o->value && is_scalar(t))
		return (size_t)snprintf(buf, n, "%s", o->value);
	return (size_t)snprintf(buf, n, "<%s>", short_type(t));
}

char *pathfmt_key(const struct pathfmt_obj *key, const struct pathfmt_obj *items, size_t n_items,
                  char *buf, size_t n)
{
	if (!n)
		return buf;
	buf[0] = 0;
	if (!key->type || strcmp(key->type, "tuple") != 0 || !n_items) {
		scalar_repr(key, buf, n);
		return buf;
	}
	size_t o = 0;
	buf[o++] = '(';
	for (size_t i = 0; i < n_items && o + 8 < n; i++) {
		if (i) {
			buf[o++] = ',';
			buf[o++] = ' ';
		}
		size_t k = scalar_repr(&items[i], buf + o, n - o - 4);
		o += k < n - o - 4 ? k : n - o - 5;
	}
	if (n_items == 1 && o + 3 < n)
		buf[o++] = ',';
	if (o + 2 <= n) {
		buf[o++] = ')';
		buf[o] = 0;
	} else {
		buf[n - 1] = 0;
	}
	return buf;
}

char *pathfmt_edge(int kind, int64_t label, const char *text, const char *key_repr, int is_key,
                   char *buf, size_t n)
{
	char q[160];
	switch (kind) {
	case PYM_LABEL_INDEX:
		return fmt(buf, n, "[%lld]", (long long)label);
	case PYM_LABEL_KEY:
		quote(text ? text : "", 60, q, sizeof q);
		return fmt(buf, n, "[%s]", q);
	case PYM_LABEL_ATTR:
		return fmt(buf, n, ".%s", text ? text : "?");
	case PYM_LABEL_WEAK:
		return fmt(buf, n, "(weak)");
	default:
		if (key_repr)
			return is_key ? fmt(buf, n, "key %s", key_repr)
			              : fmt(buf, n, "[%s]", key_repr);
		return fmt(buf, n, "%s", "");
	}
}

char *pathfmt_root_reason(int root_kind, const char *root_name, int in_modules, int64_t refcount,
                          int64_t refs_seen, char *buf, size_t n)
{
	switch (root_kind) {
	case PYM_ROOT_MODULES:
		return fmt(buf, n, "(sys.modules)");
	case PYM_ROOT_BUILTINS:
		return fmt(buf, n, "(builtins)");
	case PYM_ROOT_SYSDICT:
		return fmt(buf, n, "(sys)");
	case PYM_ROOT_INTERNED:
		return fmt(buf, n, "(interned strings)");
	case PYM_ROOT_INTERP:
		return fmt(buf, n, "(interpreter: %s)", root_name ? root_name : "?");
	default:
		break;
	}
	if (in_modules)
		return fmt(buf, n, "(sys.modules)");
	if (refcount > refs_seen)
		return fmt(buf, n, "(held by native code: refcount %lld, %lld reference%s seen)",
		           (long long)refcount, (long long)refs_seen, refs_seen == 1 ? "" : "s");
	return fmt(buf, n, "%s", "");
}
