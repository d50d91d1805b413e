"""realheap.py — the bench's "real heap": the standard library imported (a
pinned rule: sys.stdlib_module_names minus the modules with side effects or a
GUI) and the ast.parse() trees of a pinned list of its own sources kept
alive; then one pymple.dump(). About 3 references per object.

Usage: python3 realheap.py OUT.dump [chain N]
  chain N: instead, a single chain of N one-element lists (for `path`).
Prints one JSON line: {"objects": gc-tracked objects, "dump_s": seconds}.
"""
import ast
import gc
import importlib
import io
import json
import os
import sys
import time
import warnings

import pymple

# Not imported: GUIs, modules that act on import, the test suite.
SKIP = {"tkinter", "idlelib", "turtle", "turtledemo", "antigravity", "this", "test",
        "__hello__", "__phello__", "lib2to3", "ensurepip", "pydoc_data"}
# The sources whose syntax trees stay alive (files of the standard library).
SOURCES = ["typing.py", "inspect.py", "argparse.py", "ast.py", "dataclasses.py", "pathlib.py",
           "subprocess.py", "tarfile.py", "zipfile.py", "difflib.py", "pydoc.py",
           "_pydecimal.py", "logging/__init__.py", "email/message.py", "http/client.py",
           "unittest/case.py", "asyncio/base_events.py", "collections/__init__.py",
           "json/decoder.py", "configparser.py", "statistics.py", "textwrap.py"]

KEEP = []


def real_heap():
    names = sorted(getattr(sys, "stdlib_module_names", ()))
    quiet = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            if name in SKIP or name.startswith("_"):
                continue
            old = sys.stdout
            sys.stdout = quiet
            try:
                importlib.import_module(name)
            except Exception:  # platform modules (winreg, msvcrt, ...)
                pass
            finally:
                sys.stdout = old
    lib = os.path.dirname(os.__file__)
    for rel in SOURCES:
        path = os.path.join(lib, rel)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                KEEP.append(ast.parse(f.read(), rel))


def chain(n):
    head = [None]
    node = head
    for _ in range(n):
        nxt = [None]
        node[0] = nxt
        node = nxt
    KEEP.append(head)
    return id(node)


def main():
    out = sys.argv[1]
    extra = {}
    if len(sys.argv) > 3 and sys.argv[2] == "chain":
        extra["tail"] = chain(int(sys.argv[3]))
    else:
        real_heap()
    gc.collect()
    t0 = time.perf_counter()
    pymple.dump(out, quiet=True)
    extra.update({"objects": len(gc.get_objects()), "dump_s": time.perf_counter() - t0})
    print(json.dumps(extra), flush=True)


if __name__ == "__main__":
    main()
