"""End-to-end (issue 12): classes that borrow another class's C __sizeof__
(`__sizeof__ = dict.__sizeof__`). CPython refuses to call such a method on an
object of another layout; the dumper must not call it either (it used to, and
the traced process died of SIGSEGV). The instances are dumped, counted, sized
by their layout and flagged size_approx; META counts them."""
from dumper_util import check_eq, run_traced, sql

WORKLOAD = r'''
import array, collections, io
DONORS = {"dict": dict, "OrderedDict": collections.OrderedDict, "set": set,
          "frozenset": frozenset, "array": array.array, "deque": collections.deque,
          "BytesIO": io.BytesIO}
N = 1000
classes, twins, keep = {}, {}, []
for name, donor in DONORS.items():
    classes[name] = type("Borrow_" + name, (), {"__sizeof__": donor.__sizeof__})
    twins[name] = type("Twin_" + name, (), {})   # the same layout, object.__sizeof__
# And one whose own layout is a list's: a subclass borrowing set's method.
classes["list_set"] = type("Borrow_list_set", (list,), {"__sizeof__": set.__sizeof__})
twins["list_set"] = type("Twin_list_set", (list,), {})
truth = {}
for name, cls in classes.items():
    objs = [cls() for _ in range(N)]
    for i, o in enumerate(objs):
        o.attr = i
    twin = twins[name]()
    twin.attr = 0
    # CPython itself refuses the borrowed method: the premise of the test.
    try:
        sys.getsizeof(objs[0])
        refused = False
    except TypeError:
        refused = True
    truth[name] = {"ids": sorted(id(o) for o in objs), "size": sys.getsizeof(twin),
                   "refused": refused}
    keep.append(objs)
path = pymple.dump("foreign.dump", quiet=True)
emit({"path": path, "truth": truth})
'''


def test_borrowed_c_sizeof_is_not_called(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/foreign.dump"
    check_eq("returned path", t["path"], "foreign.dump")
    total = 0
    for name, want in sorted(t["truth"].items()):
        assert want["refused"], "CPython accepted %s's borrowed __sizeof__" % name
        rows = sql(ctx, dump, "SELECT address, size, size_approx FROM objects "
                   "WHERE type = '__main__.Borrow_%s' ORDER BY address" % name)
        check_eq("%s addresses" % name, [r["address"] for r in rows], want["ids"])
        check_eq("%s flagged size_approx" % name, sum(r["size_approx"] for r in rows), len(rows))
        # The layout size is what a twin class with object's __sizeof__ reports.
        check_eq("%s sizes" % name, sorted({r["size"] for r in rows}), [want["size"]])
        total += len(rows)
    meta = {r["key"]: r["value"] for r in sql(ctx, dump, "SELECT key, value FROM meta")}
    check_eq("skipped.sizeof_foreign", meta.get("skipped.sizeof_foreign"), str(total))
