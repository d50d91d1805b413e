"""test_signal.py — dump on signal (issue 4), end to end: real signals to a real, busy,
multi-threaded subprocess; dumps checked with pymple-analyze against truth the process
computed itself. Waits are bounded by generous timeouts; nothing asserts a duration.
"""
import json
import os
import re
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

TIMEOUT = 120.0  # seconds: only a bound for a hang, never a performance claim
NAME_RE = re.compile(r"^pymple-(\d+)-(\d{8}T\d{6}\.\d{6}Z)-(\d+)\.dump$")

# The service: N Marker instances made before any signal, 4 worker threads that
# allocate and free objects all the time, and a main thread that either sleeps
# in Python or is stuck in a native call (through ctypes, GIL released) that
# retries on EINTR. A line on stdin ends it; it then checks its own data.
SERVICE = r'''
import ctypes, gc, hashlib, os, sys, threading, time
mode, main_state, outdir, nmark = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lib = sys.argv[5] if len(sys.argv) > 5 else None

class Marker:
    def __init__(self, i):
        self.i = i
        self.text = "marker-%d" % i
        self.blob = bytes([i % 251]) * (i % 40)

class Churn:
    pass

markers = [Marker(i) for i in range(nmark)]
def digest():
    h = hashlib.sha256()
    for m in markers:
        h.update(("%d|%s|%s;" % (m.i, m.text, m.blob.hex())).encode())
    return h.hexdigest()
before = digest()

stop = threading.Event()
counts = [0, 0, 0, 0]
def worker(k):
    keep = []
    while not stop.is_set():
        keep.append([Churn(), {"k": k, "n": counts[k]}, "s%d" % counts[k], (counts[k], 1.5)])
        if len(keep) > 500:
            del keep[:250]
        counts[k] += 1
        if counts[k] % 1000 == 0:
            time.sleep(0.001)
threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
for t in threads:
    t.start()

if mode != "none":
    import pymple._pymple as P
    P.install(directory=outdir, fork=(mode == "fork"))
print("READY %d" % os.getpid(), flush=True)

if main_state == "native":
    # A C library's blocking call that never returns to Python until stdin has
    # a byte, retrying on EINTR.
    rc = ctypes.CDLL(lib).wait_byte_retrying(0)
else:
    got = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), got.set()), daemon=True).start()
    while not got.is_set():
        time.sleep(0.05)

alive_before = list(counts)
time.sleep(0.2)
workers_alive = all(t.is_alive() for t in threads) and all(
    c > b for c, b in zip(counts, alive_before))
stop.set()
for t in threads:
    t.join()
n_gc = sum(1 for o in gc.get_objects() if type(o) is Marker)
ok = digest() == before and n_gc == nmark and workers_alive and gc.isenabled()
print("RESULT " + ("ok" if ok else "changed digest=%s n_gc=%d workers=%s gc=%s" % (
    digest() == before, n_gc, workers_alive, gc.isenabled())), flush=True)
'''

NATIVE_C = r'''
#include <errno.h>
#include <unistd.h>
/* Blocks in read(2) until fd has a byte, retrying on EINTR like a C event loop. */
int wait_byte_retrying(int fd)
{
	char c;
	ssize_t r;
	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	return (int)r;
}
'''


# ------------------------------------------------------------------ helpers

class Service:
    """A running service subprocess; stderr is collected by a thread."""

    def __init__(self, ctx, argv, env=None, cwd=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env or ctx.env(), cwd=cwd)
        self.err_lines = []
        self._lock = threading.Lock()
        self._t = threading.Thread(target=self._read_err, daemon=True)
        self._t.start()
        self.pid = self.proc.pid
        self.ready = self.readline()
        assert self.ready.startswith("READY"), "service did not start: %r %s" % (
            self.ready, self.stderr())

    def _read_err(self):
        for raw in self.proc.stderr:
            with self._lock:
                self.err_lines.append(raw.decode(errors="replace").rstrip("\n"))

    def stderr(self):
        with self._lock:
            return list(self.err_lines)

    def readline(self, timeout=TIMEOUT):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert r, "no output from the service within %.0f s; stderr: %s" % (
            timeout, self.stderr())
        return self.proc.stdout.readline().decode().strip()

    def finish(self):
        """Ends the service through stdin; returns its RESULT line."""
        self.proc.stdin.write(b"x\n")
        self.proc.stdin.flush()
        self.proc.stdin.close()
        result = self.readline()
        self.proc.wait(timeout=TIMEOUT)
        self._t.join(TIMEOUT)
        return result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(pred, what, timeout=TIMEOUT, interval=0.01):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(interval)


