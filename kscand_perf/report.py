"""The result model: plain data built once from the analyzer's state.

Every number a renderer prints is computed here (or in the analyzer), once,
including the whole trace's figures that the kernel-counter comparison needs;
the renderers (kscand_perf.render) only format. Data flows one way:
events -> analysis -> report -> render -> front ends.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Pattern, Sequence, Tuple

from .analysis import Analyzer, MmState, ValueStats
from .histogram import LinearHistogram, LogLinearHistogram, Stats
from .vmstat import KernelCounters, Snapshot, TraceFigures, compare

PERCENTILES = (50, 90, 99)


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which mm lifetimes the report covers (all when every field is None)."""

    pids: Optional[Sequence[int]] = None
    comm: Optional[Pattern[str]] = None
    mms: Optional[Sequence[int]] = None

    def active(self) -> bool:
        return self.pids is not None or self.comm is not None or self.mms is not None

    def keeps(self, st: MmState) -> bool:
        if self.mms is not None and st.mm not in self.mms:
            return False
        if self.pids is not None and st.pid not in self.pids:
            return False
        if self.comm is not None and (st.comm is None or not self.comm.search(st.comm)):
            return False
        return True


@dataclasses.dataclass
class Durations:
    count: int
    min: int
    mean: float
    max: int
    total: int
    percentiles: Dict[int, int]


@dataclasses.dataclass
class Values:
    """first/last/min/max of scan_period or scan_size, and how often it changed."""

    first: int
    last: int
    min: int
    max: int
    changes: int


@dataclasses.dataclass
class Spread:
    count: int
    min: int
    mean: float
    max: int
    total: int


@dataclasses.dataclass
class Scans:
    completed: int = 0
    not_due: int = 0
    orphan_ends: int = 0
    exited_during_scan: int = 0
    full_passes: int = 0
    pages_found: int = 0
    durations: Optional[Durations] = None
    target_nodes: Dict[int, int] = dataclasses.field(default_factory=dict)
    scan_period_ms: Optional[Values] = None
    scan_size: Optional[Values] = None
    pass_time_ns: Optional[Spread] = None
    histogram: LogLinearHistogram = dataclasses.field(default_factory=LogLinearHistogram)
    log2: Dict[int, int] = dataclasses.field(default_factory=dict)  # see log2_rows()
    linear: Optional[LinearHistogram] = None

    @property
    def ends(self) -> int:
        return self.completed + self.orphan_ends

    @property
    def starts(self) -> int:
        return self.completed + self.not_due


@dataclasses.dataclass
class NodeCounts:
    attempted: int = 0
    succeeded: int = 0

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded


@dataclasses.dataclass
class Migrations:
    attempted: int = 0
    succeeded: int = 0
    by_node: Dict[int, NodeCounts] = dataclasses.field(default_factory=dict)
    by_rc: Dict[int, int] = dataclasses.field(default_factory=dict)
    batches: int = 0
    batch_size: Optional[Spread] = None
    sequence_breaks: int = 0
    latency_ns: Optional[Spread] = None
    v2_events: int = 0

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded


@dataclasses.dataclass
class MmReport:
    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    first_ns: int
    enter_ns: Optional[int]
    exit_ns: Optional[int]
    scans: Scans
    migrations: Migrations


@dataclasses.dataclass
class Report:
    events: Dict[str, int]
    other_events: Dict[str, int]
    bad_events: Dict[str, int]
    unhandled: Dict[str, int]
    scans: Scans
    migrations: Migrations
    mms: List[MmReport]
    first_ns: Optional[int]
    last_ns: Optional[int]
    filtered_events: int = 0
    excluded_mms: int = 0
    duplicate_exits: int = 0
    notes: List[str] = dataclasses.field(default_factory=list)
    kernel_counters: Optional[KernelCounters] = None  # with --vmstat (see vmstat.py)
    # the figures of every mm lifetime, whatever the selection shows (None when --time or
    # --node dropped events before they were counted: the whole trace's are unknown)
    whole_trace: Optional[TraceFigures] = None


# -- building -----------------------------------------------------------------

