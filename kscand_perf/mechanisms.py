"""Promotions by mechanism: the kernel's own ``migrate:mm_migrate_pages`` events, told apart
by their reason and by the task they fire in (docs/report.md, "Promotions by mechanism").

Every migrate_pages() call of the kernel ends with ``mm_migrate_pages`` (pages succeeded and
failed, THP counts, ``mode``, ``reason``) in the context of the task that made the call, and
begins with ``mm_migrate_pages_start``. The mechanism of a call:

* reason ``numa_misplaced`` in kmigrated's context (comm ``kmigrated``): **kscand**;
* reason ``numa_misplaced`` in any other task: **numa_balancing** (a hint fault, in the
  faulting task);
* reason ``damon``: **damon**;
* reason ``demotion``: **demotion** (in a task whose comm starts with ``kswapd``: kswapd's,
  else direct reclaim);
* any other reason: **other**, kept per reason name.

Reason names come from the recording's own format (its ``__print_symbolic`` tables), which
the front end hands over with :meth:`Collector.define_symbol`; a value without a name is
shown as its number, and then never matches the names above (its calls are "other").

:class:`Collector` takes the events (it does no I/O and holds a few counters per reason,
context and faulting task: memory does not grow with the events); :meth:`Collector.result`
makes the report's :class:`Mechanisms`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from .analysis import Analyzer, BadValue
from .filtered import FilteredAnalyzer
from .histogram import LogLinearHistogram
from .read.formats import EventFormat

PAGES_EVENT = "migrate:mm_migrate_pages"
START_EVENT = "migrate:mm_migrate_pages_start"
MECHANISMS = ("kscand", "numa_balancing", "damon", "demotion", "other")
KMIGRATED = "kmigrated"
KSWAPD = "kswapd"
# the context of a call, as the collector keeps it
_KMIGRATED, _KSWAPD, _TASK = "kmigrated", "kswapd", "task"


def classify(reason: str, comm: str) -> str:
    """The mechanism of a call with reason name ``reason`` made by a task named ``comm``."""
    if reason == "numa_misplaced":
        return "kscand" if comm == KMIGRATED else "numa_balancing"
    if reason in ("damon", "demotion"):
        return reason
    return "other"


def _context(comm: str) -> str:
    if comm == KMIGRATED:
        return _KMIGRATED
    if comm.startswith(KSWAPD):
        return _KSWAPD
    return _TASK


@dataclasses.dataclass
class Figures:
    """The calls of one mechanism (or one reason) and the pages they moved."""

    calls: int = 0
    pages_succeeded: int = 0
    pages_failed: int = 0
    thp_succeeded: int = 0
    thp_failed: int = 0
    thp_split: int = 0
    pages_succeeded_per_second: Optional[float] = None  # over the trace's time (result only)

    def add(self, other: "Figures") -> None:
        self.calls += other.calls
        self.pages_succeeded += other.pages_succeeded
        self.pages_failed += other.pages_failed
        self.thp_succeeded += other.thp_succeeded
        self.thp_failed += other.thp_failed
        self.thp_split += other.thp_split


@dataclasses.dataclass
class ProcessRow:
    """NUMA balancing's calls in one faulting task (the last comm it was seen with)."""

    pid: int
    comm: str
    calls: int = 0
    pages_succeeded: int = 0
    pages_failed: int = 0
    # when its pages moved, from the trace's first event (the collector's rows only)
    times: Optional[LogLinearHistogram] = None


@dataclasses.dataclass
class CrossCheck:
    """kmigrated's mm_migrate_pages successes against kscand's rc-0 kmem_scan_mm_migrate
    events (one folio per call: they are equal when both sets of events are complete)."""

    kmigrated_pages_succeeded: int
    kscand_rc0_events: int
    equal: bool


@dataclasses.dataclass
class Mechanisms:
    """The report's "Promotions by mechanism" (JSON ``mechanisms``)."""

    by_mechanism: Dict[str, Figures]
    other_by_reason: Dict[str, Figures]
    demotion_by_context: Dict[str, int]
    numa_balancing_by_process: List[ProcessRow]
    starts: int
    starts_without_end: int
    cross_check: CrossCheck
    # pages demoted by kswapd, khugepaged and direct reclaim (the --vmstat comparison)
    demoted_pages: Dict[str, int] = dataclasses.field(default_factory=dict)


