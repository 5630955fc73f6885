"""kmigrated's backlog per mm lifetime: pages queued against attempted, and the queue wait.

kscand queues the pages a scan finds for kmigrated (the scan end's ``total``); kmigrated
tries each one (a ``kmem_scan_mm_migrate`` event per page). The events do not say which
attempt served which page, so the report counts them in order, first queued first tried
(docs/report.md, "kmigrated's backlog", states the rule):

* A scan end with ``total`` > 0 queues a *batch*: the lifetime's pages number
  ``queued + 1 .. queued + total`` (``queued``: the sum of the earlier ends' totals), and
  its time is the start of that scan.
* The lifetime's n-th migrate event is the attempt of its n-th queued page. A batch is
  *drained* by the attempt of its last page; its *queue wait* is that attempt's time minus
  the start of its scan (``drain_wait``); ``first_wait`` is the same for its first page.
* A new scan that queues before the last batch drained adds a batch behind it (its wait
  runs from its own scan's start, whatever was still queued). At most :data:`PENDING_LIMIT`
  batches wait per lifetime: beyond, the newest is merged into the one before it (it keeps
  the older start; counted in ``merged``).
* Attempts beyond every page queued so far are *ahead*: kmigrated works during the scan
  that queues (kscand hands pages over per VMA). When that scan ends, they are its batch's
  first attempts if the first of them came at or after the scan's start; otherwise they
  served pages the recording never saw queued (queued before the recording, or by a scan
  whose end a filter dropped) and are counted in ``unqueued``, and the numbering restarts
  after them. A batch that its own scan's attempts drained before its end was drained at
  the last of them (when they number exactly its pages; else its wait is unmeasured).
* A batch whose scan start is unknown (an end whose start came before the recording) is
  counted but has no wait (``unmeasured``).
* When the lifetime ends (its pointer goes to a new mm, or the recording ends), the pages
  still queued are ``never_attempted`` (the mm exited) or ``queued_at_end`` (it had not),
  and attempts still ahead (no scan end took them) are ``unqueued``.

Work per migrate event: one attribute add and one compare (:meth:`Backlog.hit` runs only at
a batch's first and last attempt). Memory: two histograms and a few integers per lifetime
with a scan end or a migration; the waiting batches are freed when the lifetime ends.
"""

from __future__ import annotations

import collections
from typing import Deque, List, Optional, Set

from .histogram import LogLinearHistogram

PENDING_LIMIT = 64  # batches waiting per lifetime before the newest are merged

_NO_START = -1


class Backlog:
    """kmigrated's queue for one mm lifetime (see the module's docstring).

    ``a`` counts the lifetime's migrate events; the analysis calls :meth:`hit` when it
    equals ``mark``, and :meth:`end` at each scan end."""

    __slots__ = ("a", "mark", "q", "pending", "ahead_ns", "waiting", "first_wait",
                 "drain_wait", "batches", "drained", "unmeasured", "merged", "unqueued",
                 "peak", "never_attempted", "queued_at_end", "last_began", "gaps")

    def __init__(self, waiting: Set["Backlog"]) -> None:
        self.a = 0  # migrate events (attempts)
        self.q = 0  # pages queued (the scan ends' totals), plus unqueued attempts
        self.mark = 1  # the attempt number at which hit() must run (-1: none)
        # [scan start ns or _NO_START, pages before it, pages up to its last, first tried]
        self.pending: Deque[List[int]] = collections.deque()
        self.ahead_ns: Optional[int] = None  # time of the first attempt beyond q
        self.waiting = waiting  # the analyzer's lifetimes with pages queued (shared)
        self.first_wait = LogLinearHistogram()
        self.drain_wait = LogLinearHistogram()
        self.batches = 0
        self.drained = 0
        self.unmeasured = 0
        self.merged = 0
        self.unqueued = 0
        self.peak = 0  # most pages queued and not yet attempted, at a scan end
        self.never_attempted = 0
        self.queued_at_end = 0
        self.last_began: Optional[int] = None  # start of the last completed scan
        self.gaps = LogLinearHistogram()  # between consecutive completed scans' starts

    @property
    def queued(self) -> int:
        """Pages the scan ends queued (without the attempts of unseen batches)."""
        return self.q - self.unqueued

    @property
    def outstanding(self) -> int:
        return self.q - self.a if self.pending else 0

    def _set_mark(self) -> None:
        p = self.pending
        if p:
            head = p[0]
            self.mark = head[2] if head[3] else head[1] + 1
        else:
            self.waiting.discard(self)
            self.mark = self.q + 1 if self.ahead_ns is None else -1

    def hit(self, t: int) -> None:
        """Attempt number ``a`` came at ``t`` (a batch's first or last, or the first ahead)."""
        p = self.pending
        if not p:
            self.ahead_ns = t
            self.mark = -1
            return
        head = p[0]
        if not head[3]:
            head[3] = 1
            if head[0] != _NO_START:
                self.first_wait.add(t - head[0])
        if self.a == head[2]:
            p.popleft()
            self.drained += 1
            if head[0] != _NO_START:
                self.drain_wait.add(t - head[0])
            else:
                self.unmeasured += 1
        self._set_mark()

    def end(self, began: Optional[int], total: int, last_attempt_ns: int) -> None:
        """A scan end that found ``total`` pages (``began``: its scan's start, None when the
        recording has no start for it); ``last_attempt_ns``: the lifetime's last migrate."""
        if began is not None:
            if self.last_began is not None and began >= self.last_began:
                self.gaps.add(began - self.last_began)
            self.last_began = began
        if total <= 0:
            return
        self.batches += 1
        q0 = self.q
        first = 0
        a = self.a
        if a > q0:  # attempts ahead of every page queued before this end
            ahead = self.ahead_ns
            if began is None:
                first = 1  # this batch's scan began before the recording: no wait
            elif ahead is not None and ahead >= began:
                first = 1
                self.first_wait.add(ahead - began)
            else:
                self.unqueued += a - q0
                q0 = a
        q = self.q = q0 + total
        self.ahead_ns = None
        if a >= q:  # its own scan's attempts drained it before its end
            self.drained += 1
            if a == q and began is not None:
                self.drain_wait.add(last_attempt_ns - began)
            else:
                self.unmeasured += 1
                self.unqueued += a - q
                self.q = a
        else:
            p = self.pending
            p.append([_NO_START if began is None else began, q0, q, first])
            if len(p) > PENDING_LIMIT:
                last = p.pop()
                p[-1][2] = last[2]
                self.merged += 1
            self.waiting.add(self)
            if self.q - a > self.peak:
                self.peak = self.q - a
        self._set_mark()

    def close(self, exited: bool) -> None:
        """The lifetime is over (``exited``: its mm exited): what is queued stays untried."""
        left = self.outstanding
        if self.a > self.q:  # attempts ahead that no scan end took: pages never seen queued
            self.unqueued += self.a - self.q
            self.q = self.a
        if exited:
            self.never_attempted += left
        else:
            self.queued_at_end += left
        self.pending.clear()
        self.waiting.discard(self)
        self.mark = -1

    @property
    def left_batches(self) -> int:
        """Batches neither drained nor merged (still waiting when the lifetime ended)."""
        return self.batches - self.drained - self.merged
