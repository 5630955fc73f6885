"""The text report: the result model as a human reads it. No I/O, no arithmetic on events."""

from __future__ import annotations

import re
import shlex
import textwrap
from typing import Any, Dict, List, Optional, Tuple

from ..events import rc_name
from ..report import (Accounting, Durations, MmReport, OverTime, Report, Scans, Values,
                      log2_rows, mm_key, mm_report)
from ..timeline import IntervalRow
from ..vmstat import CounterCheck, KernelCounters
from .detail_text import detail_sections
from .format import count, histogram, human_ns, in_unit, percent, section, size, table
from .mechanisms import intervals_text as mechanism_intervals_text
from .mechanisms import mechanisms_text, promotion_time_text, stock_counters_text

# -- the text report -------------------------------------------------------------


def owner(m: MmReport) -> Tuple[str, str]:
    return ("-" if m.pid is None else str(m.pid)), (m.comm or "?")


UNIT_LABEL = {1: "nsecs", 1000: "usecs", 1000000: "msecs"}
UNIT_NAME = {1: "ns", 1000: "us", 1000000: "ms"}


def knobs_text(knobs: Dict[str, str]) -> str:
    """kscand's knobs as kscand-record saved them, the kernel release first."""
    rows = [[name, knobs[name]] for name in sorted(knobs, key=lambda n: (
        n != "kernel_release", n))]
    return table(["knob", "value"], rows) + (
        "\n(as kscand-record read them when the recording began)")


def text(report: Report, unit_ns: int = 1000, top: int = 20, per_mm: bool = False) -> str:
    """The human report."""
    u = UNIT_NAME[unit_ns]
    parts: List[str] = []
    parts.append(_headline(report))
    if report.run is not None and report.run.knobs:
        parts.append(section("Recorded with", knobs_text(report.run.knobs)))
    events = table(
        ["event", "count"],
        [[name, count(n)] for name, n in report.events.items()]
        + [[name, count(n)] for name, n in sorted(report.other_events.items())])
    if report.accounting is not None and report.accounting.not_analysed:
        events += "\n\n" + accounting_line(report.accounting)
    parts.append(section("Events", events))
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
        for m in report.top(top):
            h = histogram(log2_rows(m.scans.log2), UNIT_LABEL[unit_ns])
            if h:
                pid, comm = owner(m)
                parts.append(section("Scan durations of %s gen %d (pid %s, %s)" % (
                    mm_key(m.mm), m.generation, pid, comm), h))
    parts.append(section("Migrations", _migrations_text(report, unit_ns, top)))
    if report.mechanisms is not None:
        sel = report.selection
        parts.append(section("Promotions by mechanism", mechanisms_text(
            report.mechanisms, sel is not None and sel.nodes is not None,
            _process_args(sel.args if sel is not None else ()))))
        if report.over_time is not None and report.over_time.rows:
            parts.append(section("Pages moved per second, by mechanism and interval",
                                 mechanism_intervals_text(report.over_time.rows)))
    if report.promotion_time is not None:
        parts.append(section("Time to promotion by process",
                             promotion_time_text(report.promotion_time, top)))
    parts.extend(detail_sections(report.backlog, report.kscand_detail, report.over_time,
                                 unit_ns, top, report.cost))
    if report.over_time is not None:
        parts.append(section("Time to promotion", promotion_text(report.over_time, unit_ns,
                                                                 top)))
    if report.kernel_counters is not None:
        parts.append(section("Kernel counters", kernel_counters_text(report.kernel_counters)))
    if report.notes:
        parts.append(section("Notes", "\n".join(
            fill(n, initial_indent="- ", subsequent_indent="  ") for n in report.notes)))
    return "\n\n".join(p for p in parts if p) + "\n"


def _process_args(args: Tuple[str, ...]) -> Tuple[str, ...]:
    """--pid/--comm and their values among the filter options (as filter_args lists them)."""
    return tuple(v for i in range(0, len(args) - 1, 2) if args[i] in ("--pid", "--comm")
                 for v in args[i:i + 2])


