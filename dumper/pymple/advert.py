"""advert.py — a process with dumps on signal says so in a small file, so that
`python3 -m pymple dump PID` can check before it sends a signal (a process without a
handler dies of SIGUSR2). install() publishes, uninstall() and exit withdraw. Pure
Python that never imports pymple._pymple: the dump command reads these files under any
interpreter.

Where: $XDG_RUNTIME_DIR/pymple/<pid> when XDG_RUNTIME_DIR is an absolute directory of our
own, else /tmp/pymple-<euid>/<pid>. Directories are made 0700 and used only when they are
real directories (not symlinks) owned by the user and not writable by others; files are
0600, written under a temporary name and renamed.

File (text, one "key=value" a line; the dir value escapes backslash and newline):
    pymple-advert 1
    pid=1234
    start=567890        process start time, /proc/PID/stat field 22 (pid reuse check)
    signal=12
    signame=SIGUSR2
    mode=fork           or in-process
    dir=/var/tmp/dumps
"""
import os
import stat
import sys

MAGIC = "pymple-advert 1"

_published = {}  # pid -> path: what this process published (the after-fork child adds its own)


def start_time(pid):
    """Start time of pid in clock ticks since boot (/proc/PID/stat field 22), or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(b")") + 2:].split()
    return int(fields[19])


def candidate_dirs(uid, xdg=None):
    """Directories a process of uid may advertise in, in the order install() tries them.
    xdg: that process's XDG_RUNTIME_DIR when known."""
    out = []
    for base in (xdg, "/run/user/%d" % uid):
        if base and os.path.isabs(base):
            d = os.path.join(base, "pymple")
            if d not in out:
                out.append(d)
    out.append("/tmp/pymple-%d" % uid)
    return out


def check_private_dir(d, uid):
    """None when d is a real directory owned by uid that no one else can write to, else
    what is wrong with it."""
    try:
        st = os.lstat(d)
    except OSError as e:
        return "%s: %s" % (d, e.strerror)
    if stat.S_ISLNK(st.st_mode):
        return "%s is a symbolic link" % d
    if not stat.S_ISDIR(st.st_mode):
        return "%s is not a directory" % d
    if st.st_uid != uid:
        return "%s belongs to uid %d, not %d" % (d, st.st_uid, uid)
    if st.st_mode & 0o022:
        return "%s is writable by others (mode %o)" % (d, stat.S_IMODE(st.st_mode))
    return None


def _own_dir():
    """The directory this process advertises in, created if needed; OSError if none is
    safe to use."""
    uid = os.geteuid()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    problems = []
    if xdg and os.path.isabs(xdg) and check_private_dir(xdg, uid) is None:
        choices = [os.path.join(xdg, "pymple")]
    else:
        choices = []
    choices.append("/tmp/pymple-%d" % uid)
    for d in choices:
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            problems.append("%s: %s" % (d, e.strerror))
            continue
        why = check_private_dir(d, uid)
        if why is None:
            return d
        problems.append(why)
    raise OSError("no safe directory: " + "; ".join(problems))


def _escape(path):
    return path.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("\n" if text[i + 1] == "n" else text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _remove_stale(d):
    """Removes the files of processes that are gone (killed before they could withdraw)."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        if not n.isdigit() or int(n) == os.getpid():
            continue
        a = read(os.path.join(d, n))
        if a is None or start_time(a["pid"]) != a["start"]:
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass


def publish(signum, directory, fork):
    """Advertises this process (called by install() and in the child of os.fork()).
    Returns the file's path, or None after one line on stderr when no file can be
    written: dumps on signal work all the same, only `pymple dump` will refuse."""
    from pymple.sigpolicy import name
    pid = os.getpid()
    try:
        d = _own_dir()
        _remove_stale(d)
        path = os.path.join(d, str(pid))
        text = "%s\npid=%d\nstart=%d\nsignal=%d\nsigname=%s\nmode=%s\ndir=%s\n" % (
            MAGIC, pid, start_time(pid) or 0, signum, name(signum),
            "fork" if fork else "in-process", _escape(os.fsdecode(directory)))
        tmp = "%s.%d.tmp" % (path, pid)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            os.write(fd, text.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as e:
        sys.stderr.write("pymple: dumps on signal are on, but not advertised for "
                         "'python3 -m pymple dump': %s\n" % e)
        return None
    _published[pid] = path
    return path


def withdraw():
    """Removes this process's file, if it published one (uninstall(), exit)."""
    path = _published.pop(os.getpid(), None)
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def read(path):
    """The advertisement in path as a dict (pid, start, signal, signame, mode, dir), or
    None when it is missing or not one."""
    try:
        with open(path, "rb") as f:
            raw = f.read(65536).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    lines = raw.split("\n")
    if not lines or lines[0] != MAGIC:
        return None
    a = {}
    for line in lines[1:]:
        k, sep, v = line.partition("=")
        if sep:
            a[k] = v
    try:
        return {"pid": int(a["pid"]), "start": int(a["start"]), "signal": int(a["signal"]),
                "signame": a.get("signame", ""), "mode": a.get("mode", ""),
                "dir": _unescape(a["dir"]), "path": path}
    except (KeyError, ValueError):
        return None
