"""JSON of the report's ``backlog`` and ``kscand_detail`` members (docs/report.md; the
schema is kscand_perf/report.schema.json). Times in ns."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..cost import Cost
from ..detail import BacklogReport, DetailReport, Dist, QueueFigures
from ..events import rc_name
from ..histogram import LogLinearHistogram, bucket_bounds
from ..report import mm_key


def _buckets(h: LogLinearHistogram) -> List[List[int]]:
    out = []
    for key in sorted(h.buckets):
        low, high = bucket_bounds(key)
        out.append([low, high, h.buckets[key]])
    return out


def dist_json(d: Optional[Dist]) -> Optional[Dict[str, Any]]:
    """count, exact min/mean/max/total, p50/p90/p99 (within 1%), and the log-linear
    buckets as [low, high, count] rows (what an exact merge needs)."""
    if d is None:
        return None
    return {"count": d.count, "min": d.min, "mean": round(d.mean, 3), "max": d.max,
            "total": d.total, "p50": d.percentiles.get(50), "p90": d.percentiles.get(90),
            "p99": d.percentiles.get(99), "log_linear": _buckets(d.histogram)}


def queue_json(f: QueueFigures) -> Dict[str, Any]:
    return {
        "pages_queued": f.queued, "pages_attempted": f.attempted,
        "attempts_unqueued": f.unqueued, "never_attempted": f.never_attempted,
        "queued_at_end": f.queued_at_end, "peak_pages": f.peak,
        "batches": {"queued": f.batches, "drained": f.drained, "unmeasured": f.unmeasured,
                    "merged": f.merged, "left": f.left},
        "first_attempt_wait_ns": dist_json(f.first_wait),
        "drain_wait_ns": dist_json(f.drain_wait),
    }


def backlog_json(b: Optional[BacklogReport]) -> Optional[Dict[str, Any]]:
    if b is None:
        return None
    out = queue_json(b.total)
    out["by_mm"] = [dict([("mm", mm_key(m.mm)), ("generation", m.generation),
                          ("pid", m.pid), ("comm", m.comm)]
                         + list(queue_json(m.figures).items())) for m in b.by_mm]
    return out


def detail_json(d: Optional[DetailReport]) -> Optional[Dict[str, Any]]:
    if d is None:
        return None
    return {"by_mm": [{
        "mm": mm_key(m.mm), "generation": m.generation, "pid": m.pid, "comm": m.comm,
        "attempted": m.attempted,
        "failures": {str(rc): {"name": rc_name(rc), "count": n}
                     for rc, n in sorted(m.failures.items())},
        "scan_period_ms": m.scan_period_ms,
        "scan_gap_ns": dist_json(m.scan_gap),
        "visits": m.visits, "span_ns": m.span_ns,
        "visits_per_second": m.visits_per_second,
    } for m in d.by_mm]}


def cost_json(c: Optional[Cost]) -> Optional[Dict[str, Any]]:
    if c is None:
        return None
    return {"kscand_scan_cpu_ns": c.kscand_scan_cpu_ns, "kmigrated_cpu_ns": c.kmigrated_cpu_ns,
            "kmigrated_pids": list(c.kmigrated_pids),
            "kscand_cpu_ns_switch": c.kscand_cpu_ns_switch, "promoted_pages": c.promoted_pages,
            "cpu_us_per_promoted_page": dict(c.per_page_us), "notes": list(c.notes)}
