"""attach.py — `python3 -m pymple dump --attach PID`: one heap dump of a running CPython
process that never imported pymple, through gdb. Pure Python: it never imports the C
extension, so it runs under any interpreter; it only hands the extension built for the
target's version to the target (see README, "Dump a process you did not prepare").

The route, in three steps (each failure is one line and leaves the target as it was):
 1. checks without touching the target: gdb present, the pid alive and not traced, a
    CPython 3.8-3.13 with a matching build, ptrace allowed, the directory writable by the
    target's user;
 2. gdb attaches and puts breakpoints on the entry of a few CPython API functions (a
    thread there holds no libc lock: it is not inside malloc or the loader). The first
    thread to stop there runs, through inferior calls, mmap (a page for the arguments),
    dlopen (the extension) and pymple_attach_start (which copies the arguments and starts
    one thread), then gdb detaches. No Python runs on the interrupted thread. When no
    thread gets there within IDLE_WAIT, a SIGCONT (which gdb stops on and swallows:
    never passed on) has gdb look for a thread parked in a plain blocking call made by
    CPython code (the idle route) and inject there instead; a second SIGCONT at the
    deadline ends the wait, and gdb detaches.
 3. the started thread takes the GIL the ordinary way and dumps, unless the deadline has
    passed or this side has cancelled (an exclusive create of the claim file decides);
    it reports "ok PATH" or "error ..." in the claim file, which this side reads.
The timeout never kills gdb: killing gdb inside an inferior call kills the target.
"""
import glob
import os
import re
import select
import signal
import subprocess
import tempfile
import time

# CPython API functions whose entry is a safe place to run dlopen: the thread that
# reaches one is running the interpreter (or just back from a blocking call) and holds
# no lock of the C library. Not malloc & co: the loader itself calls them with its
# lock held.
SAFE_POINTS = ("PyMem_Malloc", "PyMem_Calloc", "PyMem_Realloc", "PyMem_Free",
               "PyObject_Malloc", "PyObject_Free", "PyEval_SaveThread",
               "PyEval_RestoreThread")

CAP_SYS_PTRACE = 19
IDLE_WAIT = 1.0  # seconds at the safe points before the idle route is tried
MIN_MINOR, MAX_MINOR = 8, 13


class AttachError(Exception):
    """One line for the user; the target is as it was."""


# ------------------------------------------------------------------ the target


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _status(pid):
    """/proc/PID/status as a dict of its fields (strings)."""
    out = {}
    for line in _read("/proc/%d/status" % pid).splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


class Target:
    """What /proc says about the process, read once."""

    def __init__(self, pid):
        self.pid = pid
        try:
            st = _status(pid)
            self.comm = st.get("Name", "?")
            self.uids = [int(x) for x in st["Uid"].split()]
            self.gids = [int(x) for x in st["Gid"].split()]
            self.groups = [int(x) for x in st.get("Groups", "").split()]
            self.tracer = int(st.get("TracerPid", "0"))
            if st.get("State", "").startswith("Z"):
                raise AttachError("process %d has exited (a zombie)" % pid)
        except FileNotFoundError:
            raise AttachError("no process %d" % pid)
        try:
            self.exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            self.exe = None  # another user's process: readable with ptrace rights only
        try:
            self.maps = _read("/proc/%d/maps" % pid)
        except OSError:
            self.maps = None
        self.same_mntns = _same_mount_ns(pid)

    def uid(self):
        return self.uids[1]  # effective: the dump files belong to it

    def local(self, path):
        """A path of the target's file system view, as this process can reach it."""
        if self.same_mntns:
            return path
        return "/proc/%d/root%s" % (self.pid, path)

    def alive(self):
        try:
            return not _status(self.pid).get("State", "").startswith("Z")
        except OSError:
            return False

    def python_version(self):
        """(3, minor) of the target's CPython; AttachError when it is not one we dump."""
        if self.maps is None or self.exe is None:
            return None  # unreadable: the ptrace check explains why
        m = re.search(r"/libpython(\d)\.(\d+)([a-z]*)\.so", self.maps)
        where = "libpython in its memory map"
        if not m:
            m = re.match(r"python(\d)\.(\d+)([a-z]*)$", os.path.basename(self.exe))
            where = "its program " + self.exe
        if not m:
            raise AttachError("process %d (%s) is not a Python process: no libpython in its "
                              "memory map and its program is %s" % (self.pid, self.comm,
                                                                    self.exe))
        major, minor, flags = int(m.group(1)), int(m.group(2)), m.group(3)
        if major != 3 or not MIN_MINOR <= minor <= MAX_MINOR:
            raise AttachError("process %d runs Python %d.%d (%s); pymple dumps CPython "
                              "3.%d-3.%d" % (self.pid, major, minor, where, MIN_MINOR,
                                             MAX_MINOR))
        if "t" in flags or "d" in flags:
            raise AttachError("process %d runs a %s build of Python 3.%d (%s); pymple "
                              "supports only the default build" %
                              (self.pid, "free-threaded" if "t" in flags else "debug",
                               minor, where))
        return (3, minor)