def stock_figures(m: Mechanisms) -> Dict[str, int]:
    """The trace figures the kernel's stock counters are held against (vmstat.STOCK)."""
    by = m.by_mechanism
    promoted = by["kscand"].pages_succeeded + by["numa_balancing"].pages_succeeded
    return {
        "promoted": promoted, "promoted_tiering": promoted,
        "demoted_kswapd": m.demoted_pages.get("kswapd", 0),
        "demoted_direct": m.demoted_pages.get("direct", 0),
        "demoted_khugepaged": m.demoted_pages.get("khugepaged", 0),
        "moved": sum(f.pages_succeeded for f in by.values()),
        "failed": sum(f.pages_failed for f in by.values()),
    }


def _count(value: object, name: str) -> int:
    """A page count field: absent (None: a kernel without it) is 0."""
    if value is None:
        return 0
    if value.__class__ is not int:
        raise TypeError("%s: expected an integer field, got %r" % (name, value))
    assert isinstance(value, int)
    if value < 0:
        raise BadValue("negative page count in mm_migrate_pages")
    return value


def _enum(value: object) -> int:
    if value.__class__ is not int:
        raise TypeError("expected an integer field, got %r" % (value,))
    assert isinstance(value, int)
    # an `int` field perf up to 7.3 zero-extends (see analysis.s32)
    return value - (1 << 32) if (1 << 31) <= value < (1 << 32) else value


