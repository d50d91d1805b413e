"""test_signal_policy.py — issue 12, the traced process first: one signal policy for
install(), `python3 -m pymple run --signal` and the PYMPLE_SIGNAL hook (allowed signals
and their spellings; every other signal refused with the reason); a dump signal that
arrives while the interpreter shuts down is harmless; the handler never writes into a
descriptor the application closed and reused. Truth comes from the kernel
(/proc/PID/status SigCgt) and from the processes' exit status.
"""
import os
import signal
import subprocess

TIMEOUT = 120.0  # a bound for a hang only

PRELUDE = r'''
import os, signal, sys, time
import pymple
def caught(signum):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
'''

REFUSED = ["SIGCHLD", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGSYS", "SIGTRAP",
           "SIGKILL", "SIGSTOP", "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGPIPE", "SIGALRM",
           "SIGVTALRM", "SIGPROF", "SIGIO", "SIGURG", "SIGWINCH", "SIGXCPU", "SIGXFSZ", "SIGPWR",
           "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU"]
# The reason each family's message must give.
WHY = {"SIGCHLD": "dump child", "SIGSEGV": "crash", "SIGBUS": "crash", "SIGFPE": "crash",
       "SIGILL": "crash", "SIGABRT": "crash", "SIGKILL": "cannot be caught",
       "SIGSTOP": "cannot be caught", "SIGTERM": "stop", "SIGINT": "stop"}


def _py(ctx, code, *args, env=None):
    return subprocess.run([ctx.python, "-c", PRELUDE + code] + list(args), capture_output=True,
                          text=True, env=env or ctx.env(), cwd=ctx.tmp, timeout=TIMEOUT)


def test_install_refuses_each_unsafe_signal_and_says_why(ctx):
    names = [n for n in REFUSED if hasattr(signal, n)]
    r = _py(ctx, r'''
out = []
for name in sys.argv[1:]:
    num = int(getattr(signal, name))
    was = caught(num)  # SIGINT: Python's own handler
    for spelling in (num, getattr(signal, name), name, name[3:].lower()):
        try:
            pymple.install(spelling, ".")
            out.append("ACCEPTED %s %r" % (name, spelling))
        except ValueError as e:
            if not (name in str(e) and caught(num) == was):
                out.append("BAD %s %r: %s" % (name, spelling, e))
            elif spelling == num:
                out.append("WHY %s %s" % (name, e))
for bad in (0, signal.NSIG, -1, 1000, "NOPE", "SIG_IGN", "RTMIN+1000"):
    try:
        pymple.install(bad, ".")
        out.append("ACCEPTED %r" % (bad,))
    except ValueError:
        pass
for bad in (2.0, None, True, b"USR2"):
    try:
        pymple.install(bad, ".")
        out.append("ACCEPTED %r" % (bad,))
    except TypeError:
        pass
print("\n".join(out))
print("END", os.listdir("/proc/self/task").__len__())
''', *names)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1].startswith("END"), r.stdout
    bad = [l for l in lines if l.startswith(("ACCEPTED", "BAD"))]
    assert not bad, bad
    why = {l.split()[1]: l for l in lines if l.startswith("WHY")}
    assert sorted(why) == sorted(names), why
    for name, word in WHY.items():
        if name in why:
            assert word in why[name], why[name]
    # Nothing was left running: no dumper thread (a refused install() starts nothing).
    assert lines[-1] == "END 1", lines[-1]


ACCEPTED = [("12", "SIGUSR2"), ("USR2", "SIGUSR2"), ("SIGUSR2", "SIGUSR2"), ("usr1", "SIGUSR1"),
            ("sigusr1", "SIGUSR1"), ("RTMIN", "SIGRTMIN"), ("RTMIN+2", "SIGRTMIN+2"),
            ("SIGRTMAX-1", "SIGRTMIN+%d" % (int(signal.SIGRTMAX) - int(signal.SIGRTMIN) - 1)),
            ("SIGRTMAX", "SIGRTMAX")]