def _same_mount_ns(pid):
    try:
        return os.readlink("/proc/self/ns/mnt") == os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return False


def _has_cap(bit):
    try:
        return bool(int(_status(os.getpid()).get("CapEff", "0"), 16) >> bit & 1)
    except (OSError, ValueError):
        return False


def _yama_scope():
    try:
        return int(_read("/proc/sys/kernel/yama/ptrace_scope").strip())
    except (OSError, ValueError):
        return 0


def check_ptrace(t):
    """Refuses, with the fix, when the kernel will not let this process trace t."""
    if t.tracer:
        try:
            who = "%d (%s)" % (t.tracer, _status(t.tracer).get("Name", "?"))
        except OSError:
            who = str(t.tracer)
        raise AttachError("process %d is already traced by process %s; a process has at most "
                          "one tracer: detach that one first" % (t.pid, who))
    scope = _yama_scope()
    cap = _has_cap(CAP_SYS_PTRACE)
    if scope >= 3:
        raise AttachError("ptrace is disabled on this machine (kernel.yama.ptrace_scope=3, "
                          "which only a reboot lowers)")
    if cap:
        return
    me = os.geteuid()
    if any(u != me for u in t.uids) or any(g != os.getegid() for g in t.gids):
        raise AttachError("ptrace forbidden: process %d runs as uid %d and this command as "
                          "uid %d without CAP_SYS_PTRACE: run it as uid %d or as root" %
                          (t.pid, t.uid(), me, t.uid()))
    if scope == 2:
        raise AttachError("ptrace forbidden by kernel.yama.ptrace_scope=2 (only "
                          "CAP_SYS_PTRACE may attach): run this as root")


def _ptrace_denied_hint(t):
    scope = _yama_scope()
    if scope == 1 and not _has_cap(CAP_SYS_PTRACE):
        return ("ptrace forbidden by kernel.yama.ptrace_scope=1 (only a parent may trace "
                "its child): run this as root, or `sysctl kernel.yama.ptrace_scope=0`")
    return ("ptrace forbidden (process %d may be non-dumpable after a uid change, or a "
            "security module denies it): run this as root with CAP_SYS_PTRACE" % t.pid)


# ------------------------------------------------------------- the extension


