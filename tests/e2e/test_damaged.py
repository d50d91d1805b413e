"""test_damaged.py — damaged dumps of a real Python heap, end to end.

A real process writes a dump; the test then damages copies of it every way a
dump goes bad in practice (empty, cut short anywhere, a flipped bit, a foreign
file, a newer format version, a directory, a missing file) and requires of
every analyzer entry point: exit status 2, exactly one stderr line
`pymple-analyze: <file>: <problem>` naming the problem, nothing on stdout,
and no database left behind that a later run could take as complete.
"""
import os
import struct
import subprocess
import zlib

from dumper_util import run_traced

def _good_dump(ctx):
    body = r'''
class Payload:
    def __init__(self, i):
        self.i = i
        self.text = "payload-%d" % i
keep = [Payload(i) for i in range(3000)]
emit(os.path.abspath(pymple.dump("good.dump")))
'''
    path = run_traced(ctx, body)
    assert os.path.getsize(path) > 4096, "the good dump is too small to damage meaningfully"
    return path


def _write(ctx, name, data):
    path = os.path.join(ctx.tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _expect_refused(ctx, path, must_say):
    for args in (["summary", path], ["load", path, "-o", path + ".out.db"], ["check", path]):
        p = subprocess.run([ctx.analyzer] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120)
        what = "%s on %s" % (args[0], os.path.basename(path))
        assert p.returncode == 2, "%s: exit %d, wanted 2\n%s" % (what, p.returncode, p.stderr)
        lines = p.stderr.splitlines()
        assert len(lines) == 1, "%s: wanted one stderr line, got:\n%s" % (what, p.stderr)
        prefix = "pymple-analyze: %s: " % path
        assert lines[0].startswith(prefix), "%s: message lacks %r: %s" % (what, prefix, lines[0])
        assert must_say in lines[0], "%s: message should say %r: %s" % (what, must_say, lines[0])
        assert p.stdout == "", "%s: printed to stdout: %r" % (what, p.stdout[:200])
    for leftover in (path + ".db", path + ".out.db"):
        assert not os.path.exists(leftover), "a failed load left %s" % leftover


def test_damaged_real_dumps_are_refused_cleanly(ctx):
    good = _good_dump(ctx)
    data = open(good, "rb").read()
    p = subprocess.run([ctx.analyzer, "check", good], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert p.returncode == 0, "the undamaged dump must pass check: " + p.stderr

    _expect_refused(ctx, _write(ctx, "empty.dump", b""), "empty")
    # Cut short: inside the file header, inside the first chunk header, mid
    # payload, and one byte short of the end (inside the trailer).
    for cut in (7, 20, len(data) // 2, len(data) - 1):
        _expect_refused(ctx, _write(ctx, "cut%d.dump" % cut, data[:cut]), "truncated")
    # One flipped bit in the middle of the compressed payload.
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    _expect_refused(ctx, _write(ctx, "flipped.dump", bytes(flipped)), "checksum")
    # A foreign file.
    _expect_refused(ctx, _write(ctx, "text.dump", b"this is not a heap dump\n" * 50), "not a pymple dump")
    # A newer major version with a valid header checksum.
    future = bytearray(data)
    future[8:10] = struct.pack("<H", 2)
    future[12:16] = struct.pack("<I", zlib.crc32(bytes(future[:12])) & 0xffffffff)
    _expect_refused(ctx, _write(ctx, "future.dump", bytes(future)), "newer")
    # Bytes after the trailer.
    _expect_refused(ctx, _write(ctx, "trailing.dump", data + b"\0" * 16), "after")
    os.mkdir(os.path.join(ctx.tmp, "dir.dump"))
    _expect_refused(ctx, os.path.join(ctx.tmp, "dir.dump"), "directory")
    _expect_refused(ctx, os.path.join(ctx.tmp, "missing.dump"), "no such file")