def _spread(s: Stats) -> Optional[Spread]:
    if not s.count:
        return None
    assert s.min is not None and s.max is not None
    return Spread(s.count, s.min, s.total / s.count, s.max, s.total)


def _durations(h: LogLinearHistogram) -> Optional[Durations]:
    if not h.count:
        return None
    assert h.min is not None and h.max is not None
    pct = {p: h.percentile(p) for p in PERCENTILES}
    return Durations(h.count, h.min, h.total / h.count, h.max, h.total,
                     {p: v for p, v in pct.items() if v is not None})


def _values(stats: Sequence[ValueStats]) -> Optional[Values]:
    seen = [v for v in stats if v.count]
    if not seen:
        return None
    first = min(seen, key=lambda v: v.first_ns)
    last = max(seen, key=lambda v: v.last_ns)
    lows = [v.min for v in seen if v.min is not None]
    highs = [v.max for v in seen if v.max is not None]
    assert first.first is not None and last.last is not None  # seen: count > 0
    return Values(first.first, last.last, min(lows), max(highs),
                  sum(v.changes for v in seen))


def _scans(states: Sequence[MmState]) -> Scans:
    out = Scans()
    passes = Stats()
    linear: Optional[LinearHistogram] = None
    ends = []
    for st in states:
        out.completed += st.completed
        out.not_due += st.not_due
        e = st.ends
        if e is None:
            continue
        ends.append(e)
        out.orphan_ends += e.orphan_ends
        out.exited_during_scan += e.exited_during_scan
        out.full_passes += e.full_passes
        out.pages_found += e.pages_found
        out.histogram.merge(e.durations)
        for slot, n in e.log2.items():
            out.log2[slot] = out.log2.get(slot, 0) + n
        passes.merge(e.pass_ns)
        for node, n in e.target_nodes.items():
            out.target_nodes[node] = out.target_nodes.get(node, 0) + n
        if e.linear is not None:
            if linear is None:
                linear = LinearHistogram(e.linear.width, e.linear.limit)
            linear.merge(e.linear)
    out.durations = _durations(out.histogram)
    out.scan_period_ms = _values([e.scan_period for e in ends])
    out.scan_size = _values([e.scan_size for e in ends])
    out.pass_time_ns = _spread(passes)
    out.linear = linear
    return out


def _migrations(states: Sequence[MmState]) -> Migrations:
    out = Migrations()
    batch = Stats()
    latency = Stats()
    for st in states:
        if st.latency is not None:
            latency.merge(st.latency)
        m = st.migs
        if m is None:
            continue
        for node, (attempted, succeeded) in m.by_node.items():
            nc = out.by_node.setdefault(node, NodeCounts())
            nc.attempted += attempted
            nc.succeeded += succeeded
            out.attempted += attempted
            out.succeeded += succeeded
        for rc, n in m.by_rc.items():
            out.by_rc[rc] = out.by_rc.get(rc, 0) + n
        out.batches += m.batches
        out.sequence_breaks += m.sequence_breaks
        out.v2_events += m.v2_events
        batch.merge(m.batch_sizes)
    out.batch_size = _spread(batch)
    out.latency_ns = _spread(latency)
    return out


