"""Many reports as one: JSON reports (as ``--json`` writes them) in, one report out,
in the same schema, so that merged reports can be merged and compared again.

Pure: documents in, a document out. Counts add; min and max combine; means are
total / count; percentiles come from the merged log-linear buckets (the
"histograms" member), so they are those the report of all the events together
would give, within the same 1%. Per-mm rows are not merged: the lists are
concatenated, each row tagged with the report it came from.

What cannot be exact when the reports are parts of one recording split by time
(docs/report.md, "Merging reports"): a scan whose start and end fall in different
parts is a not-due visit in one and an end without a start in the other; and what
is measured between two events of one mm (scan period changes, time per full pass,
kmigrated batch sizes, detection to first attempt, owners learnt from a later exit)
loses the pairs that span a split.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .histogram import LogLinearHistogram, bucket_bounds, bucket_key
from .report import log2_rows

SCHEMA = "kscand-perf/1"

Doc = Dict[str, Any]


class MergeError(ValueError):
    """Reports that cannot be merged (one line, for the user)."""


# -- checks --------------------------------------------------------------------------------

def check(doc: Any, name: str) -> Doc:
    """``doc`` if it is a kscand-perf JSON report that carries its histogram buckets."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise MergeError("%s: not a kscand-perf JSON report (schema %r, expected %r; "
                         "make one with --json)" % (name, found, SCHEMA))
    hist = doc.get("histograms")
    if not isinstance(hist, dict) or not isinstance(hist.get("scan_duration_ns"), dict):
        raise MergeError("%s: no histogram buckets (written by a kscand-perf older than the "
                         "\"histograms\" member): report the recording again with --json"
                         % name)
    try:
        sd = hist["scan_duration_ns"]
        int(sd["log2"]["unit_ns"])
        shapes_ok = (isinstance(sd["log_linear"], list) and isinstance(sd["log2"]["rows"], list)
                     and all(isinstance(doc.get(k), dict)
                             for k in ("events", "scans", "migrations", "oddities"))
                     and isinstance(doc.get("mms"), list))
    except (KeyError, TypeError, ValueError):
        shapes_ok = False
    if not shapes_ok:
        raise MergeError("%s: a damaged kscand-perf report (members missing or of the wrong "
                         "type): report the recording again with --json" % name)
    return doc


def _log2_unit(doc: Doc) -> int:
    return int(doc["histograms"]["scan_duration_ns"]["log2"]["unit_ns"])


def _linear_shape(doc: Doc) -> Optional[Tuple[int, int]]:
    lin = doc["histograms"]["scan_duration_ns"].get("linear")
    return None if lin is None else (int(lin["width_ns"]), int(lin["limit"]))


UNIT_NAMES = {1: "ns", 1000: "us", 1000000: "ms"}


def _check_same(parts: Sequence[Tuple[str, Doc]]) -> None:
    first_name, first = parts[0]
    unit, linear = _log2_unit(first), _linear_shape(first)
    for name, doc in parts[1:]:
        if _log2_unit(doc) != unit:
            raise MergeError(
                "%s: scan duration histogram in %s, %s's in %s: report all of them with "
                "the same --ns/--us/--ms" % (
                    name, UNIT_NAMES.get(_log2_unit(doc), "%d ns" % _log2_unit(doc)),
                    first_name, UNIT_NAMES.get(unit, "%d ns" % unit)))
        if _linear_shape(doc) != linear:
            raise MergeError("%s: linear buckets %s, %s's %s: report all of them with the "
                             "same --linear, or none" % (
                                 name, _shape_text(_linear_shape(doc)), first_name,
                                 _shape_text(linear)))


def _shape_text(shape: Optional[Tuple[int, int]]) -> str:
    return "none" if shape is None else "%d ns wide" % shape[0]


# -- combining -----------------------------------------------------------------------------

def _sum(values: Iterable[Any]) -> int:
    return sum(int(v) for v in values if v is not None)


def _add_maps(maps: Iterable[Optional[Dict[str, Any]]], by_int: bool = False
              ) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for m in maps:
        for k, v in (m or {}).items():
            out[k] = out.get(k, 0) + int(v)
    keys = sorted(out, key=int) if by_int else sorted(out)
    return {k: out[k] for k in keys}


def _min(values: Iterable[Any]) -> Optional[int]:
    seen = [v for v in values if v is not None]
    return min(seen) if seen else None


def _max(values: Iterable[Any]) -> Optional[int]:
    seen = [v for v in values if v is not None]
    return max(seen) if seen else None


def _mean(total: int, count: int) -> Optional[float]:
    return round(total / count, 3) if count else None


