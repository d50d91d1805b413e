"""End-to-end: roots — a local of a running frame in another thread is
found (3.11+: through the interpreter frame chain) and labelled with its
name; every thread gets a synthetic root record; gc.freeze() hides objects
from gc.get_objects() but the dump still holds them."""
from dumper_util import check_eq, run_traced, sql, version

THREADS = r'''
import threading
ready, done = threading.Event(), threading.Event()
box = {}
def worker(tag):
    secret = "secret-%s-%d" % (tag, os.getpid())   # referenced only by this frame
    pair = (secret, 7)                              # untracked-able tuple local
    box[tag] = id(secret)
    ready.set()
    done.wait()
    return pair
t = threading.Thread(target=worker, args=("w",), name="worker-1")
t.start()
ready.wait()
main_local = "main-%d" % os.getpid() + "-local"
pymple.dump("thr.dump")
done.set()
t.join()
emit({"secret": box["w"], "main_local": id(main_local), "threads": 2})
'''


def test_dump_thread_frames(ctx):
    t = run_traced(ctx, THREADS)
    dump = ctx.tmp + "/thr.dump"
    got = sql(ctx, dump, "SELECT address, value FROM objects WHERE address IN (%d, %d)" % (t["secret"], t["main_local"]))
    check_eq("frame-only locals found", sorted(r["address"] for r in got), sorted([t["secret"], t["main_local"]]))
    # Who refers to the worker's local, under which label.
    if version(ctx) >= (3, 11):
        holder = "<frame>"
    else:
        holder = "frame"
    rows = sql(ctx, dump, "SELECT o.type, o.synthetic, r.label FROM refs r JOIN objects o ON o.address = r.src "
               "WHERE r.dst = %d" % t["secret"])
    assert any(r["type"] == holder and r["label"] == ".secret" for r in rows), rows
    threads = sql(ctx, dump, "SELECT address, value FROM objects WHERE type = '<thread>' AND synthetic = 1")
    check_eq("thread records", len(threads), t["threads"])
    assert sum(1 for r in threads if r["value"].endswith("(main)")) == 1, threads
    names = sorted(r["value"].split()[2] for r in threads)  # "thread <ident> <name> [(main)]"
    check_eq("thread names from threading", names, ["MainThread", "worker-1"])
    roots = sql(ctx, dump, "SELECT address FROM roots WHERE kind = 'thread'")
    check_eq("thread roots", sorted(r["address"] for r in roots), sorted(r["address"] for r in threads))
    kinds = {r["kind"] for r in sql(ctx, dump, "SELECT DISTINCT kind FROM roots")}
    assert {"sys.modules", "builtins", "sys", "thread"} <= kinds, kinds
    if version(ctx) >= (3, 11):
        frames = sql(ctx, dump, "SELECT value FROM objects WHERE type = '<frame>'")
        assert any(f["value"].startswith("worker ") for f in frames), frames


FREEZE = r'''
class Item:
    def __init__(self, i):
        self.i = i
        self.tag = "t%d" % i
items = [Item(i) for i in range(400)]
gc.collect()
gc.freeze()
visible = sum(1 for o in gc.get_objects() if type(o) is Item)
pymple.dump("frozen.dump")
emit({"visible": visible, "items": sorted(id(x) for x in items), "frozen": gc.get_freeze_count()})
'''


def test_dump_after_gc_freeze(ctx):
    t = run_traced(ctx, FREEZE)
    assert t["frozen"] > 0
    dump = ctx.tmp + "/frozen.dump"
    rows = sql(ctx, dump, "SELECT address FROM objects WHERE type = '__main__.Item' ORDER BY address")
    check_eq("frozen instances in the dump", [r["address"] for r in rows], t["items"])
    check_eq("gc.get_objects() sees none of them", t["visible"], 0)
