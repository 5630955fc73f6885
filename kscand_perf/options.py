"""Options of the report, parsed once (in trace_begin for perf, or by a command).

:func:`set_argparser` adds the report's options to a parser (the perf script's
own, or ``kscand-perf report``'s), :func:`from_args` checks them and returns
:class:`Options`; :func:`parse` does both for an argument list. Bad values
raise :class:`~kscand_perf.errors.UsageError`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from typing import List, Optional, Pattern, Sequence, Tuple

from .analysis import AnalyzerConfig
from .argparsing import Parser
from .errors import UsageError
from .report import Selection

UNITS = {"ns": 1, "us": 1000, "ms": 1000000}
DEFAULT_PLOT_INTERVAL_NS = 1000000000
MIN_INTERVAL = 0.001  # seconds
MAX_INTERVAL = 7 * 86400.0  # seconds: a week; a longer row would only be the whole trace

EPILOG = """\
examples:
  perf script -s kscand_report.py                     # report on ./perf.data
  perf script -s kscand_report.py -i rec.data -- --ms # durations in ms
  perf script -s kscand_report.py -- --json           # machine-readable report
  perf script -s kscand_report.py -- --csv out/       # one CSV file per table
  perf script -s kscand_report.py -- --comm '^java' --top 5
  perf script -s kscand_report.py -- --time 120.5,180 # events at 120.5 <= t < 180 s
  perf script -s kscand_report.py -- --time +0,+5     # the recording's first 5 s
  perf script -s kscand_report.py -- --interval 5     # a row per 5 s of trace time
  perf record -o - ... | perf script -s kscand_report.py -i - -- --interval 1
                                                      # live: a row each second
  perf script -s kscand_report.py -- --plot plots/    # PNG and SVG plots (matplotlib)
"""


@dataclasses.dataclass(frozen=True)
class Options:
    """The report's options, parsed once (kscand_perf.options.parse)."""
    json: bool = False
    csv_dir: Optional[str] = None
    unit: str = "us"
    top: int = 20
    per_mm_histograms: bool = False
    linear: Optional[int] = None  # width in `unit`
    pids: Optional[Tuple[int, ...]] = None
    comm: Optional[Pattern[str]] = None
    mms: Optional[Tuple[int, ...]] = None
    node: Optional[int] = None
    # --time: (start, end) seconds, perf timestamps or (relative[i]) seconds from the
    # recording's first event; end inf: to the end
    time_window: Optional[Tuple[float, float]] = None
    time_relative: Tuple[bool, bool] = (False, False)
    time_text: Optional[str] = None  # --time as given
    vmstat: Optional[Tuple[str, str]] = None
    interval: Optional[float] = None  # seconds of trace time per row (--interval)
    plot_dir: Optional[str] = None
    strict: bool = False  # exit 2 on what a test pipeline should stop on (strict.py)

    @property
    def unit_ns(self) -> int:
        return UNITS[self.unit]

    @property
    def interval_ns(self) -> Optional[int]:
        """The interval in ns: --interval's, else 1 s with --plot, else None."""
        if self.interval is not None:
            return max(1, int(round(self.interval * 1e9)))
        return DEFAULT_PLOT_INTERVAL_NS if self.plot_dir is not None else None

    def analyzer_config(self) -> AnalyzerConfig:
        window = None
        if self.time_window is not None:
            lo, hi = self.time_window
            window = (int(round(lo * 1e9)), int(round(hi * 1e9)) if hi != float("inf") else 1 << 63)
        return AnalyzerConfig(
            unit_ns=self.unit_ns,
            linear_width_ns=self.linear * self.unit_ns if self.linear else None,
            time_window_ns=window,
            time_relative=self.time_relative,
            node=self.node)

    def filter_args(self) -> List[str]:
        """The filter options as given (for the report's header and its ``selection``)."""
        out: List[str] = []
        if self.time_text is not None:
            out += ["--time", self.time_text]
        if self.pids is not None:
            out += ["--pid", ",".join(str(p) for p in self.pids)]
        if self.comm is not None:
            out += ["--comm", self.comm.pattern]
        if self.mms is not None:
            out += ["--mm", ",".join("0x%x" % m for m in self.mms)]
        if self.node is not None:
            out += ["--node", str(self.node)]
        return out

    def selection(self) -> Selection:
        return Selection(pids=self.pids, comm=self.comm, mms=self.mms,
                         args=tuple(self.filter_args()))


