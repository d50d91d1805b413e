#!/usr/bin/env python3
"""gen_heap_corpus.py — writes the seeds of the heap fuzz target
(tests/fuzz/fuzz_heap.c) in the layout of tests/fuzz/heapdb.h: ok-heap-*
from databases pymple-analyze loads from small valid dumps of tests/fuzz/corpus,
bad-heap-* from one of them, each damaged in one way that
heap_load must refuse. usage: gen_heap_corpus.py ANALYZER OUTDIR"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import zlib

META = ["heap.objects", "heap.refs", "heap.missing", "heap.wide", "heap.types",
        "heap.strings", "heap.cycles"]


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_heap(analyzer, dump, tmp):
    db = os.path.join(tmp, os.path.basename(dump) + ".db")
    subprocess.run([analyzer, "-q", "load", dump, "-o", db], check=True)
    c = sqlite3.connect(db)
    meta = dict(c.execute("SELECT key, value FROM meta WHERE key LIKE 'heap.%'"))
    counts = [int(meta[k]) for k in META]
    chunks = [list(r[:7]) + [zlib.decompress(r[8])] for r in c.execute(
        "SELECT part, first, count, base, missing, wide_base, wide, ulen, data"
        " FROM heap_chunk ORDER BY id")]
    c.close()
    return counts, chunks


def encode(counts, chunks):
    out = bytearray(b"".join(varint(v) for v in counts))
    for ch in chunks:
        how, cols, raw = ch.get("how", 0), ch["cols"], ch["raw"]
        out.append(how)
        out += b"".join(varint(v) for v in cols)
        if how & 2:
            out += varint(ch["ulen"])
        out += varint(len(raw)) + raw
    return bytes(out)


def as_chunks(rows):
    return [{"cols": r[:7], "raw": r[7]} for r in rows]


def main():
    analyzer, outdir = sys.argv[1], sys.argv[2]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    dumps = [os.path.join(root, "tests/fuzz/corpus", n)
             for n in ("ok-small", "ok-more-refs", "ok-flags", "ok-crafted", "ok-empty-dump")]
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        heaps = {}
        for d in dumps:
            name = os.path.basename(d)[3:]
            counts, rows = read_heap(analyzer, d, tmp)
            heaps[name] = (counts, rows)
            with open(os.path.join(outdir, "ok-heap-" + name), "wb") as f:
                f.write(encode(counts, as_chunks(rows)))
        counts, rows = heaps["small"]
        objs = [i for i, r in enumerate(rows) if r[0] == 0]
        refs = [i for i, r in enumerate(rows) if r[0] == 1]
        bad = {}
        c = list(counts)
        c[0] += 1
        bad["counts"] = encode(c, as_chunks(rows))
        ch = as_chunks(rows)
        ch[refs[0]]["raw"] = ch[refs[0]]["raw"][: len(ch[refs[0]]["raw"]) // 2]
        bad["cut"] = encode(counts, ch)
        ch = as_chunks(rows)
        ch[refs[0]]["raw"] = b"\xff" * len(ch[refs[0]]["raw"])
        bad["garbage"] = encode(counts, ch)
        ch = as_chunks(rows)
        # every reference to target id 2^20 (past n): (zigzag + 1) << 3
        ch[refs[0]]["raw"] = varint(((2 << 20) + 1) << 3) * (len(ch[refs[0]]["raw"]) // 4 + 1)
        bad["dst"] = encode(counts, ch)
        ch = as_chunks(rows)
        del ch[objs[0]]
        bad["gap"] = encode(counts, ch)
        ch = as_chunks(rows)
        ch[objs[0]]["how"] = 2
        ch[objs[0]]["ulen"] = len(ch[objs[0]]["raw"]) + 5
        bad["ulen"] = encode(counts, ch)
        ch = as_chunks(rows)
        ch[objs[0]]["how"] = 1
        bad["zlib"] = encode(counts, ch)
        c = list(counts)
        c[0], c[1] = (1 << 31), (1 << 31)
        bad["huge"] = encode(c, as_chunks(rows))
        for k, v in bad.items():
            with open(os.path.join(outdir, "bad-heap-" + k), "wb") as f:
                f.write(v)


main()
