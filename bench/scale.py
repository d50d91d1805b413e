"""scale.py — `make bench-scale` (not in CI: it needs about 8 GB of memory and
15 GB of disk at 50M objects, and minutes): does a load grow linearly with
the heap? Synthetic dumps of 1M, 10M and 50M objects (tests/tools/gendump:
instances, strs, ints, lists, dicts, cycles, garbage, weak and dangling
references), then for each: `check` (the decoding floor), `load`, and the
graph commands on the loaded database (`top`, `path` and `referrers` to the
last object written, `cycles`, `garbage`), each with wall time, CPU time and
peak memory (ru_maxrss) per object. The last lines compare the largest size
with the smallest: per-object time and memory must stay flat for the growth
to be linear. It only reports.

Usage: python3 bench/scale.py --build build [--sizes 1000000,10000000,50000000]
                              [--keep DIR] [--integrity]
  --integrity: run SQLite's PRAGMA integrity_check on each database (slow at
               50M: the rows and their index are written by pymple itself).
"""
import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile


from loadratio import run  # (wall s, CPU s, peak RSS bytes, status, stdout) of one command


def note(msg):
    print("scale: " + msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="1000000,10000000,50000000")
    ap.add_argument("--keep", help="keep dumps and databases in this directory")
    ap.add_argument("--integrity", action="store_true")
    a = ap.parse_args()
    analyze = os.path.abspath(os.path.join(a.build, "bin", "pymple-analyze"))
    gendump = os.path.abspath(os.path.join(a.build, "tests", "gendump"))
    for exe in (analyze, gendump):
        if not os.access(exe, os.X_OK):
            sys.exit("scale: %s not built (make all %s)" % (exe, os.path.relpath(gendump)))
    sizes = [int(float(s)) for s in a.sizes.split(",")]
    tmp = a.keep or tempfile.mkdtemp(prefix="pymple-scale-")
    os.makedirs(tmp, exist_ok=True)
    rows = []
    try:
        for n in sizes:
            dump = os.path.join(tmp, "scale-%d.dump" % n)
            db = dump + ".db"
            note("%d objects: gendump" % n)
            w, c, _, st, out = run([gendump, dump, str(n)])
            if st:
                sys.exit("scale: gendump failed at %d objects" % n)
            objects = int(out.split()[0]) if out.split() else n
            note("%d objects: check" % n)
            cw, cc, crss, st, out = run([analyze, "check", dump])
            m = re.search(r"^references\s+(\d+)", out, re.M)
            refs = int(m.group(1)) if m else 0
            if os.path.exists(db):
                os.unlink(db)
            note("%d objects: load" % n)
            lw, lc, lrss, st, _ = run([analyze, "load", dump, "-o", db])
            if st:
                sys.exit("scale: load failed at %d objects (status %d)" % (n, st))
            row = {"objects": objects, "refs": refs, "dump": os.path.getsize(dump),
                   "db": os.path.getsize(db), "check": (cw, cc, crss), "load": (lw, lc, lrss)}
            note("%d objects: top" % n)
            row["top"] = run([analyze, "--db", db, "top", dump, "--limit", "5"])[:3]
            # the last object written: a path from a root through the whole heap
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
            last = con.execute("SELECT address FROM objects WHERE reachable"
                               " ORDER BY id DESC LIMIT 1").fetchone()
            if a.integrity:
                note("%d objects: integrity_check" % n)
                row["integrity"] = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
            if last:
                target = hex(last[0] & (2**64 - 1))
                note("%d objects: path" % n)
                row["path"] = run([analyze, "--db", db, "path", dump, target])[:3]
                note("%d objects: referrers, cycles, garbage" % n)
                row["referrers"] = run([analyze, "--db", db, "referrers", dump, target])[:3]
            row["cycles"] = run([analyze, "--db", db, "cycles", dump])[:3]
            row["garbage"] = run([analyze, "--db", db, "garbage", dump])[:3]
            rows.append(row)
            if not a.keep:
                os.unlink(db)
                os.unlink(dump)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print("\nscale: synthetic heaps (tests/tools/gendump), one run each")
    print("%12s %11s %9s %9s | %-26s | %-26s | %-22s | %-22s" % (
        "objects", "refs", "dump B/o", "db B/o", "load: s (CPU), s per M", "load: peak B/object",
        "top: s, peak B/o", "path: s, peak B/o"))
    for r in rows:
        n = r["objects"]
        lw, lc, lrss = r["load"]
        top = r.get("top")
        path = r.get("path")
        print("%12d %11d %9.1f %9.1f | %7.2f (%6.2f) %7.3f   | %8.1f (check %6.1f)   | %6.2f %8.1f      | %s" % (
            n, r["refs"], r["dump"] / n, r["db"] / n, lw, lc, lw / n * 1e6, lrss / n,
            r["check"][2] / n, top[0] if top else 0, top[2] / n if top else 0,
            "%6.2f %8.1f" % (path[0], path[2] / n) if path else "-"))
        if "integrity" in r:
            print("%12s integrity_check: %s" % ("", r["integrity"]))
    print("\ngraph commands on the loaded database: seconds, peak bytes per object"
          " (issue 7: <= 40 at 10M objects)")
    cmds = ("path", "referrers", "cycles", "garbage")
    print("%12s | %s" % ("objects", " | ".join("%-19s" % c for c in cmds)))
    for r in rows:
        n = r["objects"]
        cells = []
        for c in cmds:
            v = r.get(c)
            cells.append("%6.2f s %6.1f B/o" % (v[0], v[2] / n) if v else "%-19s" % "-")
        verdict = ""
        if n >= 10000000:
            worst = max(r[c][2] / n for c in cmds if r.get(c))
            verdict = "  %s (worst %.1f B/o)" % ("ok" if worst <= 40 else "MISSES", worst)
        print("%12d | %s%s" % (n, " | ".join(cells), verdict))
    if len(rows) > 1:
        lo, hi = rows[0], rows[-1]
        t = (hi["load"][0] / hi["objects"]) / (lo["load"][0] / lo["objects"])
        tc = (hi["load"][1] / hi["objects"]) / (lo["load"][1] / lo["objects"])
        mem = (hi["load"][2] / hi["objects"]) / (lo["load"][2] / lo["objects"])
        print("\nlinear growth, %d against %d objects: load time per object %.2fx (CPU %.2fx),"
              " peak memory per object %.2fx (1.00x is linear)" % (
                  hi["objects"], lo["objects"], t, tc, mem))


if __name__ == "__main__":
    main()