def _spread(items: Sequence[Optional[Doc]]) -> Optional[Doc]:
    """count/min/mean/max/total objects: exact."""
    seen = [s for s in items if s]
    if not seen:
        return None
    count, total = _sum(s["count"] for s in seen), _sum(s["total"] for s in seen)
    return {"count": count, "min": _min(s["min"] for s in seen), "mean": _mean(total, count),
            "max": _max(s["max"] for s in seen), "total": total}


def _values(items: Sequence[Optional[Doc]]) -> Optional[Doc]:
    """first/last/min/max/changes: first of the first report that has one, last of the
    last; changes add (a change between two reports is not seen)."""
    seen = [v for v in items if v]
    if not seen:
        return None
    return {"first": seen[0]["first"], "last": seen[-1]["last"],
            "min": _min(v["min"] for v in seen), "max": _max(v["max"] for v in seen),
            "changes": _sum(v["changes"] for v in seen)}


def _histogram(rows: Iterable[Sequence[int]], durations: Sequence[Optional[Doc]]
               ) -> LogLinearHistogram:
    """The merged log-linear histogram: buckets from the rows, exact min/max/total/count
    from the parts' duration objects."""
    h = LogLinearHistogram()
    for low, _high, n in rows:
        key = bucket_key(int(low))
        h.buckets[key] = h.buckets.get(key, 0) + int(n)
    seen = [d for d in durations if d]
    h.count = _sum(d["count"] for d in seen)
    h.total = _sum(d["total"] for d in seen)
    h.min = _min(d["min"] for d in seen)
    h.max = _max(d["max"] for d in seen)
    return h


def _percentile_keys(durations: Sequence[Optional[Doc]]) -> List[int]:
    keys = {int(k[1:]) for d in durations if d for k in d if k[:1] == "p" and k[1:].isdigit()}
    return sorted(keys)


def _durations(h: LogLinearHistogram, pcts: Sequence[int]) -> Optional[Doc]:
    if not h.count:
        return None
    out: Doc = {"count": h.count, "min": h.min, "mean": _mean(h.total, h.count),
                "max": h.max, "total": h.total}
    for p in pcts:
        out["p%d" % p] = h.percentile(p)
    return out


def _scans(items: Sequence[Doc], hist: LogLinearHistogram) -> Doc:
    """The top-level SCANS of all reports; ``hist``: their merged buckets."""
    durs = [s.get("duration_ns") for s in items]
    return {
        "completed": _sum(s.get("completed") for s in items),
        "not_due": _sum(s.get("not_due") for s in items),
        "orphan_ends": _sum(s.get("orphan_ends") for s in items),
        "exited_during_scan": _sum(s.get("exited_during_scan") for s in items),
        "full_passes": _sum(s.get("full_passes") for s in items),
        "pages_found": _sum(s.get("pages_found") for s in items),
        "duration_ns": _durations(hist, _percentile_keys(durs)),
        "target_nodes": _add_maps((s.get("target_nodes") for s in items), by_int=True),
        "scan_period_ms": _values([s.get("scan_period_ms") for s in items]),
        "scan_size": _values([s.get("scan_size") for s in items]),
        "pass_time_ns": _spread([s.get("pass_time_ns") for s in items]),
    }


def _migrations(items: Sequence[Doc]) -> Doc:
    by_node: Dict[str, Dict[str, int]] = {}
    for m in items:
        for node, c in (m.get("by_node") or {}).items():
            acc = by_node.setdefault(node, {"attempted": 0, "succeeded": 0, "failed": 0})
            for k in acc:
                acc[k] += int(c.get(k, 0))
    by_rc: Dict[str, Dict[str, Any]] = {}
    for m in items:
        for rc, c in (m.get("by_rc") or {}).items():
            acc_rc = by_rc.setdefault(rc, {"name": c.get("name", rc), "count": 0})
            acc_rc["count"] += int(c.get("count", 0))
    return {
        "attempted": _sum(m.get("attempted") for m in items),
        "succeeded": _sum(m.get("succeeded") for m in items),
        "failed": _sum(m.get("failed") for m in items),
        "by_node": {k: by_node[k] for k in sorted(by_node, key=int)},
        "by_rc": {k: by_rc[k] for k in sorted(by_rc, key=int)},
        "batches": _sum(m.get("batches") for m in items),
        "batch_size": _spread([m.get("batch_size") for m in items]),
        "sequence_breaks": _sum(m.get("sequence_breaks") for m in items),
        "latency_ns": _spread([m.get("latency_ns") for m in items]),
    }


def _time(items: Sequence[Optional[Doc]]) -> Doc:
    return {"first": _min((t or {}).get("first") for t in items),
            "last": _max((t or {}).get("last") for t in items)}