def log_lines(svc, word):
    return [l for l in svc.stderr() if l.startswith("pymple: ") and word in l]


def children(pid):
    """(pid, state) of every process whose parent is pid, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


def build_native(ctx):
    src = os.path.join(ctx.tmp, "native.c")
    so = os.path.join(ctx.tmp, "libnative.so")
    with open(src, "w") as f:
        f.write(NATIVE_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", so, src], check=True)
    return so


def write_service(ctx):
    path = os.path.join(ctx.tmp, "service.py")
    with open(path, "w") as f:
        f.write(SERVICE)
    return path


def dumps_in(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".dump"))


def check_dump_file(path, pid):
    """Name, mode 0600 and owner: what every dump must satisfy."""
    m = NAME_RE.match(os.path.basename(path))
    assert m, "bad dump name %s" % path
    assert int(m.group(1)) == pid, "dump %s is not named for pid %d" % (path, pid)
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600, "mode %o for %s" % (st.st_mode, path)
    assert st.st_size > 0


def load(ctx, dump):
    """Loads a dump with the analyzer (which verifies every chunk checksum and the trailer:
    a truncated or partial dump fails here) and returns a sqlite3 connection."""
    dbdir = os.path.join(ctx.tmp, "db")  # not next to the dump: that may be a tiny tmpfs
    os.makedirs(dbdir, exist_ok=True)
    db = os.path.join(dbdir, os.path.basename(dump) + ".db")
    r = subprocess.run([ctx.analyzer, "load", dump, "-o", db], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, "load %s failed: %s" % (dump, r.stderr)
    return sqlite3.connect(db)


def count_type(con, name):
    return con.execute("SELECT count(*) FROM objects WHERE type = ?", (name,)).fetchone()[0]


def check_marker_dump(ctx, path, nmark, summary=True):
    """The dump is complete and holds exactly the nmark Marker instances the process made
    (and, with summary, pymple-analyze summary agrees)."""
    con = load(ctx, path)
    try:
        assert count_type(con, "__main__.Marker") == nmark, (
            "%s: %d Marker objects, expected %d" % (path, count_type(con, "__main__.Marker"),
                                                    nmark))
        # Their strs are there too, with their values.
        n_text = con.execute("SELECT count(*) FROM objects WHERE type = 'str' AND value "
                             "GLOB 'marker-[0-9]*'").fetchone()[0]
        assert n_text == nmark, "%d marker strings, expected %d" % (n_text, nmark)
        total = con.execute("SELECT count(*) FROM objects").fetchone()[0]
    finally:
        con.close()
    if not summary:
        return total
    # ... and it summarizes cleanly (issue 4: dumps taken under churn).
    db = os.path.join(ctx.tmp, "db", os.path.basename(path) + ".db")
    r = subprocess.run([ctx.analyzer, "summary", db, "--format", "json", "--limit", "100000"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    rows = {row["type"]: row["count"] for row in json.loads(r.stdout)}
    assert rows.get("__main__.Marker") == nmark, rows.get("__main__.Marker")
    return total


def signal_and_wait_dump(svc, outdir, signum=signal.SIGUSR2, pid=None):
    """Sends one signal (to svc or pid) and waits for its log line; returns the new
    dump's path."""
    before = set(dumps_in(outdir))
    n_logged = len(log_lines(svc, "wrote "))
    n_failed = len(log_lines(svc, "failed"))
    os.kill(pid or svc.pid, signum)
    wait_for(lambda: (len(log_lines(svc, "wrote ")) > n_logged
                      or len(log_lines(svc, "failed")) > n_failed), "a dump log line")
    assert len(log_lines(svc, "failed")) == n_failed, svc.stderr()
    new = sorted(set(dumps_in(outdir)) - before)
    assert len(new) == 1, "expected one new dump, got %s" % new
    return os.path.join(outdir, new[0])


