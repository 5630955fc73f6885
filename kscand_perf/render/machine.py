"""The machine-readable report: JSON (schema "kscand-perf/1", documented in
docs/report.md) and one CSV file per table. Durations in ns, sizes in bytes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..events import KSCAND_EVENTS, rc_name
from ..report import Durations, Migrations, Report, Scans, Spread, Values, log2_rows, mm_key
from ..vmstat import KernelCounters

SCHEMA = "kscand-perf/1"
Row = Sequence[Any]


# -- JSON ------------------------------------------------------------------------------

def _num(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


def _spread_json(s: Optional[Spread]) -> Optional[Dict[str, Any]]:
    if s is None:
        return None
    return {"count": s.count, "min": s.min, "mean": _num(s.mean), "max": s.max, "total": s.total}


def _values_json(v: Optional[Values]) -> Optional[Dict[str, int]]:
    if v is None:
        return None
    return {"first": v.first, "last": v.last, "min": v.min, "max": v.max, "changes": v.changes}


def scans_json(s: Scans) -> Dict[str, Any]:
    d = s.durations
    return {
        "completed": s.completed,
        "not_due": s.not_due,
        "orphan_ends": s.orphan_ends,
        "exited_during_scan": s.exited_during_scan,
        "full_passes": s.full_passes,
        "pages_found": s.pages_found,
        "duration_ns": None if d is None else {
            "count": d.count, "min": d.min, "mean": _num(d.mean), "max": d.max, "total": d.total,
            **{"p%d" % p: v for p, v in d.percentiles.items()}},
        "target_nodes": {str(n): c for n, c in sorted(s.target_nodes.items())},
        "scan_period_ms": _values_json(s.scan_period_ms),
        "scan_size": _values_json(s.scan_size),
        "pass_time_ns": _spread_json(s.pass_time_ns),
    }


def migrations_json(m: Migrations) -> Dict[str, Any]:
    return {
        "attempted": m.attempted,
        "succeeded": m.succeeded,
        "failed": m.failed,
        "by_node": {str(n): {"attempted": c.attempted, "succeeded": c.succeeded,
                             "failed": c.failed} for n, c in sorted(m.by_node.items())},
        "by_rc": {str(rc): {"name": rc_name(rc), "count": n} for rc, n in sorted(m.by_rc.items())},
        "batches": m.batches,
        "batch_size": _spread_json(m.batch_size),
        "sequence_breaks": m.sequence_breaks,
        "latency_ns": _spread_json(m.latency_ns),
    }


def to_json(report: Report) -> Dict[str, Any]:
    """The machine-readable report (documented in the README)."""
    out: Dict[str, Any] = {
        "schema": SCHEMA,
        "events": {ev.name: report.events.get(ev.name, 0) for ev in KSCAND_EVENTS},
        "other_events": dict(sorted(report.other_events.items())),
        "unhandled_events": dict(sorted(report.unhandled.items())),
        "bad_events": dict(sorted(report.bad_events.items())),
        "filtered_events": report.filtered_events,
        "time_ns": {"first": report.first_ns, "last": report.last_ns},
        "scans": scans_json(report.scans),
        "migrations": migrations_json(report.migrations),
        "mms": [{
            "mm": mm_key(m.mm), "generation": m.generation, "pid": m.pid, "comm": m.comm,
            "enter_ns": m.enter_ns, "exit_ns": m.exit_ns,
            "scans": scans_json(m.scans), "migrations": migrations_json(m.migrations),
        } for m in report.mms],
        "notes": list(report.notes),
        "kernel_counters": (None if report.kernel_counters is None
                            else kernel_counters_json(report.kernel_counters)),
    }
    return out


def json_text(report: Report) -> str:
    return json.dumps(to_json(report), indent=2, sort_keys=False) + "\n"


JSON_KEYS = ("name", "before", "after", "delta", "trace", "trace_meaning", "agrees", "missing")


def kernel_counters_json(model: KernelCounters) -> Dict[str, Any]:
    """The report JSON's "kernel_counters" object."""
    return {
        "before": model.before_path,
        "after": model.after_path,
        "counters": [{
            "name": c.name, "before": c.before, "after": c.after, "delta": c.delta,
            "trace": c.trace, "trace_meaning": c.trace_meaning, "agrees": c.agrees,
            "missing": c.missing,
        } for c in model.counters],
        "all_agree": model.all_agree,
        "causes": list(model.causes),
        "unattempted_pages": model.unattempted_pages,
    }


