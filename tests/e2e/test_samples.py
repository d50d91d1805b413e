"""test_samples.py — end-to-end checks of the sample leak programs: their dumps
hold exactly the leaked objects that gc.get_objects() counts inside the same
process just before each dump, and the demo script runs. Not a timing test.
"""
import json
import os
import shutil
import sqlite3
import subprocess

# Runs a sample as module `name` (so its classes are name.Session, ...) with
# pymple.dump wrapped: just before each dump, the truth about the classes
# asked for is taken from gc.get_objects() and printed as one TRUTH line.
DRIVER = r'''
import gc, importlib.util, json, sys
import pymple
path, name, classes, args, nogc = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4:], False
if args and args[0] == "--no-gc":
    nogc, args = True, args[1:]
    gc.disable()
spec = importlib.util.spec_from_file_location(name, path)
mod = importlib.util.module_from_spec(spec)
sys.modules[name] = mod
spec.loader.exec_module(mod)
truth = []
real_dump = pymple.dump
def dump(p, **kw):
    row = {}
    for cls in classes:
        objs = [o for o in gc.get_objects() if type(o) is getattr(mod, cls)]
        row[cls] = [len(objs), sum(sys.getsizeof(o) for o in objs)]
        del objs
    truth.append(row)
    return real_dump(p, **kw)
pymple.dump = dump
mod.main(args)
print("TRUTH " + json.dumps(truth))
'''


def run_sample(ctx, sample, module, classes, *args):
    """Returns (truth per dump, dump paths)."""
    path = os.path.join(ctx.root, "samples", sample)
    r = subprocess.run([ctx.python, "-c", DRIVER, path, module, ",".join(classes)] + list(args),
                       env=ctx.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    truth = json.loads([l for l in lines if l.startswith("TRUTH ")][0][6:])
    dumps = [l for l in lines if l.endswith(".dump")]
    assert len(dumps) == len(truth), r.stdout
    return truth, dumps


def load(ctx, dump):
    db = dump + ".db"
    r = subprocess.run([ctx.analyzer, "load", dump, "-o", db], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return sqlite3.connect(db)


def type_counts(con, typename):
    """(count, total size, reachable count) of one type in a loaded dump."""
    return con.execute("SELECT count(*), coalesce(sum(size), 0), coalesce(sum(reachable), 0) "
                       "FROM objects WHERE type = ?", (typename,)).fetchone()


def test_registry_leak_sessions_exact(ctx):
    truth, dumps = run_sample(ctx, "registry_leak.py", "registry_leak", ["Session", "CartItem"],
                              "--rounds", "2", "--requests", "150", "--dump-dir", ctx.tmp)
    # The program's own promise, checked by gc in the process: 150 per round.
    assert [t["Session"][0] for t in truth] == [150, 300], truth
    for t, dump in zip(truth, dumps):
        con = load(ctx, dump)
        for cls in ("Session", "CartItem"):
            count, size, reachable = type_counts(con, "registry_leak." + cls)
            assert (count, size) == tuple(t[cls]), (dump, cls, count, size, t[cls])
            assert reachable == count, (dump, cls, reachable, count)  # held by SESSIONS


def test_callback_leak_windows_alive(ctx):
    truth, dumps = run_sample(ctx, "callback_leak.py", "callback_leak", ["Window", "Widget"],
                              "--rounds", "3", "--windows", "20", "--dump-dir", ctx.tmp)
    assert [t["Window"][0] for t in truth] == [20, 40, 60], truth
    con = load(ctx, dumps[-1])
    for cls in ("Window", "Widget"):
        count, size, reachable = type_counts(con, "callback_leak." + cls)
        assert (count, size) == tuple(truth[-1][cls]), (cls, count, size, truth[-1][cls])
        assert reachable == count, (cls, reachable, count)  # BUS holds them all


def test_callback_fixed_windows_are_garbage(ctx):
    # With close() fixed and the collector off, every closed window is an
    # unreachable cycle still in memory: all present, none reachable.
    truth, dumps = run_sample(ctx, "callback_leak.py", "callback_leak", ["Window", "Widget"],
                              "--no-gc", "--rounds", "2", "--windows", "25", "--fixed",
                              "--dump-dir", ctx.tmp)
    assert [t["Window"][0] for t in truth] == [25, 50], truth
    con = load(ctx, dumps[-1])
    for cls in ("Window", "Widget"):
        count, size, reachable = type_counts(con, "callback_leak." + cls)
        assert (count, size) == tuple(truth[-1][cls]), (cls, count, size, truth[-1][cls])
        assert reachable == 0, (cls, reachable)


def test_demo_runs(ctx):
    build = os.path.dirname(os.path.dirname(ctx.analyzer))
    demo = os.path.join(ctx.tmp, "demo dir")
    html = os.path.join(demo, "leaks.html")
    r = subprocess.run(["sh", os.path.join(ctx.root, "samples", "demo.sh"), build],
                       capture_output=True, text=True, timeout=300,
                       env=dict(ctx.env(), PYTHON=ctx.python, DEMO_DIR=demo))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "__main__.Session" in r.stdout, r.stdout
    # it ends with the leaks report: 2000 sessions a round, held by SESSIONS
    assert "#1 __main__.Session, steady: 2000 -> 4000 -> 6000 objects" in r.stdout, r.stdout
    assert r.stdout.rstrip().endswith("HTML report: " + html), r.stdout[-300:]
    assert os.path.getsize(html) > 0
    # the commands the report says to run next still run once the demo is over
    nexts = [l.split("next", 1)[-1].strip() for l in r.stdout.splitlines()
             if "pymple-analyze " in l and ("next " in l or l.startswith("            "))]
    assert len(nexts) == 3, r.stdout
    for cmd in nexts:
        n = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300)
        assert n.returncode == 0 and n.stdout.strip(), (cmd, n.stderr)


def test_committed_sample_dump_current(ctx):
    # samples/registry_leak.dump must still load with this analyzer (else rerun
    # samples/make-sample-dump.sh): 3 rounds x 50 requests = 150 sessions, all
    # held through the module global SESSIONS, keyed by their session ids.
    dump = os.path.join(ctx.tmp, "registry_leak.dump")
    shutil.copyfile(os.path.join(ctx.root, "samples", "registry_leak.dump"), dump)
    con = load(ctx, dump)
    count, _, reachable = type_counts(con, "__main__.Session")
    assert (count, reachable) == (150, 150), (count, reachable)
    r = subprocess.run([ctx.analyzer, "path", dump, "--type", "__main__.Session", "--limit", "3",
                        "--format", "json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    chains = json.loads(r.stdout)
    assert len(chains) == 3, chains
    for chain in chains:
        edges = [step["label"] for step in chain]
        assert chain[0]["type"] == "module" and chain[0]["name"] == "module __main__", chain
        assert "['SESSIONS']" in edges, edges
        assert chain[-1]["type"] == "__main__.Session", chain
        assert edges[-1].startswith("['s00000"), edges