def run_two_dumps(ctx, mode, main_state, nmark=1234):
    """Two signals, two distinct complete dumps; the service keeps its data."""
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    argv = [ctx.python, write_service(ctx), mode, main_state, outdir, str(nmark)]
    if main_state == "native":
        argv.append(build_native(ctx))
    svc = Service(ctx, argv)
    try:
        time.sleep(0.2)  # let the workers churn
        first = signal_and_wait_dump(svc, outdir)
        second = signal_and_wait_dump(svc, outdir)
        # Each log line names the file that appeared and comes after the child was
        # reaped: no process of ours is left behind, zombie or not.
        assert any(first in l for l in log_lines(svc, "wrote "))
        assert children(svc.pid) == [], children(svc.pid)
        assert svc.proc.poll() is None, "the service died"
        result = svc.finish()
        assert result == "RESULT ok", result
        assert svc.proc.returncode == 0
    finally:
        svc.kill()
    assert first != second and first < second  # names sort by time
    for p in (first, second):
        check_dump_file(p, svc.pid)
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() != b.read(), "the two dumps are identical"
    assert sorted(os.listdir(outdir)) == sorted(os.path.basename(p) for p in (first, second)), \
        os.listdir(outdir)  # no temporary file left
    n1 = check_marker_dump(ctx, first, nmark)
    n2 = check_marker_dump(ctx, second, nmark)
    # META describes the service, also when a forked child wrote the dump.
    for p in (first, second):
        con = load(ctx, p)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta"))
        finally:
            con.close()
        assert int(meta["pid"]) == svc.pid, (p, meta["pid"], svc.pid)
        assert meta["in_child"] == ("1" if mode == "fork" else "0"), meta["in_child"]
        assert int(meta["rss"]) > 0, meta["rss"]
    # The log line's object count is the dump's.
    for p, n in ((first, n1), (second, n2)):
        line = [l for l in log_lines(svc, "wrote ") if p in l][0]
        assert re.search(r"\((\d+) objects", line).group(1) == str(n), (line, n)


# -------------------------------------------------------------------- tests

def test_fork_mode_main_sleeping(ctx):
    run_two_dumps(ctx, "fork", "sleep")


def test_fork_mode_main_stuck_in_native_call(ctx):
    run_two_dumps(ctx, "fork", "native")


def test_in_process_main_sleeping(ctx):
    run_two_dumps(ctx, "inproc", "sleep")


def test_in_process_main_stuck_in_native_call(ctx):
    run_two_dumps(ctx, "inproc", "native")


def test_signals_during_a_dump_are_coalesced_not_lost(ctx):
    """Signals that arrive while a dump is being written give exactly one more dump."""
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    # Enough objects that a dump takes a while to write.
    svc = Service(ctx, [ctx.python, write_service(ctx), "fork", "sleep", outdir, "60000"])

    def logged():
        return len(log_lines(svc, "wrote ")) + len(log_lines(svc, "failed"))

    def in_progress():
        return [n for n in os.listdir(outdir) if not n.endswith(".dump")]

    try:
        tmp = None
        for _ in range(5):  # we may be descheduled long enough to miss a dump: retry
            n0 = logged()
            os.kill(svc.pid, signal.SIGUSR2)
            seen = wait_for(lambda: in_progress() or (logged() > n0 and ["done"]),
                            "the dump's temporary file", interval=0.0005)
            if seen != ["done"]:
                tmp = seen[0]
                break
            wait_for(lambda: not in_progress(), "no dump in progress")
        assert tmp, "never saw a dump in progress"
        before = len(dumps_in(outdir))  # dumps of the missed attempts
        for _ in range(3):
            os.kill(svc.pid, signal.SIGUSR2)
        during = os.path.exists(os.path.join(outdir, tmp))
        wait_for(lambda: logged() >= n0 + 2, "the second dump")
        time.sleep(1.0)  # a third dump, if one were (wrongly) coming, would start by now
        wait_for(lambda: not in_progress(), "no dump in progress")
        n = len(dumps_in(outdir)) - before
        if during:
            assert n == 2, "1 + 3 signals, 3 during the first dump: expected 2 dumps, got %d" % n
        else:  # the first dump ended between our kill() calls: 2 or 3 dumps
            assert n in (2, 3), n
        assert not log_lines(svc, "failed"), svc.stderr()
        assert len(log_lines(svc, "wrote ")) == len(dumps_in(outdir))
        assert svc.finish() == "RESULT ok"
    finally:
        svc.kill()
    for name in dumps_in(outdir)[-2:]:
        check_dump_file(os.path.join(outdir, name), svc.pid)
        check_marker_dump(ctx, os.path.join(outdir, name), 60000)


