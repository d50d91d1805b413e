"""End-to-end: I/O failures while writing a dump (disk full on write,
EIO on fsync, failing rename) raise OSError with the errno, leave no file
behind and leave the collector as it was; the next dump works. The
failures come from a small LD_PRELOAD shim built here with cc."""
import os
import shutil
import subprocess

from dumper_util import check_eq, run_traced

SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fails the operation named by PYMPLE_TEST_FAIL on pymple's temporary dump
 * files ("*.dump.<pid>.<n>.tmp") while PYMPLE_TEST_ARMED is set to 1. */
static int target(int fd)
{
	char link[64], path[4096];
	const char *armed = getenv("PYMPLE_TEST_ARMED");
	if (!armed || strcmp(armed, "1") != 0 || fd < 3)
		return 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return 0;
	path[n] = 0;
	return strstr(path, ".dump.") && n > 4 && strcmp(path + n - 4, ".tmp") == 0;
}

static int mode(const char *m)
{
	const char *f = getenv("PYMPLE_TEST_FAIL");
	return f && strcmp(f, m) == 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (mode("write") && target(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n);
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (mode("fsync") && target(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int rename(const char *a, const char *b)
{
	static int (*real)(const char *, const char *);
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	const char *armed = getenv("PYMPLE_TEST_ARMED");
	if (mode("rename") && armed && strcmp(armed, "1") == 0 && strstr(a, ".dump.")) {
		errno = EXDEV;
		return -1;
	}
	return real(a, b);
}
'''

WORKLOAD = r'''
import errno
data = [{"k%d" % i: [i] * 50} for i in range(20000)]   # a few MB of dump
out = {}
for enabled in (True, False):
    gc.enable() if enabled else gc.disable()
    before = sorted(os.listdir("."))
    os.environ["PYMPLE_TEST_ARMED"] = "1"
    try:
        pymple.dump("fail.dump")
        out[str(enabled)] = ["no error"]
    except OSError as e:
        out[str(enabled)] = [e.errno, e.filename, sorted(os.listdir(".")) == before, gc.isenabled() == enabled]
    os.environ["PYMPLE_TEST_ARMED"] = "0"
gc.enable()
out["after"] = os.path.getsize(pymple.dump("ok.dump")) > 0
emit(out)
'''


def _shim(ctx):
    src = os.path.join(ctx.tmp, "failshim.c")
    lib = os.path.join(ctx.tmp, "failshim.so")
    with open(src, "w") as f:
        f.write(SHIM)
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    subprocess.check_call([cc, "-shared", "-fPIC", "-O1", "-o", lib, src, "-ldl"])
    return lib


def _run(ctx, lib, what):
    env_preload = (os.environ.get("LD_PRELOAD", "") + " " + lib).strip()
    orig = ctx.env

    def env(**extra):
        e = orig(**extra)
        e["LD_PRELOAD"] = env_preload
        e["PYMPLE_TEST_FAIL"] = what
        return e

    ctx.env = env
    try:
        return run_traced(ctx, WORKLOAD)
    finally:
        ctx.env = orig


def test_dump_io_errors_leave_nothing(ctx):
    import errno
    lib = _shim(ctx)
    for what, code in (("write", errno.ENOSPC), ("fsync", errno.EIO), ("rename", errno.EXDEV)):
        t = _run(ctx, lib, what)
        for enabled in ("True", "False"):
            check_eq("%s failure (gc enabled=%s): errno, filename, no file left, gc state" % (what, enabled),
                     t[enabled], [code, "fail.dump", True, True])
        check_eq("a dump after the %s failure" % what, t["after"], True)
