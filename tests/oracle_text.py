"""The text report against the JSON report of the same run: every figure of its tables.

The JSON is held to the oracle (tests/test_oracle.py); this holds the text to the JSON, so
the text is checked too. A table is read by the columns its dashes line marks.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple


class Table(NamedTuple):
    section: str
    headers: List[str]
    rows: List[List[str]]


def tables(text: str) -> List[Table]:
    lines = text.splitlines()
    out: List[Table] = []
    section = ""
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and re.fullmatch(r"=+", lines[i + 1]) and line.strip():
            section = line.strip()
        if i > 0 and re.fullmatch(r"-+(  +-+)*", line) and lines[i - 1].strip():
            spans = [(m.start(), m.end()) for m in re.finditer(r"-+", line)]
            # one rule under the whole header (the streamed Intervals table): cells have
            # no spaces, headers are separated by two
            cut = ((lambda text: text.split()) if len(spans) == 1
                   else (lambda text: _cut(text, spans)))
            cells = (re.split(r"\s{2,}", lines[i - 1].strip()) if len(spans) == 1
                     else _cut(lines[i - 1], spans))
            rows = []
            for row in lines[i + 1:]:
                if not row.strip() or row.startswith("("):
                    break
                rows.append(cut(row))
            out.append(Table(section, cells, rows))
    return out


def _cut(line: str, spans: List[Tuple[int, int]]) -> List[str]:
    cells = []
    for k, (a, b) in enumerate(spans):
        end = spans[k + 1][0] if k + 1 < len(spans) else len(line)
        cells.append(line[a:max(b, end)].strip() if k + 1 == len(spans)
                     else line[a:end].strip())
    return cells


def count(n: Optional[int]) -> str:
    return "-" if n is None else "{:,}".format(n)


def in_unit(ns: Optional[float], unit: int) -> str:
    return "-" if ns is None else "{:,.3f}".format(ns / unit)


def pct(part: int, whole: int) -> str:
    if not whole:
        return "-"
    text = "{:.1f}%".format(100.0 * part / whole)
    return "<0.1%" if part and text == "0.0%" else text


def _table(all_tables: List[Table], first_header: str, second: str = "") -> Optional[Table]:
    for t in all_tables:
        if t.headers and t.headers[0] == first_header and (
                not second or t.headers[1:2] == [second]):
            return t
    return None


def mismatches(text: str, js: Dict[str, Any]) -> Iterator[str]:
    """Every figure of the text's tables that is not what the JSON says."""
    unit_name = js["run"]["options"]["unit"]     # the text's unit (the JSON's are ns)
    unit = {"ns": 1, "us": 1000, "ms": 10**6}[unit_name]
    ts = tables(text)

    def want(where: str, got: str, expect: str) -> Iterator[str]:
        if got != expect:
            yield "%s: text %r, JSON says %r" % (where, got, expect)

    events = dict(js["events"], **js["other_events"])
    t = _table(ts, "event")
    assert t is not None, "no Events table"
    yield from want("Events rows", str(sorted(r[0] for r in t.rows)),
                    str(sorted(set(js["events"]) | set(js["other_events"]))))
    for name, n in t.rows:
        yield from want("Events %s" % name, n, count(events.get(name)))

    scans = js["scans"]
    t = _table(ts, "scans")
    assert t is not None, "no Scans table"
    visits = scans["completed"] + scans["not_due"] + scans["in_flight"]
    expect = {"scan ends": count(js["events"]["kmem_scan_mm_end"]),
              "completed scans (start and end)": count(scans["completed"]),
              "unpaired starts (not due, or end lost)": count(scans["not_due"]),
              "starts in flight at the end": count(scans["in_flight"]),
              "visits per completed scan": "-" if not scans["completed"] else
              "{:,.1f}".format(visits / scans["completed"]),
              "ends without a start": count(scans["orphan_ends"]),
              "mm exited during its scan": count(scans["exited_during_scan"]),
              "full address-space passes (wraps)": count(scans["full_passes"]),
              "pages found (accessed, slow tier)": count(scans["pages_found"])}
    for label, n in t.rows:
        yield from want("Scans %s" % label, n, expect.get(label, "?"))

    d = scans["duration_ns"]
    t = _table(ts, "duration (%s)" % unit_name)
    if d is not None:
        assert t is not None, "no duration table"
        row = dict(zip(t.headers, t.rows[0]))
        for key in ("min", "mean", "p50", "p90", "p99", "max", "total"):
            yield from want("duration %s" % key, row[key], in_unit(d[key], unit))

    t = _table(ts, "target node")
    nodes = scans["ends_by_target_node"]
    ends = sum(nodes.values())
    for node, n, share in (t.rows if t else []):
        yield from want("target node %s" % node, n, count(nodes.get(node)))
        yield from want("target node %s share" % node, share, pct(nodes.get(node, 0), ends))

    mig = js["migrations"]
    t = _table(ts, "", "attempted")
    if mig["attempted"]:
        assert t is not None, "no Migrations table"
        for row in t.rows:
            src = mig if row[0] == "all" else mig["by_node"].get(row[0].split()[-1], {})
            yield from want("Migrations %s" % row[0], str(row[1:]), str([
                count(src.get("attempted")), count(src.get("succeeded")),
                count(src.get("failed")), pct(src.get("succeeded", 0),
                                              src.get("attempted", 0))]))
        t = _table(ts, "rc")
        assert t is not None, "no rc table"
        yield from want("rc rows", str(sorted(r[0] for r in t.rows)), str(sorted(mig["by_rc"])))
        for rc, name, n, share in t.rows:
            entry = mig["by_rc"].get(rc, {})
            yield from want("rc %s" % rc, str([n, share]), str([
                count(entry.get("count")), pct(entry.get("count", 0), mig["attempted"])]))

    mms = {(m["mm"], str(m["generation"])): m for m in js["mms"]}
    for t in ts:
        if not t.headers or t.headers[0] != "mm" or not (
                t.section.startswith("Processes") or "pages" in t.headers):
            continue
        # Processes: scans and durations; Migrations' "by process": pages and promotions
        where = "Processes" if t.section.startswith("Processes") else "Migrations by process"
        if where != "Processes":    # (--top 0) every lifetime that found or tried pages
            yield from want("Migrations by process rows", str(sorted(
                (r[0], r[1]) for r in t.rows)), str(sorted(
                    k for k, m in mms.items()
                    if m["scans"]["pages_found"] or m["migrations"]["attempted"])))
        for row in t.rows:
            m = mms.get((row[0], row[1]))
            if m is None:
                yield "%s %s/%s: not in the JSON" % (where, row[0], row[1])
                continue
            s, g = m["scans"], m["migrations"]
            dur = s["duration_ns"] or {}
            owner = ["-" if m["pid"] is None else str(m["pid"]), m["comm"] or "?"]
            yield from want("%s %s/%s" % (where, row[0], row[1]), str(row[2:]), str(
                owner + [count(s["completed"]), count(s["not_due"]),
                         in_unit(dur.get("mean"), unit), in_unit(dur.get("max"), unit)]
                if where == "Processes" else
                owner + [count(s["pages_found"]), count(g["attempted"]),
                         count(g["succeeded"]), pct(g["succeeded"], g["attempted"])]))

    yield from _intervals(ts, js, unit, want)
    yield from _counters(ts, js, want)


