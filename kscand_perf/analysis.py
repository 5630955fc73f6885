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
  means lost (or duplicated) events and is counted.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

from .histogram import LinearHistogram, LogLinearHistogram, Stats

S32_BIAS = 1 << 32
S32_MAX = (1 << 31) - 1


def _check_ints(*values: object) -> None:
    """Refuse non-integer field values before any state changes (bad data is counted
    by the front end, and must not reach the report)."""
    for v in values:
        if v.__class__ is not int:
            raise TypeError("expected an integer field, got %r" % (v,))


def _check_str(value: object) -> None:
    if value.__class__ is not str:
        raise TypeError("expected a string field, got %r" % (value,))


def s32(value: int) -> int:
    """An ``int`` trace field as a signed value (perf 6.1 zero-extends them)."""
    return value - S32_BIAS if value > S32_MAX else value


@dataclasses.dataclass(frozen=True)
class AnalyzerConfig:
    """What the analyzer needs to know up front (parsed once from the options)."""

    unit_ns: int = 1000  # log2 histograms count durations in this unit (1000: us)
    linear_width_ns: Optional[int] = None  # also keep linear duration buckets of this width
    time_window_ns: Optional[Tuple[int, int]] = None  # keep events with start <= t <= end
    node: Optional[int] = None  # keep only scans ending on / migrations to this node


class ValueStats:
    """first/last/min/max of a value and how often it changed between consecutive samples."""

    __slots__ = ("first", "last", "min", "max", "changes", "count", "first_ns", "last_ns")

    def __init__(self) -> None:
        self.first_ns = 0
        self.last_ns = 0
        self.first: Optional[int] = None
        self.last: Optional[int] = None
        self.min: Optional[int] = None
        self.max: Optional[int] = None
        self.changes = 0
        self.count = 0

    def add(self, value: int, t: int) -> None:
        if self.count == 0:
            self.first = self.min = self.max = value
            self.first_ns = t
        else:
            if value != self.last:
                self.changes += 1
            if value < self.min:  # type: ignore[operator]
                self.min = value
            if value > self.max:  # type: ignore[operator]
                self.max = value
        self.last = value
        self.last_ns = t
        self.count += 1


class EndStats:
    """What the scan ends of one mm lifetime said (created at its first end)."""

    __slots__ = ("orphan_ends", "exited_during_scan", "full_passes", "pages_found",
                 "durations", "log2", "linear", "scan_period", "scan_size", "target_nodes",
                 "last_wrap_ns", "pass_ns")

    def __init__(self, linear_width: Optional[int]) -> None:
        self.orphan_ends = 0
        self.exited_during_scan = 0
        self.full_passes = 0
        self.pages_found = 0
        self.durations = LogLinearHistogram()
        self.log2: Dict[int, int] = {}  # bit length of duration // unit -> scans
        self.linear = LinearHistogram(linear_width) if linear_width else None
        self.scan_period = ValueStats()
        self.scan_size = ValueStats()
        self.target_nodes: Dict[int, int] = {}
        self.last_wrap_ns: Optional[int] = None
        self.pass_ns = Stats()


class MigStats:
    """The promotion attempts of one mm lifetime (created at its first migrate event)."""

    __slots__ = ("by_node", "by_rc", "batches", "batch_last", "batch_sizes",
                 "sequence_breaks", "v2_events", "last_s", "last_ns")

    def __init__(self) -> None:
        self.by_node: Dict[int, List[int]] = {}  # node -> [attempted, succeeded]
        self.by_rc: Dict[int, int] = {}
        self.batches = 0
        self.batch_last = 0  # msuccess + mfailed of the last event
        self.batch_sizes = Stats()
        self.sequence_breaks = 0
        self.v2_events = 0
        self.last_s = 0  # time of the last event (seconds, nanoseconds)
        self.last_ns = 0

    def close_batch(self) -> None:
        if self.batch_last:
            self.batch_sizes.add(self.batch_last)
            self.batch_last = 0