def _expected_number(name):
    if name.startswith("SIGRTMIN+"):
        return int(signal.SIGRTMIN) + int(name[9:])
    return int(getattr(signal, name))


def test_install_accepts_each_spelling(ctx):
    """An int, a signal.Signals and the names: install() catches exactly that signal,
    advertises it, and a signal sent to it gives a dump."""
    os.mkdir(os.path.join(ctx.tmp, "out"))
    r = _py(ctx, r'''
import glob
out = []
specs = [int(signal.SIGUSR2), signal.SIGUSR2, signal.Signals.SIGUSR1, int(signal.SIGRTMIN)] + \
    sys.argv[1:]
for spec in specs:
    pymple.install(spec, "out", quiet=True)
    ad = glob.glob(os.path.join(os.environ["XDG_RUNTIME_DIR"], "pymple", str(os.getpid())))
    text = open(ad[0]).read() if ad else ""
    sig = [int(l[7:]) for l in text.splitlines() if l.startswith("signal=")]
    n = sig[0] if sig else -1
    before = set(os.listdir("out"))
    os.kill(os.getpid(), n)
    t0 = time.monotonic()
    while set(os.listdir("out")) == before and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    out.append("%r %d %s %s" % (spec, n, caught(n), len(set(os.listdir("out")) - before)))
pymple.uninstall()
print("\n".join(out))
''', *[a for a, _ in ACCEPTED])
    assert r.returncode == 0, r.stderr
    got = r.stdout.splitlines()
    want = [int(signal.SIGUSR2), int(signal.SIGUSR2), int(signal.SIGUSR1), int(signal.SIGRTMIN)] \
        + [_expected_number(n) for _, n in ACCEPTED]
    assert len(got) == len(want), (got, r.stderr)
    for line, n in zip(got, want):
        spec, num, is_caught, dumps = line.rsplit(" ", 3)
        assert (int(num), is_caught, dumps) == (n, "True", "1"), (line, n)


def test_run_and_hook_use_the_same_policy(ctx):
    prog = os.path.join(ctx.tmp, "prog.py")
    with open(prog, "w") as f:
        f.write(PRELUDE.replace("import pymple\n", "") + r'''
print("caught", caught(int(sys.argv[1])), flush=True)
''')
    # python3 -m pymple run --signal: accepted spellings catch that signal ...
    for spelling, name in ACCEPTED:
        r = subprocess.run([ctx.python, "-m", "pymple", "run", "--signal", spelling, prog,
                            str(_expected_number(name))], capture_output=True, text=True,
                           env=ctx.env(), cwd=ctx.tmp, timeout=TIMEOUT)
        assert r.returncode == 0 and r.stdout == "caught True\n", (spelling, r.stdout, r.stderr)
    # ... refused ones are a usage error that names the reason, and the program never runs.
    for name in ("CHLD", "SIGSEGV", "17", "TERM"):
        r = subprocess.run([ctx.python, "-m", "pymple", "run", "--signal", name, prog, "17"],
                           capture_output=True, text=True, env=ctx.env(), cwd=ctx.tmp,
                           timeout=TIMEOUT)
        assert r.returncode == 2 and r.stdout == "", (name, r.returncode, r.stdout)
        assert r.stderr.startswith("python3 -m pymple: --signal: SIG"), r.stderr
        assert "cannot request dumps" in r.stderr, r.stderr
    # The PYMPLE_SIGNAL hook (the module the .pth line imports): same answers; a refused
    # signal is one line on stderr and the program starts all the same.
    hook = "import pymple_signal_hook\n"
    env_path = ctx.pythonpath + os.pathsep + os.path.join(ctx.root, "dumper")
    for spelling, name in ACCEPTED[:3] + [("RTMIN+2", "SIGRTMIN+2")]:
        r = subprocess.run([ctx.python, "-c", hook + open(prog).read(),
                            str(_expected_number(name))], capture_output=True, text=True,
                           env=ctx.env(PYTHONPATH=env_path, PYMPLE_SIGNAL=spelling,
                                       PYMPLE_DIR=ctx.tmp), cwd=ctx.tmp, timeout=TIMEOUT)
        assert r.returncode == 0 and r.stdout == "caught True\n", (spelling, r.stdout, r.stderr)
    for spelling, num in (("CHLD", 17), ("SEGV", 11), ("SIGTERM", 15)):
        # What the program catches without the hook (under ASan: SIGSEGV, by ASan).
        r = subprocess.run([ctx.python, "-c", open(prog).read(), str(num)], capture_output=True,
                           text=True, env=ctx.env(), cwd=ctx.tmp, timeout=TIMEOUT)
        unchanged = r.stdout
        r = subprocess.run([ctx.python, "-c", hook + open(prog).read(), str(num)],
                           capture_output=True, text=True,
                           env=ctx.env(PYTHONPATH=env_path, PYMPLE_SIGNAL=spelling,
                                       PYMPLE_DIR=ctx.tmp), cwd=ctx.tmp, timeout=TIMEOUT)
        assert r.returncode == 0 and r.stdout == unchanged, (spelling, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "pymple: PYMPLE_SIGNAL=%s ignored: SIG" % spelling), r.stderr
        assert "cannot request dumps" in lines[0], lines[0]


