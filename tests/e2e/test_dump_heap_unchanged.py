"""End-to-end: a dump leaves the process as it was — the same count of every
type (no __dict__ materialized, no leftovers), the collector's enabled state
restored — and writes atomically: mode 0600, default name, OSError with the
path and no partial file on failure."""
import os
import re

from dumper_util import check_eq, run_traced

COUNTS = r'''
class Emp:
    def __init__(self, i):
        self.a = i
        self.b = "b%d" % i
class Slot:
    __slots__ = ("s",)
emps = [Emp(i) for i in range(300)]
slots = [Slot() for i in range(30)]
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
pymple.dump("a.dump")
c3 = closure_counts()
def diff(x, y):
    x, y = json.loads(x), json.loads(y)
    return {k: y.get(k, 0) - x.get(k, 0) for k in set(x) | set(y) if y.get(k, 0) != x.get(k, 0)}
emit({"baseline": diff(c1, c2), "dump": diff(c2, c3)})
'''


def test_dump_type_counts_unchanged(ctx):
    t = run_traced(ctx, COUNTS)
    # Between c1 and c2 the only change is c1 itself; the same holds for
    # c2 -> c3 unless the dump left something behind.
    check_eq("type count changes across a dump", t["dump"], t["baseline"])


STATE = r'''
out = {}
gc.disable()
pymple.dump("off.dump")
out["off"] = gc.isenabled()
gc.enable()
pymple.dump("on.dump")
out["on"] = gc.isenabled()
os.umask(0)
out["mode"] = os.stat("on.dump").st_mode & 0o777
p = pymple.dump()
out["default"] = p
out["default_exists"] = os.path.exists(p)
with open("afile", "w") as f:
    f.write("x")
os.mkdir("adir")
errs = []
for bad in ["afile/x.dump", "no/such/dir/x.dump", "adir", ""]:
    before = sorted(os.listdir("."))
    try:
        pymple.dump(bad)
        errs.append([bad, None, None, None])
    except OSError as e:
        errs.append([bad, e.filename, e.errno is not None, sorted(os.listdir(".")) == before])
    out["gc_after_error"] = gc.isenabled()
out["errs"] = errs
out["listing"] = sorted(os.listdir("."))
out["adir"] = os.listdir("adir")
out["pid"] = os.getpid()
emit(out)
'''


def test_dump_state_and_files(ctx):
    t = run_traced(ctx, STATE)
    check_eq("gc enabled after a dump with gc disabled", t["off"], False)
    check_eq("gc enabled after a dump with gc enabled", t["on"], True)
    check_eq("gc enabled after failed dumps", t["gc_after_error"], True)
    check_eq("file mode under umask 0", oct(t["mode"]), oct(0o600))
    assert re.match(r"^pymple-%d-\d{8}T\d{6}\.\d{6}Z\.dump$" % t["pid"], os.path.basename(t["default"])), t["default"]
    check_eq("default file exists", t["default_exists"], True)
    for bad, filename, has_errno, unchanged in t["errs"]:
        check_eq("OSError filename for %r" % bad, filename, bad)
        check_eq("errno set for %r" % bad, has_errno, True)
        check_eq("directory unchanged after failing %r" % bad, unchanged, True)
    leftovers = [n for n in t["listing"] if n.endswith(".tmp") or ".dump." in n]
    check_eq("temporary files left", leftovers, [])
    check_eq("files in the directory that was the target", t["adir"], [])
    assert os.path.getsize(os.path.join(ctx.tmp, "on.dump")) > 0
