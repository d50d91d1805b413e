"""test_retained.py — retained sizes (issue 8) end to end: objects.retained and
objects.idom after a load, `top`, `dominators` and `summary --retained`, against
sizes the traced process adds up itself with sys.getsizeof over structures whose
ownership it built (unique, non-interned strings; lists). Instances add the
extra_size the dump records for them. No timing assertions.
"""
import json
import os
import subprocess

from dumper_util import run_traced, sql, check_eq

TIMEOUT = 300.0

BODY = r'''
import ctypes, weakref
def u(tag, i, j):
    return "%s-%d-%d-%s" % (tag, i, j, "y" * (i % 5))   # a new, non-interned str
def tree(tag, n, width=5):
    return [[u(tag, i, j) for j in range(width)] for i in range(n)]
def tree_size(t):
    return sys.getsizeof(t) + sum(sys.getsizeof(s) + sum(sys.getsizeof(x) for x in s) for s in t)

OWNER = [tree("own", 20000)]            # exclusively owns a big tree
SHARED = tree("shared", 30)
A = [tree("a", 30), SHARED]             # A and B share SHARED
B = [tree("b", 30), SHARED]
class T:
    __slots__ = ("items", "__weakref__")
TARGET = T()
TARGET.items = tree("t", 50)
WEAK = [weakref.ref(TARGET)]            # holds TARGET only weakly
def c_leak():
    o = tree("leak", 200, 3)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(o))   # a reference nobody owns
    return id(o), tree_size(o), sys.getsizeof(o[0]) + sum(sys.getsizeof(x) for x in o[0])
LEAK, LEAK_SIZE, LEAK_ROW = c_leak()
gc.collect()
pymple.dump("r.dump")
emit({
    "owner": id(OWNER), "owner_retained": sys.getsizeof(OWNER) + tree_size(OWNER[0]),
    "owner_tree": id(OWNER[0]), "owner_tree_retained": tree_size(OWNER[0]),
    "a": id(A), "a_retained": sys.getsizeof(A) + tree_size(A[0]),
    "b": id(B), "b_retained": sys.getsizeof(B) + tree_size(B[0]),
    "shared": id(SHARED), "shared_retained": tree_size(SHARED),
    "target": id(TARGET), "target_size": sys.getsizeof(TARGET) + tree_size(TARGET.items),
    "weak": id(WEAK), "weak_retained": sys.getsizeof(WEAK) + sys.getsizeof(WEAK[0]),
    "leak": LEAK, "leak_retained": LEAK_SIZE, "leak_row": LEAK_ROW,
})
'''


