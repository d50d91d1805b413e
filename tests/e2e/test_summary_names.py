"""test_summary_names.py — `summary --names` against truth from the traced
process: closures and classes created in a loop are counted by name, exactly,
with the bytes sys.getsizeof reports, and the named rows add up to the
plain per-type rows."""
import json
import subprocess

from dumper_util import run_traced

WORKLOAD = r'''
def make_handler(i):
    def handler(event):
        return event + i
    return handler

HANDLERS = [make_handler(i) for i in range(1234)]
PLUGINS = [type("Plugin", (), {"n": i}) for i in range(77)]
gc.collect()
name = make_handler(0).__qualname__
fns = [o for o in gc.get_objects() if type(o).__name__ == "function" and o.__qualname__ == name]
classes = [o for o in gc.get_objects() if type(o) is type and o.__qualname__ == "Plugin"]
path = os.path.abspath(pymple.dump("names.dump"))
emit({"path": path, "name": name,
      "fn_count": len(fns), "fn_size": sum(sys.getsizeof(f) for f in fns),
      "cls_count": len(classes), "cls_size": sum(sys.getsizeof(c) for c in classes)})
'''


def _summary(ctx, path, *args):
    p = subprocess.run([ctx.analyzer, "summary", path, "--format", "json"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0, p.stderr
    return {row["type"]: row for row in json.loads(p.stdout)}


def test_summary_names_counts_closures_and_classes(ctx):
    truth = run_traced(ctx, WORKLOAD)
    assert truth["fn_count"] == 1234 and truth["cls_count"] == 77, truth
    named = _summary(ctx, truth["path"], "--names")
    fn = named.get("function (%s)" % truth["name"])
    assert fn, "no row for function (%s): %s" % (truth["name"], sorted(named)[:20])
    assert (fn["count"], fn["size"]) == (truth["fn_count"], truth["fn_size"]), (fn, truth)
    cls = named.get("type (__main__.Plugin)")
    assert cls, "no row for type (__main__.Plugin)"
    assert (cls["count"], cls["size"]) == (truth["cls_count"], truth["cls_size"]), (cls, truth)
    # Splitting by name moves objects between rows, never adds or drops any.
    plain = _summary(ctx, truth["path"])
    for kind in ("function", "type"):
        parts = [r for t, r in named.items() if t == kind or t.startswith(kind + " (")]
        assert sum(r["count"] for r in parts) == plain[kind]["count"], kind
        assert sum(r["size"] for r in parts) == plain[kind]["size"], kind
    assert named["dict"] == plain["dict"]
