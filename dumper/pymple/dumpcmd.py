"""dumpcmd.py — `python3 -m pymple dump [--signal SIG] [--timeout S] PID`: asks a running
process for a heap dump, and never kills it. With --attach [--dir D] [--no-fork], dumps a
process that never imported pymple, through gdb (attach.py). The signal is sent only when the process
advertises dumps on signal (advert.py) and /proc/PID/status shows that signal caught;
then the command waits for the new dump in the advertised directory and prints its path.
Pure Python that never imports pymple._pymple: it runs under any Python 3.8+.

The parser is built by build_parser(): options are added in groups (what to dump, how to
ask, how long to wait), so that other ways of asking (attaching to a process that did not
enable dumps) can join as options of the same command.
"""
import argparse
import os
import signal
import sys
import time

from pymple import advert, sigpolicy

PROG = "python3 -m pymple dump"
DEFAULT_TIMEOUT = 300.0
ATTACH_TIMEOUT = 30.0

DESCRIPTION = """\
Ask a running Python process for a heap dump, safely. The signal is sent only
when the process has enabled dumps on signal and still catches that signal: a
process that has not is never signalled (a bare `kill -USR2 PID` would kill it,
as the default action of SIGUSR1, SIGUSR2 and the real-time signals is to
terminate). The dump's path is printed once the file is complete.

With --attach, the process needs nothing prepared: gdb loads pymple into it
and one dump is taken (see "Dump a process you did not prepare" in the
README: it needs gdb and the right to ptrace the process)."""

EPILOG = """\
how a process enables dumps on signal (any one of):
  pymple.install()                         in the program itself
  python3 -m pymple run [--signal SIG] script.py [args...]
                                           an unchanged program, started so
  PYMPLE_SIGNAL=USR2 python3 prog.py       with the start-up hook that
                                           `make install` puts in site-packages
Such a process advertises itself in $XDG_RUNTIME_DIR/pymple/PID or
/tmp/pymple-UID/PID (pid, signal, dump directory, mode) until it exits.

what the command checks, in order:
  1. the process exists, and its advertisement is there, owned by its user,
     and written by this very process (start time; no reused pid)
  2. --signal, if given, is the advertised signal
  3. /proc/PID/status SigCgt: that signal is caught right now (a program
     may have replaced or removed the handler since)
then it sends the signal and waits for a new pymple-PID-*.dump in the
advertised directory.

exit status:
  0  the dump was written; its path is on stdout
  1  refused (one line on stderr saying why and what to do), or no dump
     within the timeout (the process logs the reason on its own stderr)
  2  usage error

with --attach, what the command checks, in order (any failure: one line,
the process is left as it was):
  gdb is installed; the process exists, is not traced, runs CPython 3.8-3.13
  and there is a pymple build for its version next to this package; ptrace
  is allowed (same uid, or root; kernel.yama.ptrace_scope); the process's
  user can write --dir. The timeout bounds the wait for the process to run
  the dump (a thread running Python, then the GIL); a started dump is
  waited for.

examples:
  python3 -m pymple dump 4242
  python3 -m pymple dump --timeout 600 4242     a large heap
  python3 -m pymple dump --attach --dir /var/tmp 4242   a process that did
                                                not enable dumps
  pymple-analyze summary "$(python3 -m pymple dump 4242)\""""


class Refused(Exception):
    """The command will not (or could not) get a dump: one line for stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("%s: %s (see '%s -h')\n" % (PROG, message, PROG))
        raise SystemExit(2)


def _pid(text):
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError("%r is not a process id" % text)
    return int(text)


def _signal(text):
    try:
        return sigpolicy.resolve(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError("%r is not a number of seconds > 0" % text)
    return v


def build_parser():
    p = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_argument_group("what to dump")
    target.add_argument("pid", metavar="PID", type=_pid, help="the process to dump")
    how = p.add_argument_group("how to ask")
    how.add_argument("--signal", metavar="SIG", type=_signal, default=None,
                     help="the signal to send; it must be the one the process advertises "
                          "(default: that one). %s, as a name (USR2, SIGUSR2, RTMIN+1) "
                          "or a number" % sigpolicy.ALLOWED_TEXT)
    wait = p.add_argument_group("how long to wait")
    wait.add_argument("--timeout", metavar="S", type=_seconds, default=None,
                      help="seconds to wait for the dump to be complete (default %g; a dump "
                           "takes about a second per 2 million objects); with --attach, "
                           "seconds to wait for the process to start the dump (default %g)"
                      % (DEFAULT_TIMEOUT, ATTACH_TIMEOUT))
    att = p.add_argument_group("a process that did not enable dumps")
    att.add_argument("--attach", action="store_true",
                     help="load pymple into the process through gdb and dump it once")
    att.add_argument("--dir", metavar="D", default=None,
                     help="with --attach: directory for the dump, as the process sees it "
                          "(default: the current directory)")
    att.add_argument("--no-fork", dest="fork", action="store_false",
                     help="with --attach: dump in-process with the GIL held instead of from "
                          "a forked copy-on-write snapshot")
    return p


ENABLE_HINT = ("enable dumps with pymple.install() in the program, by starting it with "
               "'python3 -m pymple run', or with PYMPLE_SIGNAL=USR2 and make install's hook")


def proc_status(pid):
    """{field: value} of /proc/PID/status; Refused when there is no such process."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except FileNotFoundError:
        raise Refused("no process %d" % pid)
    except OSError as e:
        raise Refused("cannot read /proc/%d/status: %s" % (pid, e.strerror))
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k] = v.strip()
    return out


