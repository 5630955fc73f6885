"""perf's ordered-events queue (tools/perf/util/ordered-events.c) and the threads that
COMM and FORK records describe.

Every record with a timestamp other than 0 and ~0 is queued; at each FINISHED_ROUND the
queue delivers, in timestamp order (ties in the order they were read), the events whose
timestamp is at most the largest timestamp that was queued at the *previous* round, then
remembers the largest timestamp queued now; at the end everything left goes. A record
without a timestamp is delivered when it is read. COMM and FORK records take part in the
same order, so a sample sees the comm its thread had at that time.
"""

from __future__ import annotations

import bisect
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .base import NO_TIME, Handler, HandlerError, ReadStats

Item = Tuple[Handler, Tuple[Any, ...]]   # a handler and its arguments, the time first


def _time_of(item: Item) -> int:
    t: int = item[1][0]
    return t


def _noop(*args: Any) -> None:
    pass


class Threads:
    """perf's view of the threads: tid -> comm and tid -> pid, from COMM and FORK."""

    def __init__(self) -> None:
        self.comms: Dict[int, str] = {0: "swapper"}   # tid -> comm (perf's idle thread)
        # one str per distinct comm: a busy machine has millions of tasks and few names
        self._comm_names: Dict[str, str] = {}
        self._pids: Dict[int, int] = {0: 0}            # tid -> pid

    def comm(self, t: int, pid: int, tid: int, comm: str) -> None:
        self._findnew(pid, tid)
        names = self._comm_names
        if len(names) > 65536:  # a bound, for recordings of ever new names
            names.clear()
        self.comms[tid] = names.setdefault(comm, comm)

    def _findnew(self, pid: int, tid: int) -> None:
        old = self._pids.get(tid)
        if old is None or (old == -1 and pid != -1):
            self._pids[tid] = pid

    def fork(self, t: int, pid: int, ppid: int, tid: int, ptid: int) -> None:
        # machine__process_fork_event: a parent thread with another pid is stale; the
        # child starts anew and inherits the parent's comm when it was set
        self._findnew(ppid, ptid)
        if self._pids.get(ptid) != ppid:
            self._pids[ptid] = ppid
            self.comms.pop(ptid, None)
        self.comms.pop(tid, None)
        self._pids[tid] = pid
        comm = self.comms.get(ptid)
        if comm is not None:
            self.comms[tid] = comm


class OrderedEvents:
    """The queue. The reader's hot path appends to ``items`` itself and keeps ``last``
    (the largest time read this round) and ``unsorted`` (an earlier time was read) up to
    date; everything else goes through :meth:`add`."""

    def __init__(self, stats: ReadStats, fn_names: Dict[Any, str],
                 on_error: Optional[Callable[[str, Exception], None]]) -> None:
        self._stats = stats
        self._fn_names = fn_names
        self._on_error = on_error
        self.items: List[Item] = []    # read this round
        self._queue: List[Item] = []   # waiting for a flush
        self.unsorted = False
        self.last = 0
        self._next_flush = 0
        self._last_flush = 0

    def add(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        if rec[0] > self.last:
            self.last = rec[0]
            self.items.append((fn, rec))
        else:
            self.odd(fn, rec)

    def odd(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        """A record whose time is not after the last one: no time (delivered at once,
        as perf does), a tie, or earlier (the round must be sorted)."""
        t = rec[0]
        if t == 0 or t == NO_TIME:
            self.deliver([(fn, rec)])
            return
        if t < self.last:
            self.unsorted = True
        else:
            self.last = t
        self.items.append((fn, rec))

    def round_end(self, final: bool) -> None:
        items = self.items
        q = self._queue
        if items:
            if self.unsorted or (q and q[-1][1][0] > items[0][1][0]):
                self.unsorted = True
            q.extend(items)
            items.clear()
        if not q:
            return
        self._stats.rounds += 1
        if self.unsorted:
            lf = self._last_flush
            if lf:
                self._stats.unordered += sum(1 for _, a in q if a[0] < lf)
            q.sort(key=_time_of)
            self.unsorted = False
        top = q[-1][1][0]
        limit = NO_TIME if final else self._next_flush
        if limit:
            if top <= limit:
                batch = q[:]
                q.clear()
            else:
                cut = bisect.bisect_right(q, limit, key=_time_of)
                batch = q[:cut]
                del q[:cut]
            if batch:
                self._last_flush = batch[-1][1][0]
                self.deliver(batch)
        if not final:
            self._next_flush = top

    def deliver(self, batch: List[Item]) -> None:
        it: Iterator[Item] = iter(batch)
        self._stats.delivered += len(batch)
        fn: Handler = _noop
        while True:
            try:
                for fn, args in it:
                    fn(*args)
                return
            except Exception as e:
                if self._on_error is None:
                    raise HandlerError(e) from e
                self._on_error(self._fn_names.get(fn, "?"), e)
