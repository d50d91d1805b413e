"""pause.py — issue 4's numbers: the pause a process sees when it is dumped on a signal.
For a ~1M-object process (optionally plus a multi-GB heap) it measures, in the same run, the
longest gap of a heartbeat thread during a bare os.fork() and during a signal dump with
install(fork=True), their ratio, and the in-process (fork=False) dump time. Medians of --runs.
It prints numbers and never asserts a timing. Used by `make bench` (bench/bench.py).

usage: pause.py [--build DIR] [--objects N] [--runs R] [--heap-gb G] [--python EXE]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NEAR = 0.1  # s: a gap that starts this soon after the trigger holds the fork itself

# ------------------------------------------------------------------- child

CHILD = r'''
import gc, json, os, re, signal, sys, threading, time, warnings
warnings.simplefilter("ignore")          # 3.12+: os.fork() with threads warns
objects, heap_gb, outdir, logpath, here = (int(sys.argv[1]), float(sys.argv[2]), sys.argv[3],
                                           sys.argv[4], sys.argv[5])
# Our own stderr goes to a file we tail for pymple's log lines.
logfd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.dup2(logfd, 2)
log = open(logpath)

def build_heap(n):
    sys.path.insert(0, here)
    try:
        import workload                  # the same heap `make bench` measures
        workload.add_units(0, n // workload.OBJECTS_PER_UNIT)
        return "bench/workload.py"
    except ImportError:
        pass
    global KEEP
    KEEP = []
    for i in range(n // 8):
        d = {"name": "item-%d" % i, "value": i * 1.5, "id": i + 100000}
        KEEP.append((d, [i + 200000], "s%d" % i))
    return "pause.py fallback"
t0 = time.perf_counter()
source = build_heap(objects)
BIG = [b"x" * (1 << 20) for _ in range(int(heap_gb * 1024))]
build_s = time.perf_counter() - t0

class Heartbeat(threading.Thread):
    """Wakes every 0.5 ms; while armed, records (start, length) of every gap."""
    def __init__(self):
        super().__init__(daemon=True)
        self.armed = False
        self.gaps = []
    def run(self):
        last = time.perf_counter()
        while True:
            time.sleep(0.0005)
            now = time.perf_counter()
            if self.armed:
                self.gaps.append((last, now - last))
            last = now
hb = Heartbeat()
hb.start()

NEAR = float(sys.argv[6])  # s: gaps starting this soon after the trigger hold the fork

def window(fn):
    """Runs fn with the heartbeat armed. Returns (longest gap overall, longest gap that
    starts within NEAR of the trigger, fn's result)."""
    hb.gaps = []
    time.sleep(0.05)
    hb.armed = True
    time.sleep(0.02)
    t0 = time.perf_counter()
    out = fn()
    time.sleep(0.05)
    hb.armed = False
    gaps = list(hb.gaps)
    overall = max(g for _, g in gaps)
    near = max([g for s, g in gaps if s + g >= t0 and s <= t0 + NEAR] or [0.0])
    return overall, near, out

def bare_fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)

def next_log():
    while True:
        line = log.readline()
        if line.startswith("pymple: "):
            return line.strip()
        time.sleep(0.002)

def signal_dump():
    os.kill(os.getpid(), signal.SIGUSR2)
    line = next_log()
    m = re.search(r"\((\d+) objects, (\d+) bytes, ([0-9.]+) s(?:; fork pause ([0-9.]+) ms)?",
                  line)
    if not m:
        raise RuntimeError(line)
    for n in os.listdir(outdir):
        os.unlink(os.path.join(outdir, n))
    return {"objects": int(m.group(1)), "bytes": int(m.group(2)), "seconds": float(m.group(3)),
            "fork_ms": float(m.group(4)) if m.group(4) else None}

