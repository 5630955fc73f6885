"""Time to promotion by process: how soon each process's pages were promoted, by kscand
and by NUMA balancing together (docs/report.md, "Time to promotion by process").

The clock starts at the trace's first event (``trace_time_ns.first``): a workload that
kscand-record starts begins there, in every mode of an A/B, so the figures of two
recordings of the same workload compare. A page promoted by kscand is a
``kmem_scan_mm_migrate`` event with rc 0 of one of the process's mm lifetimes (its
owner); a page promoted by NUMA balancing is a page succeeded by an ``mm_migrate_pages``
call with reason ``numa_misplaced`` in the process's own context. ``p50_ns`` ... ``p99_ns``:
the time by which 50/90/99% of the process's promoted pages had moved (nearest rank,
from log-linear buckets: within 1%); ``last_ns``: the last one, exact.

The analysis keeps one log-linear histogram per lifetime with a promotion and per process
NUMA balancing promoted for: memory does not grow with the events. Pure: the session hands
over the lifetimes and NUMA balancing's rows.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Pattern, Sequence

from .histogram import LogLinearHistogram
from .lifetime import MmState
from .mechanisms import ProcessRow


@dataclasses.dataclass
class ProcessPromotion:
    """When 50/90/99% of one process's promoted pages had moved."""
    pid: int
    comm: str
    kscand_pages: int
    numa_balancing_pages: int
    p50_ns: Optional[int]
    p90_ns: Optional[int]
    p99_ns: Optional[int]
    last_ns: Optional[int]

    @property
    def pages(self) -> int:
        return self.kscand_pages + self.numa_balancing_pages


@dataclasses.dataclass
class PromotionTime:
    """The report's ``promotion_time``: processes by pages promoted, most first."""

    from_ns: Optional[int]  # the trace's first event: the clock's zero
    processes: List[ProcessPromotion]
    unknown_owner_kscand_pages: int  # promoted by kscand in lifetimes with no known owner


class _Acc:
    __slots__ = ("comm", "kscand", "nb", "times")

    def __init__(self, comm: str) -> None:
        self.comm = comm
        self.kscand = 0
        self.nb = 0
        self.times = LogLinearHistogram()


def promotion_time(busy: Iterable[MmState], numa_balancing: Dict[int, ProcessRow],
                   from_ns: Optional[int], pids: Optional[Sequence[int]] = None,
                   comm: Optional[Pattern[str]] = None) -> Optional[PromotionTime]:
    """``busy``: the lifetimes with a migration (the analysis's); ``numa_balancing``: NUMA
    balancing's rows with their times (the collector's); ``pids``/``comm``: --pid/--comm,
    which choose the processes listed. None when nothing was promoted."""
    by_pid: Dict[int, _Acc] = {}
    unknown = 0
    for st in busy:
        h = st.migs.promoted if st.migs is not None else None
        if h is None or not h.count:
            continue
        if st.pid is None:
            unknown += h.count
            continue
        acc = by_pid.get(st.pid)
        if acc is None:
            acc = by_pid[st.pid] = _Acc(st.comm or "?")
        acc.kscand += h.count
        acc.times.merge(h)
    for pid, row in numa_balancing.items():
        if row.times is None or not row.times.count:
            continue
        acc = by_pid.get(pid)
        if acc is None:
            acc = by_pid[pid] = _Acc(row.comm)
        acc.nb += row.times.count
        acc.times.merge(row.times)
    if not by_pid and not unknown:
        return None
    rows = []
    for pid, acc in by_pid.items():
        if pids is not None and pid not in pids:
            continue
        if comm is not None and not comm.search(acc.comm):
            continue
        t = acc.times
        rows.append(ProcessPromotion(pid, acc.comm, acc.kscand, acc.nb, t.percentile(50),
                                     t.percentile(90), t.percentile(99), t.max))
    rows.sort(key=lambda r: (-r.pages, r.pid))
    return PromotionTime(from_ns, rows, unknown)


def promotion_time_json(p: Optional[PromotionTime]) -> Optional[Dict[str, object]]:
    if p is None:
        return None
    return {"from_ns": p.from_ns,
            "processes": [{"pid": r.pid, "comm": r.comm, "kscand_pages": r.kscand_pages,
                           "numa_balancing_pages": r.numa_balancing_pages,
                           "p50_ns": r.p50_ns, "p90_ns": r.p90_ns, "p99_ns": r.p99_ns,
                           "last_ns": r.last_ns} for r in p.processes],
            "unknown_owner_kscand_pages": p.unknown_owner_kscand_pages}


__all__ = ["ProcessPromotion", "PromotionTime", "promotion_time", "promotion_time_json"]
