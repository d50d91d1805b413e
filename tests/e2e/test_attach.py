"""test_attach.py — `dump --attach` (issue 11), end to end: real processes that never
import pymple (PYTHONPATH unset, pymple not importable there) are dumped through gdb; the
dumps are checked with pymple-analyze against counts the target computed itself; the
target then finishes its own work and reports what the attach must not have changed.
Waits are bounded by generous timeouts; nothing asserts a duration.
"""
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import time

from dumper_util import sql

TIMEOUT = 120.0  # seconds: only a bound for a hang, never a performance claim

# The target: N Marker instances, 4 worker threads doing checkable work with
# allocation churn, and a main thread that is busy, in time.sleep() or in
# Thread.join() until a line arrives on stdin; or holds the GIL in C (a
# ctypes.PyDLL call) for `hold` seconds. At the end it reports, as JSON, whether its work is right and
# whether sys.path, signal handlers, __main__'s globals and its thread count
# are what they were before the attach.
TARGET = r'''
import ctypes, gc, json, os, signal, sys, threading, time

class Marker:
    def __init__(self, i):
        self.i = i
        self.name = "marker-%d" % i

def state():
    return {
        "path": list(sys.path),
        "handlers": {n: repr(signal.getsignal(n)) for n in range(1, signal.NSIG)
                     if n not in (signal.SIGKILL, signal.SIGSTOP) and n < 32},
        "globals": sorted((k, id(v)) for k, v in globals().items()),
    }

def tasks():
    return len(os.listdir("/proc/self/task"))

def main():
    mode, nmark, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    markers = [Marker(i) for i in range(nmark)]
    stop = threading.Event()
    totals = [None] * 4
    def worker(k):
        n = acc = 0
        keep = []
        while not stop.is_set():
            keep.append({"k": k, "n": n, "s": "x%d" % n})
            if len(keep) > 300:
                del keep[:150]
            acc += n
            n += 1
        totals[k] = (n, acc)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    got = threading.Event()
    def reader():
        sys.stdin.readline()
        got.set()
    r = threading.Thread(target=reader, daemon=True)
    r.start()
    if mode == "sleep":
        signal.signal(signal.SIGUSR1, wake)
    truth = sum(1 for o in gc.get_objects() if type(o) is Marker)
    before, tasks_before = state(), tasks()
    print("READY %d %d %d" % (os.getpid(), truth, tasks_before), flush=True)
    if mode == "busy":
        x = 0
        while not got.is_set():
            x = (x * 31 + 7) % 1000003
    elif mode == "sleep":
        try:
            time.sleep(3600)
        except Wake:
            pass
        got.wait()
    elif mode == "join":
        r.join()
    elif mode == "gil":
        ctypes.PyDLL(None).sleep(int(hold))  # holds the GIL for the whole call
        print("C-CALL-DONE", flush=True)
        got.wait()
    stop.set()
    for t in threads:
        t.join()
    r.join()
    work_ok = all(n > 0 and acc == n * (n - 1) // 2 for n, acc in totals)
    # Our 5 threads have ended; the attach's thread ends right after it reports:
    # give it a bounded moment.
    end = time.monotonic() + 30
    while tasks() != tasks_before - 5 and time.monotonic() < end:
        time.sleep(0.05)
    after = state()
    print("RESULT " + json.dumps({
        "work_ok": work_ok,
        "markers_ok": [m.i for m in markers] == list(range(nmark)),
        "path_same": after["path"] == before["path"],
        "handlers_same": after["handlers"] == before["handlers"],
        "globals_same": after["globals"] == before["globals"],
        "tasks_before": tasks_before, "tasks_after": tasks() + 5,
        "gc_enabled": gc.isenabled(),
    }), flush=True)

class Wake(Exception):
    pass

def wake(signum, frame):
    raise Wake()

if __name__ == "__main__":
    main()
'''