import pymple._pymple as P
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
print(json.dumps({"ready": True, "build_s": build_s, "gc_objects": len(gc.get_objects()),
                  "rss_mb": rss_mb(), "source": source, "python": sys.version.split()[0]}),
      flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "fork":
        gap, near, _ = window(bare_fork)
        print(json.dumps({"gap": gap, "near": near}), flush=True)
    elif cmd in ("signal-fork", "signal-inproc"):
        P.install(directory=outdir, fork=(cmd == "signal-fork"))
        gap, near, info = window(signal_dump)
        P.uninstall()
        info["gap"] = gap
        info["near"] = near
        print(json.dumps(info), flush=True)
    elif cmd == "quit":
        break
'''


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ms(x):
    return "n/a" if x is None else "%.1f ms" % (x * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--objects", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--heap-gb", type=float, default=0.0,
                    help="add this many GB of 1 MiB bytes objects (e.g. 4 for the ~4 GB case)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="pymple-pause-")
    outdir = os.path.join(tmp, "dumps")
    os.mkdir(outdir)
    script = os.path.join(tmp, "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(args.build), "python"))
    child = subprocess.Popen([args.python, script, str(args.objects), str(args.heap_gb), outdir,
                              os.path.join(tmp, "child.log"), HERE, str(NEAR)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)

    def ask(cmd):
        child.stdin.write(cmd + "\n")
        child.stdin.flush()
        line = child.stdout.readline()
        if not line:
            raise SystemExit("pause.py: the child died; see %s/child.log" % tmp)
        return json.loads(line)

    try:
        info = json.loads(child.stdout.readline() or "{}")
        if not info.get("ready"):
            raise SystemExit("pause.py: the child did not start; see %s/child.log" % tmp)
        print("heap: %d objects requested (%s), %d gc-tracked, RSS %.0f MB, Python %s, "
              "built in %.1f s" % (args.objects, info["source"], info["gc_objects"],
                                   info["rss_mb"], info["python"], info["build_s"]))
        forks, sigs, inprocs = [], [], []
        for _ in range(args.runs):       # interleaved, so drift affects all alike
            forks.append(ask("fork"))
            sigs.append(ask("signal-fork"))
            inprocs.append(ask("signal-inproc"))
        ask_quit = child.stdin
        ask_quit.write("quit\n")
        ask_quit.flush()
        child.wait(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
    bare = median([r["gap"] for r in forks])
    bare_near = median([r["near"] for r in forks])
    sig = median([r["gap"] for r in sigs])
    sig_near = median([r["near"] for r in sigs])
    own = median([r["fork_ms"] / 1e3 for r in sigs])
    inp = median([r["gap"] for r in inprocs])
    inp_dump = median([r["seconds"] for r in inprocs])
    child_dump = median([r["seconds"] for r in sigs])

    def ratio(a, b):
        return "%.2fx" % (a / b) if a is not None and b else "n/a"
    print("objects in the dump: %d; dump size %.1f MB" % (inprocs[-1]["objects"],
                                                          inprocs[-1]["bytes"] / 1e6))
    print("medians of %d runs; longest gap of a heartbeat thread (what the process's threads "
          "feel):" % args.runs)
    print("                                    at the fork      whole window")
    print("  bare os.fork()                    %10s        %10s" % (ms(bare_near), ms(bare)))
    print("  install(fork=True), SIGUSR2       %10s        %10s   (child ran %.2f s)"
          % (ms(sig_near), ms(sig), child_dump))
    print("    ratio to bare os.fork()         %10s        %10s   target <= 1.2x"
          % (ratio(sig_near, bare_near), ratio(sig, bare)))
    print("    pymple's own fork() call        %10s" % ms(own))
    print("  install(fork=False), SIGUSR2                       %10s   dump time %.2f s"
          % (ms(inp), inp_dump))
    print("  'at the fork': gaps starting within %d ms of the trigger; 'whole window' adds the"
          % (NEAR * 1e3))
    print("  time the dump child runs next to the process (CPU and copy-on-write contention).")
    print("  load average at the end: %.2f (2 cores here; a loaded machine inflates gaps)"
          % os.getloadavg()[0])
    for name, rs in (("bare", forks), ("fork", sigs), ("inproc", inprocs)):
        print("  runs %-6s near %s | whole %s" % (
            name, " ".join("%.1f" % (r["near"] * 1e3) for r in rs),
            " ".join("%.1f" % (r["gap"] * 1e3) for r in rs)))
    print("  runs pymple's fork() %s" % " ".join("%.1f" % r["fork_ms"] for r in sigs))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
