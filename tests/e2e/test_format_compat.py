"""End-to-end: format 1.2 (F_PAIRS, NAME records) stays readable by a 1.0
reader. Builds pymple-analyze from commit eeb64f8 (format 1.0, before issue
10) out of this repository's history and has it check, load and answer
`path` on a dump written by this tree's dumper. (The other direction, a
1.0 dump read by this tree, is samples/registry_leak.dump in test_samples.)"""
import os
import subprocess

from dumper_util import run_traced

OLD = "eeb64f8"

WORKLOAD = r'''
def outer():
    cap = ["cap-%d" % os.getpid()]
    def inner():
        return cap
    return inner
CLOS = outer()
D = {("k", 1): CLOS, 7: "seven"}
pymple.dump("new.dump")
emit({"cap": id(CLOS.__closure__[0].cell_contents)})
'''


def _run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def test_old_reader_reads_new_dump(ctx):
    old = os.path.join(ctx.tmp, "old")
    os.makedirs(old)
    arch = _run(["sh", "-c", "git -C '%s' archive %s analyzer schema dumper Makefile .ci | tar -x -C '%s'"
                 % (ctx.root, OLD, old)])
    assert arch.returncode == 0, "cannot extract %s: %s" % (OLD, arch.stderr)
    b = _run(["make", "-C", old, "BUILD=build", "OPT=-O0", "WARN=-w", "build/bin/pymple-analyze"])
    assert b.returncode == 0, "building the %s analyzer failed:\n%s" % (OLD, b.stderr[-3000:])
    old_an = os.path.join(old, "build", "bin", "pymple-analyze")
    t = run_traced(ctx, WORKLOAD)
    dump = os.path.join(ctx.tmp, "new.dump")
    c = _run([old_an, "check", dump])
    assert c.returncode == 0 and "format 1.2" in c.stdout, (c.stdout, c.stderr)
    p = _run([old_an, "path", dump, hex(t["cap"])])
    assert p.returncode == 0, p.stderr
    assert "cell .cell_contents" in p.stdout, p.stdout
