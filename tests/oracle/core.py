"""Kept events -> the report's figures (docs/report.md, FIELDS and JSON)."""

from __future__ import annotations

import collections
import hashlib
import math
import re
from decimal import Decimal
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from .lifetimes import KSCAND, Key, Record, Recording

RC_NAMES = {0: "success", 1: "KSCAND_NULL_MM", 2: "KSCAND_EXITING_MM",
            3: "KSCAND_INVALID_FOLIO", 4: "KSCAND_NONLRU_FOLIO",
            5: "KSCAND_INELIGIBLE_SRC_NODE", 6: "KSCAND_SAME_SRC_DEST_NODE",
            7: "KSCAND_PTE_NOT_PRESENT", 8: "KSCAND_PMD_NOT_PRESENT",
            9: "KSCAND_NO_PTE_OFFSET_MAP_LOCK", 10: "KSCAND_NOT_HOT_PAGE",
            11: "KSCAND_LRU_ISOLATION_ERR", -11: "EAGAIN"}
BATCH_LIMIT = 1024
UNITS = {"ns": 1, "us": 1000, "ms": 10**6}


class Options(NamedTuple):
    pids: Optional[Sequence[int]] = None
    comm: Optional[str] = None
    mms: Optional[Sequence[int]] = None
    node: Optional[int] = None
    time: Optional[str] = None          # "START,END" as given to --time
    interval: Optional[float] = None    # seconds
    unit: str = "us"
    linear: Optional[str] = None        # --linear WIDTH, in the unit
    vmstat: Optional[Tuple[str, str]] = None

    def args(self) -> List[str]:
        out: List[str] = []
        if self.pids is not None:
            out += ["--pid", ",".join(str(p) for p in self.pids)]
        if self.comm is not None:
            out += ["--comm", self.comm]
        if self.mms is not None:
            out += ["--mm", ",".join("0x%x" % m for m in self.mms)]
        if self.node is not None:
            out += ["--node", str(self.node)]
        if self.time is not None:
            out += ["--time=" + self.time]
        if self.interval is not None:
            out += ["--interval", repr(self.interval)]
        if self.unit != "us":
            out += ["--" + self.unit]
        if self.linear is not None:
            out += ["--linear", self.linear]
        if self.vmstat is not None:
            out += ["--vmstat", self.vmstat[0], self.vmstat[1]]
        return out


def rc_name(rc: int) -> str:
    return RC_NAMES.get(rc, str(rc))   # an unknown code's name is its decimal number


def nearest_rank(ordered: Sequence[int], q: float) -> int:
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def stats(values: Sequence[int], percentiles: bool = False) -> Optional[Dict[str, Any]]:
    if not values:
        return None
    out: Dict[str, Any] = {"count": len(values), "min": min(values),
                           "mean": round(sum(values) / len(values), 3), "max": max(values),
                           "total": sum(values)}
    if percentiles:
        ordered = sorted(values)
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            out[name] = nearest_rank(ordered, q)
    return out


def value_stats(values: Sequence[int], mms: Sequence[Sequence[int]]) -> Optional[Dict[str, int]]:
    """first/last/min/max of ``values`` (in time order) and changes summed over ``mms``."""
    if not values:
        return None
    changes = sum(sum(1 for a, b in zip(v, v[1:]) if a != b) for v in mms)
    return {"first": values[0], "last": values[-1], "min": min(values), "max": max(values),
            "changes": changes}


def log_linear(values: Sequence[int]) -> List[List[int]]:
    """128 buckets per power of two: below 256 one value per bucket, else 2**(bits-8)
    wide, named by low, listed [low, high, count]."""
    buckets: Dict[int, int] = collections.Counter()
    width: Dict[int, int] = {}
    for v in values:
        e = max(0, v.bit_length() - 8)
        low = (v >> e) << e
        buckets[low] += 1
        width[low] = 1 << e
    return [[low, low + width[low] - 1, buckets[low]] for low in sorted(buckets)]


