"""registry_leak.py — a sample program that leaks the way caches leak: a request
handler keeps every Session in a module-level registry and never evicts one.
Each round serves a fixed number of requests; with --dump-dir it dumps after
every round. Needs pymple only when --dump-dir is given.

    python3 samples/registry_leak.py [--rounds N] [--requests N] [--dump-dir DIR]

What leaks, exactly: every round opens --requests new sessions (one per new
user) and logs them all out again, but logout only marks a session closed, so
after round k the registry holds exactly k * requests Session objects, each
with its own cart (a list of CartItem) and its own headers dict. The dumps are
DIR/round-1.dump, DIR/round-2.dump, ...; their paths are printed on stdout.
"""
import random
import sys
import time

# The registry: session id -> Session. The leak is that nothing ever removes
# an entry; end_session() only flags the session as closed.
SESSIONS = {}

PRODUCTS = ["book", "lamp", "kettle", "chair", "desk", "pen", "mug", "plant"]


class CartItem:
    def __init__(self, product, quantity, price):
        self.product = product
        self.quantity = quantity
        self.price = price


class Session:
    def __init__(self, session_id, user, remote_addr):
        self.session_id = session_id
        self.user = user
        self.remote_addr = remote_addr
        self.created = time.time()
        self.closed = False
        self.cart = []
        self.headers = {"User-Agent": "demo-client/1.0", "X-Request-Id": session_id}

    def add_to_cart(self, product, quantity, price):
        self.cart.append(CartItem(product, quantity, price))


def open_session(user, remote_addr):
    session_id = "s%08d" % len(SESSIONS)
    session = Session(session_id, user, remote_addr)
    SESSIONS[session_id] = session
    return session


def end_session(session):
    # The bug: the session should be removed from SESSIONS here.
    session.closed = True


def handle_request(rng, user):
    """Serves one user's visit: log in, shop a little, log out."""
    session = open_session(user, "10.0.%d.%d" % (rng.randrange(256), rng.randrange(256)))
    for _ in range(rng.randrange(1, 4)):
        session.add_to_cart(rng.choice(PRODUCTS), rng.randrange(1, 5), rng.randrange(100, 5000) / 100)
    end_session(session)


def parse_args(argv):
    """--rounds N, --requests N, --dump-dir DIR. Hand-rolled rather than
    argparse so the dumped heap stays small (argparse imports re, gettext...)."""
    opts = {"--rounds": 3, "--requests": 200, "--dump-dir": None}
    args = list(argv)
    while args:
        name = args.pop(0)
        if name not in opts or not args:
            sys.exit("usage: registry_leak.py [--rounds N] [--requests N] [--dump-dir DIR]")
        value = args.pop(0)
        opts[name] = value if name == "--dump-dir" else int(value)
    return opts["--rounds"], opts["--requests"], opts["--dump-dir"]


def main(argv):
    rounds, requests, dump_dir = parse_args(argv)
    if dump_dir is not None:
        import pymple  # only needed to dump
    rng = random.Random(42)
    for round_no in range(1, rounds + 1):
        for n in range(requests):
            handle_request(rng, "user%d-%d" % (round_no, n))
        open_now = sum(1 for s in SESSIONS.values() if not s.closed)
        print("round %d: %d sessions in the registry, %d of them open"
              % (round_no, len(SESSIONS), open_now), file=sys.stderr)
        if dump_dir is not None:
            print(pymple.dump("%s/round-%d.dump" % (dump_dir, round_no)))


if __name__ == "__main__":
    main(sys.argv[1:])
