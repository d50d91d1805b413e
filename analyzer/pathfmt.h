/* pathfmt.h — the words of a path step, as a reader of the code would say
 * them: an object ("type Dispatcher", "method Menu.on_close", "frame handle
 * (app.py:24)", "cell cap", "module __main__"), the label of a reference
 * ([7], ['k'], .attr, "key ('q1', <Token>)", [42]) and why a root is one.
 * Pure text over what the caller read from the dump: no SQLite, no I/O, no
 * allocation. Every function writes a NUL-terminated string into buf (cut
 * to n - 1 bytes) and returns buf. */
#ifndef PYMPLE_PATHFMT_H
#define PYMPLE_PATHFMT_H

#include <stddef.h>
#include <stdint.h>

/* One object as the dump tells it. */
struct pathfmt_obj {
	const char *type;  /* type name from the dump: "dict", "app.Session" */
	const char *value; /* value preview, NULL if none */
	const char *name;  /* the dump's NAME for it (names table), NULL if none */
	int name_kind;     /* PYM_NAME_* of name, 0 if none */
};

/* The object's name: "type Dispatcher" (a class of __main__ loses the
 * prefix; others keep module.qualname), "function handle", "method
 * Menu.on_close", "code handle", "frame handle (app.py:24)" (file's base
 * name and the line at dump time), "thread MainThread", "module app",
 * "cell cap" (closure cell by its free variable), "module __main__" (a
 * globals dict by its __name__), "str 'abc'", "int 42"; otherwise the type
 * name alone. */
char *pathfmt_object(const struct pathfmt_obj *o, char *buf, size_t n);

/* A short repr of a dict key for a label: 'text' for str (quoted as Python
 * would with single quotes, cut at 40 characters), the value of int, float,
 * bool and None, <Type> (the type's last dotted component) for anything
 * else. For a tuple, items (n_items of them, may be 0 when unknown) give
 * "('q1', <Token>)"; a tuple of one item gets its comma. */
char *pathfmt_key(const struct pathfmt_obj *key, const struct pathfmt_obj *items, size_t n_items,
                  char *buf, size_t n);

/* The label of a reference. kind/label/text as in ref_data (text: the
 * strings row of kinds 2 and 3). For a NONE reference of an object whose
 * references are (key, value) pairs (F_PAIRS): key_repr is pathfmt_key()
 * of the key, is_key says whether this reference is to the key itself
 * ("key ('q1', <Token>)") or to the value under it ("[42]"). key_repr NULL:
 * no label (""). */
char *pathfmt_edge(int kind, int64_t label, const char *text, const char *key_repr, int is_key,
                   char *buf, size_t n);

/* Why the object is a root, appended after its name on a path's first line:
 *   root_kind > 0 (a ROOT record's kind): "(sys.modules)", "(builtins)",
 *     "(sys)", "(interned strings)", "(interpreter: <root_name>)";
 *   in_modules: a module sys.modules holds: "(sys.modules)";
 *   thread != NULL: a running frame: "thread <thread>" is put BEFORE the
 *     name by the caller; here "" ;
 *   otherwise, refcount > refs_seen: "(held by native code: refcount 3,
 *     1 reference seen)". Empty when none applies. */
char *pathfmt_root_reason(int root_kind, const char *root_name, int in_modules, int64_t refcount,
                          int64_t refs_seen, char *buf, size_t n);

#endif
