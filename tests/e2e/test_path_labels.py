"""End-to-end: the labels and names a leak hunt reads (issue 10), from a
workload whose structure gives the truth: a class attribute -> list ->
tuple -> bound method -> instance; a stored exception -> traceback -> frame
-> local; an object inside a tuple dict key; a value under an int key; a
closure cell; functions defined by runpy.run_path(run_name="__main__"); a
running frame's local at the line of the dump call."""
import json
import os
import re
import subprocess

from dumper_util import check_eq, run_traced, sql, version

WORKLOAD = r'''
import runpy, threading
pid = os.getpid()
class Token: pass
class Leaf: pass
OtherToken = type("Token", (), {"__module__": "other"})   # a second class named Token
other_token = OtherToken()
class EditorWindow: pass
editor = EditorWindow()
class Menu:
    def on_close(self): pass
class Dispatcher:
    handlers = []
menu = Menu()
Dispatcher.handlers.append((1, menu.on_close))
meth = Dispatcher.handlers[0][1]
def fail():
    local_marker = Leaf()
    raise ValueError("boom")
def keep():
    try:
        fail()
    except ValueError as e:
        return e
STORED = [keep()]
exc = STORED[0]
tb = exc.__traceback__
inner_frame = tb.tb_next.tb_frame
marker = inner_frame.f_locals["local_marker"]
tok = Token()
KEYED = {("q1", tok): "v", 42: Leaf()}
key = next(k for k in KEYED if isinstance(k, tuple))
under42 = KEYED[42]
def outer():
    cap = Leaf()
    def inner():
        return cap
    return inner
CLOS = outer()
cell = CLOS.__closure__[0]
with open("rp.py", "w") as f:
    f.write("class RpThing: pass\nRP_OBJ = RpThing()\ndef handle():\n    return RP_OBJ\n")
RP_HANDLE = runpy.run_path("rp.py", run_name="__main__")["handle"]
rp_globals = RP_HANDLE.__globals__
rp_obj = rp_globals["RP_OBJ"]
T = {
    "dispatcher": id(Dispatcher), "handlers": id(Dispatcher.handlers), "tuple": id(Dispatcher.handlers[0]),
    "meth": id(meth), "menu": id(menu), "func": id(Menu.on_close), "qualname": Menu.on_close.__qualname__,
    "exc": id(exc), "tb": id(tb), "tb2": id(tb.tb_next), "frame": id(inner_frame), "marker": id(marker),
    "keyed": id(KEYED), "key": id(key), "tok": id(tok), "under42": id(under42),
    "clos": id(CLOS), "cell": id(cell), "cap": id(cell.cell_contents),
    "rp_globals": id(rp_globals), "rp_obj": id(rp_obj), "rp_handle": id(RP_HANDLE),
    "frame_line": inner_frame.f_lineno,
}
# Only the structures above hold the targets from here on.
del menu, meth, exc, tb, inner_frame, marker, tok, key, under42, cell, rp_globals, rp_obj, f
def handle():
    running_local = Leaf()
    line = sys._getframe().f_lineno + 1
    pymple.dump("labels2.dump")
    return running_local, line
held, dump_line = handle()
T["held"] = id(held)
T["dump_line"] = dump_line
emit(T)
'''


def _labels(ctx, dump, src, dst):
    return [r["label"] for r in sql(ctx, dump, "SELECT label FROM refs WHERE src = %d AND dst = %d" % (src, dst))]


def _one(ctx, dump, q):
    rows = sql(ctx, dump, q)
    assert len(rows) == 1, (q, rows)
    return list(rows[0].values())[0]


