"""callback_leak.py — a sample program that leaks the way GUI code leaks (the
Tkinter menu leak): windows register bound methods on a global event bus and
never unregister, so every closed window stays alive through its callbacks.
Needs pymple only when --dump-dir is given.

    python3 samples/callback_leak.py [--rounds N] [--windows N] [--fixed] [--dump-dir DIR]

What leaks, exactly: every round opens --windows Window objects and closes
them all. Each Window subscribes two bound methods to BUS; close() forgets to
unsubscribe, so after round k exactly k * windows Window objects are alive,
each with its three widgets (Widget.parent -> Window: a reference cycle) and
its 4 KiB back buffer. With --fixed, close() unsubscribes: closed windows are
then unreachable cycles that the collector frees (a dump taken before that
shows them as unreachable garbage, none reachable). Dumps: DIR/round-1.dump,
DIR/round-2.dump, ... (their paths are printed on stdout).
"""
import sys

THEMES = ["light", "dark", "solarized"]


class EventBus:
    """Calls every subscribed callback when an event is published."""

    def __init__(self):
        self.handlers = {}  # event name -> list of callables

    def subscribe(self, event, callback):
        self.handlers.setdefault(event, []).append(callback)

    def unsubscribe(self, event, callback):
        self.handlers[event].remove(callback)

    def publish(self, event, *args):
        for callback in list(self.handlers.get(event, ())):
            callback(*args)


BUS = EventBus()


class Widget:
    def __init__(self, parent, kind, text):
        self.parent = parent  # back reference: Window <-> Widget is a cycle
        self.kind = kind
        self.text = text
        self.options = {"padding": 4, "font": ("Sans", 10)}


class Window:
    def __init__(self, title, fixed=False):
        self.title = title
        self.fixed = fixed
        self.theme = THEMES[0]
        self.back_buffer = bytes(4096)
        self.widgets = [Widget(self, "label", title),
                        Widget(self, "button", "OK"),
                        Widget(self, "button", "Cancel")]
        BUS.subscribe("theme-changed", self.on_theme_changed)
        BUS.subscribe("document-saved", self.on_document_saved)

    def on_theme_changed(self, theme):
        self.theme = theme

    def on_document_saved(self, name):
        self.widgets[0].text = "%s (saved %s)" % (self.title, name)

    def close(self):
        for widget in self.widgets:
            widget.visible = False
        # The bug: the window never lets go of BUS, so BUS keeps it alive.
        if self.fixed:
            BUS.unsubscribe("theme-changed", self.on_theme_changed)
            BUS.unsubscribe("document-saved", self.on_document_saved)


def run_round(round_no, count, fixed):
    """Opens count windows, lets the application talk to them, closes them."""
    windows = [Window("Document %d.%d" % (round_no, n), fixed) for n in range(count)]
    BUS.publish("theme-changed", THEMES[round_no % len(THEMES)])
    BUS.publish("document-saved", "report.txt")
    for window in windows:
        window.close()


def parse_args(argv):
    """Hand-rolled rather than argparse so the dumped heap stays small."""
    usage = "usage: callback_leak.py [--rounds N] [--windows N] [--fixed] [--dump-dir DIR]"
    opts = {"--rounds": 3, "--windows": 50, "--fixed": False, "--dump-dir": None}
    args = list(argv)
    while args:
        name = args.pop(0)
        if name == "--fixed":
            opts[name] = True
            continue
        if name not in opts or not args:
            sys.exit(usage)
        value = args.pop(0)
        opts[name] = value if name == "--dump-dir" else int(value)
    return opts


def main(argv):
    opts = parse_args(argv)
    dump_dir = opts["--dump-dir"]
    if dump_dir is not None:
        import pymple  # only needed to dump
    for round_no in range(1, opts["--rounds"] + 1):
        run_round(round_no, opts["--windows"], opts["--fixed"])
        print("round %d: %d theme callbacks still subscribed"
              % (round_no, len(BUS.handlers.get("theme-changed", ()))), file=sys.stderr)
        if dump_dir is not None:
            print(pymple.dump("%s/round-%d.dump" % (dump_dir, round_no)))


if __name__ == "__main__":
    main(sys.argv[1:])
