"""The analysis core: kscand events in, per-mm state out.

:class:`Analyzer` is fed one event at a time by a front end (the perf script,
the tests, a future perf.data reader) and keeps only per-mm state and bounded
histograms. Nothing here does I/O; :mod:`kscand_perf.report` turns the state
into the result model.

The rules follow the tracepoints' semantics (see docs/ and the README):

* Scan pairing: a kmem_scan_mm_start pairs with the next kmem_scan_mm_end of
  the same mm from the same kscand thread when no other start came between
  them (a completed scan). A start followed by another start, or by the end
  of the trace, is a not-due visit. An end with no such start is an orphan
  end (its start came before the recording).
* mm lifetimes are keyed by (pointer, generation): generation 0 where a
  pointer first appears, a new generation at each later kmem_mm_enter of it.
  Events after an exit and before the next enter stay with the old one.
* Owner attribution: the task that fired the mm's kmem_mm_exit; otherwise a
  kmem_mm_enter paired with the next sched_process_fork (the child) or
  sched_process_exec (the new program) of the same task.
* Migrations: msuccess + mfailed count the attempts of a kmigrated batch;
  it restarts at 1 for each pass and every 1024 attempts, so any other step
  means lost (or duplicated) events and is counted; except the first migrate
  of an mm the recording never saw entering, whose batch began before the
  recording did.
* Several kscand threads: a start pairs with the next end from its own thread.
* perf 6.1's duplicated samples (the same event twice, same time and payload)
  are counted as duplicates and otherwise ignored.
* Process churn: a lifetime with no scan end and no migration costs no object
  once its pointer is handed to the next mm: it is folded into a compact row
  (:class:`IdleRows`, a few machine integers) and the totals.

Every event handed to the analyzer lands in exactly one count: analysed
(``events``), ``other_events``, ``bad_events``, ``duplicates``,
``filtered_events`` or ``non_tracepoint`` (see :meth:`Analyzer.accounting`).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple, Union

from .backlog import Backlog
from .cost import CpuTime
from .forks import ForkRates
from .histogram import LogLinearHistogram
from .lifetime import EndStats as EndStats
from .lifetime import IdleLifetime as IdleLifetime  # noqa: F401  (re-exported)
from .lifetime import IdleRows as IdleRows
from .lifetime import Lifetime as Lifetime
from .lifetime import MigStats as MigStats
from .lifetime import MmState as MmState
from .lifetime import ValueStats as ValueStats  # noqa: F401  (re-exported)
from .lifetime import idle_view as idle_view  # noqa: F401  (re-exported)
from .lifetime import in_order, in_order_runs

S32_BIAS = 1 << 32
S32_MAX = (1 << 31) - 1
NO_TIME = (1 << 64) - 1  # perf's "no time" (a sample without PERF_SAMPLE_TIME)


def _check_ints(*values: object) -> None:
    """Refuse non-integer field values before any state changes (bad data is counted
    by the front end, and must not reach the report)."""
    for v in values:
        if v.__class__ is not int:
            raise TypeError("expected an integer field, got %r" % (v,))


def _check_str(value: object) -> None:
    if value.__class__ is not str:
        raise TypeError("expected a string field, got %r" % (value,))


class BadValue(ValueError):
    """A field value that cannot be true (the message says which; it names the reason
    the report gives for skipping the event)."""


def bad_reason(exc: BaseException) -> str:
    """Why an event was skipped, for the report's notes: a few fixed phrases."""
    if isinstance(exc, BadValue):
        return str(exc)
    return "missing or non-integer fields"


def s32(value: int) -> int:
    """An ``int`` trace field as a signed value: perf up to 7.3 zero-extends them (fixed by
    patch/perf/0001); kept for older perfs, a no-op on a value already signed."""
    return value - S32_BIAS if value > S32_MAX else value


@dataclasses.dataclass(frozen=True)
class AnalyzerConfig:
    """What the analyzer needs to know up front (parsed once from the options)."""

    unit_ns: int = 1000  # log2 histograms count durations in this unit (1000: us)
    linear_width_ns: Optional[int] = None  # also keep linear duration buckets of this width
    time_window_ns: Optional[Tuple[int, int]] = None  # keep events with start <= t < end
    # each end of the window relative to the recording's first event (--time +START,+END)
    time_relative: Tuple[bool, bool] = (False, False)
    node: Optional[int] = None  # keep only scans ending on / migrations to this node