def test_dump_exception_method_closure_labels(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/labels2.dump"
    check_eq("exception traceback", _labels(ctx, dump, t["exc"], t["tb"]), [".__traceback__"])
    check_eq("traceback next", _labels(ctx, dump, t["tb"], t["tb2"]), [".tb_next"])
    check_eq("traceback frame", _labels(ctx, dump, t["tb2"], t["frame"]), [".tb_frame"])
    check_eq("frame local", _labels(ctx, dump, t["frame"], t["marker"]), [".local_marker"])
    check_eq("bound method self", _labels(ctx, dump, t["meth"], t["menu"]), [".__self__"])
    check_eq("bound method func", _labels(ctx, dump, t["meth"], t["func"]), [".__func__"])
    # the method's value names its function; the frame's its current line
    check_eq("method value", _one(ctx, dump, "SELECT value FROM objects WHERE address = %d" % t["meth"]).split()[0],
             "Menu.on_close")
    fv = _one(ctx, dump, "SELECT value FROM objects WHERE address = %d" % t["frame"])
    check_eq("frame value: function", fv.split()[0], "fail")
    check_eq("frame value: line at dump time", fv.rsplit(":", 1)[1], str(t["frame_line"]))
    check_eq("closure cell named by its free variable",
             [r["name"] for r in sql(ctx, dump, "SELECT name FROM names WHERE kind = 1 AND address = %d" % t["cell"])],
             ["cap"])
    check_eq("run_path globals named by __name__",
             [r["name"] for r in sql(ctx, dump, "SELECT name FROM names WHERE kind = 2 AND address = %d" % t["rp_globals"])],
             ["__main__"])
    # F_PAIRS: the dict's references alternate key, value in order (the
    # key and [42] labels of test_path_steps_read_like_code depend on it)
    flags = _one(ctx, dump, "SELECT flags FROM objects WHERE address = %d" % t["keyed"])
    check_eq("dict has F_PAIRS", flags & 1024, 1024)
    assert json.dumps(t)


def _path(ctx, dump, addr, *extra):
    p = subprocess.run([ctx.analyzer, "path", dump, hex(addr)] + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_path_steps_read_like_code(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/labels2.dump"
    # class attribute -> list -> tuple -> bound method -> instance
    lines = _path(ctx, dump, t["menu"])
    # The chain starts at __main__, or (3.8-3.10) at the running function
    # handle(), which the C stack holds while the dump runs: one step shorter.
    assert lines[0] == "module __main__ (sys.modules)" or re.match(
        r"function handle \(held by native code: refcount \d+, \d+ references? seen\) \.__globals__$",
        lines[0]), lines
    check_eq("class step", lines[-6], "-> type Dispatcher")
    check_eq("list in the class attribute", lines[-5:-2], ["-> dict ['handlers']", "-> list [0]", "-> tuple [1]"])
    check_eq("bound method step", lines[-2], "-> method %s .__self__" % t["qualname"])
    # stored exception -> traceback -> frame -> local, the frame at its line
    lines = _path(ctx, dump, t["marker"])
    check_eq("exception chain", lines[-5:-1],
             ["-> ValueError .__traceback__", "-> traceback .tb_next", "-> traceback .tb_frame",
              "-> frame fail (<string>:%d) .local_marker" % t["frame_line"]])
    # an object inside a tuple key, and a value under an int key
    lines = _path(ctx, dump, t["tok"])
    check_eq("key step", lines[-3:-1], ["-> dict key ('q1', <Token>)", "-> tuple [1]"])
    lines = _path(ctx, dump, t["under42"])
    check_eq("value under a non-str key", lines[-2], "-> dict [42]")
    # closure cell named by its free variable
    lines = _path(ctx, dump, t["cap"])
    check_eq("closure", lines[-4:-1], ["-> function outer.<locals>.inner .__closure__", "-> tuple [0]",
                                       "-> cell cap .cell_contents"])
    # runpy.run_path's namespace, whose module is gone, named as the module
    lines = _path(ctx, dump, t["rp_obj"])
    check_eq("run_path globals", lines[-3:-1], ["-> function handle .__globals__", "-> module __main__ ['RP_OBJ']"])
    # a running frame's local: the root line names the thread and the line of the dump call
    lines = _path(ctx, dump, t["held"])
    check_eq("running frame root", lines[0],
             "thread MainThread frame handle (<string>:%d) .running_local" % t["dump_line"])
    # JSON: every step has its name, the first its root reason
    steps = json.loads(subprocess.run([ctx.analyzer, "path", dump, hex(t["menu"]), "--format", "json"],
                                      stdout=subprocess.PIPE, universal_newlines=True).stdout)
    assert (steps[0]["name"], steps[0]["root"]) == ("module __main__", "(sys.modules)") or (
        steps[0]["name"] == "function handle" and steps[0]["root"].startswith("(held by native code: ")), steps[0]
    check_eq("json method", [s["name"] for s in steps if s["type"] == "method"], ["method " + t["qualname"]])
    check_eq("json target address", steps[-1]["address"], t["menu"])


def _run(ctx, *args):
    return subprocess.run([ctx.analyzer] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def test_forgiving_names(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/labels2.dump"
    # an unqualified class name that is unique
    p = _run(ctx, "path", dump, "--type", "EditorWindow")
    check_eq("unqualified --type", (p.returncode, p.stdout.splitlines()[-1].split(" at ")[0]),
             (0, "-> __main__.EditorWindow"))
    # ambiguous: both candidates listed, nothing on stdout
    p = _run(ctx, "path", dump, "--type", "Token")
    check_eq("ambiguous --type status", (p.returncode, p.stdout), (2, ""))
    assert "ambiguous" in p.stderr and "__main__.Token" in p.stderr and "other.Token" in p.stderr, p.stderr
    # unknown: did you mean
    p = _run(ctx, "path", dump, "--type", "EditorWindw")
    check_eq("unknown --type status", p.returncode, 2)
    assert "did you mean __main__.EditorWindow?" in p.stderr, p.stderr
    # an address pasted from CSV output, with its CR and spaces
    p = _run(ctx, "path", dump, " %s\r" % hex(t["menu"]))
    check_eq("CRLF address", (p.returncode, p.stdout.splitlines()[-1]), (0, "-> __main__.Menu at %s" % hex(t["menu"])))
    # a bad one: the CR shows escaped, on one line
    p = _run(ctx, "path", dump, "0xzz\r")
    check_eq("bad address status", p.returncode, 2)
    check_eq("bad address message", p.stderr.count("\n"), 1)
    assert "'0xzz\\r' is not an address" in p.stderr, repr(p.stderr)
