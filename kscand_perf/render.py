"""Renderers: functions from the result model to strings. No I/O, no arithmetic on events.

Tables use tabulate when it is importable and a plain aligned layout otherwise
(perf's tree has no tabulate), so the report reads the same either way.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from . import vmstat
from .events import rc_name
from .report import (Durations, MmReport, Report, Scans, Values, log2_rows, mm_key,
                     to_json)

try:  # optional: a plain table is drawn without it
    from tabulate import tabulate as _tabulate
except ImportError:  # pragma: no cover - depends on the machine
    _tabulate = None

Row = Sequence[Any]
BAR_WIDTH = 40


def table(headers: Sequence[str], rows: Iterable[Row], use_tabulate: bool = True) -> str:
    """An aligned text table: numbers right-aligned, text left-aligned."""
    rows = [list(r) for r in rows]
    if use_tabulate and _tabulate is not None:
        return _tabulate(rows, headers=list(headers), tablefmt="simple",
                         disable_numparse=True, stralign="left",
                         colalign=[_align(rows, i) for i in range(len(headers))])
    cells = [[str(h) for h in headers]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    aligns = [_align(rows, i) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if a == "right" else c.ljust(w)
                               for c, w, a in zip(r, widths, aligns)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(c: Any) -> str:
    return "" if c is None else str(c)


def _align(rows: List[List[Any]], i: int) -> str:
    values = [r[i] for r in rows if i < len(r) and r[i] not in (None, "", "-")]
    if values and all(_numeric(v) for v in values):
        return "right"
    return "left"


def _numeric(v: Any) -> bool:
    if isinstance(v, (int, float)):
        return True
    s = str(v).replace(",", "").replace("%", "").replace(".", "", 1).lstrip("-")
    return s.isdigit()


# -- formatting of values --------------------------------------------------------

def count(n: int) -> str:
    return "{:,}".format(n)


def in_unit(ns: Optional[float], unit_ns: int) -> str:
    """A duration in the report's unit: integers for ns, three decimals otherwise."""
    if ns is None:
        return "-"
    if unit_ns == 1:
        return "{:,}".format(int(round(ns)))
    return "{:,.3f}".format(ns / unit_ns)


