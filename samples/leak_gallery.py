"""leak_gallery.py — six ways real Python services leak, each a small program
that dumps its heap after every round, to try `pymple-analyze leaks` on.

    python3 samples/leak_gallery.py KIND --dump-dir DIR [--rounds N] [--per-round N]

KIND is one of:
  callbacks   closed windows stay alive through the bound methods an event
              bus keeps as callbacks (EventBus._handlers['close'] -> method)
  memo        a memo dict keyed by fresh request objects (Memo._cache)
  lru_method  functools.lru_cache on a method: the cache keeps every
              instance it was called with (Parser.parse's cache)
  handlers    a logging.FileHandler-like handler added per file and never
              removed (a Logger's .handlers list)
  tasks       finished asyncio tasks kept in a list, each holding its
              exception and traceback (Scheduler.done)
  cycles      objects with __del__ in reference cycles that a bug keeps on
              a module-level list (GRAVEYARD)

Each round adds --per-round leaked objects of the kind's leaking class and
also churns through objects that are freed again, then dumps to
DIR/round-K.dump (paths printed on stdout). It ends by writing DIR/truth.json:
the leaking type's full name, how many of its objects the program holds
after each round ("counts"), how many items the container that accumulates
them has ("held") and that container's id(): the ground truth to hold
`leaks` output against. Needs pymple on sys.path.
"""
import argparse
import asyncio
import functools
import gc
import json
import os
import sys


# --- callbacks: an event bus that keeps bound methods of closed windows ---
class EventBus:
    def __init__(self):
        self._handlers = {"close": [], "resize": []}

    def subscribe(self, event, callback):
        self._handlers[event].append(callback)


class Window:
    def __init__(self, bus, title):
        self.title = title
        self.pixels = bytearray(256)
        bus.subscribe("close", self.on_close)  # never unsubscribed: the leak

    def on_close(self):
        pass


# --- memo: results cached under keys that are fresh objects every call ---
class Request:
    def __init__(self, path):
        self.path = path
        self.body = "x" * 64


class Memo:
    def __init__(self):
        self._cache = {}

    def render(self, request):
        if request not in self._cache:
            self._cache[request] = "<html>%s</html>" % request.path
        return self._cache[request]


# --- lru_method: lru_cache on a method keeps every self it saw ---
class Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = text.split()

    @functools.lru_cache(maxsize=None)
    def parse(self, flags):
        return len(self.tokens) + flags


# --- handlers: a handler per file, added and never removed ---
class FileHandler:
    def __init__(self, name):
        self.name = name
        self.buffer = [name] * 8
        self.formatter = None


class Logger:
    def __init__(self):
        self.handlers = []


# --- tasks: finished tasks kept with their exceptions ---
class JobFailed(Exception):
    pass


class Scheduler:
    def __init__(self):
        self.done = []


async def job(n):
    payload = [n] * 16  # a frame local the traceback keeps alive
    raise JobFailed("job %d failed (%d)" % (n, len(payload)))


# --- cycles: __del__ objects in cycles, kept by a module-level list ---
GRAVEYARD = []


class Resource:
    def __init__(self, n):
        self.n = n
        self.peer = None

    def __del__(self):
        pass


class App:
    """The application object every kind hangs its state from."""

    def __init__(self):
        self.bus = EventBus()
        self.memo = Memo()
        self.logger = Logger()
        self.scheduler = Scheduler()
        self.parsers = []


APP = App()


def round_callbacks(k, n):
    for i in range(n):
        Window(APP.bus, "w%d-%d" % (k, i))  # the window is dropped, its method stays
    return "__main__.Window", APP.bus._handlers["close"]


def round_memo(k, n):
    for i in range(n):
        APP.memo.render(Request("/r/%d/%d" % (k, i)))
    return "__main__.Request", APP.memo._cache


def round_lru_method(k, n):
    for i in range(n):
        Parser("tok %d %d a b c" % (k, i)).parse(1)
    return "__main__.Parser", None


def round_handlers(k, n):
    for i in range(n):
        APP.logger.handlers.append(FileHandler("/var/log/app-%d-%d.log" % (k, i)))
    return "__main__.FileHandler", APP.logger.handlers


def round_tasks(k, n):
    async def main():
        tasks = [asyncio.ensure_future(job(k * n + i)) for i in range(n)]
        await asyncio.gather(*tasks, return_exceptions=True)
        APP.scheduler.done.extend(tasks)

    asyncio.run(main())
    return "_asyncio.Task", APP.scheduler.done


def round_cycles(k, n):
    for i in range(n):
        a, b = Resource(2 * i), Resource(2 * i + 1)
        a.peer, b.peer = b, a
        GRAVEYARD.append(a)
    return "__main__.Resource", GRAVEYARD


KINDS = {
    "callbacks": round_callbacks,
    "memo": round_memo,
    "lru_method": round_lru_method,
    "handlers": round_handlers,
    "tasks": round_tasks,
    "cycles": round_cycles,
}


def churn(n):
    """Work that frees everything it makes: not a leak."""
    junk = [{"i": i, "s": "tmp%d" % i} for i in range(n)]
    del junk


def count_of(type_name):
    mod, _, name = type_name.rpartition(".")
    return sum(1 for o in gc.get_objects()
               if type(o).__name__ == name and type(o).__module__ in (mod, "builtins"))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("--dump-dir", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-round", type=int, default=500)
    args = ap.parse_args(argv)
    import pymple

    truth = {"kind": args.kind, "counts": [], "held": [], "dumps": []}
    for k in range(1, args.rounds + 1):
        type_name, holder = KINDS[args.kind](k, args.per_round)
        truth["held"].append(len(holder) if holder is not None else None)
        truth["holder"] = id(holder) if holder is not None else None
        del holder  # a service's dumping frame does not hold the leak
        churn(2000)
        gc.collect()
        path = os.path.join(args.dump_dir, "round-%d.dump" % k)
        truth["counts"].append(count_of(type_name))
        pymple.dump(path)
        truth["dumps"].append(path)
        print(path, flush=True)
    truth["type"] = type_name
    with open(os.path.join(args.dump_dir, "truth.json"), "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main(sys.argv[1:])
