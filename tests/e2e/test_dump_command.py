"""test_dump_command.py — `python3 -m pymple dump PID` (issue 12): the trigger that never
kills. Against targets with SIG_DFL, SIG_IGN, a foreign Python handler, a pymple handler
that was replaced, and pymple installed: only the last gets a dump, and every target is
alive afterwards (a foreign handler was never even called). The command runs without the
C extension; the advertisement is private (0600 in a 0700 directory) and gone at exit.
"""
import os
import select
import shutil
import signal
import stat
import subprocess

TIMEOUT = 120.0  # a bound for a hang only

TARGET = r'''
import os, signal, sys, time
mode, outdir = sys.argv[1], sys.argv[2]
class Marker:
    pass
keep = [Marker() for _ in range(555)]
got = []
if mode == "ign":
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
elif mode == "python":
    signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
elif mode in ("pymple", "replaced"):
    import pymple
    pymple.install("USR2", outdir, fork=True)
    if mode == "replaced":  # the application took the signal back afterwards
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)
print("READY", flush=True)
sys.stdin.readline()
print("RESULT got=%d" % len(got), flush=True)
'''


class Target:
    def __init__(self, ctx, mode, outdir, env=None):
        path = os.path.join(ctx.tmp, "target.py")
        with open(path, "w") as f:
            f.write(TARGET)
        self.proc = subprocess.Popen([ctx.python, path, mode, outdir], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env or ctx.env(), cwd=ctx.tmp)
        self.pid = self.proc.pid
        assert self._line() == "READY", self.proc.stderr.read()

    def _line(self):
        r, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        assert r, "the target said nothing"
        return self.proc.stdout.readline().strip()

    def finish(self):
        """Ends it through stdin: its RESULT line and exit status."""
        assert self.proc.poll() is None, "the target died: %s" % self.proc.returncode
        self.proc.stdin.write("x\n")
        self.proc.stdin.close()
        line = self._line()
        return line, self.proc.wait(TIMEOUT), self.proc.stderr.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def dump_cmd(ctx, *args, env=None):
    return subprocess.run([ctx.python, "-m", "pymple", "dump"] + [str(a) for a in args],
                          capture_output=True, text=True, env=env or ctx.env(), cwd=ctx.tmp,
                          timeout=TIMEOUT)


