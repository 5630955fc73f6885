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
nr_kscand_migadded                pages queued for kmigrated: the sum of the
                                  scan ends' ``total`` (not migrate events:
                                  when an mm exits while kmigrated serves
                                  another, its queue is freed unattempted)
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

This module is pure: it parses snapshot text and compares numbers. Reading
the files is the front end's (kscand_perf.session); the trace's figures come
from the result model (kscand_perf.report), which calls :func:`compare`; the
renderers of :class:`KernelCounters` are in kscand_perf.render.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, List, Optional, Sequence, Tuple

PREFIX = "nr_kscand_"

# (counter, what the trace figure counts), in the order the report lists them.
COMPARED: Tuple[Tuple[str, str], ...] = (
    ("nr_kscand_mm_scans", "scan ends"),
    ("nr_kscand_migrated", "migrate events, rc == 0"),
    ("nr_kscand_migrate_failed", "migrate events, rc != 0"),
    ("nr_kscand_migadded", "pages found by scans (queued)"),
)

# The kernel's own counters beside the mechanisms of the trace ("Promotions by mechanism";
# measured on the kscand kernel: ../shared/docs/promotion-mechanisms.md): (counter, the
# mechanisms it includes, the trace figure held against it or None). A figure's name is a
# key of :func:`stock_figures`.
STOCK: Tuple[Tuple[str, str, Optional[str]], ...] = (
    ("numa_pte_updates", "NUMA balancing's scan (kscand: none)", None),
    ("numa_hint_faults", "NUMA balancing's hint faults (kscand: none)", None),
    ("numa_hint_faults_local", "NUMA balancing, faults on the local node", None),
    ("numa_pages_migrated", "kscand + NUMA balancing", "promoted"),
    ("pgpromote_success", "kscand + NUMA balancing, tiering mode only", "promoted_tiering"),
    ("pgpromote_candidate", "NUMA balancing's tiering candidates", None),
    ("pgdemote_kswapd", "demotion by kswapd", "demoted_kswapd"),
    ("pgdemote_direct", "demotion in direct reclaim", "demoted_direct"),
    ("pgdemote_khugepaged", "demotion by khugepaged", "demoted_khugepaged"),
    ("pgmigrate_success", "every mechanism and reason", "moved"),
    ("pgmigrate_fail", "every mechanism and reason (failed)", "failed"),
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
    # the kernel's stock NUMA and migration counters (STOCK), held against the mechanisms
    stock: Dict[str, int] = dataclasses.field(default_factory=dict)


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


def snapshot(text: str, source: str) -> Snapshot:
    """The snapshot in ``text`` (read from ``source``, a path). Raises :class:`VmstatError`."""
    return Snapshot(source, parse(text, source), parse_stock(text))


def parse_stock(text: str) -> Dict[str, int]:
    """The STOCK counters of /proc/vmstat ``text`` (checked by :func:`parse` first)."""
    wanted = {name for name, _, _ in STOCK}
    out: Dict[str, int] = {}
    for raw in text.splitlines():
        m = _LINE.match(raw.strip())
        if m is not None and m.group(1) in wanted:
            out.setdefault(m.group(1), int(m.group(2)))
    return out


def kscand_lines(vmstat_text: str) -> List[str]:
    """The nr_kscand_* lines of /proc/vmstat text, unchanged (what kscand-record keeps)."""
    return [line for line in vmstat_text.splitlines() if line.startswith(PREFIX)]


# -- what the trace says -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TraceFigures:
    """The trace's counts to hold against the counters, and what they cover.

    ``lost`` is the number of events perf says it lost (LOST records), None
    where the front end cannot tell (perf script hands no LOST records over).
    """

    scan_ends: int
    migrate_ok: int
    migrate_failed: int
    pages_found: int
    sequence_breaks: int
    scope: str = "the whole trace"
    lost: Optional[int] = None

    @property
    def migrate_all(self) -> int:
        return self.migrate_ok + self.migrate_failed

    def value(self, counter: str) -> int:
        return {
            "nr_kscand_mm_scans": self.scan_ends,
            "nr_kscand_migrated": self.migrate_ok,
            "nr_kscand_migrate_failed": self.migrate_failed,
            "nr_kscand_migadded": self.pages_found,
        }[counter]


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
    """The kernel's counters (--vmstat) held against the trace."""
    counters: Tuple[CounterCheck, ...]
    causes: Tuple[str, ...]
    before_path: str = ""
    after_path: str = ""
    # pages scans found (queued for kmigrated) that no migrate event ever tried: freed
    # with their mm, or still queued when the recording stopped (None: not compared)
    unattempted_pages: Optional[int] = None
    # the stock NUMA and migration counters against the mechanisms (compare_stock)
    stock: Tuple["StockCheck", ...] = ()
    stock_note: Optional[str] = None  # why their trace figures are missing, if they are

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
    unattempted = (None if figures is None
                   else max(0, figures.pages_found - figures.migrate_all))
    return KernelCounters(tuple(checks), tuple(_causes(checks, figures, not_compared)),
                          before.path, after.path, unattempted)


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
    lost = figures.lost if figures is not None else None
    if fewer:
        gaps = ", ".join(_gap(c) for c in fewer)
        if lost:
            out.append("the trace has fewer events than the kernel counted (%s): perf "
                       "recorded %s LOST events; record with a larger buffer (-m 16M or "
                       "more)" % (gaps, "{:,}".format(lost)))
        else:
            out.append("the trace has fewer events than the kernel counted (%s): the "
                       "recording window: the snapshots are taken just before perf starts "
                       "and just after it stops, and kscand runs on while perf starts and "
                       "stops (seconds under emulation)%s" % (
                           gaps, "" if lost == 0 else "; or events were lost, which this "
                           "front end cannot tell (perf script hands no LOST records over)"))
    if more:
        out.append("the trace has more events than the kernel counted (%s): samples were "
                   "duplicated (perf 6.1's ring-buffer reader can write a sample twice in "
                   "bursts; record with --affinity=cpu), or the recording began before the "
                   "BEFORE snapshot or ended after the AFTER one"
                   % ", ".join(_gap(c) for c in more))
    if (fewer or more) and figures is not None and figures.sequence_breaks:
        out.append("evidence in the trace: %s migrate events broke kmigrated's "
                   "msuccess+mfailed sequence, so migrate events were lost or duplicated"
                   % "{:,}".format(figures.sequence_breaks))
    return out


def _gap(c: CounterCheck) -> str:
    assert c.trace is not None and c.delta is not None
    return "%s %+d" % (c.name, c.trace - c.delta)


@dataclasses.dataclass(frozen=True)
class StockCheck:
    """One stock counter against the trace's mechanisms (``trace`` None: no figure)."""

    name: str
    delta: Optional[int]
    includes: str
    trace: Optional[int]
    agrees: Optional[bool]


def compare_stock(before: Snapshot, after: Snapshot, figures: Optional[Dict[str, int]],
                  tiering: Optional[bool]) -> Tuple[StockCheck, ...]:
    """The STOCK counters in both snapshots, each with the trace figure it should equal
    (``figures``: :func:`kscand_perf.mechanisms.stock_figures`; None: not comparable).
    ``tiering``: whether numa_balancing had memory tiering on during the recording (the
    knobs file's ``numa_balancing``; None: unknown, pgpromote_success is not compared);
    without it pgpromote_success counts nothing (0)."""
    out = []
    for name, includes, key in STOCK:
        b, a = before.stock.get(name), after.stock.get(name)
        if b is None and a is None:
            continue
        delta = None if b is None or a is None else a - b
        trace = None if figures is None or key is None else figures.get(key)
        if key == "promoted_tiering" and trace is not None:
            trace = None if tiering is None else trace if tiering else 0
        agrees = None if delta is None or trace is None else delta == trace
        out.append(StockCheck(name, delta, includes, trace, agrees))
    return tuple(out)


__all__ = ["StockCheck", "STOCK", "compare_stock", "parse_stock", "VmstatError", "Snapshot",
           "TraceFigures", "CounterCheck", "KernelCounters",
           "COMPARED", "parse", "snapshot", "kscand_lines", "compare"]
