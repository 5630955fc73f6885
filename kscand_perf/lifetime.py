"""The state the analysis keeps per mm lifetime (kscand_perf.analysis fills it).

:class:`MmState` is one lifetime (pointer, generation) with its scan-end and migration
statistics (:class:`EndStats`, :class:`MigStats`, created on first use); lifetimes kscand
only visited are folded into :class:`IdleRows` (a few machine integers each) and read back
as :class:`IdleLifetime`. Plain data and small updates, no event handling.
"""

from __future__ import annotations

import array
import itertools
import operator
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from .backlog import Backlog
from .histogram import LinearHistogram, LogLinearHistogram, Stats


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
                 "last_wrap_ns", "pass_ns", "backwards", "last_end")

    def __init__(self, linear_width: Optional[int]) -> None:
        self.orphan_ends = 0
        self.backwards = 0  # ends earlier than their start (counted in orphan_ends too)
        self.last_end: Optional[Tuple[int, ...]] = None  # to recognise a duplicated sample
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
                 "sequence_breaks", "v2_events", "last_s", "last_ns", "last_rc", "last_node",
                 "begun_before", "partial", "promoted")

    def __init__(self) -> None:
        self.last_rc = 0  # rc and node of the last event, to recognise a duplicated sample
        self.last_node = 0
        self.begun_before = 0  # batches that began before the recording did
        self.partial = False  # the current batch is one of them: its size is unknown
        self.by_node: Dict[int, List[int]] = {}  # node -> [attempted, succeeded]
        self.by_rc: Dict[int, int] = {}
        self.batches = 0
        self.batch_last = 0  # msuccess + mfailed of the last event
        self.batch_sizes = Stats()
        self.sequence_breaks = 0
        self.v2_events = 0
        self.last_s = 0  # time of the last event (seconds, nanoseconds)
        self.last_ns = 0
        # the times of its rc-0 events from the trace's first event (promotion_time.py)
        self.promoted: Optional[LogLinearHistogram] = None

    def close_batch(self) -> None:
        if self.batch_last:
            if not self.partial:
                self.batch_sizes.add(self.batch_last)
            self.partial = False
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
        "completed", "in_flight", "exit_visit", "ends", "migs",
        "bq",  # kmigrated's queue (kscand_perf.backlog), with the first end or migrate
        "seq",  # order of appearance (the report lists lifetimes in it)
        "shown",  # an event of it was kept (False: known only from events --time dropped)
    )

    def __init__(self, mm: int, generation: int, t: int, seq: int = 0) -> None:
        self.seq = seq
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
        self.in_flight = 0  # starts still pending on a kscand thread when the recording ended
        # time of the last start, as perf gives it (seconds, nanoseconds): the hot path
        # stores it without arithmetic; visits numbers the starts, so it names the scan
        self.start_s = 0
        self.start_ns = 0
        self.exit_visit = 0  # the start (visits number) during which the mm exited
        self.ends: Optional[EndStats] = None
        self.migs: Optional[MigStats] = None
        self.bq: Optional[Backlog] = None
        self.shown = True

    @property
    def not_due(self) -> int:
        """Unpaired starts: not-due visits, or starts whose end was not recorded (the
        starts in flight when the recording ended aside)."""
        return self.visits - self.completed - self.in_flight

    @property
    def pid(self) -> Optional[int]:
        return self.exit_pid if self.exit_pid is not None else self.sched_pid

    @property
    def comm(self) -> Optional[str]:
        return self.exit_comm if self.exit_pid is not None else self.sched_comm

    @property
    def idle(self) -> bool:
        """No scan end and no migration: kscand only visited this lifetime."""
        return self.ends is None and self.migs is None

    @property
    def visible(self) -> bool:
        """The report lists it: an event of it was kept (with --time, a lifetime can be
        known only from the events outside the window that name its owner)."""
        return self.shown or self.visits > 0 or self.ends is not None or self.migs is not None


