"""sigpolicy.py — which signals may request a dump, and how they are spelled. The one
policy behind pymple.install(), `python3 -m pymple run --signal`, the PYMPLE_SIGNAL hook
and `python3 -m pymple dump --signal`. Pure Python that never imports pymple._pymple: the
dump command runs under any interpreter.

Allowed: SIGUSR1, SIGUSR2 and the real-time signals SIGRTMIN..SIGRTMAX: nothing sends them
unasked (no kernel event, no terminal key, no child's exit), and no program relies on
their default action. Every other signal is refused with the reason.
"""
import signal

__all__ = ["resolve", "name", "allowed", "ALLOWED_TEXT"]

ALLOWED_TEXT = "SIGUSR1, SIGUSR2 or SIGRTMIN..SIGRTMAX (RTMIN+n, RTMAX-n)"

_RTMIN = int(getattr(signal, "SIGRTMIN", 0))
_RTMAX = int(getattr(signal, "SIGRTMAX", -1))

# Why the others are refused, by the signal's name (those missing on this system are
# skipped). Anything not listed here nor allowed is refused for the last reason.
_WHY = [
    (("SIGKILL", "SIGSTOP"), "it cannot be caught"),
    (("SIGCHLD",), "every dump child's exit would send it and request the next dump, "
                   "and a program's own children would request dumps"),
    (("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGSYS", "SIGTRAP"),
     "a crash raises it: catching it would turn a crash into a hang at 100% CPU"),
    (("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"),
     "it asks the program to stop (or reload): a dump would take its place"),
    (("SIGPIPE", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPOLL", "SIGURG", "SIGWINCH",
      "SIGXCPU", "SIGXFSZ", "SIGPWR", "SIGSTKFLT"),
     "the kernel sends it on its own (timers, I/O, limits): dumps would come unasked"),
    (("SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU"),
     "it is job control: the terminal and the shell send it"),
]


def allowed(signum):
    """True when signum (an int) may request dumps."""
    return signum in (signal.SIGUSR1, signal.SIGUSR2) or _RTMIN <= signum <= _RTMAX


def name(signum):
    """'SIGUSR2', 'SIGRTMIN+3', or 'signal 99' for a number without a name."""
    signum = int(signum)
    if _RTMIN <= signum <= _RTMAX:
        if signum == _RTMIN:
            return "SIGRTMIN"
        if signum == _RTMAX:
            return "SIGRTMAX"
        return "SIGRTMIN+%d" % (signum - _RTMIN)
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def _why(signum):
    for names, why in _WHY:
        if any(getattr(signal, n, None) == signum for n in names):
            return why
    return "pymple only takes signals that nothing else sends"


def _from_text(text):
    t = text.strip()
    if t.lstrip("+").isdigit():
        return int(t)
    up = t.upper()
    if not up.startswith("SIG"):
        up = "SIG" + up
    for base, value in (("SIGRTMIN", _RTMIN), ("SIGRTMAX", _RTMAX)):
        if up.startswith(base) and value > 0:
            rest = up[len(base):]
            if rest == "":
                return value
            if rest[0] in "+-" and rest[1:].isdigit():
                n = value + int(rest) if rest[0] == "+" else value - int(rest[1:])
                if _RTMIN <= n <= _RTMAX:
                    return n
                raise ValueError("%s is outside SIGRTMIN..SIGRTMAX (%d..%d)"
                                 % (text, _RTMIN, _RTMAX))
    s = getattr(signal, up, None)
    if up.startswith("SIG_") or not isinstance(s, int):
        raise ValueError("unknown signal name %r (try USR2, SIGUSR1, RTMIN+2)" % text)
    return int(s)


def resolve(sig):
    """The signal number for sig: an int, a signal.Signals, or a name such as 'USR2',
    'SIGUSR2', 'usr2', 'RTMIN+2' (or its number as text, '12'). Raises ValueError naming
    why when the signal is unknown or may not request dumps, TypeError for other types."""
    if isinstance(sig, bool) or not isinstance(sig, (int, str)):
        raise TypeError("a signal is an int, a signal.Signals or a name such as 'USR2', "
                        "not %s" % type(sig).__name__)
    n = _from_text(sig) if isinstance(sig, str) else int(sig)
    if not 0 < n < signal.NSIG:
        raise ValueError("%r is not a signal number (1..%d)" % (sig, signal.NSIG - 1))
    if not allowed(n):
        raise ValueError("%s (%d) cannot request dumps: %s; use %s"
                         % (name(n), n, _why(n), ALLOWED_TEXT))
    return n
