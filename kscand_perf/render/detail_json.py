"""JSON of the report's ``backlog`` and ``kscand_detail`` members (docs/report.md; the
schema is kscand_perf/report.schema.json). Times in ns."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

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


# -- CSV: the same figures as tables (ns and bytes; a run_id column is added by the caller) --

def _csv_mm(mm: int) -> str:
    return "%x" % mm  # as mms.csv: hex without 0x (DuckDB reads 0x... as a number)


def _blank(v: Any) -> Any:
    return "" if v is None else v


def _wait_cells(d: Optional[Dist]) -> List[Any]:
    if d is None:
        return ["", "", "", ""]
    return [d.count, _blank(d.percentiles.get(50)), _blank(d.percentiles.get(90)), d.max]


BACKLOG_CSV_HEADERS = (
    "mm", "generation", "pid", "comm", "pages_queued", "pages_attempted", "attempts_unqueued",
    "never_attempted", "queued_at_end", "peak_pages", "batches_queued", "batches_drained",
    "batches_unmeasured", "batches_merged", "batches_left", "first_attempt_wait_count",
    "first_attempt_wait_p50_ns", "first_attempt_wait_p90_ns", "first_attempt_wait_max_ns",
    "drain_wait_count", "drain_wait_p50_ns", "drain_wait_p90_ns", "drain_wait_max_ns")
MM_DETAIL_CSV_HEADERS = (
    "mm", "generation", "pid", "comm", "attempted", "failed", "scan_period_first_ms",
    "scan_period_last_ms", "scan_period_min_ms", "scan_period_max_ms", "scan_gap_count",
    "scan_gap_p50_ns", "scan_gap_p90_ns", "scan_gap_max_ns", "visits", "span_ns",
    "visits_per_second")
MM_FAILURES_CSV_HEADERS = ("mm", "generation", "pid", "comm", "rc", "name", "count")
COST_CSV_HEADERS = ("kscand_scan_cpu_ns", "kmigrated_cpu_ns", "kmigrated_pids",
                    "kscand_cpu_ns_switch", "promoted_pages", "kscand_scan_us_per_page",
                    "kmigrated_us_per_page", "total_us_per_page")
CSV_NAMES = ("backlog.csv", "mm_detail.csv", "mm_failures.csv", "cost.csv")


def detail_csv(b: Optional[BacklogReport], d: Optional[DetailReport], c: Optional[Cost]
               ) -> Dict[str, Tuple[Sequence[str], List[List[Any]]]]:
    """File name -> (headers, rows) of the backlog, the per-mm detail and the cost."""
    out: Dict[str, Tuple[Sequence[str], List[List[Any]]]] = {}
    if b is not None:
        out["backlog.csv"] = (BACKLOG_CSV_HEADERS, [
            [_csv_mm(m.mm), m.generation, _blank(m.pid), _blank(m.comm), f.queued, f.attempted,
             f.unqueued, f.never_attempted, f.queued_at_end, f.peak, f.batches, f.drained,
             f.unmeasured, f.merged, f.left] + _wait_cells(f.first_wait)
            + _wait_cells(f.drain_wait) for m in b.by_mm for f in [m.figures]])
    if d is not None:
        rows: List[List[Any]] = []
        fails: List[List[Any]] = []
        for m in d.by_mm:
            owner = [_csv_mm(m.mm), m.generation, _blank(m.pid), _blank(m.comm)]
            p = m.scan_period_ms or {}
            rows.append(owner + [m.attempted, sum(m.failures.values())]
                        + [_blank(p.get(k)) for k in ("first", "last", "min", "max")]
                        + _wait_cells(m.scan_gap)
                        + [m.visits, _blank(m.span_ns), _blank(m.visits_per_second)])
            fails += [owner + [rc, rc_name(rc), n] for rc, n in sorted(m.failures.items())]
        out["mm_detail.csv"] = (MM_DETAIL_CSV_HEADERS, rows)
        out["mm_failures.csv"] = (MM_FAILURES_CSV_HEADERS, fails)
    if c is not None:
        pp = c.per_page_us
        out["cost.csv"] = (COST_CSV_HEADERS, [[
            c.kscand_scan_cpu_ns, _blank(c.kmigrated_cpu_ns),
            " ".join(str(p) for p in c.kmigrated_pids), _blank(c.kscand_cpu_ns_switch),
            c.promoted_pages, _blank(pp["kscand_scan"]), _blank(pp["kmigrated"]),
            _blank(pp["total"])]])
    return out
