"""End-to-end: instances of user classes (plain, __slots__, dict subclass)
are dumped exactly: the count, the addresses and sys.getsizeof sizes that
the traced process reports, and their type names module.qualname."""
from dumper_util import check_eq, run_traced, sql, version

WORKLOAD = r'''
class Employee:
    def __init__(self, i):
        self.name = "emp-%d" % i
        self.salary = 1000 + i
class Point:
    __slots__ = ("x", "y")
    def __init__(self, i):
        self.x = i * 0.5
        self.y = ("y", i)
class Outer:
    class Inner(dict):
        pass
N, M = 1234, 321
staff = [Employee(i) for i in range(N)]
points = [Point(i) for i in range(M)]
inner = [Outer.Inner(a=i) for i in range(7)]
path = pymple.dump("inst.dump")
emit({"path": path,
      "staff": sorted([id(e), sys.getsizeof(e)] for e in staff),
      "points": sorted([id(p), sys.getsizeof(p)] for p in points),
      "inner": sorted([id(d), sys.getsizeof(d)] for d in inner)})
'''


def _rows(ctx, dump, type_name):
    rows = sql(ctx, dump, "SELECT address, size, size_approx, extra_size FROM objects WHERE type = '%s' "
               "ORDER BY address" % type_name)
    return rows


def test_dump_instances_exact(ctx):
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/inst.dump"
    check_eq("returned path", t["path"], "inst.dump")
    for type_name, key in (("__main__.Employee", "staff"), ("__main__.Point", "points"),
                           ("__main__.Outer.Inner", "inner")):
        rows = _rows(ctx, dump, type_name)
        check_eq("%s count" % type_name, len(rows), len(t[key]))
        check_eq("%s addresses and sizes" % type_name, [[r["address"], r["size"]] for r in rows], t[key])
        check_eq("%s approx sizes" % type_name, sum(r["size_approx"] for r in rows), 0)


def test_dump_instances_extra_size(ctx):
    # 3.11+ keep attributes in a values array that getsizeof does not count:
    # the dump records it as extra_size (and nothing for __slots__).
    t = run_traced(ctx, WORKLOAD)
    dump = ctx.tmp + "/inst.dump"
    staff = _rows(ctx, dump, "__main__.Employee")
    points = _rows(ctx, dump, "__main__.Point")
    if version(ctx) >= (3, 11):
        assert all(r["extra_size"] >= 16 for r in staff), staff[:3]
    else:
        check_eq("extra_size before 3.11", sum(r["extra_size"] for r in staff), 0)
    check_eq("slots extra_size", sum(r["extra_size"] for r in points), 0)
    assert t["staff"]
