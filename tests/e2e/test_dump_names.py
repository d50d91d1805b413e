"""End-to-end: pymple.dump()'s default names and its log line. Default names
carry the UTC time to the microsecond, sort by time and never replace an
existing file (a "-N" suffix instead, also where renameat2 RENAME_NOREPLACE
is missing); an explicit path is replaced. One stderr line per dump (path,
objects, bytes, seconds) that matches the file, none with quiet=True. A
small LD_PRELOAD shim built here freezes the wall clock (so that several
dumps get the same default name) and can make renameat2 fail with EINVAL."""
import os
import re
import subprocess

from dumper_util import check_eq, run_traced, sql

SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* PYMPLE_TEST_FROZEN=1: CLOCK_REALTIME always reads 2024-01-02 03:04:05.678901.
 * PYMPLE_TEST_NO_RENAMEAT2=1: renameat2 fails with EINVAL (old file systems). */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	const char *f = getenv("PYMPLE_TEST_FROZEN");
	if (id == CLOCK_REALTIME && f && f[0] == '1') {
		ts->tv_sec = 1704164645;
		ts->tv_nsec = 678901000;
		return 0;
	}
	return real(id, ts);
}

int renameat2(int a, const char *b, int c, const char *d, unsigned flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned);
	if (!real)
		real = (int (*)(int, const char *, int, const char *, unsigned))dlsym(RTLD_NEXT, "renameat2");
	const char *f = getenv("PYMPLE_TEST_NO_RENAMEAT2");
	if (f && f[0] == '1') {
		errno = EINVAL;
		return -1;
	}
	return real(a, b, c, d, flags);
}
'''

BODY = r'''
import hashlib
def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
paths, sums = [], []
for i in range(3):
    paths.append(pymple.dump())
    sums.append(digest(paths[-1]))
    sys.stderr.write("@@mark %d\n" % i)
quiet = pymple.dump(quiet=True)
emit({"paths": paths, "same": [digest(p) for p in paths] == sums, "quiet": quiet,
      "files": sorted(os.listdir("."))})
'''

LINE = re.compile(r"^pymple: wrote (\S+) \((\d+) objects, (\d+) bytes, (\d+\.\d+) s\)$")


def build_shim(ctx):
    src = os.path.join(ctx.tmp, "shim.c")
    so = os.path.join(ctx.tmp, "shim.so")
    with open(src, "w") as f:
        f.write(SHIM)
    subprocess.check_call(["cc", "-shared", "-fPIC", "-o", so, src, "-ldl"])
    return so


def run_dumps(ctx, sub, **env):
    d = os.path.join(ctx.tmp, sub)
    os.mkdir(d)
    from dumper_util import PRELUDE
    p = subprocess.run([ctx.python, "-c", PRELUDE + BODY], cwd=d, env=ctx.env(**env),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    out = [l for l in p.stdout.splitlines() if l.startswith("@@")]
    import json
    return d, json.loads(out[-1][2:]), p.stderr.splitlines()


def check_log(ctx, d, t, err):
    """Exactly one line per non-quiet dump, right after it, naming its file with the
    file's size and object count; nothing for the quiet one."""
    lines = [l for l in err if not l.startswith("@@")]
    check_eq("log lines (three dumps, one quiet)", len(lines), 3)
    for i, p in enumerate(t["paths"]):
        at = err.index("@@mark %d" % i)
        m = LINE.match(err[at - 1])
        assert m, "no log line before mark %d: %r" % (i, err)
        check_eq("logged path", m.group(1), p)
        path = os.path.join(d, p)
        check_eq("logged bytes", int(m.group(3)), os.path.getsize(path))
        n = sql(ctx, path, "SELECT count(*) AS n FROM objects")[0]["n"]
        check_eq("logged objects", int(m.group(2)), n)


def test_default_names_unique_and_sorted(ctx):
    d, t, err = run_dumps(ctx, "real")
    names = t["paths"] + [t["quiet"]]
    pid = re.match(r"pymple-(\d+)-", names[0]).group(1)
    for n in names:
        assert re.match(r"^pymple-%s-\d{8}T\d{6}\.\d{6}Z(-\d+)?\.dump$" % pid, n), n
    check_eq("four distinct files", len(set(names)), 4)
    check_eq("names sort by time", sorted(names), names)
    check_eq("earlier dumps unchanged", t["same"], True)
    check_eq("files in the directory", t["files"], sorted(names))
    check_log(ctx, d, t, err)


def _frozen(ctx, sub, **env):
    so = build_shim(ctx)
    # after any preload already there (a sanitizer runtime must stay first)
    preload = (os.environ.get("LD_PRELOAD", "") + " " + so).strip()
    d, t, err = run_dumps(ctx, sub, LD_PRELOAD=preload, PYMPLE_TEST_FROZEN="1", **env)
    names = t["paths"] + [t["quiet"]]
    base = names[0][:-len(".dump")]
    assert base.endswith("-20240102T030405.678901Z"), base
    check_eq("suffixes on collision", names,
             [base + ".dump", base + "-1.dump", base + "-2.dump", base + "-3.dump"])
    check_eq("no dump replaced an earlier one", t["same"], True)
    check_eq("files in the directory", t["files"], sorted(names))
    check_log(ctx, d, t, err)


def test_same_time_default_names_never_replace(ctx):
    _frozen(ctx, "frozen")


def test_same_time_default_names_without_renameat2(ctx):
    _frozen(ctx, "nora2", PYMPLE_TEST_NO_RENAMEAT2="1")


def test_explicit_path_is_replaced(ctx):
    t = run_traced(ctx, r'''
a = pymple.dump("x.dump", quiet=True)
s1 = os.path.getsize("x.dump")
keep = [bytes(100000) for i in range(50)]   # a different heap: a different file
b = pymple.dump("x.dump", quiet=True)
emit({"a": a, "b": b, "grew": os.path.getsize("x.dump") > s1, "files": sorted(os.listdir("."))})
''')
    check_eq("returned paths", (t["a"], t["b"]), ("x.dump", "x.dump"))
    check_eq("the second dump replaced the first", t["grew"], True)
    check_eq("files", t["files"], ["x.dump"])


def test_longest_valid_names(ctx):
    """Any name the file system accepts for the dump works (issue 12): the temporary
    name, longer than the final one, used to exceed NAME_MAX for names of 230 bytes
    and more. Here 250 and 255 bytes (NAME_MAX), and 245 bytes of two-byte UTF-8."""
    t = run_traced(ctx, r'''
names = ["a" * 245 + ".dump", "b" * 250 + ".dump", "\u00e9" * 120 + ".dump"]
paths = [pymple.dump(n, quiet=True) for n in names]
again = pymple.dump(names[0], quiet=True)      # replaces the first, atomically
emit({"ok": paths == names and again == names[0],
      "lens": [len(os.fsencode(n)) for n in names],
      "files": sorted(os.listdir(".")), "names": sorted(names)})
''')
    check_eq("byte lengths", t["lens"], [250, 255, 245])
    check_eq("returned paths", t["ok"], True)
    check_eq("files (no temporary left)", t["files"], t["names"])
    for i, n in enumerate(t["names"]):  # complete dumps (a short database name: the
        db = os.path.join(ctx.tmp, "%d.db" % i)  # analyzer's own would be too long)
        r = subprocess.run([ctx.analyzer, "load", os.path.join(ctx.tmp, n), "-o", db],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([ctx.analyzer, "sql", db, "SELECT count(*) FROM objects",
                            "--format", "csv"], capture_output=True, text=True)
        assert r.returncode == 0 and int(r.stdout.split()[-1]) > 1000, (r.stdout, r.stderr)
