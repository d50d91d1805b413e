"""pymple: heap dumps of a running CPython process, analyzed offline.

dump(path=None, *, values=True, quiet=False) writes every live object to a file for
pymple-analyze; install()/uninstall() arm a dump on a signal; assert_no_leaks() checks
that calling a function leaves no objects behind (pymple.leakcheck; pymple.pytest_plugin
is loaded by pytest only). This package re-exports the C core (pymple._pymple); its
pure-Python modules (sigpolicy, advert, dumpcmd, attach: the `python3 -m pymple dump`
command) never import it, so that command also runs under a Python the core was not
built for. There, `import pymple` works and using dump(), install() or assert_no_leaks()
raises the ImportError.
"""
try:
    from pymple._pymple import __version__, dump, install, uninstall  # noqa: F401
    from pymple.leakcheck import LeakError, assert_no_leaks  # noqa: F401
except ImportError as _e:
    _core_error = _e

    def __getattr__(name):
        if name in ("dump", "install", "uninstall", "__version__", "assert_no_leaks",
                    "LeakError"):
            raise ImportError("pymple's C core cannot be loaded by this Python: %s"
                              % _core_error)
        raise AttributeError("module 'pymple' has no attribute %r" % name)

__all__ = ["dump", "install", "uninstall", "assert_no_leaks", "LeakError", "__version__"]
