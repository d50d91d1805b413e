"""pymple_signal_hook.py — start-up hook for programs that cannot be changed. `make install`
puts it next to the pymple package with pymple-signal.pth ("import pymple_signal_hook"), so
every start of that Python imports it; with PYMPLE_SIGNAL=USR2 set it calls pymple.install().
Must stay tiny and never break start-up: nothing to do when PYMPLE_SIGNAL is unset, one line on
stderr instead of an exception otherwise.
"""
import os

if os.environ.get("PYMPLE_SIGNAL"):
    try:
        from pymple.__main__ import install_from_environ
        install_from_environ()
    except Exception as e:  # start-up must go on; say why no dumps will come
        import sys
        sys.stderr.write("pymple: PYMPLE_SIGNAL=%s ignored: %s\n"
                         % (os.environ.get("PYMPLE_SIGNAL"), e))
