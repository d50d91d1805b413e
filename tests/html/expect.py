"""expect.py — what the rendered page of a leaks document must show, worked out from the
document alone (not from the page): one string per line, HTML-escaped the way a browser
serializes text (& < > as entities), so `grep -F` can look for it in chromium's --dump-dom.

usage: python3 expect.py DOCUMENT.json texts    the suspects' types and their path steps' names
       python3 expect.py DOCUMENT.json node I.J  the label of the tree node at child indices I.J
       python3 expect.py PAGE.html hashes       CSP sources of the page's inline style and script"""
import base64
import hashlib
import html
import json
import re
import sys


def esc(s):
    return html.escape(s, quote=False).replace("\u00a0", "&nbsp;")


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "hashes":
        page = open(path, encoding="utf-8").read()
        for tag in ("style", "script"):
            # the inline block is the one without attributes
            m = re.search("<%s>(.*?)</%s>" % (tag, tag), page, re.S)
            digest = hashlib.sha256(m.group(1).encode("utf-8")).digest()
            print("%s-src 'sha256-%s'" % (tag, base64.b64encode(digest).decode()))
        return
    doc = json.load(open(path, encoding="utf-8"))
    if what == "texts":
        seen = set()
        for s in doc["suspects"]:
            for t in [s["type"]] + [st["name"] for st in s["path"]]:
                if t not in seen:
                    seen.add(t)
                    print(esc(t))
    elif what == "node":
        # the node a #tree=I.J... link names: child indices from the root, each to a node
        # with children
        node = doc["tree"]
        for k in sys.argv[3].split("."):
            node = node["children"][int(k)]
            assert node["children"], "the link names a node without children"
        print(esc(node["label"]))


main()
