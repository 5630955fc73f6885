"""The columnar reader: the same records, order and handler calls as :class:`PerfReader`,
with the samples decoded in bulk by numpy (imported only here, and only where the caller
asked for this reader: :func:`available` says whether it can be had).

Where the stdlib reader takes one record at a time, this one looks at a whole block of
input at once: every 8-byte word that begins with the header and identifier of a sample
whose decoder is known (the stdlib reader's hot table: the first sample of each kind goes
the stdlib way and teaches it) is a candidate record; a run of candidates each ending where
the next begins is a chain of records, which are decoded by one numpy gather per kind
(with the offsets, sizes and signedness of the stdlib decoder's own struct, so the values
are the same). Everything else (rounds, COMM and FORK, other records, samples no struct
decodes, times 0 and ~0, damage, a candidate inside another record's payload) breaks the
chain and goes through the stdlib reader's own code, record by record.

Order: :class:`ColumnarQueue` is perf's ordered-events queue (:mod:`.rounds`) over
arrays: the same rounds, the same stable sort by time, the same flushes, so every handler
is called in the same order as by the stdlib reader. One kind may be delivered in bulk
(``bulk``): its samples are kept as columns (time, and its two fields) and a batch is handed
to ``bulk.deliver`` with the Python items between them; the other kinds are delivered one
call each, as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import struct
import sys
from typing import Any, BinaryIO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .base import NO_TIME, REC_FINISHED_ROUND, REC_SAMPLE, Damage, Handler, HandlerError, ReadStats
from .records import PerfReader
from .rounds import OrderedEvents

np: Any = None

_CODES = {"b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4",
          "q": "<i8", "Q": "<u8"}
_ITEM = re.compile(r"(\d*)([xbBhHiIqQ])")
Item = Tuple[Handler, Tuple[Any, ...]]
_ROUND = REC_FINISHED_ROUND | 8 << 48    # a FINISHED_ROUND record's header as a u64
WINDOW = 1 << 16
MIN_CHAIN = 16  # shorter chains of sample records go through the per-record path
# JUDGE_MIN samples or more read (judged after each block of input: BLOCK bytes, or what a
# pipe held), fewer than JUDGE_SHARE of them in chains: the rest of the input is read one
# record at a time (the stdlib reader's loop), faster where chains are short (churn: 2x)
JUDGE_MIN = 4096
JUDGE_SHARE = 0.5


def available() -> bool:
    """True where numpy imports (it is then kept for this module)."""
    global np
    if np is None:
        try:
            np = _import_numpy()
        except ImportError:
            return False
    return True


# subpackages that numpy's own __init__ imports (numpy 1.x) and this reader never uses:
# 40% of numpy's import time here. Each is loaded when first used (matplotlib's plots
# use numpy.ma), by importlib's LazyLoader.
DEFERRED = frozenset(("numpy.random", "numpy.ma", "numpy.polynomial", "numpy.fft",
                      "numpy.ctypeslib"))


class _Deferring:
    """While numpy is imported: the specs of DEFERRED, with lazy loaders (a finder of
    sys.meta_path; not an importlib.abc.MetaPathFinder: importing that module costs 5 ms)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def _import_numpy() -> Any:
    """numpy, without loading DEFERRED until they are used (where numpy is not imported
    yet: otherwise what is there)."""
    if "numpy" in sys.modules:
        return importlib.import_module("numpy")
    finder = _Deferring()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module("numpy")
    finally:
        sys.meta_path.remove(finder)


def struct_dtype(unpack: Any) -> Optional[Any]:
    """The numpy dtype of the values a decoder's ``struct.Struct(...).unpack_from`` reads
    (same offsets, sizes, signedness), or None when the decoder is no such struct."""
    st = getattr(unpack, "__self__", None)
    if not isinstance(st, struct.Struct) or not st.format.startswith("<"):
        return None
    names: List[str] = []
    formats: List[str] = []
    offsets: List[int] = []
    at = 0
    text = st.format[1:]
    pos = 0
    for m in _ITEM.finditer(text):
        if m.start() != pos:
            return None
        pos = m.end()
        n = int(m.group(1) or 1)
        code = m.group(2)
        if code == "x":
            at += n
            continue
        for _ in range(n):
            names.append("f%d" % len(names))
            formats.append(_CODES[code])
            offsets.append(at)
            at += int(_CODES[code][-1])
    if pos != len(text) or at != st.size or not names:
        return None
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": st.size})