def _accounting(items: Sequence[Optional[Doc]]) -> Optional[Doc]:
    if any(a is None for a in items) or not items:
        return None
    keys = list(items[0] or {})
    return {k: _sum((a or {}).get(k) for a in items) for k in keys}


def _oddities(items: Sequence[Doc]) -> Doc:
    owners = [o.get("unknown_owner") or {} for o in items]
    return {
        "duplicate_samples": _add_maps(o.get("duplicate_samples") for o in items),
        "ends_before_start": _sum(o.get("ends_before_start") for o in items),
        # threads of one report: the most any report saw (pids of two machines or two
        # recordings are not the same threads, and one thread is seen in every part)
        "scan_threads": _max(o.get("scan_threads") for o in items) or 0,
        "batches_begun_before_recording": _sum(o.get("batches_begun_before_recording")
                                               for o in items),
        "bad_reasons": _add_maps(o.get("bad_reasons") for o in items),
        "non_tracepoint_events": _add_maps(o.get("non_tracepoint_events") for o in items),
        "unknown_owner": {k: _sum(u.get(k) for u in owners)
                          for k in ("lifetimes", "scan_ends", "migrations")},
    }


def _log2(items: Sequence[Doc], unit_ns: int) -> Doc:
    slots: Dict[int, int] = {}
    for d in items:
        for _low, high, n in d["rows"]:
            slot = int(high).bit_length()   # high is 2**slot - 1 (0 and 1 share slot 1)
            slots[slot] = slots.get(slot, 0) + int(n)
    return {"unit_ns": unit_ns, "rows": [list(r) for r in log2_rows(
        {s: n for s, n in slots.items() if n})]}