def _headline(report: Report) -> str:
    """The first line: how many kscand events over what time; a filtered report says what
    its filters kept ("N of M kscand events kept by --pid 137") and gives the time on the
    next line, so that the line stays within 100 columns."""
    line = "kscand report: %s kscand events" % count(sum(report.events.values()))
    sel = report.selection
    if sel is not None:
        line = "kscand report: %s of %s kscand events kept by %s\n" % (
            count(sel.kept_events), count(sel.events_in),
            " ".join(shlex.quote(a) for a in sel.args))
    if report.first_ns is not None and report.last_ns is not None:
        line += "%sover %.3f s (perf time %.6f to %.6f s)" % (
            "" if sel is not None else " ", (report.last_ns - report.first_ns) / 1e9,
            report.first_ns / 1e9, report.last_ns / 1e9)
    line = line.rstrip("\n")
    first, last = report.trace_first_ns, report.trace_last_ns
    if first is not None and last is not None and (first, last) != (report.first_ns,
                                                                    report.last_ns):
        line += "\n(the trace runs from %.6f to %.6f s)" % (first / 1e9, last / 1e9)
    return line


ACCOUNTING_TERMS = (("analysed", "analysed"), ("other", "other handled"),
                    ("unhandled", "unhandled"), ("bad", "bad"), ("duplicates", "duplicates"),
                    ("filtered", "filtered out"), ("non_tracepoint", "non-tracepoint"))


def accounting_line(a: Accounting) -> str:
    """``events in: N = A analysed + ...``: where every event went (nonzero terms)."""
    terms = ["%s %s" % (count(getattr(a, key)), label) for key, label in ACCOUNTING_TERMS
             if getattr(a, key) or key == "analysed"]
    return "events in: %s = %s" % (count(a.events_in), " + ".join(terms))


def _scans_text(s: Scans, unit_ns: int, u: str) -> str:
    starts = s.starts
    rows = [
        ["scan ends", count(s.ends)],
        ["completed scans (start and end)", count(s.completed)],
        ["unpaired starts (not due, or end lost)", count(s.not_due)],
        ["starts in flight at the end", count(s.in_flight)],
        ["visits per completed scan",
         "-" if not s.completed else "{:,.1f}".format(starts / s.completed)],
        ["ends without a start", count(s.orphan_ends)],
        ["mm exited during its scan", count(s.exited_during_scan)],
        ["full address-space passes (wraps)", count(s.full_passes)],
        ["pages found (accessed, slow tier)", count(s.pages_found)],
    ]
    out = table(["scans", "count"], rows)
    d = s.durations
    if d is not None:
        out += "\n\n" + _durations_table(d, unit_ns, u)
    if s.pass_time_ns is not None:
        p = s.pass_time_ns
        out += "\n\ntime between two wraps of one mm (a full pass), %s:\n" \
               "  mean %s %s, min %s %s, max %s %s" % (
                   _plural(p.count, "interval", "intervals"), in_unit(p.mean, unit_ns), u,
                   in_unit(p.min, unit_ns), u, in_unit(p.max, unit_ns), u)
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
    nodes = table(["target node", "scan ends", "share"], [
        [str(node), count(n), percent(n, s.ends)] for node, n in sorted(s.target_nodes.items())])
    return out + "\n\n" + nodes


def _mms_text(report: Report, unit_ns: int, top: int) -> str:
    total = report.mm_count
    if not total:
        return "no mm seen"
    shown_rows = report.top(top)
    busy = len(report.busy_mms)
    if not shown_rows:
        return "no mm lifetime had a scan end or a migration (%d visited only; --top 0 " \
               "lists them)" % total
    rows = []
    for m in shown_rows:
        d = m.scans.durations
        pid, comm = owner(m)
        rows.append([
            mm_key(m.mm), m.generation, pid, comm, count(m.scans.completed),
            count(m.scans.not_due), in_unit(d.mean if d else None, unit_ns),
            in_unit(d.max if d else None, unit_ns)])
    out = table(["mm", "gen", "pid", "comm", "scans", "not-due", "mean", "max"], rows)
    shown = len(rows)
    if shown < total:
        more = []
        if busy > shown:
            more.append("%s more had a scan end or a migration (beyond --top %d)"
                        % (count(busy - shown), top))
        more.append("%s more had no scan end and no migration" % count(total - busy))
        out += "\n" + fill("(%s of %s mm lifetimes, by total scan time; %s; --top 0 shows "
                           "all)" % (count(shown), count(total), "; ".join(more)))
    if report.excluded_mms:
        out += "\n(%s mm lifetimes left out by the filters)" % count(report.excluded_mms)
    return out