class Target:
    def __init__(self, ctx, mode, nmark=0, hold=0, argv_prefix=()):
        path = os.path.join(ctx.tmp, "target.py")
        with open(path, "w") as f:
            f.write(TARGET)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the target cannot import pymple
        self.proc = subprocess.Popen(list(argv_prefix) + [ctx.python, path, mode, str(nmark),
                                                          str(hold)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=ctx.tmp)
        line = self.readline()
        assert line.startswith("READY"), "target did not start: %r %s" % (
            line, self.proc.stderr.read1(65536) if self.proc.poll() is not None else "")
        _, pid, truth, tasks = line.split()
        self.pid, self.truth, self.tasks = int(pid), int(truth), int(tasks)

    def readline(self, timeout=TIMEOUT):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert r, "no output from the target within %.0f s" % timeout
        return self.proc.stdout.readline().decode().strip()

    def finish(self, wake=False):
        """Ends the target through stdin; returns its RESULT dict and exit status."""
        self.proc.stdin.write(b"x\n")
        self.proc.stdin.flush()
        if wake:
            os.kill(self.proc.pid, signal.SIGUSR1)
        line = self.readline()
        while line and not line.startswith("RESULT"):
            line = self.readline()
        rc = self.proc.wait(timeout=TIMEOUT)
        err = self.proc.stderr.read().decode(errors="replace")
        assert line.startswith("RESULT"), "no result: %r %s" % (line, err)
        return json.loads(line[7:]), rc, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def attach(ctx, pid, *opts, python=None, prefix=(), timeout=60):
    """Runs `python3 -m pymple dump --attach` (options in varying places)."""
    argv = list(prefix) + [python or ctx.python, "-m", "pymple", "dump"] + list(opts) + [
        str(pid), "--timeout", str(timeout), "--attach"]
    env = ctx.env()
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=TIMEOUT + timeout)


def dumps_in(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".dump"))


def check_unchanged(res, rc, err):
    assert rc == 0, "target failed (%d): %s" % (rc, err)
    for k in ("work_ok", "markers_ok", "path_same", "handlers_same", "globals_same",
              "gc_enabled"):
        assert res[k], "%s is false after the attach: %s" % (k, res)
    assert res["tasks_after"] == res["tasks_before"], res
    assert "pymple" not in err, err  # nothing was written to the target's stderr


def dump_and_check(ctx, mode, fork=True):
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    t = Target(ctx, mode, nmark=3210)
    try:
        assert t.truth == 3210
        opts = ["--dir", out] + ([] if fork else ["--no-fork"])
        p = attach(ctx, t.pid, *opts)
        assert p.returncode == 0, "attach failed: %s" % p.stderr
        path = p.stdout.strip()
        assert os.path.dirname(path) == out and dumps_in(out) == [os.path.basename(path)], (
            p.stdout, dumps_in(out))
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid(), oct(st.st_mode)
        assert [n for n in os.listdir(out) if n.startswith(".pymple")] == []
        rows = sql(ctx, path, "SELECT count(*) AS n FROM objects WHERE type = '__main__.Marker'")
        assert rows[0]["n"] == t.truth, (rows, t.truth)
        res, rc, err = t.finish(wake=(mode == "sleep"))
        check_unchanged(res, rc, err)
    finally:
        t.kill()


def test_attach_main_busy(ctx):
    dump_and_check(ctx, "busy")


def test_attach_main_sleeping(ctx):
    dump_and_check(ctx, "sleep")


def test_attach_main_in_join(ctx):
    dump_and_check(ctx, "join")


def test_attach_no_fork(ctx):
    dump_and_check(ctx, "join", fork=False)


def test_attach_twice(ctx):
    """The extension stays loaded; a second attach loads nothing new and dumps again."""
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    t = Target(ctx, "busy", nmark=500)
    try:
        for _ in range(2):
            p = attach(ctx, t.pid, "--dir", out)
            assert p.returncode == 0, p.stderr
            rows = sql(ctx, p.stdout.strip(),
                       "SELECT count(*) AS n FROM objects WHERE type = '__main__.Marker'")
            assert rows[0]["n"] == 500, rows
        with open("/proc/%d/maps" % t.pid) as f:
            loaded = {l.split()[-1] for l in f if "_pymple" in l}
        assert len(loaded) == 1, loaded
        assert len(dumps_in(out)) == 2
        res, rc, err = t.finish()
        check_unchanged(res, rc, err)
    finally:
        t.kill()


