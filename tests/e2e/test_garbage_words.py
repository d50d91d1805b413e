"""End-to-end: `garbage` states facts, not verdicts (issue 10). On a clean
heap it prints no leak verdict, however many objects the interpreter holds
from C; --list lists the very objects gc.collect() would free (truth from
the traced process, collector disabled, DEBUG_SAVEALL)."""
import json
import subprocess

from dumper_util import check_eq, run_traced

WORKLOAD = r'''
import gc, io
gc.disable()
buf = io.StringIO("x" * 100)      # io internals: held from C
class Node:
    pass
def cycle():
    a = Node(); b = Node(); a.b = b; b.a = a
    return id(a), id(b)
ids = cycle()                      # unreachable from here on
pymple.dump("garbage.dump")
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
emit({"cycle": list(ids), "garbage": sorted(id(o) for o in gc.garbage if type(o).__name__ == "Node")})
'''


def _run(ctx, *args):
    p = subprocess.run([ctx.analyzer] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_garbage_facts_and_list(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/garbage.dump"
    out = _run(ctx, "garbage", dump) + _run(ctx, "garbage", dump, "--list")
    for word in ("leak", "signature"):
        assert word not in out.lower(), "garbage gives a verdict (%r):\n%s" % (word, out)
    assert "held by native code" in out, out
    rows = json.loads(_run(ctx, "garbage", dump, "--list", "--limit", "0", "--format", "json"))
    nodes = sorted(r["address"] for r in rows if r["kind"] == "unreachable" and r["type"].endswith(".Node"))
    check_eq("unreachable Node objects listed", nodes, sorted(t["garbage"]))
    check_eq("the cycle is what gc frees", sorted(t["cycle"]), sorted(t["garbage"]))
