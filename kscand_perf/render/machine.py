"""The machine-readable report: JSON (schema "kscand-perf/1", documented in
docs/report.md) and one CSV file per table. Durations in ns, sizes in bytes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..analysis import IdleLifetime, IdleRows
from ..lifetime import NO_TIME
from ..events import KSCAND_EVENTS, rc_name
from ..histogram import LogLinearHistogram, bucket_bounds
from ..promotion_time import promotion_time_json
from ..report import (Accounting, Durations, Migrations, MmRow, Oddities, OverTime, Report,
                      RunMeta, Scans, SelectionSummary, Spread, Values, idle_report,
                      log2_rows, mm_key)
from ..timeline import IntervalRow, ScanRow
from ..vmstat import KernelCounters
from .jsontext import dumps as indented_json
from .mechanisms import CSV_HEADERS as MECH_CSV_HEADERS
from .mechanisms import INTERVAL_COLUMNS, interval_cells, mechanisms_json
from .mechanisms import csv_rows as mech_csv_rows
from .detail_json import CSV_NAMES as DETAIL_CSV_NAMES
from .detail_json import backlog_json, cost_json, detail_csv, detail_json

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
        "in_flight": s.in_flight,
        "orphan_ends": s.orphan_ends,
        "exited_during_scan": s.exited_during_scan,
        "full_passes": s.full_passes,
        "pages_found": s.pages_found,
        "duration_ns": None if d is None else {
            "count": d.count, "min": d.min, "mean": _num(d.mean), "max": d.max, "total": d.total,
            **{"p%d" % p: v for p, v in d.percentiles.items()}},
        "ends_by_target_node": {str(n): c for n, c in sorted(s.target_nodes.items())},
        "scan_period_ms": _values_json(s.scan_period_ms),
        "scan_size_bytes": _values_json(s.scan_size),
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
        "not_attempted": m.not_attempted,
    }


def mm_json(m: MmRow) -> Dict[str, Any]:
    if isinstance(m, IdleLifetime):
        m = idle_report(m)
    return {
        "mm": mm_key(m.mm), "generation": m.generation, "pid": m.pid, "comm": m.comm,
        "enter_ns": m.enter_ns, "exit_ns": m.exit_ns,
        "scans": scans_json(m.scans), "migrations": migrations_json(m.migrations),
    }


def accounting_json(a: Optional[Accounting]) -> Optional[Dict[str, int]]:
    return None if a is None else dataclasses.asdict(a)


def oddities_json(o: Oddities) -> Dict[str, Any]:
    return {
        "duplicate_samples": dict(o.duplicates),
        "ends_before_start": o.ends_before_start,
        "scan_threads": o.scan_threads,
        "batches_begun_before_recording": o.batches_begun_before_recording,
        "bad_reasons": dict(o.bad_reasons),
        "non_tracepoint_events": dict(o.non_tracepoint),
        "unknown_owner": {"lifetimes": o.unknown_owner_lifetimes,
                          "scan_ends": o.unknown_owner_ends,
                          "migrations": o.unknown_owner_migrations},
    }


def buckets_json(h: LogLinearHistogram) -> List[List[int]]:
    """Log-linear buckets as [low, high, count] rows, by low: what an exact merge needs
    (a bucket's low names it: bucket_key(low) is its key)."""
    rows = []
    for key in sorted(h.buckets):
        low, high = bucket_bounds(key)
        rows.append([low, high, h.buckets[key]])
    return rows


def log2_ns(h: LogLinearHistogram) -> Dict[int, int]:
    """Bit length of the duration in ns -> scans, from the log-linear buckets (exact: a
    bucket never spans a power of two), whatever the report's display unit."""
    slots: Dict[int, int] = {}
    for key, n in h.buckets.items():
        slot = bucket_bounds(key)[0].bit_length()
        slots[slot] = slots.get(slot, 0) + n
    return slots


def histograms_json(report: Report) -> Dict[str, Any]:
    """The "histograms" member: the scan durations' buckets (see docs/report.md), in ns
    whatever --ns/--us/--ms."""
    s = report.scans
    lin = s.linear
    return {"scan_duration_ns": {
        "log_linear": buckets_json(s.histogram),
        "log2": {"unit_ns": 1, "rows": [list(r) for r in log2_rows(log2_ns(s.histogram))]},
        "linear": None if lin is None else {
            "width_ns": lin.width, "limit": lin.limit,
            "rows": [[s_ * lin.width, (s_ + 1) * lin.width - 1, n]
                     for s_, n in sorted(lin.buckets.items())],
            "overflow": lin.overflow}}}


def run_json(run: Optional[RunMeta]) -> Optional[Dict[str, Any]]:
    """The "run" member: the tool, the input, the recording's header, kscand's knobs."""
    if run is None:
        return None
    return {"tool": "kscand-perf", "version": run.version, "input": run.input,
            "input_sha256": run.input_sha256,
            "options": None if run.options is None else dict(run.options),
            "header": None if run.header is None else dict(run.header),
            "knobs": None if run.knobs is None else dict(sorted(run.knobs.items())),
            "merged_from": None}


def _json_fields(report: Report) -> List[Tuple[str, Any]]:
    """The top-level members in order; "mms" as None (it is written row by row)."""
    return [
        ("schema", SCHEMA),
        ("events", {ev.name: report.events.get(ev.name, 0) for ev in KSCAND_EVENTS}),
        ("other_events", dict(sorted(report.other_events.items()))),
        ("unhandled_events", dict(sorted(report.unhandled.items()))),
        ("bad_events", dict(sorted(report.bad_events.items()))),
        ("filtered_events", report.filtered_events),
        ("time_ns", {"first": report.first_ns, "last": report.last_ns}),
        ("scans", scans_json(report.scans)),
        ("migrations", migrations_json(report.migrations)),
        ("mms", None),
        ("notes", list(report.notes)),
        ("kernel_counters", (None if report.kernel_counters is None
                             else kernel_counters_json(report.kernel_counters))),
        ("accounting", accounting_json(report.accounting)),
        ("trace_time_ns", {"first": report.trace_first_ns, "last": report.trace_last_ns}),
        ("oddities", oddities_json(report.oddities)),
        ("histograms", histograms_json(report)),
        ("run", run_json(report.run)),
        ("selection", selection_json(report.selection)),
        ("mechanisms", mechanisms_json(report.mechanisms)),
        ("backlog", backlog_json(report.backlog)),
        ("kscand_detail", detail_json(report.kscand_detail)),
        ("cost", cost_json(report.cost)),
        ("promotion_time", promotion_time_json(report.promotion_time)),
    ] + ([("over_time", over_time_json(report.over_time))]
         if report.over_time is not None else [])


def selection_json(sel: Optional[SelectionSummary]) -> Optional[Dict[str, Any]]:
    """What the filters kept (null: no filter was given)."""
    if sel is None:
        return None
    return {"time_ns": None if sel.time_ns is None else list(sel.time_ns),
            "pids": sel.pids, "comms": sel.comms,
            "mms": None if sel.mms is None else [mm_key(m) for m in sel.mms],
            "nodes": sel.nodes, "kept_events": sel.kept_events, "events_in": sel.events_in}


def to_json(report: Report) -> Dict[str, Any]:
    """The machine-readable report as one object (documented in docs/report.md); see
    :func:`json_chunks` for the same text written piece by piece."""
    return {key: ([mm_json(m) for m in report.mms] if key == "mms" else value)
            for key, value in _json_fields(report)}


def json_text(report: Report) -> str:
    return "".join(json_chunks(report))


CHUNK = 1 << 16  # characters per piece of streamed output


def _idle_template() -> Tuple[Callable[[IdleLifetime], str],
                              Callable[[IdleRows, range], List[str]]]:
    """The JSON of a lifetime kscand only visited, from a template: the same text as
    json.dumps of :func:`mm_json` (tests/test_churn.py holds them side by side), at a
    fraction of the cost, for the hundreds of thousands of them process churn makes.
    Two writers: of one lifetime, and of a range of folded rows, column by column."""
    marks = {"mm": "@@mm@@", "generation": 7770001, "pid": 7770002, "comm": "@@comm@@",
             "enter_ns": 7770003, "exit_ns": 7770004}
    proto = idle_report(IdleLifetime(0, 0, 0, "", 0, 0, 0, 7770005))
    d = mm_json(proto)
    d.update(marks)
    text = _indented(d, "    ")
    parts: List[str] = []  # between the values: joined (%-formatting scans it all)
    for mark in list(marks.values()) + [7770005]:  # in the order they appear
        assert text.count(json.dumps(mark)) == 1
        head, text = text.split(json.dumps(mark))
        parts.append(head)
    p0, p1, p2, p3, p4, p5, p6 = parts
    join = "".join
    comms: Dict[Optional[str], str] = {None: "null"}

    def render(lt: IdleLifetime) -> str:
        mm, generation, pid, comm, _first, enter, exit_, visits = lt
        c = comms.get(comm)
        if c is None:
            c = comms[comm] = json.dumps(comm)
        return join((p0, '"0x%x"' % mm, p1, str(generation), p2,
                     "null" if pid is None else str(pid), p3, c,
                     p4, "null" if enter is None else str(enter),
                     p5, "null" if exit_ is None else str(exit_), p6, str(visits), text))

    names: List[str] = []  # the folded rows' comms as JSON, "null" last (index -1)

    def rows(idle: IdleRows, r: range) -> List[str]:
        if len(names) != len(idle.comm_names()) + 1:
            names[:] = [json.dumps(c) for c in idle.comm_names()] + ["null"]
        a, b = r.start, r.stop
        return [f'{p0}"0x{mm:x}"{p1}{g}{p2}{"null" if pid < 0 else pid}{p3}{names[ci]}'
                f'{p4}{"null" if en == NO_TIME else en}{p5}{"null" if ex == NO_TIME else ex}'
                f'{p6}{v}{text}'
                for mm, g, pid, ci, en, ex, v in zip(
                    idle.mm[a:b], idle.generation[a:b], idle.pid[a:b], idle.comm[a:b],
                    idle.enter_ns[a:b], idle.exit_ns[a:b], idle.visits[a:b])]
    return render, rows


def _indented(value: Any, indent: str) -> str:
    return indent + indented_json(value, indent)


def json_chunks(report: Report) -> Iterator[str]:
    """The JSON text in pieces of about CHUNK characters: json.dumps(to_json(report),
    indent=2) + "\n" to the byte, without the whole document (or a list of every
    mm lifetime) in memory."""
    before: List[str] = []
    after: List[str] = []
    for key, value in _json_fields(report):
        if key == "mms":
            before, after = after, before
        else:
            after.append('  "%s": %s' % (key, indented_json(value, "  ")))
    yield "{\n" + ",\n".join(before) + ",\n"
    if not len(report.mms):
        yield '  "mms": []'
    else:
        idle, idle_rows = _idle_template()
        buf: List[str] = ['  "mms": [\n']
        size = 0
        first = True
        for m in report.mms.runs():
            if isinstance(m, range):
                rows = idle_rows(report.mms.idle, m)
            else:
                rows = [idle(m) if isinstance(m, IdleLifetime) else _indented(mm_json(m), "    ")]
            if not first:
                rows.insert(0, "")  # (the separator before them)
            first = False
            piece = ",\n".join(rows)
            buf.append(piece)
            size += len(piece)
            if size >= CHUNK:  # (a run's rows are a piece of their own: no second copy)
                yield buf[0] if len(buf) == 1 else "".join(buf)
                buf = []
                size = 0
        buf.append("\n  ]")
        yield "".join(buf)
    yield ",\n" + ",\n".join(after) + "\n}\n"


JSON_KEYS = ("name", "before", "after", "delta", "trace", "trace_meaning", "agrees", "missing")


def kernel_counters_json(model: KernelCounters) -> Dict[str, Any]:
    """The report JSON's "kernel_counters" object."""
    out = {
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
    if model.stock:  # the stock NUMA/migration counters, when the snapshots have them
        out["stock_counters"] = [{"name": c.name, "delta": c.delta, "includes": c.includes,
                                  "trace": c.trace, "agrees": c.agrees} for c in model.stock]
        out["stock_note"] = model.stock_note
    return out


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

UNIT_NAMES = {1: "ns", 1000: "us", 1000000: "ms"}


def csv_mm(mm: int) -> str:
    """An mm pointer in a CSV cell: hex without the JSON's 0x, so that DuckDB and
    spreadsheets read it as text (they take "0x..." for a number; kernel pointers
    always have hex letters): join with the JSON on '0x' || mm."""
    return "%x" % mm


def _csv_text(headers: Sequence[str], rows: Iterable[Row],
              run_id: Optional[str] = None) -> Iterator[str]:
    """CSV lines in pieces of about CHUNK characters; with ``run_id``, a last column
    "run_id" holding it in every row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    tail = [] if run_id is None else [run_id]
    w.writerow(list(headers) + ([] if run_id is None else ["run_id"]))
    for r in rows:
        w.writerow(list(r) + tail)
        if buf.tell() >= CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _dur(d: Optional[Durations], key: str) -> Any:
    if d is None:
        return ""
    if key.startswith("p"):
        return d.percentiles.get(int(key[1:]), "")
    return round(d.mean, 3) if key == "mean" else getattr(d, key)


DURATION_KEYS = ("count", "min", "mean", "p50", "p90", "p99", "max", "total")
# counts are counts; everything else about durations is in ns
DURATION_COLUMNS = tuple(k if k == "count" else k + "_ns" for k in DURATION_KEYS)
MMS_CSV_HEADERS = (
    ["mm", "generation", "pid", "comm", "completed", "not_due", "orphan_ends",
     "exited_during_scan", "full_passes", "pages_found"]
    + ["duration_" + c for c in DURATION_COLUMNS]
    + ["scan_period_first_ms", "scan_period_last_ms", "scan_period_min_ms",
       "scan_period_max_ms", "scan_period_changes", "scan_size_first_bytes",
       "scan_size_last_bytes", "scan_size_min_bytes", "scan_size_max_bytes",
       "scan_size_changes",
       "migrations_attempted", "migrations_succeeded", "migrations_failed"])


def _mm_row(m: MmRow) -> List[Any]:
    if isinstance(m, IdleLifetime):  # no durations, values or migrations: empty cells, 0
        return ([csv_mm(m.mm), m.generation, m.pid, m.comm, 0, m.visits, 0, 0, 0, 0]
                + [""] * (len(DURATION_KEYS) + 10) + [0, 0, 0])
    return ([csv_mm(m.mm), m.generation, m.pid, m.comm, m.scans.completed, m.scans.not_due,
             m.scans.orphan_ends, m.scans.exited_during_scan, m.scans.full_passes,
             m.scans.pages_found] + [_dur(m.scans.durations, k) for k in DURATION_KEYS]
            + _values_cells(m.scans.scan_period_ms) + _values_cells(m.scans.scan_size)
            + [m.migrations.attempted, m.migrations.succeeded, m.migrations.failed])


def run_id(report: Report) -> str:
    """The id of a run in every CSV file's ``run_id`` column and in run.csv: a hash of the
    recording (its content hash, else its name and header), the options that change the
    figures and the trace's times, so that the tables of several runs can be put together
    (the same run shown in another unit has the same id)."""
    run = run_json(report.run) or {}
    from ..compare import OUTPUT_OPTIONS   # (here: start-up time of the text report)
    options = {k: v for k, v in (run.get("options") or {}).items() if k not in OUTPUT_OPTIONS}
    key = json.dumps([dict(run, options=options), report.trace_first_ns, report.trace_last_ns],
                     sort_keys=True, default=str)
    import hashlib  # (here: OpenSSL's start-up is not the text report's)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


RUN_CSV_HEADERS = ("tool", "version", "input", "input_sha256", "hostname",
                   "osrelease", "captured_on", "captured_on_source", "first_ns", "last_ns",
                   "span_ns", "trace_first_ns", "trace_last_ns", "options")


def run_csv_row(report: Report) -> List[Any]:
    """run.csv's row: what rates need (span_ns, the time the kept events cover), where
    the recording comes from, and the options (as JSON text)."""
    run = run_json(report.run) or {}
    header = run.get("header") or {}
    first, last = report.first_ns, report.last_ns
    span = "" if first is None or last is None else last - first

    def cell(v: Any) -> Any:
        return "" if v is None else v
    return ["kscand-perf", cell(run.get("version")), cell(run.get("input")),
            cell(run.get("input_sha256")), cell(header.get("hostname")),
            cell(header.get("osrelease")), cell(header.get("captured_on")),
            cell(header.get("captured_on_source")), cell(first), cell(last), span,
            cell(report.trace_first_ns), cell(report.trace_last_ns),
            json.dumps(run.get("options"), sort_keys=True)]


def csv_files(report: Report, unit_ns: int = 1000) -> Dict[str, Iterable[str]]:
    """File name -> its CSV text in pieces (written as they are made: mms.csv has a row
    per mm lifetime). Durations in ns and sizes in bytes whatever the report's display
    unit (``unit_ns`` is kept for callers; it changes nothing here). Every table has a
    last column ``run_id``, whose row in run.csv says where it comes from."""
    rid = run_id(report)

    def _csv_text(headers: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
        return csv_lines(headers, rows, rid)
    out: Dict[str, Iterable[str]] = {
        "run.csv": _csv_text(RUN_CSV_HEADERS, [run_csv_row(report)]),
        "events.csv": _csv_text(["event", "count"], list(report.events.items())
                                + sorted(report.other_events.items())),
        "scan_durations.csv": _csv_text(
            ("scope",) + DURATION_COLUMNS,
            [["all"] + [_dur(report.scans.durations, k) for k in DURATION_KEYS]]),
        "scan_histogram.csv": _csv_text(["low_ns", "high_ns", "count"],
                                        log2_rows(log2_ns(report.scans.histogram))),
        "target_nodes.csv": _csv_text(["node", "scan_ends"],
                                      sorted(report.scans.target_nodes.items())),
        "mms.csv": _csv_text(MMS_CSV_HEADERS, (_mm_row(m) for m in report.mms)),
        "migrations_by_node.csv": _csv_text(
            ["node", "attempted", "succeeded", "failed"],
            [[n, c.attempted, c.succeeded, c.failed]
             for n, c in sorted(report.migrations.by_node.items())]),
        "migrations_by_rc.csv": _csv_text(
            ["rc", "name", "count"],
            [[rc, rc_name(rc), n] for rc, n in sorted(report.migrations.by_rc.items())]),
    }
    if report.mechanisms is not None:
        out["mechanisms.csv"] = _csv_text(MECH_CSV_HEADERS, mech_csv_rows(report.mechanisms))
    if report.kernel_counters is not None:
        out["kernel_counters.csv"] = _csv_text(*kernel_counters_csv(report.kernel_counters))
    if report.over_time is not None:
        out.update(over_time_csv(report.over_time, rid))
    if report.scans.linear is not None:
        out["scan_linear_histogram.csv"] = _csv_text(
            ["low_ns", "high_ns", "count"], report.scans.linear.rows())
    for name, (headers, rows) in detail_csv(report.backlog, report.kscand_detail,
                                            report.cost).items():
        out[name] = _csv_text(headers, rows)
    return out


def csv_tables(report: Report, unit_ns: int = 1000) -> Dict[str, str]:
    """File name -> CSV text, one per table (:func:`csv_files`, joined)."""
    return {name: "".join(chunks) for name, chunks in csv_files(report, unit_ns).items()}


# -- over time (--interval) ----------------------------------------------------------

def _rate(n: int, row: IntervalRow) -> Optional[float]:
    rate = row.per_second(n)
    return None if rate is None else round(rate, 3)


def interval_json(row: IntervalRow) -> Dict[str, Any]:
    top = row.top_failure()
    out = {
        "start_ns": row.start_ns, "end_ns": row.end_ns,
        "scans": row.scans, "not_due": row.not_due, "scan_ends": row.ends,
        "duration_ns": None if not row.duration_count else {
            "count": row.duration_count, "mean": _num(row.duration_mean),
            "p99": row.duration_p99, "max": row.duration_max},
        "pages_found": row.pages_found,
        "attempted": row.attempted, "succeeded": row.succeeded, "failed": row.failed,
        "attempted_per_s": _rate(row.attempted, row),
        "succeeded_per_s": _rate(row.succeeded, row),
        "failed_per_s": _rate(row.failed, row),
        "success": None if not row.attempted else round(row.succeeded / row.attempted, 4),
        "top_failure": None if top is None else {"rc": top[0], "name": rc_name(top[0]),
                                                 "count": top[1]},
        "cumulative_succeeded": row.cumulative_succeeded,
        "failed_by_rc": {str(rc): {"name": rc_name(rc), "count": n}
                         for rc, n in sorted(row.failed_rc.items())},
        "backlog_pages": row.backlog_pages,
        "duration_log2_ns": {str(k): n for k, n in sorted(row.log2_ns.items())},
    }
    if row.mechanisms is not None:  # (the kernel's migrate events: pages per mechanism)
        out["mechanisms_pages_succeeded"] = dict(row.mechanisms)
    return out


def over_time_json(over: OverTime) -> Dict[str, Any]:
    mms = []
    for m in over.mms:
        t = m.time_to_promotion
        mms.append({
            "mm": mm_key(m.mm), "generation": m.generation, "pid": m.pid, "comm": m.comm,
            "scan_ends": m.ends, "stride": m.stride,
            "points": [list(p) for p in m.points],
            "promotion_bin_ns": m.bin_ns,
            "promotions": [list(b) for b in m.bins],
            "time_to_promotion": None if t is None else {
                "from_ns": t.from_ns, "promoted": t.promoted, "before": t.before,
                "p50_ns": t.percentiles.get(50), "p90_ns": t.percentiles.get(90),
                "p99_ns": t.percentiles.get(99)},
        })
    return {"interval_ns": over.interval_ns,
            "intervals": [interval_json(r) for r in over.rows],
            "mms": mms}


INTERVAL_CSV_HEADERS = (
    "start_ns", "end_ns", "scans", "not_due", "scan_ends", "duration_count",
    "duration_mean_ns", "duration_p99_ns", "duration_max_ns", "pages_found", "attempted",
    "succeeded", "failed", "attempted_per_s", "succeeded_per_s", "failed_per_s", "success",
    "top_failure_rc", "top_failure_name", "top_failure_count", "cumulative_succeeded",
    "backlog_pages")


def _interval_csv_row(row: IntervalRow) -> List[Any]:
    d = interval_json(row)
    dur = d["duration_ns"] or {}
    top = d["top_failure"] or {}
    return [row.start_ns, row.end_ns, row.scans, row.not_due, row.ends, row.duration_count,
            dur.get("mean", ""), dur.get("p99", ""), dur.get("max", ""), row.pages_found,
            row.attempted, row.succeeded, row.failed, d["attempted_per_s"],
            d["succeeded_per_s"], d["failed_per_s"],
            "" if d["success"] is None else d["success"],
            top.get("rc", ""), top.get("name", ""), top.get("count", ""),
            row.cumulative_succeeded, row.backlog_pages]


def over_time_csv(over: OverTime, run_id: Optional[str] = None
                  ) -> Dict[str, Iterable[str]]:
    """intervals.csv, timelines.csv (the thinned per-mm scan ends) and
    time_to_promotion.csv."""
    points = ([csv_mm(m.mm), m.generation, m.pid, m.comm, t, period, size, pages]
              for m in over.mms for t, period, size, pages in m.points)
    headers: Sequence[str] = INTERVAL_CSV_HEADERS
    rows: Iterable[List[Any]] = map(_interval_csv_row, over.rows)
    if any(r.mechanisms is not None for r in over.rows):  # the kernel's migrate events
        headers = INTERVAL_CSV_HEADERS + INTERVAL_COLUMNS
        rows = (_interval_csv_row(r) + interval_cells(r.mechanisms) for r in over.rows)
    ttp = [[csv_mm(m.mm), m.generation, m.pid, m.comm, t.from_ns, t.promoted, t.before]
           + [t.percentiles.get(p, "") for p in (50, 90, 99)]
           for m in over.mms for t in [m.time_to_promotion] if t is not None]
    return {
        "intervals.csv": _csv_text(headers, rows, run_id),
        "timelines.csv": _csv_text(["mm", "generation", "pid", "comm", "end_ns",
                                    "scan_period_ms", "scan_size_bytes", "pages_found"],
                                   points, run_id),
        "time_to_promotion.csv": _csv_text(
            ["mm", "generation", "pid", "comm", "from_ns", "promoted", "before",
             "p50_ns", "p90_ns", "p99_ns"], ttp, run_id),
    }


# every table --csv can write (a run removes those of an earlier run that it does not write)
CSV_NAMES = ("run.csv", "events.csv", "scan_durations.csv", "scan_histogram.csv",
             "target_nodes.csv", "mms.csv", "migrations_by_node.csv", "migrations_by_rc.csv",
             "kernel_counters.csv", "intervals.csv", "timelines.csv", "time_to_promotion.csv",
             "scan_linear_histogram.csv", "scans.csv", "mechanisms.csv") + DETAIL_CSV_NAMES

SCAN_CSV_HEADERS = ("mm", "generation", "pid", "comm", "start_ns", "end_ns", "duration_ns",
                    "pages_found", "scan_period_ms", "scan_size_bytes", "target_node",
                    "next_start")


def scan_csv_cells(row: ScanRow) -> List[Any]:
    """scans.csv's cells of one scan end, owner left out (pid and comm are only known at
    the end: see :func:`scan_csv_owned`)."""
    return [csv_mm(row.mm), row.generation, "" if row.start_ns is None else row.start_ns,
            row.end_ns, "" if row.duration_ns is None else row.duration_ns, row.pages_found,
            row.scan_period_ms, row.scan_size, row.target_node, "0x%x" % row.next_start]


def scan_csv_owned(cells: List[str], pid: Optional[int], comm: Optional[str]) -> List[Any]:
    """A row of :func:`scan_csv_cells` (as read back) with its owner."""
    return cells[:2] + ["" if pid is None else pid, "" if comm is None else comm] + cells[2:]


def csv_lines(headers: Sequence[str], rows: Iterable[Row],
              run_id: Optional[str] = None) -> Iterator[str]:
    """CSV text in pieces (for a front end streaming rows it reads back); ``run_id``: a
    last column holding it."""
    return _csv_text(headers, rows, run_id)


def _values_cells(v: Optional[Values]) -> List[Any]:
    if v is None:
        return ["", "", "", "", ""]
    return [v.first, v.last, v.min, v.max, v.changes]
