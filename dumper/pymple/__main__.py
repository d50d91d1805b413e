"""__main__.py — `python3 -m pymple run ...`: run a program with dump-on-signal installed,
the way `python3 -m cProfile script.py` runs one under the profiler; `python3 -m pymple
dump PID` (dumpcmd.py) asks such a process for a dump. Also holds install_from_environ(),
used by the PYMPLE_SIGNAL start-up hook. `run` must not change what the program sees beyond
that: sys.argv, sys.path[0] and __main__ are as if it had been run directly. Imports the C
core only for `run` and the hook: `dump` works under any Python.
"""
import os
import signal
import sys

USAGE = """\
usage: python3 -m pymple run [options] script.py [args...]
       python3 -m pymple run [options] -m module [args...]
       python3 -m pymple dump [--signal SIG] [--timeout S] PID   (see dump -h)
       python3 -m pymple dump --attach [--dir D] [--timeout S] [--no-fork] PID

Runs the program as __main__ with pymple.install() in effect: each time the
process receives the signal, a heap dump pymple-<pid>-<UTC time>-<seq>.dump is
written (see the pymple README; analyze it with pymple-analyze).

options:
  --signal SIG   USR1, USR2 (default), RTMIN..RTMAX (RTMIN+n); also SIGUSR2,
                 12; any other signal is refused, with the reason
  --dir D        directory for the dumps (default $PYMPLE_DIR, else the
                 current directory)
  --no-fork      dump in-process with the GIL held instead of from a forked
                 copy-on-write snapshot
  --no-values    do not record value previews (str, bytes, int ...)
  --quiet        no line on stderr per dump (errors are still reported)
  --tracemalloc N
                 start tracemalloc with N frames per traceback before the
                 program runs, so each dump records where every object made
                 from then on was allocated (allocation sites; costs memory
                 and time on every allocation: see the README)
  -h, --help     this text

For a program you cannot change, set PYMPLE_SIGNAL=USR2 (and optionally
PYMPLE_DIR, PYMPLE_FORK=0, PYMPLE_VALUES=0, PYMPLE_QUIET=1) in its environment;
this needs the start-up hook that `make install` puts in site-packages.

Then `python3 -m pymple dump PID` writes a dump and prints its path: it checks
first that the process enabled dumps and catches the signal, so it never
kills a process that did not (a bare `kill -USR2 PID` would)."""


class UsageError(Exception):
    pass


def signum_from_name(text):
    """'USR2', 'SIGUSR2', 'usr2', 'RTMIN+1' or '12' -> signal number, by the one signal
    policy (sigpolicy.py); UsageError naming why a signal is refused."""
    from pymple.sigpolicy import resolve
    try:
        return resolve(text)
    except ValueError as e:
        raise UsageError("--signal: %s" % e)


def _flag(env, name, default):
    v = env.get(name)
    if v is None or v == "":
        return default
    return v.strip().lower() not in ("0", "no", "false", "off")


def install_from_environ(env=None):
    """Calls install() as PYMPLE_SIGNAL / PYMPLE_DIR / PYMPLE_FORK / PYMPLE_VALUES /
    PYMPLE_QUIET say; does nothing when PYMPLE_SIGNAL is unset or empty.
    Raises ValueError (a signal refused by sigpolicy.py, with the reason) or OSError
    (missing directory)."""
    env = os.environ if env is None else env
    name = env.get("PYMPLE_SIGNAL", "")
    if not name:
        return False
    from pymple import _pymple
    _pymple.install(name, env.get("PYMPLE_DIR") or None,
                    fork=_flag(env, "PYMPLE_FORK", True),
                    values=_flag(env, "PYMPLE_VALUES", True),
                    quiet=_flag(env, "PYMPLE_QUIET", False))
    return True


def _parse_run(argv):
    """Options up to the script (or -m module); everything after belongs to the program."""
    opts = {"signum": signal.SIGUSR2, "directory": None, "fork": True, "values": True,
            "quiet": False, "module": None, "script": None, "tracemalloc": 0}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(USAGE)
            raise SystemExit(0)
        if a == "--signal" or a.startswith("--signal="):
            val, i = _value(argv, i, "--signal")
            opts["signum"] = signum_from_name(val)
        elif a == "--dir" or a.startswith("--dir="):
            opts["directory"], i = _value(argv, i, "--dir")
        elif a == "--no-fork":
            opts["fork"] = False
        elif a == "--no-values":
            opts["values"] = False
        elif a == "--quiet":
            opts["quiet"] = True
        elif a == "--tracemalloc" or a.startswith("--tracemalloc="):
            val, i = _value(argv, i, "--tracemalloc")
            try:
                n = int(val)
            except ValueError:
                n = 0
            if not 1 <= n <= 65535:
                raise UsageError("--tracemalloc: %r is not a frame count from 1 to 65535" % val)
            opts["tracemalloc"] = n
        elif a == "-m":
            if i + 1 >= len(argv):
                raise UsageError("-m needs a module name")
            opts["module"] = argv[i + 1]
            return opts, argv[i + 2:]
        elif a == "--":
            i += 1
            break
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown option: %s" % a)
        else:
            break
        i += 1
    if i >= len(argv):
        raise UsageError("no script given")
    opts["script"] = argv[i]
    return opts, argv[i + 1:]


def _value(argv, i, opt):
    a = argv[i]
    if a.startswith(opt + "="):
        return a[len(opt) + 1:], i
    if i + 1 >= len(argv):
        raise UsageError("%s needs a value" % opt)
    return argv[i + 1], i + 1


def run(argv):
    import runpy
    from pymple import _pymple

    opts, args = _parse_run(argv)
    try:
        _pymple.install(opts["signum"], opts["directory"], fork=opts["fork"],
                        values=opts["values"], quiet=opts["quiet"])
    except (OSError, ValueError) as e:
        raise UsageError("install: %s" % e)
    if opts["tracemalloc"]:
        import tracemalloc
        tracemalloc.start(opts["tracemalloc"])
    if opts["module"] is not None:
        # As `python3 -m module`: sys.path[0] stays the current directory.
        sys.argv[:] = [opts["module"]] + args
        runpy.run_module(opts["module"], run_name="__main__", alter_sys=True)
    else:
        script = opts["script"]
        if not os.path.exists(script):
            raise UsageError("can't open file %r" % script)
        # As `python3 script.py`: the script's directory is sys.path[0].
        sys.argv[:] = [script] + args
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(USAGE)
            return 0 if argv else 2
        if argv[0] == "--version":
            try:
                from pymple import __version__
            except ImportError as e:  # the dump command works without the core
                print("pymple: version unknown: %s" % e, file=sys.stderr)
                return 1
            print("pymple %s" % __version__)
            return 0
        if argv[0] == "dump":
            from pymple.dumpcmd import main as dump_main
            return dump_main(argv[1:])
        if argv[0] != "run":
            raise UsageError("unknown command: %s" % argv[0])
        run(argv[1:])
    except UsageError as e:
        sys.stderr.write("python3 -m pymple: %s\n%s\n" % (e, USAGE.splitlines()[0]))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
