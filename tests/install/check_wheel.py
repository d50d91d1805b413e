"""check_wheel.py — checks a wheel built by tools/build_backend.py against the
rules it must follow and the sources it is made from, not against the backend's
own code: PEP 427 layout, every RECORD hash and size, the analyzer executable in
.data/scripts, METADATA fields against pyproject.toml (read with tomllib where
Python has it) and README.md, the version against schema/pymple_version.h.
Usage: python check_wheel.py WHEEL SOURCE_ROOT   (prints what is wrong, exit 1)
"""
import base64
import email.parser
import hashlib
import os
import re
import sys
import zipfile

wheel_path, root = sys.argv[1], sys.argv[2]
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


with open(os.path.join(root, "schema/pymple_version.h")) as f:
    version = re.search(r'#define PYMPLE_VERSION "([^"]+)"', f.read()).group(1)
with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
    readme = f.read()
tag = "cp%d%d" % sys.version_info[:2]
name = os.path.basename(wheel_path)
check(name.startswith("pymple-%s-%s-%s-linux_" % (version, tag, tag)), "wheel name " + name)

z = zipfile.ZipFile(wheel_path)
names = z.namelist()
di = "pymple-%s.dist-info/" % version
check(len(names) == len(set(names)), "duplicate members")
record = z.read(di + "RECORD").decode().splitlines()
listed = {}
for line in record:
    path, digest, size = line.rsplit(",", 2)
    listed[path] = (digest, size)
check(set(listed) == set(names),
      "RECORD lists %s, the zip holds %s" % (sorted(listed), sorted(names)))
for path, (digest, size) in listed.items():
    if path == di + "RECORD":
        check(digest == "" and size == "", "RECORD's own line: " + path)
        continue
    data = z.read(path)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    check(digest == want and size == str(len(data)), "RECORD hash or size of " + path)

script = "pymple-%s.data/scripts/pymple-analyze" % version
check(script in names, "no " + script)
if script in names:
    check(z.read(script)[:4] == b"\x7fELF", script + " is not a native program")
    check((z.getinfo(script).external_attr >> 16) & 0o111 == 0o111, script + " not executable")
check(any(re.match(r"pymple/_pymple\.cpython-.*\.so$", n) for n in names), "no extension")
check("pymple/__init__.py" in names and "pymple/__main__.py" in names, "no package")

wheel = email.parser.Parser().parsestr(z.read(di + "WHEEL").decode())
check(wheel["Wheel-Version"] == "1.0", "Wheel-Version")
check(wheel["Root-Is-Purelib"] == "false", "Root-Is-Purelib")
check(wheel["Tag"] == "-".join(name[:-4].split("-")[2:]),
      "Tag %s vs name %s" % (wheel["Tag"], name))

meta = email.parser.Parser().parsestr(z.read(di + "METADATA").decode("utf-8"))
check(meta["Metadata-Version"] == "2.1", "Metadata-Version")
check(meta["Name"] == "pymple", "Name")
check(meta["Version"] == version, "Version %s, header %s" % (meta["Version"], version))
check(meta["Description-Content-Type"] == "text/markdown", "Description-Content-Type")
check(meta.get_payload() == readme, "the long description is not README.md")
try:
    import tomllib
except ImportError:  # Python < 3.11: the fields are checked for presence only
    tomllib = None
    check(meta["Summary"] and meta["Requires-Python"] and meta.get_all("Classifier"),
          "Summary, Requires-Python or classifiers missing")
if tomllib is not None:
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        proj = tomllib.load(f)["project"]
    check(meta["Summary"] == proj["description"], "Summary")
    check(meta["Requires-Python"] == proj["requires-python"], "Requires-Python")
    check(meta.get_all("Classifier") == proj["classifiers"], "Classifier")
    check(meta["Keywords"] == ",".join(proj["keywords"]), "Keywords")
    check(meta["License"] == proj["license"]["text"], "License")
    # Entry points (pytest finds the plugin through pytest11), read as
    # importlib.metadata reads them.
    import configparser

    eps = configparser.ConfigParser(delimiters=("=",))
    eps.optionxform = str
    eps.read_string(z.read(di + "entry_points.txt").decode("utf-8"))
    got = {g: dict(eps[g]) for g in eps.sections()}
    check(got == proj["entry-points"], "entry_points.txt %r vs %r" % (got, proj["entry-points"]))
    # The backend reads pyproject.toml with its own small parser (Python < 3.11
    # has no tomllib): it must read this file exactly as tomllib does.
    sys.path.insert(0, os.path.join(root, "tools"))
    import build_backend

    with open(os.path.join(root, "pyproject.toml")) as f:
        text = f.read()
    samples = [text, 'a = "x\\"y" # c\n[t.u]\nk = [ "a", # c\n  \'b\',\n]\n',
               "[p]\nlicense = {file = 'L', x.y = true}\nr = {}\n", 'q."d.k" = []\n']
    for s in samples:
        check(build_backend.parse_toml(s) == tomllib.loads(s), "parse_toml != tomllib: %r" % s)
    for s in ['a = """x"""\n', "a = 1\n", "[[a]]\n", "a = 'x' b\n", 'a = "x"\na = "y"\n']:
        try:
            build_backend.parse_toml(s)
            check(False, "parse_toml accepts %r" % s)
        except SystemExit as e:
            check(str(e).startswith("pymple: pyproject.toml:"), "message for %r: %s" % (s, e))

for p in problems:
    print("check_wheel: %s: %s" % (name, p))
sys.exit(1 if problems else 0)