def test_killed_dump_child_leaves_no_file(ctx):
    """A dump child that dies (here: SIGKILL mid-dump) is reaped, its temporary file is
    removed by the parent, the failure is logged, and the next signal dumps normally."""
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    svc = Service(ctx, [ctx.python, write_service(ctx), "fork", "sleep", outdir, "20000"])
    try:
        killed = None
        for _ in range(5):  # the child may finish before we catch it; try a few times
            n_done = len(log_lines(svc, "wrote ")) + len(log_lines(svc, "failed"))
            os.kill(svc.pid, signal.SIGUSR2)
            kids = wait_for(lambda: children(svc.pid) or (
                len(log_lines(svc, "wrote ")) + len(log_lines(svc, "failed")) > n_done
                and ["done"]), "the dump child", interval=0.0005)
            if kids != ["done"]:
                try:
                    os.kill(kids[0][0], signal.SIGKILL)
                    killed = kids[0][0]
                except ProcessLookupError:
                    pass
            wait_for(lambda: len(log_lines(svc, "wrote ")) + len(log_lines(svc, "failed"))
                     > n_done, "the dump's log line")
            if log_lines(svc, "killed by signal 9"):
                break
        for n in dumps_in(outdir):
            os.unlink(os.path.join(outdir, n))
        if killed is None or not log_lines(svc, "killed by signal 9"):
            print("  (skipped: every dump child finished before it could be killed)")
        else:
            assert os.listdir(outdir) == [], os.listdir(outdir)
            assert children(svc.pid) == []
        path = signal_and_wait_dump(svc, outdir)
        check_marker_dump(ctx, path, 20000, summary=False)
        assert svc.finish() == "RESULT ok"
    finally:
        svc.kill()


def _expect_failure_then_recover(ctx, svc, outdir, fix):
    """One signal must fail (logged, no file left, process alive); after fix() the next
    signal must give a complete dump."""
    n_failed = len(log_lines(svc, "failed"))
    os.kill(svc.pid, signal.SIGUSR2)
    wait_for(lambda: len(log_lines(svc, "failed")) > n_failed, "a failure log line")
    assert svc.proc.poll() is None, "the service died"
    assert children(svc.pid) == []
    if os.path.isdir(outdir):
        assert os.listdir(outdir) == [] or all(
            n == "filler" for n in os.listdir(outdir)), os.listdir(outdir)
    fix()
    path = signal_and_wait_dump(svc, outdir)
    check_dump_file(path, svc.pid)
    check_marker_dump(ctx, path, 500, summary=False)
    os.unlink(path)


def _mount(*args):
    try:
        r = subprocess.run(["mount"] + list(args), capture_output=True, timeout=60)
    except OSError:
        return False
    return r.returncode == 0


