"""leakcheck.py — what one pymple.assert_no_leaks() adds on a ~200k-object heap.

Usage: PYTHONPATH=build/python python3 bench/leakcheck.py
Prints medians of 7 runs, CPU time of this process (what the check costs) and wall
time (what a loaded machine makes of it). The overhead is the check minus the
warmup + repeat calls it makes.
"""
import gc
import statistics
import sys
import time

import pymple
from pymple import _pymple


class Rec:
    def __init__(self, i):
        self.i = i
        self.name = "r%d" % i
        self.tags = (i, "x")


DATA = [Rec(i) for i in range(40000)]
REG = []


def clean():
    return [i * 2 for i in range(10)]


def leak():
    REG.append(Rec(1))


def measure(clock, runs=7):
    def calls(f, n):
        t0 = clock()
        for _ in range(n):
            f()
        return clock() - t0
    over, snaps, report = [], [], []
    for _ in range(runs):
        t0 = clock()
        pymple.assert_no_leaks(clean)
        over.append(clock() - t0 - calls(clean, 4))
        t0 = clock()
        s = _pymple.snapshot()
        snaps.append(clock() - t0)
        del s
        t0 = clock()
        try:
            pymple.assert_no_leaks(leak)
        except pymple.LeakError:
            pass
        report.append(clock() - t0)
    return statistics.median(over), statistics.median(snaps), statistics.median(report)


def main():
    gc.collect()
    s = _pymple.snapshot()
    print("python %s: %d objects, %d references in the walk" % (
        sys.version.split()[0], len(s), s.refs))
    del s
    for name, clock in (("cpu", time.process_time), ("wall", time.perf_counter)):
        over, snap, report = measure(clock)
        print("%-4s one snapshot %.3f s, check overhead %.3f s, check with a report %.3f s"
              % (name, snap, over, report))


if __name__ == "__main__":
    main()
