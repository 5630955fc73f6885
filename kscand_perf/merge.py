"""Many reports as one: JSON reports (as ``--json`` writes them) in, one report out,
in the same schema, so that merged reports can be merged and compared again.

Pure: documents in, a document out. Every input is checked against the published
schema (kscand_perf/report.schema.json) first; the inputs are put in time order;
reports that would count events twice (the same recording at overlapping times, or
one machine's recordings at overlapping times) are refused unless the caller allows
it; reports of different clocks (machines, boots) give no span. Counts add; min and
max combine; means are total / count; percentiles come from the merged log-linear buckets (the
"histograms" member), so they are those the report of all the events together
would give, within the same 1%. Per-mm rows are not merged: the lists are
concatenated, each row tagged with the report it came from.

What cannot be exact when the reports are parts of one recording split by time
(docs/report.md, "Merging reports"): a scan whose start and end fall in different
parts is a not-due visit in one and an end without a start in the other; and what
is measured between two events of one mm (scan period changes, time per full pass,
kmigrated batch sizes, the backlog's queue, owners learnt from a later exit)
loses the pairs that span a split.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from . import schema
from .histogram import LogLinearHistogram, bucket_bounds, bucket_key
from .mechanisms import merge_json
from .merge_detail import merge_backlog, merge_cost, merge_notes
from .report import log2_rows

SCHEMA = "kscand-perf/1"

Doc = Dict[str, Any]


class MergeError(ValueError):
    """Reports that cannot be merged (one line, for the user)."""


# -- checks --------------------------------------------------------------------------------

def check(doc: Any, name: str) -> Doc:
    """``doc`` if it is a kscand-perf JSON report that fits the published schema
    (kscand_perf/report.schema.json); else MergeError, one line naming where it does not."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise MergeError("%s: not a kscand-perf JSON report (schema %r, expected %r; "
                         "make one with --json)" % (name, found, SCHEMA))
    hist = doc.get("histograms")
    if not isinstance(hist, dict) or not isinstance(hist.get("scan_duration_ns"), dict):
        raise MergeError("%s: no histogram buckets (written by a kscand-perf older than the "
                         "\"histograms\" member): report the recording again with --json"
                         % name)
    why = schema.problem(doc)
    if why is not None:
        raise MergeError("%s: does not fit the report's schema (%s): %s; report the "
                         "recording again with --json" % (
                             name, os.path.basename(schema.SCHEMA_PATH), why))
    rows = sum(int(r[2]) for r in hist["scan_duration_ns"]["log_linear"])
    durations = doc["scans"]["duration_ns"]
    count = durations["count"] if durations else 0
    if rows != count:
        raise MergeError("%s: its histogram buckets hold %d scans, its duration count %d: "
                         "a report edited or cut" % (name, rows, count))
    return doc


def _linear_shape(doc: Doc) -> Optional[Tuple[int, int]]:
    lin = doc["histograms"]["scan_duration_ns"].get("linear")
    return None if lin is None else (int(lin["width_ns"]), int(lin["limit"]))


def _check_same(parts: Sequence[Tuple[str, Doc]]) -> None:
    first_name, first = parts[0]
    linear = _linear_shape(first)
    for name, doc in parts[1:]:
        if _linear_shape(doc) != linear:
            raise MergeError("%s: linear buckets %s, %s's %s: report all of them with the "
                             "same --linear, or none" % (
                                 name, _shape_text(_linear_shape(doc)), first_name,
                                 _shape_text(linear)))


def _shape_text(shape: Optional[Tuple[int, int]]) -> str:
    return "none" if shape is None else "%d ns wide" % shape[0]


# -- what the reports are of: recordings, machines, time ranges -----------------------------

