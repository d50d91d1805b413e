"""test_heap_walks.py — path and referrers walk the heap kept with the
database: along a chain of 3000 lists whose ids the traced process reports,
the path has every link in order, and a deep referrers tree stays linear in
size (lines past the indentation cap show their depth instead).
"""
import subprocess

from dumper_util import run_traced

CHAIN = r'''
N = 3000
head = [None]
node = head
ids = [id(head)]
for i in range(N):
    nxt = [None]
    node[0] = nxt
    node = nxt
    ids.append(id(node))
del node, nxt
pymple.dump(sys.argv[1])
emit({"ids": ids})
'''


def run(ctx, *args):
    p = subprocess.run([ctx.analyzer] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert p.returncode == 0, "%s: %s" % (args, p.stderr)
    return p.stdout


def test_path_along_a_long_chain(ctx):
    dump = ctx.tmp + "/chain.dump"
    ids = run_traced(ctx, CHAIN, dump)["ids"]
    out = run(ctx, "path", dump, "0x%x" % ids[-1], "--format", "csv").splitlines()
    rows = [l.split(",") for l in out[1:]]
    addrs = [int(r[2]) for r in rows]
    # the chain's links in order, ending at the target, after the way to its head
    k = addrs.index(ids[0])
    assert addrs[k:] == ids, "path does not follow the chain"
    assert all(r[4] == "[0]" for r in rows[k + 1:]), "labels along the chain"


def test_deep_referrers_stay_linear(ctx):
    dump = ctx.tmp + "/chain.dump"
    ids = run_traced(ctx, CHAIN, dump)["ids"]
    out = run(ctx, "referrers", dump, "0x%x" % ids[-1], "--depth", "2000", "--limit", "1")
    lines = out.splitlines()
    assert len(lines) == 2001, len(lines)
    assert max(len(l) for l in lines) < 200, "indentation grows with depth"
    # line d is the referrer d steps up the chain
    for d in (1, 10, 24, 25, 1999, 2000):
        assert ("0x%x" % ids[-1 - d]) in lines[d], (d, lines[d])
    assert "(depth 2000)" in lines[2000], lines[2000]
    assert lines[10].startswith("   " * 9 + "+- "), lines[10]
