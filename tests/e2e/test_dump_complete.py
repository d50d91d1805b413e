"""End-to-end: the dump holds every object the traced process can reach
with gc.get_objects() plus the transitive gc.get_referents closure (and
every type), with sizes equal to sys.getsizeof for C-level __sizeof__."""
from dumper_util import check_eq, run_traced, sql

WORKLOAD = r'''
import collections, weakref
class Node:
    def __init__(self, i):
        self.i = i
        self.next = None
nodes = [Node(i) for i in range(500)]
for a, b in zip(nodes, nodes[1:]):
    a.next = b
nodes[-1].next = nodes[0]                      # a cycle
table = collections.OrderedDict((str(i), (i, float(i))) for i in range(300))
refs = [weakref.ref(n) for n in nodes[:50]]
frozen = frozenset(range(40)); mixed = {1: "a", (2, 3): b"b"}
# C metatypes: ctypes' type objects carry their own C __sizeof__ (3.13:
# a METH_METHOD one) and type data beyond PyHeapTypeObject.
import ctypes
class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]
class Either(ctypes.Union):
    _fields_ = [("i", ctypes.c_long), ("p", ctypes.c_void_p)]
c_types = [Point, Either, ctypes.c_int * 7, ctypes.POINTER(Point),
           ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int), Point(1, 2.0), (ctypes.c_char * 5)()]
# The sizes the walker computes itself for exact ints, tuples, bytes, lists
# and compact ASCII strs, at their edges: zero (one digit from 3.11 on),
# negative and many-digit ints, over-allocated lists, empty containers; and
# the strs it leaves to str.__sizeof__: non-ASCII, and (before 3.12) an
# ASCII str that carries a wchar_t copy.
grown = []
for i in range(17):
    grown.append(i)
edges = [0, -1, 1 << 30, -(1 << 100), 2 ** 64 + 1, [], [1, 2, 3], grown, (), (1,), b"", b"xyz",
         "", "x", "\u00e9t\u00e9", "\u20ac" * 3, "\U0001F600", "".join(["wi", "de"])]
if sys.version_info < (3, 12):
    as_unicode = ctypes.pythonapi.PyUnicode_AsUnicode
    as_unicode.restype, as_unicode.argtypes = ctypes.c_void_p, [ctypes.py_object]
    as_unicode(edges[-1])
del a, b, i
gc.collect()
seen = objs = sizes = gc_ids = gc_list = None
gc_list = gc.get_objects()          # holds itself: leave it out
gc_ids = [id(o) for o in gc_list if o is not gc_list]
seen = reachable_objects()
objs = list(seen.values())
mutable = {id(seen), id(objs), id(globals()), id(gc_ids), id(gc_list)}
sizes = [[id(x), sys.getsizeof(x)] for x in objs if id(x) not in mutable]
pymple.dump("all.dump")
emit({"gc": gc_ids, "sizes": sizes, "mutable": sorted(mutable)})
'''


def test_dump_complete_vs_gc_referents(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/all.dump"
    rows = sql(ctx, dump, "SELECT address, size, size_approx, synthetic FROM objects")
    got = {r["address"]: r for r in rows if not r["synthetic"]}
    missing_gc = [a for a in t["gc"] if a not in got]
    check_eq("gc.get_objects() entries missing from the dump", missing_gc, [])
    missing = [a for a, _ in t["sizes"] if a not in got]
    check_eq("referent closure missing from the dump", missing[:10], [])
    wrong = [(a, s, got[a]["size"]) for a, s in t["sizes"] if not got[a]["size_approx"] and got[a]["size"] != s]
    check_eq("sizes different from sys.getsizeof", wrong[:10], [])
    approx = [a for a, _ in t["sizes"] if got[a]["size_approx"]]
    check_eq("approximate sizes in a heap without Python __sizeof__", approx[:10], [])
    check_eq("every address once", len(got), len({r["address"] for r in rows if not r["synthetic"]}))


def test_dump_python_sizeof_not_called(ctx):
    body = r'''
calls = []
class Sneaky:
    def __sizeof__(self):
        calls.append(1)
        return 10 ** 6
s = [Sneaky() for _ in range(5)]
pymple.dump("sneaky.dump")
emit({"calls": len(calls)})
'''
    t = run_traced(ctx, body)
    check_eq("Python __sizeof__ calls during the dump", t["calls"], 0)
    rows = sql(ctx, ctx.tmp + "/sneaky.dump", "SELECT size, size_approx FROM objects WHERE type = '__main__.Sneaky'")
    check_eq("Sneaky count", len(rows), 5)
    assert all(r["size_approx"] == 1 and 0 < r["size"] < 1000 for r in rows), rows


CODE = r'''
src = """
def outer():
    def inner():
        return "inner-const-%d"
    return ("outer-const-%d", inner)
""" % (os.getpid(), os.getpid())
ns = {}
exec(compile(src, "gen_module.py", "exec"), ns)
outer = ns["outer"]
del ns
co = outer.__code__
inner_co = [c for c in co.co_consts if hasattr(c, "co_code")][0]
pymple.dump("code.dump")
emit({"co": id(co), "consts": id(co.co_consts), "inner": id(inner_co),
      "outer_const": "outer-const-%d" % os.getpid(), "inner_const": "inner-const-%d" % os.getpid(),
      "names": id(co.co_names), "filename": id(co.co_filename)})
'''


def test_dump_code_objects(ctx):
    # Code objects have no tp_traverse: their constants (nested code and
    # strs nothing else holds), names and file name must still be dumped.
    t = run_traced(ctx, CODE)
    dump = ctx.tmp + "/code.dump"
    co = sql(ctx, dump, "SELECT type, value FROM objects WHERE address = %d" % t["co"])
    check_eq("code object", [r["type"] for r in co], ["code"])
    assert co[0]["value"].startswith("outer gen_module.py:2"), co
    labels = {r["label"]: r["dst"] for r in sql(ctx, dump, "SELECT label, dst FROM refs WHERE src = %d" % t["co"])}
    check_eq("co_consts edge", labels.get(".co_consts"), t["consts"])
    check_eq("co_filename edge", labels.get(".co_filename"), t["filename"])
    consts = sql(ctx, dump, "SELECT o.address, o.type, o.value FROM refs r JOIN objects o ON o.address = r.dst "
                 "WHERE r.src = %d" % t["consts"])
    check_eq("nested code in co_consts", sorted(r["address"] for r in consts if r["type"] == "code"), [t["inner"]])
    assert any(r["value"] == t["outer_const"] for r in consts), consts
    inner = sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE type = 'str' AND value = '%s'" % t["inner_const"])
    check_eq("constant of the nested code", inner[0]["n"], 1)
