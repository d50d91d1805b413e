"""build_backend.py — pymple's PEP 517 build backend (pyproject.toml names it).

Builds the whole tool into one wheel: the pymple package with its extension
and pymple-analyze (in the wheel's .data/scripts, so pip puts it on the
venv's PATH). It runs the Makefile, the one build description, against the
interpreter that runs it, then writes the wheel itself (PEP 427: a zip with a
dist-info directory). It imports only the standard library, so building needs
Python, make and a C compiler and nothing from a package index: not setuptools,
not wheel. The version comes from schema/pymple_version.h; everything else in
the metadata from pyproject.toml's [project] table.
Must not write into the source tree: every build goes to a temporary directory
(but an editable install's, which must outlive the install: build/editable-cpXY).
"""
import base64
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION_H = "schema/pymple_version.h"


def _fail(message):
    """Ends the build with one line on stderr (pip shows it as the output)."""
    raise SystemExit("pymple: " + message)


# ---------------------------------------------------------------------------
# pyproject.toml. Python < 3.11 has no tomllib and this backend must not need
# a package, so it reads the subset of TOML the file uses: [tables], bare and
# dotted keys, basic and literal one-line strings, booleans, arrays, inline
# tables. Anything else is an error naming the line, never a silent misread;
# tests/install/run.sh checks the result against tomllib where there is one.

_TOKEN = re.compile(
    r'(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>#[^\n]*)|(?P<bad>"""|\'\'\')'
    r'|(?P<basic>"(?:[^"\\\n]|\\.)*")|(?P<literal>\'[^\'\n]*\')'
    r'|(?P<bool>(?:true|false)(?![A-Za-z0-9_-]))|(?P<key>[A-Za-z0-9_-]+)|(?P<punct>[\[\]{}=,.])')


def _toml_tokens(text, path):
    pos, line, out = 0, 1, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup == "bad":
            _fail("%s:%d: not in the subset of TOML tools/build_backend.py reads" % (path, line))
        kind, value = m.lastgroup, m.group()
        if kind == "nl":
            out.append(("nl", value, line))
            line += 1
        elif kind not in ("ws", "comment"):
            out.append((kind, value, line))
        pos = m.end()
    out.append(("nl", "", line))
    return out


def parse_toml(text, path="pyproject.toml"):
    """The TOML document `text` as nested dicts; _fail() on what it cannot read."""
    toks = _toml_tokens(text, path)
    i = 0

    def bad(what="unexpected %r"):
        _fail("%s:%d: %s" % (path, toks[i][2], what % (toks[i][1],)))

    def expect(value):
        nonlocal i
        if toks[i][1] != value or toks[i][0] not in ("punct", "key"):
            bad("expected %r, found %%r" % value)
        i += 1

    def skip_nl():
        nonlocal i
        while toks[i][0] == "nl" and i < len(toks) - 1:
            i += 1

    def dotted_key():
        nonlocal i
        parts = []
        while True:
            kind, value, _ = toks[i]
            if kind in ("key", "bool"):
                parts.append(value)
            elif kind in ("basic", "literal"):
                parts.append(json.loads(value) if kind == "basic" else value[1:-1])
            else:
                bad("expected a key, found %r")
            i += 1
            if toks[i][1] != ".":
                return parts
            i += 1

    def put(table, parts, value):
        for p in parts[:-1]:
            table = table.setdefault(p, {})
            if not isinstance(table, dict):
                bad("%r: key already holds a value")
        if parts[-1] in table:
            _fail("%s:%d: duplicate key %s" % (path, toks[i - 1][2], ".".join(parts)))
        table[parts[-1]] = value

    def value():
        nonlocal i
        kind, text_, _ = toks[i]
        i += 1
        if kind == "basic":
            try:
                return json.loads(text_)
            except ValueError:
                i -= 1
                bad("string escape not read by this backend: %s")
        if kind == "literal":
            return text_[1:-1]
        if kind == "bool":
            return text_ == "true"
        if text_ == "[":
            items = []
            while True:
                skip_nl()
                if toks[i][1] == "]":
                    i += 1
                    return items
                items.append(value())
                skip_nl()
                if toks[i][1] == ",":
                    i += 1
                elif toks[i][1] != "]":
                    bad("expected ',' or ']', found %r")
        if text_ == "{":
            table = {}
            if toks[i][1] == "}":
                i += 1
                return table
            while True:
                parts = dotted_key()
                expect("=")
                put(table, parts, value())
                if toks[i][1] == "}":
                    i += 1
                    return table
                expect(",")
        i -= 1
        bad("value not read by this backend: %r")

    doc = {}
    table = doc
    while i < len(toks) - 1:
        if toks[i][0] == "nl":
            i += 1
            continue
        if toks[i][1] == "[":
            i += 1
            if toks[i][1] == "[":
                bad("arrays of tables are not read by this backend: %r")
            table = doc
            for p in dotted_key():
                table = table.setdefault(p, {})
            expect("]")
        else:
            parts = dotted_key()
            expect("=")
            put(table, parts, value())
        if toks[i][0] != "nl":
            bad("expected the end of the line, found %r")
    return doc


