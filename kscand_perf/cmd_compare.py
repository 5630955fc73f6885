"""``kscand-perf compare A.json B.json``: two runs side by side (knobs A/B, kscand on/off)."""

from __future__ import annotations

import argparse
import json
import sys

from .compare import CompareError, check, compare
from .errors import UsageError, write_stdout
from .render import compare as render

DESCRIPTION = ("Compare the headline figures of two reports written with --json (two "
               "recordings: kscand knobs A and B, kscand on and off, two kernels).")
EPILOG = """\
examples:
  perf script -s kscand_report.py -i a.data -- --json > a.json
  perf script -s kscand_report.py -i b.data -- --json > b.json
  kscand-perf compare a.json b.json
  kscand-perf compare --json a.json b.json
"""


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A.json", help="the first report (the baseline)")
    p.add_argument("b", metavar="B.json", help="the second report")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def load_json(path: str) -> object:
    """The JSON document in ``path`` (``-``: stdin); UsageError in one line otherwise."""
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e.strerror or e)) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError("%s: not JSON (%s)" % (path, e)) from None


def main(args: argparse.Namespace) -> int:
    try:
        a = check(load_json(args.a), args.a)
        b = check(load_json(args.b), args.b)
    except CompareError as e:
        raise UsageError(str(e)) from None
    c = compare(a, b, args.a, args.b)
    out = render.json_text(c) if args.json else render.text(c)
    return write_stdout([out], "the comparison")