class MmState:
    """Everything known about one mm lifetime (pointer, generation).

    Kept small: most lifetimes (short processes) only ever see starts, so the
    statistics of ends and migrations are created on first use.
    """

    __slots__ = (
        "visits", "start_s", "start_ns",  # first: written by every start, by the header
        "mm", "generation", "first_ns",
        "enter_ns", "enter_pid", "enter_comm", "exit_ns", "exit_pid", "exit_comm",
        "exits", "sched_pid", "sched_comm",
        "completed", "exit_visit", "ends", "migs",
        # detection-to-promotion latency
        "mig_visit", "first_mig_ns", "await_ns", "latency",
    )

    def __init__(self, mm: int, generation: int, t: int) -> None:
        self.mm = mm
        self.generation = generation
        self.first_ns = t
        self.enter_ns: Optional[int] = None
        self.enter_pid: Optional[int] = None
        self.enter_comm: Optional[str] = None
        self.exit_ns: Optional[int] = None
        self.exit_pid: Optional[int] = None
        self.exit_comm: Optional[str] = None
        self.exits = 0
        self.sched_pid: Optional[int] = None
        self.sched_comm: Optional[str] = None
        self.visits = 0  # starts seen
        self.completed = 0  # starts paired with an end
        # time of the last start, as perf gives it (seconds, nanoseconds): the hot path
        # stores it without arithmetic; visits numbers the starts, so it names the scan
        self.start_s = 0
        self.start_ns = 0
        self.exit_visit = 0  # the start (visits number) during which the mm exited
        self.ends: Optional[EndStats] = None
        self.migs: Optional[MigStats] = None
        self.mig_visit = 0  # the start during which the first migrate came ...
        self.first_mig_ns = 0  # ... and the time of that migrate
        self.await_ns: Optional[int] = None  # start of a scan whose pages wait for kmigrated
        self.latency: Optional[Stats] = None

    @property
    def not_due(self) -> int:
        """Starts that did not pair with an end."""
        return self.visits - self.completed

    @property
    def pid(self) -> Optional[int]:
        return self.exit_pid if self.exit_pid is not None else self.sched_pid

    @property
    def comm(self) -> Optional[str]:
        return self.exit_comm if self.exit_pid is not None else self.sched_comm

    def add_latency(self, ns: int) -> None:
        if self.latency is None:
            self.latency = Stats()
        self.latency.add(ns)


