"""The kernel's own nr_kscand_* counters, compared with what the trace holds.

kscand keeps counters in /proc/vmstat (RFC V3 13/17). Over the same interval
their deltas must equal counts of trace events when no event was lost or
duplicated:

================================  ==========================================
counter                           trace figure
================================  ==========================================
nr_kscand_mm_scans                kmem_scan_mm_end events (completed scans
                                  plus ends whose start came before the trace)
nr_kscand_migrated                kmem_scan_mm_migrate events with rc == 0
nr_kscand_migrate_failed          kmem_scan_mm_migrate events with rc != 0
nr_kscand_migadded                all kmem_scan_mm_migrate events
================================  ==========================================

The other nr_kscand_* counters (vma_scans, slowtier, hotpage, ...) have no
event to compare with: they are listed with their delta only.

Snapshots are /proc/vmstat text: the whole file, or only its nr_kscand_*
lines (what ``kscand-record`` writes), with ``#`` comments and blank lines
allowed. A counter absent from a snapshot (an older kscand, or a kernel
without kscand) is reported as missing, not as an error.

Filters: the kernel counts every event, so the comparison needs the figures
of the whole trace.

* ``--pid``/``--comm``/``--mm`` choose which mm lifetimes the report shows;
  the analyzer still saw every event, so the comparison uses the figures of
  all mm lifetimes, not of the selection (and says so).
* ``--time`` and ``--node`` drop events before they are counted, so the whole
  trace's figures do not exist: the counters are listed with their deltas and
  no comparison is made (and the report says why).

Nothing here prints; :func:`text`, :func:`to_json` and :func:`csv_rows` are
the renderers of :class:`KernelCounters`.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from typing import (TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .analysis import Analyzer, MmState
    from .report import Report

PREFIX = "nr_kscand_"

# (counter, what the trace figure counts), in the order the report lists them.
COMPARED: Tuple[Tuple[str, str], ...] = (
    ("nr_kscand_mm_scans", "scan ends"),
    ("nr_kscand_migrated", "migrate events, rc == 0"),
    ("nr_kscand_migrate_failed", "migrate events, rc != 0"),
    ("nr_kscand_migadded", "all migrate events"),
)

_LINE = re.compile(r"^([A-Za-z0-9_]+)[ \t]+(-?[0-9]+)$")


class VmstatError(ValueError):
    """A snapshot that cannot be read or is not /proc/vmstat text (one line, for the user)."""


# -- snapshots ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The nr_kscand_* counters of one /proc/vmstat snapshot, in file order."""

    path: str
    counters: Dict[str, int]


def parse(text: str, source: str = "<vmstat>") -> Dict[str, int]:
    """The nr_kscand_* counters of /proc/vmstat ``text``, in the order they appear.

    Every line that is not blank or a ``#`` comment must be ``name value`` as
    /proc/vmstat prints it (``nr_kscand_mm_scans 46``); anything else raises
    :class:`VmstatError` naming ``source`` and the line. Lines of other counters
    are checked and then ignored.
    """
    if "\0" in text:
        raise VmstatError("%s: binary data, not a /proc/vmstat snapshot" % source)
    counters: Dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            shown = line if len(line) <= 40 else line[:37] + "..."
            raise VmstatError("%s: line %d is not a /proc/vmstat line ('name value'): %r"
                              % (source, number, shown))
        name, value = m.group(1), int(m.group(2))
        if not name.startswith(PREFIX):
            continue
        if name in counters:
            raise VmstatError("%s: line %d: %s appears twice" % (source, number, name))
        counters[name] = value
    return counters


def load(path: str) -> Snapshot:
    """Read and parse one snapshot file. Raises :class:`VmstatError`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise VmstatError("cannot read %s: %s" % (path, e.strerror or e)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise VmstatError("%s: binary data, not a /proc/vmstat snapshot" % path) from None
    return Snapshot(path, parse(text, path))


def load_pair(before: str, after: str) -> Tuple[Snapshot, Snapshot]:
    """Both snapshots of ``--vmstat BEFORE AFTER``. Raises :class:`VmstatError`."""
    return load(before), load(after)


def kscand_lines(vmstat_text: str) -> List[str]:
    """The nr_kscand_* lines of /proc/vmstat text, unchanged (what kscand-record keeps)."""
    return [line for line in vmstat_text.splitlines() if line.startswith(PREFIX)]


# -- what the trace says -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TraceFigures:
    """The trace's counts to hold against the counters, and what they cover."""

    scan_ends: int
    migrate_ok: int
    migrate_failed: int
    sequence_breaks: int
    scope: str = "the whole trace"

    @property
    def migrate_all(self) -> int:
        return self.migrate_ok + self.migrate_failed

    def value(self, counter: str) -> int:
        return {
            "nr_kscand_mm_scans": self.scan_ends,
            "nr_kscand_migrated": self.migrate_ok,
            "nr_kscand_migrate_failed": self.migrate_failed,
            "nr_kscand_migadded": self.migrate_all,
        }[counter]


