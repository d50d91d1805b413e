"""leakcheck.py — pymple.assert_no_leaks(): does calling a function leave objects behind?

Three in-memory heap snapshots (pymple._pymple.snapshot(), the dump's walk kept in C
memory): after the warm-up calls, after the first measured call and after the last.
A group of objects (one type) leaks when the objects new since the first snapshot
and still alive after gc.collect() grow by at least one per call between the second
and the third; one-time growth (a cache filled once) does not grow. The report
gives, per group, the count and bytes per call, the path from a root to one example
(labels as in pymple-analyze path) and, when tracemalloc traces, where the example
was allocated. Nothing here imports pytest.
"""
import gc
import sys

from pymple import _pymple

__all__ = ["assert_no_leaks", "LeakError", "Leak"]


class Leak:
    """One leaking group: objects of one type that accumulate with the calls."""

    __slots__ = ("type", "per_call", "bytes_per_call", "count", "address", "path",
                 "allocated")

    def __init__(self, type, per_call, bytes_per_call, count, address, path, allocated):
        self.type = type                      # type name as the dump spells it
        self.per_call = per_call              # objects per call (float)
        self.bytes_per_call = bytes_per_call  # sys.getsizeof bytes per call
        self.count = count                    # new objects alive at the end
        self.address = address                # one example
        self.path = path                      # root -> ... -> example, one line
        self.allocated = allocated            # "file:line" or None

    def __repr__(self):
        return "Leak(%s, %s per call)" % (self.type, _num(self.per_call))


class LeakError(AssertionError):
    """Raised by assert_no_leaks(); .leaks lists the Leak groups."""

    def __init__(self, message, leaks):
        AssertionError.__init__(self, message)
        self.leaks = leaks


def _num(x):
    return "%d" % x if x == int(x) else "%.2f" % x


def _type_name(t):
    """A type's name as the walk writes it (module.qualname; builtins bare)."""
    if isinstance(t, str):
        return t
    mod = getattr(t, "__module__", None)
    qual = getattr(t, "__qualname__", t.__name__)
    return qual if mod in (None, "builtins") else "%s.%s" % (mod, qual)


def _tracing():
    tm = sys.modules.get("tracemalloc")  # not imported: cannot be tracing
    return bool(tm is not None and tm.is_tracing())


def _render_path(steps):
    """One line in pymple-analyze path's words: each step's type (and, for the
    root and the object, its name), then the label of the reference to the next;
    a module's .__dict__ is left out, as the next step is that dict."""
    out = []
    last = len(steps) - 1
    for i, (addr, tname, name, edge) in enumerate(steps):
        s = tname
        if name is not None and (i == 0 or i == last):
            s += " " + (name if len(name) <= 60 else name[:60] + "...")
        if i == last or (i == 0 and name is None):
            s += " at 0x%x" % addr
        if edge is not None and i != last and edge != ".__dict__":
            s += " " + edge
        out.append(s)
    return " -> ".join(out)


def _holder(snap, addr):
    steps = snap.path(addr)
    if steps is not None:
        return _render_path(steps)
    tname, size, refcount, referrers = snap.info(addr)
    return ("no path from a root: %s at 0x%x has refcount %d but %d reference%s the walk "
            "can see; the rest are held from C (an extension module, ctypes, a C global)"
            % (tname, addr, refcount, referrers, "" if referrers == 1 else "s"))


def _running_frames():
    """Addresses of the frame objects running now (3.8-3.10, where the stack is
    made of objects; from 3.11 the walk records running frames apart, and
    sys._getframe() would create objects). Called after the last snapshot: the
    frames running then still run."""
    if sys.version_info >= (3, 11):
        return frozenset()
    out = set()
    f = sys._getframe()
    while f is not None:
        out.add(id(f))
        f = f.f_back
    return out


def _groups(objs, ignore, skip):
    count, size = {}, {}
    for addr, tname, sz in objs:
        if tname in ignore or addr in skip:
            continue
        count[tname] = count.get(tname, 0) + 1
        size[tname] = size.get(tname, 0) + sz
    return count, size


def _compare(a, m, b, calls, ignore, exact):
    """Leak groups between snapshots a (baseline), m (after one call; None when
    calls == 1) and b (after all calls); exact: creation serials identify objects."""
    skip = _running_frames()
    new_b = b.new_objects(a, exact)
    count_b, size_b = _groups(new_b, ignore, skip)
    if m is not None:
        count_m, size_m = _groups(m.new_objects(a, exact), ignore, skip)
        late = b.new_objects(m, exact)  # alive at the end and created after m
        span = calls - 1
    else:
        count_m, size_m = {}, {}
        late = new_b
        span = 1
    examples = {}
    for addr, tname, _ in late:
        if addr not in skip:
            examples.setdefault(tname, addr)
    leaks = []
    for tname, n in count_b.items():
        grown = n - count_m.get(tname, 0)
        if grown < span or tname not in examples:
            continue
        addr = examples[tname]
        site = b.allocated(addr)
        leaks.append(Leak(tname, grown / span, (size_b[tname] - size_m.get(tname, 0)) / span,
                          n, addr, _holder(b, addr),
                          "%s:%d" % site if site is not None else None))
    leaks.sort(key=lambda k: (-k.bytes_per_call, k.type))
    return leaks


