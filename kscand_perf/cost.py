"""What kscand and kmigrated cost in CPU time, from ``sched:sched_switch`` (docs/report.md,
"Cost").

kscand-record records the switches of the two kthreads (a perf ``--filter`` on
``prev_comm``/``next_comm``). A thread is on a CPU from the switch that names it as
``next`` until the switch that names it as ``prev``; its CPU time is the sum of those
intervals. The threads are found by the comm the switch events give them: ``kmigrated``
and ``kscand`` (the kthreads' names in the RFC), never by a pid given in advance.

An interval cut by the recording counts for the part inside it: a thread's first switch
that takes it off a CPU (no switch-in before it) counts from the start of the report's
time (the recording's first event, or --time's start), and a switch-in with no switch-out
after it counts up to the end (the recording's last event, or --time's end); the report
says how many such intervals there were. A switch-in while the thread is already on a CPU,
or a switch-out while it is off one (a lost event), restarts or drops the interval and is
counted (``unpaired``).

Pure: :func:`sched_switch` is the analyzer's handler (any front end calls it with the
event's time and fields); :class:`CpuTime` keeps a few integers per thread.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Protocol, Tuple

from .events import SCHED_SWITCH

SWITCH_EVENT = SCHED_SWITCH.full_name  # "sched:sched_switch"
THREADS = ("kscand", "kmigrated")

_OFF = -1


class Thread:
    """One kthread's on-CPU intervals (by pid)."""

    __slots__ = ("comm", "since", "total", "intervals", "head_out", "tail", "unpaired",
                 "seen")

    def __init__(self, comm: str) -> None:
        self.comm = comm
        self.since = _OFF  # switch-in time while on a CPU
        self.total = 0  # ns of complete intervals
        self.intervals = 0
        self.head_out: Optional[int] = None  # a first switch-out with no switch-in before it
        self.tail = False
        self.unpaired = 0
        self.seen = False


class CpuTime:
    """The switches of the kscand and kmigrated threads."""

    __slots__ = ("threads", "events")

    def __init__(self) -> None:
        self.threads: Dict[int, Thread] = {}
        self.events = 0

    def _thread(self, comm: str, pid: int) -> Thread:
        th = self.threads.get(pid)
        if th is None:
            th = self.threads[pid] = Thread(comm)
        return th

    def switch(self, t: int, prev_comm: str, prev_pid: int, next_comm: str,
               next_pid: int) -> None:
        self.events += 1
        if prev_comm in THREADS:
            th = self._thread(prev_comm, prev_pid)
            if th.since != _OFF:
                if t >= th.since:
                    th.total += t - th.since
                    th.intervals += 1
                else:
                    th.unpaired += 1
                th.since = _OFF
            elif not th.seen:
                th.head_out = t
            else:
                th.unpaired += 1
            th.seen = True
        if next_comm in THREADS:
            th = self._thread(next_comm, next_pid)
            if th.since != _OFF:
                th.unpaired += 1
            th.since = t
            th.seen = True


class Core(Protocol):
    """What the handler and :func:`report_cost` need of the analyzer (kscand_perf.analysis
    imports this module: no import back)."""

    cpu: "CpuTime"
    config: Any  # AnalyzerConfig: its node

    def clock(self, t: object) -> None: ...

    def other(self, name: str) -> None: ...

    def trace_times(self) -> Tuple[Optional[int], Optional[int]]: ...


@dataclasses.dataclass
class ThreadCost:
    """One kscand or kmigrated thread's CPU time from sched_switch."""
    comm: str
    pid: int
    cpu_ns: int
    intervals: int
    cut: int  # intervals cut by the start or the end of the report's time
    unpaired: int


def thread_costs(cpu: CpuTime, lo: Optional[int], hi: Optional[int]) -> List[ThreadCost]:
    """Each thread's CPU time, the cut intervals counted from ``lo`` / up to ``hi`` (the
    report's time range; None: unknown, the cut part is not counted)."""
    out = []
    for pid, th in sorted(cpu.threads.items()):
        ns, n, cut = th.total, th.intervals, 0
        if th.head_out is not None:
            cut += 1
            if lo is not None and th.head_out > lo:
                ns += th.head_out - lo
        if th.since != _OFF:
            cut += 1
            if hi is not None and hi > th.since:
                ns += hi - th.since
        out.append(ThreadCost(th.comm, pid, ns, n, cut, th.unpaired))
    return out


