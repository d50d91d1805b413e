"""workload.py — the benchmark's child process: builds a heap of about N live
objects, then serves bench.py's requests (dump, baseline walk, grow) over a
line protocol. It measures only itself; it never asserts a timing.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
  {"cmd": "info"}                   -> counts, RSS, Python version, sample addresses
  {"cmd": "dump", "path": P, "values": V} -> pymple.dump(P, values=V): time, peak RSS growth
  {"cmd": "baseline"}               -> the pure-Python walk: times and object count
  {"cmd": "grow", "fraction": F}    -> adds F * units more units (a deliberate leak)
  {"cmd": "quit"}
Errors come back as {"error": "..."}; the process stays usable.
"""
import gc
import json
import os
import resource
import sys
import time

# The "application code" a real heap carries next to its data: modules,
# functions, classes, code objects and their constants (about 60,000 objects).
import argparse, asyncio, csv, dataclasses, decimal, email.mime.multipart  # noqa: E401,F401
import http.server, logging, pathlib, sqlite3, subprocess, tempfile  # noqa: E401,F401
import typing, unittest, urllib.request, xml.etree.ElementTree  # noqa: E401,F401

# Shared, interned strings: dict keys and a few repeated values.
KINDS = ("alpha", "beta", "gamma", "delta")


class Node:
    """A plain class instance with attributes (inline values on 3.11+)."""

    def __init__(self, i, group):
        self.name = "node-%d" % i                                   # str
        self.index = i + 100000                                     # int (not cached)
        self.weight = i * 0.25 + 0.1                                # float
        self.blob = b"%08d" % i + bytes(i % 48)                     # bytes
        self.attrs = {"kind": KINDS[i % 4], "rank": i * 7 + 1000,   # dict, int,
                      "label": "n%d" % i}                           # str
        self.tags = ("t%d" % (i % 1000), KINDS[i % 4])              # tuple, str
        self.children = []                                          # list
        self.group = group                                          # cycle via Group


class Point:
    """A __slots__ instance holding two floats."""
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Group:
    """Holds its members, which point back: Group <-> Node cycles."""

    def __init__(self, gid):
        self.gid = gid
        self.members = []


# One unit = 1 Node (11 new objects: the instance, name, index, weight, blob,
# attrs dict, rank, label, tags tuple, its first str, children list) plus
# 1 Point (3: the instance and two floats). Groups, the per-group lists and
# the registry add about 2%.
OBJECTS_PER_UNIT = 14
GROUP_SIZE = 100

REGISTRY = {}   # name -> Node: keeps everything alive from a module global
GROUPS = []
POINTS = []


def add_units(start, count):
    group = None
    for i in range(start, start + count):
        if i % GROUP_SIZE == 0:
            group = Group(i // GROUP_SIZE)
            GROUPS.append(group)
        elif group is None:
            group = GROUPS[-1]
        node = Node(i, group)
        group.members.append(node)
        if i % GROUP_SIZE:
            group.members[-2].children.append(node)  # chains inside a group
        REGISTRY[node.name] = node
        POINTS.append(Point(i * 0.5 + 0.3, i * 1.5 + 0.7))


def status_kb(field):
    """A field of /proc/self/status in KiB, or None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0). True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def baseline_walk():
    """The pure-Python heap walk of issue 2: the transitive gc.get_referents
    closure from gc.get_objects(), then sys.getsizeof summed by type. The
    collector is off while it runs, as it is during a pymple dump."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
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
        t1 = time.perf_counter()
        sizes = {}
        getsizeof = sys.getsizeof
        for obj in found:
            t = type(obj)
            sizes[t] = sizes.get(t, 0) + getsizeof(obj)
        t2, c2 = time.perf_counter(), time.process_time()
        count = len(found)
        del found, seen, todo, obj
    finally:
        if was_enabled:
            gc.enable()
    return {"walk_s": t1 - t0, "sizes_s": t2 - t1, "cpu": c2 - c0, "objects": count,
            "types": len(sizes), "bytes": sum(sizes.values())}


def do_dump(path, values=True):
    try:
        import pymple
    except ImportError as e:
        return {"error": "cannot import pymple (%s)" % e}
    if not hasattr(pymple, "dump"):
        return {"error": "pymple has no dump() yet"}
    rss_before = status_kb("VmRSS")
    reset = reset_peak_rss()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0, t0 = time.process_time(), time.perf_counter()
    out = pymple.dump(path, values=values)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    hwm = status_kb("VmHWM")
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if reset and hwm is not None and rss_before is not None:
        extra_kb, how = hwm - rss_before, "VmHWM after clear_refs"
    else:
        extra_kb, how = maxrss_after - maxrss_before, "ru_maxrss delta (first dump only)"
    return {"seconds": seconds, "cpu": cpu, "path": out, "size": os.path.getsize(out),
            "peak_extra": extra_kb * 1024, "peak_how": how}


def info(units):
    sample = [REGISTRY["node-%d" % i] for i in (0, units // 3, units // 2, units - 1)]
    return {"python": sys.version.split()[0], "units": units,
            "planned_objects": units * OBJECTS_PER_UNIT,
            "gc_objects": len(gc.get_objects()),
            "rss": (status_kb("VmRSS") or 0) * 1024,
            "node_type": "%s.%s" % (Node.__module__, Node.__qualname__),
            "targets": [id(n) for n in sample]}


def main():
    objects = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    units = max(GROUP_SIZE, objects // OBJECTS_PER_UNIT)
    t0 = time.perf_counter()
    add_units(0, units)
    gc.collect()
    reply = info(units)
    reply["build_s"] = time.perf_counter() - t0
    print(json.dumps(reply), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req.get("cmd")
        try:
            if cmd == "quit":
                break
            elif cmd == "info":
                reply = info(units)
            elif cmd == "dump":
                reply = do_dump(req["path"], req.get("values", True))
            elif cmd == "baseline":
                reply = baseline_walk()
            elif cmd == "grow":
                more = max(1, int(units * req.get("fraction", 0.01)))
                add_units(units, more)
                units += more
                reply = {"units": units, "added_objects": more * OBJECTS_PER_UNIT}
            else:
                reply = {"error": "unknown command %r" % cmd}
        except Exception as e:  # report and stay usable
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
