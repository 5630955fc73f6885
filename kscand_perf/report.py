"""The result model: plain data built once from the analyzer's state.

Every number a renderer prints is computed here (or in the analyzer), once,
including the whole trace's figures that the kernel-counter comparison needs;
the renderers (kscand_perf.render) only format. Data flows one way:
events -> analysis -> report -> render -> front ends.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterator, List, Optional, Pattern, Protocol, Sequence, Tuple, Union

from .analysis import Analyzer, IdleLifetime, IdleRows, MmState, ValueStats, idle_view
from .cost import Cost, report_cost
from .detail import BacklogReport, DetailReport, backlog_report, detail_report
from .filtered import FilteredAnalyzer
from .histogram import LinearHistogram, LogLinearHistogram, Stats
from .mechanisms import Mechanisms
from .promotion_time import PromotionTime, promotion_time
from .timeline import IntervalRow, TimelineAnalyzer
from .vmstat import KernelCounters, Snapshot, TraceFigures, compare

PERCENTILES = (50, 90, 99)


class Owned(Protocol):
    @property
    def mm(self) -> int: ...

    @property
    def pid(self) -> Optional[int]: ...

    @property
    def comm(self) -> Optional[str]: ...


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which mm lifetimes the report covers (all when pids, comm and mms are None), and
    the filter options as given (for the report's header and its ``selection``)."""

    pids: Optional[Sequence[int]] = None
    comm: Optional[Pattern[str]] = None
    mms: Optional[Sequence[int]] = None
    args: Tuple[str, ...] = ()  # the filter options as given ("--pid", "137", ...)

    def active(self) -> bool:
        return self.pids is not None or self.comm is not None or self.mms is not None

    def keeps(self, st: Owned) -> bool:
        if self.mms is not None and st.mm not in self.mms:
            return False
        if self.pids is not None and st.pid not in self.pids:
            return False
        if self.comm is not None and (st.comm is None or not self.comm.search(st.comm)):
            return False
        return True


@dataclasses.dataclass
class Durations:
    """Scan durations of completed scans, in ns (docs/report.md: Scans)."""
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
    """count/min/mean/percentiles/max of a value, from a histogram."""
    count: int
    min: int
    mean: float
    max: int
    total: int


@dataclasses.dataclass
class Scans:
    """What the scans of a selection came to: pairs, not-due visits, durations."""
    completed: int = 0
    not_due: int = 0  # unpaired starts: not-due visits, or ends not recorded
    in_flight: int = 0  # starts pending on a kscand thread when the recording ended
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
        return self.completed + self.not_due + self.in_flight


@dataclasses.dataclass
class NodeCounts:
    """Promotion attempts and successes to one target node."""
    attempted: int = 0
    succeeded: int = 0

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded


@dataclasses.dataclass
class Migrations:
    """kscand's promotion attempts (kmem_scan_mm_migrate) of a selection."""
    attempted: int = 0
    succeeded: int = 0
    by_node: Dict[int, NodeCounts] = dataclasses.field(default_factory=dict)
    by_rc: Dict[int, int] = dataclasses.field(default_factory=dict)
    batches: int = 0
    batch_size: Optional[Spread] = None
    sequence_breaks: int = 0
    v2_events: int = 0
    # pages the lifetimes' scan ends found beyond their migrate events: queued, never
    # attempted (per lifetime max(0, found - migrate events), summed)
    not_attempted: int = 0

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded


@dataclasses.dataclass
class MmReport:
    """One mm lifetime's row: owner, times, scans and migrations."""
    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    first_ns: int
    enter_ns: Optional[int]
    exit_ns: Optional[int]
    scans: Scans
    migrations: Migrations


MmRow = Union[MmReport, IdleLifetime]


