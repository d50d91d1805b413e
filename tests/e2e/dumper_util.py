"""dumper_util.py — shared helpers for the test_dump_* end-to-end tests.

Runs a workload in a real Python subprocess (ctx.python, ctx.env()), which
computes its own truth and calls pymple.dump(); then queries the dump through
the analyzer (`load`, then `sql --format json`). Holds no expectations itself.
"""
import json
import os
import subprocess
import sys

PRELUDE = r'''
import gc, json, os, sys
import pymple
def emit(obj):
    sys.stdout.write("\n@@" + json.dumps(obj) + "\n")
    sys.stdout.flush()
def reachable_objects():
    """Truth for the dump: {id: obj} of everything gc.get_objects() holds and
    gc.get_referents reaches from there, types included."""
    seen = {}
    stack = gc.get_objects()
    for o in stack:
        seen[id(o)] = o
    while stack:
        o = stack.pop()
        for r in gc.get_referents(o) + [type(o)]:
            if id(r) not in seen:
                seen[id(r)] = r
                stack.append(r)
    return seen
'''


def run_traced(ctx, body, *args, check=True):
    """Runs PRELUDE + body in ctx.python (cwd ctx.tmp); returns what the
    script passed to emit(), or the CompletedProcess when check is False."""
    p = subprocess.run([ctx.python, "-c", PRELUDE + body] + list(args), cwd=ctx.tmp, env=ctx.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    if not check:
        return p
    if p.returncode != 0:
        raise AssertionError("traced python failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    lines = [l for l in p.stdout.splitlines() if l.startswith("@@")]
    assert lines, "no result from the traced process:\n" + p.stdout + p.stderr
    return json.loads(lines[-1][2:])


_loaded = {}


def sql(ctx, dump, query):
    """Rows of query (a list of dicts) over the analyzer's database of dump."""
    db = _loaded.get(dump)
    if db is None:
        db = dump + ".test.db"
        p = subprocess.run([ctx.analyzer, "load", dump, "-o", db], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        assert p.returncode == 0, "load failed: %s" % p.stderr
        _loaded[dump] = db
    p = subprocess.run([ctx.analyzer, "sql", db, query, "--format", "json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    assert p.returncode == 0, "sql failed: %s\n%s" % (query, p.stderr)
    return json.loads(p.stdout or "[]")


def version(ctx):
    out = subprocess.check_output([ctx.python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                                  universal_newlines=True)
    return tuple(int(x) for x in out.split())


def check_eq(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
