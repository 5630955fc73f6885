"""kmem_scan_mm_start in bulk: the columnar reader's batches applied to an
:class:`~kscand_perf.analysis.Analyzer` with the same effect as one
``Analyzer.scan_start`` call per start (numpy; imported only with the columnar reader).

A start changes little: its mm's ``visits`` (+1) and start time, the analyzer's pending
start (the mm of the thread's last start), and a pointer seen for the first time gets its
lifetime (:meth:`Analyzer._new`, in order of appearance). Most events of a trace are starts,
so a batch keeps them as columns and applies them lazily: before every other event (an
end, a migrate, an enter... called one by one as the stdlib reader does), the mm of that
event and the pending start are brought up to date with the starts before it in the
batch, and the rest at the batch's end. A start goes through ``scan_start`` itself where
it may do more than that: a start that does not follow another bulk start in the batch
(the first, or one after any other event: it may be a duplicate of the pending start,
or come from another thread), a start from another thread than the start before it, and
a start with the mm and time of the start before it (perhaps perf's duplicated sample).
Events of handlers this module does not know bring every mm up to date first.

Only a plain :class:`Analyzer` is fed this way (``type(core) is Analyzer``): the filtered
and timeline analyzers take one call per start.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional

from .analysis import Analyzer
from .read.columnar import Batch, Caller, PerEvent

np: Any = importlib.import_module("numpy")

# where the mm is among each handler's arguments (the time first); None: the handler
# reads no mm's starts (fork and exec name owners, exit only counts)
MM_ARG: Dict[str, Optional[int]] = {
    "kmem:kmem_mm_enter": 3, "kmem:kmem_mm_exit": 3, "kmem:kmem_scan_mm_start": 2,
    "kmem:kmem_scan_mm_end": 2, "kmem:kmem_scan_mm_migrate": 2,
    "sched:sched_process_fork": None, "sched:sched_process_exec": None,
    "sched:sched_process_exit": None,
}
SMALL = 32     # batches with fewer starts go one call per event
HOLD = 1 << 16  # events held from the queue's flushes before they are applied at once
OTHERS = 0.25   # batches where more events than this share take one call each go per event


class BulkStarts:
    """The sink of a :class:`~kscand_perf.read.columnar.ColumnarReader` whose bulk kind
    is kmem_scan_mm_start, for ``core``; ``handled``: the events that have a handler
    (anything else is counted by the reader's unhandled callbacks and touches no mm)."""

    def __init__(self, core: Analyzer, start_fn: Any, handled: List[str],
                 fn_names: Dict[Any, str]) -> None:
        self.core = core
        self.fn = start_fn
        self.per_event = PerEvent(start_fn)
        self._fn_names = fn_names
        self._unknown = {n for n in handled if n not in MM_ARG}
        self._held: List[Batch] = []
        self._held_n = 0
        # every mm pointer of a bulk start so far, sorted: a start's mm is found by
        # binary search (ids: indices into it; they change only when new pointers come)
        self._known = np.zeros(0, np.uint64)
        self._known_list: List[int] = []
        self._index: Dict[int, int] = {}

    def _ids(self, mm: Any) -> Any:
        """The index in ``_known`` of each of ``mm`` (adding the pointers not there)."""
        known = self._known
        if len(known):
            ids = np.searchsorted(known, mm)
            ids[ids >= len(known)] = 0
            if (known[ids] == mm).all():
                return ids.astype(np.int64)
        known = self._known = np.union1d(known, mm)
        self._known_list = known.tolist()
        self._index = {m: u for u, m in enumerate(self._known_list)}
        return np.searchsorted(known, mm).astype(np.int64)

    def deliver(self, batch: Batch, call: Caller) -> None:
        """Hold ``batch`` (what perf's queue flushed at a round's end, in order) until
        HOLD events are held: the order of the calls is the same, the work per event
        less (a round of a busy recording is a few thousand events; the work per batch
        follows the mms in it)."""
        self._held.append(batch)
        self._held_n += len(batch)
        if self._held_n >= HOLD:
            self.flush(call)

    def flush(self, call: Caller) -> None:
        """Apply what is held (the queue calls it at the end, and before it calls a
        handler itself)."""
        held = self._held
        if not held:
            return
        self._held = []
        self._held_n = 0
        self._apply(held[0] if len(held) == 1 else _merge(held), call)

    def _apply(self, batch: Batch, call: Caller) -> None:
        ref = batch.ref
        sidx = np.flatnonzero(ref < 0)
        if len(sidx) < SMALL:
            self.per_event.deliver(batch, call)
            return
        core = self.core
        n = len(batch)
        s_t = batch.t[sidx]
        s_pid = batch.a[sidx]
        s_mm = batch.b[sidx]
        single = np.empty(len(sidx), bool)
        single[0] = True
        same = (s_mm[1:] == s_mm[:-1]) & (s_t[1:] == s_t[:-1])
        # (after any other event: it may have been a start, or changed the pending one)
        single[1:] = (s_pid[1:] != s_pid[:-1]) | same | (sidx[1:] != sidx[:-1] + 1)
        bulk = ~single
        if n - int(bulk.sum()) > n * OTHERS:
            # most events are called one by one anyway (migrates between the starts):
            # the bookkeeping of the bulk path would cost more than it saves
            self.per_event.deliver(batch, call)
            return
        b_pos = sidx[bulk]
        b_t = s_t[bulk]
        b_mm = s_mm[bulk]
        if not len(b_pos):
            self.per_event.deliver(batch, call)
            return
        inv = self._ids(b_mm)
        nu = len(self._known)
        # the bulk starts grouped by mm, in order within each: (mm id, position) sorted
        key = inv * n + b_pos
        order = np.argsort(inv.astype(np.uint16) if nu <= 1 << 16 else key, kind="stable")
        skey = key[order]
        stime = b_t[order]
        gstart = np.searchsorted(skey, np.arange(nu, dtype=np.int64) * n)
        mms_u = self._known_list
        gstart_l: List[int] = gstart.tolist()
        index = self._index
        present = np.flatnonzero(np.bincount(inv, minlength=nu)).tolist()

        # the events called one by one, in order: every Python item and the single starts
        other = np.ones(n, bool)
        other[b_pos] = False
        o_pos = np.flatnonzero(other)
        o_ref = ref[o_pos].tolist()
        o_t = batch.t[o_pos].tolist()
        o_a = batch.a[o_pos].tolist()
        o_b = batch.b[o_pos].tolist()
        items = batch.items
        names = self._fn_names
        calls: List[Any] = []        # (fn, args) per other event
        o_u: List[int] = []          # its mm's index in uniq, -1: none, -2: every mm
        for i, r in enumerate(o_ref):
            if r < 0:
                fn: Any = self.fn
                args: Any = (o_t[i], o_a[i], o_b[i])
                mm: Any = o_b[i]
            else:
                fn, args = items[r]
                name = names.get(fn)
                at = MM_ARG.get(name) if name is not None else None
                mm = args[at] if at is not None and at < len(args) else None
                if name in self._unknown:
                    o_u.append(-2)
                    calls.append((fn, args))
                    continue
            calls.append((fn, args))
            o_u.append(index.get(mm, -1) if mm.__class__ is int else -1)
        ou = np.array(o_u, np.int64)
        has = ou >= 0
        cnt = np.zeros(len(ou), np.int64)
        if has.any():
            cnt[has] = (np.searchsorted(skey, ou[has] * n + o_pos[has])
                        - gstart[ou[has]])
        # the pending start before each other event: the last bulk start, where it comes
        # after the other event before it
        lastb = np.searchsorted(b_pos, o_pos) - 1
        prev = np.concatenate(([-1], o_pos[:-1]))
        pend = (lastb >= 0) & (b_pos[np.maximum(lastb, 0)] > prev)
        p_u = np.where(pend, inv[np.maximum(lastb, 0)], -1)
        p_cnt = np.zeros(len(ou), np.int64)
        if pend.any():
            p_cnt[pend] = (np.searchsorted(skey, p_u[pend] * n + o_pos[pend])
                           - gstart[p_u[pend]])
        # lifetimes of pointers first seen at a bulk start: made at their first start
        mms = core.mms
        new = [u for u in present if mms_u[u] not in mms]
        first_pos: List[int] = []
        first_t: List[int] = []
        if new:
            first = order[gstart[np.array(new, np.int64)]]   # index of each one's first start
            by_pos = np.argsort(first, kind="stable")
            new = [new[i] for i in by_pos.tolist()]
            first_pos = b_pos[first[by_pos]].tolist()
            first_t = b_t[first[by_pos]].tolist()

        applied = [0] * len(mms_u)

        def sync(u: int, c: int) -> None:
            d = c - applied[u]
            if d > 0:
                st = mms[mms_u[u]]
                st.visits += d
                st.start_s = 0
                st.start_ns = int(stime[gstart_l[u] + c - 1])
                applied[u] = c

        present_a = np.array(present, np.int64)

        def sync_all(p: int) -> None:
            counts = np.searchsorted(skey, present_a * n + p) - gstart[present_a]
            for u, c in zip(present, counts.tolist()):
                sync(u, c)

        nxt_new = 0
        positions = o_pos.tolist()
        cnt_l = cnt.tolist()
        pu_l = p_u.tolist()
        pc_l = p_cnt.tolist()
        for i, p in enumerate(positions):
            while nxt_new < len(new) and first_pos[nxt_new] < p:
                m = mms_u[new[nxt_new]]
                if m not in mms:
                    core._new(m, first_t[nxt_new])
                nxt_new += 1
            pu = pu_l[i]
            if pu >= 0:
                sync(pu, pc_l[i])
                core._pending = mms[mms_u[pu]]
            u = o_u[i]
            if u >= 0:
                sync(u, cnt_l[i])
            elif u == -2:
                sync_all(p)
            fn, args = calls[i]
            call(fn, args)
        while nxt_new < len(new):
            m = mms_u[new[nxt_new]]
            if m not in mms:
                core._new(m, first_t[nxt_new])
            nxt_new += 1
        sync_all(n)
        if not positions or int(b_pos[-1]) > positions[-1]:
            core._pending = mms[mms_u[int(inv[-1])]]


def _merge(batches: List[Batch]) -> Batch:
    """One batch of several, in order (each with only its own Python items)."""
    items: List[Any] = []
    refs = []
    for b in batches:
        ref = b.ref
        sel = ref >= 0
        if sel.any():
            ref = ref.copy()
            keep = ref[sel]
            items.extend([b.items[i] for i in keep.tolist()])
            ref[sel] = np.arange(len(items) - len(keep), len(items), dtype=np.int64)
        refs.append(ref)
    return Batch(np.concatenate([b.t for b in batches]), np.concatenate(refs),
                 np.concatenate([b.a for b in batches]), np.concatenate([b.b for b in batches]),
                 items)