@dataclasses.dataclass
class Cost:
    """kscand's and kmigrated's CPU time and CPU per promoted page."""
    kscand_scan_cpu_ns: int
    kmigrated_cpu_ns: Optional[int]
    kmigrated_pids: List[int]
    kscand_cpu_ns_switch: Optional[int]
    promoted_pages: int
    per_page_us: Dict[str, Optional[float]]  # kscand_scan, kmigrated, total
    notes: List[str]


def _per_page(ns: Optional[int], pages: int) -> Optional[float]:
    return None if ns is None or not pages else round(ns / 1000.0 / pages, 3)


def build(cpu: CpuTime, scan_ns: int, promoted: int, span: Tuple[Optional[int], Optional[int]],
          per_page_why: Optional[str]) -> Cost:
    """The report's ``cost``: ``scan_ns`` the kept scans' durations, ``promoted`` the kept
    successes, ``span`` the report's time range for cut intervals; ``per_page_why``: why
    the per-page figures are null (a selection that kmigrated's time does not follow)."""
    notes: List[str] = []
    threads = thread_costs(cpu, *span)
    km = [c for c in threads if c.comm == "kmigrated"]
    ks = [c for c in threads if c.comm == "kscand"]
    if not cpu.events:
        notes.append("no sched:sched_switch events: kmigrated's CPU time needs them "
                     "(kscand-record records them unless --light)")
    else:
        if not km:
            notes.append("no sched:sched_switch event names kmigrated: its CPU time is unknown")
        if not ks:
            notes.append("no sched:sched_switch event names kscand: its switch-measured CPU "
                         "time is unknown")
    cut = sum(c.cut for c in threads)
    if cut:
        notes.append("on-CPU intervals cut by the start or end of the report's time, counted "
                     "for the part inside it: %d" % cut)
    unpaired = sum(c.unpaired for c in threads)
    if unpaired:
        notes.append("switches that did not pair (lost events?), their intervals not counted: %d"
                     % unpaired)
    km_ns = sum(c.cpu_ns for c in km) if km else None
    ks_ns = sum(c.cpu_ns for c in ks) if ks else None
    per_page: Dict[str, Optional[float]] = {"kscand_scan": None, "kmigrated": None,
                                            "total": None}
    if per_page_why is not None:
        notes.append("CPU per promoted page not given: " + per_page_why)
    elif not promoted:
        notes.append("CPU per promoted page not given: no page was promoted")
    else:
        per_page["kscand_scan"] = _per_page(scan_ns, promoted)
        per_page["kmigrated"] = _per_page(km_ns, promoted)
        per_page["total"] = _per_page(None if km_ns is None else scan_ns + km_ns, promoted)
    return Cost(scan_ns, km_ns, [c.pid for c in km], ks_ns, promoted, per_page, notes)


def sched_switch(an: Core, t: int, prev_comm: str, prev_pid: int, next_comm: str,
                 next_pid: int) -> None:
    """The analyzer's handler of ``sched:sched_switch`` (raises on bad fields, having
    changed nothing: the front end counts the event as bad)."""
    an.clock(t)
    for v in (t, prev_pid, next_pid):
        if v.__class__ is not int:
            raise TypeError("expected an integer field, got %r" % (v,))
    for s in (prev_comm, next_comm):
        if s.__class__ is not str:
            raise TypeError("expected a string field, got %r" % (s,))
    keep = getattr(an, "_keep_sched", None)  # FilteredAnalyzer: --time's window
    if keep is not None and not keep(t):
        return
    an.other(SWITCH_EVENT)
    an.cpu.switch(t, prev_comm, prev_pid, next_comm, next_pid)


def report_cost(an: Core, scan_ns: int, promoted: int, selected: bool) -> Cost:
    """The ``cost`` of a report on ``an`` (after finish): ``scan_ns`` and ``promoted`` are
    the report's (its selection's); ``selected``: --pid/--comm/--mm chose mms."""
    first, last = an.trace_times()
    window = getattr(an, "window_ns", None)  # --time, resolved (FilteredAnalyzer)
    lo, hi = first, last
    if window is not None:
        lo = window[0] if lo is None else max(lo, window[0])
        hi = window[1] if hi is None else min(hi, window[1])
    why = None
    if selected:
        why = ("--pid/--comm/--mm choose mms, and kscand's and kmigrated's CPU time is not "
               "per mm")
    elif an.config.node is not None:
        why = "--node chooses one node's migrations, and kmigrated's CPU time is not per node"
    return build(an.cpu, scan_ns, promoted, (lo, hi), why)
