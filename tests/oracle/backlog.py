"""kmigrated's backlog (docs/report.md, "kmigrated's backlog"): per mm lifetime, the pages
its scan ends queue (``total``) against its migrate events, first queued first tried.

The rules as read here (where the doc leaves a choice, the choice is said):

- an end with ``total`` > 0 queues a batch timed at its scan's start (none for an end
  without its start); an end with ``total`` 0 queues nothing and takes no attempt counted
  ahead (they wait for the next batch);
- the n-th migrate event attempts the n-th queued page; an attempt beyond every queued page
  is counted ahead; the next batch takes them when the first came at or after its start
  (or it has no start), else they are ``attempts_unqueued`` and the numbering restarts;
- a batch taking attempts ahead has its first-attempt wait (from the first of them);
  taking more than its pages, the excess is ``attempts_unqueued`` and the batch is drained
  with no drain wait (``unmeasured``: the drained batches without a drain wait);
- attempts still ahead when the lifetime or the recording ends are ``attempts_unqueued``;
- a lifetime ends when its pointer's next ``kmem_mm_enter`` is among the kept events, or
  the recording ends (the exit does not end it: "Events after an exit and before the next
  enter stay with the old lifetime"); its pages still queued are then ``never_attempted``
  when its mm is gone (a kept ``kmem_mm_exit`` of it, or the pointer handed to a new mm:
  "kmigrated frees the queue of an exited mm"), else ``queued_at_end``;
- ``backlog_pages`` of the last row: after the recording's end closed the lifetimes, so
  without the pages of the gone mms (``never_attempted``), with those ``queued_at_end``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .core import log_linear, stats

if TYPE_CHECKING:
    from .core import Analysis, Life
    from .lifetimes import Key

WAITING_LIMIT = 64


class Batch:
    def __init__(self, first: int, last: int, start: Optional[int]) -> None:
        self.first, self.last, self.start = first, last, start    # page numbers, from 1


class Queue:
    """One lifetime's queue."""

    def __init__(self) -> None:
        self.queued = 0             # pages numbered so far
        self.attempted = 0          # attempts numbered so far (served a numbered page)
        self.ahead: List[int] = []  # times of the attempts beyond every page queued
        self.waiting: List[Batch] = []
        self.pages_queued = self.pages_attempted = self.unqueued = 0
        self.never = self.at_end = self.peak = 0
        self.batches = {"queued": 0, "drained": 0, "unmeasured": 0, "merged": 0, "left": 0}
        self.first_waits: List[int] = []
        self.drain_waits: List[int] = []
        self.closed = False

    def pending(self) -> int:
        return max(0, self.queued - self.attempted)

    def end(self, total: int, start: Optional[int]) -> None:
        self.pages_queued += total
        if total > 0:
            self._batch(total, start)
        self.peak = max(self.peak, self.pending())

    def _batch(self, total: int, start: Optional[int]) -> None:
        self.batches["queued"] += 1
        batch = Batch(self.queued + 1, self.queued + total, start)
        self.queued += total
        ahead, self.ahead = self.ahead, []
        if ahead and start is not None and ahead[0] < start:
            self.unqueued += len(ahead)          # pages the report never saw queued
            ahead = []
        if ahead:
            if start is not None:
                self.first_waits.append(ahead[0] - start)
            if len(ahead) > total:
                self.unqueued += len(ahead) - total
                self.attempted = self.queued
                self._drained(None)
                return
            self.attempted += len(ahead)
            if len(ahead) == total:
                self._drained(None if start is None else ahead[-1] - start)
                return
        if len(self.waiting) == WAITING_LIMIT:     # merged into the one before it
            self.batches["merged"] += 1
            self.waiting[-1].last = batch.last
            return
        self.waiting.append(batch)

    def _drained(self, wait: Optional[int]) -> None:
        self.batches["drained"] += 1
        if wait is None:
            self.batches["unmeasured"] += 1
        else:
            self.drain_waits.append(wait)

    def migrate(self, t: int) -> None:
        self.pages_attempted += 1
        if self.attempted >= self.queued:
            self.ahead.append(t)
            return
        self.attempted += 1
        n = self.attempted
        batch = self.waiting[0]
        if n == batch.first and batch.start is not None:
            self.first_waits.append(t - batch.start)
        if n == batch.last:
            self.waiting.pop(0)
            self._drained(None if batch.start is None else t - batch.start)

    def close(self, gone: bool) -> None:
        if self.closed:
            return
        self.closed = True
        self.unqueued += len(self.ahead)
        self.ahead = []
        if gone:
            self.never += self.pending()
        else:
            self.at_end += self.pending()
        self.batches["left"] += len(self.waiting)
        self.waiting = []
        self.attempted = self.queued

    def figures(self) -> Dict[str, Any]:
        return {"pages_queued": self.pages_queued, "pages_attempted": self.pages_attempted,
                "attempts_unqueued": self.unqueued, "never_attempted": self.never,
                "queued_at_end": self.at_end, "peak_pages": self.peak,
                "batches": dict(self.batches),
                "first_attempt_wait_ns": wait(self.first_waits),
                "drain_wait_ns": wait(self.drain_waits)}


