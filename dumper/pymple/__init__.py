"""pymple: heap dumps of a running CPython process, analyzed offline.

dump(path=None, *, values=True, quiet=False) writes every live object to a file for
pymple-analyze; install()/uninstall() arm a dump on a signal;
assert_no_leaks() checks that calling a function leaves no objects behind
(pymple.leakcheck). pymple.pytest_plugin is loaded by pytest only.
"""
from pymple._pymple import __version__, dump  # noqa: F401
from pymple.leakcheck import LeakError, assert_no_leaks  # noqa: F401

try:
    from pymple._pymple import install, uninstall  # noqa: F401
except ImportError:  # the signal support is not built in
    pass

__all__ = ["dump", "install", "uninstall", "assert_no_leaks", "LeakError", "__version__"]
