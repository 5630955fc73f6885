"""The report over time: interval rows, per-mm timelines, time to promotion, scan rows.

:class:`TimelineAnalyzer` is an :class:`~kscand_perf.analysis.Analyzer` that also cuts
trace time into intervals of a fixed length (``--interval``) and keeps, per mm
lifetime, a bounded timeline of its scan ends and promotions. Like the analyzer it
does no I/O: a front end that wants each interval row as soon as it closes (a live
view through a pipe), or each scan end as it comes (the CSV's scans.csv), passes
callbacks (``on_row``, ``on_scan``), which the core calls and nothing more.

How intervals count (docs/report.md, "Over time"):

* Intervals are ``[origin + k * length, origin + (k + 1) * length)``, origin the time
  of the first kscand event the analysis keeps (sched events move no interval); every
  interval up to the last event is a row,
  empty or not (a run of more than :data:`EMPTY_RUN_LIMIT` empty intervals, a pause or a
  bogus timestamp, is one row spanning them). An event whose time is before the current
  interval (time going backwards) counts in the current one.
* A completed scan, its duration and the pages its end found count in the interval of
  its end; a not-due visit in the interval of its start. A start at the close of an
  interval may still be paired with an end: its row waits (is not handed to ``on_row``)
  until the next event of that kscand thread tells, a few ms later.
* Promotion attempts count in the interval of their migrate event.
* Rates are per second of the time an interval covers: its length, except for the last
  one, which covers up to the last kept event (``IntervalRow.covered_ns``).
* Time to promotion counts from the start of a lifetime's first completed scan that found
  pages: successes during that scan count, although its end comes after them.

Memory: an open interval holds a log-linear histogram (percentiles within 1%, bounded
by the range of the values); a closed row keeps a handful of integers and its log2
duration buckets. A timeline keeps at most :data:`TIMELINE_POINTS` scan ends per mm
lifetime (then every second one is dropped and only every second later end is kept),
and at most :data:`PROMOTION_BINS` bins of promotions (then neighbouring bins merge,
doubling their width).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from .analysis import Analyzer, AnalyzerConfig, MmState
from .filtered import FilteredAnalyzer
from .histogram import LogLinearHistogram

EMPTY_RUN_LIMIT = 1000
TIMELINE_POINTS = 1024
PROMOTION_BINS = 512
DEFAULT_INTERVAL_NS = 1000000000


@dataclasses.dataclass
class IntervalRow:
    """One interval of trace time. Durations in ns; ``log2`` as the analyzer's (bit
    length of duration // unit -> scans)."""

    start_ns: int
    end_ns: int
    scans: int = 0  # completed scans that ended here
    starts: int = 0  # scan starts seen here
    completed_from: int = 0  # completed scans whose start was seen here
    in_flight: int = 0  # starts seen here still pending when the recording ended
    pages_found: int = 0  # sum of the ends' total, every end
    ends: int = 0  # scan ends (completed or not)
    attempted: int = 0
    succeeded: int = 0
    failed_rc: Dict[int, int] = dataclasses.field(default_factory=dict)
    log2: Dict[int, int] = dataclasses.field(default_factory=dict)
    log2_ns: Dict[int, int] = dataclasses.field(default_factory=dict)  # bit length of ns
    histogram: Optional[LogLinearHistogram] = None  # while open
    # set when the row closes
    duration_count: int = 0
    duration_mean: Optional[float] = None
    duration_p99: Optional[int] = None
    duration_max: Optional[int] = None
    cumulative_succeeded: int = 0
    # pages queued for kmigrated and not yet attempted when the interval closed, over every
    # lifetime (kscand_perf.backlog)
    backlog_pages: int = 0
    # the time the interval covers, min(end, time_ns.last) - start (set at the end of
    # the trace for the intervals that reach past the last kept event; None: its length)
    covered_ns: Optional[int] = None
    # pages succeeded per mechanism (the kernel's migrate events; None without them)
    mechanisms: Optional[Dict[str, int]] = None

    @property
    def length_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def covered(self) -> int:
        return self.length_ns if self.covered_ns is None else self.covered_ns

    @property
    def not_due(self) -> int:
        """Unpaired starts seen here (the ones in flight at the end aside)."""
        return self.starts - self.completed_from - self.in_flight

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded

    def top_failure(self) -> Optional[Tuple[int, int]]:
        """(rc, count) of the most frequent failure; ties go to the smaller rc."""
        if not self.failed_rc:
            return None
        return min(self.failed_rc.items(), key=lambda kv: (-kv[1], kv[0]))

    def per_second(self, n: int) -> Optional[float]:
        """``n`` per second of the time the interval covers (None when it covers none)."""
        covered = self.covered
        return n * 1e9 / covered if covered > 0 else None

    def close(self, cumulative: int) -> None:
        h = self.histogram
        if h is not None and h.count:
            self.duration_count = h.count
            self.duration_mean = h.total / h.count
            self.duration_p99 = h.percentile(99)
            self.duration_max = h.max
        self.histogram = None
        self.cumulative_succeeded = cumulative


