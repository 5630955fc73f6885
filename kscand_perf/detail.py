"""The report's kmigrated backlog and per-mm kscand detail (result model, built once).

Built from the lifetimes the report keeps (its ``busy_mms``: the selection's lifetimes with
a scan end or a migration) by :func:`backlog_report` and :func:`detail_report`; the rules
are docs/report.md's "kmigrated's backlog" and "Per mm" sections. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence

from .histogram import LogLinearHistogram
from .lifetime import MmState

PERCENTILES = (50, 90, 99)


@dataclasses.dataclass
class Dist:
    """A distribution of ns values: exact count/min/mean/max/total, percentiles from the
    log-linear buckets (within 1%), and the buckets themselves (for merge)."""

    count: int
    min: int
    mean: float
    max: int
    total: int
    percentiles: Dict[int, int]
    histogram: LogLinearHistogram


def dist(h: LogLinearHistogram) -> Optional[Dist]:
    if not h.count:
        return None
    assert h.min is not None and h.max is not None
    pct = {p: h.percentile(p) for p in PERCENTILES}
    return Dist(h.count, h.min, h.total / h.count, h.max, h.total,
                {p: v for p, v in pct.items() if v is not None}, h)


@dataclasses.dataclass
class QueueFigures:
    """Pages kscand queued for kmigrated against the attempts, for one lifetime or all."""

    queued: int = 0  # the scan ends' totals
    attempted: int = 0  # migrate events
    unqueued: int = 0  # attempts of pages the recording never saw queued
    never_attempted: int = 0  # still queued when the mm's lifetime ended
    queued_at_end: int = 0  # still queued when the recording ended (mm alive)
    peak: int = 0  # most pages queued and not yet attempted at a scan end (max over mms)
    batches: int = 0
    drained: int = 0
    unmeasured: int = 0  # drained, no wait (start unknown or drained at an unknown time)
    merged: int = 0
    left: int = 0  # still waiting when the lifetime ended
    first_wait: Optional[Dist] = None
    drain_wait: Optional[Dist] = None


@dataclasses.dataclass
class MmBacklog:
    """kmigrated's backlog of one mm lifetime."""
    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    figures: QueueFigures


@dataclasses.dataclass
class BacklogReport:
    """kmigrated's backlog: pages queued, attempted, and queue waits."""
    total: QueueFigures
    by_mm: List[MmBacklog]


def _figures(states: Sequence[MmState]) -> QueueFigures:
    out = QueueFigures()
    first = LogLinearHistogram()
    drain = LogLinearHistogram()
    for st in states:
        b = st.bq
        if b is None:
            continue
        out.queued += b.queued
        out.attempted += b.a
        out.unqueued += b.unqueued
        out.never_attempted += b.never_attempted
        out.queued_at_end += b.queued_at_end
        out.peak = max(out.peak, b.peak)
        out.batches += b.batches
        out.drained += b.drained
        out.unmeasured += b.unmeasured
        out.merged += b.merged
        out.left += b.left_batches
        first.merge(b.first_wait)
        drain.merge(b.drain_wait)
    out.first_wait = dist(first)
    out.drain_wait = dist(drain)
    return out


def backlog_report(busy: Sequence[MmState]) -> BacklogReport:
    """The backlog of the lifetimes ``busy`` (in order of appearance in the listing)."""
    rows = [MmBacklog(st.mm, st.generation, st.pid, st.comm, _figures([st]))
            for st in sorted(busy, key=lambda s: s.seq) if st.bq is not None]
    return BacklogReport(_figures(busy), rows)


@dataclasses.dataclass
class MmDetail:
    """What a kscand developer asks next of one mm lifetime."""
    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    attempted: int
    failures: Dict[int, int]  # rc -> migrate events (rc != 0)
    scan_period_ms: Optional[Dict[str, int]]  # reported at the ends: first/last/min/max
    scan_gap: Optional[Dist]  # between consecutive completed scans' starts
    visits: int  # scan starts (completed scans and not-due visits)
    span_ns: Optional[int]  # the part of the report's time the lifetime covers
    visits_per_second: Optional[float]


@dataclasses.dataclass
class DetailReport:
    """Failures, scan periods against gaps, and visits, per mm."""
    by_mm: List[MmDetail]


def detail_report(busy: Sequence[MmState], first_ns: Optional[int],
                  last_ns: Optional[int]) -> DetailReport:
    """Per-lifetime detail of ``busy``; ``first_ns``/``last_ns``: the report's time_ns."""
    rows = []
    for st in sorted(busy, key=lambda s: s.seq):
        m, e, b = st.migs, st.ends, st.bq
        period = None
        if e is not None and e.scan_period.count:
            v = e.scan_period
            assert v.first is not None and v.last is not None
            assert v.min is not None and v.max is not None
            period = {"first": v.first, "last": v.last, "min": v.min, "max": v.max}
        visits = st.visits - st.in_flight  # completed and not due: a start in flight is neither
        span = None
        rate = None
        if first_ns is not None and last_ns is not None:
            lo = max(first_ns, st.enter_ns if st.enter_ns is not None else first_ns)
            hi = min(last_ns, st.exit_ns if st.exit_ns is not None else last_ns)
            span = max(0, hi - lo)
            rate = round(visits * 1e9 / span, 3) if span > 0 else None
        rows.append(MmDetail(
            st.mm, st.generation, st.pid, st.comm,
            sum(m.by_rc.values()) if m is not None else 0,
            {rc: n for rc, n in sorted(m.by_rc.items()) if rc != 0} if m is not None else {},
            period, dist(b.gaps) if b is not None else None, visits, span, rate))
    return DetailReport(rows)
