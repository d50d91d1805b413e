"""test_leaks_gallery.py — `pymple-analyze leaks` on the six leaks of
samples/leak_gallery.py, each dumped after three rounds. The truth comes from
the leaking process itself (gc.get_objects() counts, len() and id() of the
container that accumulates the leak), never from pymple's own output.
"""
import json
import os
import subprocess

from dumper_util import check_eq

# kind -> (the suspect's type when it is not the leaking class itself, the
# labels its folded path must name: the holder's attributes and keys as the
# code spells them). A bound method keeps a closed Window alive, an
# lru_cache key tuple a Parser: the group at the fan-out is what is held.
KINDS = {
    "callbacks": ("method", [".APP", ".bus", "._handlers", "['close']"]),
    "memo": (None, [".APP", ".memo", "._cache"]),
    "lru_method": ("tuple", [".Parser", ".parse"]),
    "handlers": (None, [".APP", ".logger", ".handlers"]),
    "tasks": (None, [".APP", ".scheduler", ".done"]),
    "cycles": (None, [".GRAVEYARD"]),
}
PER_ROUND = 200


def gallery(ctx, kind):
    d = os.path.join(ctx.tmp, kind)
    os.makedirs(d, exist_ok=True)
    r = subprocess.run([ctx.python, os.path.join(ctx.root, "samples", "leak_gallery.py"), kind,
                        "--dump-dir", d, "--per-round", str(PER_ROUND)],
                       env=ctx.env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "truth.json")) as f:
        return json.load(f)


def leaks(ctx, *args):
    r = subprocess.run([ctx.analyzer, "-q", "leaks", *args, "--format", "json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def labels(path):
    return [s["label"] for s in path if s["label"]]


def check_kind(ctx, kind):
    t = gallery(ctx, kind)
    doc = leaks(ctx, *t["dumps"])
    assert doc["suspects"], (kind, doc)
    top = doc["suspects"][0]
    held_type, want_labels = KINDS[kind]
    check_eq(kind + " top suspect", top["type"], held_type or t["type"])
    check_eq(kind + " trend", top["trend"], "steady")
    want = t["held"] if t["held"][0] is not None else t["counts"]
    check_eq(kind + " counts", top["counts"], want)
    check_eq(kind + " count", top["count"], want[-1])
    got = labels(top["path"])
    for lab in want_labels:
        assert lab in got, (kind, lab, got)
    check_eq(kind + " path's root", top["path"][0]["name"], "module __main__")
    assert top["path"][-1]["type"] == top["type"], top["path"]
    check_eq(kind + " objects at the end of the path", top["path"][-1]["objects"], want[-1])
    if t["holder"] is not None:
        check_eq(kind + " holder", top["holder"]["address"], t["holder"])
        check_eq(kind + " holder length", top["holder"]["length"], t["held"][-1])
    assert top["example"]["path"][-1]["type"] == top["type"], top["example"]
    # the leaking objects are what the suspect retains: all of them
    n = want[-1] if held_type is None else t["counts"][-1]
    assert top["retained"] >= n * 16, (top["retained"], n)
    # what to run next runs as printed, in a POSIX shell
    assert len(top["next"]) == 3, top
    for cmd in top["next"]:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (cmd, r.stderr)
        assert r.stdout.strip(), cmd


def test_callbacks(ctx):
    check_kind(ctx, "callbacks")


def test_memo(ctx):
    check_kind(ctx, "memo")


def test_lru_method(ctx):
    check_kind(ctx, "lru_method")


def test_handlers(ctx):
    check_kind(ctx, "handlers")


def test_tasks(ctx):
    check_kind(ctx, "tasks")


def test_cycles(ctx):
    check_kind(ctx, "cycles")