@dataclasses.dataclass(frozen=True)
class Leaf:
    """One report as recorded (a merged report stands for the reports it was made of)."""

    part: int  # which input it came with
    source: str
    sha256: Optional[str]
    header: Optional[Doc]
    first: Optional[int]
    last: Optional[int]
    trace: Optional[Doc] = None  # its trace_time_ns

    @property
    def boot_s(self) -> Optional[float]:
        """When the machine booted (Unix seconds), as far as the recording tells: the
        wall-clock time it was captured on less the perf time then (perf's clock counts
        from boot). None: unknown. A copy changes a file's time: the estimate is then later
        than the boot, which makes two reports look of different boots, never of one."""
        h = self.header or {}
        when, source = h.get("captured_on"), h.get("captured_on_source")
        t = self.trace or {}
        perf_ns = t.get("first") if source == "recording" else t.get("last")
        if not isinstance(when, str) or perf_ns is None:
            return None
        try:
            wall = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return None
        return float(wall - perf_ns / 1e9)

    def same_boot(self, other: "Leaf") -> bool:
        """Whether both reports could come from one boot (unknown: yes)."""
        a, b = self.boot_s, other.boot_s
        return a is None or b is None or abs(a - b) <= BOOT_SLACK_S

    @property
    def machine(self) -> Optional[Tuple[str, str]]:
        """(hostname, kernel release) where the header says both: reports of one machine
        and one kernel share perf's clock (None: unknown)."""
        h = self.header or {}
        host, release = h.get("hostname"), h.get("osrelease")
        return None if host is None or release is None else (str(host), str(release))

    def recording(self) -> Optional[Tuple[Any, ...]]:
        """The recording's identity: its content hash, else its header (None: unknown)."""
        if self.sha256:
            return ("sha256", self.sha256)
        if self.header:
            return ("header", json.dumps(self.header, sort_keys=True))
        return None


def leaves(parts: Sequence[Tuple[str, Doc]]) -> List[Leaf]:
    out = []
    for i, (name, doc) in enumerate(parts):
        run = doc.get("run") or {}
        inner = run.get("merged_from")
        own = {"source": name, "input_sha256": run.get("input_sha256"),
               "header": run.get("header"), "time_ns": doc.get("time_ns"),
               "trace_time_ns": doc.get("trace_time_ns")}
        entries = inner if inner else [own]
        for e in entries:
            t = e.get("time_ns") or {}
            out.append(Leaf(i, str(e.get("source")), e.get("input_sha256"), e.get("header"),
                            t.get("first"), t.get("last"), e.get("trace_time_ns")))
    return out


# two reports' boot times (captured_on less perf time) further apart are of two boots
BOOT_SLACK_S = 120


def one_clock(ls: Sequence[Leaf]) -> bool:
    """Whether every report's perf timestamps come from one clock: all of one recording
    (its parts), or all of one machine and kernel as their headers name it and of one boot
    as far as their capture times tell (:attr:`Leaf.boot_s`). Reports whose
    header names no machine (pipes, simulated traces) are of one clock only when they
    are parts of one recording. Only then is there one span."""
    if len(ls) <= 1:
        return True
    recordings = {leaf.recording() for leaf in ls}
    if len(recordings) == 1 and None not in recordings:
        return True
    machines = {leaf.machine for leaf in ls}
    return (len(machines) == 1 and None not in machines
            and all(a.same_boot(b) for a in ls for b in ls))


def _span_text(leaf: Leaf) -> str:
    return "%.6f to %.6f s" % ((leaf.first or 0) / 1e9, (leaf.last or 0) / 1e9)


def check_overlap(ls: Sequence[Leaf]) -> None:
    """MergeError for two reports (of different inputs) that would count events twice:
    the same recording with overlapping time ranges (a report merged with itself, or with
    a part of it), or two recordings of one machine whose events overlap in time."""
    for i, a in enumerate(ls):
        for b in ls[i + 1:]:
            if a.part == b.part:
                continue  # checked when that merged report was made
            timed = None not in (a.first, a.last, b.first, b.last)
            overlap = timed and a.first <= b.last and b.first <= a.last  # type: ignore
            same = a.recording() is not None and a.recording() == b.recording()
            if a.recording() is None and b.recording() is None and a.first is not None:
                # no hash, no header (pipes): the same times are the same report
                same = (a.first, a.last, a.trace) == (b.first, b.last, b.trace)
            if same and (overlap or not timed and a.first == b.first):
                raise MergeError(
                    "%s and %s are reports of the same recording (%s) whose events overlap "
                    "in time: merging would count them twice (split a recording with "
                    "disjoint --time windows; --allow-overlap if you mean it, as for "
                    "disjoint --pid selections)" % (
                        a.source, b.source, "sha256 %s" % a.sha256[:12] if a.sha256
                        else "same perf header" if a.header else "same times"))
            if (not same and overlap and a.machine is not None
                    and a.machine == b.machine and a.same_boot(b)):
                raise MergeError(
                    "%s (%s) and %s (%s) come from one machine (%s) and overlap in time: "
                    "the same kernel events would count twice (--allow-overlap if you "
                    "mean it)" % (a.source, _span_text(a), b.source, _span_text(b),
                                  a.machine[0]))