# ---------------------------------------------------------------------------
# Metadata (core metadata 2.1) from [project] and the version header.

def version():
    """PYMPLE_VERSION from schema/pymple_version.h, the one place it is written."""
    with open(os.path.join(ROOT, VERSION_H)) as f:
        m = re.search(r'(?m)^#define PYMPLE_VERSION "([^"]+)"$', f.read())
    if m is None:
        _fail("%s: no #define PYMPLE_VERSION line" % VERSION_H)
    return m.group(1)


# The [project] keys this backend writes into the metadata; any other key is
# an error rather than something silently left out of the wheel.
_PROJECT_KEYS = {"name", "version", "dynamic", "description", "readme", "requires-python",
                 "license", "classifiers", "keywords", "urls", "authors", "maintainers",
                 "entry-points"}


def project():
    """pyproject.toml's [project] table, checked, with the version filled in."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        proj = dict(parse_toml(f.read()).get("project", {}))
    unknown = sorted(set(proj) - _PROJECT_KEYS)
    if unknown:
        _fail("pyproject.toml: [project] %s: not supported by tools/build_backend.py"
              % ", ".join(unknown))
    if "version" in proj or proj.get("dynamic") != ["version"]:
        _fail('pyproject.toml: the version must be dynamic = ["version"] (it is in %s)'
              % VERSION_H)
    proj["version"] = version()
    return proj


def _people(entries):
    names, emails = [], []
    for e in entries:
        if "email" in e:
            emails.append("%s <%s>" % (e["name"], e["email"]) if "name" in e else e["email"])
        elif "name" in e:
            names.append(e["name"])
    return ", ".join(names), ", ".join(emails)


def _readme(readme):
    """(content type, text) of [project] readme: a path, or {file, content-type}."""
    if isinstance(readme, str):
        readme = {"file": readme}
    if "text" in readme:
        text = readme["text"]
    else:
        with open(os.path.join(ROOT, readme["file"]), encoding="utf-8") as f:
            text = f.read()
    ctype = readme.get("content-type")
    if ctype is None:
        ext = os.path.splitext(readme.get("file", ""))[1].lower()
        ctype = {".md": "text/markdown", ".rst": "text/x-rst"}.get(ext, "text/plain")
    return ctype, text


def metadata(proj):
    """The METADATA (and PKG-INFO) text for `proj`, core metadata 2.1."""
    lines = ["Metadata-Version: 2.1", "Name: " + proj["name"], "Version: " + proj["version"]]
    if "description" in proj:
        lines.append("Summary: " + proj["description"])
    if proj.get("keywords"):
        lines.append("Keywords: " + ",".join(proj["keywords"]))
    for field, key in (("Author", "authors"), ("Maintainer", "maintainers")):
        name, email = _people(proj.get(key, []))
        if name:
            lines.append("%s: %s" % (field, name))
        if email:
            lines.append("%s-email: %s" % (field, email))
    lic = proj.get("license")
    if lic is not None:
        if isinstance(lic, str) or "file" not in lic:
            text = lic if isinstance(lic, str) else lic["text"]
        else:
            with open(os.path.join(ROOT, lic["file"]), encoding="utf-8") as f:
                text = f.read()
        lines.append("License: " + text.strip().replace("\n", "\n       "))
    for label, url in proj.get("urls", {}).items():
        lines.append("Project-URL: %s, %s" % (label, url))
    lines += ["Classifier: " + c for c in proj.get("classifiers", [])]
    if "requires-python" in proj:
        lines.append("Requires-Python: " + proj["requires-python"])
    body = ""
    if "readme" in proj:
        ctype, body = _readme(proj["readme"])
        lines.append("Description-Content-Type: " + ctype)
    return "\n".join(lines) + "\n\n" + body


# ---------------------------------------------------------------------------
# The build: check what it needs, then the Makefile into a temporary BUILD.

def _tag():
    """(python, abi, platform) tags of the running interpreter (PEP 425)."""
    if sys.implementation.name != "cpython":
        _fail("the extension reads CPython internals; %s is not CPython" % sys.implementation.name)
    py = "cp%d%d" % sys.version_info[:2]
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return py, py + getattr(sys, "abiflags", ""), plat


def _probe(cc, tmp, name, source, lib):
    """Whether `cc` compiles and links `source` with -l`lib` (header + library present)."""
    path = os.path.join(tmp, name + ".c")
    with open(path, "w") as f:
        f.write(source)
    cmd = cc + shlex.split(os.environ.get("CFLAGS", "")) + [path, "-o", path[:-2]]
    cmd += shlex.split(os.environ.get("LDFLAGS", "")) + ["-l" + lib]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def check_build_dependencies(tmp):
    """The C compiler command (a list); _fail() with one line naming everything
    missing (compiler, make, Python headers, SQLite, zlib) and what to install."""
    cc = shlex.split(os.environ.get("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    missing = []
    have_cc = bool(cc) and shutil.which(cc[0]) is not None
    if not have_cc:
        missing.append("no C compiler (%s; install build-essential)" % (cc[0] if cc else "CC"))
    if shutil.which("make") is None:
        missing.append("no make (install make)")
    if not os.path.isfile(os.path.join(include, "Python.h")):
        missing.append("no Python.h in %s (install this Python's development headers; "
                       "Debian's python3: python3-dev)" % include)
    if have_cc:
        if not _probe(cc, tmp, "sqlite", "#include <sqlite3.h>\nint main(void)"
                      "{ return sqlite3_libversion_number() > 0 ? 0 : 1; }\n", "sqlite3"):
            missing.append("no SQLite headers or library (install libsqlite3-dev)")
        if not _probe(cc, tmp, "zlib", "#include <zlib.h>\nint main(void)"
                      "{ return zlibVersion()[0] ? 0 : 1; }\n", "z"):
            missing.append("no zlib headers or library (install zlib1g-dev)")
    if missing:
        _fail("cannot build: " + "; ".join(missing))
    return cc, include


def build(tmp, out):
    """Runs the Makefile for this interpreter into the directory `out` (its BUILD);
    tmp is a scratch directory."""
    cc, include = check_build_dependencies(tmp)
    # -o deps: a pip build never installs system packages (make's deps target
    # would); WARN=: release builds must not fail on a newer compiler's warning.
    cmd = ["make", "-C", ROOT, "-o", "deps", "-j2", "PYTHON=" + sys.executable,
           "BUILD=" + out, "CC=" + " ".join(shlex.quote(c) for c in cc), "WARN=",
           "PY_INCLUDES=-I" + include, "all"]
    # A make that runs pip (make test-pip) passes its flags and command-line
    # variables (SANITIZE=..., BUILD=...) down in MAKEFLAGS: this build is its own.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    sys.stdout.flush()
    rc = subprocess.run(cmd, env=env).returncode
    if rc != 0:
        _fail("build failed: make exited with status %d (its messages are above)" % rc)


# ---------------------------------------------------------------------------
# Archives.

def _epoch():
    """SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    return int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def _wheel_text(tag):
    return ("Wheel-Version: 1.0\nGenerator: pymple tools/build_backend.py\n"
            "Root-Is-Purelib: false\nTag: %s\n" % "-".join(tag))