class MmRows:
    """The mm lifetimes the selection keeps, in order of first appearance, built one at a
    time as they are read (an :class:`MmReport` for a lifetime with a scan end or a
    migration, an :class:`IdleLifetime` for one kscand only visited): a report on
    hundreds of thousands of short processes holds no object per process. Iterable
    more than once; ``len()`` is the number of rows."""

    def __init__(self, analyzer: Analyzer, selection: "Selection", count: int) -> None:
        self._analyzer = analyzer
        self._selection = selection
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[MmRow]:
        keeps = self._selection.keeps if self._selection.active() else None
        for lt in self._analyzer.lifetimes():
            if keeps is not None and not keeps(lt):
                continue
            if isinstance(lt, IdleLifetime):
                yield lt
            elif lt.idle and not lt.in_flight:
                yield idle_view(lt)
            else:
                yield mm_report(lt)

    def runs(self) -> Iterator[Union[MmRow, range]]:
        """The rows, with runs of folded lifetimes as ranges of the analyzer's ``idle``
        rows where nothing is left out (a writer of every row takes those in bulk)."""
        if self._selection.active():
            yield from self
            return
        for lt in self._analyzer.lifetime_runs():
            if isinstance(lt, (range, IdleLifetime)):
                yield lt
            elif lt.idle and not lt.in_flight:
                yield idle_view(lt)
            else:
                yield mm_report(lt)

    @property
    def idle(self) -> IdleRows:
        """The folded lifetimes the ranges of :meth:`runs` point into."""
        return self._analyzer.idle


def mm_report(st: MmState) -> MmReport:
    return MmReport(st.mm, st.generation, st.pid, st.comm, st.first_ns,
                    st.enter_ns, st.exit_ns, _scans([st]), _migrations([st]))


def idle_report(lt: IdleLifetime) -> MmReport:
    """The full row of a lifetime kscand only visited."""
    return MmReport(lt.mm, lt.generation, lt.pid, lt.comm, lt.first_ns, lt.enter_ns,
                    lt.exit_ns, Scans(not_due=lt.visits), Migrations())


@dataclasses.dataclass
class Accounting:
    """Where every event handed to the report went: ``events_in`` is the sum of the rest."""

    events_in: int
    analysed: int
    other: int
    unhandled: int
    bad: int
    duplicates: int
    filtered: int
    non_tracepoint: int

    @property
    def not_analysed(self) -> int:
        return self.events_in - self.analysed - self.other


@dataclasses.dataclass
class Oddities:
    """What the report noticed in the data, each also explained in the notes."""

    duplicates: Dict[str, int] = dataclasses.field(default_factory=dict)
    ends_before_start: int = 0
    scan_threads: int = 0
    batches_begun_before_recording: int = 0
    bad_reasons: Dict[str, int] = dataclasses.field(default_factory=dict)
    non_tracepoint: Dict[str, int] = dataclasses.field(default_factory=dict)
    unknown_owner_lifetimes: int = 0
    unknown_owner_ends: int = 0
    unknown_owner_migrations: int = 0


@dataclasses.dataclass
class RunMeta:
    """Where a report comes from: this tool, the input as given, and what the recording's
    header says (None: a pipe, or no perf.data header could be read; see
    :func:`kscand_perf.perfreader.read_run_info`)."""

    version: str
    input: Optional[str] = None
    header: Optional[Dict[str, Any]] = None
    knobs: Optional[Dict[str, str]] = None  # kscand's knobs, where the recording saved them
    input_sha256: Optional[str] = None  # of the recording's bytes (None: a pipe)
    options: Optional[Dict[str, Any]] = None  # the report's options, as run.options shows


@dataclasses.dataclass
class SelectionSummary:
    """What a filtered report kept (the JSON's ``selection``): the filters, in perf time
    (ns) for --time, and the kscand events kept of those in the recording."""

    args: Tuple[str, ...]
    time_ns: Optional[Tuple[Optional[int], Optional[int]]]
    pids: Optional[List[int]]
    comms: Optional[List[str]]
    mms: Optional[List[int]]
    nodes: Optional[List[int]]
    kept_events: int
    events_in: int


