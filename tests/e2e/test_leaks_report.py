"""test_leaks_report.py — `pymple-analyze leaks` (issue 9) end to end: a program that
leaks Ticket objects into Store._pending (a dict held by app.APP.chain[1].store), with
a structure that grows once and then stays flat (warm-up) and a large constant one
(static), dumped after every round. The truth comes from the traced process: how many
tickets it holds, the id of the dict holding them, the id of its biggest container.
No timing assertions.
"""
import json
import os
import re
import stat
import subprocess

from dumper_util import check_eq

TIMEOUT = 300.0

APP = r'''
class Ticket:
    def __init__(self, n):
        self.n = n
        self.payload = "ticket-%06d-%s" % (n, "x" * 40)

class Store:
    def __init__(self):
        self._pending = {}

class Middleware:
    def __init__(self, store=None):
        self.store = store

class App:
    def __init__(self):
        self.chain = [Middleware(), Middleware(Store()), Middleware()]

class Warm:
    def __init__(self, i):
        self.i = i

APP = App()
WARM = []
STATIC = [bytes([i % 256]) * 1500 for i in range(2000)]   # the biggest container

def serve(first, n):
    store = APP.chain[1].store
    for i in range(first, first + n):
        store._pending["t%06d" % i] = Ticket(i)            # never removed: the leak

def warm_up(n):
    WARM.extend(Warm(i) for i in range(n))
'''

DRIVER = r'''
import gc, json, os, sys, time
import pymple
import app

def main(outdir, rounds, per_round, pause):
    counts = []
    for r in range(rounds):
        if r:
            time.sleep(pause)          # dump times are whole seconds
        app.serve(r * per_round, per_round)
        if r == 1:
            app.warm_up(3000)          # between dump 1 and dump 2 only
        gc.collect()
        counts.append(len(app.APP.chain[1].store._pending))
        pymple.dump(os.path.join(outdir, "d%d.dump" % (r + 1)), quiet=True)
    return counts

counts = main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
print(json.dumps({"counts": counts, "pending": id(app.APP.chain[1].store._pending),
                  "static": id(app.STATIC), "pid": os.getpid()}))
'''

STEP_KEYS = {"label", "type", "name", "address", "objects", "root"}
SUSPECT_KEYS = {"type", "count", "counts", "bytes", "retained", "retained_per_dump", "at_stake",
                "growth_per_step", "share_dump", "share_rss", "trend", "path", "holder",
                "example", "next"}


