"""End-to-end: edge labels — dict values under their str key, instance
attributes by name (3.11+ inline values without a __dict__, __slots__, and
through __dict__ before 3.11), list/tuple items by index, weak references
flagged weak, function/type fields by name."""
import json

from dumper_util import check_eq, run_traced, sql, version

WORKLOAD = r'''
import weakref
pid = os.getpid()
class Account:
    def __init__(self):
        self.owner = "owner-%d" % pid
class Pt:
    __slots__ = ("x", "y")
acct = Account()
pt = Pt(); pt.x = "px-%d" % pid; pt.y = None
config = {"timeout": "t-%d" % pid, 5: "five-%d" % pid}
seq = ["a-%d" % pid, "b-%d" % pid, "c-%d" % pid, "d-%d" % pid]
tup = tuple(seq)
wr = weakref.ref(acct)
def fn():
    return 1
def fails():
    held_by_frame = "held-%d" % pid
    raise ValueError(held_by_frame)
try:
    fails()
except ValueError as e:
    tb = e.__traceback__
    held = e.args[0]
frame = tb.tb_next.tb_frame      # a finished frame that a traceback keeps
def producer():
    gen_local = "gen-%d" % pid
    yield gen_local
gen = producer()
gen_value = next(gen)            # suspended generator: its frame holds gen_local
pymple.dump("labels.dump")
emit({
    "acct": id(acct), "owner": id(acct.owner), "acct_dict": id(acct.__dict__) if sys.version_info < (3, 11) else None,
    "pt": id(pt), "px": id(pt.x),
    "config": id(config), "timeout": id(config["timeout"]), "five": id(config[5]),
    "seq": id(seq), "tup": id(tup), "d": id(seq[3]),
    "wr": id(wr), "fn": id(fn), "code": id(fn.__code__),
    "frame": id(frame), "held": id(held), "gen": id(gen), "gen_local": id(gen_value),
    "gen_frame": id(gen.gi_frame) if sys.version_info < (3, 11) else None,
})
'''


def _labels(ctx, dump, src, dst):
    return [r["label"] for r in sql(ctx, dump, "SELECT label FROM refs WHERE src = %d AND dst = %d" % (src, dst))]


def test_dump_edge_labels(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/labels.dump"
    check_eq("dict key label", _labels(ctx, dump, t["config"], t["timeout"]), ["['timeout']"])
    check_eq("non-str key: no label", _labels(ctx, dump, t["config"], t["five"]), [None])
    check_eq("list index label", _labels(ctx, dump, t["seq"], t["d"]), ["[3]"])
    check_eq("tuple index label", _labels(ctx, dump, t["tup"], t["d"]), ["[3]"])
    check_eq("slot label", _labels(ctx, dump, t["pt"], t["px"]), [".x"])
    if version(ctx) >= (3, 11):
        # inline values: the attribute hangs off the instance itself
        check_eq("inline attribute label", _labels(ctx, dump, t["acct"], t["owner"]), [".owner"])
    else:
        check_eq("__dict__ label", _labels(ctx, dump, t["acct"], t["acct_dict"]), [".__dict__"])
        check_eq("attribute via __dict__", _labels(ctx, dump, t["acct_dict"], t["owner"]), ["['owner']"])
    check_eq("function field label", _labels(ctx, dump, t["fn"], t["code"]), [".__code__"])
    check_eq("local of a finished frame", _labels(ctx, dump, t["frame"], t["held"]), [".held_by_frame"])
    holder = t["gen"] if t["gen_frame"] is None else t["gen_frame"]
    check_eq("local of a suspended generator", _labels(ctx, dump, holder, t["gen_local"]), [".gen_local"])
    weak = sql(ctx, dump, "SELECT weak FROM refs WHERE src = %d AND dst = %d" % (t["wr"], t["acct"]))
    check_eq("weak reference flagged", [r["weak"] for r in weak], [1])
    assert json.dumps(t)
