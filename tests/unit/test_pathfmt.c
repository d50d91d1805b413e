/* test_pathfmt.c — the words of path steps (analyzer/pathfmt.c) for every
 * kind of object, reference and root the issue names. */
#include <criterion/criterion.h>
#include <string.h>

#include "pathfmt.h"
#include "pymple_format.h"

static char buf[256];

static const char *obj(const char *type, const char *value)
{
	struct pathfmt_obj o = {type, value, NULL, 0};
	return pathfmt_object(&o, buf, sizeof buf);
}

Test(pathfmt, objects_named_as_in_the_code)
{
	cr_assert_str_eq(obj("type", "__main__.Dispatcher"), "type Dispatcher");
	cr_assert_str_eq(obj("type", "app.models.Session"), "type app.models.Session");
	cr_assert_str_eq(obj("abc.ABCMeta", "app.Base"), "type app.Base");
	cr_assert_str_eq(obj("method", "Menu.on_close /srv/app/menu.py:7"), "method Menu.on_close");
	cr_assert_str_eq(obj("function", "handle /srv/app.py:20"), "function handle");
	cr_assert_str_eq(obj("code", "handle /srv/app.py:20"), "code handle");
	cr_assert_str_eq(obj("frame", "handle /srv/app.py:24"), "frame handle (app.py:24)");
	cr_assert_str_eq(obj("<frame>", "Worker.run <string>:3"), "frame Worker.run (<string>:3)");
	cr_assert_str_eq(obj("<thread>", "thread 140001 MainThread (main)"), "thread MainThread");
	cr_assert_str_eq(obj("<thread>", "thread 140002 pool-1"), "thread pool-1");
	cr_assert_str_eq(obj("<thread>", "thread 140003"), "thread 140003");
	cr_assert_str_eq(obj("module", "__main__"), "module __main__");
	cr_assert_str_eq(obj("str", "it's"), "str 'it\\'s'");
	cr_assert_str_eq(obj("int", "42"), "int 42");
	cr_assert_str_eq(obj("cell", NULL), "cell");
	cr_assert_str_eq(obj("app.Session", NULL), "app.Session");
	cr_assert_str_eq(obj("dict", NULL), "dict");
}

Test(pathfmt, names_from_name_records)
{
	struct pathfmt_obj cell = {"cell", NULL, "cap", PYM_NAME_CELL};
	cr_assert_str_eq(pathfmt_object(&cell, buf, sizeof buf), "cell cap");
	struct pathfmt_obj g = {"dict", NULL, "__main__", PYM_NAME_GLOBALS};
	cr_assert_str_eq(pathfmt_object(&g, buf, sizeof buf), "module __main__");
}

Test(pathfmt, dict_keys)
{
	struct pathfmt_obj key = {"tuple", NULL, NULL, 0};
	struct pathfmt_obj items[2] = {{"str", "q1", NULL, 0}, {"app.Token", NULL, NULL, 0}};
	cr_assert_str_eq(pathfmt_key(&key, items, 2, buf, sizeof buf), "('q1', <Token>)");
	cr_assert_str_eq(pathfmt_key(&key, items, 1, buf, sizeof buf), "('q1',)");
	struct pathfmt_obj i42 = {"int", "42", NULL, 0}, none = {"NoneType", "None", NULL, 0};
	cr_assert_str_eq(pathfmt_key(&i42, NULL, 0, buf, sizeof buf), "42");
	cr_assert_str_eq(pathfmt_key(&none, NULL, 0, buf, sizeof buf), "None");
	struct pathfmt_obj fs = {"frozenset", NULL, NULL, 0};
	cr_assert_str_eq(pathfmt_key(&fs, NULL, 0, buf, sizeof buf), "<frozenset>");
	/* cut to the buffer, still terminated */
	char small[8];
	pathfmt_key(&key, items, 2, small, sizeof small);
	cr_assert(strlen(small) < sizeof small);
}

Test(pathfmt, edges)
{
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_INDEX, 7, NULL, NULL, 0, buf, sizeof buf), "[7]");
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_KEY, 3, "CACHE", NULL, 0, buf, sizeof buf),
	                 "['CACHE']");
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_ATTR, 3, "__traceback__", NULL, 0, buf, sizeof buf),
	                 ".__traceback__");
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_WEAK, 0, NULL, NULL, 0, buf, sizeof buf), "(weak)");
	cr_assert_str_eq(
	        pathfmt_edge(PYM_LABEL_NONE, 0, NULL, "('q1', <Token>)", 1, buf, sizeof buf),
	        "key ('q1', <Token>)");
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_NONE, 0, NULL, "42", 0, buf, sizeof buf), "[42]");
	cr_assert_str_eq(pathfmt_edge(PYM_LABEL_NONE, 0, NULL, NULL, 0, buf, sizeof buf), "");
}

Test(pathfmt, root_reasons)
{
	cr_assert_str_eq(pathfmt_root_reason(PYM_ROOT_MODULES, NULL, 0, 1, 0, buf, sizeof buf),
	                 "(sys.modules)");
	cr_assert_str_eq(pathfmt_root_reason(0, NULL, 1, 3, 3, buf, sizeof buf), "(sys.modules)");
	cr_assert_str_eq(
	        pathfmt_root_reason(PYM_ROOT_INTERP, "interp.importlib", 0, 1, 0, buf, sizeof buf),
	        "(interpreter: interp.importlib)");
	cr_assert_str_eq(pathfmt_root_reason(0, NULL, 0, 3, 1, buf, sizeof buf),
	                 "(held by native code: refcount 3, 1 reference seen)");
	cr_assert_str_eq(pathfmt_root_reason(0, NULL, 0, 5, 2, buf, sizeof buf),
	                 "(held by native code: refcount 5, 2 references seen)");
	cr_assert_str_eq(pathfmt_root_reason(0, NULL, 0, 2, 2, buf, sizeof buf), "");
}