def _mms_migrations_text(report: Report, top: int) -> str:
    """Pages found and promotions per mm lifetime (those with either), most attempts
    first: the Processes table's other half (one table would be too wide to read)."""
    rows = [m for m in (mm_report(st) for st in report.busy_mms)
            if m.migrations.attempted or m.scans.pages_found]
    if not rows:
        return ""
    rows.sort(key=lambda m: (-m.migrations.attempted, -m.scans.pages_found, m.first_ns))
    shown = rows[:top] if top else rows
    out = table(["mm", "gen", "pid", "comm", "pages", "attempted", "succeeded", "success"],
                [[mm_key(m.mm), m.generation] + list(owner(m)) + [
                    count(m.scans.pages_found), count(m.migrations.attempted),
                    count(m.migrations.succeeded),
                    percent(m.migrations.succeeded, m.migrations.attempted)]
                 for m in shown])
    if len(shown) < len(rows):
        out += "\n(%s of %s mm lifetimes, by attempts; --top 0 shows all)" % (
            count(len(shown)), count(len(rows)))
    return out


def _migrations_text(report: Report, unit_ns: int, top: int) -> str:
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
    if m.not_attempted:
        facts.append("pages found and queued, never attempted: %s"
                     % count(m.not_attempted))
    if facts:
        out += "\n\n" + "\n".join(facts)
    by_mm = _mms_migrations_text(report, top)
    if by_mm:
        out += "\n\nby process (mm lifetime):\n" + by_mm
    return out


# -- kernel counters -----------------------------------------------------------------

TEXT_WIDTH = 96  # cause lines are wrapped to this width in the text report
_NBSP = "\u00a0"


# spaces a line must not break at: perf's ``--`` and the option after it (``-- --pid``),
# an option and its number (``--top 2``), a number and its unit (``87.345878 s``)
_KEEP_TOGETHER = re.compile(r"((?:^|\s)--|(?:^|\s)--[a-z][a-z-]*(?= \d)|\d(?= (?:s|ms|us|ns)\b)) ")


