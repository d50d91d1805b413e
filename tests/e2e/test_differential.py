"""test_differential.py — the loader against the one it replaced: the loader
of commit eeb64f8 (built here from git, once per build directory) and this
one load the same dumps (the sample dump, and a heap of application code
plus the bench workload's data), and the rows of objects, roots and refs
(built with `load --refs`) must be identical, missing references, labels
and weak flags included. Then the README's SQL examples run through Python's
sqlite3 on the --refs database, as a user without pymple would run them.
"""
import os
import re
import sqlite3
import subprocess

from dumper_util import run_traced

OLD_COMMIT = "eeb64f8"
# The last loader of database layout 6 (object_data a table with every column
# stored as is; layout 7 stores object_rows and reads them back through the
# object_data view).
LAYOUT6_COMMIT = "8fe20f8"

# A heap like the bench's (bench/workload.py: instances, dicts, lists,
# tuples, strs, ints, floats, bytes, cycles, garbage) next to application
# code (imported modules) and ASTs, with weak references.
HEAP = r'''
import ast, weakref, json, csv, email.mime.multipart, logging, decimal, argparse
sys.path.insert(0, sys.argv[2])
import workload
workload.add_units(0, 3000)
trees = [ast.parse(open(m.__file__).read()) for m in (json.decoder, csv, logging)]
refs = [weakref.ref(t) for t in trees]
garbage = [[], {}]
garbage[0].append(garbage)
del garbage
pymple.dump(sys.argv[1])
emit({"ok": True})
'''