def size(nbytes: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift and nbytes % (1 << (shift - 10 if shift > 10 else 0)) == 0:
            value = nbytes / (1 << shift)
            return ("%d %s" % (value, unit)) if value == int(value) else ("%.2f %s" % (value, unit))
    return "%d B" % nbytes


def percent(part: int, whole: int) -> str:
    return "-" if not whole else "%.1f%%" % (100.0 * part / whole)


def human_ns(ns: float) -> str:
    """A duration in free text, in the unit that suits it."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return "%.3f %s" % (ns / scale, unit)
    return "%d ns" % ns


def owner(m: MmReport) -> Tuple[str, str]:
    return ("-" if m.pid is None else str(m.pid)), (m.comm or "?")


def histogram(rows: Sequence[Tuple[int, int, int]], label: str) -> str:
    """A bcc-style histogram: ``low -> high : count |****|``, under 80 columns."""
    if not rows:
        return ""
    peak = max(c for _, _, c in rows) or 1
    width = max(len(str(high)) for _, high, _ in rows)
    width = max(width, 5)
    head = "%*s : count     distribution" % (2 * width + 4, label)
    lines = [head]
    for low, high, n in rows:
        stars = int(round(BAR_WIDTH * n / peak)) if n else 0
        if n and not stars:
            stars = 1
        lines.append("%*d -> %-*d : %-9d |%-*s|" % (width, low, width, high, n,
                                                     BAR_WIDTH, "*" * stars))
    return "\n".join(lines)


# -- the text report -------------------------------------------------------------

UNIT_LABEL = {1: "nsecs", 1000: "usecs", 1000000: "msecs"}
UNIT_NAME = {1: "ns", 1000: "us", 1000000: "ms"}


def text(report: Report, unit_ns: int = 1000, top: int = 20, per_mm: bool = False) -> str:
    """The human report."""
    u = UNIT_NAME[unit_ns]
    parts: List[str] = []
    span = (None if report.first_ns is None or report.last_ns is None
            else report.last_ns - report.first_ns)
    total_events = sum(report.events.values())
    parts.append("kscand report: %s kscand events over %s s" % (
        count(total_events), "-" if span is None else "%.3f" % (span / 1e9)))
    parts.append(section("Events", table(
        ["event", "count"],
        [[name, count(n)] for name, n in report.events.items()]
        + [[name, count(n)] for name, n in sorted(report.other_events.items())])))
    parts.append(section("Scans", _scans_text(report.scans, unit_ns, u)))
    hist = histogram(log2_rows(report.scans.log2), UNIT_LABEL[unit_ns])
    if hist:
        parts.append(section("Scan duration histogram (%s)" % u, hist))
    if report.scans.linear is not None:
        lin = report.scans.linear
        rows = [(lo // unit_ns, hi // unit_ns, n) for lo, hi, n in lin.rows()]
        body = histogram(rows, UNIT_LABEL[unit_ns])
        if lin.overflow:
            body += "\n%d scans above the last bucket" % lin.overflow
        parts.append(section("Scan duration, linear buckets (%s)" % u, body))
    parts.append(section("Scan adaptation", _adaptation_text(report.scans)))
    parts.append(section("Processes (mm lifetimes; scan durations in %s)" % u,
                         _mms_text(report, unit_ns, top)))
    if per_mm:
        for m in _top_mms(report, top):
            h = histogram(log2_rows(m.scans.log2), UNIT_LABEL[unit_ns])
            if h:
                pid, comm = owner(m)
                parts.append(section("Scan durations of %s gen %d (pid %s, %s)" % (
                    mm_key(m.mm), m.generation, pid, comm), h))
    parts.append(section("Migrations", _migrations_text(report, unit_ns)))
    if report.kernel_counters is not None:
        parts.append(section("Kernel counters", vmstat.text(report.kernel_counters)))
    if report.notes:
        parts.append(section("Notes", "\n".join("- " + n for n in report.notes)))
    return "\n\n".join(p for p in parts if p) + "\n"


def section(title: str, body: str) -> str:
    if not body:
        return ""
    return "%s\n%s\n%s" % (title, "=" * len(title), body)


def _scans_text(s: Scans, unit_ns: int, u: str) -> str:
    starts = s.starts
    rows = [
        ["scan ends", count(s.ends)],
        ["completed scans (start and end)", count(s.completed)],
        ["not-due visits (start, no end)", count(s.not_due)],
        ["visits per completed scan", "-" if not s.completed else "%.1f" % (starts / s.completed)],
        ["ends without a start", count(s.orphan_ends)],
        ["mm exited during its scan", count(s.exited_during_scan)],
        ["full address-space passes", count(s.full_passes)],
        ["pages found (accessed, slow tier)", count(s.pages_found)],
    ]
    out = table(["scans", "count"], rows)
    d = s.durations
    if d is not None:
        out += "\n\n" + _durations_table(d, unit_ns, u)
    if s.pass_time_ns is not None:
        p = s.pass_time_ns
        out += "\n\ntime per full pass (between two wraps of one mm), %s:\n" \
               "  mean %s, min %s, max %s" % (_plural(p.count, "pass", "passes"),
                                              human_ns(p.mean), human_ns(p.min), human_ns(p.max))
    return out


def _plural(n: int, one: str, many: str) -> str:
    return "%s %s" % (count(n), one if n == 1 else many)


def _durations_table(d: Durations, unit_ns: int, u: str) -> str:
    headers = ["duration (%s)" % u, "min", "mean"] + ["p%d" % p for p in d.percentiles] + [
        "max", "total"]
    row = ["all scans", in_unit(d.min, unit_ns), in_unit(d.mean, unit_ns)] + [
        in_unit(v, unit_ns) for v in d.percentiles.values()] + [
        in_unit(d.max, unit_ns), in_unit(d.total, unit_ns)]
    return table(headers, [row]) + (
        "\n(percentiles from log-linear buckets, within 1%; min, mean, max and total exact)")


def _values_row(name: str, v: Optional[Values], fmt: Any) -> List[str]:
    if v is None:
        return [name, "-", "-", "-", "-", "-"]
    return [name, fmt(v.first), fmt(v.last), fmt(v.min), fmt(v.max), count(v.changes)]


def _adaptation_text(s: Scans) -> str:
    if not s.ends:
        return "no scan ends"
    out = table(["", "first", "last", "min", "max", "changes"], [
        _values_row("scan period (ms)", s.scan_period_ms, count),
        _values_row("scan size", s.scan_size, size),
    ])
    nodes = table(["target node", "scans", "share"], [
        [str(node), count(n), percent(n, s.ends)] for node, n in sorted(s.target_nodes.items())])
    return out + "\n\n" + nodes


def _busy(m: MmReport) -> bool:
    """A lifetime kscand scanned or kmigrated worked on (not only visited)."""
    return bool(m.scans.ends or m.migrations.attempted)


def _top_mms(report: Report, top: int) -> List[MmReport]:
    """By total scan time, then ends, migrations and visits. With a --top limit, only
    lifetimes that had a scan end or a migration: the many short processes that kscand
    only visited would crowd out the rest."""
    ranked = sorted(report.mms, key=lambda m: (
        -(m.scans.durations.total if m.scans.durations else 0), -m.scans.ends,
        -m.migrations.attempted, -m.scans.not_due, m.first_ns))
    return ranked if top == 0 else [m for m in ranked if _busy(m)][:top]


def _mms_text(report: Report, unit_ns: int, top: int) -> str:
    if not report.mms:
        return "no mm seen"
    if not _top_mms(report, top):
        return "no mm lifetime had a scan end or a migration (%d visited only; --top 0 " \
               "lists them)" % len(report.mms)
    rows = []
    for m in _top_mms(report, top):
        d = m.scans.durations
        pid, comm = owner(m)
        rows.append([
            mm_key(m.mm), m.generation, pid, comm, count(m.scans.completed),
            count(m.scans.not_due), count(m.scans.pages_found),
            in_unit(d.mean if d else None, unit_ns), in_unit(d.max if d else None, unit_ns),
            count(m.migrations.attempted), percent(m.migrations.succeeded, m.migrations.attempted),
        ])
    out = table(["mm", "gen", "pid", "comm", "scans", "not-due", "pages", "mean", "max",
                 "migr", "ok"], rows)
    shown = len(rows)
    if shown < len(report.mms):
        idle = sum(1 for m in report.mms if not _busy(m))
        out += "\n(%d of %d mm lifetimes, by total scan time; %d more had no scan end and no " \
               "migration; --top 0 shows all)" % (shown, len(report.mms), idle)
    if report.excluded_mms:
        out += "\n(%d mm lifetimes left out by the filters)" % report.excluded_mms
    return out


def _migrations_text(report: Report, unit_ns: int) -> str:
    m = report.migrations
    if not m.attempted:
        return "no migration attempts"
    out = table(["", "attempted", "succeeded", "failed", "success"], [
        ["all", count(m.attempted), count(m.succeeded), count(m.failed),
         percent(m.succeeded, m.attempted)]] + [
        ["node %d" % node, count(c.attempted), count(c.succeeded), count(c.failed),
         percent(c.succeeded, c.attempted)] for node, c in sorted(m.by_node.items())])
    out += "\n\n" + table(["rc", "reason", "count", "share"], [
        [str(rc), rc_name(rc), count(n), percent(n, m.attempted)]
        for rc, n in sorted(m.by_rc.items(), key=lambda kv: (-kv[1], kv[0]))])
    facts = []
    if m.batches:
        b = m.batch_size
        facts.append("kmigrated batches (msuccess+mfailed restarting at 1): %s" % count(m.batches))
        if b is not None:
            facts.append("  %.1f attempts per batch on average, largest %s" % (
                b.mean, count(b.max)))
    if m.sequence_breaks:
        facts.append("msuccess+mfailed sequence breaks (lost or duplicated events): %s"
                     % count(m.sequence_breaks))
    if m.latency_ns is not None:
        lat = m.latency_ns
        facts.append("detection to first promotion attempt (from the start of the scan "
                     "that found pages):")
        facts.append("  %s, mean %s, min %s, max %s" % (
            _plural(lat.count, "scan", "scans"), human_ns(lat.mean), human_ns(lat.min),
            human_ns(lat.max)))
    if facts:
        out += "\n\n" + "\n".join(facts)
    return out


# -- JSON and CSV ----------------------------------------------------------------

def json_text(report: Report) -> str:
    return json.dumps(to_json(report), indent=2, sort_keys=False) + "\n"


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
        out["kernel_counters.csv"] = write(*vmstat.csv_rows(report.kernel_counters))
    if report.scans.linear is not None:
        out["scan_linear_histogram.csv"] = write(
            ["low_ns", "high_ns", "count"], report.scans.linear.rows())
    return out


def _values_cells(v: Optional[Values]) -> List[Any]:
    if v is None:
        return ["", "", "", "", ""]
    return [v.first, v.last, v.min, v.max, v.changes]
