"""The text of a merged report (:func:`kscand_perf.merge.merge`'s document): where each
part came from, then every section the merged JSON has, as the report prints them. Its
JSON is the document itself, in the report's schema. No arithmetic here beyond the
shares and ratios the report prints too: every number is the document's."""

from __future__ import annotations

import json
import textwrap
from typing import Any, Dict, List, Optional

from ..mechanisms import from_json
from .format import count, histogram, in_unit, percent, section, size, table
from .mechanisms import mechanisms_text
from .text import TEXT_WIDTH, UNIT_NAME

Doc = Dict[str, Any]
TOP = 20  # rows of the merged Processes table


def json_text(doc: Doc) -> str:
    """As the report writes its JSON (json.dumps, indent 2, a final newline)."""
    return json.dumps(doc, indent=2) + "\n"


def _secs(ns: Optional[int]) -> str:
    return "-" if ns is None else "%.6f" % (ns / 1e9)


def _sources(doc: Doc) -> str:
    rows = []
    for i, s in enumerate((doc.get("run") or {}).get("merged_from") or []):
        h = s.get("header") or {}
        t = s.get("time_ns") or {}
        cpus = h.get("nrcpus_online")
        rows.append([i + 1, s.get("source", "?"), h.get("hostname") or "-",
                     h.get("osrelease") or "-", "-" if cpus is None else str(cpus),
                     _secs(t.get("first")), _secs(t.get("last"))])
    return table(["#", "report", "host", "kernel", "CPUs", "first (s)", "last (s)"], rows)


def _num(v: Optional[int]) -> str:
    return "-" if v is None else count(v)


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

    def cell(x: Optional[int]) -> str:
        return "-" if x is None else str(fmt(x))
    return [name, cell(v["first"]), cell(v["last"]), cell(v["min"]), cell(v["max"]),
            count(v["changes"])]


def _spread_line(what: str, s: Optional[Doc], unit_ns: int, u: str) -> str:
    if not s:
        return ""
    return "%s, %s:\n  mean %s %s, min %s %s, max %s %s" % (
        what, count(s["count"]), in_unit(s["mean"], unit_ns), u, in_unit(s["min"], unit_ns),
        u, in_unit(s["max"], unit_ns), u)


def _events(doc: Doc) -> str:
    rows = [[k, count(v)] for k, v in doc["events"].items()]
    rows += [[k, count(v)] for k, v in sorted(doc["other_events"].items())]
    out = table(["event", "count"], rows)
    for key, what in (("unhandled_events", "events of other types (not analysed)"),
                      ("bad_events", "events with unusable data (skipped)")):
        if doc.get(key):
            out += "\n%s: %s" % (what, ", ".join("%s %s" % (k, count(v))
                                                 for k, v in sorted(doc[key].items())))
    a = doc.get("accounting")
    if a and a["events_in"] != a["analysed"] + a["other"]:
        terms = ["%s %s" % (count(v), k) for k, v in a.items() if k != "events_in" and v]
        out += "\nevents in: %s = %s" % (count(a["events_in"]), " + ".join(terms))
    return out


def _scans(s: Doc, unit_ns: int, u: str) -> str:
    ends = s["completed"] + s["orphan_ends"]
    out = table(["scans", "count"], [
        ["scan ends", count(ends)],
        ["completed scans (start and end)", count(s["completed"])],
        ["unpaired starts (not due, or end lost)", count(s["not_due"])],
        ["starts in flight at the end", count(s["in_flight"])],
        ["ends without a start", count(s["orphan_ends"])],
        ["mm exited during its scan", count(s["exited_during_scan"])],
        ["full address-space passes (wraps)", count(s["full_passes"])],
        ["pages found (accessed, slow tier)", count(s["pages_found"])]])
    d = s["duration_ns"]
    pct_heads = (sorted((k for k in d if k[:1] == "p" and k[1:].isdigit()),
                        key=lambda k: int(k[1:])) if d else ["p50", "p90", "p99"])
    out += "\n\n" + table(["duration (%s)" % u, "min", "mean"] + pct_heads + ["max", "total"],
                          [["all scans"] + _durations_row(d, unit_ns)])
    out += ("\n(percentiles from the merged log-linear buckets, within 1%; min, mean, max "
            "and total exact)")
    passes = _spread_line("time between two wraps of one mm (a full pass): intervals",
                          s["pass_time_ns"], unit_ns, u)
    return out + ("\n\n" + passes if passes else "")