class IdleLifetime(NamedTuple):
    """A lifetime kscand only visited (no scan end, no migration), as the report lists it."""

    mm: int
    generation: int
    pid: Optional[int]
    comm: Optional[str]
    first_ns: int
    enter_ns: Optional[int]
    exit_ns: Optional[int]
    visits: int  # all not-due


_NONE_U64 = (1 << 64) - 1
NO_TIME = _NONE_U64  # an enter or exit time column's None
_new_idle = tuple.__new__  # an IdleLifetime from a tuple, without the keyword machinery


class IdleRows:
    """Folded idle lifetimes: one row of machine integers each, no Python object.

    Process churn makes hundreds of thousands of lifetimes that kscand only
    visited; each costs 56 bytes here instead of an object. Comms are kept once
    each (a table of distinct names).
    """

    __slots__ = ("mm", "first_ns", "enter_ns", "exit_ns", "seq", "generation", "visits",
                 "pid", "comm", "_comms", "_comm_index")

    def __init__(self) -> None:
        self.mm = array.array("Q")
        self.first_ns = array.array("Q")
        self.enter_ns = array.array("Q")  # _NONE_U64: None
        self.exit_ns = array.array("Q")
        self.seq = array.array("Q")
        self.generation = array.array("I")
        self.visits = array.array("I")
        self.pid = array.array("i")  # -1: None
        self.comm = array.array("i")  # index into _comms, -1: None
        self._comms: List[str] = []
        self._comm_index: Dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.seq)

    def add(self, st: MmState) -> bool:
        """Fold ``st``; False (nothing stored) when a value does not fit a row."""
        pid: Optional[int] = st.exit_pid
        comm: Optional[str] = st.exit_comm
        if pid is None:
            pid, comm = st.sched_pid, st.sched_comm
        n = len(self.seq)
        try:
            if comm is None:
                ci = -1
            else:
                ci = self._comm_index.get(comm, -1)
                if ci < 0:
                    ci = self._comm_index[comm] = len(self._comms)
                    self._comms.append(comm)
            self.mm.append(st.mm)
            self.first_ns.append(st.first_ns)
            enter, exit_ = st.enter_ns, st.exit_ns
            self.enter_ns.append(_NONE_U64 if enter is None else enter)
            self.exit_ns.append(_NONE_U64 if exit_ is None else exit_)
            self.generation.append(st.generation)
            self.visits.append(st.visits)
            self.pid.append(-1 if pid is None else pid)
            self.comm.append(ci)
            self.seq.append(st.seq)  # last: its length is the number of rows
        except (OverflowError, TypeError):  # a value that does not fit: keep the object
            for arr in (self.mm, self.first_ns, self.enter_ns, self.exit_ns, self.generation,
                        self.visits, self.pid, self.comm, self.seq):
                del arr[n:]
            return False
        return True

    def comm_names(self) -> List[str]:
        """The distinct comms, at the indices ``comm`` holds."""
        return self._comms

    def row(self, i: int) -> IdleLifetime:
        enter, exit_, pid, ci = self.enter_ns[i], self.exit_ns[i], self.pid[i], self.comm[i]
        return _new_idle(IdleLifetime, (
            self.mm[i], self.generation[i], None if pid < 0 else pid,
            None if ci < 0 else self._comms[ci], self.first_ns[i],
            None if enter == _NONE_U64 else enter, None if exit_ == _NONE_U64 else exit_,
            self.visits[i]))


Lifetime = Union[MmState, IdleLifetime]


def idle_view(st: MmState) -> IdleLifetime:
    return IdleLifetime(st.mm, st.generation, st.pid, st.comm, st.first_ns, st.enter_ns,
                        st.exit_ns, st.visits)


