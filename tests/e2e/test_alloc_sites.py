"""End-to-end: allocation sites from tracemalloc (FORMAT.md SITE/ALLOC,
objects.alloc, site_frames). The traced process creates objects at lines it
records itself (in a loop, in a helper function, in a list comprehension:
a `<listcomp>` frame up to 3.11, inlined from 3.12), asks tracemalloc for
each object's raw traceback where it answers, and dumps; every object must
get exactly its line, and the whole traceback where tracemalloc answers.
Also: no sites without tracemalloc; the fork-mode signal dump carries the
in-process sites on 3.12+ and says why not in META on 3.8-3.11; type counts
are the same before and after an in-process dump with tracemalloc on."""
import os

from dumper_util import check_eq, run_traced, sql, version

WORKLOAD = r'''
import signal, time, tracemalloc
tracemalloc.start(8)
# lists and tuples freed before tracemalloc started wait in free lists; taken
# from there they have no trace (README: free lists): use them up first
drain = [[] for _ in range(200)], [(i, -i) for i in range(3000)]
here = lambda: sys._getframe(1).f_lineno
class Node:
    def __init__(self, i):
        self.i = i
def helper(i): return Node(i)
LINE_HELPER = helper.__code__.co_firstlineno
objs = {}
loop = []
for i in range(150):
    loop.append(Node(i)); loop.append([i, i + 1]); loop.append(b"x" * (200 + i)); LINE_LOOP = here()
comp = [Node(i) for i in range(150)]; LINE_COMP = here()
helped = [helper(i) for i in range(150)]; LINE_HELPED = here()
truth = {}
def record(o, line, kind):
    raw = tracemalloc._get_object_traceback(o)
    truth[str(id(o))] = {"line": line, "kind": kind,
                         "tm": [list(f) for f in raw] if raw is not None else None}
for o in loop:
    record(o, LINE_LOOP, "loop-" + type(o).__name__)
for o in comp:
    record(o, LINE_COMP, "comp")
for o in helped:
    record(o, LINE_HELPER, "helper")
mode = sys.argv[1]
if mode == "inproc":
    pymple.dump("sites.dump")
else:
    os.mkdir("out")
    pymple.install(directory="out", fork=True, quiet=True)
    os.kill(os.getpid(), signal.SIGUSR2)
    while not [f for f in os.listdir("out") if f.endswith(".dump")]:
        time.sleep(0.01)
    pymple.uninstall()
    os.rename(os.path.join("out", [f for f in os.listdir("out") if f.endswith(".dump")][0]),
              "sites-fork.dump")
emit({"truth": truth, "lines": [LINE_LOOP, LINE_COMP, LINE_HELPED, LINE_HELPER]})
'''


def frames_of(ctx, dump):
    """{address: [(file, line), ...] innermost first} of objects allocated in <string>."""
    rows = sql(ctx, dump, "SELECT o.address AS address, f.depth AS depth, f.file AS file,"
                          " f.line AS line FROM objects o JOIN site_frames f ON f.site = o.site"
                          " WHERE o.site IN (SELECT site FROM site_frames WHERE depth = 0"
                          " AND file = '<string>') ORDER BY o.address, f.depth")
    out = {}
    for r in rows:
        out.setdefault(r["address"], []).append((r["file"], r["line"]))
    return out


def check_sites(ctx, dump, t, ver):
    truth, (line_loop, line_comp, line_helped, line_helper) = t["truth"], t["lines"]
    alloc = {r["address"]: r["alloc"] for r in sql(
        ctx, dump, "SELECT address, alloc FROM objects WHERE alloc LIKE '<string>:%'")}
    frames = frames_of(ctx, dump)
    tm_none = tm_missed = 0
    for addr, want in truth.items():
        a = int(addr)
        # where tracemalloc has no trace, the dump has no site either, except
        # 3.11's managed-dict instances, which its lookup misses
        placed = want["tm"] is not None or (ver == (3, 11) and want["kind"] != "loop-list"
                                            and want["kind"] != "loop-bytes")
        check_eq("alloc of %s at %s" % (want["kind"], addr), alloc.get(a),
                 "<string>:%d" % want["line"] if placed else None)
        if not placed:
            tm_none += 1
            continue
        got = [list(f) for f in frames[a]]
        if want["tm"] is not None:
            # tracemalloc's own answer, innermost first, frame for frame
            check_eq("traceback of %s at %s" % (want["kind"], addr), got, want["tm"])
        else:
            tm_missed += 1
        # the callers, from the workload's own line numbers
        listcomp_frame = ver < (3, 12)
        if want["kind"] == "comp":
            check_eq("comp frames", [f[1] for f in got],
                     [line_comp, line_comp] if listcomp_frame else [line_comp])
        elif want["kind"] == "helper":
            check_eq("helper frames", [f[1] for f in got],
                     [line_helper, line_helped, line_helped] if listcomp_frame
                     else [line_helper, line_helped])
        else:
            check_eq("loop frames", [f[1] for f in got], [line_loop])
    # 3.11's tracemalloc.get_object_traceback() misses managed-dict instances
    # (it subtracts only the GC header); the dump has them all.
    check_eq("instances only the dump places", tm_missed, 450 if ver == (3, 11) else 0)
    check_eq("objects without a trace", tm_none, 0)
    return alloc