def _int_list(text: str, base: int, what: str) -> Tuple[int, ...]:
    try:
        values = tuple(int(part, base) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError("%s: not a list of %s: %r" % (
            what, "numbers" if base == 10 else "addresses", text)) from None
    if not values:
        raise UsageError("%s: empty list" % what)
    return values


def _window(text: str) -> Tuple[Tuple[float, float], Tuple[bool, bool]]:
    """--time START,END: ((start, end), (start relative, end relative)). A leading '+'
    makes a time relative to the recording's first event; an empty side is open."""
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError("--time: expected START,END in seconds, got %r" % text)
    values = []
    relative = []
    for part, empty in zip(parts, (0.0, float("inf"))):
        part = part.strip()
        rel = part.startswith("+")
        if rel:
            part = part[1:].strip()
            if not part:
                raise UsageError("--time: '+' needs a number of seconds, got %r" % text)
        try:
            values.append(float(part) if part else empty)
        except ValueError:
            raise UsageError("--time: expected START,END in seconds, got %r" % text) from None
        relative.append(rel)
    lo, hi = values
    if not math.isfinite(lo) or not (math.isfinite(hi) or hi == float("inf")):
        raise UsageError("--time: START and END must be finite numbers of seconds, got %r"
                         % text)
    if lo < 0 or hi < 0:
        raise UsageError("--time: START and END must be >= 0, got %r" % text)
    if relative[0] == relative[1] and hi < lo:
        raise UsageError("--time: END must be >= START, got %r" % text)
    return (lo, hi), (relative[0], relative[1])


DESCRIPTION = ("Report on kscand's scans and migrations from a perf recording\n"
               "of the kmem_mm_* and kmem_scan_mm_* tracepoints.")


def parser(prog: str = "kscand_report.py") -> argparse.ArgumentParser:
    """The perf script's parser: the report's options and nothing else."""
    p = Parser(prog=prog, description=DESCRIPTION, epilog=EPILOG)
    set_argparser(p)
    return p


def set_argparser(p: argparse.ArgumentParser) -> None:
    """Add the report's options to ``p``."""
    out = p.add_argument_group("output")
    fmt = out.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON")
    fmt.add_argument("--csv", metavar="DIR", dest="csv_dir",
                     help="write one CSV file per table into DIR (created if missing)")
    units = out.add_mutually_exclusive_group()
    for unit in UNITS:
        units.add_argument("--" + unit, dest="unit", action="store_const", const=unit,
                           help="durations in %s%s" % (unit, " (default)" if unit == "us" else ""))
    out.add_argument("--top", type=int, default=20, metavar="N",
                     help="rows of the per-process table (default 20; 0 for all)")
    out.add_argument("--per-mm", action="store_true", dest="per_mm_histograms",
                     help="also print a duration histogram for each process in the table")
    out.add_argument("--linear", type=int, metavar="WIDTH",
                     help="also print linear duration buckets WIDTH units wide")
    over = p.add_argument_group("over time")
    over.add_argument("--interval", type=float, metavar="SECONDS",
                      help="also a row per SECONDS of trace time, 0.001 to 604800 (text: "
                      "printed as each interval closes), per-mm timelines and time to "
                      "promotion")
    over.add_argument("--plot", metavar="DIR", dest="plot_dir",
                      help="write PNG and SVG plots into DIR (needs matplotlib; intervals "
                      "of --interval, else 1 s)")
    flt = p.add_argument_group("filters")
    flt.add_argument("--pid", metavar="PID[,PID...]",
                     help="only mms owned by these pids (owners come from the whole "
                     "recording, whatever --time keeps)")
    flt.add_argument("--comm", metavar="REGEX", help="only mms whose owner's comm matches")
    flt.add_argument("--mm", metavar="ADDR[,ADDR...]", help="only these mm pointers (hex)")
    flt.add_argument("--node", type=int, metavar="NODE",
                     help="only scans that ended targeting NODE and migrations to NODE "
                     "(not-due visits target no node: all are kept)")
    flt.add_argument("--time", metavar="START,END",
                     help="only events at START <= t < END: perf timestamps in seconds "
                     "(as perf script prints them), or with a leading + seconds from the "
                     "recording's first event (+0,+5: its first 5 s; the interval table "
                     "counts from the first kscand event kept); either side may be empty")
    chk = p.add_argument_group("kernel counters")
    chk.add_argument("--vmstat", nargs=2, metavar=("BEFORE", "AFTER"),
                     help="compare with /proc/vmstat snapshots taken around the recording")
    chk.add_argument("--strict", action="store_true",
                     help="exit 2 after the report when the counters disagree with the trace, "
                     "perf lost events, or the report found sequence breaks, duplicate "
                     "samples or events it could not use (one line each on stderr)")


def parse(argv: Sequence[str], prog: str = "kscand_report.py") -> Options:
    """Parse ``argv`` (without the program name). Raises UsageError on bad input."""
    return from_args(parser(prog).parse_args(list(argv)))


def from_args(ns: argparse.Namespace) -> Options:
    """The Options of arguments parsed by a parser that :func:`set_argparser` set up."""
    if ns.top < 0:
        raise UsageError("--top: must be >= 0, got %d" % ns.top)
    if ns.linear is not None and ns.linear <= 0:
        raise UsageError("--linear: width must be > 0, got %d" % ns.linear)
    comm = None
    if ns.comm is not None:
        try:
            comm = re.compile(ns.comm)
        except re.error as e:
            raise UsageError("--comm: bad regular expression %r: %s" % (ns.comm, e)) from None
    interval = getattr(ns, "interval", None)
    if interval is not None and not (math.isfinite(interval)
                                     and MIN_INTERVAL <= interval <= MAX_INTERVAL):
        raise UsageError("--interval: must be a number of seconds from %g to %g (a week), "
                         "got %r" % (MIN_INTERVAL, MAX_INTERVAL, interval))
    window = _window(ns.time) if ns.time is not None else None
    mms = None
    if ns.mm is not None:
        mms = _int_list(ns.mm.replace("0x", "").replace("0X", ""), 16, "--mm")
    return Options(
        json=ns.json, csv_dir=ns.csv_dir, unit=ns.unit or "us", top=ns.top,
        per_mm_histograms=ns.per_mm_histograms, linear=ns.linear,
        pids=_int_list(ns.pid, 10, "--pid") if ns.pid is not None else None,
        comm=comm, mms=mms, node=ns.node,
        time_window=window[0] if window is not None else None,
        time_relative=window[1] if window is not None else (False, False),
        time_text=ns.time,
        vmstat=tuple(ns.vmstat) if ns.vmstat else None,  # type: ignore[arg-type]
        interval=interval, plot_dir=getattr(ns, "plot_dir", None),
        strict=bool(getattr(ns, "strict", False)))


def usage(prog: str = "kscand_report.py") -> str:
    return parser(prog).format_help()


__all__: List[str] = ["Options", "parse", "parser", "set_argparser", "from_args", "usage",
                      "UNITS"]