def test_errors_leave_no_file_and_next_signal_works(ctx):
    for mode in ("fork", "inproc"):
        outdir = os.path.join(ctx.tmp, "out-" + mode)
        os.mkdir(outdir)
        svc = Service(ctx, [ctx.python, write_service(ctx), mode, "sleep", outdir, "500"])
        try:
            # 1. The directory vanished.
            os.rmdir(outdir)
            _expect_failure_then_recover(ctx, svc, outdir, lambda: os.mkdir(outdir))
            # 2. A read-only directory (root ignores mode bits: use a read-only tmpfs).
            if os.geteuid() != 0:
                os.chmod(outdir, 0o555)
                _expect_failure_then_recover(ctx, svc, outdir, lambda: os.chmod(outdir, 0o755))
            elif _mount("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", outdir):
                try:
                    _expect_failure_then_recover(ctx, svc, outdir,
                                                 lambda: subprocess.run(["umount", outdir]))
                finally:
                    if os.path.ismount(outdir):
                        subprocess.run(["umount", "-l", outdir])
            else:
                print("  (skipped: read-only tmpfs: mount does not work here)")
            # 3. A full disk: a tiny tmpfs filled up, then space freed.
            if os.geteuid() == 0 and _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", outdir):
                try:
                    filler = os.path.join(outdir, "filler")
                    with open(filler, "wb") as f:
                        try:
                            while True:
                                f.write(b"\1" * 65536)
                                f.flush()
                        except OSError:
                            pass
                    # Leave 256 KiB: the dump (about 1 MB) starts and then hits ENOSPC.
                    os.truncate(filler, max(0, os.path.getsize(filler) - 256 * 1024))
                    _expect_failure_then_recover(
                        ctx, svc, outdir, lambda: os.unlink(os.path.join(outdir, "filler")))
                finally:
                    subprocess.run(["umount", "-l", outdir])
            else:
                print("  (skipped: full tmpfs: mount does not work here)")
            assert svc.finish() == "RESULT ok"
        finally:
            svc.kill()
        # Each failure was one line naming the file it could not write.
        fails = log_lines(svc, "failed")
        assert fails and all(l.startswith("pymple: dump to ") for l in fails), fails


def test_uninstall_restores_previous_handler_and_stops_thread(ctx):
    code = r'''
import os, signal, threading, time
import pymple._pymple as P
got = []
signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
n0 = threading.active_count()
P.install(directory=os.environ["OUT"])
P.install(directory=os.environ["OUT"], fork=False)   # reconfigure: still one thread
P.uninstall()
P.uninstall()                                         # idempotent
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.1)
print(got == [signal.SIGUSR2], os.listdir(os.environ["OUT"]) == [])
'''
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    r = subprocess.run([ctx.python, "-c", code], capture_output=True, text=True,
                       env=ctx.env(OUT=out), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"], (r.stdout, r.stderr)
    # Dumper threads are not Python threads; check the OS thread count instead.
    code2 = r'''
import os, time
import pymple._pymple as P
def nthreads():
    return len(os.listdir("/proc/self/task"))
n0 = nthreads()
P.install(directory=os.environ["OUT"]); n1 = nthreads()
P.install(directory=os.environ["OUT"]); n2 = nthreads()
P.uninstall(); n3 = nthreads()
print(n1 - n0, n2 - n0, n3 - n0)
'''
    r = subprocess.run([ctx.python, "-c", code2], capture_output=True, text=True,
                       env=ctx.env(OUT=out), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "1", "0"], r.stdout


def test_install_rejects_bad_arguments(ctx):
    code = r'''
import os, signal
import pymple._pymple as P
errs = []
for kw in ({"signum": signal.SIGKILL}, {"signum": 0}, {"directory": "/nonexistent/pymple"},
           {"directory": os.environ["FILE"]}):
    try:
        P.install(**kw)
        errs.append("accepted %r" % kw)
    except (ValueError, OSError):
        pass
print(errs)
'''
    f = os.path.join(ctx.tmp, "afile")
    open(f, "w").close()
    r = subprocess.run([ctx.python, "-c", code], capture_output=True, text=True,
                       env=ctx.env(FILE=f), timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)


def test_child_of_os_fork_gets_its_own_dumper(ctx):
    """After os.fork() (multiprocessing, pre-fork servers) a signal to the child dumps
    the child, under the child's pid, and the parent's dumper still works."""
    code = r'''
import os, sys, time
import pymple._pymple as P
class Marker:
    def __init__(self, i):
        self.text = "marker-%d" % i
keep = [Marker(i) for i in range(77)]
P.install(directory=sys.argv[1])
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    keep += [Marker(i) for i in range(77, 88)]
    os.write(w, b"1")
    while True:
        time.sleep(1000)
os.read(r, 1)
print("READY %d %d" % (os.getpid(), pid), flush=True)
sys.stdin.readline()
os.kill(pid, 9)
os.waitpid(pid, 0)
print("RESULT ok", flush=True)
'''
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    script = os.path.join(ctx.tmp, "forker.py")
    with open(script, "w") as f:
        f.write(code)
    svc = Service(ctx, [ctx.python, script, outdir])
    try:
        child = int(svc.ready.split()[2])
        cpath = signal_and_wait_dump(svc, outdir, pid=child)
        ppath = signal_and_wait_dump(svc, outdir)
        assert svc.finish() == "RESULT ok"
    finally:
        svc.kill()
    check_dump_file(cpath, child)
    check_dump_file(ppath, svc.pid)
    check_marker_dump(ctx, cpath, 88)
    check_marker_dump(ctx, ppath, 77)


# An unmodified program: no pymple import. It checks what `python3 -m pymple run` must
# preserve (argv, __name__, sys.path[0]) and reports it on its READY line.
PROG = r'''
import os, sys
class Marker:
    def __init__(self, i):
        self.text = "marker-%d" % i
keep = [Marker(i) for i in range(321)]
here = os.path.dirname(os.path.abspath(__file__))
print("READY %d argv=%s main=%s path0=%s pymple=%s" % (
    os.getpid(), sys.argv[1:] == ["one", "--two", "-m"] and sys.argv[0].endswith("prog.py"),
    __name__ == "__main__", sys.path[0] == here, "pymple" in sys.modules), flush=True)
sys.stdin.readline()
print("RESULT ok", flush=True)
'''


def write_prog(ctx):
    d = os.path.join(ctx.tmp, "app")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "prog.py")
    with open(path, "w") as f:
        f.write(PROG)
    return path