def run_program(ctx, outdir, rounds=4, per_round=1000, pause=0.0):
    """Runs the leaking program; returns its truth. outdir may hold spaces."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(ctx.tmp, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(ctx.tmp, "driver.py"), "w") as f:
        f.write(DRIVER)
    env = ctx.env()
    env["PYTHONPATH"] = os.pathsep.join([ctx.pythonpath, ctx.tmp])
    p = subprocess.run([ctx.python, "driver.py", outdir, str(rounds), str(per_round), str(pause)], cwd=ctx.tmp,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    truth = json.loads(p.stdout.strip().splitlines()[-1])
    truth["dumps"] = [os.path.join(outdir, "d%d.dump" % (i + 1)) for i in range(rounds)]
    return truth


def analyzer_env(ctx):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(ctx.analyzer) + os.pathsep + env.get("PATH", "")
    return env


def leaks(ctx, *args, status=0):
    p = subprocess.run([ctx.analyzer, "leaks"] + [str(a) for a in args], cwd=ctx.tmp,
                       env=analyzer_env(ctx), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=TIMEOUT)
    assert p.returncode == status, "leaks %s: exit %d\n%s" % (args, p.returncode, p.stderr)
    return p


def leaks_json(ctx, *args):
    return json.loads(leaks(ctx, *args, "--format", "json").stdout)


def check_document(doc, ndumps):
    check_eq("document keys", set(doc), {"version", "dumps", "mode", "suspects", "not_suspects"})
    check_eq("dumps", len(doc["dumps"]), ndumps)
    for d in doc["dumps"]:
        check_eq("dump keys", set(d), {"path", "pid", "time", "objects", "size", "rss"})
    check_eq("not_suspects keys", set(doc["not_suspects"]), {"warm-up", "static", "small"})
    for s in doc["suspects"]:
        check_eq("suspect keys", set(s), SUSPECT_KEYS)
        for st in s["path"] + s["example"]["path"]:
            check_eq("step keys", set(st), STEP_KEYS)
        check_eq("per-dump arrays", (len(s["counts"]), len(s["bytes"]), len(s["retained_per_dump"])),
                 (ndumps,) * 3)
        if s["holder"] is not None:
            check_eq("holder keys", set(s["holder"]), {"address", "type", "length"})
        check_eq("example keys", set(s["example"]), {"address", "path"})
        check_eq("three next commands", len(s["next"]), 3)


def run_next(ctx, commands):
    for c in commands:
        p = subprocess.run(c, shell=True, cwd=ctx.tmp, env=analyzer_env(ctx), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
        assert p.returncode == 0, "%s: exit %d\n%s" % (c, p.returncode, p.stderr)
        assert p.stdout.strip(), "%s printed nothing" % c


def test_leak_is_the_top_suspect(ctx):
    t = run_program(ctx, os.path.join(ctx.tmp, "my dumps"))
    doc = leaks_json(ctx, *t["dumps"])
    check_document(doc, 4)
    check_eq("mode", doc["mode"], "growth")
    check_eq("pids", {d["pid"] for d in doc["dumps"]}, {t["pid"]})
    top = doc["suspects"][0]
    check_eq("top suspect", (top["type"], top["trend"]), ("app.Ticket", "steady"))
    check_eq("tickets held, per dump", top["counts"], t["counts"])
    check_eq("tickets held", top["count"], t["counts"][-1])
    check_eq("growth per step", top["growth_per_step"], 1000.0)
    check_eq("at stake", top["at_stake"], top["retained_per_dump"][-1] - top["retained_per_dump"][0])
    assert top["retained"] >= top["bytes"][-1] > 0, top
    # where: the attributes of the chain, the holder the program knows
    labels = [s["label"] for s in top["path"]]
    assert ".store" in labels and "._pending" in labels and ".APP" in labels, labels
    check_eq("last step", (top["path"][-1]["objects"], top["path"][-1]["address"],
                           top["path"][-1]["label"]), (t["counts"][-1], None, "[*]"))
    check_eq("first step", (top["path"][0]["name"], top["path"][0]["objects"]), ("module app", 1))
    check_eq("holder", (top["holder"]["address"], top["holder"]["type"], top["holder"]["length"]),
             (t["pending"], "dict", t["counts"][-1]))
    holder_steps = [s for s in top["path"] if s["address"] == t["pending"]]
    check_eq("the holder is a step of the path", len(holder_steps), 1)
    ex = top["example"]
    check_eq("example is the path's end", (ex["path"][-1]["address"], ex["path"][-1]["type"]),
             (ex["address"], "app.Ticket"))
    check_eq("example's holder", ex["path"][-2]["address"], t["pending"])
    # warm-up and static are counted, never listed
    types = [s["type"] for s in doc["suspects"]]
    assert "app.Warm" not in types and "bytes" not in types, types
    assert doc["not_suspects"]["warm-up"] >= 1 and doc["not_suspects"]["static"] >= 1, doc
    # the Ticket's own attributes are part of it, not suspects of their own
    assert not [s for s in doc["suspects"][1:] if any(st["type"] == "app.Ticket" for st in s["path"])]
    # every next command runs as printed, from a directory with a space in its name
    for s in doc["suspects"]:
        assert all(c.startswith("pymple-analyze ") for c in s["next"]), s["next"]
        run_next(ctx, s["next"])
    # the table says the same in words
    text = leaks(ctx, *t["dumps"]).stdout
    assert "#1 app.Ticket, steady: 1000 -> 2000 -> 3000 -> 4000 objects" in text, text
    assert "._pending" in text and "holder at 0x%x, 4000 items" % t["pending"] in text, text
    for c in top["next"]:
        assert c in text, c
    # csv: one row per suspect
    rows = leaks(ctx, *t["dumps"], "--format", "csv").stdout.splitlines()
    assert rows[0].startswith("rank,type,trend,count,count_1,count_2,count_3,count_4,"), rows[0]
    assert rows[1].startswith("1,app.Ticket,steady,4000,1000,2000,3000,4000,"), rows[1]


def test_two_dumps_and_one(ctx):
    t = run_program(ctx, os.path.join(ctx.tmp, "d"), rounds=3)
    doc = leaks_json(ctx, t["dumps"][0], t["dumps"][2])
    check_document(doc, 2)
    top = doc["suspects"][0]
    check_eq("two dumps", (top["type"], top["trend"], top["counts"]),
             ("app.Ticket", "unknown", [t["counts"][0], t["counts"][2]]))
    assert "a third dump would tell" in leaks(ctx, t["dumps"][0], t["dumps"][2]).stdout
    # one dump: the biggest accumulation point first
    doc = leaks_json(ctx, t["dumps"][2])
    check_document(doc, 1)
    check_eq("mode", doc["mode"], "single")
    top = doc["suspects"][0]
    check_eq("biggest container", (top["holder"]["address"], top["holder"]["length"], top["trend"]),
             (t["static"], 2000, "single"))
    check_eq("its objects", (top["type"], top["count"]), ("bytes", 2000))
    check_eq("at stake", top["at_stake"], top["retained"])
    run_next(ctx, top["next"])


def test_html_report(ctx):
    t = run_program(ctx, os.path.join(ctx.tmp, "d"), rounds=3)
    out = os.path.join(ctx.tmp, "report.html")
    p = leaks(ctx, *t["dumps"], "--html", out)
    assert "HTML report: %s" % out in p.stdout, p.stdout
    st = os.stat(out)
    check_eq("mode", stat.S_IMODE(st.st_mode), 0o600)
    with open(out, encoding="utf-8") as f:
        page = f.read()
    assert "app.Ticket" in page, page[:300]
    # the document the page embeds (report_html.h: <, > and & as \u escapes)
    m = re.search(r'<script type="application/json" id="pymple-data">(.*?)</script>', page, re.S)
    assert m, "no embedded document"
    doc = json.loads(m.group(1))
    check_document({k: v for k, v in doc.items() if k != "tree"}, 3)
    tree, nodes, stack = doc["tree"], 0, [doc["tree"]]
    check_eq("root", (tree["label"], tree["address"], tree["retained"]),
             ("heap", None, doc["dumps"][-1]["size"]))
    while stack:
        n = stack.pop()
        nodes += 1
        check_eq("node keys", set(n), {"label", "type", "address", "size", "retained", "children"})
        assert sum(c["retained"] for c in n["children"]) <= n["retained"], n["label"]
        stack.extend(n["children"])
    assert 1 < nodes <= 3100, nodes
    check_eq("no temporary left", sorted(os.listdir(ctx.tmp)).count("report.html"), 1)
    assert not [n for n in os.listdir(ctx.tmp) if n.endswith(".tmp")]


def test_other_process_refused(ctx):
    a = run_program(ctx, os.path.join(ctx.tmp, "a"), rounds=2, pause=1.1)
    b = run_program(ctx, os.path.join(ctx.tmp, "b"), rounds=2)
    assert a["pid"] != b["pid"]
    p = leaks(ctx, a["dumps"][0], b["dumps"][1], status=2)
    check_eq("stdout", p.stdout, "")
    lines = p.stderr.splitlines()
    check_eq("one line", len(lines), 1)
    assert lines[0].startswith("pymple-analyze: %s: dump of process %d" % (b["dumps"][1], b["pid"])), lines
    assert "--force" in lines[0], lines
    doc = leaks_json(ctx, a["dumps"][0], b["dumps"][1], "--force")
    check_document(doc, 2)
    # out of order: refused too
    p = leaks(ctx, a["dumps"][1], a["dumps"][0], status=2)
    check_eq("out of order", p.stderr, "pymple-analyze: %s: taken before %s: give the dumps oldest"
             " first (--force takes them in this order)\n" % (a["dumps"][0], a["dumps"][1]))
