"""build_backend.py — PEP 517 backend for `pip install --no-build-isolation .`

Delegates to setuptools.build_meta when the `wheel` package is installed.
Without it (setuptools alone cannot make a wheel), builds with setup.py and
packs the wheel itself: a wheel is a zip with a dist-info directory (PEP 427),
small enough to write here rather than require a package from PyPI.
Must not change what gets built: setup.py stays the one description.
"""
import base64
import hashlib
import os
import re
import shutil
import sys
import sysconfig
import tempfile
import zipfile

from setuptools import build_meta as _setuptools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _have_wheel():
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return True


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    return _setuptools.build_sdist(sdist_directory, config_settings)


def _project():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    name = re.search(r'(?m)^name\s*=\s*"([^"]+)"', text).group(1)
    version = re.search(r'(?m)^version\s*=\s*"([^"]+)"', text).group(1)
    summary = re.search(r'(?m)^description\s*=\s*"([^"]*)"', text)
    return name, version, summary.group(1) if summary else ""


def _tag():
    impl = "cp%d%d" % sys.version_info[:2]
    abi = impl + getattr(sys, "abiflags", "")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return impl, abi, plat


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if _have_wheel():
        return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    from distutils.core import run_setup

    name, version, summary = _project()
    impl, abi, plat = _tag()
    tmp = tempfile.mkdtemp(prefix="pymple-wheel-")
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        lib = os.path.join(tmp, "lib")
        run_setup("setup.py", ["build", "--build-lib", lib, "--build-temp", os.path.join(tmp, "temp")])
    finally:
        os.chdir(cwd)
    distinfo = "%s-%s.dist-info" % (name, version)
    wheel_name = "%s-%s-%s-%s-%s.whl" % (name, version, impl, abi, plat)
    files = {}
    for base, _, names in os.walk(lib):
        for n in names:
            path = os.path.join(base, n)
            files[os.path.relpath(path, lib).replace(os.sep, "/")] = open(path, "rb").read()
    files[distinfo + "/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
                                     % (name, version, summary)).encode()
    files[distinfo + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: pymple build_backend\n"
                                  "Root-Is-Purelib: false\nTag: %s-%s-%s\n" % (impl, abi, plat)).encode()
    record = [_record_line(a, d) for a, d in sorted(files.items())] + [distinfo + "/RECORD,,"]
    files[distinfo + "/RECORD"] = ("\n".join(record) + "\n").encode()
    out = os.path.join(wheel_directory, wheel_name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname in sorted(files, key=lambda a: (a.startswith(distinfo), a)):
            z.writestr(arcname, files[arcname])
    shutil.rmtree(tmp, ignore_errors=True)
    return wheel_name