class ScanRow(NamedTuple):
    """One scan end, as scans.csv lists it (start_ns and duration_ns None for an end
    without its start). The owner is looked up at the end of the report."""

    mm: int
    generation: int
    start_ns: Optional[int]
    end_ns: int
    duration_ns: Optional[int]
    pages_found: int
    scan_period_ms: int
    scan_size: int
    target_node: int
    next_start: int  # the end's ``start`` field: where the next scan resumes (0: wrapped)


class MmTimeline:
    """The bounded timeline of one mm lifetime."""

    __slots__ = ("mm", "generation", "points", "stride", "ends_seen", "bin_ns", "bins",
                 "first_found_ns", "promotion_offsets", "promoted_before", "candidate",
                 "candidate_from")

    def __init__(self, mm: int, generation: int, bin_ns: int) -> None:
        self.mm = mm
        self.generation = generation
        # (end time, scan_period ms, scan_size bytes, pages found) at each kept end
        self.points: List[Tuple[int, int, int, int]] = []
        self.stride = 1  # every stride-th end is kept
        self.ends_seen = 0
        self.bin_ns = bin_ns
        self.bins: Dict[int, List[int]] = {}  # start // bin_ns -> [attempted, succeeded]
        self.first_found_ns: Optional[int] = None  # start of its first scan that found pages
        self.promotion_offsets = LogLinearHistogram()  # successes: time since first_found_ns
        self.promoted_before = 0  # successes before that scan (or with none)
        # until a scan has found pages: the successes since the mm's last start (kmigrated
        # promotes during the scan that finds the pages, before its end says so), as
        # offsets from that start; they move to promoted_before when another scan starts
        # or this one ends without pages
        self.candidate: Optional[LogLinearHistogram] = None
        self.candidate_from: Optional[int] = None

    def add_end(self, t: int, period: int, size: int, pages: int) -> None:
        n = self.ends_seen
        self.ends_seen += 1
        if n % self.stride:
            return
        self.points.append((t, period, size, pages))
        if len(self.points) >= TIMELINE_POINTS:
            self.points = self.points[::2]
            self.stride *= 2

    def add_migrate(self, t: int, ok: bool, started: Optional[int] = None) -> None:
        """A migrate event at ``t``; ``started``: the time of the mm's last scan start."""
        key = t // self.bin_ns
        b = self.bins.get(key)
        if b is None:
            if len(self.bins) >= PROMOTION_BINS:
                self._coarsen()
                key = t // self.bin_ns
                b = self.bins.get(key)
            if b is None:
                b = self.bins[key] = [0, 0]
        b[0] += 1
        if ok:
            b[1] += 1
            if self.first_found_ns is not None:
                if t < self.first_found_ns:
                    self.promoted_before += 1
                else:
                    self.promotion_offsets.add(t - self.first_found_ns)
                return
            if started != self.candidate_from:
                self._drop_candidate()
                self.candidate_from = started
            if started is None or t < started:
                self.promoted_before += 1
            else:
                if self.candidate is None:
                    self.candidate = LogLinearHistogram()
                self.candidate.add(t - started)

    def _drop_candidate(self) -> None:
        if self.candidate is not None:
            self.promoted_before += self.candidate.count
        self.candidate = None
        self.candidate_from = None

    def scan_end(self, began: Optional[int], total: int) -> None:
        """A scan end (``began``: its start, None without one) that found ``total`` pages."""
        if self.first_found_ns is not None or began is None or began != self.candidate_from:
            if began is not None and total > 0 and self.first_found_ns is None:
                self._drop_candidate()
                self.first_found_ns = began
            return
        if total > 0:
            self.first_found_ns = began
            if self.candidate is not None:
                self.promotion_offsets = self.candidate
            self.candidate = None
            self.candidate_from = None
        else:
            self._drop_candidate()

    def _coarsen(self) -> None:
        self.bin_ns *= 2
        merged: Dict[int, List[int]] = {}
        for key, (a, s) in self.bins.items():
            m = merged.setdefault(key // 2, [0, 0])
            m[0] += a
            m[1] += s
        self.bins = merged


class _Held(NamedTuple):
    row: IntervalRow
    pending: Tuple[Tuple[MmState, int, int], ...]  # (state, its visits, kscand pid)


class TimelineAnalyzer(Analyzer):
    """An Analyzer that also keeps interval rows, per-mm timelines and scan rows.

    Its state lives in one object (``timeline``, a :class:`Timeline`) so that the class
    combines with :class:`FilteredAnalyzer` (filters first, then this): no __slots__ of
    its own, as two bases with slots cannot be combined."""

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig(),
                 interval_ns: int = DEFAULT_INTERVAL_NS,
                 on_row: Optional[Callable[[IntervalRow], None]] = None,
                 on_scan: Optional[Callable[[ScanRow], None]] = None) -> None:
        super().__init__(config)
        self.tl = Timeline(self, interval_ns, on_row, on_scan)
        if not isinstance(self, FilteredAnalyzer):  # (filters come first there)
            self.scan_start = _fast_start(self)  # type: ignore[assignment]

    # the clock: every event moves it. scan_start is the hot path (most events of a
    # kscand trace): __init__ puts a closure in its place (see _fast_start).

    def scan_start(self, secs: int, nsecs: int, pid: int, mm: int) -> None:
        t = secs * 1000000000 + nsecs
        if t >= self.tl.next_ns:
            self.tl.roll(t)
        Analyzer.scan_start(self, secs, nsecs, pid, mm)

    def migrate(self, secs: int, nsecs: int, pid: int, mm: int, rc: int, target_node: int,
                msuccess: Optional[int] = None, mfailed: Optional[int] = None) -> None:
        tl = self.tl
        t = secs * 1000000000 + nsecs
        if t >= tl.next_ns:
            tl.roll(t)
        dups = self.duplicates.get("kmem_scan_mm_migrate", 0)
        Analyzer.migrate(self, secs, nsecs, pid, mm, rc, target_node, msuccess, mfailed)
        if self.duplicates.get("kmem_scan_mm_migrate", 0) != dups:
            return
        tl.migrate(t, self.mms[mm], rc)

    def scan_end(self, t: int, pid: int, mm: int, start: int, total: int,
                 scan_period: int, scan_size: int, target_node: int) -> None:
        tl = self.tl
        tl.tick(t)
        st = self.mms.get(mm)
        began: Optional[int] = None
        visits = 0
        done = 0
        if st is not None:
            visits = st.visits
            done = st.completed
            if st is self._pending and pid == self._pending_pid or self._others.get(pid) is st:
                began = st.start_s * 1000000000 + st.start_ns
        dups = self.duplicates.get("kmem_scan_mm_end", 0)
        Analyzer.scan_end(self, t, pid, mm, start, total, scan_period, scan_size, target_node)
        if self.duplicates.get("kmem_scan_mm_end", 0) != dups:
            return
        st = self.mms[mm]
        if st.completed == done:
            began = None  # an end without its start (or time went backwards)
        tl.scan_end(st, visits, pid, began, t, start, total, scan_period, scan_size,
                    target_node)

    def mm_enter(self, t: int, pid: int, comm: str, mm: int) -> None:
        self.tl.tick(t)
        Analyzer.mm_enter(self, t, pid, comm, mm)

    def mm_exit(self, t: int, pid: int, comm: str, mm: int) -> None:
        self.tl.tick(t)
        Analyzer.mm_exit(self, t, pid, comm, mm)

    def _start_dropped(self, st: MmState) -> None:
        self.tl.start_dropped(st)

    def finish(self) -> List[MmState]:
        self.tl.finish()
        return Analyzer.finish(self)