def _order(parts: Sequence[Tuple[str, Doc]]) -> List[Tuple[str, Doc]]:
    """In time order (reports of one machine; several machines: by machine, then time),
    whatever order they were given in: merge B A == merge A B."""
    def key(part: Tuple[str, Doc]) -> Tuple[Any, ...]:
        name, doc = part
        first = leaves([part])[0]
        t = doc.get("time_ns") or {}
        tt = doc.get("trace_time_ns") or {}
        when = t.get("first") if t.get("first") is not None else tt.get("first")
        return (first.machine or ("", ""), when is None, when or 0, name)
    return sorted(parts, key=key)


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


def _scans(items: Sequence[Doc], hist: LogLinearHistogram, clock: bool) -> Doc:
    """The top-level SCANS of all reports; ``hist``: their merged buckets; ``clock``:
    whether they share one clock (else no first and last: no order between them)."""
    durs = [s["duration_ns"] for s in items]
    out: Doc = {
        "completed": _sum(s["completed"] for s in items),
        "not_due": _sum(s["not_due"] for s in items),
        "in_flight": _sum(s["in_flight"] for s in items),
        "orphan_ends": _sum(s["orphan_ends"] for s in items),
        "exited_during_scan": _sum(s["exited_during_scan"] for s in items),
        "full_passes": _sum(s["full_passes"] for s in items),
        "pages_found": _sum(s["pages_found"] for s in items),
        "duration_ns": _durations(hist, _percentile_keys(durs)),
        "ends_by_target_node": _add_maps((s["ends_by_target_node"] for s in items),
                                         by_int=True),
        "scan_period_ms": _values([s["scan_period_ms"] for s in items]),
        "scan_size_bytes": _values([s["scan_size_bytes"] for s in items]),
        "pass_time_ns": _spread([s["pass_time_ns"] for s in items]),
    }
    if not clock:
        for key in ("scan_period_ms", "scan_size_bytes"):
            values: Optional[Doc] = out[key]
            if values is not None:
                values.update(first=None, last=None)
    return out


def _migrations(items: Sequence[Doc]) -> Doc:
    by_node: Dict[str, Dict[str, int]] = {}
    for m in items:
        for node, c in m["by_node"].items():
            acc = by_node.setdefault(node, {"attempted": 0, "succeeded": 0, "failed": 0})
            for k in acc:
                acc[k] += int(c[k])
    by_rc: Dict[str, Dict[str, Any]] = {}
    for m in items:
        for rc, c in m["by_rc"].items():
            acc_rc = by_rc.setdefault(rc, {"name": c["name"], "count": 0})
            acc_rc["count"] += int(c["count"])
    out = {
        "attempted": _sum(m["attempted"] for m in items),
        "succeeded": _sum(m["succeeded"] for m in items),
        "failed": _sum(m["failed"] for m in items),
        "by_node": {k: by_node[k] for k in sorted(by_node, key=int)},
        "by_rc": {k: by_rc[k] for k in sorted(by_rc, key=int)},
        "batches": _sum(m["batches"] for m in items),
        "batch_size": _spread([m["batch_size"] for m in items]),
        "sequence_breaks": _sum(m["sequence_breaks"] for m in items),
    }
    if any("not_attempted" in m for m in items):
        out["not_attempted"] = _sum(m.get("not_attempted") for m in items)
    return out


def _time(items: Sequence[Optional[Doc]], clock: bool) -> Doc:
    if not clock:
        return {"first": None, "last": None}
    return {"first": _min((t or {}).get("first") for t in items),
            "last": _max((t or {}).get("last") for t in items)}


# what every part of one recording counts in full whatever its --time window (the front
# end and the analyzer count them before the window applies): once per recording
ONCE_PER_RECORDING = ("unhandled", "non_tracepoint")