LATE = r'''
import atexit
mode, before = sys.argv[1], sys.argv[2]
got = []
if before == "ign":
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
elif before == "python":
    signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
def late():
    # Registered before install(): runs after install()'s at-exit uninstall.
    ad = os.path.join(os.environ["XDG_RUNTIME_DIR"], "pymple", str(os.getpid()))
    for _ in range(20):
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.01)
    print("late", caught(signal.SIGUSR2), os.path.exists(ad), len(got) > 0,
          sorted(os.listdir("out")), flush=True)
atexit.register(late)
pymple.install(signal.SIGUSR2, "out", fork=(mode == "fork"))
print("installed", flush=True)
'''


def test_late_signal_during_shutdown_is_harmless(ctx):
    """An atexit hook registered before install() signals the process after install()'s
    at-exit uninstall ran: the process exits with status 0 (it used to die of SIGUSR2),
    no dump is written, the advertisement is gone; a SIG_IGN or a Python handler that was
    there before install() is back."""
    os.mkdir(os.path.join(ctx.tmp, "out"))
    for mode in ("fork", "inproc"):
        for before, want_caught, want_handled in (("dfl", "True", "False"),
                                                  ("ign", "False", "False"),
                                                  ("python", "True", "True")):
            r = _py(ctx, LATE, mode, before)
            assert r.returncode == 0, (mode, before, r.returncode, r.stdout, r.stderr)
            assert r.stdout.splitlines() == [
                "installed", "late %s False %s []" % (want_caught, want_handled)], \
                (mode, before, r.stdout, r.stderr)


def test_explicit_uninstall_restores_the_default_action(ctx):
    """uninstall() (not at exit) gives back SIG_DFL: then the signal does what it did
    before install(), here: it ends the process."""
    r = _py(ctx, r'''
pymple.install(signal.SIGUSR2, ".")
pymple.uninstall()
print(caught(signal.SIGUSR2), flush=True)
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(5)
print("survived")
''')
    assert r.returncode == -signal.SIGUSR2 and r.stdout == "False\n", (r.returncode, r.stdout)


def test_handler_never_writes_into_a_reused_descriptor(ctx):
    """A program that closes every descriptor (a daemon, a closerange() before exec) and
    opens files of its own gets nothing written into them by a later dump signal; the
    dumper stops with one line, the process lives on, and exits with status 0."""
    r = _py(ctx, r'''
pymple.install(signal.SIGUSR2, ".")
os.closerange(3, 4096)
files = [os.open("f%d" % i, os.O_RDWR | os.O_CREAT, 0o600) for i in range(16)]
for _ in range(5):
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0.05)
sizes = [os.fstat(fd).st_size for fd in files]
print("sizes", sum(sizes), caught(signal.SIGUSR2), flush=True)
''')
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "sizes 0 True\n", (r.stdout, r.stderr)
    assert "pymple: dumps on signal stop: the process closed pymple's pipe" in r.stderr, r.stderr
