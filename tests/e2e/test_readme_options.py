"""The README is true line by line (issue 10): every option its command
table lists for a command is accepted by that command, and -q/-v work
before and after the command. An option is "accepted" when the command
does not answer with a usage error about it (it may still fail later on
the made-up input)."""
import os
import re
import subprocess

from dumper_util import check_eq


def _table_rows(root):
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        text = f.read()
    sec = text[text.index("## pymple-analyze"):].splitlines()
    start = next(i for i, l in enumerate(sec) if l.startswith("| `"))
    rows = []
    for l in sec[start:]:  # the command table: up to its first non-row line
        if not l.startswith("| `"):
            break
        rows.append(l)
    assert len(rows) >= 10, rows
    return rows


def _options(cell):
    """(command, [(option, value or None)]) from a table cell such as
    `path DUMP ADDRESS\\|--type T [--weak] [--format F]`, `check DUMP`, `inspect DUMP [--limit N]`."""
    out = []
    for synopsis in re.findall(r"`([^`]*)`", cell):
        cmd = synopsis.split()[0]
        opts = []
        for m in re.finditer(r"(--?[a-z][a-z-]*)(?: ([A-Z][A-Z0-9]*|size\\\|count))?", synopsis):
            opt, val = m.group(1), m.group(2)
            if opt in ("-", "--"):
                continue
            for o in opt.split("\\|"):
                v = None if val is None else "size" if "size" in val else "table" if val == "F" else "3"
                opts.append((o, v))
        out.append((cmd, opts))
    return out


def _usage_error_about(ctx, cmd, opt, val):
    args = [ctx.analyzer, cmd, opt] + ([val] if val else []) + ["/nonexistent/x.dump"]
    if cmd in ("diff", "growth"):
        args.append("/nonexistent/y.dump")
    if cmd == "path" and opt != "--type":
        args.append("0x10")
    if cmd == "referrers":
        args.append("0x10")
    if cmd == "sql":
        args.append("SELECT 1")
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return "unknown option" in p.stderr or "requires a value" in p.stderr, p.stderr


def test_every_readme_option_is_accepted(ctx):
    checked = 0
    for row in _table_rows(ctx.root):
        first = re.split(r"(?<!\\)\|", row)[1]
        for cmd, opts in _options(first):
            for opt, val in opts:
                bad, err = _usage_error_about(ctx, cmd, opt, val)
                assert not bad, "README lists %s %s but the command refuses it: %s" % (cmd, opt, err)
                checked += 1
    assert checked >= 25, checked


def test_quiet_verbose_after_the_command(ctx):
    for args in (["-v", "check"], ["check", "-v"], ["check", "-q"], ["--quiet", "check"]):
        p = subprocess.run([ctx.analyzer] + args + ["/nonexistent/x.dump"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        check_eq("%s: no usage error" % args, "unknown option" in p.stderr, False)
        assert "x.dump" in p.stderr, p.stderr
