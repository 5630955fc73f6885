"""``kscand-perf report``: the report of perf-scripts/kscand_report.py, without perf.

Reads the recording with :mod:`kscand_perf.perfreader` and feeds the analyzer as the
perf script's handlers do (:mod:`kscand_perf.feed`), so the output is the same. A
damaged or truncated recording gives the report of what was read before the damage,
one line on stderr saying where and why reading stopped, and exit status 1; a recording
without kscand events (or a file that is none) gives only one line and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO, List

from . import feed, interpreter, options, perfmodule, strict
from .errors import CommandError, UsageError, one_line, stdin_is_fifo, write_stdout
from .session import Session


DESCRIPTION = """\
Report on kscand's scans and migrations from a perf recording of the kmem_mm_* and
kmem_scan_mm_* tracepoints: the report of `perf script -s kscand_report.py`, read by
kscand-perf itself (no perf needed, any perf.data or pipe stream of perf record)."""

EPILOG = """\
examples:
  kscand-perf report                          # report on ./perf.data
  kscand-perf report rec.data --ms            # durations in ms (or -i rec.data)
  kscand-perf report --json                   # machine-readable report
  kscand-perf report --csv out/               # one CSV file per table
  perf record -o - -a -e 'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*' \\
      -e sched:sched_process_fork -e sched:sched_process_exec \\
      -e sched:sched_process_exit | kscand-perf report -i -
                                              # straight from perf record's pipe

A damaged or truncated recording: the report of what was read, a warning saying at
which byte and why reading stopped, exit status 1. A recording without kscand events, or
a file that is no recording: one line saying so, no report, exit status 1."""


def set_argparser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--input", metavar="FILE|-", default=None,
                        help="the recording (default perf.data; - reads a pipe stream "
                        "of perf record -o - from stdin)")
    parser.add_argument("recording", nargs="?", metavar="FILE",
                        help="the recording, as -i FILE")
    parser.add_argument("--via", choices=("reader", "perf-module", "auto"), default="reader",
                        help="read with kscand-perf's own perf.data reader (default), with "
                        "perf's Python module (its session API, perf 7.3 and later), or "
                        "auto: the module where it is, else the reader")
    options.set_argparser(parser)
    parser.set_defaults(report_prog=parser.prog)


def _open(path: str, named: bool = True) -> BinaryIO:
    """``path`` to read (``-``: standard input); ``named``: the user named it (else it is
    the default, perf.data)."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        # `perf record -o - | kscand-perf report`: perf script would read the pipe; this
        # command reads it with -i - (as documented), and says so where it was left out
        hint = "" if named or not stdin_is_fifo() else \
            " (standard input is a pipe: -i - reads it)"
        raise UsageError("cannot read %s: %s%s" % (path, e.strerror or e, hint)) from None


def input_of(args: argparse.Namespace) -> str:
    """The recording named by -i or by the argument (perf.data when neither)."""
    if args.recording is not None and args.input is not None \
            and args.recording != args.input:
        raise UsageError("two recordings given (-i %s and %s): report on one at a time, "
                         "or merge reports with kscand-perf merge"
                         % (args.input, args.recording))
    return args.recording or args.input or "perf.data"


def main(args: argparse.Namespace) -> int:
    named = bool(args.recording or args.input)
    args.input = input_of(args)
    # UsageError on bad options, --vmstat files, --plot without matplotlib
    session = Session(options.from_args(args), live=sys.stdout)
    session.input = args.input
    perf = perfmodule.session_api() if args.via != "reader" else None
    if args.via == "perf-module":
        if perf is None:
            raise UsageError(interpreter.missing(
                "--via perf-module", "perf", "perf's Python module with its session API "
                "(perf 7.3 and later)"))
        if not perfmodule.readable(args.input):
            raise UsageError("--via perf-module: %s is not a perf.data file: perf's module "
                             "reads no pipe streams (perf 7.3 skips their tracing data); "
                             "use --via reader" % args.input)
    elif perf is not None and not perfmodule.readable(args.input):
        perf = None  # auto: a pipe stream goes to our reader
    if perf is not None:
        try:
            perfmodule.feed(session, args.input, perf)
        except Exception as e:  # perf's own errors (a file it cannot read)
            raise CommandError("perf's module could not read %s: %s"
                               % (args.input, one_line(e))) from None
        write_stdout(session.output())
        return strict_status(session, args, 0)
    source = _open(args.input, named)
    try:
        reader, problem = feed.feed(session, source)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if problem is not None and problem.fatal:  # nothing to report: no zero tables
        raise CommandError("%s: %s" % (args.input, problem.reason))
    damage: List[str] = []
    if problem is not None:
        damage.append("reading stopped at byte %d: %s" % (problem.offset, problem.reason))
    damage += ["at byte %d: %s" % (w.offset, w.reason) for w in reader.warnings]
    if damage:
        session.damage = "; ".join(damage)
        session.note("the recording is damaged: %s; this report covers what was read"
                     % "; ".join(damage))
    write_stdout(session.output())  # CommandError when --csv cannot write
    if damage:
        sys.stderr.write("%s: warning: %s: %s\n" % (args_prog(args), args.input,
                                                    "; ".join(damage)))
        return strict_status(session, args, 1)
    return strict_status(session, args, 0)


def strict_status(session: Session, args: argparse.Namespace, status: int) -> int:
    """``status``, or with --strict 2 (when it is 0) after one line on stderr for each
    thing found that a test pipeline should stop on."""
    found = session.strict_failures()
    for line in found:
        sys.stderr.write("%s: strict: %s\n" % (args_prog(args), line))
    return strict.EXIT_STRICT if found and status == 0 else status


def args_prog(args: argparse.Namespace) -> str:
    return str(getattr(args, "report_prog", None) or "kscand-perf report")