@dataclasses.dataclass
class Report:
    """The whole report: the result model every renderer reads."""
    events: Dict[str, int]
    other_events: Dict[str, int]
    bad_events: Dict[str, int]
    unhandled: Dict[str, int]
    scans: Scans
    migrations: Migrations
    mms: MmRows
    first_ns: Optional[int]
    last_ns: Optional[int]
    filtered_events: int = 0
    excluded_mms: int = 0
    duplicate_exits: int = 0
    notes: List[str] = dataclasses.field(default_factory=list)
    busy_mms: List[MmState] = dataclasses.field(default_factory=list)  # kept, with an end or migr.
    accounting: Optional[Accounting] = None
    oddities: Oddities = dataclasses.field(default_factory=Oddities)
    # the times of every event the trace held, --time/--node or not
    trace_first_ns: Optional[int] = None
    trace_last_ns: Optional[int] = None
    kernel_counters: Optional[KernelCounters] = None  # with --vmstat (see vmstat.py)
    # the figures of every mm lifetime, whatever the selection shows (None when --time or
    # --node dropped events before they were counted: the whole trace's are unknown)
    whole_trace: Optional[TraceFigures] = None
    over_time: Optional["OverTime"] = None  # with --interval or --plot (see over_time())
    log2_unit_ns: int = 1000  # the unit of scans.log2's slots (the report's --ns/--us/--ms)
    run: Optional[RunMeta] = None  # set by the front end's session
    selection: Optional[SelectionSummary] = None  # None: no filter was given
    # the kernel's migrate events by mechanism (kscand_perf.mechanisms; set by the session)
    mechanisms: Optional[Mechanisms] = None
    backlog: Optional[BacklogReport] = None  # kmigrated's backlog (kscand_perf.detail)
    kscand_detail: Optional[DetailReport] = None
    cost: Optional[Cost] = None  # kscand's and kmigrated's CPU time (kscand_perf.cost)
    # how soon each process's pages were promoted (kscand_perf.promotion_time; the session)
    promotion_time: Optional[PromotionTime] = None

    @property
    def mm_count(self) -> int:
        return len(self.mms)

    def top(self, n: int) -> List[MmReport]:
        """The rows of the per-process table: by total scan time, then ends, migrations
        and visits. With a limit (n > 0), the first n lifetimes that had a scan end or a
        migration (the many short processes kscand only visited would crowd out the
        rest); n == 0: every lifetime the selection keeps."""
        if n:
            ranked = sorted(self.busy_mms, key=_rank)[:n]
            return [mm_report(st) for st in ranked]
        rows = [r if isinstance(r, MmReport) else idle_report(r) for r in self.mms]
        rows.sort(key=lambda m: (
            -(m.scans.durations.total if m.scans.durations else 0), -m.scans.ends,
            -m.migrations.attempted, -m.scans.not_due, m.first_ns))
        return rows


def _rank(st: MmState) -> Tuple[int, int, int, int, int, int]:
    e, m = st.ends, st.migs
    return (-(e.durations.total if e is not None else 0),
            -(st.completed + (e.orphan_ends if e is not None else 0)),
            -(sum(m.by_rc.values()) if m is not None else 0), -st.not_due, st.first_ns, st.seq)


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
        out.in_flight += st.in_flight
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
    for st in states:
        m = st.migs
        found = st.ends.pages_found if st.ends is not None else 0
        tried = sum(m.by_rc.values()) if m is not None else 0
        if found > tried:
            out.not_attempted += found - tried
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
    return out