def old_analyzer(ctx, commit=OLD_COMMIT):
    """The pymple-analyze of commit, built from git into the build dir."""
    root = os.path.join(ctx.build, "old-" + commit)
    exe = os.path.join(root, "build", "bin", "pymple-analyze")
    if os.path.exists(exe):
        return exe
    os.makedirs(root, exist_ok=True)
    arch = subprocess.run(["git", "-C", ctx.root, "archive", commit], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    assert arch.returncode == 0, "git archive %s failed: %s" % (commit, arch.stderr)
    subprocess.run(["tar", "-x", "-C", root], input=arch.stdout, check=True)
    # A plain build, whatever make or sanitizer settings this test runs under.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "LD_PRELOAD", "CFLAGS", "BUILD",
                        "SANITIZE")}
    p = subprocess.run(["make", "-C", root, "-j2", "BUILD=build", "SANITIZE=",
                        "build/bin/pymple-analyze"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert p.returncode == 0, "building the old analyzer failed:\n" + p.stdout[-3000:]
    return exe


def load(exe, dump, db, *extra):
    p = subprocess.run([exe, "-q", "load", dump, "-o", db] + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0, "%s load failed: %s" % (exe, p.stderr)


# The columns of objects the old loader had (alloc, site, idom and retained came later).
OLD_OBJECT_COLUMNS = ("address, type, size, extra_size, refcount, length, value, flags,"
                      " size_approx, synthetic, reachable, root, scc, fingerprint, id, serial")

QUERIES = {
    "objects": "SELECT " + OLD_OBJECT_COLUMNS + " FROM objects ORDER BY id",
    "roots": "SELECT * FROM roots ORDER BY address, kind, name",
    "refs": "SELECT * FROM refs ORDER BY src, dst, label, weak, missing",
}


def compare(old_db, new_db):
    a, b = sqlite3.connect(old_db), sqlite3.connect(new_db)
    counts = {}
    for name, q in QUERIES.items():
        ca, cb = a.execute(q), b.execute(q)
        n = 0
        while True:
            ra, rb = ca.fetchmany(10000), cb.fetchmany(10000)
            assert ra == rb, "%s: rows differ after row %d:\nold %r\nnew %r" % (
                name, n, ra[:3], rb[:3])
            if not ra:
                break
            n += len(ra)
        counts[name] = n
    a.close()
    b.close()
    return counts


def check_dump(ctx, dump):
    old = old_analyzer(ctx)
    old_db, new_db = dump + ".old.db", dump + ".new.db"
    load(old, dump, old_db)
    load(ctx.analyzer, dump, new_db, "--refs")
    counts = compare(old_db, new_db)
    assert counts["objects"] > 0 and counts["refs"] > 0 and counts["roots"] > 0, counts
    c = sqlite3.connect(new_db)
    missing, weak, labelled = c.execute(
        "SELECT sum(missing), sum(weak), count(label) FROM refs").fetchone()
    c.close()
    return counts, missing, weak, labelled, new_db


def test_differential_sample_dump(ctx):
    dump = os.path.join(ctx.tmp, "registry_leak.dump")
    with open(os.path.join(ctx.root, "samples", "registry_leak.dump"), "rb") as f, \
            open(dump, "wb") as g:
        g.write(f.read())
    counts, missing, weak, labelled, _ = check_dump(ctx, dump)
    assert labelled > 0, "no labelled reference compared"


def test_differential_bench_like_heap(ctx):
    dump = os.path.join(ctx.tmp, "heap.dump")
    run_traced(ctx, HEAP, dump, os.path.join(ctx.root, "bench"))
    counts, missing, weak, labelled, _ = check_dump(ctx, dump)
    assert counts["objects"] > 50000, counts
    assert weak > 0 and labelled > 0, (weak, labelled)


def test_readme_sql_examples_in_python_sqlite3(ctx):
    """Every SQL statement of README.md's examples runs in Python's sqlite3 on
    a database loaded with --refs, and the referrer query uses indexes."""
    dump = os.path.join(ctx.tmp, "heap.dump")
    run_traced(ctx, HEAP, dump, os.path.join(ctx.root, "bench"))
    db = dump + ".db"
    load(ctx.analyzer, dump, db, "--refs")
    with open(os.path.join(ctx.root, "README.md")) as f:
        readme = f.read()
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.S)
    stmts = [l.strip() for b in blocks for l in b.splitlines()
             if l.strip() and not l.strip().startswith("--")]
    assert len(stmts) >= 3, stmts
    c = sqlite3.connect(db)
    # the example's literal address: one that has referrers in this dump
    target = c.execute("SELECT dst FROM refs WHERE NOT missing LIMIT 1 OFFSET 100").fetchone()[0]
    for s in stmts:
        s = re.sub(r"\b140522585836240\b", str(target), s)
        rows = c.execute(s).fetchall()
        plan = " ".join(r[-1] for r in c.execute("EXPLAIN QUERY PLAN " + s))
        if "refs" in s:
            assert rows, "no rows: " + s
            assert "SCAN" not in plan, "%s scans: %s" % (s, plan)
    c.close()


def test_database_of_the_old_layout(ctx):
    """A DUMP.db the old loader wrote is rebuilt by any command given the dump;
    given directly, it is refused in one line that says what to do."""
    dump = os.path.join(ctx.tmp, "registry_leak.dump")
    with open(os.path.join(ctx.root, "samples", "registry_leak.dump"), "rb") as f, \
            open(dump, "wb") as g:
        g.write(f.read())
    old = old_analyzer(ctx)
    load(old, dump, dump + ".db")
    load(old, dump, os.path.join(ctx.tmp, "old.db"))
    p = subprocess.run([ctx.analyzer, "-q", "garbage", dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0, p.stderr
    c = sqlite3.connect(dump + ".db")
    version = c.execute("SELECT value FROM meta WHERE key = 'load.version'").fetchone()[0]
    c.close()
    assert version != "4", "DUMP.db of the old layout was not rebuilt"
    p = subprocess.run([ctx.analyzer, "path", os.path.join(ctx.tmp, "old.db"), "0x10"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 2 and not p.stdout, (p.returncode, p.stdout)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "layout 4" in lines[0] and "load the dump again" in lines[0], lines


def test_layout6_rows_read_back_the_same(ctx):
    """Layout 7 stores reachable, root, idom and retained folded into other
    columns: object_data and objects read them back exactly as the layout-6
    loader stored them, every column, every row (the bench-like heap has
    unreachable objects, roots, cycles and a deep dominator tree)."""
    dump = os.path.join(ctx.tmp, "heap6.dump")
    run_traced(ctx, HEAP, dump, os.path.join(ctx.root, "bench"))
    old = old_analyzer(ctx, LAYOUT6_COMMIT)
    old_db, new_db = dump + ".6.db", dump + ".7.db"
    load(old, dump, old_db)
    load(ctx.analyzer, dump, new_db)
    a, b = sqlite3.connect(old_db), sqlite3.connect(new_db)
    seen = {}
    for q in ("SELECT * FROM object_data ORDER BY id", "SELECT * FROM objects ORDER BY id",
              "SELECT * FROM type_stats ORDER BY type_id"):
        ra, rb = a.execute(q).fetchall(), b.execute(q).fetchall()
        assert ra == rb, "%s: rows differ" % q
        seen[q] = len(ra)
    unreachable, roots, idoms, inner = b.execute(
        "SELECT sum(NOT reachable), sum(root), count(idom), sum(retained > size + extra_size)"
        " FROM object_data").fetchone()
    a.close()
    b.close()
    assert seen["SELECT * FROM objects ORDER BY id"] > 50000, seen
    assert unreachable > 0 and roots > 0 and idoms > 0 and inner > 0, (unreachable, roots, idoms,
                                                                         inner)


def test_database_of_layout6_is_rebuilt(ctx):
    """A DUMP.db of layout 6 next to its dump is rebuilt by any command; given
    directly, it is refused in one line that says what to do."""
    dump = os.path.join(ctx.tmp, "registry_leak6.dump")
    with open(os.path.join(ctx.root, "samples", "registry_leak.dump"), "rb") as f, \
            open(dump, "wb") as g:
        g.write(f.read())
    old = old_analyzer(ctx, LAYOUT6_COMMIT)
    load(old, dump, dump + ".db")
    load(old, dump, os.path.join(ctx.tmp, "layout6.db"))
    p = subprocess.run([ctx.analyzer, "-q", "top", dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0 and p.stdout, p.stderr
    c = sqlite3.connect(dump + ".db")
    version = c.execute("SELECT value FROM meta WHERE key = 'load.version'").fetchone()[0]
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    c.close()
    assert version == "8" and "object_rows" in tables, (version, tables)
    p = subprocess.run([ctx.analyzer, "top", os.path.join(ctx.tmp, "layout6.db")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 2 and not p.stdout, (p.returncode, p.stdout)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "load the dump again" in lines[0], lines