def _linear(items: Sequence[Optional[Doc]]) -> Optional[Doc]:
    seen = [d for d in items if d]
    if not seen:
        return None
    width, limit = int(seen[0]["width_ns"]), int(seen[0]["limit"])
    slots: Dict[int, int] = {}
    for d in seen:
        for low, _high, n in d["rows"]:
            slots[int(low) // width] = slots.get(int(low) // width, 0) + int(n)
    return {"width_ns": width, "limit": limit,
            "rows": [[s * width, (s + 1) * width - 1, n] for s, n in sorted(slots.items())],
            "overflow": _sum(d.get("overflow") for d in seen)}


def _histograms(items: Sequence[Doc], h: LogLinearHistogram) -> Doc:
    rows = []
    for key in sorted(h.buckets):
        low, high = bucket_bounds(key)
        rows.append([low, high, h.buckets[key]])
    return {"scan_duration_ns": {
        "log_linear": rows,
        "log2": _log2([d["log2"] for d in items], int(items[0]["log2"]["unit_ns"])),
        "linear": _linear([d.get("linear") for d in items])}}


def _sources(parts: Sequence[Tuple[str, Doc]]) -> List[Doc]:
    """One entry per report merged (those of a merged report, flattened)."""
    out: List[Doc] = []
    for name, doc in parts:
        run = doc.get("run") or {}
        inner = run.get("merged_from")
        if inner:
            out.extend(dict(s) for s in inner)
            continue
        entry: Doc = {"source": name}
        for key in ("version", "input", "header", "knobs"):
            entry[key] = run.get(key)
        entry["time_ns"] = doc.get("time_ns")
        out.append(entry)
    return out


def _mms(parts: Sequence[Tuple[str, Doc]]) -> List[Doc]:
    rows: List[Doc] = []
    for name, doc in parts:
        for row in doc.get("mms") or []:
            if "source" in row:   # from a merged report: keeps where it came from
                rows.append(row)
            else:
                rows.append(dict(row, source=name))
    return rows


def _notes(parts: Sequence[Tuple[str, Doc]], merged: Doc) -> List[str]:
    names = [n for n, _ in parts]
    notes = ["merged %d reports (%s): counts add, min and max combine, percentiles come "
             "from the merged buckets; mms lists every report's rows, each tagged with its "
             "source" % (len(parts), ", ".join(names))]
    later_orphans = [(n, d["scans"].get("orphan_ends", 0)) for n, d in parts[1:]
                     if d["scans"].get("orphan_ends")]
    if later_orphans:
        notes.append(
            "ends without a start in %s: where the reports are parts of one recording, a "
            "scan that began in an earlier part counts there as a not-due visit and here as "
            "an end without a start, with no duration (docs/report.md, Merging reports)"
            % ", ".join("%s (%d)" % x for x in later_orphans))
    begun = [(n, d.get("oddities", {}).get("batches_begun_before_recording", 0))
             for n, d in parts[1:]]
    begun = [x for x in begun if x[1]]
    if begun:
        notes.append("kmigrated batches begun before %s may have begun in an earlier "
                     "report: their sizes are cut at the split" % ", ".join(
                         "%s (%d)" % x for x in begun))
    counters = [n for n, d in parts if d.get("kernel_counters") is not None]
    if counters:
        notes.append("the kernel counters (--vmstat) of %s are not merged: each compares "
                     "one recording with its own snapshots" % ", ".join(counters))
    for name, doc in parts:
        notes.extend("%s: %s" % (name, n) for n in doc.get("notes") or [])
    return notes


def merge(parts: Sequence[Tuple[str, Any]], version: str) -> Doc:
    """The report of all ``parts`` ((name, document) pairs, in the order given: for the
    parts of one recording, in time order) together. ``version``: this tool's, for
    the "run" member. Raises MergeError for a document that is not a report, or
    reports whose histograms are in different units."""
    if not parts:
        raise MergeError("nothing to merge")
    checked = [(name, check(doc, name)) for name, doc in parts]
    try:
        return _merge(checked, version)
    except MergeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise MergeError("a report does not fit the schema (%s: %s): were they edited?"
                         % (type(e).__name__, e)) from None


def _merge(checked: Sequence[Tuple[str, Doc]], version: str) -> Doc:
    _check_same(checked)
    docs = [d for _, d in checked]
    hists = [d["histograms"]["scan_duration_ns"] for d in docs]
    top_scans = [d.get("scans") or {} for d in docs]
    h = _histogram((r for x in hists for r in x["log_linear"]),
                   [s.get("duration_ns") for s in top_scans])
    if sum(h.buckets.values()) != h.count:
        raise MergeError("the histogram buckets hold %d scans, the duration counts %d: a "
                         "report was edited or cut" % (sum(h.buckets.values()), h.count))
    events = _add_maps(d.get("events") for d in docs)
    order = list(docs[0].get("events") or {})   # the schema's order of the five events
    order += [k for k in events if k not in order]
    out: Doc = {
        "schema": SCHEMA,
        "events": {k: events[k] for k in order},
        "other_events": _add_maps(d.get("other_events") for d in docs),
        "unhandled_events": _add_maps(d.get("unhandled_events") for d in docs),
        "bad_events": _add_maps(d.get("bad_events") for d in docs),
        "filtered_events": _sum(d.get("filtered_events") for d in docs),
        "time_ns": _time([d.get("time_ns") for d in docs]),
        "scans": _scans(top_scans, h),
        "migrations": _migrations([d.get("migrations") or {} for d in docs]),
        "mms": _mms(checked),
        "notes": [],
        "kernel_counters": None,
        "accounting": _accounting([d.get("accounting") for d in docs]),
        "trace_time_ns": _time([d.get("trace_time_ns") for d in docs]),
        "oddities": _oddities([d.get("oddities") or {} for d in docs]),
        "histograms": _histograms(hists, h),
        "run": {"tool": "kscand-perf", "version": version, "input": None, "header": None,
                "knobs": None, "merged_from": _sources(checked)},
    }
    out["notes"] = _notes(checked, out)
    return out


# Which members merge exactly (docs/report.md): ADDITIVE always, for parts of one recording
# split by time too; PAIRED when no scan spans a split point; the rest never for such parts.
ADDITIVE: Tuple[Tuple[str, ...], ...] = (
    ("events",), ("other_events",), ("unhandled_events",), ("bad_events",),
    ("filtered_events",), ("time_ns",), ("accounting",), ("trace_time_ns",),
    ("scans", "full_passes"), ("scans", "pages_found"), ("scans", "target_nodes"),
    *((("scans", v, k) for v in ("scan_period_ms", "scan_size")
       for k in ("first", "last", "min", "max"))),
    ("migrations", "attempted"), ("migrations", "succeeded"), ("migrations", "failed"),
    ("migrations", "by_node"), ("migrations", "by_rc"), ("migrations", "batches"),
    ("migrations", "sequence_breaks"),
    ("oddities", "duplicate_samples"), ("oddities", "bad_reasons"),
    ("oddities", "non_tracepoint_events"),
)
PAIRED: Tuple[Tuple[str, ...], ...] = (
    ("scans", "completed"), ("scans", "not_due"), ("scans", "orphan_ends"),
    ("scans", "exited_during_scan"), ("scans", "duration_ns"), ("histograms",),
    ("oddities", "ends_before_start"),
)


def pick(doc: Doc, paths: Sequence[Tuple[str, ...]]) -> Dict[str, Any]:
    """The members at ``paths`` of ``doc``, by dotted path (for comparing reports)."""
    out: Dict[str, Any] = {}
    for path in paths:
        node: Any = doc
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        out[".".join(path)] = node
    return out


__all__ = ["ADDITIVE", "Doc", "MergeError", "PAIRED", "check", "merge", "pick"]