def build(analyzer: Analyzer, selection: Selection = Selection(),
          unhandled: Optional[Dict[str, int]] = None,
          snapshots: Optional[Tuple[Snapshot, Snapshot]] = None,
          lost_events: Optional[int] = None,
          front_end_notes: Sequence[str] = ()) -> Report:
    """The report of everything fed to ``analyzer`` (call once, at the end).

    ``snapshots``: /proc/vmstat before and after the recording, to compare with
    the whole trace's figures; ``lost_events``: perf's LOST records where the
    front end can see them (None where it cannot); ``front_end_notes``: what the
    front end noticed (perf's own filters), first among the notes.
    """
    states = analyzer.finish()  # the lifetimes held as objects; the idle rest is folded
    idle = analyzer.idle
    active = selection.active()
    whole_events = {
        "kmem_mm_enter": analyzer.events["kmem_mm_enter"],
        "kmem_mm_exit": analyzer.events["kmem_mm_exit"],
        "kmem_scan_mm_start": analyzer.idle_visits + sum(st.visits for st in states),
        "kmem_scan_mm_end": sum(st.completed + (st.ends.orphan_ends if st.ends else 0)
                                for st in states),
        "kmem_scan_mm_migrate": sum(sum(st.migs.by_rc.values()) if st.migs else 0
                                    for st in states),
    }
    if active:
        kept = [st for st in states if selection.keeps(st)]
        kept_idle = [idle.row(i) for i in range(len(idle)) if selection.keeps(idle.row(i))]
        idle_kept_count = len(kept_idle)
        idle_kept_visits = sum(r.visits for r in kept_idle)
        # the kscand events of the lifetimes the selection keeps
        events = {
            "kmem_mm_enter": (sum(1 for st in kept if st.enter_ns is not None)
                              + sum(1 for r in kept_idle if r.enter_ns is not None)),
            "kmem_mm_exit": (sum(st.exits for st in kept)
                             + sum(1 for r in kept_idle if r.exit_ns is not None)),
            "kmem_scan_mm_start": idle_kept_visits + sum(st.visits for st in kept),
            "kmem_scan_mm_end": sum(st.completed + (st.ends.orphan_ends if st.ends else 0)
                                    for st in kept),
            "kmem_scan_mm_migrate": sum(sum(st.migs.by_rc.values()) if st.migs else 0
                                        for st in kept),
        }
        del kept_idle
    else:
        kept = states
        idle_kept_count = len(idle)
        idle_kept_visits = analyzer.idle_visits
        events = whole_events
    scans = _scans(kept)
    scans.not_due += idle_kept_visits
    migrations = _migrations(kept)
    busy = [st for st in kept if not st.idle]
    kept_count = len(kept) + idle_kept_count
    acc = analyzer.accounting(sum((unhandled or {}).values()))
    report = Report(events=events, other_events=dict(analyzer.other_events),
                    bad_events=dict(analyzer.bad_events), unhandled=dict(unhandled or {}),
                    scans=scans, migrations=migrations,
                    mms=MmRows(analyzer, selection, kept_count),
                    first_ns=analyzer.first_ns, last_ns=analyzer.last_ns,
                    filtered_events=analyzer.filtered_events,
                    excluded_mms=analyzer.lifetime_count() - kept_count,
                    duplicate_exits=analyzer.duplicate_exits, busy_mms=busy,
                    accounting=Accounting(**acc))
    report.backlog = backlog_report(busy)
    report.kscand_detail = detail_report(busy, analyzer.first_ns, analyzer.last_ns)
    report.cost = report_cost(analyzer, scans.durations.total if scans.durations else 0,
                              migrations.succeeded, active)
    report.trace_first_ns, report.trace_last_ns = analyzer.trace_times()
    if selection.active() or dropping_filters(analyzer):
        report.selection = _selection(selection, analyzer, sum(events.values()),
                                      sum(whole_events.values()), acc)
    odd = report.oddities
    odd.duplicates = dict(sorted(analyzer.duplicates.items()))
    odd.ends_before_start = sum(st.ends.backwards for st in states if st.ends is not None)
    odd.scan_threads = len(analyzer.scan_threads)
    odd.batches_begun_before_recording = sum(st.migs.begun_before for st in kept
                                             if st.migs is not None)
    odd.bad_reasons = dict(sorted(analyzer.bad_reasons.items()))
    odd.non_tracepoint = dict(sorted(analyzer.non_tracepoint.items()))
    unknown = [st for st in busy if st.pid is None]
    odd.unknown_owner_lifetimes = (sum(1 for st in kept if st.idle and st.pid is None)
                                   + len(unknown) + _idle_unknown(analyzer, selection))
    odd.unknown_owner_ends = sum(st.completed + (st.ends.orphan_ends if st.ends else 0)
                                 for st in unknown)
    odd.unknown_owner_migrations = sum(sum(st.migs.by_rc.values()) for st in unknown
                                       if st.migs is not None)
    dropping = dropping_filters(analyzer)
    if not dropping:
        whole = (scans, migrations) if not active else (_scans(states), _migrations(states))
        report.whole_trace = TraceFigures(
            whole[0].ends, whole[1].succeeded, whole[1].failed, whole[0].pages_found,
            whole[1].sequence_breaks,
            "the whole trace" if not active else
            "the whole trace (the --pid/--comm/--mm selection does not apply to this "
            "comparison)", lost_events)
    if snapshots is not None:
        why = None if not dropping else (
            "not compared: %s left events out of the analysis, and the kernel counted them "
            "all; run without %s to compare" % (" and ".join(dropping), " and ".join(dropping)))
        report.kernel_counters = compare(snapshots[0], snapshots[1], report.whole_trace, why)
    report.notes = list(front_end_notes) + _notes(report, analyzer, selection)
    # kscand's part (the session adds NUMA balancing's from the kernel's migrate events)
    report.promotion_time = promotion_time(states, {}, report.trace_first_ns,
                                           selection.pids, selection.comm)
    if isinstance(analyzer, TimelineAnalyzer):
        report.over_time = over_time(analyzer, selection)
    report.log2_unit_ns = analyzer.config.unit_ns
    return report