def _dist_info(proj):
    return "%s-%s.dist-info" % (proj["name"], proj["version"])


def _entry_points_text(proj):
    """entry_points.txt for [project.entry-points] (groups of name = object
    reference), or None when there are none."""
    groups = proj.get("entry-points") or {}
    out = []
    for group in sorted(groups):
        out.append("[%s]" % group)
        for name in sorted(groups[group]):
            out.append("%s = %s" % (name, groups[group][name]))
        out.append("")
    return "\n".join(out) if out else None


def _dist_info_files(proj, tag):
    """{file name: bytes} of the .dist-info directory, RECORD aside."""
    files = {"METADATA": metadata(proj).encode("utf-8"), "WHEEL": _wheel_text(tag).encode()}
    eps = _entry_points_text(proj)
    if eps:
        files["entry_points.txt"] = eps.encode("utf-8")
    return files


def _write_dist_info(directory, proj, tag):
    d = os.path.join(directory, _dist_info(proj))
    os.makedirs(d, exist_ok=True)
    for n, data in _dist_info_files(proj, tag).items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)
    return os.path.basename(d)


def _write_wheel(path, members, distinfo):
    """members: {arcname: (bytes, mode)}; adds RECORD and writes the zip, dist-info last."""
    record = [_record_line(a, d) for a, (d, _) in sorted(members.items())]
    record.append(distinfo + "/RECORD,,")
    members[distinfo + "/RECORD"] = (("\n".join(record) + "\n").encode(), 0o644)
    stamp = time.gmtime(max(_epoch(), 315532800))[:6]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname in sorted(members, key=lambda a: (a.startswith(distinfo + "/"), a)):
            data, mode = members[arcname]
            info = zipfile.ZipInfo(arcname, stamp)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