def find_extension(minor, search=None):
    """Path of a _pymple build for CPython 3.minor, looked up next to this module (where
    `make PYTHON=python3.Y` puts each version's build)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in search or [here]:
        hits = sorted(glob.glob(os.path.join(d, "_pymple.cpython-3%d-*.so" % minor)))
        if hits:
            return hits[0]
    raise AttachError("no pymple extension built for Python 3.%d next to %s: build one with "
                      "`make PYTHON=python3.%d`" % (minor, here, minor))


def _as_target_user(t, fn):
    """fn() evaluated with the target's uid and groups: directly when they are ours,
    in a forked child otherwise (this process must be root then)."""
    if os.geteuid() == t.uid() and os.getegid() == t.gids[1]:
        return fn()
    if os.geteuid() != 0:
        return fn()  # ptrace rights imply the same uid; best effort
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = 0
        try:
            os.close(r)
            os.setgroups(t.groups)
            os.setgid(t.gids[1])
            os.setuid(t.uid())
            ok = 1 if fn() else 0
        except BaseException:
            ok = 0
        finally:
            os.write(w, b"1" if ok else b"0")
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    return got == b"1"


def check_directory(t, directory):
    local = t.local(directory)
    if not os.path.isdir(local):
        raise AttachError("%s: no such directory as process %d sees it" % (directory, t.pid))
    if not _as_target_user(t, lambda: os.access(local, os.W_OK | os.X_OK)):
        raise AttachError("%s: process %d's user (uid %d) cannot write there: choose "
                          "another --dir" % (directory, t.pid, t.uid()))


def _readable_by_target(t, path):
    local = t.local(path)
    try:
        a, b = os.stat(path), os.stat(local)
    except OSError:
        return False
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        return False
    return _as_target_user(t, lambda: os.access(local, os.R_OK))


# ---------------------------------------------------------------- gdb script

GDB_SCRIPT = r'''
import os
import sys
import time

import gdb

PID = %(pid)d
DEADLINE = %(deadline)r
IDLE_ROUTE = %(idle_route)r
BLOB = %(blob)r
SYM_AT = %(sym_at)d
ARGS_AT = %(args_at)d
NAMES = %(names)r


def say(*words):
    sys.stdout.write("PYMPLE: " + " ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


stops = []
gdb.events.stop.connect(stops.append)


def ex(cmd):
    return gdb.execute(cmd, to_string=True)


def alive():
    return gdb.selected_inferior().pid != 0


def val(expr):
    return int(gdb.parse_and_eval(expr))


# The idle route: a thread blocked in one of these C library calls, made directly by
# CPython code (libpython, the python binary or an extension module), holds no lock
# of the C library; names are normalised by plain() (debug and export spellings).
BLOCKING_CALLS = frozenset("""
    clock_nanosleep nanosleep usleep select pselect pselect6 poll ppoll epoll_wait
    epoll_pwait epoll_pwait2 read readv pread recv recvfrom recvmsg accept accept4
    connect wait4 waitpid waitid pause sigsuspend sigtimedwait sigwaitinfo sigwait
    sem_wait sem_timedwait sem_clockwait sem_wait_slow pthread_cond_wait
    pthread_cond_timedwait pthread_cond_clockwait pthread_join pthread_timedjoin_np
    pthread_clockjoin_np pthread_mutex_lock pthread_mutex_timedlock
    pthread_mutex_clocklock""".split())
# ... and the kernel says it sleeps in a waiting system call (x86_64 numbers).
WAIT_SYSCALLS = frozenset([0, 7, 19, 17, 23, 34, 35, 42, 43, 45, 47, 61, 128, 130, 202,
                           230, 232, 247, 270, 271, 281, 288, 441])


def plain(name):
    n = (name or "").split("@")[0]
    for p in ("__GI_", "__libc_", "__new_"):
        if n.startswith(p):
            n = n[len(p):]
    n = n.lstrip("_")
    return n[:-2] if n.endswith("64") else n


def in_libc(pc):
    b = os.path.basename(gdb.solib_name(pc) or "")
    return b.startswith(("libc.so", "libc-", "libpthread"))


def in_python(pc):
    s = gdb.solib_name(pc)
    if s is None:
        return True  # the program itself: a python binary (checked before attaching)
    b = os.path.basename(s)
    return b.startswith("libpython") or ".cpython-" in b


def idle_safe(th):
    """A reason string when th is parked in a blocking call made by CPython code, with
    nothing of the C library's below it except the thread's start; else None."""
    try:
        with open("/proc/%%d/task/%%d/syscall" %% (PID, th.ptid[1])) as f:
            nr = f.read().split()[0]
    except (OSError, IndexError):
        return None
    if not nr.isdigit() or int(nr) not in WAIT_SYSCALLS:
        return None
    th.switch()
    frames = []
    f = gdb.newest_frame()
    while f is not None:
        frames.append(f)
        if len(frames) > 5000:
            return None
        try:
            f = f.older()
        except gdb.error:
            return None
    libc = [in_libc(fr.pc()) for fr in frames]
    if not libc[0] or False not in libc:
        return None
    k = libc.index(False)
    if k > 8 or not in_python(frames[k].pc()) or any(libc[k:len(frames) - 3]):
        return None
    call = plain(frames[k - 1].name())
    if call not in BLOCKING_CALLS:
        return None
    return "%%s (system call %%s)" %% (call, nr)


def pick_idle_thread():
    for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
        why = idle_safe(th)
        if why:
            th.switch()
            return th, why
    return None, None


def inject():
    inf = gdb.selected_inferior()
    # Signals that mean "our call crashed" stop the call (and gdb unwinds it)
    # instead of reaching the program.
    ex("handle SIGSEGV SIGBUS SIGILL SIGFPE SIGABRT stop print nopass")
    errp = val("((int *(*)(void))__errno_location)()")
    saved_errno = bytes(inf.read_memory(errp, 4))
    size = (len(BLOB) + 4095) // 4096 * 4096
    buf = val("((void *(*)(void *, unsigned long, int, int, int, long))mmap)"
              "(0, %%d, 3, 34, -1, 0)" %% size)
    if buf in (0, -1, (1 << 64) - 1):
        say("FAIL", "mmap in the target failed")
        return
    try:
        inf.write_memory(buf, BLOB)
        h = val("((void *(*)(const char *, int))dlopen)((const char *)%%d, 2)" %% buf)
        if h == 0:
            e = gdb.parse_and_eval("((char *(*)(void))dlerror)()")
            say("FAIL", "dlopen in the target failed: " + (e.string() if int(e) else "?"))
            return
        f = val("((void *(*)(void *, const char *))dlsym)((void *)%%d, (const char *)%%d)"
                %% (h, buf + SYM_AT))
        if f == 0:
            say("FAIL", "the extension has no pymple_attach_start (an old build?)")
            return
        rc = val("((int (*)(const char *))%%d)((const char *)%%d)" %% (f, buf + ARGS_AT))
        say("STARTED", rc)
    finally:
        if alive():
            val("((int (*)(void *, unsigned long))munmap)((void *)%%d, %%d)" %% (buf, size))
            inf.write_memory(errp, saved_errno)


def main():
    for c in ("set pagination off", "set confirm off", "set width 0",
              "set breakpoint pending off", "set print thread-events off",
              "set unwindonsignal on", "set scheduler-locking off"):
        try:
            ex(c)
        except gdb.error:
            pass
    try:
        ex("attach %%d" %% PID)
    except gdb.error as e:
        say("ATTACHFAIL", str(e))
        return
    if not alive():
        say("EXITED")
        return
    say("ATTACHED")
    # The program's own signals pass through untouched; SIGCONT is the command
    # line's "time is up" and is never passed on.
    ex("handle all nostop noprint pass")
    ex("handle SIGINT nostop noprint pass")
    ex("handle SIGCONT stop print nopass")
    n = 0
    for name in NAMES:
        try:
            ex("break *%%s" %% name)
            n += 1
        except gdb.error:
            pass
    if n == 0:
        say("NOSYMBOLS")
        ex("detach")
        return
    pokes = 0
    while True:
        say("WAITING")
        del stops[:]
        try:
            ex("continue")
        except gdb.error as e:
            if not alive():
                say("EXITED")
                return
            say("FAIL", "continue: %%s" %% e)
        if not alive():
            say("EXITED")
            return
        ev = stops[-1] if stops else None
        if isinstance(ev, gdb.BreakpointEvent):
            where = "safe point"
            break
        if getattr(ev, "stop_signal", None) != "SIGCONT":
            break
        pokes += 1
        # The first SIGCONT before the deadline: no thread runs Python now; is one
        # parked where it holds no C library lock?
        if pokes == 1 and IDLE_ROUTE and time.monotonic() < DEADLINE - 0.2:
            th, where = pick_idle_thread()
            if th is not None:
                ev = "idle"
                break
            continue
        break
    if isinstance(ev, gdb.BreakpointEvent) or ev == "idle":
        ex("handle SIGCONT nostop noprint nopass")
        ex("delete")
        say("HIT", gdb.selected_thread().ptid[1], where)
        try:
            inject()
        except gdb.error as e:
            if not alive():
                say("EXITED")
                return
            say("FAIL", str(e).splitlines()[0] if str(e) else "inferior call failed")
    else:
        ex("delete")
        say("TIMEOUT", getattr(ev, "stop_signal", "?"))
    if alive():
        ex("detach")
        say("DETACHED")
    else:
        say("EXITED")


try:
    main()
except gdb.error as e:
    say("FAIL", str(e).splitlines()[0] if str(e) else "gdb error")
'''


# --------------------------------------------------------------------- driver


def _gdb_path():
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        p = os.path.join(d, "gdb")
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise AttachError("gdb not found: install it (Debian: apt-get install gdb)")


def _claim_result(local_claim):
    try:
        with open(local_claim, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    return data if data.endswith("\n") else None


def _cancel(local_claim):
    """Takes the claim first: True when this side won (the thread will do nothing)."""
    try:
        os.close(os.open(local_claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return True
    except FileExistsError:
        return False
    except OSError:
        return False


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def attach_dump(pid, directory=None, timeout=30.0, fork=True, log=None):
    """Dumps process pid; returns the dump's path (in the target's file system view).
    Raises AttachError with one line. timeout bounds the whole wait for the target (a
    thread reaching a safe point, then the GIL); a dump that has started is waited for."""
    deadline = time.monotonic() + timeout
    gdb_exe = _gdb_path()
    t = Target(pid)
    check_ptrace(t)
    if t.maps is None or t.exe is None:
        raise AttachError(_ptrace_denied_hint(t))
    minor = t.python_version()[1]
    so = find_extension(minor)
    directory = os.path.abspath(directory or os.getcwd())
    if "\n" in directory or "\0" in directory:
        raise AttachError("%r: a directory name with a newline is not supported" % directory)
    check_directory(t, directory)

    nonce = "%d-%s" % (os.getpid(), os.urandom(6).hex())
    claim = "%s/.pymple-attach-%s.claim" % (directory, nonce)
    local_claim = t.local(claim)
    copy = None
    if not _readable_by_target(t, so):
        # Not visible or not readable where the target is: hand it a copy in the dump
        # directory (removed once loaded; the mapping stays).
        copy = "%s/.pymple-attach-%s.so" % (directory, nonce)
        with open(so, "rb") as src, open(t.local(copy), "wb") as dst:
            dst.write(src.read())
        os.chmod(t.local(copy), 0o644)
        so = copy
    args = "dir=%s\nclaim=%s\ndeadline=%d\nfork=%d\n" % (
        directory, claim, int(deadline * 1e9), 1 if fork else 0)
    sym = b"pymple_attach_start"
    blob = so.encode() + b"\0"
    sym_at = len(blob)
    blob += sym + b"\0"
    args_at = len(blob)
    blob += args.encode() + b"\0"

    # The idle route reads system call numbers, which are per architecture.
    idle_route = os.uname().machine == "x86_64"
    tmp = tempfile.mkdtemp(prefix="pymple-attach-")
    script = os.path.join(tmp, "attach.py")
    with open(script, "w") as f:
        f.write(GDB_SCRIPT % {"pid": pid, "deadline": deadline, "idle_route": idle_route,
                              "blob": blob, "sym_at": sym_at, "args_at": args_at,
                              "names": SAFE_POINTS})
    env = dict(os.environ, LC_ALL="C")
    for k in ("PYTHONPATH", "PYTHONHOME", "LD_PRELOAD"):  # ours, not gdb's
        env.pop(k, None)
    old = {}

    def interrupt(signum, frame):
        raise KeyboardInterrupt()
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                old[sig] = signal.signal(sig, interrupt)
            except (ValueError, OSError):  # not the main thread
                pass
        return _run(t, gdb_exe, script, env, deadline, timeout, local_claim, log, idle_route)
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        _unlink(script)
        os.rmdir(tmp)
        if copy:
            _unlink(t.local(copy))


def _run(t, gdb_exe, script, env, deadline, timeout, local_claim, log, idle_route):
    cmd = [gdb_exe, "-nx", "-q", "-batch", "--readnever", "-iex", "set auto-load off",
           "-iex", "set debuginfod enabled off", "-x", script]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    events = {}
    errtext = []
    buf = {proc.stdout.fileno(): b"", proc.stderr.fileno(): b""}
    open_fds = set(buf)
    poked = 0.0
    waiting = 0
    waiting_since = None
    idle_poked = not idle_route
    interrupted = cancelled = False
    while open_fds:
        try:
            r, _, _ = select.select(list(open_fds), [], [], 0.2)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM: never leave gdb attached. Cancel first (a thread
            # injected meanwhile then finds the claim taken), then end gdb's wait the
            # usual way, and wait for it to detach.
            if not interrupted:
                interrupted = True
                deadline = min(deadline, time.monotonic())
                cancelled = _cancel(local_claim)
            continue
        for fd in r:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            buf[fd] += chunk
            *lines, buf[fd] = buf[fd].split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if fd == proc.stdout.fileno() and line.startswith("PYMPLE: "):
                    word, _, rest = line[8:].partition(" ")
                    events[word] = rest
                    if word == "WAITING":
                        waiting += 1
                        waiting_since = waiting_since or time.monotonic()
                    if log:
                        log("gdb: %s %s" % (word, rest))
                elif fd == proc.stderr.fileno() and line.strip():
                    errtext.append(line.strip())
        now = time.monotonic()
        # SIGCONT makes gdb stop (and swallow it). The first, IDLE_WAIT after gdb
        # started waiting, has it look for a parked thread (the idle route); at the
        # deadline it means time is up, repeated in case it raced with another stop.
        busy = "HIT" in events or "TIMEOUT" in events
        if (not idle_poked and waiting == 1 and not busy
                and now > waiting_since + IDLE_WAIT and now < deadline - 0.5):
            idle_poked = True
            try:
                os.kill(t.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if (now > deadline and waiting and not busy and now - poked > 0.5):
            poked = now
            try:
                os.kill(t.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    proc.wait()

    if interrupted:
        if not cancelled:
            _unlink(local_claim)  # the thread claimed it: its dump runs; we stop waiting
            raise AttachError("interrupted; the dump of process %d already started will "
                              "still be written" % t.pid)
        if "STARTED" in events and "EXITED" not in events:
            # Left in place: the thread, when it runs, must find the claim taken.
            raise AttachError("interrupted; gdb detached; the thread started in process %d "
                              "will end without dumping (%s stays for it)" %
                              (t.pid, local_claim))
        _unlink(local_claim)
        raise AttachError("interrupted; gdb detached from process %d; nothing was changed"
                          % t.pid)
    if "ATTACHFAIL" in events:
        msg = events["ATTACHFAIL"]
        if "not permitted" in msg:
            raise AttachError(_ptrace_denied_hint(t))
        if "No such process" in msg or not t.alive():
            raise AttachError("process %d exited before gdb could attach" % t.pid)
        raise AttachError("gdb could not attach to process %d: %s" % (t.pid, msg))
    if "EXITED" in events:
        raise AttachError("process %d exited during the attach" % t.pid)
    if "NOSYMBOLS" in events:
        raise AttachError("process %d: gdb finds none of CPython's functions in it (%s); "
                          "nothing was changed" % (t.pid, ", ".join(SAFE_POINTS[:2])))
    if "TIMEOUT" in events:
        raise AttachError("timeout: no thread of process %d ran Python code or waited in "
                          "a plain blocking call within %g s (a C call holding the GIL, or "
                          "threads blocked inside C libraries); nothing was changed" %
                          (t.pid, timeout))
    if "FAIL" in events:
        raise AttachError("process %d: %s; gdb detached" % (t.pid, events["FAIL"]))
    if "STARTED" not in events:
        tail = errtext[-1] if errtext else "exit status %d" % proc.returncode
        if not t.alive():
            raise AttachError("process %d exited during the attach" % t.pid)
        raise AttachError("gdb failed: %s" % tail)
    rc = int(events["STARTED"] or "-1")
    if rc != 0:
        why = os.strerror(rc) if rc > 0 else "error %d" % rc
        if rc == 16:  # EBUSY
            why = "a previous attach dump is still running there"
        raise AttachError("process %d: the dump thread did not start: %s" % (t.pid, why))

    # The thread runs; wait for its claim, or cancel at the deadline.
    try:
        while time.monotonic() < deadline:
            res = _claim_result(local_claim)
            if res is not None or os.path.exists(local_claim):
                break
            if not t.alive():
                raise AttachError("process %d exited before its dump thread ran" % t.pid)
            time.sleep(0.05)
        else:
            if _cancel(local_claim):
                _unlink(local_claim)  # the thread checks the deadline before the claim
                raise AttachError("timeout: process %d's dump thread did not get the GIL "
                                  "within %g s (a C call holding it?); it will end without "
                                  "dumping when it does" % (t.pid, timeout))
    except KeyboardInterrupt:
        if _cancel(local_claim):
            raise AttachError("interrupted; the thread started in process %d will end "
                              "without dumping (%s stays for it)" % (t.pid, local_claim))
        raise AttachError("interrupted; the dump of process %d already started will still "
                          "be written" % t.pid)
    try:
        while True:
            res = _claim_result(local_claim)
            if res is not None:
                break
            if not t.alive():
                res = _claim_result(local_claim)
                if res is None:
                    raise AttachError("process %d exited during its dump" % t.pid)
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        raise AttachError("interrupted; the dump of process %d already started will still "
                          "be written" % t.pid)
    finally:
        _unlink(local_claim)
    word, _, rest = res.strip().partition(" ")
    if word == "ok":
        return rest
    raise AttachError("process %d: %s" % (t.pid, rest))

