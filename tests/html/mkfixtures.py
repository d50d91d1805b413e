#!/usr/bin/env python3
"""mkfixtures.py — writes the hand-designed leaks documents of tests/html/ (three.json,
one.json, none.json). Run it again only to change them; the tests read the committed files.
@PORT@ in a string is replaced by run.sh with the port of a local listener that must never
see a request. Sizes and retained sizes add up the way LEAKS_JSON says (a node retains its
own size plus its children's retained)."""
import json
import random
import sys

HOSTILE = "</script><img src=x onerror=alert(1)>"
BEACON = "<img src=http://127.0.0.1:@PORT@/beacon.png>"


def step(label, type_, name, address, objects, root=None):
    return {"label": label, "type": type_, "name": name, "address": address,
            "objects": objects, "root": root}


def tree(rng, total, nodes, hostile):
    """A dominator tree of about `nodes` nodes retaining `total` bytes, children largest first,
    small ones merged into an aggregate child, iteratively built (breadth first)."""
    names = ["module app", "module app.store", "module logging", "module asyncio.events",
             "dict", "list", "app.Ticket", "app.Session", "bytearray", "str", "tuple",
             "function handle", "type Dispatcher", "frame handle (app.py:24)", "set",
             "app.Window", "bound method Window.on_close", "functools._lru_cache_wrapper",
             "logging.FileHandler", "asyncio.Task", "ValueError", "cell", "weakref"]
    root = {"label": "heap", "type": None, "address": None, "size": 0,
            "retained": total, "children": []}
    queue = [(root, total, 0)]
    made = 1
    addr = 0x7F3A10000000
    while queue and made < nodes:
        node, budget, depth = queue.pop(0)
        k = rng.randint(3, 14) if depth < 5 else rng.randint(0, 4)
        own = 0 if node is root else int(budget * rng.uniform(0.02, 0.2))
        node["size"] = own
        rest = budget - own
        weights = sorted((rng.paretovariate(1.2) for _ in range(k)), reverse=True)
        total_w = sum(weights) or 1
        kids = []
        for w in weights:
            if made >= nodes:
                break
            r = int(rest * w / total_w)
            if r < 64:
                continue
            name = rng.choice(names)
            if hostile and made == 7:
                name = "dict key " + BEACON
            t = name.split(" ")[-1] if name.startswith("module") else name.split(" ")[0]
            t = "module" if name.startswith("module") else t
            addr += rng.randint(1, 64) * 16
            child = {"label": name, "type": t, "address": addr, "size": r,
                     "retained": r, "children": []}
            kids.append(child)
            made += 1
            queue.append((child, r, depth + 1))
        left = rest - sum(c["retained"] for c in kids)
        if left > 0 and kids and made < nodes:
            kids.append({"label": "(%d smaller objects)" % rng.randint(10, 5000), "type": None,
                         "address": None, "size": left, "retained": left, "children": []})
            made += 1
        elif left > 0:
            node["size"] += left
        kids.sort(key=lambda c: -c["retained"])
        node["children"] = kids
    # nodes left in the queue keep their budget as their own size
    for node, budget, _ in queue:
        if not node["children"]:
            node["size"] = budget
    return root, made


def fix_retained(root):
    """Recomputes retained = size + sum(children) bottom-up, without recursion."""
    order, stack = [], [root]
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(n["children"])
    for n in reversed(order):
        n["retained"] = n["size"] + sum(c["retained"] for c in n["children"])
        n["children"].sort(key=lambda c: -c["retained"])