def log2_rows(values: Sequence[int], unit: int) -> List[List[int]]:
    """The log2 rows of duration // unit: [0, 1], [2, 3], [4, 7], ... (0 and 1 share the
    first row), from the lowest non-empty row to the highest, empty ones between included."""
    rows = collections.Counter(max(0, (v // unit).bit_length() - 1) for v in values)
    if not rows:
        return []
    return [[0 if k == 0 else 1 << k, (1 << (k + 1)) - 1, rows.get(k, 0)]
            for k in range(min(rows), max(rows) + 1)]


LINEAR_LIMIT = 1000


def linear(values: Sequence[int], width: str, unit: int) -> Dict[str, Any]:
    """--linear WIDTH: buckets WIDTH units wide from 0, non-empty ones listed; durations
    past LINEAR_LIMIT buckets count as overflow."""
    w = int(Decimal(width) * unit)
    buckets = collections.Counter(v // w for v in values)
    return {"width_ns": w, "limit": LINEAR_LIMIT,
            "rows": [[k * w, (k + 1) * w - 1, n] for k, n in sorted(buckets.items())
                     if k < LINEAR_LIMIT],
            "overflow": sum(n for k, n in buckets.items() if k >= LINEAR_LIMIT)}


def parse_time(text: str, first: Optional[int]) -> Tuple[Optional[int], Optional[int]]:
    """--time START,END -> [start, end) in ns ('+': relative to trace_time_ns.first)."""
    out: List[Optional[int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            out.append(None)
        elif part.startswith("+"):
            out.append((first or 0) + int(Decimal(part[1:]) * 10**9))
        else:
            out.append(int(Decimal(part) * 10**9))
    return out[0], out[1]


class Scan(NamedTuple):
    end: Record
    start: Optional[Record]     # None: an end without a start


class Life:
    """What one mm lifetime's kept events add up to."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.first_ns: Optional[int] = None
        self.events: Dict[str, int] = collections.Counter()
        self.ends: List[Scan] = []
        self.not_due: List[int] = []           # start times of unpaired starts
        self.in_flight = 0                      # starts in flight when the recording ended
        self.exited_during_scan = 0
        self.ends_before_start = 0
        self.migrates: List[Record] = []
        self.entered = False                    # its kmem_mm_enter was kept
        self.enter_ns: Optional[int] = None     # time of its kept kmem_mm_enter
        self.exit_ns: Optional[int] = None      # time of its first kept kmem_mm_exit

    def completed(self) -> List[int]:
        return [s.end.sample.time - s.start.sample.time for s in self.ends if s.start]

    def scans(self) -> Dict[str, Any]:
        return scans_figures([self])

    def batches(self) -> Tuple[List[int], int, int]:
        """(batch sizes, sequence breaks, batches begun before the recording).

        msuccess + mfailed restarting at 1 starts a batch; any other step than +1 is a
        sequence break, except at the first migrate of a lifetime the recording never saw
        entering (a batch begun before the recording: not counted, size unknown). A break
        does not end a batch; a batch's size is the kernel's own count, its last msuccess +
        mfailed (not the number of its events, which lost events would make smaller). A
        run that never began at 1 is not a batch."""
        sizes: List[int] = []
        breaks = begun_before = 0
        prev: Optional[int] = None
        run: Optional[int] = None    # the current batch's last msuccess + mfailed
        for r in self.migrates:
            ms, mf = r.values.get("msuccess"), r.values.get("mfailed")
            if ms is None or mf is None:
                return [], 0, 0
            seq = ms + mf
            if seq == 1:
                if run is not None:
                    sizes.append(run)
                run = seq
            else:
                if prev is None and not self.entered:
                    begun_before += 1
                elif prev is None or seq != prev + 1:
                    breaks += 1
                if run is not None:
                    run = seq
            prev = seq
        if run is not None:
            sizes.append(run)
        return sizes, breaks, begun_before

    def pages_found(self) -> int:
        return sum(s.end.values["total"] or 0 for s in self.ends)

    def not_attempted(self) -> int:
        return max(0, self.pages_found() - len(self.migrates))


def scans_figures(lives: Sequence[Life]) -> Dict[str, Any]:
    ends = sorted((s for life in lives for s in life.ends), key=lambda s: s.end.index)
    durations = [d for life in lives for d in life.completed()]
    nodes: Dict[str, int] = collections.Counter()
    for s in ends:
        nodes[str(s.end.values["node"])] += 1
    passes: List[int] = []
    for life in lives:
        wraps = [s.end.sample.time for s in life.ends if s.end.values["start"] == 0]
        passes += [b - a for a, b in zip(wraps, wraps[1:])]
    per_mm = [[s.end for s in life.ends] for life in lives]
    return {
        "completed": len(durations),
        "not_due": sum(len(life.not_due) for life in lives),
        "in_flight": sum(life.in_flight for life in lives),
        "orphan_ends": sum(1 for s in ends if s.start is None),
        "exited_during_scan": sum(life.exited_during_scan for life in lives),
        "full_passes": sum(1 for s in ends if s.end.values["start"] == 0),
        "pages_found": sum(s.end.values["total"] or 0 for s in ends),
        "duration_ns": stats(durations, percentiles=True),
        "target_nodes": dict(nodes),
        "scan_period_ms": value_stats([s.end.values["scan_period"] for s in ends],  # type: ignore
                                      [[e.values["scan_period"] for e in m] for m in per_mm]),
        "scan_size": value_stats([s.end.values["scan_size"] for s in ends],  # type: ignore
                                 [[e.values["scan_size"] for e in m] for m in per_mm]),
        "pass_time_ns": stats(passes),
    }


def migrations_figures(lives: Sequence[Life]) -> Dict[str, Any]:
    migrates = [m for life in lives for m in life.migrates]
    by_node: Dict[str, Dict[str, int]] = {}
    by_rc: Dict[int, int] = collections.Counter()
    for m in migrates:
        rc, node = m.values["rc"], m.values["node"]
        assert rc is not None
        row = by_node.setdefault(str(node), {"attempted": 0, "succeeded": 0, "failed": 0})
        row["attempted"] += 1
        row["succeeded" if rc == 0 else "failed"] += 1
        by_rc[rc] += 1
    sizes: List[int] = []
    breaks = 0
    for life in lives:
        s, b, _ = life.batches()
        sizes += s
        breaks += b
    ok = by_rc.get(0, 0)
    return {"attempted": len(migrates), "succeeded": ok, "failed": len(migrates) - ok,
            "by_node": by_node,
            "by_rc": {str(rc): {"name": rc_name(rc), "count": n} for rc, n in by_rc.items()},
            "batches": len(sizes), "batch_size": stats(sizes), "sequence_breaks": breaks,
            "not_attempted": sum(life.not_attempted() for life in lives)}


class Analysis:
    """The recording after the filters: kept events, paired scans, lifetimes."""

    def __init__(self, rec: Recording, opts: Options) -> None:
        self.rec, self.opts = rec, opts
        self.window: Optional[Tuple[Optional[int], Optional[int]]] = None
        if opts.time is not None:
            self.window = parse_time(opts.time, rec.first_ns)
        self.filtered = 0
        self.lives: Dict[Key, Life] = {}
        self.kept: List[Record] = []          # kscand events kept, in order
        self.other: Dict[str, int] = collections.Counter()
        self.scan_threads: set = set()
        self.duplicates: Dict[str, int] = collections.Counter()
        self.bad: Dict[str, int] = collections.Counter()
        self.bad_reasons: Dict[str, int] = collections.Counter()
        self._rejects()
        self._run()

    def _rejects(self) -> None:
        for s, reason in self.rec.rejects:
            node = s.field("node")
            if not self._in_window(s.time) or (
                    self.opts.node is not None and s.short in (
                        "kmem_scan_mm_end", "kmem_scan_mm_migrate")
                    and node is not None and re.fullmatch(r"-?\d+", node)
                    and int(node) != self.opts.node):
                self.filtered += 1
            elif not reason:
                self.duplicates[s.short] += 1
            else:
                self.bad[s.event] += 1
                self.bad_reasons[reason] += 1

    def _in_window(self, t: int) -> bool:
        if self.window is None:
            return True
        lo, hi = self.window
        return (lo is None or t >= lo) and (hi is None or t < hi)

    def _life(self, key: Key) -> Life:
        if key not in self.lives:
            self.lives[key] = Life(key)
        return self.lives[key]

    def _run(self) -> None:
        stream: List[Record] = []
        for r in self.rec.records:
            if not self._in_window(r.sample.time):
                self.filtered += 1
                continue
            if r.key is None:
                self.other[r.sample.event] += 1
            else:
                stream.append(r)
        # pair starts and ends per kscand thread
        pending: Dict[int, Record] = {}
        scans: Dict[int, Optional[Record]] = {}      # end index -> its start
        visits: List[Record] = []
        exits: Dict[Key, List[int]] = collections.defaultdict(list)
        for r in stream:
            tid = r.sample.tid
            if r.name == "kmem_scan_mm_start":
                # threads that fired starts the --time window keeps, --node or not
                self.scan_threads.add(tid)
                if tid in pending:
                    visits.append(pending[tid])
                pending[tid] = r
            elif r.name == "kmem_scan_mm_end":
                # an end pairs with its thread's pending start of the same mm; an end of
                # another mm leaves that start pending (no other start came between)
                start = pending.get(tid)
                if start is not None and start.key == r.key:
                    del pending[tid]
                    if r.sample.time >= start.sample.time:
                        scans[r.index] = start
                        continue
                    self._life(r.key).ends_before_start += 1  # type: ignore[arg-type]
                    visits.append(start)
                scans[r.index] = None
            elif r.name == "kmem_mm_exit":
                exits[r.key].append(r.index)  # type: ignore[index]
            elif r.name == "kmem_mm_enter":     # the pointer's old lifetime's start: unpaired
                for t, s in list(pending.items()):
                    if s.key[0] == r.key[0]:  # type: ignore[index]
                        visits.append(s)
                        del pending[t]
        # a start still pending at the end is in flight, one per lifetime, unless its thread
        # fired a scan event later (after --time's window) or its pointer entered a new
        # lifetime (docs/report.md, "In flight")
        last_scan: Dict[int, int] = {}      # tid -> index of its last scan start or end
        last_enter: Dict[int, int] = {}     # pointer -> index of its last kmem_mm_enter
        for r in self.rec.records:
            if r.name in ("kmem_scan_mm_start", "kmem_scan_mm_end"):
                last_scan[r.sample.tid] = r.index
            elif r.name == "kmem_mm_enter":
                last_enter[r.key[0]] = r.index  # type: ignore[index]
        self.in_flight_index: Set[int] = set()
        flying: Set[Key] = set()
        for tid, s in sorted(pending.items(), key=lambda kv: -kv[1].index):
            assert s.key is not None
            if last_scan[tid] > s.index or last_enter.get(s.key[0], -1) > s.index or \
                    s.key in flying:
                visits.append(s)
            else:
                flying.add(s.key)
                self.in_flight_index.add(s.index)
        dropped = set()
        if self.opts.node is not None:
            for r in stream:
                if r.name in ("kmem_scan_mm_end", "kmem_scan_mm_migrate") and \
                        r.values["node"] != self.opts.node:
                    dropped.add(r.index)
                    start = scans.get(r.index)
                    if start is not None:
                        dropped.add(start.index)
        self.filtered += len(dropped)
        visit_ix = {v.index for v in visits}
        self.visit_index = visit_ix
        for r in stream:
            if r.index in dropped:
                continue
            key = r.key
            assert key is not None
            life = self._life(key)
            self.kept.append(r)
            life.events[r.name] += 1
            if life.first_ns is None:
                life.first_ns = r.sample.time
            if r.name == "kmem_mm_enter":
                life.entered = True
                life.enter_ns = r.sample.time
            elif r.name == "kmem_mm_exit":
                if life.exit_ns is None:
                    life.exit_ns = r.sample.time
            elif r.name == "kmem_scan_mm_start":
                if r.index in visit_ix:
                    life.not_due.append(r.sample.time)
                elif r.index in self.in_flight_index:
                    life.in_flight += 1
            elif r.name == "kmem_scan_mm_end":
                start = scans[r.index]
                life.ends.append(Scan(r, start))
                if start is not None and any(start.index < x < r.index for x in exits[key]):
                    life.exited_during_scan += 1
            elif r.name == "kmem_scan_mm_migrate":
                life.migrates.append(r)

    # -- selection by owner (--pid, --comm, --mm) -----------------------------------------

    def owner(self, key: Key) -> Tuple[Optional[int], Optional[str]]:
        o = self.rec.owners.get(key)
        return (o.pid, o.comm) if o else (None, None)

    def selected(self, key: Key) -> bool:
        pid, comm = self.owner(key)
        o = self.opts
        if o.pids is not None and pid not in o.pids:
            return False
        if o.comm is not None and (comm is None or not re.search(o.comm, comm)):
            return False
        if o.mms is not None and key[0] not in o.mms:
            return False
        return True

    def chosen(self) -> List[Life]:
        """Selected lifetimes, in order of first appearance in the whole recording (before
        the filters: a lifetime is the recording's), then pointer and generation."""
        lives = [life for life in self.lives.values() if self.selected(life.key)]
        first = self.rec.first_seen
        return sorted(lives, key=lambda life: (first[life.key], life.key))


def _sha256(path: Optional[str]) -> Optional[str]:
    """The SHA-256 of the recording's bytes (null for a pipe, which cannot be read again)."""
    if path is None or path == "-":
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _knob(path: Optional[str], name: str) -> Optional[int]:
    """An integer knob of the file kscand-record writes beside a recording (PATH.kscand.txt:
    ``name value`` lines), None where there is none."""
    if path is None or path == "-":
        return None
    try:
        with open(path + ".kscand.txt", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0] == name and parts[1].isdigit():
                    return int(parts[1])
    except OSError:
        pass
    return None


def filtering(opts: Options) -> bool:
    return any(v is not None for v in (opts.pids, opts.comm, opts.mms, opts.node, opts.time))


def oracle_report(recording: Any, opts: Options = Options(),
                  vmstat_text: Optional[Tuple[str, str]] = None,
                  input_name: Optional[str] = None,
                  input_path: Optional[str] = None) -> Dict[str, Any]:
    """The report's JSON, as the rules say it must be. ``recording``: a Recording, or the
    samples of perf script text (a Recording depends on no option: build it once).
    ``input_name``: the recording as the report was given it; ``input_path``: where its
    bytes are here (the same by default; another path for a report made elsewhere)."""
    from .compare import Prose
    from .counters import kernel_counters
    from .overtime import over_time
    from .backlog import Backlog
    from .cost import cost
    from .detail import detail
    from .mechanisms import in_report
    from .promotion import promotion_time
    rec = recording if isinstance(recording, Recording) else Recording(recording)
    samples = rec.samples
    an = Analysis(rec, opts)
    chosen = an.chosen()
    unit = UNITS[opts.unit]
    events = {name: sum(life.events.get(name, 0) for life in chosen) for name in KSCAND}
    kept_times = [r.sample.time for r in an.kept]
    mms = []
    for life in chosen:
        pid, comm = an.owner(life.key)
        mms.append({"mm": "0x%x" % life.key[0], "generation": life.key[1], "pid": pid,
                    "comm": comm, "enter_ns": life.enter_ns, "exit_ns": life.exit_ns,
                    "scans": life.scans(),
                    "migrations": migrations_figures([life])})
    unknown = [life for life in chosen if an.owner(life.key)[0] is None]
    durations = [d for life in chosen for d in life.completed()]
    other = sum(an.other.values())
    analysed = len(an.kept)
    out: Dict[str, Any] = {
        "schema": "kscand-perf/1",
        "events": events,
        "other_events": dict(an.other),
        "unhandled_events": dict(rec.unhandled),
        "bad_events": dict(an.bad),
        "filtered_events": an.filtered,
        "time_ns": {"first": min(kept_times), "last": max(kept_times)} if kept_times
        else None,   # of kscand events kept (after --time/--node), of every lifetime
        "scans": scans_figures(chosen),
        "migrations": migrations_figures(chosen),
        "mms": mms,
        "notes": Prose(),
        "kernel_counters": kernel_counters(an, opts, vmstat_text,
                                           _knob(input_path or input_name, "numa_balancing")),
        "accounting": {"events_in": len(samples), "analysed": analysed, "other": other,
                       "unhandled": sum(rec.unhandled.values()),
                       "bad": sum(an.bad.values()),
                       "duplicates": sum(an.duplicates.values()),
                       "filtered": an.filtered,
                       "non_tracepoint": sum(rec.non_tracepoint.values())},
        "trace_time_ns": {"first": rec.first_ns, "last": rec.last_ns},   # before filters
        "oddities": {
            "duplicate_samples": dict(an.duplicates),
            "ends_before_start": sum(life.ends_before_start for life in chosen),
            "scan_threads": len(an.scan_threads),
            "batches_begun_before_recording": sum(life.batches()[2] for life in chosen),
            "bad_reasons": dict(an.bad_reasons),
            "non_tracepoint_events": dict(rec.non_tracepoint),
            "unknown_owner": {
                "lifetimes": len(unknown),
                "scan_ends": sum(len(life.ends) for life in unknown),
                "migrations": sum(len(life.migrates) for life in unknown)}},
        "histograms": {"scan_duration_ns": {
            "log_linear": log_linear(durations),
            "log2": {"unit_ns": 1, "rows": log2_rows(durations, 1)},
            "linear": (None if opts.linear is None
                       else linear(durations, opts.linear, unit))}},
        "run": {"tool": "kscand-perf", "input": input_name, "merged_from": None,
                "input_sha256": _sha256(input_path or input_name)},
        # a pipe has no header to read again (a file's header: exempt, see compare.py)
        "selection": None if not filtering(opts) else {
            "time_ns": list(an.window) if an.window else None,
            "pids": list(opts.pids) if opts.pids is not None else None,
            "comms": [opts.comm] if opts.comm is not None else None,
            "mms": ["0x%x" % m for m in opts.mms] if opts.mms is not None else None,
            "nodes": [opts.node] if opts.node is not None else None,
            "kept_events": sum(events.values()),
            "events_in": rec.kscand_in},
    }
    if input_name == "-":
        out["run"]["header"] = None
    # issue 20: kmigrated's backlog, per mm, cost (backlog.py, detail.py, cost.py)
    backlog = Backlog(an)
    out["backlog"] = backlog.report(chosen, an)
    out["kscand_detail"] = detail(an, chosen, out["time_ns"])
    out["cost"] = cost(an, out["scans"], out["migrations"], any(
        v is not None for v in (opts.pids, opts.comm, opts.mms, opts.node)))
    # issue 20: promotions by mechanism (mechanisms.py), time to promotion (promotion.py)
    out["mechanisms"] = in_report(an, opts, rec.first_ns, rec.last_ns)
    out["promotion_time"] = promotion_time(an, opts, rec.first_ns)
    if opts.interval is not None:
        out["over_time"] = over_time(an, chosen, opts, backlog.after,
                                     out["mechanisms"] is not None)
    return out