def _selection(selection: Selection, analyzer: Analyzer, kept_events: int,
               analysed: int, acc: Dict[str, int]) -> SelectionSummary:
    """The JSON's ``selection``: ``events_in`` is the recording's kscand events (of the
    five tracepoints, whatever became of them), ``kept_events`` those the report counts."""
    time_ns: Optional[Tuple[Optional[int], Optional[int]]] = None
    config = analyzer.config
    if config.time_window_ns is not None:
        window = analyzer.window_ns if isinstance(analyzer, FilteredAnalyzer) else None
        if window is not None:
            lo, hi = window
            time_ns = (lo if lo > 0 or config.time_relative[0] else None,
                       hi if hi < 1 << 63 else None)
        else:  # relative times and no event to count from
            time_ns = (None, None)
    filtered_kscand = acc["filtered"] - (analyzer.filtered_other
                                         if isinstance(analyzer, FilteredAnalyzer) else 0)
    events_in = (analysed + filtered_kscand + acc["duplicates"]
                 + sum(n for name, n in analyzer.bad_events.items()
                       if name.startswith("kmem:")))
    args = selection.args or tuple(dropping_filters(analyzer)) + tuple(
        flag for flag, given in (("--pid", selection.pids), ("--comm", selection.comm),
                                 ("--mm", selection.mms)) if given is not None)
    return SelectionSummary(
        args=args, time_ns=time_ns,
        pids=list(selection.pids) if selection.pids is not None else None,
        comms=[selection.comm.pattern] if selection.comm is not None else None,
        mms=list(selection.mms) if selection.mms is not None else None,
        nodes=[config.node] if config.node is not None else None,
        kept_events=kept_events, events_in=events_in)


# -- over time (--interval) -------------------------------------------------------

@dataclasses.dataclass
class TimeToPromotion:
    """From the start of an mm's first scan that found pages until 50%, 90% and 99% of
    its successful promotions (those after that start) were done."""

    from_ns: int
    promoted: int  # successes at or after from_ns
    before: int  # successes before it
    percentiles: Dict[int, Optional[int]]  # 50, 90, 99 -> ns since from_ns (None: none)


@dataclasses.dataclass
class MmOverTime:
    """One lifetime's figures per --interval row."""
    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    ends: int  # scan ends seen
    stride: int  # every stride-th end is in points
    points: List[Tuple[int, int, int, int]]  # (end ns, scan_period ms, scan_size, pages)
    bin_ns: int
    bins: List[Tuple[int, int, int]]  # (bin start ns, attempted, succeeded), non-empty bins
    time_to_promotion: Optional[TimeToPromotion]


@dataclasses.dataclass
class OverTime:
    """The --interval rows of the whole trace and of the kept lifetimes."""
    interval_ns: int
    rows: List[IntervalRow]  # every interval, the whole trace (the selection does not apply)
    mms: List[MmOverTime]  # lifetimes the selection keeps that had a scan end or migration

    def top_mms(self, n: int) -> List[MmOverTime]:
        """The n lifetimes with the most scan ends (then migrations), for plots."""
        return sorted(self.mms, key=lambda m: (-m.ends, -sum(b[1] for b in m.bins),
                                               m.points[0][0] if m.points else 0))[:n]


