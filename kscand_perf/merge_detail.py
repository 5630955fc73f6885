"""Merge of the reports' ``backlog`` and ``kscand_detail`` members (kscand_perf.merge calls
:func:`merge_backlog` and :func:`merge_detail`; docs/report.md, "merge", says what is exact).

The backlog's counts add up and its waits merge bucket by bucket (each part's batches, exact
min/max/total); ``peak_pages`` is the largest part's. Parts of one recording split by time
are not the whole: a batch queued before a split point and attempted after it is
``queued_at_end`` in one part and ``attempts_unqueued`` in the next. Per-mm rows
(``by_mm``, ``kscand_detail``) are not merged (null): a lifetime's gaps and spans cross
the parts.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .histogram import LogLinearHistogram, bucket_bounds, bucket_key

Doc = Dict[str, Any]

_COUNTS = ("pages_queued", "pages_attempted", "attempts_unqueued", "never_attempted",
           "queued_at_end")
_BATCHES = ("queued", "drained", "unmeasured", "merged", "left")


def _wait(items: Sequence[Optional[Doc]]) -> Optional[Doc]:
    seen = [d for d in items if d]
    if not seen:
        return None
    h = LogLinearHistogram()
    for d in seen:
        for low, _high, n in d["log_linear"]:
            key = bucket_key(int(low))
            h.buckets[key] = h.buckets.get(key, 0) + int(n)
    h.count = sum(int(d["count"]) for d in seen)
    h.total = sum(int(d["total"]) for d in seen)
    h.min = min(int(d["min"]) for d in seen)
    h.max = max(int(d["max"]) for d in seen)
    rows: List[List[int]] = []
    for key in sorted(h.buckets):
        low, high = bucket_bounds(key)
        rows.append([low, high, h.buckets[key]])
    return {"count": h.count, "min": h.min, "mean": round(h.total / h.count, 3),
            "max": h.max, "total": h.total, "p50": h.percentile(50),
            "p90": h.percentile(90), "p99": h.percentile(99), "log_linear": rows}


def merge_backlog(docs: Sequence[Doc]) -> Optional[Doc]:
    """The merged ``backlog`` (null when a part has none: a report of an older version)."""
    items = [d.get("backlog") for d in docs]
    if any(b is None for b in items):
        return None
    bs: List[Doc] = [b for b in items if b is not None]
    out: Doc = {k: sum(int(b[k]) for b in bs) for k in _COUNTS}
    out["peak_pages"] = max(int(b["peak_pages"]) for b in bs)
    out["batches"] = {k: sum(int(b["batches"][k]) for b in bs) for k in _BATCHES}
    out["first_attempt_wait_ns"] = _wait([b["first_attempt_wait_ns"] for b in bs])
    out["drain_wait_ns"] = _wait([b["drain_wait_ns"] for b in bs])
    out["by_mm"] = None
    return dict((k, out[k]) for k in (*_COUNTS, "peak_pages", "batches",
                                      "first_attempt_wait_ns", "drain_wait_ns", "by_mm"))


def merge_notes(docs: Sequence[Doc]) -> List[str]:
    if all(d.get("backlog") is None and d.get("kscand_detail") is None for d in docs):
        return []
    return ["backlog: the parts' counts and waits added up (a batch queued in one part and "
            "attempted in the next is queued at the end of one and unqueued attempts in the "
            "other); per-mm backlog rows and kscand_detail are not merged: read them in "
            "each report"]


def _sum_or_null(values: Sequence[Optional[int]]) -> Optional[int]:
    return None if any(v is None for v in values) else sum(int(v or 0) for v in values)


def _per_page(ns: Optional[int], pages: int) -> Optional[float]:
    return None if ns is None or not pages else round(ns / 1000.0 / pages, 3)


def merge_cost(docs: Sequence[Doc]) -> Optional[Doc]:
    """The merged ``cost``: CPU times and promoted pages add up (exact for parts of one
    recording split by time: an on-CPU interval cut at a split counts in each part up to and
    from it); a figure null in one part is null; the per-page figures are recomputed, null
    where a part had them null for a selection (its notes say why)."""
    items = [d.get("cost") for d in docs]
    if any(c is None for c in items):
        return None
    cs: List[Doc] = [c for c in items if c is not None]
    scan = sum(int(c["kscand_scan_cpu_ns"]) for c in cs)
    km = _sum_or_null([c["kmigrated_cpu_ns"] for c in cs])
    pages = sum(int(c["promoted_pages"]) for c in cs)
    notes: List[str] = []
    for c in cs:
        notes.extend(n for n in c["notes"] if n not in notes)
    selected = any(n.startswith("CPU per promoted page not given: --") for n in notes)
    per = {"kscand_scan": None if selected else _per_page(scan, pages),
           "kmigrated": None if selected else _per_page(km, pages),
           "total": None if selected or km is None else _per_page(scan + km, pages)}
    return {"kscand_scan_cpu_ns": scan, "kmigrated_cpu_ns": km,
            "kmigrated_pids": sorted({int(p) for c in cs for p in c["kmigrated_pids"]}),
            "kscand_cpu_ns_switch": _sum_or_null([c["kscand_cpu_ns_switch"] for c in cs]),
            "promoted_pages": pages, "cpu_us_per_promoted_page": per, "notes": notes}
