"""--interval: the interval rows, per-mm timelines and time to promotion
(docs/report.md "Over time")."""

from __future__ import annotations

import collections
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .core import UNITS, nearest_rank, rc_name
from .mechanisms import per_interval

if TYPE_CHECKING:
    from .core import Analysis, Life, Options

EMPTY_RUN = 1000        # a run of more than this many empty intervals is one row
POINTS_LIMIT = 1024
BINS_LIMIT = 512


class Row:
    def __init__(self) -> None:
        self.durations: List[int] = []
        self.not_due = 0
        self.ends = 0
        self.pages = 0
        self.rcs: Dict[int, int] = collections.Counter()
        self.events = 0     # kscand events kept in it, of any kind
        self.backlog: Optional[int] = None   # pages pending at its close (backlog.py)

    def empty(self) -> bool:
        return not self.events


def interval_ns(seconds: float) -> int:
    return int(Decimal(repr(seconds)) * 10**9)


def rows(an: "Analysis", opts: "Options",
         backlog: Optional[Dict[int, int]] = None, mechanisms: bool = False) -> Dict[str, Any]:
    width = interval_ns(opts.interval or 1.0)
    unit = UNITS[opts.unit]
    kept = an.kept
    if not kept:
        return {"interval_ns": width, "intervals": []}
    first = min(r.sample.time for r in kept)
    last = max(r.sample.time for r in kept)
    # the interval each kept event counts in: its own, or the current one when time went
    # backwards
    where: Dict[int, int] = {}
    cur = 0
    for r in kept:
        cur = max(cur, (r.sample.time - first) // width)
        where[r.index] = cur
    n = (last - first) // width + 1
    table: Dict[int, Row] = collections.defaultdict(Row)
    for life in an.lives.values():        # every lifetime: --pid/--comm/--mm do not apply
        for scan in life.ends:
            row = table[where[scan.end.index]]
            row.ends += 1
            row.pages += scan.end.values["total"] or 0
            if scan.start is not None:
                row.durations.append(scan.end.sample.time - scan.start.sample.time)
        for m in life.migrates:
            table[where[m.index]].rcs[m.values["rc"]] += 1  # type: ignore[index]
    for r in kept:
        table[where[r.index]].events += 1
        table[where[r.index]].backlog = (backlog or {}).get(r.index, 0)
        if r.index in an.visit_index:
            table[where[r.index]].not_due += 1
    out: List[Dict[str, Any]] = []
    cumulative = pending = 0
    k = 0
    while k < n:
        if table.get(k) is None or table[k].empty():
            j = k
            while j + 1 < n and (table.get(j + 1) is None or table[j + 1].empty()):
                j += 1
            if j - k + 1 > EMPTY_RUN:
                out.append(_row(Row(), first + k * width, first + (j + 1) * width, last,
                                cumulative, unit, pending))
                k = j + 1
                continue
        row = table.get(k) or Row()
        cumulative += row.rcs.get(0, 0)
        pending = pending if row.backlog is None else row.backlog   # empty: the last value
        out.append(_row(row, first + k * width, first + (k + 1) * width, last, cumulative,
                        unit, pending))
        k += 1
    if mechanisms:      # pages per mechanism in each row's [start, end)
        pages = per_interval(an, first)
        for row_ in out:
            row_["mechanisms_pages_succeeded"] = pages(row_["start_ns"], row_["end_ns"])
    return {"interval_ns": width, "intervals": out}


def _row(row: Row, start: int, end: int, last: int, cumulative: int,
         unit: int, pending: int = 0) -> Dict[str, Any]:
    ok = row.rcs.get(0, 0)
    attempted = sum(row.rcs.values())
    covered = (min(end, last) - start) / 1e9       # the time the interval covers
    failures = sorted(((n, rc) for rc, n in row.rcs.items() if rc != 0),
                      key=lambda x: (-x[0], x[1]))
    d = row.durations
    return {
        "start_ns": start, "end_ns": end, "scans": len(d), "not_due": row.not_due,
        "scan_ends": row.ends,
        "duration_ns": None if not d else {
            "count": len(d), "mean": round(sum(d) / len(d), 3),
            "p99": nearest_rank(sorted(d), 0.99), "max": max(d)},
        "pages_found": row.pages, "attempted": attempted, "succeeded": ok,
        "failed": attempted - ok,
        "attempted_per_s": attempted / covered if covered > 0 else None,
        "succeeded_per_s": ok / covered if covered > 0 else None,
        "failed_per_s": (attempted - ok) / covered if covered > 0 else None,
        "success": ok / attempted if attempted else None,
        "top_failure": None if not failures else {
            "rc": failures[0][1], "name": rc_name(failures[0][1]), "count": failures[0][0]},
        "cumulative_succeeded": cumulative,
        "failed_by_rc": {str(rc): {"name": rc_name(rc), "count": n}
                         for rc, n in row.rcs.items() if rc != 0},
        "backlog_pages": pending,
        # the bit length of the duration in ns, whatever --ns/--us/--ms
        "duration_log2": {str(b): c for b, c in sorted(
            collections.Counter(v.bit_length() for v in d).items())},
    }


def points(life: "Life") -> Dict[str, Any]:
    """At most POINTS_LIMIT scan ends: when an end would be the 1,025th kept, every second
    kept one goes and only every stride-th later end is kept (ends numbered from the
    lifetime's first, 0: an end is kept when its number is a multiple of stride)."""
    kept: List[Any] = []
    stride = 1
    for i, scan in enumerate(life.ends):
        if i % stride:
            continue
        if len(kept) == POINTS_LIMIT:
            kept = kept[::2]
            stride *= 2
            if i % stride:
                continue
        v = scan.end.values
        kept.append([scan.end.sample.time, v["scan_period"], v["scan_size"], v["total"]])
    return {"scan_ends": len(life.ends), "stride": stride, "points": kept}


def promotions(life: "Life", width: int) -> Dict[str, Any]:
    """Bins of the interval's length at absolute multiples of it (not from the first
    event), non-empty ones listed; at most BINS_LIMIT non-empty, neighbours merging."""
    bins: Dict[int, List[int]] = {}
    for m in life.migrates:
        b = m.sample.time // width
        if b not in bins and len(bins) == BINS_LIMIT:
            width *= 2
            merged: Dict[int, List[int]] = {}
            for k, (a, s) in bins.items():
                row = merged.setdefault(k // 2, [0, 0])
                row[0] += a
                row[1] += s
            bins = merged
            b = m.sample.time // width
        row = bins.setdefault(b, [0, 0])
        row[0] += 1
        row[1] += m.values["rc"] == 0
    return {"promotion_bin_ns": width,
            "promotions": [[k * width, a, s] for k, (a, s) in sorted(bins.items())]}


def time_to_promotion(life: "Life") -> Optional[Dict[str, Any]]:
    """From the start of the first completed scan that found pages (docs/report.md, "Time
    to promotion")."""
    found = [s for s in life.ends if s.start is not None and (s.end.values["total"] or 0) > 0]
    if not found:
        return None
    from_ns = found[0].start.sample.time   # type: ignore[union-attr]
    ok = sorted(m.sample.time for m in life.migrates if m.values["rc"] == 0)
    promoted = [t - from_ns for t in ok if t >= from_ns]
    out: Dict[str, Any] = {"from_ns": from_ns, "promoted": len(promoted),
                           "before": len(ok) - len(promoted)}
    for name, q in (("p50_ns", 0.5), ("p90_ns", 0.9), ("p99_ns", 0.99)):
        out[name] = promoted[max(1, math.ceil(q * len(promoted))) - 1] if promoted else None
    return out


def over_time(an: "Analysis", chosen: Sequence["Life"], opts: "Options",
              backlog: Optional[Dict[int, int]] = None, mechanisms: bool = False
              ) -> Dict[str, Any]:
    out = rows(an, opts, backlog, mechanisms)
    width = out["interval_ns"]
    mms = []
    for life in chosen:
        if not life.ends and not life.migrates:
            continue
        pid, comm = an.owner(life.key)
        row: Dict[str, Any] = {"mm": "0x%x" % life.key[0], "generation": life.key[1],
                               "pid": pid, "comm": comm}
        row.update(points(life))
        row.update(promotions(life, width))
        row["time_to_promotion"] = time_to_promotion(life)
        mms.append(row)
    out["mms"] = mms
    return out