def _fast_start(an: TimelineAnalyzer) -> Callable[[int, int, int, int], None]:
    """``an.scan_start`` without a method call on top of Analyzer.scan_start: the clock
    check and the analyzer's own common case (a known mm, no duplicate, the same kscand
    thread: Analyzer.scan_start's body, kept equal by tests/test_timeline.py's property
    test), the rest handed to Analyzer.scan_start."""
    tl = an.tl
    mms = an.mms
    base = Analyzer.scan_start

    def scan_start(secs: int, nsecs: int, pid: int, mm: int) -> None:
        t = secs * 1000000000 + nsecs
        if t >= tl.next_ns:
            tl.roll(t)
        st = mms.get(mm)
        if st is None or pid != an._pending_pid or st is an._pending:
            base(an, secs, nsecs, pid, mm)  # new mm, other thread, maybe a duplicate
            return
        st.visits += 1
        st.start_s = secs
        st.start_ns = nsecs
        an._pending = st
    return scan_start


class FilteredTimelineAnalyzer(FilteredAnalyzer, TimelineAnalyzer):
    """--time/--node first (FilteredAnalyzer), then the timeline, then the analysis."""

    __slots__ = ()

    def __init__(self, config: AnalyzerConfig, interval_ns: int = DEFAULT_INTERVAL_NS,
                 on_row: Optional[Callable[[IntervalRow], None]] = None,
                 on_scan: Optional[Callable[[ScanRow], None]] = None) -> None:
        FilteredAnalyzer.__init__(self, config)  # (TimelineAnalyzer.__init__ through super)
        self.tl = Timeline(self, interval_ns, on_row, on_scan)