class Collector:
    """Takes the migrate events of one recording (see the module's docstring).

    ``analyzer``: the report's analyzer, whose clock and --time window the events follow
    (events outside the window are counted in its ``filtered_events``, kept ones in its
    ``other_events``); ``interval_ns``: the --interval length, for the per-interval pages
    (intervals as the analyzer's timeline cuts them: from its first kscand event).
    A method that raises (TypeError, ValueError) has changed nothing: the front end counts
    the event as bad."""

    def __init__(self, analyzer: Analyzer, interval_ns: Optional[int] = None) -> None:
        self.analyzer = analyzer
        self.interval_ns = interval_ns
        self.symbols: Dict[str, Dict[str, Dict[int, str]]] = {}  # event -> field -> value
        # (reason, context) -> figures; (reason, process pid) -> the faulting process's row
        self.totals: Dict[Tuple[int, str], Figures] = {}
        self.tasks: Dict[Tuple[int, int], ProcessRow] = {}
        self.calls = 0  # kept mm_migrate_pages events
        self.starts = 0
        self.starts_without_end = 0
        self._open: Dict[int, int] = {}  # task (tid) -> starts not yet ended
        # interval index -> mechanism -> pages succeeded (with --interval)
        self.bins: Dict[int, Dict[str, int]] = {}
        self.origin: Optional[int] = None
        self.before_rows = 0  # calls before the first interval began (in no row)
        # where the recording's formats can be asked for their symbol tables (our reader:
        # they arrive with the recording), event name -> field -> value -> name
        self.symbol_source: Optional[Callable[[], Dict[str, Dict[str, Dict[int, str]]]]] = None

    # -- symbols ---------------------------------------------------------------

    def define_symbol(self, event: str, field: str, value: int, name: str) -> None:
        """``event`` (``migrate:mm_migrate_pages``, or perf's ``migrate__mm_migrate_pages``)
        names ``value`` of ``field`` ``name`` (the print fmt's __print_symbolic)."""
        event = event.replace("__", ":", 1) if ":" not in event else event
        table = self.symbols.setdefault(event, {}).setdefault(field, {})
        table.setdefault(value, name)

    def define_symbols(self, event: str, tables: Dict[str, Dict[int, str]]) -> None:
        for field, table in tables.items():
            for value, name in table.items():
                self.define_symbol(event, field, value, name)

    def define_symbols_of(self, formats: Iterable[EventFormat]) -> None:
        """The symbol tables of a recording's formats (our reader's :class:`EventFormat`)."""
        for f in formats:
            if f.symbols:
                self.define_symbols(f.full_name, f.symbols)

    def name(self, field: str, value: int, event: str = PAGES_EVENT) -> str:
        """The recording's name of ``value``; without one, its number as perf script shows
        it (hex, an ``int`` field's 32 bits: 42 is 0x2a, -3 is 0xfffffffd)."""
        if event not in self.symbols and self.symbol_source is not None:
            for name, tables in self.symbol_source().items():
                self.define_symbols(name, tables)
        known = self.symbols.get(event, {}).get(field, {}).get(value)
        return known if known is not None else "0x%x" % (value if value >= 0 else value + (1 << 32))

    # -- events ----------------------------------------------------------------

    def _keep(self, t: int) -> bool:
        a = self.analyzer
        if isinstance(a, FilteredAnalyzer):
            # --time applies as to every event (its window, its count of filtered events);
            # --node does not: these events carry no node
            return a._keep(t)
        a.clock(t)
        return True

    def migrate_pages(self, t: int, pid: int, comm: str, succeeded: Optional[int],
                      failed: Optional[int], thp_succeeded: Optional[int] = None,
                      thp_failed: Optional[int] = None, thp_split: Optional[int] = None,
                      large_folio_split: Optional[int] = None, mode: Optional[int] = None,
                      reason: Optional[int] = None, process: Optional[int] = None) -> None:
        """One ``mm_migrate_pages`` event (fields by name; absent ones are None) of task
        ``pid`` (the kernel's common_pid: a thread id) named ``comm``, in process ``process``
        (perf's sample pid; None: not known, the task's)."""
        if process is None:
            process = pid
        if t.__class__ is not int or pid.__class__ is not int or process.__class__ is not int:
            raise TypeError("expected integer time, pid and process, got %r, %r, %r"
                            % (t, pid, process))
        if comm.__class__ is not str:
            raise TypeError("expected a string comm, got %r" % (comm,))
        ok = _count(succeeded, "succeeded")
        bad = _count(failed, "failed")
        thp = (_count(thp_succeeded, "thp_succeeded"), _count(thp_failed, "thp_failed"),
               _count(thp_split, "thp_split"))
        _count(large_folio_split, "large_folio_split")
        if mode is not None:
            _enum(mode)
        if reason is None:
            raise TypeError("mm_migrate_pages without a reason")
        why = _enum(reason)
        if not self._keep(t):
            return
        self.analyzer.other(PAGES_EVENT)
        self.calls += 1
        context = _context(comm)
        fig = self.totals.get((why, context))
        if fig is None:
            fig = self.totals[(why, context)] = Figures()
        fig.calls += 1
        fig.pages_succeeded += ok
        fig.pages_failed += bad
        fig.thp_succeeded += thp[0]
        fig.thp_failed += thp[1]
        fig.thp_split += thp[2]
        if context != _KMIGRATED:
            row = self.tasks.get((why, process))
            if row is None:
                row = self.tasks[(why, process)] = ProcessRow(process, comm)
            row.comm = comm
            row.calls += 1
            row.pages_succeeded += ok
            row.pages_failed += bad
            if ok:
                if row.times is None:
                    row.times = LogLinearHistogram()
                row.times.add_many(self.analyzer.since_first(t), ok)
        n = self._open.get(pid, 0)
        if n:
            self._open[pid] = n - 1
        if self.interval_ns is not None:
            self._bin(t, classify(self.name("reason", why), comm), ok)

    def migrate_pages_start(self, t: int, pid: int, comm: str, mode: Optional[int] = None,
                            reason: Optional[int] = None) -> None:
        """One ``mm_migrate_pages_start`` event: counted, and paired with the next end of
        the same task (a start whose task starts again or never ends is without end)."""
        if t.__class__ is not int or pid.__class__ is not int:
            raise TypeError("expected integer time and pid, got %r, %r" % (t, pid))
        if mode is not None:
            _enum(mode)
        if reason is not None:
            _enum(reason)
        if not self._keep(t):
            return
        self.analyzer.other(START_EVENT)
        self.starts += 1
        if self._open.get(pid):
            self.starts_without_end += 1  # the task began another call: no end came
        self._open[pid] = 1

    def _bin(self, t: int, mechanism: str, pages: int) -> None:
        tl = getattr(self.analyzer, "tl", None)
        origin = getattr(tl, "origin", None)
        if origin is None or self.interval_ns is None or t < origin:
            self.before_rows += 1
            return
        self.origin = origin
        k = (t - origin) // self.interval_ns
        row = self.bins.setdefault(k, {})
        row[mechanism] = row.get(mechanism, 0) + pages

    def interval_pages(self, start_ns: int, end_ns: int) -> Dict[str, int]:
        """Pages succeeded per mechanism in the interval row [start_ns, end_ns)."""
        out = {m: 0 for m in MECHANISMS}
        if self.origin is None or self.interval_ns is None:
            return out
        step = self.interval_ns
        k0 = -((self.origin - start_ns) // step)  # the first k with origin + k*step >= start
        k1 = -((self.origin - end_ns) // step)
        keys = range(k0, k1) if k1 - k0 <= len(self.bins) else [
            k for k in self.bins if k0 <= k < k1]
        for k in keys:
            for m, n in self.bins.get(k, {}).items():
                out[m] += n
        return out

    def numa_balancing_times(self) -> Dict[int, ProcessRow]:
        """NUMA balancing's promotions per faulting process (pid -> its row, with the
        times of its pages), whatever --pid/--comm select."""
        out: Dict[int, ProcessRow] = {}
        for (why, pid), task in self.tasks.items():
            if self.name("reason", why) != "numa_misplaced" or task.times is None:
                continue
            row = out.get(pid)
            if row is None:
                row = out[pid] = ProcessRow(pid, task.comm, times=LogLinearHistogram())
            row.pages_succeeded += task.pages_succeeded
            row.times.merge(task.times)  # type: ignore[union-attr]
        return out

    def numa_balancing_pids(self) -> List[int]:
        """Every process in whose context NUMA balancing promoted (or tried to), whatever
        --pid/--comm select."""
        return sorted({pid for (why, pid) in self.tasks
                       if self.name("reason", why) == "numa_misplaced"})

    # -- the result ------------------------------------------------------------

    def result(self, kscand_rc0_events: int, duration_ns: Optional[int],
               pids: Optional[Sequence[int]] = None,
               comm: Optional[Pattern[str]] = None) -> Optional[Mechanisms]:
        """The section (None when no mm_migrate_pages event was kept). ``duration_ns``:
        the time the rates are per second of; ``pids``/``comm``: --pid/--comm, which select
        the faulting tasks listed for NUMA balancing (the totals are the whole system's)."""
        if not self.calls:
            return None
        by = {m: Figures() for m in MECHANISMS}
        other: Dict[str, Figures] = {}
        demotion = {"kswapd": 0, "direct": 0}
        for (why, context), fig in sorted(self.totals.items()):
            reason = self.name("reason", why)
            mech = classify(reason, KMIGRATED if context == _KMIGRATED else
                            KSWAPD if context == _KSWAPD else "")
            by[mech].add(fig)
            if mech == "other":
                other.setdefault(reason, Figures()).add(fig)
            elif mech == "demotion":
                demotion["kswapd" if context == _KSWAPD else "direct"] += fig.calls
        rows: Dict[int, ProcessRow] = {}
        for (why, pid), task in self.tasks.items():
            if self.name("reason", why) != "numa_misplaced":
                continue
            if pids is not None and pid not in pids:
                continue
            if comm is not None and not comm.search(task.comm):
                continue
            row = rows.get(pid)
            if row is None:
                row = rows[pid] = ProcessRow(pid, task.comm)
            row.calls += task.calls
            row.pages_succeeded += task.pages_succeeded
            row.pages_failed += task.pages_failed
        for fig in list(by.values()) + list(other.values()):
            fig.pages_succeeded_per_second = (fig.pages_succeeded * 1e9 / duration_ns
                                              if duration_ns else None)
        demoted = {"kswapd": 0, "direct": 0, "khugepaged": 0}
        for (why, context), fig in self.totals.items():
            if self.name("reason", why) == "demotion":
                demoted["kswapd" if context == _KSWAPD else "direct"] += fig.pages_succeeded
        for (why, pid), task in self.tasks.items():
            if task.comm == "khugepaged" and self.name("reason", why) == "demotion":
                demoted["khugepaged"] += task.pages_succeeded
                demoted["direct"] -= task.pages_succeeded
        kmigrated = by["kscand"].pages_succeeded
        listed = sorted(rows.values(), key=lambda r: r.pid)
        return Mechanisms(
            by_mechanism=by, other_by_reason=dict(sorted(other.items())),
            demotion_by_context=demotion, numa_balancing_by_process=listed,
            starts=self.starts,
            starts_without_end=self.starts_without_end + sum(1 for n in self._open.values()
                                                             if n),
            cross_check=CrossCheck(kmigrated, kscand_rc0_events,
                                   kmigrated == kscand_rc0_events),
            demoted_pages=demoted)


# -- merging reports (kscand-perf merge works on the JSON) ----------------------------------

_FIGURES = ("calls", "pages_succeeded", "pages_failed", "thp_succeeded", "thp_failed",
            "thp_split")


def _sum_figures(items: Sequence[Dict[str, Any]], duration_ns: Optional[int]
                 ) -> Dict[str, Any]:
    out: Dict[str, Any] = {k: sum(int(f.get(k) or 0) for f in items) for k in _FIGURES}
    out["pages_succeeded_per_second"] = (round(out["pages_succeeded"] * 1e9 / duration_ns, 3)
                                         if duration_ns else None)
    return out


def merge_json(docs: Sequence[Optional[Dict[str, Any]]], duration_ns: Optional[int]
               ) -> Optional[Dict[str, Any]]:
    """The "mechanisms" of several reports' JSON together: every count summed (processes
    by pid, the last comm), the rates over ``duration_ns`` (None: not known), the
    cross-check of the sums. None when no report has the section."""
    parts = [d for d in docs if d is not None]
    if not parts:
        return None
    by = {m: _sum_figures([p["by_mechanism"][m] for p in parts], duration_ns)
          for m in MECHANISMS}
    reasons = sorted({r for p in parts for r in p["other_by_reason"]})
    other = {r: _sum_figures([p["other_by_reason"][r] for p in parts
                              if r in p["other_by_reason"]], duration_ns) for r in reasons}
    procs: Dict[int, Dict[str, Any]] = {}
    for p in parts:
        for row in p["numa_balancing_by_process"]:
            acc = procs.setdefault(int(row["pid"]), {"pid": int(row["pid"]), "comm": "",
                                                     "calls": 0, "pages_succeeded": 0,
                                                     "pages_failed": 0})
            acc["comm"] = row["comm"]
            for k in ("calls", "pages_succeeded", "pages_failed"):
                acc[k] += int(row[k])
    kmigrated = sum(int(p["cross_check"]["kmigrated_pages_succeeded"]) for p in parts)
    rc0 = sum(int(p["cross_check"]["kscand_rc0_events"]) for p in parts)
    return {
        "by_mechanism": by, "other_by_reason": other,
        "demotion_by_context": {k: sum(int(p["demotion_by_context"][k]) for p in parts)
                                for k in ("kswapd", "direct")},
        "numa_balancing_by_process": [procs[pid] for pid in sorted(procs)],
        "starts": sum(int(p["starts"]) for p in parts),
        "starts_without_end": sum(int(p["starts_without_end"]) for p in parts),
        "cross_check": {"kmigrated_pages_succeeded": kmigrated, "kscand_rc0_events": rc0,
                        "equal": kmigrated == rc0},
    }


def from_json(doc: Dict[str, Any]) -> Mechanisms:
    """The model of a report JSON's "mechanisms" (for merged reports' text)."""
    def figures(d: Dict[str, Any]) -> Figures:
        return Figures(int(d["calls"]), int(d["pages_succeeded"]), int(d["pages_failed"]),
                       int(d["thp_succeeded"]), int(d["thp_failed"]), int(d["thp_split"]),
                       d.get("pages_succeeded_per_second"))
    c = doc["cross_check"]
    return Mechanisms(
        {m: figures(doc["by_mechanism"][m]) for m in MECHANISMS},
        {r: figures(f) for r, f in doc["other_by_reason"].items()},
        {k: int(doc["demotion_by_context"][k]) for k in ("kswapd", "direct")},
        [ProcessRow(int(r["pid"]), str(r["comm"]), int(r["calls"]), int(r["pages_succeeded"]),
                    int(r["pages_failed"])) for r in doc["numa_balancing_by_process"]],
        int(doc["starts"]), int(doc["starts_without_end"]),
        CrossCheck(int(c["kmigrated_pages_succeeded"]), int(c["kscand_rc0_events"]),
                   bool(c["equal"])))


__all__ = ["Collector", "CrossCheck", "Figures", "MECHANISMS", "Mechanisms", "PAGES_EVENT",
           "ProcessRow", "START_EVENT", "classify", "from_json", "merge_json",
           "stock_figures"]