def over_time(analyzer: TimelineAnalyzer, selection: Selection = Selection()) -> OverTime:
    tl = analyzer.tl
    states = {(st.mm, st.generation): st for st in analyzer.finish()}
    mms = []
    for key, t in tl.timelines.items():
        st = states.get(key)
        if st is None or not selection.keeps(st):
            continue
        ttp = None
        h = t.promotion_offsets
        if t.first_found_ns is not None:
            ttp = TimeToPromotion(t.first_found_ns, h.count, t.promoted_before,
                                  {p: h.percentile(p) for p in PERCENTILES})
        mms.append(MmOverTime(
            st.mm, st.generation, st.pid, st.comm, t.ends_seen, t.stride, list(t.points),
            t.bin_ns, [(k * t.bin_ns, a, s) for k, (a, s) in sorted(t.bins.items())], ttp))
    mms.sort(key=lambda m: (states[(m.mm, m.generation)].seq))
    return OverTime(tl.interval_ns, list(tl.rows), mms)


def _idle_unknown(analyzer: Analyzer, selection: Selection) -> int:
    """Folded lifetimes the selection keeps whose owner is unknown."""
    idle = analyzer.idle
    if not selection.active():
        return sum(1 for p in idle.pid if p < 0)
    return sum(1 for i in range(len(idle))
               if idle.pid[i] < 0 and selection.keeps(idle.row(i)))


def dropping_filters(analyzer: Analyzer) -> List[str]:
    """The options that dropped events before they were counted (--time, --node)."""
    config = analyzer.config
    return [flag for flag, on in (("--time", config.time_window_ns is not None),
                                  ("--node", config.node is not None)) if on]


def _secs(ns: Optional[int]) -> str:
    return "-" if ns is None else "%.6f" % (ns / 1e9)


def _n(n: int) -> str:
    """A count in a note, as the text prints counts (65,740)."""
    return "{:,}".format(n)


def _counts(d: Dict[str, int]) -> str:
    return ", ".join("%s %s" % (k, _n(v)) for k, v in sorted(d.items()))