def kernel_counters_csv(model: KernelCounters) -> Tuple[List[str], List[List[Any]]]:
    """Headers and rows of kernel_counters.csv (empty cells for unknown values)."""
    def cell(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "yes" if v else "no"
        return v
    rows = [[cell(getattr(c, key)) for key in JSON_KEYS] for c in model.counters]
    return list(JSON_KEYS), rows


# -- CSV -------------------------------------------------------------------------------

def csv_tables(report: Report) -> Dict[str, str]:
    """File name -> CSV text, one per table. Durations in ns, sizes in bytes."""
    def write(headers: Sequence[str], rows: Iterable[Row]) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(headers)
        w.writerows(rows)
        return buf.getvalue()

    def dur(d: Optional[Durations], key: str) -> Any:
        if d is None:
            return ""
        if key.startswith("p"):
            return d.percentiles.get(int(key[1:]), "")
        return round(d.mean, 3) if key == "mean" else getattr(d, key)

    keys = ["count", "min", "mean", "p50", "p90", "p99", "max", "total"]
    out = {
        "events.csv": write(["event", "count"], list(report.events.items())
                            + sorted(report.other_events.items())),
        "scan_durations.csv": write(["scope"] + ["%s_ns" % k for k in keys],
                                    [["all"] + [dur(report.scans.durations, k) for k in keys]]),
        "scan_histogram.csv": write(["low", "high", "count", "unit"],
                                    [list(r) + ["log2"] for r in log2_rows(report.scans.log2)]),
        "target_nodes.csv": write(["node", "scans"], sorted(report.scans.target_nodes.items())),
        "mms.csv": write(
            ["mm", "generation", "pid", "comm", "completed", "not_due", "orphan_ends",
             "exited_during_scan", "full_passes", "pages_found"]
            + ["duration_%s_ns" % k for k in keys]
            + ["scan_period_first_ms", "scan_period_last_ms", "scan_period_min_ms",
               "scan_period_max_ms", "scan_period_changes", "scan_size_first", "scan_size_last",
               "scan_size_min", "scan_size_max", "scan_size_changes",
               "migrations_attempted", "migrations_succeeded", "migrations_failed"],
            [[mm_key(m.mm), m.generation, m.pid, m.comm, m.scans.completed, m.scans.not_due,
              m.scans.orphan_ends, m.scans.exited_during_scan, m.scans.full_passes,
              m.scans.pages_found] + [dur(m.scans.durations, k) for k in keys]
             + _values_cells(m.scans.scan_period_ms) + _values_cells(m.scans.scan_size)
             + [m.migrations.attempted, m.migrations.succeeded, m.migrations.failed]
             for m in report.mms]),
        "migrations_by_node.csv": write(
            ["node", "attempted", "succeeded", "failed"],
            [[n, c.attempted, c.succeeded, c.failed]
             for n, c in sorted(report.migrations.by_node.items())]),
        "migrations_by_rc.csv": write(
            ["rc", "name", "count"],
            [[rc, rc_name(rc), n] for rc, n in sorted(report.migrations.by_rc.items())]),
    }
    if report.kernel_counters is not None:
        out["kernel_counters.csv"] = write(*kernel_counters_csv(report.kernel_counters))
    if report.scans.linear is not None:
        out["scan_linear_histogram.csv"] = write(
            ["low_ns", "high_ns", "count"], report.scans.linear.rows())
    return out


def _values_cells(v: Optional[Values]) -> List[Any]:
    if v is None:
        return ["", "", "", "", ""]
    return [v.first, v.last, v.min, v.max, v.changes]