def test_dump_only_where_pymple_is_installed(ctx):
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    for mode in ("dfl", "ign", "python", "replaced"):
        t = Target(ctx, mode, outdir)
        try:
            r = dump_cmd(ctx, t.pid)
            assert r.returncode == 1 and r.stdout == "", (mode, r.returncode, r.stdout, r.stderr)
            lines = r.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                "python3 -m pymple dump: process %d " % t.pid), (mode, r.stderr)
            for how in ("pymple.install()", "python3 -m pymple run", "PYMPLE_SIGNAL"):
                assert how in lines[0], (mode, lines[0])
            if mode == "replaced":
                assert "does not catch" in lines[0], lines[0]
            else:
                assert "has not enabled dumps" in lines[0], lines[0]
            line, status, err = t.finish()
        finally:
            t.kill()
        # Alive to the end, and a foreign handler never saw a signal from us.
        assert (line, status) == ("RESULT got=0", 0), (mode, line, status, err)
        assert os.listdir(outdir) == [], (mode, os.listdir(outdir))

    t = Target(ctx, "pymple", outdir)
    try:
        ad = os.path.join(ctx.runtime_dir(), "pymple", str(t.pid))
        st, dst = os.stat(ad), os.lstat(os.path.dirname(ad))
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert stat.S_IMODE(dst.st_mode) == 0o700, oct(dst.st_mode)
        # Options in any order, the pid anywhere.
        paths = []
        for args in ([t.pid], ["--timeout", "100", t.pid], [t.pid, "--signal", "SIGUSR2"],
                     ["--signal", "12", t.pid, "--timeout=90"]):
            r = dump_cmd(ctx, *args)
            assert r.returncode == 0, (args, r.stderr)
            path = r.stdout.strip()
            assert r.stdout == path + "\n" and os.path.dirname(path) == outdir, r.stdout
            assert os.path.basename(path).startswith("pymple-%d-" % t.pid), path
            paths.append(path)
        assert len(set(paths)) == 4 and sorted(os.listdir(outdir)) == sorted(
            os.path.basename(p) for p in paths), os.listdir(outdir)
        # Complete dumps of this process: its 555 markers.
        db = os.path.join(ctx.tmp, "d.db")
        r = subprocess.run([ctx.analyzer, "load", paths[-1], "-o", db], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([ctx.analyzer, "sql", db, "SELECT count(*) FROM objects WHERE type"
                            " = '__main__.Marker'", "--format", "csv"], capture_output=True,
                           text=True)
        assert r.stdout.split()[-1] == "555", r.stdout
        # Another signal than the advertised one: refused, not sent.
        r = dump_cmd(ctx, "--signal", "USR1", t.pid)
        assert r.returncode == 1 and "dumps on SIGUSR2, not SIGUSR1" in r.stderr, r.stderr
        line, status, err = t.finish()
    finally:
        t.kill()
    assert (line, status) == ("RESULT got=0", 0), (line, status, err)
    assert not os.path.exists(ad), "the advertisement outlived the process"
    # The process is gone now: the command says so.
    r = dump_cmd(ctx, t.pid)
    assert r.returncode == 1 and r.stderr.startswith("python3 -m pymple dump: "), r.stderr


def test_dump_command_without_the_extension(ctx):
    """The command side is pure Python: from a copy of the package without _pymple*.so
    (as under a Python the extension was not built for) it still dumps."""
    pkg = os.path.join(ctx.tmp, "pure", "pymple")
    os.makedirs(pkg)
    for n in os.listdir(os.path.join(ctx.pythonpath, "pymple")):
        if n.endswith(".py"):
            shutil.copy(os.path.join(ctx.pythonpath, "pymple", n), pkg)
    outdir = os.path.join(ctx.tmp, "out")
    os.mkdir(outdir)
    t = Target(ctx, "pymple", outdir)
    try:
        env = ctx.env(PYTHONPATH=os.path.dirname(pkg))
        r = subprocess.run([ctx.python, "-c", "import pymple; pymple.dump"], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 1 and "ImportError" in r.stderr, r.stderr  # really no core
        r = dump_cmd(ctx, t.pid, env=env)
        assert r.returncode == 0 and os.path.exists(r.stdout.strip()), (r.stdout, r.stderr)
        t.finish()
    finally:
        t.kill()


def test_dump_command_usage(ctx):
    r = dump_cmd(ctx, "-h")
    assert r.returncode == 0, r.stderr
    for text in ("usage: python3 -m pymple dump", "--signal SIG", "--timeout S", "PID",
                 "pymple.install()", "python3 -m pymple run", "PYMPLE_SIGNAL", "SigCgt",
                 "exit status"):
        assert text in r.stdout, text
    for args in ([], ["abc"], ["0"], ["1", "2"], ["--timeout", "0", "1"], ["--timeout", "x", "1"],
                 ["--signal", "CHLD", "1"], ["--signal", "NOPE", "1"], ["--frob", "1"]):
        r = dump_cmd(ctx, *args)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1, (args, r.returncode, r.stderr)
        assert lines[0].startswith("python3 -m pymple dump: ") and lines[0].endswith(
            "(see 'python3 -m pymple dump -h')"), lines[0]
    r = dump_cmd(ctx, "--signal", "CHLD", "1")
    assert "dump child" in r.stderr, r.stderr


def test_advertisement_directory_is_private(ctx):
    """Without XDG_RUNTIME_DIR, or with one whose pymple/ is a symlink, install()
    advertises in /tmp/pymple-<euid> (0700, ours) and never through the symlink."""
    elsewhere = os.path.join(ctx.tmp, "elsewhere")
    os.mkdir(elsewhere)
    xdg = os.path.join(ctx.tmp, "xdg")
    os.mkdir(xdg, 0o700)
    os.symlink(elsewhere, os.path.join(xdg, "pymple"))
    fallback = "/tmp/pymple-%d" % os.geteuid()
    for env in (ctx.env(XDG_RUNTIME_DIR=""), ctx.env(XDG_RUNTIME_DIR=xdg)):
        t = Target(ctx, "pymple", ctx.tmp, env=env)
        try:
            ad = os.path.join(fallback, str(t.pid))
            st, dst = os.lstat(ad), os.lstat(fallback)
            assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
            assert stat.S_ISDIR(dst.st_mode) and dst.st_uid == os.geteuid()
            assert stat.S_IMODE(dst.st_mode) & 0o077 == 0, oct(dst.st_mode)
            assert os.listdir(elsewhere) == []
            r = dump_cmd(ctx, t.pid, env=ctx.env(XDG_RUNTIME_DIR=""))
            assert r.returncode == 0, r.stderr
            t.finish()
        finally:
            t.kill()
        assert not os.path.exists(ad)


def test_make_install_warns_where_pth_files_do_not_run(ctx):
    """tools/install-python.sh (make install) into PREFIX/lib/pythonX.Y/site-packages, a
    directory Python does not treat as a site dir: a warning that PYMPLE_SIGNAL will not
    work from there; into the interpreter's own site-packages (a venv): none."""
    prefix = os.path.join(ctx.tmp, "prefix")
    r = subprocess.run(["sh", os.path.join(ctx.root, "tools", "install-python.sh"), ctx.python,
                        ctx.pythonpath, "", prefix], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and ".pth" in r.stderr and "PYMPLE_SIGNAL" in r.stderr, r.stderr
    venv = os.path.join(ctx.tmp, "venv")
    subprocess.run([ctx.python, "-m", "venv", "--without-pip", venv], check=True,
                   timeout=TIMEOUT)
    r = subprocess.run(["sh", os.path.join(ctx.root, "tools", "install-python.sh"),
                        os.path.join(venv, "bin", "python"), ctx.pythonpath, "", ""],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
