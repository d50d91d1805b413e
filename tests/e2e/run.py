"""run.py — the end-to-end test runner (no pytest on this machine).

Discovers tests/e2e/test_*.py, runs every top-level function named test_*
with a Ctx (paths to the build, the analyzer, a scratch directory), and
prints one line per test and a closing 'N passed, N failed' line.
Usage: run.py [--build DIR] [--python EXE] [-k SUBSTRING]
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Ctx:
    def __init__(self, build, python, tmp):
        self.build = os.path.abspath(build)
        self.python = python
        self.pythonpath = os.path.join(self.build, "python")
        self.analyzer = os.path.join(self.build, "bin", "pymple-analyze")
        self.root = ROOT
        self.tmp = tmp

    def env(self, **extra):
        env = dict(os.environ)
        env["PYTHONPATH"] = self.pythonpath
        # Where install() advertises a process for `python3 -m pymple dump`: this
        # test's own, not the shared /tmp/pymple-<uid>.
        env["XDG_RUNTIME_DIR"] = self.runtime_dir()
        env.update(extra)
        return env

    def runtime_dir(self):
        """A private directory next to tmp (tests list tmp itself), removed with it."""
        d = self.tmp.rstrip("/") + ".xdg"
        os.makedirs(d, mode=0o700, exist_ok=True)
        return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    passed = failed = 0
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for fname in sorted(dir(mod)):
            fn = getattr(mod, fname)
            if not fname.startswith("test_") or not callable(fn):
                continue
            full = "%s::%s" % (name, fname)
            if args.k and args.k not in full:
                continue
            tmp = tempfile.mkdtemp(prefix="pymple-e2e-")
            t0 = time.monotonic()
            try:
                fn(Ctx(args.build, args.python, tmp))
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)" % (full, time.monotonic() - t0))
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print("ok   %s (%.1fs)" % (full, time.monotonic() - t0))
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(tmp + ".xdg", ignore_errors=True)
            sys.stdout.flush()
    print("e2e: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