def three():
    rng = random.Random(9)
    t0 = 1764400000.5
    dumps = [
        {"path": "/srv/app/dumps/app-1.dump", "pid": 4242, "time": t0,
         "objects": 812345, "size": 61234567, "rss": 98765432},
        {"path": "/srv/app/dumps/app-2.dump", "pid": 4242, "time": t0 + 600,
         "objects": 1012345, "size": 75234567, "rss": 120765432},
        {"path": "/tmp/" + BEACON + ".dump", "pid": 4242, "time": t0 + 1200.25,
         "objects": 1212345, "size": 89234567, "rss": 141765432},
    ]
    A = 0x7F3A2C001000
    ticket = {
        "type": "app.Ticket", "count": 12000, "counts": [4000, 8000, 12000],
        "bytes": [224000, 448000, 672000], "retained": 3456789,
        "retained_per_dump": [1152263, 2304526, 3456789], "at_stake": 2304526,
        "growth_per_step": 4000.0, "share_dump": 3456789 / 89234567,
        "share_rss": 3456789 / 141765432, "trend": "steady",
        "path": [step(None, "module", "module app", A, 1, "(sys.modules)"),
                 step(".APP", "app.App", "app.App", A + 0x100, 1),
                 step(".chain", "list", "list", A + 0x200, 1),
                 step("[1]", "app.Middleware", "app.Middleware", A + 0x300, 1),
                 step(".store", "app.Store", "app.Store", A + 0x400, 1),
                 step("._pending", "dict", "dict", A + 0x500, 1),
                 step("[*]", "app.Ticket", "app.Ticket", None, 12000)],
        "holder": {"address": A + 0x500, "type": "dict", "length": 12000},
        "example": {"address": A + 0x9F00, "path": [
            step(None, "module", "module app", A, None, "(sys.modules)"),
            step(".APP", "app.App", "app.App", A + 0x100, None),
            step(".chain", "list", "list", A + 0x200, None),
            step("[1]", "app.Middleware", "app.Middleware", A + 0x300, None),
            step(".store", "app.Store", "app.Store", A + 0x400, None),
            step("._pending", "dict", "dict", A + 0x500, None),
            step("['t-11999']", "app.Ticket", "app.Ticket", A + 0x9F00, None)]},
        "next": ["pymple-analyze path /srv/app/dumps/app-3.dump 0x7f3a2c00af00",
                 "pymple-analyze dominators /srv/app/dumps/app-3.dump 0x7f3a2c001500",
                 "pymple-analyze sql /srv/app/dumps/app-3.dump \"SELECT count(*) FROM objects "
                 "WHERE type = 'app.Ticket'\""],
    }
    B = 0x7F3A2D000000
    hostile = {
        "type": HOSTILE, "count": 3000, "counts": [1000, 2000, 3000],
        "bytes": [96000, 192000, 288000], "retained": 1536000,
        "retained_per_dump": [512000, 1024000, 1536000], "at_stake": 1024000,
        "growth_per_step": 1000.0, "share_dump": 1536000 / 89234567,
        "share_rss": 1536000 / 141765432, "trend": "steady",
        "path": [step(None, "type", "type " + HOSTILE, B, 1, "(type <b>cache</b>)"),
                 step(".__dict__", "dict", "dict", B + 0x40, 1),
                 step("['" + BEACON + "\u2028']", "list", "list", B + 0x80, 1),
                 step("[*]", HOSTILE, HOSTILE, None, 3000)],
        "holder": {"address": B + 0x80, "type": "list", "length": 3000},
        "example": {"address": B + 0x1000, "path": [
            step(None, "type", "type " + HOSTILE, B, None, "(type <b>cache</b>)"),
            step(".__dict__", "dict", "dict", B + 0x40, None),
            step("['" + BEACON + "\u2028']", "list", "list", B + 0x80, None),
            step("[2999]", HOSTILE, HOSTILE, B + 0x1000, None)]},
        "next": ["pymple-analyze path '/tmp/" + BEACON + ".dump' 0x7f3a2d001000",
                 "pymple-analyze sql x.dump \"SELECT 1 WHERE '</script>' <> '&amp;'\""],
    }
    C = 0x7F3A2E000000
    buffers = {
        "type": "bytearray", "count": 300, "counts": [100, 200, 300],
        "bytes": [409600, 819200, 1228800], "retained": 1228800,
        "retained_per_dump": [409600, 819200, 1228800], "at_stake": 819200,
        "growth_per_step": 100.0, "share_dump": 1228800 / 89234567,
        "share_rss": 1228800 / 141765432, "trend": "steady",
        "path": [step(None, "frame", "frame handle (app.py:24)", C, 1, "(thread stack)"),
                 step(".rows", "list", "list", C + 0x40, 1),
                 step("[*]", "bytearray", "bytearray", None, 300)],
        "holder": {"address": C + 0x40, "type": "list", "length": 300},
        "example": {"address": C + 0x2000, "path": [
            step(None, "frame", "frame handle (app.py:24)", C, None, "(thread stack)"),
            step(".rows", "list", "list", C + 0x40, None),
            step("[299]", "bytearray", "bytearray", C + 0x2000, None)]},
        "next": ["pymple-analyze path /srv/app/dumps/app-3.dump 0x7f3a2e002000"],
    }
    root, made = tree(rng, dumps[-1]["size"], 2000, True)
    fix_retained(root)
    return {"version": 1, "dumps": dumps, "mode": "growth",
            "suspects": [ticket, hostile, buffers],
            "not_suspects": {"warm-up": 3, "static": 2}, "tree": root}


def one():
    rng = random.Random(1)
    A = 0x7F0011000000
    cache = {
        "type": "str", "count": 250000, "counts": [250000], "bytes": [18000000],
        "retained": 26000000, "retained_per_dump": [26000000], "at_stake": 26000000,
        "growth_per_step": None, "share_dump": 26000000 / 52000000, "share_rss": None,
        "trend": "single",
        "path": [step(None, "module", "module app.cache", A, 1, "(sys.modules)"),
                 step("._memo", "dict", "dict", A + 0x80, 1),
                 step("[*]", "str", "str", None, 250000)],
        "holder": {"address": A + 0x80, "type": "dict", "length": 250000},
        "example": {"address": A + 0x4000, "path": [
            step(None, "module", "module app.cache", A, None, "(sys.modules)"),
            step("._memo", "dict", "dict", A + 0x80, None),
            step("['user:1042']", "str", "str", A + 0x4000, None)]},
        "next": ["pymple-analyze dominators svc.dump 0x7f0011000080"],
    }
    dumps = [{"path": "svc.dump", "pid": 77, "time": 1764400000.0, "objects": 400000,
              "size": 52000000, "rss": None}]
    root, _ = tree(rng, 52000000, 60, False)
    fix_retained(root)
    return {"version": 1, "dumps": dumps, "mode": "single", "suspects": [cache],
            "not_suspects": {}, "tree": root}


def none():
    rng = random.Random(2)
    dumps = [{"path": "a.dump", "pid": 9, "time": 1764400000.0, "objects": 100000,
              "size": 8000000, "rss": 20000000},
             {"path": "b.dump", "pid": 9, "time": 1764400300.0, "objects": 100010,
              "size": 8000900, "rss": 20100000}]
    root, _ = tree(rng, 8000900, 40, False)
    fix_retained(root)
    return {"version": 1, "dumps": dumps, "mode": "growth", "suspects": [],
            "not_suspects": {"warm-up": 1, "static": 4}, "tree": root}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/html"
    for name, doc in (("three", three()), ("one", one()), ("none", none())):
        with open("%s/%s.json" % (out, name), "w") as f:
            json.dump(doc, f, separators=(",", ":"), ensure_ascii=False)
            f.write("\n")


main()