def test_sites_in_process(ctx):
    ver = version(ctx)
    t = run_traced(ctx, WORKLOAD, "inproc")
    dump = os.path.join(ctx.tmp, "sites.dump")
    alloc = check_sites(ctx, dump, t, ver)
    meta = {r["key"]: r["value"] for r in sql(ctx, dump, "SELECT key, value FROM meta")}
    check_eq("alloc.frames", meta.get("alloc.frames"), "8")
    assert int(meta["alloc.objects"]) >= len(alloc), meta
    check_eq("load.sites", meta["load.sites"],
             str(sql(ctx, dump, "SELECT count(*) AS n FROM sites")[0]["n"]))
    # summary --by-site counts the 450 instances and the lists and bytes of the loop
    import subprocess
    out = subprocess.run([ctx.analyzer, "summary", "--by-site", dump, "--format", "csv",
                          "--limit", "0"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout.splitlines()
    rows = {l.rsplit(",", 2)[0]: int(l.rsplit(",", 2)[1]) for l in out[1:]}
    line_loop = t["lines"][0]
    check_eq("summary --by-site loop line", rows.get("<string>:%d" % line_loop), 450)


def test_sites_fork_child(ctx):
    ver = version(ctx)
    t = run_traced(ctx, WORKLOAD, "fork")
    dump = os.path.join(ctx.tmp, "sites-fork.dump")
    meta = {r["key"]: r["value"] for r in sql(ctx, dump, "SELECT key, value FROM meta")}
    check_eq("in_child", meta["in_child"], "1")
    if ver >= (3, 12):
        check_sites(ctx, dump, t, ver)
        assert "alloc.skipped" not in meta, meta
    else:
        assert meta.get("alloc.skipped", "").startswith("forked child"), meta
        check_eq("sites in a 3.8-3.11 fork dump",
                 sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE alloc IS NOT NULL")[0]["n"], 0)


PLAIN = r'''
class Node:
    def __init__(self, i):
        self.i = i
keep = [Node(i) for i in range(100)]
pymple.dump("plain.dump")
emit({"ok": True})
'''


def test_no_sites_without_tracemalloc(ctx):
    run_traced(ctx, PLAIN)
    dump = os.path.join(ctx.tmp, "plain.dump")
    check_eq("objects with a site",
             sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE alloc IS NOT NULL"
                            " OR site IS NOT NULL")[0]["n"], 0)
    check_eq("sites", sql(ctx, dump, "SELECT count(*) AS n FROM sites")[0]["n"], 0)
    check_eq("alloc meta keys",
             sql(ctx, dump, "SELECT count(*) AS n FROM meta WHERE key LIKE 'alloc.%'")[0]["n"], 0)


COUNTS = r'''
import tracemalloc
tracemalloc.start(4)
class Emp:
    def __init__(self, i):
        self.a = i
        self.b = "b%d" % i
emps = [Emp(i) for i in range(300)]
pairs = [(i, str(i)) for i in range(300)]
def closure_counts():
    seen = reachable_objects()
    counts = {}
    for o in seen.values():
        n = type(o).__name__
        counts[n] = counts.get(n, 0) + 1
    del seen, o
    return json.dumps(counts, sort_keys=True)
gc.collect()
gc.disable()
c1 = closure_counts()
c2 = closure_counts()
pymple.dump("counts.dump")
c3 = closure_counts()
def diff(x, y):
    x, y = json.loads(x), json.loads(y)
    return {k: y.get(k, 0) - x.get(k, 0) for k in set(x) | set(y) if y.get(k, 0) != x.get(k, 0)}
emit({"baseline": diff(c1, c2), "dump": diff(c2, c3)})
'''


def test_type_counts_unchanged_with_tracemalloc(ctx):
    t = run_traced(ctx, COUNTS)
    check_eq("type count changes across a dump with sites", t["dump"], t["baseline"])
    dump = os.path.join(ctx.tmp, "counts.dump")
    assert sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE type = '__main__.Emp'"
                          " AND alloc IS NOT NULL")[0]["n"] == 300


RUN_SCRIPT = r'''
import sys
import pymple
class K:
    pass
keep = [K() for _ in range(40)]; LINE = sys._getframe().f_lineno
pymple.dump(sys.argv[1])
print(LINE)
'''


def test_run_tracemalloc_option(ctx):
    import subprocess
    script = os.path.join(ctx.tmp, "runme.py")
    with open(script, "w") as f:
        f.write(RUN_SCRIPT)
    dump = os.path.join(ctx.tmp, "run.dump")
    p = subprocess.run([ctx.python, "-m", "pymple", "run", "--tracemalloc", "2", script, dump],
                       env=ctx.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert p.returncode == 0, p.stderr
    line = int(p.stdout.split()[-1])
    rows = sql(ctx, dump, "SELECT alloc, count(*) AS n FROM objects WHERE type = '__main__.K'"
                          " GROUP BY 1")
    check_eq("K instances by site", rows, [{"alloc": "%s:%d" % (script, line), "n": 40}])
    check_eq("alloc.frames", sql(ctx, dump, "SELECT value FROM meta WHERE key = 'alloc.frames'"),
             [{"value": "2"}])
    bad = subprocess.run([ctx.python, "-m", "pymple", "run", "--tracemalloc", "x", script, dump],
                         env=ctx.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    assert bad.returncode == 2 and "--tracemalloc: 'x' is not a frame count" in bad.stderr, \
        bad.stderr
