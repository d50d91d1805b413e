"""End-to-end: the references in a dump are exact, not inflated. On a rich
heap (modules, heap types, functions with a __dict__, closures, generators,
frames, slots, dict subclasses, weakrefs ...): (1) no object that is not
immortal receives more strong references in the dump than its refcount;
(2) for every GC object of the heap, its dumped strong referents contain
gc.get_referents(obj) computed in the traced process, and no (referent, label) pair is repeated beyond what that truth
holds (a spurious duplicate inflates in-degrees and hides roots)."""
import collections

from dumper_util import check_eq, run_traced, sql

WORKLOAD = r'''
import collections, functools, weakref, json, re, decimal, enum, ctypes, asyncio

class Plain:
    def __init__(self, i):
        self.i = i
        self.name = "n%d" % i
class Slotted:
    __slots__ = ("a", "b", "__weakref__")
    def __init__(self, a):
        self.a = a
        self.b = a
class D(dict):
    pass
class Color(enum.Enum):
    RED = 1
    BLUE = 2
def outer(x):
    def inner():
        return x
    inner.tag = "tagged"          # a function with a __dict__
    return inner
def gen(n):
    local = [n]
    yield local
async def coro():
    return 1
def failing():
    secret = "frame-local"
    raise ValueError(secret)
try:
    failing()
except ValueError as e:
    caught = e                    # keeps a traceback and its frames
plains = [Plain(i) for i in range(200)]
slotted = [Slotted(i) for i in range(50)]
ds = [D(a=i, b=str(i)) for i in range(20)]
closures = [outer(i) for i in range(20)]
gens = [gen(i) for i in range(5)]
for g in gens[:2]:
    next(g)
co = coro()
bound = [p.__init__ for p in plains[:5]]
wrefs = [weakref.ref(p) for p in plains[:10]]
wvd = weakref.WeakValueDictionary({i: p for i, p in enumerate(plains[:10])})
od = collections.OrderedDict((str(i), i) for i in range(30))
dd = collections.defaultdict(list, {"k": [1, 2]})
dq = collections.deque(range(10))
part = functools.partial(outer, 3)
same = "shared-%d" % os.getpid()
dup = (same, same, [same, same], {"x": same, "y": same})
sets = [set(range(i, i + 5)) for i in range(10)] + [frozenset(("a", "b"))]
num = decimal.Decimal("1.5")

def main():
    gc.collect()
    temps = set()
    objs = [o for o in gc.get_objects()]
    temps.add(id(objs))
    truth = []
    temps.add(id(truth))
    me = sys._getframe()
    temps.add(id(me))
    for o in objs:
        if id(o) in temps or o is globals():
            continue
        truth.append([id(o), [id(r) for r in gc.get_referents(o)]])
    del o
    pymple.dump("refs.dump")
    return truth, temps

truth, temps = main()
emit({"truth": truth, "temps": sorted(temps)})
'''


def test_dump_refs_exact(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/refs.dump"
    # (1) strong in-degree <= refcount for every object that is not immortal
    over = sql(ctx, dump,
               "SELECT o.address, o.type, o.refcount, n.k FROM objects o JOIN "
               "(SELECT dst, count(*) AS k FROM refs WHERE weak = 0 AND missing = 0 GROUP BY dst) n "
               "ON n.dst = o.address WHERE o.synthetic = 0 AND (o.flags & 2) = 0 AND n.k > o.refcount")
    check_eq("objects with more strong references in the dump than their refcount",
             [(r["type"], r["refcount"], r["k"]) for r in over[:10]], [])
    # (2) referents of every GC object against gc.get_referents
    temps = set(t["temps"])
    rows = sql(ctx, dump, "SELECT src, dst, label FROM refs WHERE weak = 0")
    edges = collections.defaultdict(list)
    for r in rows:
        edges[r["src"]].append((r["dst"], r["label"]))
    types = {r["address"]: r["type"] for r in sql(ctx, dump, "SELECT address, type FROM objects")}
    missing, spurious, checked = [], [], 0
    for src, want in t["truth"]:
        # lru_cache_wrapper's traverse also visits the type of each of its
        # cache links, which the links record themselves (__class__).
        if src in temps or src not in types or types[src] == "functools._lru_cache_wrapper":
            continue
        checked += 1
        got = collections.Counter(d for d, _ in edges[src])
        truth = collections.Counter(want)
        lack = truth - got
        if lack:
            missing.append((types[src], sorted(lack.items())[:3]))
        pairs = collections.Counter(edges[src])
        for (dst, label), k in pairs.items():
            if k > 1 and k > truth[dst]:
                spurious.append((types[src], types.get(dst), label, k, truth[dst]))
    check_eq("GC objects checked is most of the heap", checked > len(t["truth"]) * 0.9, True)
    check_eq("referents of gc.get_referents missing from the dump", missing[:10], [])
    check_eq("spurious duplicate references", spurious[:10], [])
