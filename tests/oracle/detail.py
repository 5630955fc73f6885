"""Per mm (docs/report.md, "Per mm (`kscand_detail`)"): failures, scan period and the gap
between completed scans, visits per second, for each selected lifetime with a scan end or a
migration.

Read here: ``visits`` counts the lifetime's completed scans and not-due visits (a start in
flight at the end is neither); the gaps are between the starts of consecutive completed
scans in the order of their ends; ``visits_per_second`` is rounded to 0.001 as the rates.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .backlog import wait
from .core import rc_name

if TYPE_CHECKING:
    from .core import Analysis, Life


def detail(an: "Analysis", chosen: Sequence["Life"],
           time_ns: Optional[Dict[str, int]]) -> Dict[str, Any]:
    rows: List[Dict[str, Any]] = []
    for life in chosen:
        if not life.ends and not life.migrates:
            continue
        pid, comm = an.owner(life.key)
        rcs: Dict[int, int] = collections.Counter(
            m.values["rc"] for m in life.migrates if m.values["rc"] != 0)  # type: ignore
        periods = [s.end.values["scan_period"] for s in life.ends]
        starts = [s.start.sample.time for s in life.ends if s.start is not None]
        visits = len(starts) + len(life.not_due)
        span: Optional[int] = None
        if time_ns is not None:
            lo = life.enter_ns if life.enter_ns is not None else time_ns["first"]
            hi = life.exit_ns if life.exit_ns is not None else time_ns["last"]
            span = min(hi, time_ns["last"]) - max(lo, time_ns["first"])
        rows.append({
            "mm": "0x%x" % life.key[0], "generation": life.key[1], "pid": pid, "comm": comm,
            "attempted": len(life.migrates),
            "failures": {str(rc): {"name": rc_name(rc), "count": n} for rc, n in rcs.items()},
            "scan_period_ms": None if not periods else {
                "first": periods[0], "last": periods[-1], "min": min(periods),  # type: ignore
                "max": max(periods)},  # type: ignore
            "scan_gap_ns": wait([b - a for a, b in zip(starts, starts[1:])]),
            "visits": visits, "span_ns": span,
            "visits_per_second": round(visits / (span / 1e9), 3) if span else None})
    return {"by_mm": rows}
