"""test_leaks.py — leak hunting end to end (issue 3): diff, path, garbage, cycles and
referrers on dumps of real Python processes, checked against truth the traced process
computes itself (ids, sys.getsizeof, gc.get_referents, gc.garbage under DEBUG_SAVEALL).
Must not compare the analyzer with itself; no timing assertions.
"""
import json
import os
import sqlite3
import subprocess
import sys

TIMEOUT = 300.0  # a bound for a hang only


def run_py(ctx, name, source, *args, **extra_env):
    """Runs source as a script (its module is __main__) in the Python under test."""
    path = os.path.join(ctx.tmp, name)
    with open(path, "w") as f:
        f.write(source)
    env = ctx.env(PYMPLE_ANALYZE=ctx.analyzer, **extra_env)
    env["PYTHONPATH"] = os.pathsep.join([ctx.pythonpath, ctx.tmp])
    p = subprocess.run([ctx.python, path] + list(args), cwd=ctx.tmp, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (name, p.returncode,
                                                        p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode()


def analyze(ctx, *args, status=0):
    p = subprocess.run([ctx.analyzer] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    if p.returncode != status:
        raise AssertionError("pymple-analyze %s: exit %d, wanted %d\n%s" % (
            " ".join(map(str, args)), p.returncode, status, p.stderr.decode()))
    return p.stdout.decode()


def analyze_json(ctx, *args):
    return json.loads(analyze(ctx, *args, "--format", "json"))


def read_json(ctx, name):
    with open(os.path.join(ctx.tmp, name)) as f:
        return json.load(f)


# ---------------------------------------------------------------------------- diff

DIFF_SCRIPT = r'''
import json, sys, pymple
class Leak:
    pass
N = int(sys.argv[1])
keep = []
def grow():
    for i in range(N):
        o = Leak()
        o.n = 1000000 + i          # a large int: a new object per instance
        keep.append(o)
pymple.dump("a.dump")
grow()
pymple.dump("b.dump")
json.dump({"ids": [id(o) for o in keep],
           "size": sum(sys.getsizeof(o) for o in keep),
           "type": type(keep[0]).__module__ + "." + type(keep[0]).__qualname__},
          open("truth.json", "w"))
'''


def test_diff_shows_exact_leak(ctx):
    n = 137
    run_py(ctx, "leak_diff.py", DIFF_SCRIPT, str(n))
    truth = read_json(ctx, "truth.json")
    a, b = os.path.join(ctx.tmp, "a.dump"), os.path.join(ctx.tmp, "b.dump")
    rows = analyze_json(ctx, "diff", a, b, "--limit", "0")
    by_type = {r["type"]: r for r in rows}
    assert truth["type"] in by_type, (truth["type"], rows[:10])
    row = by_type[truth["type"]]
    assert row["count_delta"] == n, row
    assert row["count_b"] - row["count_a"] == n, row
    # Sizes are size + extra_size, as summary counts them: the getsizeof
    # part is the traced process's truth, the extra part (3.11+ inline
    # values, 0 before) is what the dump recorded for the new instances.
    extra = analyze_json(ctx, "sql", b, "SELECT coalesce(sum(extra_size), 0) AS e FROM objects"
                         " WHERE type = '%s'" % truth["type"])[0]["e"]
    extra -= analyze_json(ctx, "sql", a, "SELECT coalesce(sum(extra_size), 0) AS e FROM objects"
                          " WHERE type = '%s'" % truth["type"])[0]["e"]
    assert row["size_delta"] == truth["size"] + extra, (row, truth["size"], extra)
    assert row["size_b"] - row["size_a"] == truth["size"] + extra, row
    # Rows are sorted by the size at stake, the largest change either way first.
    deltas = [abs(r["size_delta"]) for r in rows]
    assert deltas == sorted(deltas, reverse=True)
    # --new: every leaked instance is new in B (its address did not hold an
    # object of the same fingerprint in A).
    new = analyze_json(ctx, "diff", a, b, "--new", "--limit", "0")
    new_addrs = {r["address"] for r in new}
    missing = [x for x in truth["ids"] if x not in new_addrs]
    assert not missing, "%d of %d leaked objects not listed as new" % (len(missing), n)
    assert all(r["type"] == truth["type"] for r in new if r["address"] in set(truth["ids"]))
    # The table and csv carry the same numbers.
    csv = analyze(ctx, "diff", a, b, "--format", "csv", "--limit", "0").splitlines()
    assert csv[0].split(",") == ["type", "count_a", "count_b", "count_delta", "size_a",
                                 "size_b", "size_delta", "retained_a", "retained_b",
                                 "retained_delta"], csv[0]
    line = [l for l in csv if l.startswith(truth["type"] + ",")]
    assert line and line[0].split(",")[3] == str(n) and line[0].split(",")[6] == str(truth["size"] + extra)


REUSE_SCRIPT = r'''
import json, pymple
class Old:
    pass
class New:
    pass
olds = [Old() for _ in range(2000)]
old_ids = [id(o) for o in olds]
pymple.dump("a.dump")
del olds                                 # freed: pymalloc hands the memory
news = [New() for _ in range(2000)]      # to the next objects of that size
json.dump({"old": old_ids, "new": [id(o) for o in news]}, open("truth.json", "w"))
pymple.dump("b.dump")
'''


def test_diff_reused_address_is_not_the_same_object(ctx):
    # CPython's own allocator (pymalloc) is what reuses addresses; the
    # sanitizer run sets PYTHONMALLOC=malloc, whose quarantine never does.
    run_py(ctx, "leak_reuse.py", REUSE_SCRIPT, PYTHONMALLOC="pymalloc")
    t = read_json(ctx, "truth.json")
    reused = set(t["old"]) & set(t["new"])
    # The premise: CPython reuses addresses (if it did not, there is nothing to check).
    assert len(reused) > 100, len(reused)
    a, b = os.path.join(ctx.tmp, "a.dump"), os.path.join(ctx.tmp, "b.dump")
    new = {r["address"]: r for r in analyze_json(ctx, "diff", a, b, "--new", "--limit", "0")}
    # Same address, different object: every New instance is new, none is
    # matched to the Old instance that lived at its address in A.
    assert all(x in new and new[x]["type"] == "__main__.New" for x in t["new"])
    rows = {r["type"]: r for r in analyze_json(ctx, "diff", a, b)}
    assert rows["__main__.New"]["count_delta"] == 2000
    assert rows["__main__.Old"]["count_delta"] == -2000


GROWTH_SCRIPT = r'''
import json, pymple
class Grows:
    pass
class Flat:
    pass
keep, flat = [], [Flat() for _ in range(5)]
counts = []
for step, k in enumerate((3, 5, 9)):
    keep.extend(Grows() for _ in range(k))
    if step == 1:
        flat.pop()                 # Flat goes down then stays: no growth
    pymple.dump("d%d.dump" % step)
    counts.append(len(keep))
json.dump({"counts": counts}, open("truth.json", "w"))
'''


def test_growth_series(ctx):
    run_py(ctx, "leak_growth.py", GROWTH_SCRIPT)
    truth = read_json(ctx, "truth.json")
    dumps = [os.path.join(ctx.tmp, "d%d.dump" % i) for i in range(3)]
    rows = {r["type"]: r for r in analyze_json(ctx, "growth", *dumps)}
    assert rows["__main__.Grows"]["counts"] == truth["counts"], rows.get("__main__.Grows")
    assert rows["__main__.Grows"]["count_delta"] == truth["counts"][-1] - truth["counts"][0]
    assert "__main__.Flat" not in rows
    for r in rows.values():  # only types that grow at every step
        assert all(x < y for x, y in zip(r["counts"], r["counts"][1:])), r


# ---------------------------------------------------------------------------- path

APP_MODULE = "CACHE = {}\nOTHER = 'x'\n"

PATH_SCRIPT = r'''
import gc, json, os, subprocess, sys, weakref
import pymple, leakapp

class Session:
    pass

def build():
    users = [[i] for i in range(7)]
    target = Session()
    users.append(target)                     # users[7]
    leakapp.CACHE["users"] = users
    leakapp.WEAK = weakref.ref(target)       # a shorter, weak-only route
    return id(target)

tid = build()
pymple.dump("p.dump")

# Ask the analyzer while this process, and every object on the path, lives.
out = subprocess.run([os.environ["PYMPLE_ANALYZE"], "path", "p.dump", hex(tid),
                      "--format", "json"], stdout=subprocess.PIPE, check=True).stdout
steps = json.loads(out)
weak = json.loads(subprocess.run([os.environ["PYMPLE_ANALYZE"], "path", "p.dump",
                                  hex(tid), "--weak", "--format", "json"],
                                 stdout=subprocess.PIPE, check=True).stdout)
byid = {}
for o in gc.get_objects():
    byid[id(o)] = o
for m in list(sys.modules.values()):
    byid[id(m)] = m
def real(a, b):
    oa = byid.get(a)
    return oa is not None and any(id(r) == b for r in gc.get_referents(oa))
users = leakapp.CACHE["users"]
json.dump({
    "target": tid,
    "steps": steps,
    "real": [real(s["address"], t["address"]) for s, t in zip(steps, steps[1:])],
    "weak_steps": weak,
    "expected": [id(leakapp), id(leakapp.__dict__), id(leakapp.CACHE), id(users), tid],
    "modules": [id(m) for m in sys.modules.values()],
}, open("truth.json", "w"))
'''


def test_path_is_shortest_and_real(ctx):
    with open(os.path.join(ctx.tmp, "leakapp.py"), "w") as f:
        f.write(APP_MODULE)
    run_py(ctx, "leak_path.py", PATH_SCRIPT)
    t = read_json(ctx, "truth.json")
    steps = t["steps"]
    assert steps, "no path found"
    assert steps[-1]["address"] == t["target"] and steps[-1]["type"] == "__main__.Session"
    # The chain ends through a dict key, a dict key and a list index.
    assert [s["address"] for s in steps[-3:]] == t["expected"][-3:], steps
    assert [s["label"] for s in steps[-3:]] == ["['CACHE']", "['users']", "[7]"], steps
    # Every step is a reference gc.get_referents sees in the live process.
    assert all(t["real"]), list(zip(steps, t["real"]))
    # Shortest: never longer than the chain we built from the module, and the
    # weak reference is not used without --weak.
    assert len(steps) <= len(t["expected"]), steps
    if steps[0]["address"] == t["expected"][0]:
        assert [s["address"] for s in steps] == t["expected"]
        assert steps[0]["type"] == "module" and steps[0]["name"] == "module leakapp"
    assert all(s["label"] != "(weak)" for s in steps)
    assert t["weak_steps"] and t["weak_steps"][-1]["address"] == t["target"]
    assert len(t["weak_steps"]) <= len(steps)
    # The first step is a root in the database, or a module in sys.modules.
    db = sqlite3.connect(os.path.join(ctx.tmp, "p.dump.db"))
    (root,) = db.execute("SELECT root FROM objects WHERE address = ?",
                         (steps[0]["address"],)).fetchone()
    assert root == 1 or steps[0]["address"] in t["modules"], steps[0]
    # The table prints the same chain, one step per line, root first.
    table = analyze(ctx, "path", os.path.join(ctx.tmp, "p.dump"), hex(t["target"]))
    lines = table.strip().splitlines()
    assert len(lines) == len(steps), table
    assert lines[-1] == "-> __main__.Session at 0x%x" % t["target"], table
    assert lines[-2] == "-> list [7]", table
    assert lines[-3] == "-> dict ['users']", table
    assert lines[-4].endswith("dict ['CACHE']"), table
    # --type finds the same object.
    typed = analyze_json(ctx, "path", os.path.join(ctx.tmp, "p.dump"),
                         "--type", "__main__.Session")
    assert [[s["address"] for s in p] for p in typed] == [[s["address"] for s in steps]]
    # An address with no object is bad input.
    analyze(ctx, "path", os.path.join(ctx.tmp, "p.dump"), "0x10", status=2)


def test_referrers_tree(ctx):
    with open(os.path.join(ctx.tmp, "leakapp.py"), "w") as f:
        f.write(APP_MODULE)
    run_py(ctx, "leak_path.py", PATH_SCRIPT)
    t = read_json(ctx, "truth.json")
    dump = os.path.join(ctx.tmp, "p.dump")
    rows = analyze_json(ctx, "referrers", dump, hex(t["target"]), "--depth", "3")
    assert rows[0]["depth"] == 0 and rows[0]["address"] == t["target"]
    users, cache = t["expected"][3], t["expected"][2]
    d1 = [r for r in rows if r["depth"] == 1]
    assert any(r["address"] == users and r["label"] == "[7]" for r in d1), d1
    assert all(r["referent"] == t["target"] for r in d1)
    d2 = [r for r in rows if r["depth"] == 2 and r["referent"] == users]
    assert any(r["address"] == cache and r["label"] == "['users']" for r in d2), d2
    dot = analyze(ctx, "referrers", dump, hex(t["target"]), "--dot")
    assert dot.startswith("digraph") and "n%x -> n%x" % (users, t["target"]) in dot


# ---------------------------------------------------------------------------- garbage, cycles

GARBAGE_SCRIPT = r'''
import gc, json, sys, pymple
gc.disable()
class Pair:
    pass
class Ring:
    pass
class Selfie:
    pass
class Alive:
    pass

def make():
    for i in range(40):                  # 40 unreachable 2-cycles
        a, b = Pair(), Pair()
        a.other, b.other = b, a
        a.payload = "payload-%d" % i       # a str only garbage holds
    l = []
    l.append(l)                          # an unreachable self-referencing list
    s = Selfie()
    s.me = s                             # unreachable self cycle
    ring = [Ring() for _ in range(5)]
    for x, y in zip(ring, ring[1:] + ring[:1]):
        x.next = y
    return ring

class CLeak:
    pass
def c_leak(n):
    # What a C extension's missing Py_DECREF does: a reference nobody owns.
    import ctypes
    ids = []
    for _ in range(n):
        o = CLeak()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(o))
        ids.append(id(o))
    return ids

CLEAKED = c_leak(3)
RING = make()                            # a live cycle of 5
ALIVE = Alive()
ALIVE.me = ALIVE                         # a live self cycle
pymple.dump("g.dump")
ring_ids = [id(r) for r in RING]
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
garbage = gc.garbage
gset = {id(o) for o in garbage}
# Live: everything reachable from the tracked objects that are not garbage
# (gc.garbage itself excluded), never entering garbage.
keepalive, live = [], set()
todo = [o for o in gc.get_objects() if id(o) not in gset and o is not garbage]
todo.extend(sys.modules.values())
while todo:
    o = todo.pop()
    if id(o) in live or id(o) in gset:
        continue
    live.add(id(o))
    keepalive.append(o)
    todo.extend(gc.get_referents(o))
# Held by garbage only: the closure of referents from gc.garbage, minus live.
held, todo = set(), list(garbage)
while todo:
    o = todo.pop()
    if id(o) in held or id(o) in live:
        continue
    held.add(id(o))
    keepalive.append(o)
    todo.extend(gc.get_referents(o))
json.dump({
    "garbage": sorted(gset),
    "held": sorted(held),
    "live": sorted(live),
    "types": {k: sum(1 for o in garbage if type(o).__qualname__ == k)
              for k in ("Pair", "Selfie", "Ring", "Alive")},
    "pairs": [sorted([id(o), id(o.other)]) for o in garbage if type(o) is Pair],
    "selfie": [id(o) for o in garbage if type(o) is Selfie],
    "ring": ring_ids,
    "alive": id(ALIVE),
    "cleaked": CLEAKED,
}, open("truth.json", "w"))
'''

PYM_F_GC_TRACKED = 1 << 2
PYM_F_SYNTHETIC = 1 << 6


def test_unreachable_equals_gc_garbage(ctx):
    run_py(ctx, "leak_garbage.py", GARBAGE_SCRIPT)
    t = read_json(ctx, "truth.json")
    dump = os.path.join(ctx.tmp, "g.dump")
    analyze(ctx, "load", dump)
    db = sqlite3.connect(dump + ".db")
    flagged = db.execute("SELECT address, flags FROM objects WHERE reachable = 0").fetchall()
    tracked = {a for a, f in flagged if f & PYM_F_GC_TRACKED}
    garbage = set(t["garbage"])
    assert t["types"]["Pair"] == 80 and t["types"]["Selfie"] == 1, t["types"]
    # Exactly what the collector finds unreachable, among the objects it tracks.
    assert tracked == garbage, ("flagged but not garbage: %d, garbage not flagged: %d"
                                % (len(tracked - garbage), len(garbage - tracked)))
    # No live object is flagged, and every flagged one is held only by garbage.
    held, live = set(t["held"]), set(t["live"])
    assert not [a for a, _ in flagged if a in live], "live objects flagged unreachable"
    not_held = [(a, f) for a, f in flagged if a not in held and not f & PYM_F_SYNTHETIC]
    assert not not_held, not_held[:10]
    assert t["alive"] not in {a for a, _ in flagged}
    # `garbage` summarizes the same objects by type.
    rows = analyze_json(ctx, "garbage", dump, "--limit", "0")
    unreach = {r["type"]: r for r in rows if r["kind"] == "unreachable"}
    assert unreach["__main__.Pair"]["count"] == 80
    assert unreach["__main__.Selfie"]["count"] == 1
    assert sum(r["count"] for r in unreach.values()) == len(flagged) - sum(
        1 for _, f in flagged if f & PYM_F_SYNTHETIC)
    assert "__main__.Ring" not in unreach and "__main__.Alive" not in unreach
    # What the garbage holds: every Pair is in a 2-cycle no other garbage
    # refers to, so each is a garbage-root child; the holders' retained sizes
    # add up to the unreachable total (extra sizes included).
    holders = {r["type"]: r for r in rows if r["kind"] == "holders"}
    assert holders["__main__.Pair"]["count"] == 80, holders.get("__main__.Pair")
    total = db.execute("SELECT sum(size + extra_size) FROM objects WHERE reachable = 0"
                       " AND synthetic = 0").fetchone()[0]
    assert sum(r["size"] for r in holders.values()) == total, (holders, total)
    # Objects kept alive by a reference nobody in the heap owns (a C leak).
    unref = {r["type"]: r for r in rows if r["kind"] == "unreferenced"}
    assert unref["__main__.CLeak"]["count"] == 3, unref.get("__main__.CLeak")
    got = db.execute("SELECT address, root, reachable FROM objects"
                     " WHERE type = '__main__.CLeak'").fetchall()
    assert sorted(a for a, _, _ in got) == sorted(t["cleaked"]), got
    assert all(root == 1 and reach == 1 for _, root, reach in got), got


def test_cycles_match_built(ctx):
    run_py(ctx, "leak_garbage.py", GARBAGE_SCRIPT)
    t = read_json(ctx, "truth.json")
    dump = os.path.join(ctx.tmp, "g.dump")
    rows = analyze_json(ctx, "cycles", dump, "--limit", "0")

    def with_type(name):
        return [r for r in rows if ("__main__." + name) in r["types"]]

    # 40 unreachable pairs, each its own cycle of two Pairs (plus, before 3.11,
    # their instance dicts), and each cycle's objects are one built pair.
    pairs = with_type("Pair")
    assert len(pairs) == 40, len(pairs)
    built = {tuple(p) for p in t["pairs"]}
    for r in pairs:
        assert r["types"]["__main__.Pair"] == 2 and r["unreachable"] is True, r
        assert set(r["types"]) <= {"__main__.Pair", "dict"}, r
        mine = tuple(sorted(a for a in r["objects"] if a in {x for p in built for x in p}))
        assert mine in built, r
    ring = with_type("Ring")
    assert len(ring) == 1 and ring[0]["types"]["__main__.Ring"] == 5, ring
    assert ring[0]["unreachable"] is False
    assert set(ring[0]["types"]) <= {"__main__.Ring", "dict"}
    selfie = with_type("Selfie")
    assert len(selfie) == 1 and selfie[0]["unreachable"] is True, selfie
    assert t["selfie"][0] in selfie[0]["objects"]
    alive = with_type("Alive")
    assert len(alive) == 1 and alive[0]["unreachable"] is False
    # --unreachable keeps only unreachable cycles.
    only = analyze_json(ctx, "cycles", dump, "--unreachable", "--limit", "0")
    assert only and all(r["unreachable"] for r in only)
    assert len([r for r in only if "__main__.Pair" in r["types"]]) == 40
    # --dot draws one cycle: the ring's five nodes and their references.
    dot = analyze(ctx, "cycles", dump, "--dot", str(ring[0]["id"]))
    for a in t["ring"]:
        assert "n%x [" % a in dot, dot
    assert dot.count(" -> ") >= 5


NODE_PAIRS_SCRIPT = r'''
import gc, json, pymple
class Node:
    def __init__(self):
        self.peer = None
    def link(self, other):          # a method: the class reaches this module's globals
        self.peer = other
        other.peer = self
nodes = []                          # module-level list holding one Node of each pair
pairs = []
for i in range(100):
    a, b = Node(), Node()
    a.link(b)
    nodes.append(a)
    pairs.append(sorted([id(a), id(b)]))
gc.collect()
pymple.dump("n.dump")
json.dump({"pairs": pairs}, open("truth.json", "w"))
'''


def test_cycles_are_not_merged_through_classes(ctx):
    """instance -> class -> method -> __globals__ -> nodes list -> instance would put
    every Node into one component; references into classes do not count, so the 100
    pairs are 100 cycles of two Nodes (plus their instance dicts before 3.11)."""
    run_py(ctx, "node_pairs.py", NODE_PAIRS_SCRIPT)
    t = read_json(ctx, "truth.json")
    dump = os.path.join(ctx.tmp, "n.dump")
    rows = analyze_json(ctx, "cycles", dump, "--limit", "0")
    mine = [r for r in rows if "__main__.Node" in r["types"]]
    assert len(mine) == 100, [(r["count"], r["types"]) for r in mine[:3]]
    built = {tuple(p) for p in t["pairs"]}
    inline = sys.version_info >= (3, 11)
    for r in mine:
        assert r["types"]["__main__.Node"] == 2 and r["unreachable"] is False, r
        assert set(r["types"]) <= {"__main__.Node", "dict"}, r
        if inline:
            assert r["count"] == 2, r
        nodes = tuple(sorted(a for a in r["objects"] if any(a in p for p in built)))
        assert nodes in built, r
    # the table: one row for the make-up, saying 100 cycles
    groups = analyze_json(ctx, "cycles", dump, "--group", "--limit", "0")
    g = [x for x in groups if "__main__.Node" in x["types"]]
    assert len(g) == 1 and g[0]["cycles"] == 100, g
    assert g[0]["count"] == sum(r["count"] for r in mine), g
    table = analyze(ctx, "cycles", dump, "--limit", "0")
    row = [line for line in table.splitlines() if "__main__.Node x2" in line]
    assert len(row) == 1 and row[0].split("|")[0].strip() == "100", table
