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
del a, b
gc.collect()
seen = stack = objs = sizes = gc_ids = gc_list = None
gc_list = gc.get_objects()          # holds itself: leave it out
gc_ids = [id(o) for o in gc_list if o is not gc_list]
seen = {}
stack = gc.get_objects()
for o in stack:
    seen[id(o)] = o
while stack:
    o = stack.pop()
    for r in gc.get_referents(o) + [type(o)]:
        if id(r) not in seen:
            seen[id(r)] = r
            stack.append(r)
del o, r
objs = list(seen.values())
mutable = {id(seen), id(stack), id(objs), id(globals()), id(gc_ids), id(gc_list)}
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