class Timeline:
    """The state over time of a :class:`TimelineAnalyzer` (see the module's docstring)."""

    __slots__ = ("analyzer", "interval_ns", "on_row", "on_scan", "origin", "next_ns",
                 "boundary", "current", "held", "rows", "cumulative", "visits_base",
                 "_retired_seen", "_frozen_visits", "timelines", "_finished")

    def __init__(self, analyzer: Analyzer, interval_ns: int,
                 on_row: Optional[Callable[[IntervalRow], None]],
                 on_scan: Optional[Callable[[ScanRow], None]]) -> None:
        if interval_ns <= 0:
            raise ValueError("interval must be > 0 ns")
        self.analyzer = analyzer
        self.interval_ns = interval_ns
        self.on_row = on_row
        self.on_scan = on_scan
        self.origin: Optional[int] = None
        self.next_ns = -(1 << 127)  # the first event sets the origin
        self.boundary = 0  # end of the current interval
        self.current: Optional[IntervalRow] = None
        self.held: List[_Held] = []  # closed rows not yet handed out, in order
        self.rows: List[IntervalRow] = []  # every closed row, handed out or not
        self.cumulative = 0
        self.visits_base = 0  # total scan starts when the current interval opened
        self._retired_seen = 0  # how many retired lifetimes _frozen_visits covers
        self._frozen_visits = 0
        self.timelines: Dict[Tuple[int, int], MmTimeline] = {}
        self._finished = False

    # -- the clock ------------------------------------------------------------------

    def tick(self, t: int) -> None:
        if t.__class__ is int and t >= self.next_ns:
            self.roll(t)

    def _total_visits(self) -> int:
        a = self.analyzer
        retired = a.retired
        for st in retired[self._retired_seen:]:
            self._frozen_visits += st.visits
        self._retired_seen = len(retired)
        return a.idle_visits + self._frozen_visits + sum(st.visits for st in a.mms.values())

    def _pending(self) -> List[Tuple[MmState, int, int]]:
        a = self.analyzer
        out = []
        if a._pending is not None:
            out.append((a._pending, a._pending.visits, a._pending_pid))
        for pid, st in a._others.items():
            out.append((st, st.visits, pid))
        return out

    def _still_pending(self, st: MmState, visits: int, pid: int) -> bool:
        a = self.analyzer
        if st.visits != visits:
            return False
        return (st is a._pending and pid == a._pending_pid) or a._others.get(pid) is st

    def roll(self, t: int) -> None:
        """Called before an event at ``t`` is analysed, when ``t`` passed the current
        interval's end or a closed row waits for a pending start."""
        if t.__class__ is not int or self._finished:
            return
        if self.origin is None:
            self.origin = t
            self.boundary = t + self.interval_ns
            self.current = IntervalRow(t, self.boundary)
            self.visits_base = self._total_visits()
        elif t >= self.boundary:
            self._close_current()
            backlog = self.current.backlog_pages if self.current is not None else 0
            k = (t - self.origin) // self.interval_ns
            start = self.origin + k * self.interval_ns
            gap = (start - self.boundary) // self.interval_ns
            if gap > EMPTY_RUN_LIMIT:
                self._queue(IntervalRow(self.boundary, start, backlog_pages=backlog), ())
            else:
                for i in range(gap):
                    s = self.boundary + i * self.interval_ns
                    self._queue(IntervalRow(s, s + self.interval_ns, backlog_pages=backlog),
                                ())
            self.boundary = start + self.interval_ns
            self.current = IntervalRow(start, self.boundary)
        self._release()
        self.next_ns = self.boundary if not self.held else -(1 << 127)

    def _close_current(self) -> None:
        row = self.current
        assert row is not None
        row.backlog_pages = sum(b.outstanding for b in self.analyzer.waiting)
        total = self._total_visits()
        row.starts += total - self.visits_base
        self.visits_base = total
        claimed = {(id(st), v) for h in self.held for st, v, _ in h.pending}
        pending = tuple(p for p in self._pending() if (id(p[0]), p[1]) not in claimed)
        self._queue(row, pending)

    def _queue(self, row: IntervalRow, pending: Tuple[Tuple[MmState, int, int], ...]) -> None:
        self.rows.append(row)
        self.held.append(_Held(row, pending))

    def _release(self, everything: bool = False) -> None:
        """Hand out, in order, the closed rows whose starts are all resolved."""
        n = 0
        for h in self.held:
            if not everything and any(self._still_pending(*p) for p in h.pending):
                break
            self.cumulative += h.row.succeeded
            h.row.close(self.cumulative)
            n += 1
            if self.on_row is not None:
                self.on_row(h.row)
        del self.held[:n]

    def _owner_row(self, st: MmState, visits: int) -> IntervalRow:
        """The row whose interval saw the start (``st`` at ``visits``)."""
        for h in self.held:
            for p in h.pending:
                if p[0] is st and p[1] == visits:
                    return h.row
        assert self.current is not None
        return self.current

    # -- events ---------------------------------------------------------------------

    def _timeline(self, st: MmState) -> MmTimeline:
        key = (st.mm, st.generation)
        tl = self.timelines.get(key)
        if tl is None:
            tl = self.timelines[key] = MmTimeline(st.mm, st.generation, self.interval_ns)
        return tl

    def migrate(self, t: int, st: MmState, rc: int) -> None:
        row = self.current
        if row is None:
            return
        row.attempted += 1
        if rc == 0:
            row.succeeded += 1
        else:
            row.failed_rc[rc] = row.failed_rc.get(rc, 0) + 1
        self._timeline(st).add_migrate(
            t, rc == 0, st.start_s * 1000000000 + st.start_ns if st.visits else None)

    def scan_end(self, st: MmState, visits: int, pid: int, began: Optional[int], t: int,
                 start: int, total: int, scan_period: int, scan_size: int,
                 target_node: int) -> None:
        row = self.current
        if row is None:
            return
        row.ends += 1
        row.pages_found += total
        duration = None
        if began is not None:
            duration = t - began
            row.scans += 1
            h = row.histogram
            if h is None:
                h = row.histogram = LogLinearHistogram()
            h.add(duration)
            unit = self.analyzer.config.unit_ns
            slot = (duration // unit).bit_length() if duration > 0 else 0
            row.log2[slot] = row.log2.get(slot, 0) + 1
            slot = duration.bit_length() if duration > 0 else 0
            row.log2_ns[slot] = row.log2_ns.get(slot, 0) + 1
            self._owner_row(st, visits).completed_from += 1
        tl = self._timeline(st)
        tl.add_end(t, scan_period, scan_size, total)
        tl.scan_end(began, total)
        if self.on_scan is not None:
            self.on_scan(ScanRow(st.mm, st.generation, began, t, duration, total,
                                 scan_period, scan_size, target_node, start))

    def start_dropped(self, st: MmState) -> None:
        """--node dropped a start with its end (st.visits already one less)."""
        for h in self.held:
            for p in h.pending:
                if p[0] is st and p[1] == st.visits + 1:
                    h.row.starts -= 1
                    self.visits_base -= 1
                    return

    def finish(self) -> None:
        if self._finished:
            return
        if self.current is not None:
            self._close_current()
            self.current = None
        last = self.analyzer.kept_last_ns()
        if last is not None:
            for row in self.rows:
                if row.end_ns > last:  # the last interval: it covers up to the last event
                    row.covered_ns = max(0, last - row.start_ns)
        in_flight = set()  # mms with a start still pending: in flight (one per mm)
        for h in self.held:
            for p in h.pending:
                if id(p[0]) not in in_flight and self._still_pending(*p):
                    in_flight.add(id(p[0]))
                    h.row.in_flight += 1
        self._release(everything=True)
        self._finished = True
        self.next_ns = 1 << 127


def make_analyzer(config: AnalyzerConfig, interval_ns: int = DEFAULT_INTERVAL_NS,
                  on_row: Optional[Callable[[IntervalRow], None]] = None,
                  on_scan: Optional[Callable[[ScanRow], None]] = None) -> TimelineAnalyzer:
    """A timeline analyzer for ``config``, filtering only when a filter is set."""
    if config.time_window_ns is not None or config.node is not None:
        return FilteredTimelineAnalyzer(config, interval_ns, on_row, on_scan)
    return TimelineAnalyzer(config, interval_ns, on_row, on_scan)


__all__ = ["EMPTY_RUN_LIMIT", "TIMELINE_POINTS", "PROMOTION_BINS", "IntervalRow", "ScanRow",
           "MmTimeline", "Timeline", "TimelineAnalyzer", "FilteredTimelineAnalyzer",
           "make_analyzer"]
