"""End-to-end: objects that only the collector's lists reach (unreachable
cycles, in every generation and in the permanent one after gc.freeze(),
single objects and runs of them between reachable ones) are all in the
dump, and the dump's gc_objects counts every object in those lists.
The walker does not step through the lists node by node: it starts from
the node after each tracked object it writes (walk.c, struct walk), so a
gap of unreachable nodes anywhere in a list must still be found."""
from dumper_util import check_eq, run_traced, sql

WORKLOAD = r'''
gc.disable()
class G:
    pass
def ring(n):
    objs = [G() for _ in range(n)]
    for a, b in zip(objs, objs[1:] + objs[:1]):
        a.o = b
    return objs
keep = []          # reachable: between the rings in the lists
only_lists = []    # ids of what only the lists reach at dump time
def rings(count):
    held = []
    for i in range(count):
        held.append(ring(1 + i % 5))   # 1-5 objects, then a kept one
        keep.append(G())
    return held
held = rings(40)
gc.freeze()                 # the permanent generation
only_lists += [id(o) for r in held for o in r]
held = rings(40)
gc.collect()                # generation 2 (held keeps them alive)
only_lists += [id(o) for r in held for o in r]
held = rings(40)
gc.collect(0)               # generation 1
only_lists += [id(o) for r in held for o in r]
held = rings(40)            # generation 0
only_lists += [id(o) for r in held for o in r]
held = r = None             # now only the lists reach the rings
in_lists = len(gc.get_objects()) + gc.get_freeze_count()
pymple.dump("lists.dump")
emit({"only_lists": only_lists, "in_lists": in_lists})
'''


def test_objects_only_the_gc_lists_reach(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/lists.dump"
    got = {r["address"] for r in sql(ctx, dump, "SELECT address FROM objects WHERE type = '__main__.G'")}
    missing = [a for a in t["only_lists"] if a not in got]
    check_eq("unreachable ring members missing from the dump", (len(missing), missing[:5]), (0, []))
    meta = {r["key"]: r["value"] for r in sql(ctx, dump, "SELECT key, value FROM meta")}
    # one more than the process counted: dump()'s own argument tuple (a
    # METH_VARARGS call), tracked while the dump runs
    check_eq("gc_objects", int(meta["gc_objects"]), t["in_lists"] + 1)
