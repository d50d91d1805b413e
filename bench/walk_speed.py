"""walk_speed.py — pymple.dump() against the pure-Python heap walk, measured in
one process on two heaps: the bench heap (bench/workload.py) and a real heap
(the standard library imported plus the ASTs of its sources). Prints both
ratios, the objects each saw and ns per object. It only reports: it never
fails on a missed target, only on a broken run.

Each heap is built in its own child process (this script with --child); the
child alternates dump and walk (the walk first on odd runs), with the
collector on between runs and tracemalloc off, and returns every time.

Usage: python3 bench/walk_speed.py [--build build] [--heaps bench,real]
                                   [--runs 5] [--objects 1000000] [--json FILE]
"""
import argparse
import gc
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---- the pure-Python walk (frozen: the baseline must not drift) -----------
# The transitive gc.get_referents closure from gc.get_objects(), then
# sys.getsizeof summed by type, with the collector off as during a dump.
# This is the walk of issue 2; do not change it to make the ratio look better.
def python_walk():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        todo = gc.get_objects()
        seen = set()
        found = []
        while todo:
            obj = todo.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            found.append(obj)
            todo.extend(gc.get_referents(obj))
        sizes = {}
        getsizeof = sys.getsizeof
        for obj in found:
            t = type(obj)
            sizes[t] = sizes.get(t, 0) + getsizeof(obj)
        count = len(found)
        del found, seen, todo, obj
    finally:
        if was_enabled:
            gc.enable()
    return count


# ---- the real heap (pinned) ------------------------------------------------
# sys.stdlib_module_names of 3.11 minus tkinter, idlelib, turtle, turtledemo,
# antigravity, this and test (GUI, side effects, the test suite); a module
# this Python lacks is skipped. Pinned so the heap does not follow the
# running interpreter's list (3.8 and 3.9 have none).
STDLIB_MODULES = """
__future__ _abc _aix_support _ast _asyncio _bisect _blake2 _bootsubprocess _bz2 _codecs
_codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections
_collections_abc _compat_pickle _compression _contextvars _crypt _csv _ctypes _curses
_curses_panel _datetime _dbm _decimal _elementtree _frozen_importlib _frozen_importlib_external
_functools _gdbm _hashlib _heapq _imp _io _json _locale _lsprof _lzma _markupbase _md5
_multibytecodec _multiprocessing _opcode _operator _osx_support _pickle _posixshmem
_posixsubprocess _py_abc _pydecimal _pyio _queue _random _sha1 _sha256 _sha3 _sha512 _signal
_site_builtins _socket _sqlite3 _sre _ssl _stat _statistics _string _strptime _struct _symtable
_thread _threading_local _tokenize _tracemalloc _typing _uuid _warnings _weakref _weakrefset
_xxsubinterpreters _zoneinfo abc aifc argparse array ast asynchat asyncio asyncore atexit
audioop base64 bdb binascii bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code
codecs codeop collections colorsys compileall concurrent configparser contextlib contextvars
copy copyreg crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils
doctest email encodings ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch
fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib
heapq hmac html http imaplib imghdr imp importlib inspect io ipaddress itertools json keyword
lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder
multiprocessing netrc nis nntplib ntpath nturl2path numbers opcode operator optparse os
ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix
posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri
random re readline reprlib resource rlcompleter runpy sched secrets select selectors shelve
shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3 sre_compile
sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau symtable
sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap threading time timeit
token tokenize tomllib trace traceback tracemalloc tty types typing unicodedata unittest urllib
uu uuid venv warnings wave weakref webbrowser wsgiref xdrlib xml xmlrpc zipapp zipfile zipimport
zlib zoneinfo
""".split()