def groups(parts: Sequence[Tuple[str, Doc]]) -> List[List[int]]:
    """The parts, grouped by recording: parts of one recording (one content hash, a merged
    report of such parts included) in one group; any other part alone."""
    by_rec: Dict[Any, List[int]] = {}
    out: List[List[int]] = []
    for i, leafs in enumerate(leaves([p]) for p in parts):
        recs = {leaf.recording() for leaf in leafs}
        rec = recs.pop() if len(recs) == 1 else None
        if rec is None or rec[0] != "sha256":
            out.append([i])
        elif rec in by_rec:
            by_rec[rec].append(i)
        else:
            by_rec[rec] = [i]
            out.append(by_rec[rec])
    return out


def _once(values: Sequence[Any]) -> Any:
    """A figure every part of one recording holds in full: the same in each."""
    return values[0] if values else None


def _accounting(docs: Sequence[Doc], grouped: Sequence[Sequence[int]]) -> Optional[Doc]:
    """Per recording: events_in once (each part of it was handed every event), the
    once-per-recording counts once, the rest added; filtered = events_in - the others."""
    items = [d["accounting"] for d in docs]
    if not items or any(a is None for a in items):
        return None
    keys = list(items[0])
    out = {k: 0 for k in keys}
    for group in grouped:
        accs = [items[i] for i in group]
        part = {k: _sum(a.get(k) for a in accs) for k in keys}
        if len(accs) > 1:
            for k in ONCE_PER_RECORDING + ("events_in",):
                part[k] = max(int(a.get(k, 0)) for a in accs)
            part["filtered"] = part["events_in"] - sum(
                v for k, v in part.items() if k not in ("events_in", "filtered"))
        for k in keys:
            out[k] += part[k]
    return out


def _per_recording_maps(docs: Sequence[Doc], grouped: Sequence[Sequence[int]],
                        get: Any) -> Dict[str, int]:
    """A map of counts every part of one recording holds in full: once per recording."""
    return _add_maps(get(docs[g[0]]) for g in grouped)


def _oddities(docs: Sequence[Doc], grouped: Sequence[Sequence[int]]) -> Doc:
    items = [d["oddities"] for d in docs]
    owners = [o["unknown_owner"] for o in items]
    return {
        "duplicate_samples": _add_maps(o["duplicate_samples"] for o in items),
        "ends_before_start": _sum(o["ends_before_start"] for o in items),
        # threads of one report: the most any report saw (pids of two machines or two
        # recordings are not the same threads, and one thread is seen in every part)
        "scan_threads": _max(o["scan_threads"] for o in items) or 0,
        "batches_begun_before_recording": _sum(o["batches_begun_before_recording"]
                                               for o in items),
        "bad_reasons": _add_maps(o["bad_reasons"] for o in items),
        "non_tracepoint_events": _per_recording_maps(
            docs, grouped, lambda d: d["oddities"]["non_tracepoint_events"]),
        "unknown_owner": {k: _sum(u[k] for u in owners)
                          for k in ("lifetimes", "scan_ends", "migrations")},
    }


def _selection(docs: Sequence[Doc], grouped: Sequence[Sequence[int]]) -> Optional[Doc]:
    """The merged ``selection``: null when no report was filtered; else what the reports
    kept together: the time window from the earliest start to the latest end (null: open),
    each list the union (null when a report did not restrict it), kept events added,
    events in once per recording."""
    sels = [d.get("selection") for d in docs]
    if all(s is None for s in sels):
        return None
    full: Doc = {"time_ns": None, "pids": None, "comms": None, "mms": None, "nodes": None,
                 "kept_events": 0, "events_in": 0}
    given = [s for s in sels if s is not None]
    windows = [s.get("time_ns") for s in given]
    if any(w is not None for w in windows) and len(given) == len(sels):
        starts = [w[0] if w else None for w in windows]
        ends = [w[1] if w else None for w in windows]
        full["time_ns"] = [None if None in starts else min(starts),
                           None if None in ends else max(ends)]
    for key in ("pids", "comms", "mms", "nodes"):
        lists = [s.get(key) for s in given]
        if len(given) == len(sels) and all(v is not None for v in lists):
            full[key] = sorted({x for v in lists for x in v})
    full["kept_events"] = _sum(s.get("kept_events") for s in given)
    for group in grouped:
        ins = [int((docs[i].get("selection") or {}).get("events_in")
                   or (docs[i]["accounting"] or {}).get("events_in") or 0) for i in group]
        full["events_in"] += max(ins) if len(group) > 1 else sum(ins)
    return full