def test_attach_gil_held_in_c_times_out(ctx):
    """The main thread holds the GIL in C for 15 s: a timeout line before that call
    ends, no dump ever, and the target finishes its work unharmed."""
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    t = Target(ctx, "gil", nmark=100, hold=15)
    try:
        p = attach(ctx, t.pid, "--dir", out, timeout=4)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert p.stderr.count("\n") == 1 and "timeout" in p.stderr, p.stderr
        # Returned while the C call still held the GIL.
        r, _, _ = select.select([t.proc.stdout], [], [], 0)
        assert not r, "the C call ended before the attach gave up"
        assert t.readline() == "C-CALL-DONE"
        res, rc, err = t.finish()
        check_unchanged(res, rc, err)
        assert dumps_in(out) == [] and os.listdir(out) == [], os.listdir(out)
    finally:
        t.kill()


IDLE = r'''
import ctypes, gc, os, signal, sys, time
class Marker:
    pass
markers = [Marker() for i in range(111)]
seen = []
signal.signal(signal.SIGCONT, lambda *a: seen.append("CONT"))
signal.signal(signal.SIGUSR1, lambda *a: seen.append("USR1"))
def handlers():
    return {n: repr(signal.getsignal(n)) for n in range(1, 32) if n not in (9, 19)}
before = handlers()
truth = sum(1 for o in gc.get_objects() if type(o) is Marker)
print("READY %d %d" % (os.getpid(), truth), flush=True)
if sys.argv[1] == "sleep":
    time.sleep(float(sys.argv[2]))   # the only thread, asleep
else:
    ctypes.CDLL(None).pause()        # the only thread, in a C library call (libffi)
print("RESULT %s %d %d" % (",".join(seen) or "-", handlers() == before,
                           len(os.listdir("/proc/self/task"))), flush=True)
'''