MAX_GROUPS = 10


def _report(leaks, calls, warmup):
    head = ("pymple: objects leak: %d group%s grew with every call over %d call%s "
            "(after %d warm-up call%s)" % (len(leaks), "" if len(leaks) == 1 else "s",
                                           calls, "" if calls == 1 else "s",
                                           warmup, "" if warmup == 1 else "s"))
    lines = [head]
    for k in leaks[:MAX_GROUPS]:
        lines.append("  %s: %s per call, %s bytes per call (%d alive)" % (
            k.type, _num(k.per_call), _num(k.bytes_per_call), k.count))
        lines.append("    held at: " + k.path)
        if k.allocated:
            lines.append("    allocated at: " + k.allocated)
    if len(leaks) > MAX_GROUPS:
        lines.append("  ... and %d more groups" % (len(leaks) - MAX_GROUPS))
    return "\n".join(lines)


def check_call(func, args=(), kwargs=None, repeat=3, warmup=1, ignore=()):
    """assert_no_leaks() with the call's arguments apart (the pytest plugin
    passes fixtures whose names could clash with the options)."""
    __tracebackhide__ = True  # pytest: show the caller, not this frame
    if kwargs is None:
        kwargs = {}
    if repeat < 1 or warmup < 0:
        raise ValueError("repeat must be >= 1 and warmup >= 0")
    ignore = frozenset(_type_name(t) for t in ignore)
    for _ in range(warmup):
        func(*args, **kwargs)
    tracebacks = _tracing()
    # Everything the check keeps from here to the last snapshot exists now,
    # or is a Snapshot (never in a snapshot), or a small int or bool.
    exact = _pymple.serials_start()
    try:
        gc.collect()
        a = _pymple.snapshot(tracebacks=tracebacks)
        func(*args, **kwargs)
        m = None
        if repeat > 1:
            gc.collect()
            m = _pymple.snapshot(tracebacks=tracebacks)
            for _ in range(repeat - 1):
                func(*args, **kwargs)
        gc.collect()
        b = _pymple.snapshot(tracebacks=tracebacks)
    finally:
        exact = _pymple.serials_stop() and exact
    leaks = _compare(a, m, b, repeat, ignore, exact)
    if leaks:
        raise LeakError(_report(leaks, repeat, warmup), leaks)


class _Block:
    """The context-manager form: the block runs once, so whatever it leaves
    alive counts (there is no second call to tell growth from warm-up)."""

    def __init__(self, ignore):
        self._ignore = frozenset(_type_name(t) for t in ignore)
        self._tracebacks = False
        self._exact = False
        self._a = None

    def __enter__(self):
        self._tracebacks = _tracing()
        self._exact = _pymple.serials_start()
        gc.collect()
        self._a = _pymple.snapshot(tracebacks=self._tracebacks)
        return self

    def __exit__(self, exc_type, exc, tb):
        __tracebackhide__ = True
        if exc_type is not None:
            self._a = None
            _pymple.serials_stop()
            return False
        try:
            gc.collect()
            b = _pymple.snapshot(tracebacks=self._tracebacks)
        finally:
            exact = _pymple.serials_stop() and self._exact
        a, self._a = self._a, None
        leaks = _compare(a, None, b, 1, self._ignore, exact)
        if leaks:
            raise LeakError(_report(leaks, 1, 0), leaks)
        return False


def assert_no_leaks(func=None, *args, repeat=3, warmup=1, ignore=(), **kwargs):
    """Calls func(*args, **kwargs) warmup times, then repeat times between heap
    snapshots, and raises LeakError (an AssertionError) when objects of some type
    accumulate by at least one per call: per type, objects and bytes per call, the
    path from a root to an example and, when tracemalloc traces, its allocation
    site. ignore: types (or type names) that never count. Returns None.

    Without func, a context manager: `with assert_no_leaks(): ...` checks that the
    block leaves nothing new alive (run it once before, to fill caches)."""
    __tracebackhide__ = True
    if func is None:
        return _Block(ignore)
    check_call(func, args, kwargs, repeat=repeat, warmup=warmup, ignore=ignore)