def wait(values: Sequence[int]) -> Optional[Dict[str, Any]]:
    """A wait's distribution: exact count/min/mean/max/total, nearest-rank percentiles
    (compared within 1%) and the log-linear buckets (exact: docs/report.md defines them)."""
    out = stats(values, percentiles=True)
    if out is not None:
        out["log_linear"] = log_linear(values)
    return out


class Backlog:
    """Every lifetime's queue, run over the kept events in their order."""

    def __init__(self, an: "Analysis") -> None:
        self.queues: Dict["Key", Queue] = {}
        self.after: Dict[int, int] = {}     # kept event's index -> pages pending, all mms
        starts: Dict[int, Optional[int]] = {}
        for life in an.lives.values():
            for scan in life.ends:
                starts[scan.end.index] = None if scan.start is None else \
                    scan.start.sample.time
        pending = 0
        for r in an.kept:
            key = r.key
            assert key is not None
            if r.name == "kmem_mm_enter" and key[1] > 0:
                old = self.queues.get((key[0], key[1] - 1))
                if old is not None and not old.closed:
                    pending -= old.pending()
                    old.close(gone=True)
            elif r.name in ("kmem_scan_mm_end", "kmem_scan_mm_migrate"):
                q = self.queues.setdefault(key, Queue())
                pending -= q.pending()
                if r.name == "kmem_scan_mm_end":
                    q.end(r.values["total"] or 0, starts[r.index])
                else:
                    q.migrate(r.sample.time)
                pending += q.pending()
            self.after[r.index] = pending
        for key, q in self.queues.items():
            if an.lives[key].exit_ns is not None:
                pending -= q.pending()
            q.close(gone=an.lives[key].exit_ns is not None)
        if an.kept:     # the last row closes with the recording: gone mms' pages left it
            self.after[an.kept[-1].index] = pending

    def report(self, chosen: Sequence["Life"], an: "Analysis") -> Dict[str, Any]:
        qs = [(life, self.queues[life.key]) for life in chosen if life.key in self.queues]
        total: Dict[str, Any] = {}
        for name in ("pages_queued", "pages_attempted", "attempts_unqueued",
                     "never_attempted", "queued_at_end"):
            total[name] = sum(q.figures()[name] for _, q in qs)
        total["peak_pages"] = max((q.peak for _, q in qs), default=0)
        total["batches"] = {k: sum(q.batches[k] for _, q in qs)
                            for k in ("queued", "drained", "unmeasured", "merged", "left")}
        total["first_attempt_wait_ns"] = wait([w for _, q in qs for w in q.first_waits])
        total["drain_wait_ns"] = wait([w for _, q in qs for w in q.drain_waits])
        by_mm = []
        for life, q in qs:
            pid, comm = an.owner(life.key)
            row: Dict[str, Any] = {"mm": "0x%x" % life.key[0], "generation": life.key[1],
                                   "pid": pid, "comm": comm}
            row.update(q.figures())
            by_mm.append(row)
        total["by_mm"] = by_mm
        return total
