"""End-to-end: the walker as sped up (issue 16) writes the same dump as the
walker of main's commit eeb64f8 for the same heap: every object the old one
wrote is in the new dump with the same type, size, extra size, length, value,
flags and references (targets and labels, in order), and the new one writes
no object the old one did not.

Both extensions are loaded into one process (the old one built from
`git archive` of that commit into BUILD/walk-baseline, once), and both dump
the same frozen heap one after the other, so addresses are comparable. What
may differ is only the refcounts of what the running frames hold and of
the two dump() functions (each holds a reference to itself while called) and of strs (both walkers' type lookups
go through CPython's type attribute cache, which holds the names it caches),
and the synthetic thread and frame records.

BASELINE is the walker this one must equal; a change that means to alter
what the walk writes moves BASELINE to the commit that makes it."""
import os
import shutil
import sqlite3
import subprocess

from dumper_util import check_eq, run_traced

BASELINE = "eeb64f8"
# The baseline read a GC header in front of every type object, also of static
# types, which have none (16 bytes before the object: ASan found it), and so
# called some static types tracked; the walker now asks PyObject_IS_GC first.
GC_TRACKED = 1 << 2
# Format 1.2 (issue 10) adds to what the baseline wrote, and nothing else:
# the informational flag F_PAIRS on dicts, labels on references that were
# unlabelled (exception and traceback fields), and value previews where
# there were none (bound methods, frame objects).
F_PAIRS = 1 << 10


def added_by_labels(name, old, new):
    """True when new differs from old only by what format 1.2 adds."""
    if name == "flags":  # F_PAIRS, F_VALUE (and F_VALUE_TRUNC) added
        return old ^ new and (old ^ new) & ~(F_PAIRS | 1 << 5 | 1 << 7) == 0 and new & old == old
    if name == "value":
        return old is None and new is not None
    if name == "refs":
        return len(old) == len(new) and all(
            o[:2] == n[:2] and (o[2] == n[2] or o[2] is None) for o, n in zip(old, new))
    return False

WORKLOAD = r'''
import importlib.machinery, importlib.util
import ast, array, asyncio, collections, decimal, enum, fractions, functools, json, re
import weakref, types
spec = importlib.util.spec_from_file_location("pymple_old._pymple", sys.argv[1])
old = importlib.util.module_from_spec(spec)
spec.loader.exec_module(old)
assert old.dump is not pymple.dump

class Plain:
    def __init__(self, i):
        self.i = i
        self.name = "n%d" % i
        self.f = i * 0.25 + 0.1
class WithDict:
    def __init__(self, i):
        self.a = i
        self.b = "x" * (i % 7)
class Slotted:
    __slots__ = ("a", "b", "__weakref__")
    def __init__(self, a):
        self.a = a
        self.b = (a, str(a))
class D(dict):
    pass
class L(list):
    pass
class T(tuple):
    pass
class S(str):
    pass
class I(int):
    pass
class F(float):
    pass
class M(types.ModuleType):
    pass
class Color(enum.Enum):
    RED = 1
    BLUE = 2
class Sized:
    def __sizeof__(self):
        return 1000
def outer(x):
    def inner():
        return x
    inner.tag = "tagged"
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
    caught = e
@functools.lru_cache(maxsize=None)
def cached(n):
    return (n, n * 2)
for i in range(40):
    cached(i)
plains = [Plain(i) for i in range(3000)]
dicts = [WithDict(i) for i in range(300)]
for w in dicts[:100]:
    w.__dict__["c"] = 1           # materialized __dict__
slotted = [Slotted(i) for i in range(300)]
subs = ([D(a=i, b=str(i)) for i in range(20)] + [L(range(i)) for i in range(20)] +
        [T((i, i + 1)) for i in range(20)] + [S("s%d" % i) for i in range(20)] +
        [I(i + 10**6) for i in range(20)] + [F(i / 3) for i in range(20)] + [M("mod%d" % i)
        for i in range(5)])
texts = ["ascii %d" % i for i in range(500)] + ["caf\xe9 %d" % i for i in range(100)] + \
        ["\u20ac%d\u4e2d" % i for i in range(100)] + ["\U0001f600 %d" % i for i in range(100)] + \
        ["lone \ud800 surrogate", "x" * 5000, "\xe9" * 300, "\u4e2d" * 300, ""]
blobs = [bytes(range(i % 256)) for i in range(100)] + [bytearray(b"abc" * i) for i in range(20)]
ints = [10**i + 7 for i in range(0, 400, 7)] + [-(2**i) for i in range(0, 200, 3)] + \
       [10**5000, -(10**20000), 0, -1, 255, 256, 2**62, 2**63, 2**64]
floats = [i / 7 for i in range(300)] + [1e300, -1e-300, float("inf"), float("nan"), -0.0, 1e16,
          123456789012345.6, 5e-324]
closures = [outer(i) for i in range(50)]
gens = [gen(i) for i in range(10)]
for g in gens[:5]:
    next(g)
co = coro()
bound = [p.__init__ for p in plains[:10]]
wrefs = [weakref.ref(p) for p in plains[:20]]
wvd = weakref.WeakValueDictionary({i: p for i, p in enumerate(plains[:20])})
od = collections.OrderedDict((str(i), i) for i in range(30))
dd = collections.defaultdict(list, {"k": [1, 2]})
dq = collections.deque(range(100))
part = functools.partial(outer, 3)
sets = [set(range(i, i + 5)) for i in range(30)] + [frozenset(("a", "b"))]
misc = [decimal.Decimal("1.5"), fractions.Fraction(3, 7), slice(1, 10, 2), range(5, 50, 3),
        array.array("d", range(50)), memoryview(b"xyz"), re.compile(r"a+(b|c)*"), Color.RED,
        Sized(), type("Dyn", (Plain,), {"k": 1}), None, True, False, Ellipsis,
        NotImplemented, complex(1, 2), json.dumps({"a": [1, 2]})]
with open(os.path.join(os.path.dirname(ast.__file__), "ast.py"), encoding="utf-8") as src:
    tree = ast.parse(src.read())
path = "heap.dump"   # one str for both calls: their argument tuples are equal
# A first dump does once what any dump does the first time: on 3.8 the type
# lookups ready static types never readied (functools._lru_list_elem), which
# adds them to object.__subclasses__().
pymple.dump(path, quiet=True)
os.unlink(path)
gc.collect()
gc.disable()
old.dump(path, quiet=True)
os.rename(path, "old.dump")
pymple.dump(path, quiet=True)
os.rename(path, "new.dump")
gc.enable()
emit({"calls": [id(old.dump), id(pymple.dump)]})
'''


