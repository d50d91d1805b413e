"""cdp.py — drives headless chromium over the DevTools protocol (--remote-debugging-pipe, stdlib
only) for what its command-line switches cannot do: render in print media, and click.

usage: python3 cdp.py page PAGE.html OUT.png       the whole page on a screen 1366 px wide
       python3 cdp.py print PAGE.html OUT.png      the whole page under @media print, 1000 px wide
       python3 cdp.py click PAGE.html              clicks the treemap's largest box, checks that
                                                   the breadcrumb now ends at that box's label, then
                                                   clicks the breadcrumb's first entry and checks
                                                   it is back at the heap; exit 0 or 1 with FAIL
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile


class Chrome:
    def __init__(self, width, height):
        self.profile = tempfile.mkdtemp(prefix="pymple-cdp-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # the protocol's pipe: chromium reads fd 3, writes fd 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "--window-size=%d,%d" % (width, height), "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4, to_child_r, from_child_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise SystemExit("FAIL: cdp: chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise SystemExit("FAIL: cdp: %s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait(self, method):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    del self.events[i]
                    return m
            self.events.append(self._read())

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise SystemExit("FAIL: cdp: %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def open(self, path):
        self.call("Page.enable")
        self.call("Page.navigate", url="file://" + os.path.abspath(path))
        self.wait("Page.loadEventFired")

    def click(self, x, y):
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def close(self):
        try:
            self.call("Browser.close")
        except SystemExit:
            pass
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def whole_page(page, out, media):
    width = 1000 if media == "print" else 1366
    c = Chrome(width, 768)
    c.call("Emulation.setEmulatedMedia", media=media)
    c.open(page)
    if c.js("matchMedia('%s').matches" % media) is not True:
        raise SystemExit("FAIL: cdp: %s media not in effect" % media)
    height = c.js("Math.ceil(document.documentElement.scrollHeight)")
    c.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
           deviceScaleFactor=1, mobile=False)
    shot = c.call("Page.captureScreenshot", format="png")
    with open(out, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    c.close()


def click_test(page):
    c = Chrome(1366, 768)
    c.open(page)
    fails = []
    # the largest box one can look inside: its label, and its centre once scrolled into view
    box = c.js("""(function () {
        var g = document.querySelector('svg.treemap g.cell:not(.leaf)');
        if (!g) return null;
        g.scrollIntoView({block: 'center'});
        var r = g.querySelector('rect.box').getBoundingClientRect();
        return {label: g.getAttribute('aria-label'), x: r.x + 20, y: r.y + 8};
    })()""")
    if not box:
        raise SystemExit("FAIL: cdp: no treemap box to click")
    c.click(box["x"], box["y"])
    here = c.js("document.querySelector('.crumbs .here').textContent")
    want = box["label"][len("look inside "):].rsplit(", ", 1)[0]
    if not here.startswith(want + " "):
        fails.append("after a click the breadcrumb ends at %r, not at %r" % (here, want))
    if c.js("location.hash") != "#tree=0":
        fails.append("after a click the address is %r, not #tree=0" % c.js("location.hash"))
    crumb = c.js("""(function () {
        var b = document.querySelector('.crumbs button');
        if (!b) return null;
        var r = b.getBoundingClientRect();
        return {x: r.x + r.width / 2, y: r.y + r.height / 2};
    })()""")
    if not crumb:
        fails.append("after a click the breadcrumb has no way back up")
    else:
        c.click(crumb["x"], crumb["y"])
        here = c.js("document.querySelector('.crumbs .here').textContent")
        if not here.startswith("heap "):
            fails.append("the breadcrumb's first entry led to %r, not to the heap" % here)
    c.close()
    for f in fails:
        print("FAIL: html: click: " + f)
    return 1 if fails else 0


def main():
    if sys.argv[1] in ("page", "print"):
        whole_page(sys.argv[2], sys.argv[3], "screen" if sys.argv[1] == "page" else "print")
        return 0
    return click_test(sys.argv[2])


sys.exit(main())