def analyze(ctx, *args):
    p = subprocess.run([ctx.analyzer] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
    assert p.returncode == 0, "pymple-analyze %s: %s" % (" ".join(map(str, args)), p.stderr)
    return p.stdout


def retained_of(ctx, dump, addr):
    rows = sql(ctx, dump, "SELECT retained, size, extra_size, idom, reachable FROM objects"
               " WHERE address = %d" % addr)
    assert len(rows) == 1, (addr, rows)
    return rows[0]


def traced(ctx):
    truth = run_traced(ctx, BODY)
    return truth, os.path.join(ctx.tmp, "r.dump")


def test_retained_sizes_exact(ctx):
    t, dump = traced(ctx)
    # Exclusive ownership: everything below counts.
    check_eq("OWNER retained", retained_of(ctx, dump, t["owner"])["retained"], t["owner_retained"])
    check_eq("OWNER[0] retained", retained_of(ctx, dump, t["owner_tree"])["retained"],
             t["owner_tree_retained"])
    # Shared: neither sharer retains the shared part; the shared part retains itself.
    check_eq("A retained", retained_of(ctx, dump, t["a"])["retained"], t["a_retained"])
    check_eq("B retained", retained_of(ctx, dump, t["b"])["retained"], t["b_retained"])
    check_eq("SHARED retained", retained_of(ctx, dump, t["shared"])["retained"],
             t["shared_retained"])
    # A weak reference retains the weakref object, not its referent.
    check_eq("WEAK retained", retained_of(ctx, dump, t["weak"])["retained"], t["weak_retained"])
    tr = retained_of(ctx, dump, t["target"])
    check_eq("TARGET retained", tr["retained"], t["target_size"] + tr["extra_size"])
    # A C extension's leak: held by a refcount only, a child of the super-root,
    # retaining its whole tree.
    lk = retained_of(ctx, dump, t["leak"])
    check_eq("leak retained", lk["retained"], t["leak_retained"])
    check_eq("leak idom", (lk["idom"], lk["reachable"]), (None, 1))


def test_retained_totals(ctx):
    t, dump = traced(ctx)
    [r] = sql(ctx, dump,
              "SELECT (SELECT sum(retained) FROM objects WHERE idom IS NULL AND reachable = 1) AS sup,"
              " (SELECT sum(size + extra_size) FROM objects WHERE reachable = 1) AS reach,"
              " (SELECT coalesce(sum(retained), 0) FROM objects WHERE idom IS NULL AND reachable = 0)"
              "  AS gar,"
              " (SELECT coalesce(sum(size + extra_size), 0) FROM objects WHERE reachable = 0) AS unreach,"
              " (SELECT count(*) FROM objects o WHERE idom IS NOT NULL AND NOT EXISTS"
              "  (SELECT 1 FROM objects d WHERE d.id = o.idom AND d.reachable = o.reachable)) AS bad,"
              " (SELECT value FROM meta WHERE key = 'dominators.cut') AS mode")
    check_eq("super-root children add up to the reachable total", r["sup"], r["reach"])
    check_eq("garbage-root children add up to the unreachable total", r["gar"], r["unreach"])
    check_eq("an idom in the other tree", r["bad"], 0)
    check_eq("mode", r["mode"], "classes")
    # summary --retained: per type at most the total; str dominates nothing, so
    # its retained size is its own total.
    rows = json.loads(analyze(ctx, "summary", dump, "--retained", "--format", "json"))
    [tot] = sql(ctx, dump, "SELECT sum(size + extra_size) AS s FROM objects")
    for row in rows:
        assert row["retained"] <= tot["s"], row
    [strs] = sql(ctx, dump, "SELECT sum(size + extra_size) AS s FROM objects WHERE type = 'str'"
                 " AND synthetic = 0")
    check_eq("str retained", [x["retained"] for x in rows if x["type"] == "str"], [strs["s"]])
    lists = [x["retained"] for x in rows if x["type"] == "list"]
    assert lists and lists[0] >= t["owner_retained"] + t["leak_retained"], (lists, t)


def test_top_and_dominators(ctx):
    t, dump = traced(ctx)
    rows = json.loads(analyze(ctx, "top", dump, "--format", "json"))
    assert rows, rows
    for r in rows:
        assert set(r) == {"address", "type", "size", "retained", "alloc", "path"}, r
    # The big tree is where memory accumulates: OWNER wraps it, the tree's
    # 20000 lists share it.
    top = rows[0]
    check_eq("top row", (top["address"], top["type"], top["retained"]),
             (t["owner_tree"], "list", t["owner_tree_retained"]))
    check_eq("path ends at the row", top["path"][-1]["address"], t["owner_tree"])
    check_eq("path step keys", set(top["path"][0]),
             {"label", "type", "name", "address", "objects", "root"})
    check_eq("last label", top["path"][-1]["label"], "[0]")
    [tot] = sql(ctx, dump, "SELECT sum(size + extra_size) AS s FROM objects")
    assert sum(r["retained"] for r in rows) <= tot["s"], "rows overlap"
    addrs = [r["address"] for r in rows]
    assert t["owner"] not in addrs, "OWNER only wraps the tree"
    # --type list: lists no other list dominates, the leaked one among them.
    lrows = json.loads(analyze(ctx, "top", dump, "--type", "list", "--limit", "0",
                               "--format", "json"))
    byaddr = {r["address"]: r for r in lrows}
    check_eq("leak in top --type list", byaddr[t["leak"]]["retained"], t["leak_retained"])
    assert t["owner_tree"] not in byaddr and t["shared"] in byaddr
    # dominators: the leak keeps 200 lists, each with its 3 strings.
    d = json.loads(analyze(ctx, "dominators", dump, hex(t["leak"]), "--format", "json"))
    check_eq("depth 0", (d[0]["depth"], d[0]["retained"]), (0, t["leak_retained"]))
    lvl1 = [(x["type"], x["objects"]) for x in d if x["depth"] == 1]
    check_eq("depth 1", lvl1, [("list", 200)])
    lvl2 = [(x["type"], x["objects"]) for x in d if x["depth"] == 2]
    check_eq("depth 2", lvl2, [("str", 600)])
    # one object: the label of the dominator's own reference to it
    d = json.loads(analyze(ctx, "dominators", dump, hex(t["owner"]), "--format", "json"))
    check_eq("OWNER's child", [(x["address"], x["label"], x["retained"]) for x in d
                               if x["depth"] == 1], [(t["owner_tree"], "[0]", t["owner_tree_retained"])])
    text = analyze(ctx, "dominators", dump, hex(t["owner"]))
    assert "retains" in text and "20000 × list" in text, text


def test_dominators_mode_all(ctx):
    t, dump = traced(ctx)
    db = dump + ".all.db"
    analyze(ctx, "-q", "load", dump, "-o", db, "--dominators=all")
    p = subprocess.run([ctx.analyzer, "sql", db, "SELECT value FROM meta WHERE key ="
                        " 'dominators.cut'", "--format", "json"], stdout=subprocess.PIPE,
                       universal_newlines=True)
    check_eq("mode", json.loads(p.stdout), [{"value": "none"}])
    p = subprocess.run([ctx.analyzer, "sql", db, "SELECT retained FROM objects WHERE address = %d"
                        % t["owner"], "--format", "json"], stdout=subprocess.PIPE,
                       universal_newlines=True)
    check_eq("OWNER retained, all references", json.loads(p.stdout),
             [{"retained": t["owner_retained"]}])