def _idle(ctx, secs, how="sleep", prefix=()):
    path = os.path.join(ctx.tmp, "idle.py")
    with open(path, "w") as f:
        f.write(IDLE)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(list(prefix) + [ctx.python, path, how, str(secs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = proc.stdout.readline().decode()
    assert line.startswith("READY"), line
    proc.truth = int(line.split()[2])
    return proc


def test_attach_idle_process(ctx):
    """Only a main thread, asleep in time.sleep: no thread reaches a safe point, so the
    idle route injects on the sleeping thread. The target never sees the SIGCONT that
    ended gdb's wait, and sleeps on."""
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    proc = _idle(ctx, 5)
    try:
        p = attach(ctx, proc.pid, "--dir", out)
        assert p.returncode == 0, p.stderr
        rows = sql(ctx, p.stdout.strip(),
                   "SELECT count(*) AS n FROM objects WHERE type = '__main__.Marker'")
        assert rows[0]["n"] == proc.truth == 111, (rows, proc.truth)
        line = proc.stdout.readline().decode().split()
        assert proc.wait(timeout=TIMEOUT) == 0
        assert line == ["RESULT", "-", "1", "1"], line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_attach_no_safe_thread_times_out(ctx):
    """The only thread waits inside a C library call made through libffi (not by
    CPython itself): no safe point, no parked thread to trust. One timeout line, and
    the target is untouched: it never saw a SIGCONT, and wakes on its own signal."""
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    proc = _idle(ctx, 0, how="pause")
    try:
        p = attach(ctx, proc.pid, "--dir", out, timeout=4)
        assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
        assert p.stderr.startswith("python3 -m pymple dump: timeout: no thread of process "
                                   "%d ran Python code" % proc.pid), p.stderr
        assert "nothing was changed" in p.stderr
        with open("/proc/%d/status" % proc.pid) as f:
            assert "TracerPid:\t0\n" in f.read()
        os.kill(proc.pid, signal.SIGUSR1)
        line = proc.stdout.readline().decode().split()
        assert proc.wait(timeout=TIMEOUT) == 0
        assert line == ["RESULT", "USR1", "1", "1"], line
        assert os.listdir(out) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_attach_not_python(ctx):
    proc = subprocess.Popen(["sleep", "60"])
    try:
        p = attach(ctx, proc.pid, "--dir", ctx.tmp)
        assert p.returncode == 1, p
        assert p.stderr == ("python3 -m pymple dump: process %d (sleep) is not a Python process: "
                            "no libpython in its memory map and its program is %s\n" %
                            (proc.pid, os.path.realpath(shutil.which("sleep")))), p.stderr
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_attach_no_such_process(ctx):
    proc = subprocess.Popen(["true"])
    proc.wait()
    p = attach(ctx, proc.pid, "--dir", ctx.tmp)
    assert p.returncode == 1 and p.stderr == (
        "python3 -m pymple dump: no process %d\n" % proc.pid), p.stderr


def test_attach_target_exits_mid_attach(ctx):
    """gdb is attached and waiting (no thread runs Python); the target dies: one line."""
    proc = _idle(ctx, 0, how="pause")
    try:
        a = subprocess.Popen([ctx.python, "-m", "pymple", "dump", "--attach", "--dir", ctx.tmp,
                              "--timeout", "100", str(proc.pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, env=ctx.env())

        def traced():
            with open("/proc/%d/status" % proc.pid) as f:
                return any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)
        end = time.monotonic() + TIMEOUT
        while not traced():
            assert a.poll() is None, a.stderr.read()
            assert time.monotonic() < end, "gdb never attached"
            time.sleep(0.05)
        time.sleep(1)  # let gdb reach its wait
        proc.kill()
        proc.wait()
        out, err = a.communicate(timeout=TIMEOUT)
        assert a.returncode == 1, (out, err)
        assert err == "python3 -m pymple dump: process %d exited during the attach\n" % (
            proc.pid), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_attach_ptrace_denied(ctx):
    """An unprivileged attacher against a root-owned target: the fix, in one line."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("  (skipped: needs root and setpriv)")
        return
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else None
    if py is None:
        print("  (skipped: no /usr/bin/python3 for the unprivileged side)")
        return
    proc = _idle(ctx, 60)
    try:
        os.chmod(ctx.tmp, 0o755)
        p = attach(ctx, proc.pid, "--dir", "/tmp", python=py,
                   prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        assert p.returncode == 1, p
        assert p.stderr == ("python3 -m pymple dump: ptrace forbidden: process %d runs as uid 0 "
                            "and this command as uid 65534 without CAP_SYS_PTRACE: run it as "
                            "uid 0 or as root\n" % proc.pid), p.stderr
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_attach_directory_not_writable_by_target(ctx):
    """The target runs as nobody; the directory is root's: refused before any ptrace."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("  (skipped: needs root and setpriv)")
        return
    if not os.access("/usr/bin/python3", os.X_OK):
        print("  (skipped: no /usr/bin/python3 for the unprivileged target)")
        return
    d = os.path.join(ctx.tmp, "rootonly")
    os.mkdir(d, 0o755)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    path = os.path.join(ctx.tmp, "idle.py")
    with open(path, "w") as f:
        f.write(IDLE)
    os.chmod(ctx.tmp, 0o755)
    os.chmod(path, 0o644)
    proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             "/usr/bin/python3", path, "60"], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().decode().startswith("READY")
        p = attach(ctx, proc.pid, "--dir", d)
        assert p.returncode == 1
        minor = os.path.basename(os.readlink("/proc/%d/exe" % proc.pid))  # python3.Y
        pkg = os.path.join(ctx.pythonpath, "pymple")
        if not any(n.startswith("_pymple.cpython-%s-" % minor[6:].replace(".", ""))
                   for n in os.listdir(pkg)):
            # This build cannot load into Debian's python3: that refusal comes first.
            assert "no pymple extension built for Python %s" % minor[6:] in p.stderr, p.stderr
        else:
            assert p.stderr == ("python3 -m pymple dump: %s: process %d's user (uid 65534) "
                                "cannot write there: choose another --dir\n" % (d, proc.pid)), (
                p.stderr)
        with open("/proc/%d/status" % proc.pid) as f:
            assert "TracerPid:\t0\n" in f.read()
    finally:
        proc.kill()
        proc.wait()


def test_attach_no_build_for_the_version(ctx):
    """A package without an extension for the target's version refuses, naming the
    make command, and never traces the target."""
    pkg = os.path.join(ctx.tmp, "pkg", "pymple")
    os.makedirs(pkg)
    for n in os.listdir(os.path.join(ctx.pythonpath, "pymple")):
        if n.endswith(".py"):
            shutil.copy(os.path.join(ctx.pythonpath, "pymple", n), pkg)
    proc = _idle(ctx, 60)
    try:
        env = dict(os.environ, PYTHONPATH=os.path.dirname(pkg))
        p = subprocess.run([ctx.python, "-m", "pymple", "dump", "--attach", str(proc.pid)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, env=env, cwd=ctx.tmp, timeout=TIMEOUT)
        v = "%d.%d" % sys.version_info[:2] if ctx.python == sys.executable else None
        assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
        assert "no pymple extension built for Python %s next to %s: build one with `make " \
               "PYTHON=python%s`" % (v, pkg, v) in p.stderr or v is None, p.stderr
        with open("/proc/%d/status" % proc.pid) as f:
            assert "TracerPid:\t0\n" in f.read()
    finally:
        proc.kill()
        proc.wait()


def test_attach_interrupted(ctx):
    """SIGTERM to the command while gdb waits: gdb still detaches cleanly, one line, the
    target untouched (no tracer, no SIGCONT seen, no file left in the directory)."""
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    proc = _idle(ctx, 0, how="pause")
    try:
        a = subprocess.Popen([ctx.python, "-m", "pymple", "dump", "--attach", "--dir", out,
                              str(proc.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, env=ctx.env())

        def tracer():
            with open("/proc/%d/status" % proc.pid) as f:
                return [l.split()[1] for l in f if l.startswith("TracerPid:")][0]
        end = time.monotonic() + TIMEOUT
        while tracer() == "0":
            assert a.poll() is None, a.stderr.read()
            assert time.monotonic() < end, "gdb never attached"
            time.sleep(0.05)
        time.sleep(1.5)  # past the idle check: gdb waits at its breakpoints
        a.send_signal(signal.SIGTERM)
        _, err = a.communicate(timeout=TIMEOUT)
        assert a.returncode == 1, err
        assert err == ("python3 -m pymple dump: interrupted; gdb detached from process %d; "
                       "nothing was changed\n" % proc.pid), err
        assert tracer() == "0"
        assert os.listdir(out) == []
        os.kill(proc.pid, signal.SIGUSR1)
        line = proc.stdout.readline().decode().split()
        assert proc.wait(timeout=TIMEOUT) == 0
        assert line == ["RESULT", "USR1", "1", "1"], line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_attach_other_user_and_private_build(ctx):
    """A target running as nobody, dumped by root from a build nobody cannot read: the
    build is handed over as a copy in the dump directory (removed after loading), and
    the dump belongs to nobody, mode 0600, with the target's markers exactly."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("  (skipped: needs root and setpriv)")
        return
    exe = "/usr/bin/python3"
    if not os.access(exe, os.X_OK):
        print("  (skipped: no /usr/bin/python3 to run as nobody)")
        return
    ver = subprocess.run([exe, "-c", "import sys; print('%d%d' % sys.version_info[:2])"],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    src = os.path.join(ctx.pythonpath, "pymple")
    if not any(n.startswith("_pymple.cpython-%s-" % ver) for n in os.listdir(src)):
        print("  (skipped: this build has no extension for %s's Python)" % exe)
        return
    private = os.path.join(ctx.tmp, "private")
    shutil.copytree(src, os.path.join(private, "pymple"))
    os.chmod(private, 0o700)
    os.chmod(ctx.tmp, 0o755)
    out = os.path.join(ctx.tmp, "out")
    os.mkdir(out)
    os.chown(out, 65534, 65534)
    path = os.path.join(ctx.tmp, "idle.py")
    with open(path, "w") as f:
        f.write(IDLE)
    os.chmod(path, 0o644)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe,
                             path, "sleep", "60"], stdout=subprocess.PIPE, env=env, cwd="/")
    try:
        line = proc.stdout.readline().decode().split()
        assert line[0] == "READY", line
        p = subprocess.run([ctx.python, "-m", "pymple", "dump", "--attach", "--dir", out,
                            line[1]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, env=dict(os.environ, PYTHONPATH=private),
                           timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        dump = p.stdout.strip()
        assert os.listdir(out) == [os.path.basename(dump)], os.listdir(out)
        st = os.stat(dump)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600), st
        rows = sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE type = '__main__.Marker'")
        assert rows[0]["n"] == int(line[2]) == 111, rows
        with open("/proc/%s/maps" % line[1]) as f:
            assert any(".pymple-attach-" in l and "(deleted)" in l for l in f)
    finally:
        proc.kill()
        proc.wait()
