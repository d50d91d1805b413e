"""pytest_plugin.py — leak checks for pytest tests, through pymple.assert_no_leaks().

Registered by the package's pytest11 entry point, or loaded with
`-p pymple.pytest_plugin`. A test marked @pytest.mark.pymple_no_leaks(repeat=3,
warmup=1, ignore=()) — or every test with --pymple-no-leaks — is called 1 + 3 times
with the same fixture values and fails with the leak report when objects accumulate.
Only pytest imports this module; `import pymple` never does.
"""
import inspect

import pytest

from pymple import leakcheck

MARKER = "pymple_no_leaks"


def pytest_addoption(parser):
    group = parser.getgroup("pymple", "pymple leak checks")
    group.addoption("--pymple-no-leaks", action="store_true", default=False,
                    help="check every test for leaked objects (calls each test "
                         "warmup + repeat times; see @pytest.mark.pymple_no_leaks)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", MARKER + "(repeat=3, warmup=1, ignore=()): fail the test when "
        "calling it repeatedly leaves objects behind (pymple.assert_no_leaks)")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    __tracebackhide__ = True
    marker = pyfuncitem.get_closest_marker(MARKER)
    if marker is None and not pyfuncitem.config.getoption("pymple_no_leaks"):
        return None
    func = pyfuncitem.obj
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        return None  # left to the async plugin, unchecked
    opts = dict(marker.kwargs) if marker is not None else {}
    unknown = set(opts) - {"repeat", "warmup", "ignore"}
    if unknown:
        raise pytest.UsageError("%s: unknown option %s" % (MARKER, ", ".join(sorted(unknown))))
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in argnames}
    leakcheck.check_call(func, (), kwargs, **opts)
    return True