def baseline_extension(ctx):
    """The extension of BASELINE, built for ctx.python into BUILD/walk-baseline
    (once); None when this is not a git checkout."""
    out = os.path.join(ctx.build, "walk-baseline")
    src = os.path.join(out, "src")
    ext = subprocess.check_output([ctx.python, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                                  universal_newlines=True).strip()
    so = os.path.join(out, "build", "python", "pymple", "_pymple" + ext)
    if os.path.exists(so):
        return so
    if subprocess.call(["git", "-C", ctx.root, "cat-file", "-e", BASELINE + "^{commit}"],
                       stderr=subprocess.DEVNULL) != 0:
        return None
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(src)
    archive = subprocess.run(["git", "-C", ctx.root, "archive", BASELINE], stdout=subprocess.PIPE, check=True)
    subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    py = ctx.python
    subprocess.run(["make", "-s", "-C", src, "PYTHON=" + py, "PYCONFIG=" + py + "-config",
                    "BUILD=" + os.path.join(out, "build"), "SANITIZE=", so],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return so


def records(db):
    """{address: (type, size, extra, length, value, flags, refcount, [(dst, label, weak)])}
    and the addresses of synthetic records, from a loaded dump."""
    con = sqlite3.connect(db)
    try:
        objs, synth = {}, set()
        for a, t, size, extra, rc, length, value, flags, syn in con.execute(
                "SELECT address, type, size, extra_size, refcount, length, value, flags, synthetic "
                "FROM objects ORDER BY address"):
            if syn:
                synth.add(a)
            objs[a] = [t, size, extra, length, value, flags, rc, []]
        # refs (load --refs) lists each object's references in dump order.
        for src, dst, label, weak in con.execute(
                "SELECT src, dst, label, weak FROM refs ORDER BY rowid"):
            objs[src][7].append((dst, weak, label))
        return objs, synth
    finally:
        con.close()


def load(ctx, dump):
    db = dump + ".db"
    subprocess.run([ctx.analyzer, "-q", "load", "--refs", dump, "-o", db], check=True)
    return records(db)


def test_walk_same_as_baseline(ctx):
    so = baseline_extension(ctx)
    if so is None:
        print("    (no git history here: %s cannot be built, nothing compared)" % BASELINE)
        return
    t = run_traced(ctx, WORKLOAD, so)
    old, old_syn = load(ctx, os.path.join(ctx.tmp, "old.dump"))
    new, new_syn = load(ctx, os.path.join(ctx.tmp, "new.dump"))
    check_eq("synthetic records (threads, frames)", len(new_syn), len(old_syn))
    # What the running frames hold: the one place the two calls differ.
    held = {dst for syn in (old_syn, new_syn) for objs in (old, new) if syn
            for a in syn if a in objs for dst, _, _ in objs[a][7]} | set(t["calls"])
    old_real = {a: r for a, r in old.items() if a not in old_syn}
    new_real = {a: r for a, r in new.items() if a not in new_syn}
    assert len(old_real) > 50000, "the workload is too small: %d objects" % len(old_real)
    check_eq("objects the old walker wrote and the new one did not",
             sorted(set(old_real) - set(new_real))[:10], [])
    check_eq("objects the new walker wrote and the old one did not",
             sorted(set(new_real) - set(old_real))[:10], [])
    fields = ("type", "size", "extra_size", "length", "value", "flags", "refcount", "refs")
    diffs = []
    for a in sorted(old_real):
        o, n = old_real[a], new_real[a]
        for i, name in enumerate(fields):
            if o[i] != n[i] and not (name == "refcount" and (a in held or o[0] == "str")) \
                    and not (name == "flags" and o[0] == "type" and o[i] ^ n[i] == GC_TRACKED
                             and n[i] & GC_TRACKED == 0) \
                    and not added_by_labels(name, o[i], n[i]):
                diffs.append("0x%x %s: %s: old %r, new %r" % (a, o[0], name, o[i], n[i]))
    check_eq("objects that differ (of %d)" % len(old_real), diffs[:10], [])