# Sources whose ASTs the real heap keeps: every top-level .py of the
# standard library, then these packages without their tests, sorted.
AST_PACKAGES = ("asyncio", "collections", "concurrent", "ctypes", "curses", "dbm", "email",
                "encodings", "html", "http", "importlib", "json", "logging", "multiprocessing",
                "sqlite3", "unittest", "urllib", "wsgiref", "xml", "xmlrpc")

KEEP = []  # what keeps the real heap alive


def build_real_heap():
    import ast
    import contextlib
    import io
    import sysconfig
    import warnings
    imported = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in STDLIB_MODULES:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    __import__(name)
                imported += 1
            except Exception:  # not built here, or not on this version
                pass
    lib = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in os.listdir(lib) if f.endswith(".py"))
    for pkg in AST_PACKAGES:
        for d, dirs, names in os.walk(os.path.join(lib, pkg)):
            dirs[:] = sorted(x for x in dirs if x not in ("test", "tests", "__pycache__"))
            files += [os.path.relpath(os.path.join(d, f), lib) for f in sorted(names)
                      if f.endswith(".py")]
    parsed = 0
    for f in files:
        try:
            with open(os.path.join(lib, f), encoding="utf-8") as src:
                KEEP.append(ast.parse(src.read(), f))
            parsed += 1
        except (SyntaxError, ValueError, OSError):  # lib2to3 fixtures and the like
            pass
    return {"modules": imported, "sources": parsed}