def build(analyzer: Analyzer, selection: Selection = Selection(),
          unhandled: Optional[Dict[str, int]] = None,
          snapshots: Optional[Tuple[Snapshot, Snapshot]] = None,
          lost_events: Optional[int] = None) -> Report:
    """The report of everything fed to ``analyzer`` (call once, at the end).

    ``snapshots``: /proc/vmstat before and after the recording, to compare with
    the whole trace's figures; ``lost_events``: perf's LOST records where the
    front end can see them (None where it cannot).
    """
    states = analyzer.finish()
    kept = [st for st in states if selection.keeps(st)] if selection.active() else states
    mms = [MmReport(st.mm, st.generation, st.pid, st.comm, st.first_ns,
                    st.enter_ns, st.exit_ns, _scans([st]), _migrations([st])) for st in kept]
    scans = _scans(kept)
    migrations = _migrations(kept)
    events = {
        "kmem_mm_enter": analyzer.events["kmem_mm_enter"],
        "kmem_mm_exit": analyzer.events["kmem_mm_exit"],
        "kmem_scan_mm_start": sum(st.completed + st.not_due for st in states),
        "kmem_scan_mm_end": sum(st.completed + (st.ends.orphan_ends if st.ends else 0)
                                for st in states),
        "kmem_scan_mm_migrate": sum(sum(st.migs.by_rc.values()) if st.migs else 0
                                    for st in states),
    }
    report = Report(events=events, other_events=dict(analyzer.other_events),
                    bad_events=dict(analyzer.bad_events), unhandled=dict(unhandled or {}),
                    scans=scans, migrations=migrations, mms=mms,
                    first_ns=analyzer.first_ns, last_ns=analyzer.last_ns,
                    filtered_events=analyzer.filtered_events,
                    excluded_mms=len(states) - len(kept),
                    duplicate_exits=analyzer.duplicate_exits)
    dropping = dropping_filters(analyzer)
    if not dropping:
        whole = (scans, migrations) if not selection.active() else (
            _scans(states), _migrations(states))
        report.whole_trace = TraceFigures(
            whole[0].ends, whole[1].succeeded, whole[1].failed, whole[0].pages_found,
            whole[1].sequence_breaks,
            "the whole trace" if not selection.active() else
            "the whole trace (the --pid/--comm/--mm selection does not apply to this "
            "comparison)", lost_events)
    if snapshots is not None:
        why = None if not dropping else (
            "not compared: %s left events out of the analysis, and the kernel counted them "
            "all; run without %s to compare" % (" and ".join(dropping), " and ".join(dropping)))
        report.kernel_counters = compare(snapshots[0], snapshots[1], report.whole_trace, why)
    report.notes = _notes(report, analyzer)
    return report


def dropping_filters(analyzer: Analyzer) -> List[str]:
    """The options that dropped events before they were counted (--time, --node)."""
    config = analyzer.config
    return [flag for flag, on in (("--time", config.time_window_ns is not None),
                                  ("--node", config.node is not None)) if on]


def _notes(report: Report, analyzer: Analyzer) -> List[str]:
    """Plain-language remarks on what the data can and cannot tell."""
    notes = []
    ev = report.events
    if ev["kmem_scan_mm_start"] == 0 and ev["kmem_scan_mm_end"] > 0:
        notes.append("no kmem_scan_mm_start events: scan durations are unknown "
                     "(recorded without them, e.g. kscand-record --light)")
    if report.migrations.sequence_breaks:
        notes.append("%d migrate events broke the msuccess+mfailed sequence: "
                     "events were lost or duplicated" % report.migrations.sequence_breaks)
    if report.migrations.v2_events:
        notes.append("%d migrate events have no msuccess/mfailed (kscand RFC V1/V2): "
                     "no batch sizes for them" % report.migrations.v2_events)
    if analyzer.orphan_end_pid_mismatch:
        notes.append("%d scan ends came from another thread than their start"
                     % analyzer.orphan_end_pid_mismatch)
    if report.duplicate_exits:
        notes.append("%d duplicate kmem_mm_exit events (same mm lifetime) ignored"
                     % report.duplicate_exits)
    bad = sum(report.bad_events.values())
    if bad:
        notes.append("%d events had unusable data and were skipped: %s" % (
            bad, ", ".join("%s %d" % kv for kv in sorted(report.bad_events.items()))))
    unhandled = sum(report.unhandled.values())
    if unhandled:
        notes.append("%d events of other types were not analysed: %s" % (
            unhandled, ", ".join("%s %d" % kv for kv in sorted(report.unhandled.items()))))
    return notes


def mm_key(mm: int) -> str:
    """An mm pointer as the report shows it."""
    return "0x%x" % mm


def log2_rows(log2: Dict[int, int]) -> List[Tuple[int, int, int]]:
    """bcc-style rows (low, high, count) from bit-length slots; 0 and 1 share the first row."""
    if not log2:
        return []
    counts: Dict[int, int] = {}
    for slot, n in log2.items():
        counts[max(slot, 1)] = counts.get(max(slot, 1), 0) + n
    rows = []
    for slot in range(min(counts), max(counts) + 1):
        low = 0 if slot == 1 else 1 << (slot - 1)
        rows.append((low, (1 << slot) - 1, counts.get(slot, 0)))
    return rows