def _adaptation(s: Doc) -> str:
    out = table(["", "first", "last", "min", "max", "changes"],
                [_values_row("scan period (ms)", s["scan_period_ms"], count),
                 _values_row("scan size", s["scan_size_bytes"], size)])
    ends = s["completed"] + s["orphan_ends"]
    nodes = s["ends_by_target_node"]
    if nodes:
        out += "\n\n" + table(["target node", "scan ends", "share"], [
            [node, count(n), percent(n, ends)] for node, n in nodes.items()])
    return out


def _processes(doc: Doc, unit_ns: int) -> str:
    mms = doc["mms"]
    if not mms:
        return "no mm seen"

    def total(m: Doc) -> int:
        d = m["scans"]["duration_ns"]
        return int(d["total"]) if d else 0
    number = {str(s.get("source")): i + 1 for i, s in enumerate(
        (doc.get("run") or {}).get("merged_from") or [])}
    busy = [m for m in mms if m["scans"]["completed"] + m["scans"]["orphan_ends"]
            or m["migrations"]["attempted"]]
    shown = sorted(busy, key=lambda m: (-total(m), -m["migrations"]["attempted"]))[:TOP]
    rows = []
    for m in shown:
        d = m["scans"]["duration_ns"]
        g = m["migrations"]
        rows.append([number.get(str(m.get("source")), "-"), m["mm"], m["generation"],
                     "-" if m["pid"] is None else m["pid"], m["comm"] or "?",
                     count(m["scans"]["completed"]), count(m["scans"]["pages_found"]),
                     in_unit(d["mean"] if d else None, unit_ns),
                     count(g["attempted"]), percent(g["succeeded"], g["attempted"])])
    out = table(["#", "mm", "gen", "pid", "comm", "scans", "pages", "mean", "migr",
                 "success"], rows)
    out += "\n(%s of %s mm lifetimes, by total scan time, # as in Reports; %s had no scan\n" \
           "end and no migration; every row is in the JSON, --json)" % (
               count(len(shown)), count(len(mms)), count(len(mms) - len(busy)))
    return out


def _migrations(m: Doc, unit_ns: int, u: str) -> str:
    rows = [["all", count(m["attempted"]), count(m["succeeded"]), count(m["failed"]),
             percent(m["succeeded"], m["attempted"])]]
    rows += [["node %s" % n, count(c["attempted"]), count(c["succeeded"]), count(c["failed"]),
              percent(c["succeeded"], c["attempted"])] for n, c in m["by_node"].items()]
    out = table(["", "attempted", "succeeded", "failed", "success"], rows)
    rcs = sorted(m["by_rc"].items(), key=lambda kv: (-kv[1]["count"], int(kv[0])))
    if rcs:
        out += "\n\n" + table(["rc", "reason", "count", "share"], [
            [rc, "success" if rc == "0" else v["name"], count(v["count"]),
             percent(v["count"], m["attempted"])] for rc, v in rcs])
    facts = ["kmigrated batches (msuccess+mfailed restarting at 1): %s" % count(m["batches"])]
    b = m["batch_size"]
    if b:
        facts.append("  %.1f attempts per batch on average, largest %s" % (
            b["mean"], count(b["max"])))
    if m["sequence_breaks"]:
        facts.append("msuccess+mfailed sequence breaks (lost or duplicated events): %s"
                     % count(m["sequence_breaks"]))
    if "not_attempted" in m:
        facts.append("pages found but never attempted (queued, never attempted): %s"
                     % count(m["not_attempted"]))
    return out + "\n\n" + "\n".join(facts)


def _backlog(b: Optional[Doc], unit_ns: int, u: str) -> str:
    """The merged backlog's counts and drain wait (per-mm rows are not merged)."""
    if not b:
        return ""
    facts = ["pages queued %s, attempted %s, never attempted %s, queued at the end %s" % (
        count(b["pages_queued"]), count(b["pages_attempted"]), count(b["never_attempted"]),
        count(b["queued_at_end"]))]
    w = _spread_line("queue wait, scan start to drained: batches", b["drain_wait_ns"],
                     unit_ns, u)
    if w:
        facts.append(w)
    return "\n".join(facts)