def in_order(idle: IdleRows, objects: List[MmState], n: int,
             hidden: int = 0) -> Iterator[Lifetime]:
    """Every listed lifetime, by (first time seen, pointer, generation): the busy ones
    (``objects``) as :class:`MmState`, the folded ones as :class:`IdleLifetime`; ``n``
    lifetimes were numbered (``seq``), ``hidden`` of them are not listed. Builds no list
    of all lifetimes when time went forwards and none is hidden."""
    if hidden:  # lifetimes --time left unlisted: number the listed ones again
        everything: List[Lifetime] = [idle.row(i) for i in range(len(idle))]
        everything += objects
        everything.sort(key=lambda x: (x.first_ns, x.mm, x.generation))
        yield from everything
        return
    where, firsts, by_seq = _positions(idle, objects, n)
    if _increasing(firsts):  # the usual case: in order, no ties
        row = idle.row
        for s in range(n):
            i = where[s]
            yield row(i) if i >= 0 else by_seq[s]
        return
    yield from _out_of_order(where, firsts, by_seq, idle.row, n)


def _out_of_order(where: "array.array[int]", firsts: "array.array[int]",
                  by_seq: Dict[int, MmState], row: Callable[[int], IdleLifetime], n: int
                  ) -> Iterator[Lifetime]:
    """:func:`in_order` where the first times do not strictly increase with ``seq``."""
    def get(s: int) -> Lifetime:
        i = where[s]
        return row(i) if i >= 0 else by_seq[s]

    if not all(map(operator.le, firsts, itertools.islice(firsts, 1, None))):
        # time went backwards somewhere: sort them all
        everything = [get(s) for s in range(n)]
        everything.sort(key=lambda x: (x.first_ns, x.mm, x.generation))
        yield from everything
        return
    s = 0
    while s < n:  # lifetimes that appeared at the same time: by pointer, generation
        e = s + 1
        while e < n and firsts[e] == firsts[s]:
            e += 1
        if e - s == 1:
            yield get(s)
        else:
            yield from sorted((get(k) for k in range(s, e)),
                              key=lambda x: (x.mm, x.generation))
        s = e


def in_order_runs(idle: IdleRows, objects: List[MmState], n: int, hidden: int = 0,
                  longest: int = 256) -> Iterator[Union[Lifetime, range]]:
    """:func:`in_order`, with folded lifetimes that follow one another both in that order
    and in ``idle``'s rows given as one ``range`` of their rows (at most ``longest``):
    a writer of every lifetime (the JSON) takes those in bulk, column by column."""
    if hidden:
        yield from in_order(idle, objects, n, hidden)
        return
    where, firsts, by_seq = _positions(idle, objects, n)
    if not _increasing(firsts):
        yield from _out_of_order(where, firsts, by_seq, idle.row, n)
        return
    s = 0
    while s < n:
        i = where[s]
        if i < 0:
            yield by_seq[s]
            s += 1
            continue
        e = s + 1
        while e < n and e - s < longest and where[e] == i + e - s:
            e += 1
        yield range(i, i + e - s)
        s = e


def _positions(idle: IdleRows, objects: List[MmState], n: int
               ) -> Tuple["array.array[int]", "array.array[int]", Dict[int, MmState]]:
    """(seq -> row of the folded lifetimes or -1, seq -> first_ns, seq -> the others);
    first_ns all equal but the first (out of order) where a time is no u64."""
    where = array.array("q", [-1]) * n
    firsts = array.array("Q", bytes(8 * n))
    by_seq = {}
    try:
        for i, (s, f) in enumerate(zip(idle.seq, idle.first_ns)):
            where[s] = i
            firsts[s] = f
        for st in objects:
            by_seq[st.seq] = st
            firsts[st.seq] = st.first_ns
    except OverflowError:  # a time that is no u64: sort them all
        firsts = array.array("Q", [1]) * n
        firsts[0] = 2
    return where, firsts, by_seq


def _increasing(firsts: "array.array[int]") -> bool:
    return all(map(operator.lt, firsts, itertools.islice(firsts, 1, None)))
