"""``kscand-perf merge R1.json R2.json ...``: reports of many machines or recordings as one."""

from __future__ import annotations

import argparse

from . import __version__
from .cmd_compare import load_json
from .errors import UsageError, write_stdout
from .merge import MergeError, merge
from .render import merge as render

DESCRIPTION = ("Merge reports written with --json (many machines, many recordings, or the "
               "parts of one recording) into one report in the same schema: counts add, "
               "min and max combine, percentiles come from the merged histogram buckets.")
EPILOG = """\
examples:
  perf script -s kscand_report.py -i host1.data -- --json > host1.json
  perf script -s kscand_report.py -i host2.data -- --json > host2.json
  kscand-perf merge host1.json host2.json             # the merged report as text
  kscand-perf merge --json host*.json > all.json      # ... as a report (merge it again,
                                                      # compare it with another)

Parts of one recording (reported with disjoint --time windows) merge in any order.
A scan that spans two parts is a not-due visit in one and an end without a start in
the other (docs/report.md). Reports of the same recording whose events overlap in time,
or of one machine at overlapping times, are refused: they would count events twice."""


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("reports", metavar="REPORT.json", nargs="+",
                   help="reports written with --json (- reads one from standard input)")
    p.add_argument("--json", action="store_true",
                   help="print the merged report as JSON (the report's schema)")
    p.add_argument("--allow-overlap", action="store_true",
                   help="merge reports of the same recording, or of one machine, whose "
                   "events overlap in time (they count twice; a note says so)")
    units = p.add_mutually_exclusive_group()
    for flag, ns in (("--ns", 1), ("--us", 1000), ("--ms", 1000000)):
        units.add_argument(flag, dest="unit_ns", action="store_const", const=ns,
                           help="durations in %s%s" % (flag[2:], " (default)"
                                                       if ns == 1000 else ""))
    p.set_defaults(unit_ns=1000)


def main(args: argparse.Namespace) -> int:
    try:
        doc = merge([(path, load_json(path)) for path in args.reports], __version__,
                    allow_overlap=args.allow_overlap)
    except MergeError as e:
        raise UsageError(str(e)) from None
    out = render.json_text(doc) if args.json else render.text(doc, args.unit_ns)
    return write_stdout([out], "the merged report")