def _environ_xdg(pid):
    """The process's XDG_RUNTIME_DIR when /proc/PID/environ is readable (same user or
    root), else None."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"XDG_RUNTIME_DIR="):
                    return os.fsdecode(item[len(b"XDG_RUNTIME_DIR="):])
    except OSError:
        pass
    return None


def find_advert(pid, uid):
    """The process's advertisement (advert.read), checked: in a private directory of
    its user, a regular file of that user, naming this pid and this process's start
    time. Refused otherwise, naming where it looked."""
    xdgs = [_environ_xdg(pid)]
    if os.geteuid() == uid:
        xdgs.append(os.environ.get("XDG_RUNTIME_DIR"))
    dirs = []
    for x in xdgs:
        for d in advert.candidate_dirs(uid, x):
            if d not in dirs:
                dirs.append(d)
    start = advert.start_time(pid)
    stale = None
    for d in dirs:
        path = os.path.join(d, str(pid))
        if not os.path.lexists(path):
            continue
        why = advert.check_private_dir(d, uid)
        if why is None:
            st = os.lstat(path)
            if not os.path.isfile(path) or os.path.islink(path) or st.st_uid != uid:
                why = "%s is not a regular file of uid %d" % (path, uid)
        if why is not None:
            raise Refused("process %d: its advertisement is not trustworthy: %s" % (pid, why))
        a = advert.read(path)
        if a is None or a["pid"] != pid:
            raise Refused("process %d: %s is not a pymple advertisement" % (pid, path))
        if a["start"] != start:
            stale = path
            continue
        return a
    if stale:
        raise Refused("process %d has not enabled dumps on signal (%s is left from an "
                      "earlier process with the same pid); %s" % (pid, stale, ENABLE_HINT))
    raise Refused("process %d has not enabled dumps on signal (no advertisement in %s); %s"
                  % (pid, " or ".join(dirs), ENABLE_HINT))


def check_caught(pid, signum, status):
    """Refused unless /proc/PID/status shows signum caught (SigCgt)."""
    try:
        caught = int(status["SigCgt"], 16)
        ignored = int(status.get("SigIgn", "0"), 16)
    except (KeyError, ValueError):
        raise Refused("process %d: /proc/%d/status has no SigCgt line" % (pid, pid))
    bit = 1 << (signum - 1)
    if not caught & bit:
        what = "ignores" if ignored & bit else "does not catch"
        raise Refused("process %d advertises dumps on %s but %s it now (its handler was "
                      "replaced or removed): not sending it; %s"
                      % (pid, sigpolicy.name(signum), what, ENABLE_HINT))


def _dumps(d, pid):
    prefix = "pymple-%d-" % pid
    try:
        return {n for n in os.listdir(d) if n.startswith(prefix) and n.endswith(".dump")}
    except OSError as e:
        raise Refused("cannot list the dump directory %s: %s" % (d, e.strerror))


def request_dump(pid, signum=None, timeout=DEFAULT_TIMEOUT):
    """Checks, signals and waits; returns the new dump's path. Refused on any failure."""
    status = proc_status(pid)
    uid = int(status["Uid"].split()[1])  # effective uid: it created the advertisement
    a = find_advert(pid, uid)
    if signum is not None and signum != a["signal"]:
        raise Refused("process %d dumps on %s, not %s: leave out --signal or give %s"
                      % (pid, sigpolicy.name(a["signal"]), sigpolicy.name(signum),
                         sigpolicy.name(a["signal"])))
    signum = a["signal"]
    check_caught(pid, signum, status)
    d = a["dir"]
    before = _dumps(d, pid)
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise Refused("process %d exited" % pid)
    except PermissionError:
        raise Refused("not allowed to signal process %d (run as its user or as root)" % pid)
    end = time.monotonic() + timeout
    while True:
        new = sorted(_dumps(d, pid) - before)
        if new:
            return os.path.join(d, new[0])
        if advert.start_time(pid) != a["start"]:
            raise Refused("process %d exited before its dump was written" % pid)
        if time.monotonic() >= end:
            raise Refused("no new dump of process %d in %s after %g s (the process logs why "
                          "on its stderr; a large heap may need a longer --timeout)"
                          % (pid, d, timeout))
        time.sleep(0.05)


def main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.attach and args.signal is not None:
        parser.error("--signal and --attach exclude each other")
    if not args.attach and (args.dir is not None or not args.fork):
        parser.error("%s needs --attach" % ("--dir" if args.dir is not None else "--no-fork"))
    try:
        if args.attach:
            from pymple import attach
            try:
                path = attach.attach_dump(args.pid, args.dir, args.timeout or ATTACH_TIMEOUT,
                                          args.fork)
            except attach.AttachError as e:
                raise Refused(str(e))
        else:
            path = request_dump(args.pid, args.signal, args.timeout or DEFAULT_TIMEOUT)
    except Refused as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 1
    print(path)
    return 0