def _notes(report: Report, analyzer: Analyzer, selection: Selection) -> List[str]:
    """Plain-language remarks on what the data can and cannot tell."""
    notes = []
    ev = report.events
    odd = report.oddities
    kscand = sum(ev.values())
    config = analyzer.config
    if kscand == 0:
        if report.filtered_events:
            notes.append("no kscand event is left: %s dropped all %s events" % (
                " and ".join(dropping_filters(analyzer)), _n(report.filtered_events)))
        else:
            notes.append("no kscand events in this trace: record the kmem:kmem_mm_* and "
                         "kmem:kmem_scan_mm_* tracepoints (kscand-record does) on a kernel "
                         "with kscand")
    elif (ev["kmem_scan_mm_start"] + ev["kmem_scan_mm_end"] + ev["kmem_scan_mm_migrate"] == 0
          and not report.filtered_events):
        notes.append("kmem_mm_enter/exit events but no scan or migrate event: kscand did not "
                     "scan during the recording, or the events were filtered by task (perf's "
                     "--pid/--tid/--comm, or perf record -p/-t): kscand's events come from "
                     "the kscand and kmigrated threads, so filter with -- --pid/--comm")
    window = analyzer.window_ns if isinstance(analyzer, FilteredAnalyzer) else None
    if config.time_window_ns is not None:
        if window is None:
            notes.append("--time: the recording has no event to count relative times from")
        else:
            lo, hi = window
            kept = ("%s <= t < %s s" % (_secs(lo), _secs(hi)) if hi < 1 << 63
                    else "t >= %s s" % _secs(lo))
            notes.append("--time kept the events at %s; the trace runs from %s to %s s" % (
                kept, _secs(report.trace_first_ns), _secs(report.trace_last_ns)))
    if config.node is not None and isinstance(analyzer, FilteredAnalyzer):
        if config.node not in analyzer.seen_nodes:
            notes.append("--node %d: no scan end targeted node %d and no migration went to "
                         "it; nodes in the trace: %s" % (
                             config.node, config.node,
                             ", ".join(str(n) for n in sorted(analyzer.seen_nodes)) or "none"))
        notes.append("--node %d keeps every not-due visit (%d here): a start that no end "
                     "followed names no node" % (config.node, report.scans.not_due))
    if report.filtered_events:
        notes.append("%s events were dropped by %s%s" % (
            _n(report.filtered_events), " and ".join(dropping_filters(analyzer)),
            " (a start is dropped with the end of its scan when --node drops that end)"
            if config.node is not None else ""))
    if selection.active() and not len(report.mms) and analyzer.lifetime_count():
        notes.append("the --pid/--comm/--mm selection kept none of the %s mm lifetimes"
                     % _n(analyzer.lifetime_count()))
    if ev["kmem_scan_mm_start"] == 0 and ev["kmem_scan_mm_end"] > 0:
        notes.append("no kmem_scan_mm_start events: scan durations are unknown "
                     "(recorded without them, e.g. kscand-record --light)")
    if report.migrations.sequence_breaks:
        notes.append("%s migrate events broke the msuccess+mfailed sequence: "
                     "events were lost or duplicated" % _n(report.migrations.sequence_breaks))
    if odd.batches_begun_before_recording:
        notes.append("%s kmigrated batches had begun before the recording (their first "
                     "msuccess+mfailed was above 1): not lost events; they are left out of "
                     "the batch count and sizes" % _n(odd.batches_begun_before_recording))
    if report.migrations.v2_events:
        notes.append("%s migrate events have no msuccess/mfailed (kscand RFC V1/V2): "
                     "no batch sizes for them" % _n(report.migrations.v2_events))
    if odd.duplicates:
        notes.append("%s samples were recorded twice (same time and data: perf 6.1's "
                     "ring-buffer race; record with --affinity=cpu) and counted once: %s" % (
                         _n(sum(odd.duplicates.values())), _counts(odd.duplicates)))
    if odd.ends_before_start:
        notes.append("%s scan ends have a timestamp before their start (time went "
                     "backwards): no duration for them; counted as ends without a start, "
                     "their starts as not-due visits" % _n(odd.ends_before_start))
    if odd.scan_threads > 1:
        notes.append("kmem_scan_mm_start came from %d threads: starts and ends were paired "
                     "per thread" % odd.scan_threads)
    if analyzer.orphan_end_pid_mismatch:
        notes.append("%s scan ends came from another thread than their start"
                     % _n(analyzer.orphan_end_pid_mismatch))
    if report.duplicate_exits:
        notes.append("%s duplicate kmem_mm_exit events (same mm lifetime) ignored"
                     % _n(report.duplicate_exits))
    bad = sum(report.bad_events.values())
    if bad:
        notes.append("%s events had unusable data and were skipped: %s (%s)" % (
            _n(bad), _counts(report.bad_events), _counts(odd.bad_reasons)))
    unhandled = sum(report.unhandled.values())
    if unhandled:
        notes.append("%s events of other types were not analysed: %s" % (
            _n(unhandled), _counts(report.unhandled)))
    if odd.non_tracepoint:
        notes.append("%s samples of non-tracepoint events were not analysed (%s): the report "
                     "reads the kscand tracepoints; record them with kscand-record" % (
                         _n(sum(odd.non_tracepoint.values())), _counts(odd.non_tracepoint)))
    if odd.unknown_owner_ends or odd.unknown_owner_migrations:
        ends, migr = report.scans.ends, report.migrations.attempted
        notes.append(
            "%s of %s mm lifetimes have no known owner (pid -, comm ?): their mm was "
            "registered before the recording began and its process neither exited, forked "
            "nor exec'd during it (the events carry no pid). They hold %s of %s scan ends "
            "and %s of %s migration attempts" % (
                _n(odd.unknown_owner_lifetimes), _n(len(report.mms)), _n(odd.unknown_owner_ends),
                _n(ends), _n(odd.unknown_owner_migrations), _n(migr)))
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
