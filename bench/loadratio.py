"""loadratio.py — `make bench-load`: issue 7's load numbers for one or more
builds of pymple-analyze on the same dumps in one session, runs interleaved
(so a busy machine slows every build alike): `check` (the decoding floor) and
`load` on the bench heap (bench/workload.py) and the real heap
(bench/realheap.py), wall and CPU time (os.wait4), load / check, database /
dump after a default load with its size per table (dbstat), and the load's
peak RSS (ru_maxrss, i.e. VmHWM) per object. Medians of --runs runs. It only
reports: it never fails on a missed target.

Usage: python3 bench/loadratio.py --build build [--runs 5] [--objects 1000000]
                                  [--keep DIR] [ANALYZER ...]
  ANALYZER: other pymple-analyze executables to measure beside BUILD's
  (for example one built from an older commit: the "before" column).
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def note(msg):
    print("loadratio: " + msg, file=sys.stderr, flush=True)


def run(args):
    """(wall s, CPU s, peak RSS bytes, status, stdout) of one command."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, status, out.read().decode()


def make_dumps(python, build, tmp, objects):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(build, "python") + os.pathsep + env.get("PYTHONPATH", "")
    bench = os.path.join(tmp, "bench.dump")
    note("bench heap: about %d objects (bench/workload.py)" % objects)
    p = subprocess.run([python, os.path.join(HERE, "workload.py"), str(objects)],
                       input='{"cmd": "dump", "path": "%s"}\n{"cmd": "quit"}\n' % bench,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       env=env)
    if p.returncode or not os.path.exists(bench):
        raise RuntimeError("bench heap dump failed: " + p.stderr[-1000:])
    real = os.path.join(tmp, "real.dump")
    note("real heap: the standard library and syntax trees (bench/realheap.py)")
    p = subprocess.run([python, os.path.join(HERE, "realheap.py"), real],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       env=env)
    if p.returncode or not os.path.exists(real):
        raise RuntimeError("real heap dump failed: " + p.stderr[-1000:])
    return [("bench heap", bench), ("real heap", real)]


def dbstat(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"
                           " ORDER BY 2 DESC").fetchall()
        con.close()
        return rows
    except sqlite3.Error:
        return []


def measure(analyzers, name, dump, runs, tmp):
    objects = None
    res = {a: {"check": [], "load": []} for a in analyzers}
    for i in range(runs):
        note("%s: run %d/%d" % (name, i + 1, runs))
        for k, a in enumerate(analyzers):
            w, c, _, st, out = run([a, "check", dump])
            if st == 0:
                res[a]["check"].append((w, c))
                m = re.search(r"^objects\s+(\d+)", out, re.M)
                objects = objects or (int(m.group(1)) if m else None)
            # a fresh file each time, as a first load writes it
            db = os.path.join(tmp, "load-%d.db" % k)
            if os.path.exists(db):
                os.unlink(db)
            w, c, rss, st, out = run([a, "load", dump, "-o", db])
            if st == 0:
                res[a]["load"].append((w, c, rss))
                res[a]["db"] = os.path.getsize(db)
                res[a]["tables"] = dbstat(db)
            else:
                note("%s: load failed (status %d)" % (a, st))
    dsize = os.path.getsize(dump)
    out = {}
    for a in analyzers:
        r = res[a]
        if not r["check"] or not r["load"] or not objects:
            continue
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        cw, cc = med(r["check"], 0), med(r["check"], 1)
        lw, lc, rss = med(r["load"], 0), med(r["load"], 1), med(r["load"], 2)
        out[a] = {"objects": objects, "check_s": cw, "check_cpu": cc, "load_s": lw,
                  "load_cpu": lc, "load_over_check": lw / cw, "load_over_check_cpu": lc / cc,
                  "db_over_dump": r["db"] / dsize, "db_bytes_per_object": r["db"] / objects,
                  "peak_bytes_per_object": rss / objects, "tables": r["tables"]}
    return objects, dsize, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--objects", type=int, default=1000000)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--keep", default=None, help="reuse/keep the dumps in this directory")
    ap.add_argument("--json", default=None)
    ap.add_argument("others", nargs="*", help="other pymple-analyze builds to compare")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    analyzers = [os.path.join(build, "bin", "pymple-analyze")] + [os.path.abspath(a)
                                                                  for a in args.others]
    tmp = tempfile.mkdtemp(prefix="pymple-loadratio-")
    try:
        dumps = None
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            dumps = [("bench heap", os.path.join(args.keep, "bench.dump")),
                     ("real heap", os.path.join(args.keep, "real.dump"))]
            if not all(os.path.exists(d) for _, d in dumps):
                dumps = make_dumps(args.python, build, args.keep, args.objects)
        else:
            dumps = make_dumps(args.python, build, tmp, args.objects)
        report = {}
        for name, dump in dumps:
            objects, dsize, out = measure(analyzers, name, dump, max(1, args.runs), tmp)
            report[name] = out
            print("\n== %s: %s objects, dump %.1f MB (%.1f B/object); medians of %d runs"
                  % (name, "{:,}".format(objects or 0), dsize / 1e6,
                     dsize / objects if objects else 0, args.runs))
            for a, r in out.items():
                print("  %s" % a)
                print("    check %.3f s (CPU %.3f s = %.3f s per M objects)   load %.3f s (CPU %.3f s)"
                      % (r["check_s"], r["check_cpu"], r["check_cpu"] / objects * 1e6,
                         r["load_s"], r["load_cpu"]))
                print("    load / check %.1fx (CPU %.1fx)   target <= 6x"
                      % (r["load_over_check"], r["load_over_check_cpu"]))
                print("    database / dump %.2fx (%.1f B/object)   target <= 5x"
                      % (r["db_over_dump"], r["db_bytes_per_object"]))
                print("    load peak %.1f B/object   target <= 100" % r["peak_bytes_per_object"])
                print("    per table: " + ", ".join("%s %.1f MB" % (t, b / 1e6)
                                                    for t, b in r["tables"] if b >= 100000))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError) as e:
        note(str(e))
        sys.exit(1)
