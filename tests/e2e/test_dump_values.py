"""End-to-end: leaf objects and value previews — strs reachable only as
dict keys, big ints (decimal, truncated and flagged), floats (repr),
bytes (hex), bool/None, surrogates, names of functions/classes/modules;
values=False writes none."""
from dumper_util import check_eq, run_traced, sql

WORKLOAD = r'''
import math
pid = os.getpid()
keys_only = {("only-key-%d-%d" % (pid, i)): None for i in range(64)}
big = 3 ** 1000
huge = 7 ** 40000
small = [12345678901234567890, -42, 2 ** 62 + 1]
floats = [math.pi, -0.0, 1e300, float("inf"), 0.1 + 0.2]
blob = bytes(range(40))
short = b"\x00\xffab"
weird = "sur\udc80rogate-%d" % pid
long_text = "L%d-" % pid + "x" * 500
def handle_request(a, b):
    return a
class Widget:
    pass
path = pymple.dump("vals.dump", values=VALUES)
emit({
    "keys": [[id(k), k] for k in keys_only],
    "big": [id(big), str(big)], "huge": id(huge),
    "small": [[id(v), str(v)] for v in small],
    "floats": [[id(f), repr(f)] for f in floats],
    "blob": [id(blob), blob.hex()], "short": [id(short), short.hex()],
    "weird": id(weird), "long": [id(long_text), long_text],
    "func": id(handle_request), "cls": id(Widget), "mod": id(sys.modules["math"]),
    "bools": [id(True), id(False), id(None)],
    "line": handle_request.__code__.co_firstlineno,
})
'''


def _by_addr(ctx, dump, addrs):
    q = "SELECT address, type, value, length, flags FROM objects WHERE address IN (%s)" % ",".join(
        str(a) for a in addrs)
    return {r["address"]: r for r in sql(ctx, dump, q)}


def test_dump_values_previews(ctx):
    t = run_traced(ctx, WORKLOAD.replace("VALUES", "True"))
    dump = ctx.tmp + "/vals.dump"
    addrs = [a for a, _ in t["keys"]] + [t["big"][0], t["huge"], t["blob"][0], t["short"][0], t["weird"],
                                          t["long"][0], t["func"], t["cls"], t["mod"]] + t["bools"]
    addrs += [a for a, _ in t["small"]] + [a for a, _ in t["floats"]]
    got = _by_addr(ctx, dump, addrs)
    for a, k in t["keys"]:  # reachable only as dict keys: dict traverse skips them
        assert a in got, "dict-key-only str %r missing" % k
        check_eq("key value", (got[a]["type"], got[a]["value"], got[a]["length"]), ("str", k, len(k)))
    trunc = 1 << 7
    b = got[t["big"][0]]
    check_eq("big int type", b["type"], "int")
    check_eq("big int preview", b["value"], t["big"][1][:100])
    check_eq("big int truncated flag", b["flags"] & trunc, trunc)
    h = got[t["huge"]]
    assert h["flags"] & trunc and h["value"], h
    for a, s in t["small"]:
        check_eq("int preview", (got[a]["value"], got[a]["flags"] & trunc), (s, 0))
    for a, r in t["floats"]:
        check_eq("float preview", got[a]["value"], r)
    check_eq("bytes preview", (got[t["blob"][0]]["value"], got[t["blob"][0]]["flags"] & trunc, got[t["blob"][0]]["length"]),
             (t["blob"][1][:64], trunc, 40))
    check_eq("short bytes preview", got[t["short"][0]]["value"], t["short"][1])
    assert got[t["weird"]]["value"].startswith("sur\ufffdrogate-"), got[t["weird"]]
    lo = got[t["long"][0]]
    check_eq("long str preview", (lo["value"], lo["flags"] & trunc, lo["length"]),
             (t["long"][1][:120], trunc, len(t["long"][1])))
    f = got[t["func"]]
    check_eq("function type", f["type"], "function")
    assert f["value"].startswith("handle_request ") and f["value"].endswith(":%d" % t["line"]), f
    check_eq("class preview", (got[t["cls"]]["type"], got[t["cls"]]["value"]), ("type", "__main__.Widget"))
    check_eq("module preview", (got[t["mod"]]["type"], got[t["mod"]]["value"]), ("module", "math"))
    check_eq("bool/None previews", [got[a]["value"] for a in t["bools"]], ["True", "False", "None"])


def test_dump_values_off(ctx):
    t = run_traced(ctx, WORKLOAD.replace("VALUES", "False"))
    dump = ctx.tmp + "/vals.dump"
    rows = sql(ctx, dump, "SELECT count(*) AS n FROM objects WHERE value IS NOT NULL AND synthetic = 0")
    check_eq("previews with values=False", rows[0]["n"], 0)
    got = _by_addr(ctx, dump, [a for a, _ in t["keys"]])
    check_eq("dict-key strs still dumped", len(got), len(t["keys"]))


FLOATS = r'''
import random, struct
random.seed(7)
fs = [i * 0.25 + 0.1 for i in range(2000)] + [i * 1.5 + 0.7 for i in range(2000)]
fs += [random.random() * 10 ** random.randint(-6, 17) for _ in range(6000)]
fs += [round(random.random() * 1000, random.randint(0, 12)) for _ in range(6000)]
fs += [struct.unpack("d", struct.pack("Q", random.getrandbits(64)))[0] for _ in range(2000)]
fs += [float(i) for i in range(-50, 50)] + [1e-4, 9.999e-5, 1e15, 1e15 - 1, 999999999999999.9,
       0.1, 0.30000000000000004, 123456789012345.6, 5e-324, 1e16, 1e22, 2.0 ** 60]
fs = [-f if i % 3 == 0 else f for i, f in enumerate(fs)]
pymple.dump("floats.dump", quiet=True)
emit([[id(f), repr(f)] for f in fs])
'''


def test_float_previews_are_repr(ctx):
    """Every float's preview is repr(x), through the fast path for short decimals
    and CPython's dtoa for the rest (random bit patterns, exponents, extremes)."""
    t = run_traced(ctx, FLOATS)
    got = {r["address"]: r["value"] for r in
           sql(ctx, ctx.tmp + "/floats.dump", "SELECT address, value FROM objects WHERE type = 'float'")}
    bad = [(r, got.get(a)) for a, r in t if got.get(a) != r]
    check_eq("float previews different from repr", bad[:10], [])