def figures_from_report(report: "Report") -> TraceFigures:
    """The figures of an unfiltered report."""
    m = report.migrations
    return TraceFigures(report.scans.ends, m.succeeded, m.failed, m.sequence_breaks)


def figures_from_states(states: Iterable["MmState"],
                        scope: str = "the whole trace") -> TraceFigures:
    """The figures summed over mm lifetimes (all of them, whatever the report shows)."""
    ends = ok = attempted = breaks = 0
    for st in states:
        ends += st.completed + (st.ends.orphan_ends if st.ends is not None else 0)
        if st.migs is None:
            continue
        for count_ok in st.migs.by_node.values():
            attempted += count_ok[0]
            ok += count_ok[1]
        breaks += st.migs.sequence_breaks
    return TraceFigures(ends, ok, attempted - ok, breaks, scope)


def figures_for_run(report: "Report", analyzer: "Analyzer",
                    options: Any) -> Tuple[Optional[TraceFigures], Optional[str]]:
    """The figures to compare for one report run, or None and the reason there are none.

    ``options`` is a :class:`kscand_perf.options.Options`; ``analyzer`` must have
    been finished (the report built) already.
    """
    dropping = [flag for flag, on in (("--time", options.time_window is not None),
                                      ("--node", options.node is not None)) if on]
    if dropping:
        return None, ("not compared: %s left events out of the analysis, and the kernel "
                      "counted them all; run without %s to compare"
                      % (" and ".join(dropping), " and ".join(dropping)))
    if options.selection().active():
        states = list(analyzer.retired) + list(analyzer.mms.values())
        return figures_from_states(
            states, "the whole trace (the --pid/--comm/--mm selection does not apply "
            "to this comparison)"), None
    return figures_from_report(report), None


# -- the comparison ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CounterCheck:
    """One counter: its snapshots, its delta, and the trace's figure when there is one."""

    name: str
    before: Optional[int]
    after: Optional[int]
    delta: Optional[int]
    trace: Optional[int]
    trace_meaning: Optional[str]
    agrees: Optional[bool]  # None: not compared (missing, no trace figure, filters)

    @property
    def missing(self) -> bool:
        return self.before is None or self.after is None


@dataclasses.dataclass(frozen=True)
class KernelCounters:
    counters: Tuple[CounterCheck, ...]
    causes: Tuple[str, ...]
    before_path: str = ""
    after_path: str = ""

    @property
    def all_agree(self) -> Optional[bool]:
        """True when every compared counter agrees; None when none could be compared."""
        compared = [c.agrees for c in self.counters if c.agrees is not None]
        if not compared:
            return None
        return all(compared)


def compare(before: Snapshot, after: Snapshot, figures: Optional[TraceFigures],
            not_compared: Optional[str] = None) -> KernelCounters:
    """Hold the counter deltas against ``figures`` (None: list the deltas only,
    ``not_compared`` saying why)."""
    checks: List[CounterCheck] = []
    for name, meaning in COMPARED:
        b, a = before.counters.get(name), after.counters.get(name)
        delta = None if b is None or a is None else a - b
        trace = None if figures is None else figures.value(name)
        agrees = None if delta is None or trace is None else delta == trace
        checks.append(CounterCheck(name, b, a, delta, trace, meaning, agrees))
    compared_names = {name for name, _ in COMPARED}
    others = list(after.counters) + [n for n in before.counters if n not in after.counters]
    for name in others:
        if name in compared_names:
            continue
        b, a = before.counters.get(name), after.counters.get(name)
        delta = None if b is None or a is None else a - b
        checks.append(CounterCheck(name, b, a, delta, None, None, None))
    return KernelCounters(tuple(checks), tuple(_causes(checks, figures, not_compared)),
                          before.path, after.path)