class Analyzer:
    """Feeds kscand (and sched) events into per-mm state. Methods never do I/O.

    Times are integer nanoseconds, except for the two hot events (scan_start,
    migrate) which take perf's seconds and nanoseconds as they come; values are
    already signed where the field is a C ``int`` (see :func:`s32`). Use
    :func:`make_analyzer` to get one that also applies the configured filters.
    A method that raises has changed nothing: the front end counts the event as
    bad (:meth:`bad`).
    """

    __slots__ = ("mms", "_pending", "_pending_pid", "config", "_linear", "_unit", "retired",
                 "_enter_by_pid", "events", "other_events", "bad_events", "filtered_events",
                 "first_ns", "last_ns", "duplicate_exits", "orphan_end_pid_mismatch",
                 "_others", "scan_threads", "duplicates", "non_tracepoint", "bad_reasons",
                 "idle", "idle_visits", "_seq", "_finished", "_comm_by_pid",
                 "clock_first_ns", "clock_last_ns", "hidden", "waiting", "cpu", "forks")

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig()) -> None:
        self.config = config
        self._linear = config.linear_width_ns
        self._unit = config.unit_ns
        self.mms: Dict[int, MmState] = {}  # pointer -> current generation
        self.retired: List[MmState] = []  # earlier generations with a scan end or migration
        self.idle = IdleRows()  # earlier generations kscand only visited, folded
        self.idle_visits = 0  # their starts
        self._seq = 0  # lifetimes created so far
        self._pending: Optional[MmState] = None  # the mm of the last start ...
        self._pending_pid = -1  # ... on this kscand thread
        self._others: Dict[int, MmState] = {}  # other kscand threads' pending starts
        self.scan_threads: Set[int] = set()  # pids that fired kmem_scan_mm_start
        self.forks = ForkRates()  # forks per parent task (a note on NUMA balancing)
        self._enter_by_pid: Dict[int, MmState] = {}
        self.events: Dict[str, int] = {"kmem_mm_enter": 0, "kmem_mm_exit": 0}
        self.other_events: Dict[str, int] = {}
        self.bad_events: Dict[str, int] = {}
        self.bad_reasons: Dict[str, int] = {}
        self.duplicates: Dict[str, int] = {}  # perf's duplicated samples, ignored
        self.non_tracepoint: Dict[str, int] = {}  # samples of non-tracepoint events
        self.filtered_events = 0
        self.first_ns: Optional[int] = None
        self.last_ns: Optional[int] = None
        # first and last time of the events :meth:`clock` saw (every event but the kept
        # scan starts and migrates, whose times first_ns/last_ns cover): trace_times()
        self.clock_first_ns: Optional[int] = None
        self.clock_last_ns: Optional[int] = None
        self.hidden = 0  # lifetimes known only from events --time dropped (not listed)
        self.duplicate_exits = 0
        self.orphan_end_pid_mismatch = 0
        self._finished: Optional[List[MmState]] = None
        self.waiting: Set[Backlog] = set()  # lifetimes with pages queued for kmigrated
        self.cpu = CpuTime()  # kscand's and kmigrated's switches (cost.sched_switch)
        # the last name each live task was seen with (mm events, sched fork/exec): perf 6.12
        # and later forget a task at its EXIT record, which can come before the task's
        # kmem_mm_exit, and then name it ":PID"; entries go at each kmem_mm_exit
        self._comm_by_pid: Dict[int, str] = {}

    # -- helpers -----------------------------------------------------------

    def _new(self, mm: int, t: int) -> MmState:
        """A pointer seen for the first time: generation 0."""
        st = self.mms[mm] = MmState(mm, 0, t, self._seq)
        self._seq += 1
        if self.first_ns is None:
            self.first_ns = t
        return st

    def _seen(self, t: int) -> None:
        if self.first_ns is None:
            self.first_ns = t
        if self.last_ns is None or t > self.last_ns:
            self.last_ns = t

    def _duplicate(self, name: str) -> None:
        self.duplicates[name] = self.duplicates.get(name, 0) + 1

    def clock(self, t: object) -> None:
        """The time of an event perf handed the report, whatever becomes of it (for
        trace_time_ns). The hot paths call it only when they fail (see trace_times)."""
        if t.__class__ is not int or t == NO_TIME:
            return
        f = self.clock_first_ns
        if f is None or t < f:  # type: ignore[operator]
            self.clock_first_ns = t  # type: ignore[assignment]
        last = self.clock_last_ns
        if last is None or t > last:  # type: ignore[operator]
            self.clock_last_ns = t  # type: ignore[assignment]

    def _clock_kept(self, t: int) -> None:
        """:meth:`clock` for an event whose time (an int) :meth:`_seen` takes too, unless
        it is a duplicate of one it took: its last is then last_ns's (see trace_times)."""
        f = self.clock_first_ns
        if (f is None or t < f) and t != NO_TIME:
            self.clock_first_ns = t

    def since_first(self, t: int) -> int:
        """``t`` from the first event seen so far: the trace's first (perf hands the
        events over in time order); 0 for the first event itself."""
        f, c = self.first_ns, self.clock_first_ns
        origin = c if f is None or (c is not None and c < f) else f
        return 0 if origin is None or t < origin else t - origin

    def _clock_parts(self, secs: object, nsecs: object) -> None:
        if secs.__class__ is int and nsecs.__class__ is int:
            self.clock(secs * 1000000000 + nsecs)  # type: ignore[operator]

    def trace_times(self) -> Tuple[Optional[int], Optional[int]]:
        """First and last timestamp of every event perf handed the report (any type,
        before any filter). Call after :meth:`finish`. The kept scan starts and migrates
        are not clocked one by one (the hot paths): first_ns/last_ns cover them."""
        firsts = [t for t in (self.first_ns, self.clock_first_ns) if t is not None]
        lasts = [t for t in (self.last_ns, self.clock_last_ns) if t is not None]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def unhandled_event(self, t: object) -> None:
        """An event of a type the report does not read (its count is the front end's)."""
        self.clock(t)

    def _unpend(self, st: MmState) -> bool:
        """Forget a pending start of ``st`` (any thread); True if there was one."""
        if st is self._pending:
            self._pending = None
            return True
        for pid, other in self._others.items() if self._others else ():
            if other is st:
                del self._others[pid]
                return True
        return False

    def _is_pending(self, st: MmState) -> bool:
        return st is self._pending or bool(self._others) and any(
            o is st for o in self._others.values())

    def _switch_thread(self, pid: int) -> None:
        """A start from another kscand thread than the last one (rare: one thread, or
        several interleaving): keep the last thread's pending start apart."""
        _check_ints(pid)
        if self._pending is not None:
            self._others[self._pending_pid] = self._pending
        else:
            self._others.pop(self._pending_pid, None)
        self._pending = self._others.pop(pid, None)
        self._pending_pid = pid
        self.scan_threads.add(pid)

    def _retire(self, old: MmState) -> None:
        """``old``'s pointer goes to a new mm: its lifetime is over. One kscand only
        visited costs no object from now on."""
        if old.migs is not None:
            old.migs.close_batch()
        if old.bq is not None:
            old.bq.close(True)  # its pointer went to a new mm: it is gone
        idle = old.ends is None and old.migs is None  # (old.idle, old.visible in line)
        if not (old.shown or old.visits > 0 or not idle):
            self.hidden += 1  # known only from events outside --time: not listed
            return
        if idle and old.exits <= 1 and self.idle.add(old):
            self.idle_visits += old.visits
            if old.enter_pid is not None and self._enter_by_pid.get(old.enter_pid) is old:
                del self._enter_by_pid[old.enter_pid]
        else:
            self.retired.append(old)

    # -- kmem events -------------------------------------------------------

    def mm_enter(self, t: int, pid: int, comm: str, mm: int) -> None:
        if (t.__class__ is not int or pid.__class__ is not int or mm.__class__ is not int
                or comm.__class__ is not str):
            self.clock(t)
            _check_ints(t, pid, mm)
            _check_str(comm)
        self._clock_kept(t)
        old = self.mms.get(mm)
        if old is not None and old.enter_ns == t and old.enter_pid == pid:
            self._duplicate("kmem_mm_enter")
            return
        self._seen(t)
        self.events["kmem_mm_enter"] += 1
        st = self._enter(t, pid, comm, mm, old)
        st.enter_ns = t

    def _enter(self, t: int, pid: int, comm: str, mm: int, old: Optional[MmState],
               silent: bool = False) -> MmState:
        """A new lifetime of pointer ``mm`` (``old``: its current one) entered by ``pid``
        (``silent``: an event --time dropped, read only for the owner)."""
        if old is None:
            st = self._silent_new(mm, t) if silent else self._new(mm, t)
        else:
            # a start of the old lifetime that never got its end: a not-due visit (kept:
            if self._unpend(old):  # time_ns covers it even when --time dropped this enter)
                self._seen(old.start_s * 1000000000 + old.start_ns)
            self._retire(old)
            st = self.mms[mm] = MmState(mm, old.generation + 1, t, self._seq)
            self._seq += 1
        st.enter_pid = pid
        st.enter_comm = comm
        self._enter_by_pid[pid] = st
        if comm[:1] != ":" or comm != ":%d" % pid:  # (":PID": perf's name of a gone task)
            self._comm_by_pid[pid] = comm
        return st

    def _exit_comm(self, pid: int, comm: str) -> str:
        known = self._comm_by_pid.pop(pid, None)
        if known is not None and comm[:1] == ":" and comm == ":%d" % pid:
            comm = known  # what perf 6.1 names it (see _comm_by_pid)
        return comm

    def owner_event(self, kind: str, t: int, pid: int, a: Any, b: Any) -> None:
        """An event that --time dropped, read only for who owns which mm (lifetimes and
        owners come from the whole recording): kind "enter"/"exit" (a: comm, b: mm),
        "fork" (a: child pid, b: child comm), "exec" (a: filename, b: pid). Counts
        nothing; bad data is ignored (the event is counted as filtered)."""
        try:
            if kind == "enter":
                _check_ints(t, pid, b)
                _check_str(a)
                old = self.mms.get(b)
                if old is not None and old.first_ns == t and old.enter_pid == pid:
                    return  # a duplicated sample
                self._enter(t, pid, a, b, old, silent=True).shown = False
            elif kind == "exit":
                _check_ints(t, pid, b)
                _check_str(a)
                cur = self.mms.get(b)
                st = cur if cur is not None else self._silent_new(b, t)
                if st.exit_pid is None:
                    st.exit_pid = pid
                    st.exit_comm = self._exit_comm(pid, a)
            elif kind == "fork":
                _check_ints(pid, a)
                _check_str(b)
                self._own(pid, a, b)
            elif kind == "exec":
                _check_ints(pid, b)
                _check_str(a)
                self._own(pid, b, os.path.basename(a)[:15])
        except (TypeError, ValueError):
            pass

    def scan_event_dropped(self, mm: object, t: object) -> None:
        """A scan or migrate event that --time dropped: a pointer seen for the first time
        starts its generation 0 there, as in the whole recording."""
        if mm.__class__ is int and t.__class__ is int and mm not in self.mms:
            self._silent_new(mm, t)  # type: ignore[arg-type]

    def _silent_new(self, mm: int, t: int) -> MmState:
        st = self.mms[mm] = MmState(mm, 0, t, self._seq)
        self._seq += 1
        st.shown = False
        return st

    def mm_exit(self, t: int, pid: int, comm: str, mm: int) -> None:
        if (t.__class__ is not int or pid.__class__ is not int or mm.__class__ is not int
                or comm.__class__ is not str):
            self.clock(t)
            _check_ints(t, pid, mm)
            _check_str(comm)
        self._clock_kept(t)
        st = self.mms.get(mm)
        if st is not None and st.exit_ns == t and st.exit_pid == pid:
            self._duplicate("kmem_mm_exit")
            return
        self._seen(t)
        self.events["kmem_mm_exit"] += 1
        comm = self._exit_comm(pid, comm)
        if st is None:
            st = self._new(mm, t)
        st.shown = True
        st.exits += 1
        if st.exits > 1:
            self.duplicate_exits += 1
            return
        st.exit_ns = t
        st.exit_pid = pid
        st.exit_comm = comm
        if self._is_pending(st):
            st.exit_visit = st.visits

    def scan_start(self, secs: int, nsecs: int, pid: int, mm: int) -> None:
        """The hot path: most events of a kscand trace are starts, hundreds of thousands
        a second. So the time comes as perf gives it (seconds and nanoseconds, no
        arithmetic) and a start costs one increment, three stores and three compares."""
        st = self.mms.get(mm)
        if st is None:
            try:
                _check_ints(secs, nsecs, pid, mm)
            except TypeError:
                self._clock_parts(secs, nsecs)
                raise
            st = self._new(mm, secs * 1000000000 + nsecs)
        elif (st is self._pending and nsecs == st.start_ns and secs == st.start_s
              and pid == self._pending_pid):
            self._duplicate("kmem_scan_mm_start")
            return
        if pid != self._pending_pid:
            try:
                self._switch_thread(pid)
            except TypeError:
                self._clock_parts(secs, nsecs)
                raise
        st.visits += 1  # not-due visits are derived: visits - completed
        st.start_s = secs
        st.start_ns = nsecs
        self._pending = st

    def start_handler(self, slow: Callable[..., None]) -> Callable[..., None]:
        """A handler of kmem_scan_mm_start in perf script's calling convention (event name,
        context, cpu, seconds, nanoseconds, pid, comm, callchain, mm, ...) that does the
        usual start (a known mm, the same kscand thread, no repeat of the pending start:
        :meth:`scan_start`'s own common case) in line, one Python call per event instead of
        two; any other start goes to ``slow``, the front end's handler. A subclass whose
        scan_start does more (--interval, --time, --node) gets ``slow`` itself."""
        if type(self).scan_start is not Analyzer.scan_start:
            return slow
        mms = self.mms

        def handler(event_name: str, context: object, cpu: object, secs: int, nsecs: int,
                    pid: int, comm: object, callchain: object, mm: object = None,
                    *extra: object) -> None:
            try:
                st = mms[mm]  # type: ignore[index]
            except Exception:  # a new mm (or no usable one): the whole path
                slow(event_name, context, cpu, secs, nsecs, pid, comm, callchain, mm, *extra)
                return
            if pid != self._pending_pid or (st is self._pending and nsecs == st.start_ns
                                            and secs == st.start_s):
                slow(event_name, context, cpu, secs, nsecs, pid, comm, callchain, mm, *extra)
                return
            st.visits += 1  # (as in scan_start)
            st.start_s = secs
            st.start_ns = nsecs
            self._pending = st
        return handler

    def scan_end(self, t: int, pid: int, mm: int, start: int, total: int,
                 scan_period: int, scan_size: int, target_node: int) -> None:
        self.clock(t)
        _check_ints(t, pid, mm, start, total, scan_period, scan_size, target_node)
        st = self.mms.get(mm)
        key = (t, pid, start, total, scan_period, scan_size, target_node)
        if st is not None and st.ends is not None and st.ends.last_end == key:
            self._duplicate("kmem_scan_mm_end")
            return
        self._seen(t)
        if st is None:
            st = self._new(mm, t)
        ends = st.ends
        if ends is None:
            ends = st.ends = EndStats(self._linear)
        ends.last_end = key
        began = None
        if st is self._pending and pid == self._pending_pid:
            self._pending = None
            began = st.start_s * 1000000000 + st.start_ns
        elif self._others.get(pid) is st:
            del self._others[pid]
            began = st.start_s * 1000000000 + st.start_ns
        elif self._is_pending(st):
            self.orphan_end_pid_mismatch += 1
        if began is not None and t < began:
            # time went backwards: no duration; the start stays a not-due visit
            ends.backwards += 1
            began = None
        if began is not None:
            duration = t - began
            st.completed += 1
            ends.durations.add(duration)
            slot = (duration // self._unit).bit_length() if duration > 0 else 0
            ends.log2[slot] = ends.log2.get(slot, 0) + 1
            if ends.linear is not None:
                ends.linear.add(duration)
            if st.exit_visit == st.visits:
                ends.exited_during_scan += 1
        else:
            ends.orphan_ends += 1
        if st.bq is None:
            st.bq = Backlog(self.waiting)
        m = st.migs
        st.bq.end(began, total, m.last_s * 1000000000 + m.last_ns if m is not None else 0)
        ends.pages_found += total
        if start == 0:
            ends.full_passes += 1
            if ends.last_wrap_ns is not None:
                ends.pass_ns.add(t - ends.last_wrap_ns)
            ends.last_wrap_ns = t
        ends.scan_period.add(scan_period, t)
        ends.scan_size.add(scan_size, t)
        nodes = ends.target_nodes
        nodes[target_node] = nodes.get(target_node, 0) + 1

    def migrate(self, secs: int, nsecs: int, pid: int, mm: int, rc: int, target_node: int,
                msuccess: Optional[int] = None, mfailed: Optional[int] = None) -> None:
        """The other hot path (kmigrated works in bursts of 100k+ attempts a second): the
        time comes as perf gives it and is computed only at a batch's first and last page.
        msuccess/mfailed are None for RFC V1/V2 events, which have no such fields."""
        try:
            if msuccess is not None and mfailed is not None:
                n: Optional[int] = msuccess + mfailed
                if n.__class__ is not int:
                    raise TypeError("msuccess/mfailed: expected integers, got %r, %r"
                                    % (msuccess, mfailed))
                if msuccess < 0 or mfailed < 0:
                    raise BadValue("negative msuccess or mfailed")
            elif msuccess is None and mfailed is None:
                n = None
            else:
                raise TypeError("msuccess and mfailed: one is missing")
            st = self.mms.get(mm)
            if st is None:
                _check_ints(secs, nsecs, pid, mm)
                st = self._new(mm, secs * 1000000000 + nsecs)
            migs = st.migs
            if migs is None:
                _check_ints(secs, nsecs, target_node, rc)
                migs = st.migs = MigStats()
                if st.bq is None:
                    st.bq = Backlog(self.waiting)
                if n is not None and n != 1 and st.enter_ns is None:
                    # the first migrate of an mm whose enter was not kept (it came before
                    # the recording or --time's window): kmigrated may have been in the
                    # middle of a batch when the events the report counts began
                    migs.begun_before += 1
                    migs.partial = True
                    migs.batch_last = n - 1
            elif (nsecs == migs.last_ns and secs == migs.last_s and n == migs.batch_last
                  and rc == migs.last_rc and target_node == migs.last_node and n is not None):
                self._duplicate("kmem_scan_mm_migrate")
                return
            node = migs.by_node.get(target_node)
            if node is None:
                _check_ints(secs, nsecs, target_node, rc)
                node = migs.by_node[target_node] = [0, 0]
            by_rc = migs.by_rc
            n_rc = by_rc.get(rc)
            if n_rc is None:
                _check_ints(rc)
                n_rc = 0
            by_rc[rc] = n_rc + 1
            node[0] += 1
            if rc == 0:
                node[1] += 1
                h = migs.promoted
                if h is None:
                    h = migs.promoted = LogLinearHistogram()
                h.add(self.since_first(secs * 1000000000 + nsecs))
            if n is None:
                migs.v2_events += 1
            else:
                if n == 1:
                    migs.close_batch()
                    migs.batches += 1
                elif n != migs.batch_last + 1:
                    migs.sequence_breaks += 1
                    if not migs.batch_last:
                        migs.partial = True  # no batch began at 1: its size is unknown
                migs.batch_last = n
            migs.last_s = secs
            migs.last_ns = nsecs
            migs.last_rc = rc
            migs.last_node = target_node
            bq = st.bq  # kmigrated's queue: hit() at a batch's first and last page
            bq.a += 1  # type: ignore[union-attr]
            if bq.a == bq.mark:  # type: ignore[union-attr]
                bq.hit(secs * 1000000000 + nsecs)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            self._clock_parts(secs, nsecs)  # (bad data: its time for trace_time_ns)
            raise

    # -- other events ------------------------------------------------------

    def sched_fork(self, t: int, pid: int, child_pid: int, child_comm: str) -> None:
        self.clock(t)
        _check_ints(pid, child_pid)
        _check_str(child_comm)
        self._attribute("sched:sched_process_fork", pid, child_pid, child_comm)
        self.forks.fork(t, pid)

    def sched_exec(self, t: int, pid: int, filename: str, exec_pid: int) -> None:
        self.clock(t)
        _check_ints(pid, exec_pid)
        _check_str(filename)
        self._attribute("sched:sched_process_exec", pid, exec_pid,
                        os.path.basename(filename)[:15])

    def sched_exit(self, t: int, pid: int) -> None:
        """Counted only (an exit names its mm through kmem_mm_exit)."""
        self.clock(t)
        self._count_other("sched:sched_process_exit")

    def _attribute(self, event: str, pid: int, owner_pid: int, owner_comm: str) -> None:
        """The mm that task ``pid`` entered last (a fork or exec) belongs to this owner."""
        self._count_other(event)
        self._own(pid, owner_pid, owner_comm)

    def _own(self, pid: int, owner_pid: int, owner_comm: str) -> None:
        self._comm_by_pid[owner_pid] = owner_comm
        st = self._enter_by_pid.pop(pid, None)
        if st is not None:
            st.sched_pid = owner_pid
            st.sched_comm = owner_comm

    def other(self, name: str) -> None:
        self._count_other(name)

    def _count_other(self, name: str) -> None:
        self.other_events[name] = self.other_events.get(name, 0) + 1

    def bad(self, name: str, exc: Optional[BaseException] = None,
            t: Optional[int] = None) -> None:
        """An event whose data could not be used (wrong type, missing field, impossible
        value): ``exc`` is what the analyzer raised for it; ``t`` its time where the
        front end knows it (perf script's handlers)."""
        if t is not None:
            self.clock(t)
        self.bad_events[name] = self.bad_events.get(name, 0) + 1
        reason = bad_reason(exc) if exc is not None else "unusable data"
        self.bad_reasons[reason] = self.bad_reasons.get(reason, 0) + 1

    def non_tracepoint_sample(self, name: str, t: Optional[int] = None) -> None:
        """A sample of a non-tracepoint event (cpu-clock, cycles...): not analysed."""
        if t is not None:
            self.clock(t)
        self.non_tracepoint[name] = self.non_tracepoint.get(name, 0) + 1

    def _start_dropped(self, st: MmState) -> None:
        """A filter dropped the pending start of ``st`` with its end (a hook for
        kscand_perf.timeline, which counts starts per interval)."""

    # -- end ---------------------------------------------------------------

    def finish(self) -> List[MmState]:
        """Close what is still open and return the lifetimes still held as objects (those
        with a scan end or a migration, and the last one of each pointer), in order of
        appearance; :meth:`lifetimes` lists all of them. Idempotent."""
        if self._finished is not None:
            return self._finished
        self.last_ns = self.kept_last_ns()
        for st in {*filter(None, [self._pending, *self._others.values()])}:
            st.in_flight = 1  # pending on a kscand thread: in flight when the recording ended
        self._pending = None
        self._others.clear()
        current = [st for st in self.mms.values() if st.visible]
        self.hidden += len(self.mms) - len(current)
        out = self.retired + current
        for st in out:
            if st.migs is not None:
                st.migs.close_batch()
            if st.bq is not None:
                st.bq.close(st.exit_ns is not None)
        out.sort(key=lambda s: s.seq)
        self._finished = out
        return out

    def kept_last_ns(self) -> Optional[int]:
        """The time of the last kept kscand event (time_ns.last): the hot paths do not
        track it; the pending starts and each lifetime's last migrate do."""
        last = self.last_ns
        for pending in [self._pending] + list(self._others.values()):
            if pending is None:
                continue
            # a last start: a not-due visit, and the last event of its kind
            t = pending.start_s * 1000000000 + pending.start_ns
            if last is None or t > last:
                last = t
        for st in itertools.chain(self.retired, self.mms.values()):
            if st.migs is not None:
                t = st.migs.last_s * 1000000000 + st.migs.last_ns
                if last is None or t > last:
                    last = t
        return last

    def lifetime_count(self) -> int:
        """The lifetimes the report lists (after :meth:`finish`)."""
        return self._seq - self.hidden

    def lifetimes(self) -> Iterator[Lifetime]:
        """Every mm lifetime, by (first time seen, pointer, generation): the busy ones as
        :class:`MmState`, the folded ones as :class:`IdleLifetime`. Call after
        :meth:`finish`; builds no list of all lifetimes when time went forwards."""
        return in_order(self.idle, self.finish(), self._seq, self.hidden)

    def lifetime_runs(self) -> Iterator[Union[Lifetime, range]]:
        """:meth:`lifetimes`, with runs of folded ones as ranges of ``idle``'s rows
        (:func:`kscand_perf.lifetime.in_order_runs`)."""
        return in_order_runs(self.idle, self.finish(), self._seq, self.hidden)

    def accounting(self, unhandled: int = 0) -> Dict[str, int]:
        """Where every event went: events in = the sum of the others."""
        objects = self.finish()
        analysed = (self.events["kmem_mm_enter"] + self.events["kmem_mm_exit"]
                    + self.idle_visits
                    + sum(st.visits + st.completed + (st.ends.orphan_ends if st.ends else 0)
                          + (sum(st.migs.by_rc.values()) if st.migs else 0)
                          for st in objects))
        counts = {
            "analysed": analysed,
            "other": sum(self.other_events.values()),
            "unhandled": unhandled,
            "bad": sum(self.bad_events.values()),
            "duplicates": sum(self.duplicates.values()),
            "filtered": self.filtered_events,
            "non_tracepoint": sum(self.non_tracepoint.values()),
        }
        return dict([("events_in", sum(counts.values()))] + list(counts.items()))