def test_python_m_pymple_run(ctx):
    prog = write_prog(ctx)
    for extra in ([], ["--no-fork"], ["--signal", "SIGUSR1", "--quiet"]):
        outdir = os.path.join(ctx.tmp, "out%d" % len(extra))
        os.mkdir(outdir)
        svc = Service(ctx, [ctx.python, "-m", "pymple", "run", "--dir", outdir] + extra
                      + [prog, "one", "--two", "-m"], cwd=ctx.tmp)
        try:
            assert svc.ready.split()[2:5] == ["argv=True", "main=True", "path0=True"], svc.ready
            if "--quiet" in extra:
                os.kill(svc.pid, signal.SIGUSR1)
                wait_for(lambda: dumps_in(outdir), "a dump")
                path = os.path.join(outdir, dumps_in(outdir)[0])
                assert not log_lines(svc, "wrote "), svc.stderr()
            else:
                path = signal_and_wait_dump(svc, outdir)
            assert svc.finish() == "RESULT ok"
            assert svc.proc.returncode == 0
        finally:
            svc.kill()
        check_dump_file(path, svc.pid)
        check_marker_dump(ctx, path, 321)
    # Usage errors: exit status 2 and one line naming the problem.
    for bad in (["run"], ["run", "--signal", "NOPE", prog], ["frobnicate"],
                ["run", os.path.join(ctx.tmp, "missing.py")]):
        r = subprocess.run([ctx.python, "-m", "pymple"] + bad, capture_output=True, text=True,
                           env=ctx.env(), timeout=TIMEOUT)
        assert r.returncode == 2, (bad, r.returncode, r.stderr)
        assert r.stderr.startswith("python3 -m pymple: "), r.stderr
    # -m module, and the program's own exit status comes through.
    mod = os.path.join(ctx.tmp, "exits7.py")
    with open(mod, "w") as f:
        f.write("import sys\nassert __name__ == '__main__'\nsys.exit(7 if sys.argv[1:] == "
                "['a'] else 1)\n")
    r = subprocess.run([ctx.python, "-m", "pymple", "run", "--dir", ctx.tmp, "-m", "exits7",
                        "a"], cwd=ctx.tmp, capture_output=True, text=True, env=ctx.env(),
                       timeout=TIMEOUT)
    assert r.returncode == 7, (r.returncode, r.stderr)


