"""--time and --node: an :class:`~kscand_perf.analysis.Analyzer` that drops the events
outside them, counting each (see :func:`make_analyzer`, which makes
one only when a filter is set, so that unfiltered runs pay nothing)."""

from __future__ import annotations

from typing import Optional, Set, Tuple

from .analysis import Analyzer, AnalyzerConfig


class FilteredAnalyzer(Analyzer):
    """An Analyzer that drops events outside --time (the half-open window
    start <= t < end) and, with --node, scans and migrations of other nodes. A separate
    class, so unfiltered runs pay nothing. Every dropped event is counted in
    ``filtered_events``; the times and nodes of all events are kept so that a filter
    that keeps nothing can be explained. Events --time drops still say who owns which
    mm (lifetimes and owners come from the whole recording): see :meth:`owner_event`."""

    __slots__ = ("_lo", "_hi", "_node", "_relative", "seen_nodes", "filtered_other")

    def __init__(self, config: AnalyzerConfig) -> None:
        super().__init__(config)
        self._lo, self._hi = config.time_window_ns or (-(1 << 63), 1 << 63)
        # relative ends wait for the recording's first event (trace_time_ns.first)
        self._relative = config.time_window_ns is not None and any(config.time_relative)
        self._node = config.node
        self.seen_nodes: Set[int] = set()  # target nodes of every scan end and migrate
        self.filtered_other = 0  # of filtered_events: sched events

    @property
    def window_ns(self) -> Optional[Tuple[int, int]]:
        """--time's window in perf time (relative ends resolved; None: not yet known)."""
        if self.config.time_window_ns is None or self._relative:
            return None
        return self._lo, self._hi

    def clock(self, t: object) -> None:
        Analyzer.clock(self, t)
        if self._relative and self.clock_first_ns is not None:
            window = self.config.time_window_ns
            assert window is not None
            first = self.clock_first_ns
            rel_lo, rel_hi = self.config.time_relative
            lo, hi = window
            self._lo = first + lo if rel_lo else lo
            self._hi = (first + hi if rel_hi else hi) if hi < 1 << 63 else hi
            self._relative = False

    def _keep(self, t: int) -> bool:
        self.clock(t)
        if self._lo <= t < self._hi:
            return True
        self.filtered_events += 1
        return False

    def _keep_node(self, node: int) -> bool:
        if node.__class__ is int:
            self.seen_nodes.add(node)
        if self._node is None or node == self._node:
            return True
        self.filtered_events += 1
        return False

    def mm_enter(self, t: int, pid: int, comm: str, mm: int) -> None:
        if self._keep(t):
            super().mm_enter(t, pid, comm, mm)
        else:
            self.owner_event("enter", t, pid, comm, mm)

    def mm_exit(self, t: int, pid: int, comm: str, mm: int) -> None:
        if self._keep(t):
            super().mm_exit(t, pid, comm, mm)
        else:
            self.owner_event("exit", t, pid, comm, mm)

    def _thread_goes_on(self, pid: int, t: int) -> None:
        """A scan event of thread ``pid`` after --time's window: the start it left pending is
        not in flight at the recording's end, but unpaired (not due, or cut by the window)."""
        st = self._pending if pid == self._pending_pid else self._others.get(pid)
        if t >= self._hi and pid.__class__ is int and st is not None:
            self._unpend(st)
            self._seen(st.start_s * 1000000000 + st.start_ns)

    def scan_start(self, secs: int, nsecs: int, pid: int, mm: int) -> None:
        t = secs * 1000000000 + nsecs
        if self._keep(t):
            prev = self._pending if pid == self._pending_pid else self._others.get(pid)
            if self._node is not None and prev is not None and prev.start_ns + prev.start_s * \
                    1000000000 != t:  # now a not-due visit, whatever --node does: time_ns
                self._seen(prev.start_s * 1000000000 + prev.start_ns)
            super().scan_start(secs, nsecs, pid, mm)
            if self.first_ns is None:  # (an mm known from events --time dropped)
                self.first_ns = t
        else:
            self.scan_event_dropped(mm, t)
            self._thread_goes_on(pid, t)

    def scan_end(self, t: int, pid: int, mm: int, start: int, total: int,
                 scan_period: int, scan_size: int, target_node: int) -> None:
        if not self._keep(t):
            self.scan_event_dropped(mm, t)
            if t.__class__ is int:
                self._thread_goes_on(pid, t)
            return
        if not self._keep_node(target_node):
            st = self.mms.get(mm)
            if st is not None and (st is self._pending and pid == self._pending_pid
                                   or self._others.get(pid) is st):
                # its start is neither a completed scan nor a not-due visit: it is
                # dropped with its end, and counted with it
                self._unpend(st)
                st.visits -= 1
                self.filtered_events += 1
                self._start_dropped(st)
                if (st.visits == 0 and st.ends is None and st.migs is None
                        and st.enter_ns is None and st.exits == 0):
                    st.shown = False  # no event of it kept: not listed
            self.scan_event_dropped(mm, t)  # first appearance, as in the whole recording
            return
        super().scan_end(t, pid, mm, start, total, scan_period, scan_size, target_node)

    def migrate(self, secs: int, nsecs: int, pid: int, mm: int, rc: int, target_node: int,
                msuccess: Optional[int] = None, mfailed: Optional[int] = None) -> None:
        t = secs * 1000000000 + nsecs
        if not self._keep(t):
            self.scan_event_dropped(mm, t)
        elif self._keep_node(target_node):
            super().migrate(secs, nsecs, pid, mm, rc, target_node, msuccess, mfailed)
            if self.first_ns is None:
                self.first_ns = t
        else:
            self.scan_event_dropped(mm, t)  # first appearance, as in the whole recording

    def _keep_sched(self, t: int) -> bool:
        if self._keep(t):
            return True
        self.filtered_other += 1
        return False

    def sched_fork(self, t: int, pid: int, child_pid: int, child_comm: str) -> None:
        if self._keep_sched(t):
            super().sched_fork(t, pid, child_pid, child_comm)
        else:
            self.owner_event("fork", t, pid, child_pid, child_comm)

    def sched_exec(self, t: int, pid: int, filename: str, exec_pid: int) -> None:
        if self._keep_sched(t):
            super().sched_exec(t, pid, filename, exec_pid)
        else:
            self.owner_event("exec", t, pid, filename, exec_pid)

    def sched_exit(self, t: int, pid: int) -> None:
        if self._keep_sched(t):
            super().sched_exit(t, pid)


def make_analyzer(config: AnalyzerConfig = AnalyzerConfig()) -> Analyzer:
    """The analyzer for ``config``: filtering only when a filter is set."""
    if config.time_window_ns is not None or config.node is not None:
        return FilteredAnalyzer(config)
    return Analyzer(config)