class Analyzer:
    """Feeds kscand (and sched) events into per-mm state. Methods never do I/O.

    Times are integer nanoseconds, except for the two hot events (scan_start,
    migrate) which take perf's seconds and nanoseconds as they come; values are
    already signed where the field is a C ``int`` (see :func:`s32`). Use
    :func:`make_analyzer` to get one that also applies the configured filters.
    """

    __slots__ = ("mms", "_pending", "_pending_pid", "config", "_linear", "_unit", "retired",
                 "_enter_by_pid", "events", "other_events", "bad_events", "filtered_events",
                 "first_ns", "last_ns", "duplicate_exits", "orphan_end_pid_mismatch",
                 "_comm_by_pid")

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig()) -> None:
        self.config = config
        self._linear = config.linear_width_ns
        self._unit = config.unit_ns
        self.mms: Dict[int, MmState] = {}  # pointer -> current generation
        self.retired: List[MmState] = []  # earlier generations
        self._pending: Optional[MmState] = None  # the mm of the last start
        self._pending_pid = -1
        self._enter_by_pid: Dict[int, MmState] = {}
        self.events: Dict[str, int] = {"kmem_mm_enter": 0, "kmem_mm_exit": 0}
        self.other_events: Dict[str, int] = {}
        self.bad_events: Dict[str, int] = {}
        self.filtered_events = 0
        self.first_ns: Optional[int] = None
        self.last_ns: Optional[int] = None
        self.duplicate_exits = 0
        self.orphan_end_pid_mismatch = 0
        # the last name each live task was seen with (mm events, sched fork/exec): perf 6.12
        # and later forget a task at its EXIT record, which can come before the task's
        # kmem_mm_exit, and then name it ":PID"; entries go at each kmem_mm_exit
        self._comm_by_pid: Dict[int, str] = {}

    # -- helpers -----------------------------------------------------------

    def _new(self, mm: int, t: int) -> MmState:
        """A pointer seen for the first time: generation 0."""
        st = self.mms[mm] = MmState(mm, 0, t)
        if self.first_ns is None:
            self.first_ns = t
        return st

    def _seen(self, t: int) -> None:
        if self.first_ns is None:
            self.first_ns = t
        self.last_ns = t

    # -- kmem events -------------------------------------------------------

    def mm_enter(self, t: int, pid: int, comm: str, mm: int) -> None:
        _check_ints(t, pid, mm)
        _check_str(comm)
        self._seen(t)
        self.events["kmem_mm_enter"] += 1
        old = self.mms.get(mm)
        if old is None:
            st = self._new(mm, t)
        else:
            if old is self._pending:
                # a start of the old lifetime never got its end: a not-due visit
                self._pending = None
            if old.migs is not None:
                old.migs.close_batch()
            self.retired.append(old)
            st = self.mms[mm] = MmState(mm, old.generation + 1, t)
        st.enter_ns = t
        st.enter_pid = pid
        st.enter_comm = comm
        self._enter_by_pid[pid] = st
        if comm != ":%d" % pid:
            self._comm_by_pid[pid] = comm

    def mm_exit(self, t: int, pid: int, comm: str, mm: int) -> None:
        _check_ints(t, pid, mm)
        _check_str(comm)
        self._seen(t)
        self.events["kmem_mm_exit"] += 1
        known = self._comm_by_pid.pop(pid, None)
        if known is not None and comm == ":%d" % pid:
            comm = known  # what perf 6.1 names it (see _comm_by_pid)
        st = self.mms.get(mm) or self._new(mm, t)
        st.exits += 1
        if st.exits > 1:
            self.duplicate_exits += 1
            return
        st.exit_ns = t
        st.exit_pid = pid
        st.exit_comm = comm
        if st is self._pending:
            st.exit_visit = st.visits

    def scan_start(self, secs: int, nsecs: int, pid: int, mm: int) -> None:
        """The hot path: most events of a kscand trace are starts, hundreds of thousands
        a second. So the time comes as perf gives it (seconds and nanoseconds, no
        arithmetic) and a start costs one increment and four stores."""
        st = self.mms.get(mm)
        if st is None:
            _check_ints(secs, nsecs, pid, mm)
            st = self._new(mm, secs * 1000000000 + nsecs)
        st.visits += 1  # not-due visits are derived: visits - completed
        st.start_s = secs
        st.start_ns = nsecs
        self._pending = st
        self._pending_pid = pid

    def scan_end(self, t: int, pid: int, mm: int, start: int, total: int,
                 scan_period: int, scan_size: int, target_node: int) -> None:
        _check_ints(t, pid, mm, start, total, scan_period, scan_size, target_node)
        self._seen(t)
        st = self.mms.get(mm) or self._new(mm, t)
        ends = st.ends
        if ends is None:
            ends = st.ends = EndStats(self._linear)
        if st is self._pending and pid == self._pending_pid:
            began = st.start_s * 1000000000 + st.start_ns
            duration = t - began
            st.completed += 1
            ends.durations.add(duration)
            slot = (duration // self._unit).bit_length() if duration > 0 else 0
            ends.log2[slot] = ends.log2.get(slot, 0) + 1
            if ends.linear is not None:
                ends.linear.add(duration)
            if st.exit_visit == st.visits:
                ends.exited_during_scan += 1
            self._pending = None
            if total > 0:
                # pages found by this scan: promotion latency counts from its start
                if st.mig_visit == st.visits:
                    st.add_latency(st.first_mig_ns - began)
                    st.await_ns = None
                else:
                    st.await_ns = began
        else:
            if st is self._pending and pid != self._pending_pid:
                self.orphan_end_pid_mismatch += 1
            ends.orphan_ends += 1
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
        time comes as perf gives it and is computed only for the rare latency samples.
        msuccess/mfailed are None for RFC V1/V2 events, which have no such fields."""
        if msuccess is not None and mfailed is not None:
            n: Optional[int] = msuccess + mfailed
            if n.__class__ is not int:
                raise TypeError("msuccess/mfailed: expected integers, got %r, %r"
                                % (msuccess, mfailed))
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
            migs = st.migs = MigStats()
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
        if n is None:
            migs.v2_events += 1
        else:
            if n == 1:
                migs.close_batch()
                migs.batches += 1
            elif n != migs.batch_last + 1:
                migs.sequence_breaks += 1
            migs.batch_last = n
        migs.last_s = secs
        migs.last_ns = nsecs
        if st.await_ns is not None:
            st.add_latency(secs * 1000000000 + nsecs - st.await_ns)
            st.await_ns = None
        if st is self._pending and st.mig_visit != st.visits:
            st.mig_visit = st.visits
            st.first_mig_ns = secs * 1000000000 + nsecs

    # -- other events ------------------------------------------------------

    def sched_fork(self, t: int, pid: int, child_pid: int, child_comm: str) -> None:
        _check_ints(pid, child_pid)
        _check_str(child_comm)
        self._attribute("sched:sched_process_fork", pid, child_pid, child_comm)

    def sched_exec(self, t: int, pid: int, filename: str, exec_pid: int) -> None:
        _check_ints(pid, exec_pid)
        _check_str(filename)
        self._attribute("sched:sched_process_exec", pid, exec_pid,
                        os.path.basename(filename)[:15])

    def _attribute(self, event: str, pid: int, owner_pid: int, owner_comm: str) -> None:
        """The mm that task ``pid`` entered last (a fork or exec) belongs to this owner."""
        self._count_other(event)
        self._comm_by_pid[owner_pid] = owner_comm
        st = self._enter_by_pid.pop(pid, None)
        if st is not None:
            st.sched_pid = owner_pid
            st.sched_comm = owner_comm

    def other(self, name: str) -> None:
        self._count_other(name)

    def _count_other(self, name: str) -> None:
        self.other_events[name] = self.other_events.get(name, 0) + 1

    def bad(self, name: str) -> None:
        """An event whose data could not be used (wrong type, missing field)."""
        self.bad_events[name] = self.bad_events.get(name, 0) + 1

    # -- end ---------------------------------------------------------------

    def finish(self) -> List[MmState]:
        """Close what is still open and return every mm lifetime, in order of appearance."""
        pending = self._pending
        if pending is not None:
            # the last start: a not-due visit, and the last event of its kind
            t = pending.start_s * 1000000000 + pending.start_ns
            if self.last_ns is None or t > self.last_ns:
                self.last_ns = t
            self._pending = None
        out = self.retired + list(self.mms.values())
        for st in out:
            if st.migs is not None:
                st.migs.close_batch()
                t = st.migs.last_s * 1000000000 + st.migs.last_ns
                if self.last_ns is None or t > self.last_ns:
                    self.last_ns = t
        out.sort(key=lambda s: (s.first_ns, s.mm, s.generation))
        return out


class FilteredAnalyzer(Analyzer):
    """An Analyzer that drops events outside --time and, with --node, scans and
    migrations of other nodes. A separate class, so unfiltered runs pay nothing."""

    __slots__ = ("_lo", "_hi", "_node")

    def __init__(self, config: AnalyzerConfig) -> None:
        super().__init__(config)
        self._lo, self._hi = config.time_window_ns or (-(1 << 63), 1 << 63)
        self._node = config.node

    def _keep(self, t: int) -> bool:
        if self._lo <= t <= self._hi:
            return True
        self.filtered_events += 1
        return False

    def mm_enter(self, t: int, pid: int, comm: str, mm: int) -> None:
        if self._keep(t):
            super().mm_enter(t, pid, comm, mm)

    def mm_exit(self, t: int, pid: int, comm: str, mm: int) -> None:
        if self._keep(t):
            super().mm_exit(t, pid, comm, mm)

    def scan_start(self, secs: int, nsecs: int, pid: int, mm: int) -> None:
        if self._keep(secs * 1000000000 + nsecs):
            super().scan_start(secs, nsecs, pid, mm)

    def scan_end(self, t: int, pid: int, mm: int, start: int, total: int,
                 scan_period: int, scan_size: int, target_node: int) -> None:
        if not self._keep(t):
            return
        if self._node is not None and target_node != self._node:
            self.filtered_events += 1
            st = self.mms.get(mm)
            if st is not None and st is self._pending:
                # its start is neither a completed scan nor a not-due visit: drop it too
                self._pending = None
                st.visits -= 1
            return
        super().scan_end(t, pid, mm, start, total, scan_period, scan_size, target_node)

    def migrate(self, secs: int, nsecs: int, pid: int, mm: int, rc: int, target_node: int,
                msuccess: Optional[int] = None, mfailed: Optional[int] = None) -> None:
        if not self._keep(secs * 1000000000 + nsecs):
            return
        if self._node is not None and target_node != self._node:
            self.filtered_events += 1
            return
        super().migrate(secs, nsecs, pid, mm, rc, target_node, msuccess, mfailed)

    def sched_fork(self, t: int, pid: int, child_pid: int, child_comm: str) -> None:
        if self._keep(t):
            super().sched_fork(t, pid, child_pid, child_comm)

    def sched_exec(self, t: int, pid: int, filename: str, exec_pid: int) -> None:
        if self._keep(t):
            super().sched_exec(t, pid, filename, exec_pid)


def make_analyzer(config: AnalyzerConfig = AnalyzerConfig()) -> Analyzer:
    """The analyzer for ``config``: filtering only when a filter is set."""
    if config.time_window_ns is not None or config.node is not None:
        return FilteredAnalyzer(config)
    return Analyzer(config)