def _log2(items: Sequence[Doc]) -> Doc:
    slots: Dict[int, int] = {}
    for d in items:
        for _low, high, n in d["rows"]:
            slot = int(high).bit_length()   # high is 2**slot - 1 (0 and 1 share slot 1)
            slots[slot] = slots.get(slot, 0) + int(n)
    return {"unit_ns": 1, "rows": [list(r) for r in log2_rows(
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
            "overflow": _sum(d["overflow"] for d in seen)}


def _histograms(items: Sequence[Doc], h: LogLinearHistogram) -> Doc:
    rows = []
    for key in sorted(h.buckets):
        low, high = bucket_bounds(key)
        rows.append([low, high, h.buckets[key]])
    return {"scan_duration_ns": {
        "log_linear": rows,
        "log2": _log2([d["log2"] for d in items]),
        "linear": _linear([d["linear"] for d in items])}}


SOURCE_KEYS = ("version", "input", "input_sha256", "options", "header", "knobs")


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
        for key in SOURCE_KEYS:
            entry[key] = run.get(key)
        entry["time_ns"] = doc["time_ns"]
        entry["trace_time_ns"] = doc["trace_time_ns"]
        entry["selection"] = doc.get("selection")
        out.append(entry)
    return out


def _mms(parts: Sequence[Tuple[str, Doc]]) -> List[Doc]:
    rows: List[Doc] = []
    for name, doc in parts:
        for row in doc["mms"]:
            if "source" in row:   # from a merged report: keeps where it came from
                rows.append(row)
            else:
                rows.append(dict(row, source=name))
    return rows


def _notes(parts: Sequence[Tuple[str, Doc]], clock: bool, machines: int,
           allow_overlap: bool, grouped: Sequence[Sequence[int]]) -> List[str]:
    names = [n for n, _ in parts]
    notes = ["merged %d reports (%s, in time order): counts add, min and max combine, "
             "percentiles come from the merged buckets; mms lists every report's rows, each "
             "tagged with its source" % (len(parts), ", ".join(names))]
    if not clock:
        notes.append(
            "the reports come from %s: their perf timestamps are of different clocks, so "
            "the merged report has no time span (time_ns and trace_time_ns are null), no "
            "rate, and no first or last scan period or size" % (
                "%d machines" % machines if machines > 1 else
                "recordings whose header does not name the machine (pipes)"))
    bad = [parts[i][0] for g in grouped if len(g) > 1 for i in g if parts[i][1]["bad_events"]]
    if bad:
        notes.append("bad events in %s, parts of one recording: an event whose data perf's "
                     "format cannot decode counts in every part, so the merged bad count "
                     "may be too high" % ", ".join(bad))
    if allow_overlap:
        notes.append("--allow-overlap: reports of the same recording or of overlapping "
                     "times on one machine were merged as given: events they share count "
                     "more than once")
    later_orphans = [(n, d["scans"]["orphan_ends"]) for n, d in parts[1:]
                     if d["scans"]["orphan_ends"]]
    if later_orphans:
        notes.append(
            "ends without a start in %s: where the reports are parts of one recording, a "
            "scan that began in an earlier part counts there as a not-due visit and here as "
            "an end without a start, with no duration (docs/report.md, Merging reports)"
            % ", ".join("%s (%d)" % x for x in later_orphans))
    begun = [(n, d["oddities"]["batches_begun_before_recording"]) for n, d in parts[1:]]
    begun = [x for x in begun if x[1]]
    if begun:
        notes.append("kmigrated batches begun before %s may have begun in an earlier "
                     "report: their sizes are cut at the split" % ", ".join(
                         "%s (%d)" % x for x in begun))
    counters = [n for n, d in parts if d["kernel_counters"] is not None]
    if counters:
        notes.append("the kernel counters (--vmstat) of %s are not merged: each compares "
                     "one recording with its own snapshots" % ", ".join(counters))
    timed = [n for n, d in parts if d.get("over_time") is not None]
    if timed:
        notes.append("over_time (--interval) of %s is not merged: each report's intervals "
                     "start at its own first event; read it in each report" % ", ".join(timed))
    for name, doc in parts:
        notes.extend("%s: %s" % (name, n) for n in doc["notes"])
    return notes


def merge(parts: Sequence[Tuple[str, Any]], version: str, allow_overlap: bool = False) -> Doc:
    """The report of all ``parts`` ((name, document) pairs, in any order: they are put in
    time order) together. ``version``: this tool's, for the "run" member. Raises
    MergeError for a document that does not fit the schema, reports that would count
    events twice (unless ``allow_overlap``), or whose --linear buckets differ."""
    if not parts:
        raise MergeError("nothing to merge")
    checked = _order([(name, check(doc, name)) for name, doc in parts])
    ls = leaves(checked)
    if not allow_overlap:
        check_overlap(ls)
    try:
        return _merge(checked, version, ls, allow_overlap)
    except MergeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise MergeError("a report does not fit the schema (%s: %s): were they edited?"
                         % (type(e).__name__, e)) from None


def _merge(checked: Sequence[Tuple[str, Doc]], version: str, ls: Sequence[Leaf],
           allow_overlap: bool) -> Doc:
    _check_same(checked)
    docs = [d for _, d in checked]
    clock = one_clock(ls)
    grouped = groups(checked)
    hists = [d["histograms"]["scan_duration_ns"] for d in docs]
    top_scans = [d["scans"] for d in docs]
    h = _histogram((r for x in hists for r in x["log_linear"]),
                   [s["duration_ns"] for s in top_scans])
    accounting = _accounting(docs, grouped)
    filtered = (accounting["filtered"] if accounting is not None
                else _sum(d["filtered_events"] for d in docs))
    out: Doc = {
        "schema": SCHEMA,
        "events": _add_maps(d["events"] for d in docs),
        "other_events": _add_maps(d["other_events"] for d in docs),
        "unhandled_events": _per_recording_maps(docs, grouped, lambda d: d["unhandled_events"]),
        "bad_events": _add_maps(d["bad_events"] for d in docs),
        "filtered_events": filtered,
        "time_ns": _time([d["time_ns"] for d in docs], clock),
        "scans": _scans(top_scans, h, clock),
        "migrations": _migrations([d["migrations"] for d in docs]),
        "mms": _mms(checked),
        "notes": _notes(checked, clock, len({leaf.machine for leaf in ls}), allow_overlap,
                        grouped),
        "kernel_counters": None,
        "accounting": accounting,
        "trace_time_ns": _time([d["trace_time_ns"] for d in docs], clock),
        "oddities": _oddities(docs, grouped),
        "histograms": _histograms(hists, h),
        "run": {"tool": "kscand-perf", "version": version, "input": None,
                "input_sha256": None, "options": None, "header": None, "knobs": None,
                "merged_from": _sources(checked)},
    }
    out["events"] = {k: out["events"].get(k, 0) for k in EVENT_ORDER}
    if any("selection" in d for d in docs):
        out["selection"] = _selection(docs, grouped)
    if any("mechanisms" in d for d in docs):  # summed (docs/report.md)
        span = out["trace_time_ns"]
        out["mechanisms"] = merge_json([d.get("mechanisms") for d in docs], (
            span["last"] - span["first"] if clock and span["first"] is not None
            and span["last"] is not None and span["last"] > span["first"] else None))
    out["backlog"] = merge_backlog(docs)
    out["kscand_detail"] = None
    out["cost"] = merge_cost(docs)
    # times from each recording's own first event: they do not add up across reports
    out["promotion_time"] = None
    out["notes"].extend(merge_notes(docs))
    return out


EVENT_ORDER = ("kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start", "kmem_scan_mm_end",
               "kmem_scan_mm_migrate")


# Which members merge exactly (docs/report.md): ADDITIVE always, for parts of one recording
# split by time too; PAIRED when no scan spans a split point; the rest never for such parts.
ADDITIVE: Tuple[Tuple[str, ...], ...] = (
    ("events",), ("other_events",), ("unhandled_events",), ("bad_events",),
    ("filtered_events",), ("time_ns",), ("accounting",), ("trace_time_ns",),
    ("scans", "full_passes"), ("scans", "pages_found"), ("scans", "ends_by_target_node"),
    ("scans", "in_flight"),
    *((("scans", v, k) for v in ("scan_period_ms", "scan_size_bytes")
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


__all__ = ["ADDITIVE", "Doc", "Leaf", "MergeError", "PAIRED", "check", "check_overlap",
           "leaves", "merge", "one_clock", "pick"]