def _cost(c: Optional[Doc]) -> str:
    """The merged CPU times and per-page figures (docs/report.md, "Cost")."""
    if not c:
        return ""

    def us(ns: Optional[int]) -> str:
        return "-" if ns is None else "{:,.0f}".format(ns / 1e3)
    per = c["cpu_us_per_promoted_page"]
    lines = ["CPU us: kscand's scans %s, kmigrated %s, kscand on CPU %s; promoted pages %s" % (
        us(c["kscand_scan_cpu_ns"]), us(c["kmigrated_cpu_ns"]), us(c["kscand_cpu_ns_switch"]),
        count(c["promoted_pages"])),
        "CPU us per promoted page: kscand's scans %s, kmigrated %s, both %s" % tuple(
            "-" if per[k] is None else "{:,.3f}".format(per[k])
            for k in ("kscand_scan", "kmigrated", "total"))]
    return "\n".join(lines + [textwrap.fill("- " + n, width=100, subsequent_indent="  ")
                              for n in c["notes"]])


def _oddities(doc: Doc) -> str:
    o = doc["oddities"]
    rows = [["ends before their start (time went backwards)", count(o["ends_before_start"])],
            ["threads that fired scan starts (most in one report)", count(o["scan_threads"])],
            ["kmigrated batches begun before a recording",
             count(o["batches_begun_before_recording"])]]
    for key, what in (("duplicate_samples", "samples recorded twice"),
                      ("bad_reasons", "unusable data"),
                      ("non_tracepoint_events", "non-tracepoint samples")):
        rows += [["%s: %s" % (what, k), count(v)] for k, v in sorted(o[key].items())]
    un = o["unknown_owner"]
    rows.append(["lifetimes with no known owner (scan ends, migrations)", "%s (%s, %s)" % (
        count(un["lifetimes"]), count(un["scan_ends"]), count(un["migrations"]))])
    return table(["oddity", "count"], rows)


def _selection(sel: Optional[Doc]) -> str:
    if not sel:
        return ""
    parts = []
    t = sel.get("time_ns")
    if t:
        parts.append("time %s to %s s" % ("-" if t[0] is None else _secs(t[0]),
                                          "the end" if t[1] is None else _secs(t[1])))
    for key in ("pids", "comms", "mms", "nodes"):
        if sel.get(key) is not None:
            parts.append("%s %s" % (key, ",".join(str(x) for x in sel[key])))
    return "the reports were filtered: %s; %s of %s events kept" % (
        "; ".join(parts) or "-", _num(sel.get("kept_events")), _num(sel.get("events_in")))


def text(doc: Doc, unit_ns: int = 1000) -> str:
    """The human form of a merged report; durations in ``unit_ns``; the histogram in ns
    (the JSON's log2 rows)."""
    u = UNIT_NAME.get(unit_ns, "ns")
    parts: List[str] = []
    sources = (doc.get("run") or {}).get("merged_from") or []
    t = doc["time_ns"]
    span = ("over %.3f s" % ((t["last"] - t["first"]) / 1e9)
            if t["first"] is not None and t["last"] is not None else "(no common clock)")
    parts.append("kscand merged report: %d reports, %s kscand events %s" % (
        len(sources), count(sum(doc["events"].values())), span))
    parts.append(section("Reports", _sources(doc)))
    parts.append(_selection(doc.get("selection")))
    parts.append(section("Events", _events(doc)))
    s = doc["scans"]
    parts.append(section("Scans", _scans(s, unit_ns, u)))
    log2 = doc["histograms"]["scan_duration_ns"]["log2"]
    hist = histogram([tuple(r) for r in log2["rows"]], "nsecs")  # type: ignore[misc]
    if hist:
        parts.append(section("Scan duration histogram (ns)", hist))
    parts.append(section("Scan adaptation", _adaptation(s)))
    parts.append(section("Processes (mm lifetimes; scan durations in %s)" % u,
                         _processes(doc, unit_ns)))
    parts.append(section("Migrations", _migrations(doc["migrations"], unit_ns, u)))
    if doc.get("mechanisms") is not None:
        parts.append(section("Promotions by mechanism",
                             mechanisms_text(from_json(doc["mechanisms"]))))
    parts.append(section("kmigrated's backlog", _backlog(doc.get("backlog"), unit_ns, u)))
    parts.append(section("Cost", _cost(doc.get("cost"))))
    parts.append(section("Oddities", _oddities(doc)))
    notes = doc["notes"]
    if notes:
        parts.append(section("Notes", "\n".join(
            textwrap.fill(n, TEXT_WIDTH, initial_indent="- ", subsequent_indent="  ",
                          break_on_hyphens=False, break_long_words=False) for n in notes)))
    return "\n\n".join(p for p in parts if p) + "\n"