class Batch:
    """Events in delivery order: ``t`` (uint64), ``ref`` (>= 0: index into ``items``, a
    Python item; -1: a bulk sample with fields ``a`` and ``b``)."""

    __slots__ = ("t", "ref", "a", "b", "items")

    def __init__(self, t: Any, ref: Any, a: Any, b: Any, items: List[Item]) -> None:
        self.t = t
        self.ref = ref
        self.a = a
        self.b = b
        self.items = items

    def __len__(self) -> int:
        return len(self.t)

    def take(self, sel: Any) -> "Batch":
        return Batch(self.t[sel], self.ref[sel], self.a[sel], self.b[sel], self.items)


def _concat(parts: List[Batch], items: List[Item]) -> Batch:
    if len(parts) == 1:
        p = parts[0]
        return Batch(p.t, p.ref, p.a, p.b, items)
    return Batch(np.concatenate([p.t for p in parts]), np.concatenate([p.ref for p in parts]),
                 np.concatenate([p.a for p in parts]), np.concatenate([p.b for p in parts]),
                 items)


def _empty(items: List[Item]) -> Batch:
    return Batch(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                 np.zeros(0, np.uint64), items)


class Caller:
    """One handler call with the stdlib delivery's error handling."""

    def __init__(self, fn_names: Dict[Any, str],
                 on_error: Optional[Callable[[str, Exception], None]]) -> None:
        self._fn_names = fn_names
        self._on_error = on_error

    def __call__(self, fn: Handler, args: Tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as e:
            self.error(fn, e)

    def error(self, fn: Handler, e: Exception) -> None:
        """``fn`` raised ``e``: on_error, or out of the reader as it is."""
        if self._on_error is None:
            raise HandlerError(e) from e
        self._on_error(self._fn_names.get(fn, "?"), e)


class PerEvent:
    """The delivery of a batch one call per event (what the stdlib reader does); the bulk
    kind's handler is ``fn(t, a, b)``."""

    def __init__(self, fn: Handler) -> None:
        self.fn = fn

    def deliver(self, batch: Batch, call: Caller) -> None:
        fn = self.fn
        items = batch.items
        ts = batch.t.tolist()
        aa = batch.a.tolist()
        bb = batch.b.tolist()
        refs = batch.ref.tolist()
        n = len(refs)
        i = 0
        while i < n:
            try:    # (one try for the whole loop, as the stdlib reader's delivery)
                while i < n:
                    r = refs[i]
                    if r >= 0:
                        f, args = items[r]
                        f(*args)
                    else:
                        fn(ts[i], aa[i], bb[i])
                    i += 1
            except Exception as e:
                r = refs[i]
                i += 1
                call.error(items[r][0] if r >= 0 else fn, e)


class ColumnarQueue:
    """perf's ordered-events queue (see :class:`.rounds.OrderedEvents`, whose rules it
    keeps) over arrays. Python items come through :meth:`add` (and :meth:`odd`), chains of
    decoded samples through :meth:`add_block`."""

    def __init__(self, stats: ReadStats, fn_names: Dict[Any, str],
                 on_error: Optional[Callable[[str, Exception], None]], sink: Any) -> None:
        self._stats = stats
        self._call = Caller(fn_names, on_error)
        self._sink = sink
        self.last = 0
        self.unsorted = False
        self._next_flush = 0
        self._last_flush = 0
        self._items: List[Item] = []      # Python items of the queue and this round
        self._single_t: List[int] = []    # this round's Python items not yet in a part
        self._single_ref: List[int] = []
        self._parts: List[Batch] = []     # this round, in read order
        self._q: Optional[Batch] = None   # waiting for a flush, sorted

    def add(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        if rec[0] > self.last:
            self.last = rec[0]
            self._single(fn, rec)
        else:
            self.odd(fn, rec)

    def odd(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        t = rec[0]
        if t == 0 or t == NO_TIME:
            self._flush_sink()
            self._stats.delivered += 1
            self._call(fn, rec)
            return
        if t < self.last:
            self.unsorted = True
        else:
            self.last = t
        self._single(fn, rec)

    def _single(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        self._single_t.append(rec[0])
        self._single_ref.append(len(self._items))
        self._items.append((fn, rec))

    def _flush_singles(self) -> None:
        if self._single_t:
            n = len(self._single_t)
            self._parts.append(Batch(np.array(self._single_t, np.uint64),
                                     np.array(self._single_ref, np.int64),
                                     np.zeros(n, np.int64), np.zeros(n, np.uint64),
                                     self._items))
            self._single_t = []
            self._single_ref = []

    def add_block(self, t: Any, ref: Any, a: Any, b: Any, items: List[Item]) -> None:
        """A chain's samples in read order (times neither 0 nor ~0): ``ref`` indexes
        ``items`` (-1: a bulk sample)."""
        self._flush_singles()
        if items:
            ref = np.where(ref >= 0, ref + len(self._items), ref)
            self._items.extend(items)
        top = np.maximum.accumulate(t)
        last = np.uint64(self.last) if self.last < NO_TIME else None
        if (last is not None and t[0] < last) or bool((t[1:] < top[:-1]).any()):
            self.unsorted = True
        self.last = max(self.last, int(top[-1]))
        self._parts.append(Batch(t, ref, a, b, self._items))

    def to_ordered(self, bulk_fn: Optional[Handler]) -> OrderedEvents:
        """The stdlib queue holding what this one holds, in the same order and state
        (the sink first delivers what it holds back: those events precede the rest)."""
        self._flush_sink()
        self._flush_singles()
        oe = OrderedEvents(self._stats, self._call._fn_names, self._call._on_error)
        if self._q is not None:
            oe._queue = _items_of(self._q, bulk_fn)
        if self._parts:
            oe.items = _items_of(_concat(self._parts, self._items), bulk_fn)
            self._parts = []
        oe.last = self.last
        oe.unsorted = self.unsorted
        oe._next_flush = self._next_flush
        oe._last_flush = self._last_flush
        self._q = None
        self._items = []
        return oe

    def round_end(self, final: bool) -> None:
        self._flush_singles()
        q = self._q
        if self._parts:
            new = _concat(self._parts, self._items)
            self._parts = []
            if self.unsorted or (q is not None and len(q) and q.t[-1] > new.t[0]):
                self.unsorted = True
            q = new if q is None or not len(q) else _concat([q, new], self._items)
        if q is None or not len(q):
            self._q = q
            if final:
                self._flush_sink()
            return
        self._stats.rounds += 1
        if self.unsorted:
            lf = self._last_flush
            if lf:
                self._stats.unordered += int((q.t < np.uint64(lf)).sum())
            q = q.take(np.argsort(q.t, kind="stable"))
            self.unsorted = False
        top = int(q.t[-1])
        limit = NO_TIME if final else self._next_flush
        if limit:
            cut = int(np.searchsorted(q.t, np.uint64(limit), side="right"))
            if cut:
                batch = q.take(slice(0, cut))
                q = q.take(slice(cut, None))
                self._last_flush = int(batch.t[-1])
                self._keep(q)
                self._stats.delivered += len(batch)
                self._sink.deliver(batch, self._call)
        if not final:
            self._next_flush = top
        self._q = q
        if final:
            self._flush_sink()

    def _flush_sink(self) -> None:
        """Have the sink deliver what it holds (it may hold batches to deliver them at
        once: see BulkStarts)."""
        flush = getattr(self._sink, "flush", None)
        if flush is not None:
            flush(self._call)

    def _keep(self, q: Batch) -> None:
        """Renumber the Python items the queue keeps (those of the batch are delivered)."""
        mask = q.ref >= 0
        keep = q.ref[mask]
        old = self._items
        self._items = [old[i] for i in keep.tolist()]
        ref = q.ref.copy()
        ref[mask] = np.arange(len(keep), dtype=np.int64)
        q.ref = ref
        q.items = self._items


def _items_of(batch: Batch, bulk_fn: Optional[Handler]) -> List[Item]:
    """A batch as the stdlib queue's items: (handler, arguments) in the batch's order."""
    items = batch.items
    return [items[r] if r >= 0 else (bulk_fn, (t, a, b)) for r, t, a, b in zip(
        batch.ref.tolist(), batch.t.tolist(), batch.a.tolist(), batch.b.tolist())]


class _Kind:
    """A sample header whose decoder is a struct: its numpy dtype, handler, and whether it
    is the bulk kind."""

    __slots__ = ("dtype", "fn", "bulk", "t_word", "size")

    def __init__(self, dtype: Any, fn: Handler, bulk: bool, size: int) -> None:
        self.dtype = dtype
        self.fn = fn
        self.bulk = bulk
        self.t_word = dtype.fields["f0"][1] // 8
        self.size = size


class ColumnarReader(PerfReader):
    """:class:`PerfReader` with the samples decoded in bulk. ``bulk`` names the event
    whose samples are kept as columns (a handler of ``(time, a, b)`` with two integer
    fields) and ``sink`` delivers batches (default :class:`PerEvent`)."""

    def __init__(self, source: BinaryIO,
                 handlers: Mapping[str, Tuple[Handler, Sequence[str]]],
                 unhandled: Optional[Callable[[str], None]] = None,
                 on_error: Optional[Callable[[str, Exception], None]] = None,
                 non_tracepoint: Optional[Callable[[str], None]] = None,
                 clock: Optional[Callable[[int], None]] = None,
                 bulk: Optional[str] = None, sink: Any = None) -> None:
        if not available():
            raise ImportError("the columnar reader needs numpy")
        super().__init__(source, handlers, unhandled, on_error, non_tracepoint, clock)
        self._bulk_fn: Optional[Handler] = None
        if bulk is not None and bulk in handlers and len(handlers[bulk][1]) == 2:
            self._bulk_fn = handlers[bulk][0]
        self.fn_names: Dict[Any, str] = self._q._fn_names   # handler -> event name
        self._q = ColumnarQueue(self.stats, self.fn_names, on_error,  # type: ignore[assignment]
                                sink or PerEvent(self._bulk_fn or _never))
        self._kinds: Dict[bytes, Tuple[Any, Optional[_Kind]]] = {}   # hot key -> entry, kind
        self._hot_n = -1
        self.per_record = False   # the input has shown short chains: see JUDGE_SHARE
        self._chained = 0         # samples since the last judgement decoded in chains
        self._single = 0          # ... and one at a time

    @property
    def bulk_fn(self) -> Optional[Handler]:
        """The handler of the bulk kind (None: no kind is delivered in bulk)."""
        return self._bulk_fn

    def set_sink(self, sink: Any) -> None:
        """Deliver batches with ``sink.deliver(batch, call)`` (before :meth:`read`)."""
        self._q._sink = sink  # type: ignore[attr-defined]

    # -- candidates ---------------------------------------------------------------------

    def _kind(self, entry: Any) -> Optional[_Kind]:
        size, unpack, fn = entry
        dt = struct_dtype(unpack)
        if dt is None or size % 8 or size < 16 or dt.itemsize > size:
            return None
        if dt.fields["f0"][0] != np.dtype("<u8") or dt.fields["f0"][1] % 8:
            return None
        bulk = (fn is self._bulk_fn and len(dt.names) == 3
                and (dt["f1"].kind == "i" or dt["f1"].itemsize < 8) and dt["f2"].kind == "u")
        return _Kind(dt, fn, bulk, size)

    def _candidates(self, buf: bytes, pos: int, end: int) -> Tuple[Any, Any, List[_Kind]]:
        """(byte offsets of the candidate records from ``pos`` on, their kinds' indices,
        the kinds): records whose first 16 bytes are a known struct-decoded sample header,
        that fit before ``end``, and whose time is neither 0 nor ~0."""
        hot = self._dec.hot
        self._hot_n = len(hot)
        kinds: List[_Kind] = []
        ids: Dict[Tuple[Any, Any, int], int] = {}   # one kind per decoding (not per CPU)
        by_a: Dict[int, List[Tuple[int, int]]] = {}
        for key, entry in hot.items():
            cached = self._kinds.get(key)
            if cached is None or cached[0] is not entry:
                cached = self._kinds[key] = (entry, self._kind(entry))
            kind = cached[1]
            if kind is None:
                continue
            a, b = struct.unpack("<QQ", key)
            i = ids.setdefault((kind.dtype, kind.fn, kind.size), len(kinds))
            if i == len(kinds):
                kinds.append(kind)
            by_a.setdefault(a, []).append((b, i))
        none = np.zeros(0, np.int64)
        nw = (min(len(buf), end + 16) - pos) // 8
        if not kinds or nw < 2:
            return none, none, kinds
        words = np.frombuffer(buf, "<u8", count=nw, offset=pos)
        # records of type SAMPLE (9) and FINISHED_ROUND first: one pass over the words
        halves = np.frombuffer(buf, "<u4", count=2 * nw - 2, offset=pos)
        is_type = halves == 9     # (compared whole, then every other: contiguous is faster)
        is_type |= halves == REC_FINISHED_ROUND
        maybe = np.flatnonzero(is_type[::2])
        w0 = words[maybe]
        w1 = words[maybe + 1]
        kind_of = np.full(len(maybe), -1, np.int64)
        kind_of[w0 == np.uint64(_ROUND)] = len(kinds)   # (a kind of its own, size 8)
        for a, pairs in by_a.items():
            idx = np.flatnonzero(w0 == np.uint64(a))
            if not len(idx):
                continue
            pairs.sort()
            bs = np.array([p[0] for p in pairs], np.uint64)
            ks = np.array([p[1] for p in pairs], np.int64)
            at = np.searchsorted(bs, w1[idx])
            at[at >= len(bs)] = 0
            ok = bs[at] == w1[idx]
            kind_of[idx[ok]] = ks[at[ok]]
        found = kind_of >= 0
        cand = maybe[found]
        kind_of = kind_of[found]
        if not len(cand):
            return none, none, kinds
        k = kind_of
        sizes = np.array([kd.size for kd in kinds] + [8], np.int64)[k]
        t_words = np.array([kd.t_word for kd in kinds] + [0], np.int64)[k]
        tix = cand + t_words
        fits = (cand * 8 + sizes <= end - pos) & (tix < nw)
        t = words[np.minimum(tix, nw - 1)]
        fits &= ((t != 0) & (t != np.uint64(NO_TIME))) | (k == len(kinds))
        return cand[fits] * 8 + pos, k[fits], kinds

    # -- the walk -----------------------------------------------------------------------

    def _scan(self, buf: bytes, pos: int, end: int, base: int) -> Tuple[int, int]:
        if self.per_record:
            return PerfReader._scan(self, buf, pos, end, base)
        done = self._scan_columns(buf, pos, end, base)
        if self._inflating is None:     # (a block of the input, not a compressed record's)
            self._judge()
        return done

    def _in_place(self) -> bool:
        # (the arrays take any buffer; the loop of PerfReader._scan needs bytes)
        return not self.per_record

    def _judge(self) -> None:
        """After a block (or what a pipe held): once JUDGE_MIN samples were read since the
        last judgement, go on one record at a time if they came in short chains."""
        chained, single = self._chained, self._single
        if chained + single < JUDGE_MIN:
            return
        self._chained = self._single = 0
        if chained < JUDGE_SHARE * (chained + single):
            self._q = self._q.to_ordered(self._bulk_fn)  # type: ignore[attr-defined]
            self.per_record = True

    def _scan_columns(self, buf: bytes, pos: int, end: int, base: int) -> Tuple[int, int]:
        hot = self._dec.hot
        limit = -1      # the candidates are those before limit
        ahead = -1      # the next candidate's offset (-1: none known)
        try:
            while pos + 8 <= end:
                if len(hot) != self._hot_n or pos >= limit:
                    # after the slow path learnt a sample header, over the next
                    # WINDOW bytes only (it may learn more: one per CPU and event)
                    limit = end if len(hot) == self._hot_n else min(end, pos + WINDOW)
                    offs, kidx, kinds = self._candidates(buf, pos, limit)
                    brk = self._breaks(offs, kidx, kinds)
                    ahead = -1 if not len(offs) else int(offs[0])
                if ahead < pos and ahead >= 0:
                    j = int(np.searchsorted(offs, pos))
                    ahead = int(offs[j]) if j < len(offs) else -1
                if ahead == pos:
                    j = int(np.searchsorted(offs, pos))
                    e = int(np.searchsorted(brk, j))
                    last = int(brk[e]) if e < len(brk) else len(offs) - 1
                    k = int(kidx[last])
                    stop = int(offs[last]) + (kinds[k].size if k < len(kinds) else 8)
                    ahead = int(offs[last + 1]) if last + 1 < len(offs) else -1
                    if last - j + 1 >= MIN_CHAIN:
                        self._chain(buf, offs[j:last + 1], kidx[j:last + 1], kinds)
                        self._chained += last - j + 1
                        pos = stop
                        continue
                    # a short chain (other records between the samples: process churn's
                    # COMM records) costs more in arrays than one record at a time
                    while pos < stop:
                        known = hot.get(bytes(buf[pos:pos + 16]))
                        if known is not None:  # (a sample whose header the cache knows)
                            self._q.add(known[2], known[1](buf, pos))
                            self._single += 1
                            pos += known[0]
                            continue
                        if buf[pos] == REC_SAMPLE:   # (the type's low byte)
                            self._single += 1
                        nxt = self._slow(buf, pos, end, base)
                        if nxt < 0:
                            return pos, -nxt
                        pos = nxt
                    continue
                if buf[pos] == REC_SAMPLE:
                    self._single += 1
                nxt = self._slow(buf, pos, end, base)
                if nxt < 0:
                    return pos, -nxt
                pos = nxt
        except (struct.error, IndexError, ValueError, OverflowError) as e:
            raise Damage(base + pos, "undecodable record: %s" % e) from None
        return pos, 0

    @staticmethod
    def _breaks(offs: Any, kidx: Any, kinds: List[_Kind]) -> Any:
        """Indices i of the candidates after which the next one is not where record i
        ends (the chains' last records)."""
        if len(offs) < 2:
            return np.zeros(0, np.int64)
        sizes = np.array([kd.size for kd in kinds] + [8], np.int64)[kidx]
        return np.flatnonzero(offs[:-1] + sizes[:-1] != offs[1:])

    def _chain(self, buf: bytes, offs: Any, kidx: Any, kinds: List[_Kind]) -> None:
        """Decode a chain of records (consecutive, in read order) and queue it, round by
        round (FINISHED_ROUND records are part of chains)."""
        is_round = kidx == len(kinds)
        marks = np.flatnonzero(is_round)
        if len(marks):
            keep = ~is_round
            offs = offs[keep]
            kidx = kidx[keep]
        n = len(offs)
        t = np.empty(n, np.uint64)
        bulk = np.zeros(n, bool)
        a = np.zeros(n, np.int64)
        b = np.zeros(n, np.uint64)
        present = np.unique(kidx).tolist() if n else []
        off0 = int(offs[0]) % 8 if n else 0  # (every record of a chain: the same alignment)
        decoded = []
        for k in present:
            kind = kinds[k]
            sel = np.flatnonzero(kidx == k) if len(present) > 1 else slice(None)
            at = (offs[sel] - off0) // 8
            # each field of these records: a strided view of the buffer (a record may
            # begin at any 8th byte) and one gather
            cols = []
            for name in kind.dtype.names:
                fdt, foff = kind.dtype.fields[name][:2]
                view = np.ndarray(shape=((len(buf) - off0 - foff - fdt.itemsize) // 8 + 1,),
                                  dtype=fdt, buffer=buf, offset=off0 + foff, strides=(8,))
                cols.append(view[at])
            t[sel] = cols[0]
            if kind.bulk:
                bulk[sel] = True
                a[sel] = cols[1]
                b[sel] = cols[2]
            else:
                decoded.append((sel, kind.fn, cols))
        # the Python items, in read order
        nb = ~bulk
        before = np.zeros(n + 1, np.int64)
        np.cumsum(nb, out=before[1:])
        ref = np.where(nb, before[:-1], -1)
        items: List[Any] = [None] * int(before[-1])
        for sel, fn, cols in decoded:
            for r, rec in zip(ref[sel].tolist(), zip(*[c.tolist() for c in cols])):
                items[r] = (fn, rec)
        q = self._q
        lo = 0
        for m, cut in enumerate((marks - np.arange(len(marks))).tolist() + [n]):
            if cut > lo:
                i0, i1 = int(before[lo]), int(before[cut])
                q.add_block(t[lo:cut], ref[lo:cut] - i0 if i0 else ref[lo:cut],  # type: ignore
                            a[lo:cut], b[lo:cut], items[i0:i1])
            lo = cut
            if m < len(marks):
                q.round_end(final=False)


def _never(*args: Any) -> None:
    raise AssertionError("no bulk kind")
