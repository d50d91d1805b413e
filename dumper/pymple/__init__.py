"""pymple: heap dumps of a running CPython process, analyzed offline.

dump(path=None, *, values=True, quiet=False) writes every live object to a file for
pymple-analyze; install()/uninstall() arm a dump on a signal. This package
only re-exports the C core (pymple._pymple); it holds no logic of its own.
"""
from pymple._pymple import __version__, dump  # noqa: F401

try:
    from pymple._pymple import install, uninstall  # noqa: F401
except ImportError:  # the signal support is not built in
    pass

__all__ = ["dump", "install", "uninstall", "__version__"]