def fill(text: str, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """``text`` wrapped to TEXT_WIDTH, never between perf's ``--`` and the option after
    it, an option and its number or a number and its unit, nor inside a word or at a
    hyphen."""
    protected = _KEEP_TOGETHER.sub(lambda m: m.group(1) + _NBSP, text)
    return textwrap.fill(protected, TEXT_WIDTH, initial_indent=initial_indent,
                         subsequent_indent=subsequent_indent, break_on_hyphens=False,
                         break_long_words=False).replace(_NBSP, " ")


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
        out += "\n" + fill(
            "%s pages found by scans were never attempted (queued for kmigrated and freed "
            "when their mm exited, or still queued when the recording stopped)"
            % count(model.unattempted_pages))
    if model.causes:
        out += "\n" + ("" if model.all_agree is not None else "\n") + "\n".join(
            fill(cause, initial_indent="- ", subsequent_indent="  ")
            for cause in model.causes)
    if model.stock:
        out += "\n\n" + stock_counters_text(model)
    return out


# -- over time (--interval) -----------------------------------------------------------
# The interval table is printed row by row as the intervals close (a live view through a
# pipe), so its columns have fixed widths instead of a table's fitted ones.

# At most 100 columns: the failures (tried - promoted), the share, the p99 and the
# cumulative count of each row are in --json and --csv (and the plots), not here.
INTERVAL_COLUMNS = (("time (s)", 10), ("scans", 7), ("not-due", 9), ("mean", 11),
                    ("max", 11), ("pages", 9), ("tried", 9), ("promoted", 10),
                    ("promoted/s", 12), ("top rc", 8))


def _interval_cells(cells: List[str]) -> str:
    return "".join(c.rjust(w) for c, (_, w) in zip(cells, INTERVAL_COLUMNS)).rstrip()


def interval_header(interval_ns: int, origin_ns: Optional[int], unit_ns: int) -> str:
    """The section title and column headers of the interval table."""
    u = UNIT_NAME[unit_ns]
    title = "Intervals (%s each%s; scan durations in %s)" % (
        human_ns(interval_ns), "" if origin_ns is None else
        ", from perf time %.6f s" % (origin_ns / 1e9), u)
    head = _interval_cells([name for name, _ in INTERVAL_COLUMNS])
    return "%s\n%s\n%s\n%s\n" % (title, "=" * len(title), head, "-" * len(head))


def interval_line(row: IntervalRow, origin_ns: int, interval_ns: int, unit_ns: int) -> str:
    """One row of the interval table (a run of empty intervals on one line)."""
    start = "%.3f" % ((row.start_ns - origin_ns) / 1e9)
    if row.length_ns > interval_ns:  # a long run of empty intervals, as one row
        return "%s  (%s empty intervals, to %.3f s)\n" % (
            start.rjust(INTERVAL_COLUMNS[0][1]), count(row.length_ns // interval_ns),
            (row.end_ns - origin_ns) / 1e9)
    top = row.top_failure()
    cells = [start, count(row.scans), count(row.not_due), in_unit(row.duration_mean, unit_ns),
             in_unit(row.duration_max, unit_ns), count(row.pages_found),
             count(row.attempted), count(row.succeeded),
             _rate(row.per_second(row.succeeded)),
             "-" if top is None else str(top[0])]
    return _interval_cells(cells) + "\n"


def _rate(x: Optional[float]) -> str:
    return "-" if x is None else "{:,.1f}".format(x)


def interval_footer(rows: int) -> str:
    """What ends the interval table (after its last row)."""
    if not rows:
        return "no events\n"
    note = ("(%s; a scan counts where it ended, a not-due visit where it started; pages: "
            "found by the scans; tried: promotion attempts; promoted/s: successful "
            "promotions per second; top rc: the most frequent failure; --json and --csv "
            "also give each row's failures, p99 and cumulative promotions)"
            % _plural(rows, "row", "rows"))
    return fill(note) + "\n"


def intervals_text(over: OverTime, unit_ns: int) -> str:
    """The whole interval section, as the rows printed one by one add up to."""
    rows = over.rows
    origin = rows[0].start_ns if rows else None
    out = [interval_header(over.interval_ns, origin, unit_ns)]
    out += [interval_line(r, rows[0].start_ns, over.interval_ns, unit_ns) for r in rows]
    out.append(interval_footer(len(rows)))
    return "".join(out)


def promotion_text(over: OverTime, unit_ns: int, top: int) -> str:
    """Time to promotion per mm lifetime (those with successful promotions). Each mm's
    start time is in --json (the table stays within 100 columns); successes ahead of it
    are named below the table where there are any."""
    found = []
    for m in over.mms:
        t = m.time_to_promotion
        if t is None:
            continue
        pct = [human_ns(v) if v is not None else "-"
               for v in (t.percentiles.get(p) for p in (50, 90, 99))]
        row = [mm_key(m.mm), m.generation, "-" if m.pid is None else str(m.pid),
               m.comm or "?", count(t.promoted)] + pct
        found.append((t.promoted, row, t.before))
    if not found:
        return "no mm lifetime had a successful promotion after a scan that found pages"
    found.sort(key=lambda f: -f[0])
    shown = found if not top else found[:top]
    out = table(["mm", "gen", "pid", "comm", "promoted", "50%", "90%", "99%"],
                [row for _, row, _ in shown])
    if len(shown) < len(found):
        out += "\n(%s of %s mm lifetimes; --top 0 shows all)" % (
            count(len(shown)), count(len(found)))
    before = ["%s gen %s %s" % (row[0], row[1], count(n)) for _, row, n in shown if n]
    return out + "\n" + fill(
        "(from the start of the mm's first scan that found pages (--json: from_ns) until "
        "that share of its later successful promotions was done, percentiles within 1%%%s)"
        % ("; successes ahead of that scan, not counted: " + ", ".join(before)
           if before else ""))
