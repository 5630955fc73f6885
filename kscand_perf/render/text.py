"""The text report: the result model as a human reads it. No I/O, no arithmetic on events."""

from __future__ import annotations

import textwrap
from typing import Any, List, Optional, Tuple

from ..events import rc_name
from ..report import Durations, MmReport, Report, Scans, Values, log2_rows, mm_key
from ..vmstat import CounterCheck, KernelCounters
from .format import count, histogram, human_ns, in_unit, percent, section, size, table

# -- the text report -------------------------------------------------------------


def owner(m: MmReport) -> Tuple[str, str]:
    return ("-" if m.pid is None else str(m.pid)), (m.comm or "?")


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
        parts.append(section("Kernel counters", kernel_counters_text(report.kernel_counters)))
    if report.notes:
        parts.append(section("Notes", "\n".join("- " + n for n in report.notes)))
    return "\n\n".join(p for p in parts if p) + "\n"


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


# -- kernel counters -----------------------------------------------------------------

TEXT_WIDTH = 96  # cause lines are wrapped to this width in the text report


def _agrees_cell(c: CounterCheck) -> str:
    if c.missing:
        return "missing"
    if c.agrees is None:
        return "-"
    return "yes" if c.agrees else "NO"


def kernel_counters_text(model: KernelCounters) -> str:
    """The text report's "Kernel counters" section body."""
    def num(v: Optional[int]) -> str:
        return "-" if v is None else count(v)

    rows = [[c.name, num(c.delta), num(c.trace), c.trace_meaning or "", _agrees_cell(c)]
            for c in model.counters]
    out = table(["counter", "delta", "trace", "trace counts", "agrees"], rows)
    compared = [c for c in model.counters if c.agrees is not None]
    if model.all_agree is True:
        out += "\n\nall %d compared counters agree with the trace" % len(compared)
    elif model.all_agree is False:
        out += "\n\n%d of %d compared counters disagree with the trace" % (
            sum(1 for c in compared if not c.agrees), len(compared))
    if model.unattempted_pages:
        out += "\n" + textwrap.fill(
            "%s pages found by scans were never attempted (queued for kmigrated and freed "
            "when their mm exited, or still queued when the recording stopped)"
            % count(model.unattempted_pages), TEXT_WIDTH, break_on_hyphens=False)
    if model.causes:
        out += "\n" + ("" if model.all_agree is not None else "\n") + "\n".join(
            textwrap.fill(cause, TEXT_WIDTH, initial_indent="- ", subsequent_indent="  ",
                          break_on_hyphens=False, break_long_words=False)
            for cause in model.causes)
    return out