def _causes(checks: Sequence[CounterCheck], figures: Optional[TraceFigures],
            not_compared: Optional[str]) -> List[str]:
    """Plain-language lines: what could not be compared, and why counts differ."""
    out: List[str] = []
    if not any(c.before is not None or c.after is not None for c in checks):
        return ["no nr_kscand_* counters in the snapshots: this kernel has no kscand "
                "counters (or the files are not /proc/vmstat snapshots taken on a kscand "
                "kernel); nothing to compare"]
    missing = [c.name for c in checks if c.trace_meaning is not None and c.missing]
    if missing:
        out.append("missing from the snapshots (an older kscand?): %s" % ", ".join(missing))
    if not_compared:
        out.append(not_compared)
    elif figures is not None and figures.scope != "the whole trace":
        out.append("trace figures are of %s" % figures.scope)
    backwards = [c.name for c in checks if c.delta is not None and c.delta < 0]
    if backwards:
        out.append("%s went down between the snapshots: BEFORE and AFTER swapped, or a "
                   "reboot between them?" % ", ".join(backwards))
    fewer = [c for c in checks if c.agrees is False and c.trace is not None
             and c.delta is not None and c.trace < c.delta]
    more = [c for c in checks if c.agrees is False and c.trace is not None
            and c.delta is not None and c.trace > c.delta]
    if fewer:
        out.append("the trace has fewer events than the kernel counted (%s): events were "
                   "lost (look for perf's 'lost' samples warnings; record with a larger "
                   "buffer, -m 16M or more), or the recording began after the BEFORE "
                   "snapshot or ended before the AFTER one"
                   % ", ".join(_gap(c) for c in fewer))
    if more:
        out.append("the trace has more events than the kernel counted (%s): samples were "
                   "duplicated (perf 6.1's ring-buffer reader can write a sample twice in "
                   "bursts; record with --affinity=cpu), or the recording began before the "
                   "BEFORE snapshot or ended after the AFTER one"
                   % ", ".join(_gap(c) for c in more))
    if (fewer or more) and figures is not None and figures.sequence_breaks:
        out.append("evidence in the trace: %d migrate events broke kmigrated's "
                   "msuccess+mfailed sequence, so migrate events were lost or duplicated"
                   % figures.sequence_breaks)
    return out


def _gap(c: CounterCheck) -> str:
    assert c.trace is not None and c.delta is not None
    return "%s %+d" % (c.name, c.trace - c.delta)


def check_run(snapshots: Tuple[Snapshot, Snapshot], report: "Report",
              analyzer: "Analyzer", options: Any) -> KernelCounters:
    """The comparison for one report run (see the module's notes on filters)."""
    figures, why = figures_for_run(report, analyzer, options)
    return compare(snapshots[0], snapshots[1], figures, why)


# -- renderers -----------------------------------------------------------------------

TEXT_WIDTH = 96  # cause lines are wrapped to this width in the text report
JSON_KEYS = ("name", "before", "after", "delta", "trace", "trace_meaning", "agrees", "missing")


def to_json(model: KernelCounters) -> Dict[str, Any]:
    """The report JSON's "kernel_counters" object."""
    return {
        "before": model.before_path,
        "after": model.after_path,
        "counters": [{
            "name": c.name, "before": c.before, "after": c.after, "delta": c.delta,
            "trace": c.trace, "trace_meaning": c.trace_meaning, "agrees": c.agrees,
            "missing": c.missing,
        } for c in model.counters],
        "all_agree": model.all_agree,
        "causes": list(model.causes),
    }


def csv_rows(model: KernelCounters) -> Tuple[List[str], List[List[Any]]]:
    """Headers and rows of kernel_counters.csv (empty cells for unknown values)."""
    def cell(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "yes" if v else "no"
        return v
    rows = [[cell(getattr(c, key)) for key in JSON_KEYS] for c in model.counters]
    return list(JSON_KEYS), rows


def _agrees_cell(c: CounterCheck) -> str:
    if c.missing:
        return "missing"
    if c.agrees is None:
        return "-"
    return "yes" if c.agrees else "NO"


def text(model: KernelCounters) -> str:
    """The text report's "Kernel counters" section body."""
    from .render import count, table  # here: render imports this module

    def num(v: Optional[int]) -> str:
        return "-" if v is None else count(v)

    rows = [[c.name, num(c.delta), num(c.trace), c.trace_meaning or "", _agrees_cell(c)]
            for c in model.counters]
    out = table(["counter", "delta", "trace", "trace counts", "agrees"], rows)
    compared = [c for c in model.counters if c.agrees is not None]
    if model.all_agree is True:
        out += "\n\nall %d compared counters agree with the trace" % len(compared)
    elif model.all_agree is False:
        out += "\n\n%d of %d compared counters disagree with the trace" % (
            sum(1 for c in compared if not c.agrees), len(compared))
    if model.causes:
        out += "\n" + ("" if model.all_agree is not None else "\n") + "\n".join(
            textwrap.fill(cause, TEXT_WIDTH, initial_indent="- ", subsequent_indent="  ",
                          break_on_hyphens=False, break_long_words=False)
            for cause in model.causes)
    return out


__all__ = ["VmstatError", "Snapshot", "TraceFigures", "CounterCheck", "KernelCounters",
           "COMPARED", "parse", "load", "load_pair", "kscand_lines", "compare",
           "figures_from_report", "figures_from_states", "figures_for_run", "check_run",
           "to_json", "text", "csv_rows"]