# ---------------------------------------------------------------------------
# PEP 517 hooks.

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_dist_info(metadata_directory, project(), _tag())


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    proj = project()
    tag = _tag()
    name, ver = proj["name"], proj["version"]
    tmp = tempfile.mkdtemp(prefix="pymple-wheel-")
    try:
        out = os.path.join(tmp, "build")
        build(tmp, out)
        members = {}
        pkg = os.path.join(out, "python", "pymple")
        for n in sorted(os.listdir(pkg)):
            with open(os.path.join(pkg, n), "rb") as f:
                members["pymple/" + n] = (f.read(), 0o755 if n.endswith(".so") else 0o644)
        # A native program in the wheel's scripts: pip copies it as it is
        # (only "#!python" scripts are rewritten) into the environment's bin/.
        with open(os.path.join(out, "bin", "pymple-analyze"), "rb") as f:
            members["%s-%s.data/scripts/pymple-analyze" % (name, ver)] = (f.read(), 0o755)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    distinfo = _dist_info(proj)
    for n, data in _dist_info_files(proj, tag).items():
        members[distinfo + "/" + n] = (data, 0o644)
    wheel_name = "%s-%s-%s.whl" % (name, ver, "-".join(tag))
    _write_wheel(os.path.join(wheel_directory, wheel_name), members, distinfo)
    return wheel_name


# PEP 660. An editable install imports the package's Python files from
# dumper/pymple/ (edits are live) and the extension from a build directory; the
# finder below, installed through a .pth file, joins the two into one package.
_EDITABLE_FINDER = '''"""_pymple_editable.py — `pip install -e` of pymple: the package
from the source tree, its extension from the build. Written by tools/build_backend.py."""
import importlib.util
import sys

SRC = %r
EXT = %r


class PympleEditableFinder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "pymple":
            return None
        return importlib.util.spec_from_file_location(
            name, SRC + "/__init__.py", submodule_search_locations=[SRC, EXT])


sys.meta_path.append(PympleEditableFinder)
'''


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """The extension and pymple-analyze are built into build/editable-cpXY (or the
    config setting build-dir: pip install -e . -C build-dir=D) and stay there; after
    a change to C code, run the install again."""
    proj = project()
    tag = _tag()
    name, ver = proj["name"], proj["version"]
    out = (config_settings or {}).get("build-dir") or os.path.join(ROOT, "build",
                                                                   "editable-" + tag[0])
    out = os.path.abspath(out)
    tmp = tempfile.mkdtemp(prefix="pymple-editable-")
    try:
        build(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finder = _EDITABLE_FINDER % (os.path.join(ROOT, "dumper", "pymple"),
                                 os.path.join(out, "python", "pymple"))
    script = "#!/bin/sh\nexec %s \"$@\"\n" % shlex.quote(os.path.join(out, "bin", "pymple-analyze"))
    members = {
        "_pymple_editable.py": (finder.encode("utf-8"), 0o644),
        "pymple-editable.pth": (b"import _pymple_editable\n", 0o644),
        "%s-%s.data/scripts/pymple-analyze" % (name, ver): (script.encode("utf-8"), 0o755),
    }
    distinfo = _dist_info(proj)
    for n, data in _dist_info_files(proj, tag).items():
        members[distinfo + "/" + n] = (data, 0o644)
    wheel_name = "%s-%s-%s.whl" % (name, ver, "-".join(tag))
    _write_wheel(os.path.join(wheel_directory, wheel_name), members, distinfo)
    return wheel_name


def _source_files():
    """Files of the source tree: git's tracked and untracked-not-ignored files in
    a checkout; otherwise (an unpacked sdist) every file but build output."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True).stdout.decode()

    try:
        # Only when ROOT is a checkout's top, not an sdist unpacked inside another one.
        if os.path.samefile(git("rev-parse", "--show-toplevel").strip(), ROOT):
            out = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
            return sorted(p for p in out.split("\0")
                          if p and os.path.isfile(os.path.join(ROOT, p)))
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for base, dirs, names in os.walk(ROOT):
        rel = os.path.relpath(base, ROOT)
        dirs[:] = [d for d in dirs if not (rel == "." and d in ("build", "dist"))
                   and d not in (".git", "__pycache__")]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names
                  if not (rel == "." and n == "PKG-INFO")]
    return sorted(files)


def build_sdist(sdist_directory, config_settings=None):
    proj = project()
    base = "%s-%s" % (proj["name"], proj["version"])
    path = os.path.join(sdist_directory, base + ".tar.gz")
    mtime = _epoch()

    def add(tar, arcname, data, mode):
        info = tarfile.TarInfo(base + "/" + arcname)
        info.size, info.mode, info.mtime = len(data), mode, mtime
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel in _source_files():
            full = os.path.join(ROOT, rel)
            with open(full, "rb") as f:
                add(tar, rel, f.read(), 0o755 if os.access(full, os.X_OK) else 0o644)
        add(tar, "PKG-INFO", metadata(proj).encode("utf-8"), 0o644)
    return os.path.basename(path)