def test_pymple_signal_environment_hook(ctx):
    """`make install`'s start-up hook: PYMPLE_SIGNAL=USR2 makes an unmodified program
    dumpable; without it the hook does nothing (not even import pymple)."""
    venv = os.path.join(ctx.tmp, "venv")
    subprocess.run([ctx.python, "-m", "venv", "--without-pip", venv], check=True,
                   timeout=TIMEOUT)
    py = os.path.join(venv, "bin", "python")
    r = subprocess.run(["sh", os.path.join(ctx.root, "tools", "install-python.sh"), py,
                        ctx.pythonpath, "", ""], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert site.startswith(venv)
    assert os.path.exists(os.path.join(site, "pymple-signal.pth"))
    prog = write_prog(ctx)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYMPLE_") and k != "PYTHONPATH"}

    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    svc = Service(ctx, [py, prog, "one", "--two", "-m"],
                  env=dict(env, PYMPLE_SIGNAL="USR2", PYMPLE_DIR=outdir))
    try:
        assert svc.ready.endswith("pymple=True"), svc.ready
        path = signal_and_wait_dump(svc, outdir)
        assert svc.finish() == "RESULT ok"
    finally:
        svc.kill()
    check_dump_file(path, svc.pid)
    check_marker_dump(ctx, path, 321)

    # Unset: pymple is not even imported, and SIGUSR2 keeps its default action.
    svc = Service(ctx, [py, prog, "one", "--two", "-m"], env=env)
    try:
        assert svc.ready.endswith("pymple=False"), svc.ready
        os.kill(svc.pid, signal.SIGUSR2)
        assert svc.proc.wait(timeout=TIMEOUT) == -signal.SIGUSR2
    finally:
        svc.kill()
    # A bad value is one line on stderr, and the program still runs.
    r = subprocess.run([py, "-c", "print('ran')"], capture_output=True, text=True,
                       env=dict(env, PYMPLE_SIGNAL="NOPE"), timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout == "ran\n", (r.stdout, r.stderr)
    assert r.stderr.startswith("pymple: PYMPLE_SIGNAL=NOPE ignored: "), r.stderr


REAPER = r'''
import os, sys, threading, time
import pymple
class Marker:
    def __init__(self, i):
        self.text = "marker-%d" % i
keep = [Marker(i) for i in range(3000)]
pymple.install(directory=sys.argv[1], fork=True)
seen, stop = [], threading.Event()
def reap_children():            # what test harnesses do between tests
    while not stop.is_set():
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid:
            seen.append(pid)
        time.sleep(0.0002)
t = threading.Thread(target=reap_children)
t.start()
print("READY", flush=True)
sys.stdin.readline()
stop.set()
t.join()
print("RESULT reaped=%d" % len(seen), flush=True)
'''


def test_fork_child_reaped_by_the_application(ctx):
    """The fork child is a child of the service (documented in signal.c): an application
    that reaps every child (waitpid(-1)) may reap it first; the dump is still complete
    and logged as written, and no child or zombie is left."""
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    prog = os.path.join(ctx.tmp, "reaper.py")
    with open(prog, "w") as f:
        f.write(REAPER)
    svc = Service(ctx, [ctx.python, prog, outdir])
    try:
        paths = [signal_and_wait_dump(svc, outdir) for _ in range(3)]
        assert children(svc.pid) == [], children(svc.pid)
        result = svc.finish()
        assert result.startswith("RESULT reaped="), result
    finally:
        svc.kill()
    for p in paths:
        check_dump_file(p, svc.pid)
        check_marker_dump(ctx, p, 3000, summary=False)
    # Whoever reaped them, the application saw at most our three children.
    assert int(result.split("=")[1]) <= 3, result
