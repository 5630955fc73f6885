"""The text of a merged report (:func:`kscand_perf.merge.merge`'s document): where each
part came from, then the headline tables of the report. Its JSON is the document itself,
in the report's schema. No arithmetic here: every number is the document's."""

from __future__ import annotations

import json
import textwrap
from typing import Any, Dict, List, Optional

from .format import count, histogram, in_unit, percent, section, size, table
from .text import TEXT_WIDTH, UNIT_LABEL, UNIT_NAME

Doc = Dict[str, Any]


def json_text(doc: Doc) -> str:
    """As the report writes its JSON (json.dumps, indent 2, a final newline)."""
    return json.dumps(doc, indent=2) + "\n"


def _secs(ns: Optional[int]) -> str:
    return "-" if ns is None else "%.6f" % (ns / 1e9)


def _sources(doc: Doc) -> str:
    rows = []
    for s in (doc.get("run") or {}).get("merged_from") or []:
        h = s.get("header") or {}
        t = s.get("time_ns") or {}
        cpus = h.get("nrcpus_online")
        rows.append([s.get("source", "?"), h.get("hostname") or "-", h.get("osrelease") or "-",
                     "-" if cpus is None else str(cpus), _secs(t.get("first")),
                     _secs(t.get("last"))])
    return table(["report", "host", "kernel", "CPUs", "first (s)", "last (s)"], rows)


def _durations_row(d: Optional[Doc], unit_ns: int) -> List[str]:
    if not d:
        return ["-"] * 7
    pcts = sorted((k for k in d if k[:1] == "p" and k[1:].isdigit()), key=lambda k: int(k[1:]))
    return ([in_unit(d["min"], unit_ns), in_unit(d["mean"], unit_ns)]
            + [in_unit(d[k], unit_ns) for k in pcts]
            + [in_unit(d["max"], unit_ns), in_unit(d["total"], unit_ns)])


def _values_row(name: str, v: Optional[Doc], fmt: Any) -> List[str]:
    if not v:
        return [name, "-", "-", "-", "-", "-"]
    return [name, fmt(v["first"]), fmt(v["last"]), fmt(v["min"]), fmt(v["max"]),
            count(v["changes"])]


def text(doc: Doc, unit_ns: int = 1000) -> str:
    """The human form of a merged report; durations in ``unit_ns`` (the histogram keeps
    the unit its reports were made with)."""
    u = UNIT_NAME.get(unit_ns, "ns")
    parts: List[str] = []
    sources = (doc.get("run") or {}).get("merged_from") or []
    events = doc.get("events") or {}
    parts.append("kscand merged report: %d reports, %s kscand events" % (
        len(sources), count(sum(events.values()))))
    parts.append(section("Reports", _sources(doc)))
    parts.append(section("Events", table(
        ["event", "count"], [[k, count(v)] for k, v in events.items()]
        + [[k, count(v)] for k, v in sorted((doc.get("other_events") or {}).items())])))
    s = doc.get("scans") or {}
    d = s.get("duration_ns")
    pct_heads = (sorted((k for k in d if k[:1] == "p" and k[1:].isdigit()),
                        key=lambda k: int(k[1:])) if d else ["p50", "p90", "p99"])
    scans = table(["scans", "count"], [
        ["completed scans (start and end)", count(s.get("completed", 0))],
        ["not-due visits (start, no end)", count(s.get("not_due", 0))],
        ["ends without a start", count(s.get("orphan_ends", 0))],
        ["mm exited during its scan", count(s.get("exited_during_scan", 0))],
        ["full address-space passes (wraps)", count(s.get("full_passes", 0))],
        ["pages found (accessed, slow tier)", count(s.get("pages_found", 0))]])
    scans += "\n\n" + table(["duration (%s)" % u, "min", "mean"] + pct_heads
                            + ["max", "total"], [["all scans"] + _durations_row(d, unit_ns)])
    scans += ("\n(percentiles from the merged log-linear buckets, within 1%; min, mean, max "
              "and total exact)")
    parts.append(section("Scans", scans))
    log2 = ((doc.get("histograms") or {}).get("scan_duration_ns") or {}).get("log2") or {}
    hunit = int(log2.get("unit_ns", 1000))
    hist = histogram([tuple(r) for r in log2.get("rows") or []],  # type: ignore[misc]
                     UNIT_LABEL.get(hunit, "nsecs"))
    if hist:
        parts.append(section("Scan duration histogram (%s)" % UNIT_NAME.get(hunit, "ns"),
                             hist))
    parts.append(section("Scan adaptation", table(
        ["", "first", "last", "min", "max", "changes"],
        [_values_row("scan period (ms)", s.get("scan_period_ms"), count),
         _values_row("scan size", s.get("scan_size"), size)])))
    m = doc.get("migrations") or {}
    rows = [["all", count(m.get("attempted", 0)), count(m.get("succeeded", 0)),
             count(m.get("failed", 0)), percent(m.get("succeeded", 0), m.get("attempted", 0))]]
    rows += [["node %s" % n, count(c["attempted"]), count(c["succeeded"]), count(c["failed"]),
              percent(c["succeeded"], c["attempted"])]
             for n, c in (m.get("by_node") or {}).items()]
    mig = table(["", "attempted", "succeeded", "failed", "success"], rows)
    rcs = sorted((m.get("by_rc") or {}).items(), key=lambda kv: (-kv[1]["count"], int(kv[0])))
    if rcs:
        total = m.get("attempted", 0)
        mig += "\n\n" + table(["rc", "reason", "count", "share"], [
            [rc, "success" if rc == "0" else v["name"], count(v["count"]),
             percent(v["count"], total)] for rc, v in rcs])
    parts.append(section("Migrations", mig))
    mms = doc.get("mms") or []
    parts.append("%s mm lifetimes, listed per report in the JSON (--json)" % count(len(mms)))
    notes = doc.get("notes") or []
    if notes:
        parts.append(section("Notes", "\n".join(
            textwrap.fill(n, TEXT_WIDTH, initial_indent="- ", subsequent_indent="  ",
                          break_on_hyphens=False, break_long_words=False) for n in notes)))
    return "\n\n".join(p for p in parts if p) + "\n"