def _intervals(ts: List[Table], js: Dict[str, Any], unit: int, want: Any) -> Iterator[str]:
    t = _table(ts, "time (s)")
    if "over_time" not in js:
        return
    assert t is not None, "no Intervals table"
    rows = js["over_time"]["intervals"]
    yield from want("Intervals rows", str(len(t.rows)), str(len(rows)))
    first = rows[0]["start_ns"] if rows else 0
    width = js["over_time"]["interval_ns"]
    for row, r in zip(t.rows, rows):
        if "empty" in row:      # a run of empty intervals: one row
            yield from want("Intervals %s" % row[0], " ".join(row), "%s (%s empty intervals, "
                            "to %s s)" % ("{:,.3f}".format((r["start_ns"] - first) / 1e9),
                                          count((r["end_ns"] - r["start_ns"]) // width),
                                          "{:,.3f}".format((r["end_ns"] - first) / 1e9)))
            continue
        dur = r["duration_ns"] or {}
        top = r["top_failure"]
        rate = r["succeeded_per_s"]
        # (the text leaves out p99, failures, the success ratio and the promoted so far)
        yield from want("Intervals %s" % row[0], str(row), str([
            "{:,.3f}".format((r["start_ns"] - first) / 1e9), count(r["scans"]),
            count(r["not_due"]), in_unit(dur.get("mean"), unit),
            in_unit(dur.get("max"), unit), count(r["pages_found"]), count(r["attempted"]),
            count(r["succeeded"]), "-" if rate is None else "{:,.1f}".format(rate),
            "-" if top is None else str(top["rc"])]))


def _counters(ts: List[Table], js: Dict[str, Any], want: Any) -> Iterator[str]:
    t = _table(ts, "counter")
    kc = js["kernel_counters"]
    if kc is None:
        return
    assert t is not None, "no Kernel counters table"
    by_name = {c["name"]: c for c in kc["counters"]}
    for row in t.rows:
        c = by_name.get(row[0], {})
        agrees = {True: "yes", False: "NO", None: "-"}[c.get("agrees")]
        yield from want("Kernel counters %s" % row[0], str([row[1], row[2], row[4]]), str([
            count(c.get("delta")), count(c.get("trace")), agrees]))