def build_bench_heap(objects):
    sys.path.insert(0, HERE)
    import workload
    units = max(workload.GROUP_SIZE, objects // workload.OBJECTS_PER_UNIT)
    workload.add_units(0, units)
    return {"units": units}


def tail_objects(path):
    """The OBJECT count in a dump's TAIL (schema/FORMAT.md): the first u64 of
    the 48-byte payload that ends the file."""
    with open(path, "rb") as f:
        f.seek(-48, os.SEEK_END)
        return struct.unpack("<Q", f.read(8))[0]


def thread_time():
    # CPU time of the calling thread (3.7+); 0 where the clock is missing
    try:
        return time.thread_time()
    except (AttributeError, OSError):
        return 0.0


def child(heap, runs, objects):
    import tracemalloc
    import pymple
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    t0 = time.perf_counter()
    info = build_real_heap() if heap == "real" else build_bench_heap(objects)
    gc.collect()
    info["build_s"] = time.perf_counter() - t0
    tmp = tempfile.mkdtemp(prefix="pymple-walk-speed-")
    path = os.path.join(tmp, "heap.dump")
    dumps, walks = [], []
    for i in range(runs):
        for what in (("walk", "dump") if i % 2 else ("dump", "walk")):
            gc.collect()
            c0, t0, h0 = time.process_time(), time.perf_counter(), thread_time()
            if what == "dump":
                pymple.dump(path, quiet=True)
            else:
                n = python_walk()
            t1, c1, h1 = time.perf_counter(), time.process_time(), thread_time()
            if what == "dump":
                # h: this thread alone, the walk (compression runs on a second one)
                dumps.append((t1 - t0, c1 - c0, tail_objects(path), h1 - h0))
                os.unlink(path)
            else:
                walks.append((t1 - t0, c1 - c0, n))
    os.rmdir(tmp)
    info.update({"python": sys.version.split()[0], "dumps": dumps, "walks": walks})
    print(json.dumps(info), flush=True)


def measure(build, heap, runs, objects):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(build, "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONTRACEMALLOC", None)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", heap,
                        "--runs", str(runs), "--objects", str(objects)],
                       env=env, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("the %s-heap child failed with status %d" % (heap, p.returncode))
    r = json.loads(p.stdout.strip().splitlines()[-1])
    med = lambda xs: statistics.median(xs)  # noqa: E731
    d_wall, d_cpu = med([d[0] for d in r["dumps"]]), med([d[1] for d in r["dumps"]])
    w_wall, w_cpu = med([w[0] for w in r["walks"]]), med([w[1] for w in r["walks"]])
    d_n, w_n = max(d[2] for d in r["dumps"]), max(w[2] for w in r["walks"])
    d_thread = med([d[3] for d in r["dumps"]])
    # Ratios per run pair, then their median: each pair shares the
    # machine's load at that moment.
    ratios = sorted(w[0] / d[0] for d, w in zip(r["dumps"], r["walks"]))
    ratios_cpu = sorted(w[1] / d[1] for d, w in zip(r["dumps"], r["walks"]))
    return {"heap": heap, "python": r["python"], "runs": runs, "dump_s": d_wall,
            "dump_cpu": d_cpu, "walk_s": w_wall, "walk_cpu": w_cpu,
            "dump_objects": d_n, "walk_objects": w_n, "ratio": w_wall / d_wall,
            "ratio_cpu": w_cpu / d_cpu, "ratio_pairs": med(ratios),
            "ratio_cpu_pairs": med(ratios_cpu), "dump_thread_cpu": d_thread,
            "dump_ns": d_wall / d_n * 1e9, "walk_ns": w_wall / w_n * 1e9,
            "dump_cpu_ns": d_cpu / d_n * 1e9, "walk_cpu_ns": w_cpu / w_n * 1e9,
            "build_s": r["build_s"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--heaps", default="bench,real", help="bench, real or both (comma)")
    ap.add_argument("--runs", type=int, default=5, help="alternating pairs (median)")
    ap.add_argument("--objects", type=int, default=1000000, help="bench heap size")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    runs = max(1, args.runs)
    if args.child:
        child(args.child, runs, args.objects)
        return
    build = os.path.abspath(args.build)
    rows = []
    for heap in args.heaps.split(","):
        print("walk_speed: %s heap, %d alternating runs..." % (heap, runs), file=sys.stderr,
              flush=True)
        rows.append(measure(build, heap, runs, args.objects))
    print("\ndump vs pure-Python walk (gc.get_referents closure + sys.getsizeof), "
          "same process, alternating, medians of %d, Python %s" % (runs, rows[0]["python"]))
    head = ("heap", "walk saw", "dump saw", "walk (CPU)", "dump (CPU, walking thread)",
            "ns/obj walk (CPU)", "ns/obj dump (CPU)", "speed-up", "CPU", "target")
    table = [head]
    for r in rows:
        table.append((r["heap"], "{:,}".format(r["walk_objects"]), "{:,}".format(r["dump_objects"]),
                      "%.3f s (%.3f)" % (r["walk_s"], r["walk_cpu"]),
                      "%.3f s (%.3f, %.3f)" % (r["dump_s"], r["dump_cpu"], r["dump_thread_cpu"]),
                      "%.0f (%.0f)" % (r["walk_ns"], r["walk_cpu_ns"]),
                      "%.0f (%.0f)" % (r["dump_ns"], r["dump_cpu_ns"]),
                      "%.1fx" % r["ratio"], "%.1fx" % r["ratio_cpu"],
                      ">= 5x " + ("ok" if r["ratio"] >= 5 else "MISSES")))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print("  (dump saw: OBJECT records, a few <thread>/<frame> records included; "
          "ns/obj: time over the objects each saw;")
    print("   speed-up and CPU: ratios of the medians, wall and CPU (all threads); the dump's "
          "CPU less its walking thread's is compression on the other threads)")
    for r in rows:
        n = r["dump_objects"]
        print("  %s heap: per-pair ratios (median) %.1fx wall, %.1fx CPU; dump CPU %.0f ns/object "
              "= walking thread %.0f + compression threads %.0f"
              % (r["heap"], r["ratio_pairs"], r["ratio_cpu_pairs"], r["dump_cpu"] / n * 1e9,
                 r["dump_thread_cpu"] / n * 1e9, (r["dump_cpu"] - r["dump_thread_cpu"]) / n * 1e9))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError) as e:
        print("walk_speed: %s" % e, file=sys.stderr)
        sys.exit(1)
