"""Cost (docs/report.md, "Cost"): kscand's and kmigrated's CPU time from the kept
``sched:sched_switch`` events, and the CPU time per promoted page.

Read here: a thread is seen only through the switches ``--time`` keeps (none kept: the
figure is null); ``kmigrated_pids`` sorted; the per-page figures are microseconds per
page rounded to 0.001, ``total`` null when either part is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .compare import Prose

if TYPE_CHECKING:
    from .core import Analysis

THREADS = ("kscand", "kmigrated")


def _bounds(an: "Analysis") -> Tuple[int, int]:
    lo, hi = an.rec.first_ns or 0, an.rec.last_ns or 0
    if an.window is not None:
        if an.window[0] is not None:
            lo = max(lo, an.window[0])
        if an.window[1] is not None:
            hi = min(hi, an.window[1])
    return lo, hi


def on_cpu(an: "Analysis") -> Tuple[Dict[str, Optional[int]], Dict[str, List[int]], int, int]:
    """({thread name: ns on a CPU, null when no switch names it}, {name: pids}, cut
    intervals, switches out of order)."""
    lo, hi = _bounds(an)
    since: Dict[Tuple[str, int], Optional[int]] = {}   # thread -> on-CPU since (None: off)
    total: Dict[str, int] = {}
    cut = odd = 0
    for r in an.rec.records:
        if r.name != "sched_switch" or not an._in_window(r.sample.time):
            continue
        t = r.sample.time
        prev, nxt = r.sample.field("prev_comm"), r.sample.field("next_comm")
        for name in THREADS:
            if prev == name:
                key = (name, r.values["prev_pid"])  # type: ignore[assignment]
                total.setdefault(name, 0)
                if key not in since:          # off with no switch-in before: cut
                    total[name] += t - lo
                    cut += 1
                elif since[key] is None:      # off while off: lost events
                    odd += 1
                else:
                    total[name] += t - since[key]  # type: ignore[operator]
                since[key] = None
            if nxt == name:
                key = (name, r.values["next_pid"])  # type: ignore[assignment]
                total.setdefault(name, 0)
                if since.get(key) is not None:   # on while on: restarts here
                    odd += 1
                since[key] = t
    for (name, _), t0 in since.items():
        if t0 is not None:
            total[name] += hi - t0
            cut += 1
    pids = {name: sorted({p for (n, p) in since if n == name}) for name in THREADS}
    return {name: total.get(name) for name in THREADS}, pids, cut, odd


def cost(an: "Analysis", scans: Dict[str, Any], migrations: Dict[str, Any],
         selected: bool) -> Dict[str, Any]:
    times, pids, cut, odd = on_cpu(an)
    scan_ns = (scans["duration_ns"] or {}).get("total", 0)
    promoted = migrations["succeeded"]

    def per_page(ns: Optional[int]) -> Optional[float]:
        if ns is None or not promoted or selected:
            return None
        return round(ns / 1000 / promoted, 3)

    kmig = times["kmigrated"]
    nulls = kmig is None or times["kscand"] is None or not promoted or selected
    return {"kscand_scan_cpu_ns": scan_ns, "kmigrated_cpu_ns": kmig,
            "kmigrated_pids": pids["kmigrated"], "kscand_cpu_ns_switch": times["kscand"],
            "promoted_pages": promoted,
            "cpu_us_per_promoted_page": {
                "kscand_scan": per_page(scan_ns), "kmigrated": per_page(kmig),
                "total": None if kmig is None else per_page(scan_ns + kmig)},
            "notes": Prose(True if nulls or cut or odd else None)}
