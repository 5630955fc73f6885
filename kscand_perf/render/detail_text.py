"""The text sections "kmigrated's backlog" and "Per mm" (the report's ``backlog`` and
``kscand_detail``; docs/report.md states the rules). Strings only, within 100 columns."""

from __future__ import annotations

import textwrap
from typing import Dict, List, Optional

from ..cost import Cost
from ..detail import BacklogReport, DetailReport, Dist, QueueFigures
from ..events import rc_name
from ..report import OverTime, mm_key
from .format import count, in_unit, section, table

UNIT_NAME = {1: "ns", 1000: "us", 1000000: "ms"}


def _owner(pid: Optional[int], comm: Optional[str]) -> List[str]:
    return ["-" if pid is None else str(pid), comm or "?"]  # (a comm is at most 15 chars)


def _wrap(line: str) -> str:
    return textwrap.fill(line, width=100, subsequent_indent="  ", break_on_hyphens=False)


def _key(mm: int, generation: int) -> str:
    return mm_key(mm) + ("" if not generation else "/%d" % generation)


def _waits(f: QueueFigures, unit_ns: int) -> str:
    """The two queue waits as a small table in the report's unit."""
    rows = []
    for title, d in (("scan start to first attempt", f.first_wait),
                     ("scan start to drained", f.drain_wait)):
        if d is None:
            rows.append([title, "0", "-", "-", "-", "-"])
        else:
            rows.append([title, count(d.count)] + [
                in_unit(v, unit_ns) for v in (d.percentiles.get(50), d.percentiles.get(90),
                                              d.percentiles.get(99), d.max)])
    return table(["queue wait (%s)" % UNIT_NAME[unit_ns], "batches", "p50", "p90", "p99",
                  "max"], rows)


def _totals(f: QueueFigures, unit_ns: int) -> str:
    lines = [
        "pages queued by scan ends %s, attempted %s; never attempted (the mm's lifetime "
        "ended first) %s; still queued at the end %s" % (
            count(f.queued), count(f.attempted), count(f.never_attempted),
            count(f.queued_at_end)),
        "batches queued %s: drained %s (%s without a wait), merged %s, left %s; at most "
        "%s pages waiting" % (count(f.batches), count(f.drained), count(f.unmeasured),
                              count(f.merged), count(f.left), count(f.peak)),
    ]
    if f.unqueued:
        lines.append("attempts of pages queued where the report cannot see (before the "
                     "recording or outside the filters): %s" % count(f.unqueued))
    return "\n".join(_wrap(line) for line in lines) + "\n\n" + _waits(f, unit_ns)


def backlog_text(b: BacklogReport, over: Optional[OverTime], unit_ns: int, top: int) -> str:
    if not b.by_mm:
        return ""
    out = _totals(b.total, unit_ns)
    rows = sorted((m for m in b.by_mm if m.figures.queued or m.figures.attempted),
                  key=lambda m: (-m.figures.queued, -m.figures.attempted))
    shown = rows[:top] if top else rows
    out += "\n\n" + table(
        ["mm[/gen]", "pid", "comm", "queued", "tried", "left", "peak", "drain50", "drain90"],
        [[_key(m.mm, m.generation)] + _owner(m.pid, m.comm)
         + [count(m.figures.queued), count(m.figures.attempted),
            count(m.figures.never_attempted + m.figures.queued_at_end),
            count(m.figures.peak),
            _ms(_pct(m.figures.drain_wait, 50), "{:,.3f}"),
            _ms(_pct(m.figures.drain_wait, 90), "{:,.3f}")] for m in shown])
    out += "\n" + _wrap(
        "(left: queued and never attempted, or still queued at the end; peak: most pages "
        "waiting at a scan end; drain50/90: p50/p90 of the queue wait from scan start to the "
        "batch's last attempt, in ms%s)"
        % ("" if len(shown) == len(rows) else "; %s more in --json"
           % count(len(rows) - len(shown))))
    if over is not None and over.rows:
        origin = over.rows[0].start_ns
        lines = [["%.3f" % ((r.start_ns - origin) / 1e9), count(r.pages_found),
                  count(r.attempted), count(r.backlog_pages)]
                 for r in over.rows if r.pages_found or r.attempted or r.backlog_pages]
        if lines:
            out += "\n\n" + table(["from (s)", "queued", "tried", "waiting at end"], lines)
    return out


def _ms(ns: Optional[int], fmt: str = "{:,.0f}") -> str:
    return "-" if ns is None else fmt.format(ns / 1e6)


def _pct(d: Optional[Dist], p: int) -> Optional[int]:
    return None if d is None else d.percentiles.get(p)


def _failures(f: Dict[int, int], limit: int = 3) -> str:
    items = sorted(f.items(), key=lambda kv: (-kv[1], kv[0]))
    text = " ".join("%d:%s" % (rc, count(n)) for rc, n in items[:limit])
    if len(items) > limit:
        text += " +%d" % (len(items) - limit)
    return text or "-"


def detail_text(d: DetailReport, over: Optional[OverTime], top: int) -> str:
    if not d.by_mm:
        return ""
    rows = sorted(d.by_mm, key=lambda m: (-m.visits, -m.attempted))
    shown = rows[:top] if top else rows
    cells = []
    for m in shown:
        p = m.scan_period_ms
        gap = m.scan_gap
        cells.append([_key(m.mm, m.generation)] + _owner(m.pid, m.comm) + [
            "-" if p is None else count(p["last"]),
            _ms(_pct(gap, 50)), _ms(_pct(gap, 90)),
            "-" if m.visits_per_second is None else "{:,.1f}".format(m.visits_per_second),
            _failures(m.failures, 2)])
    out = table(["mm[/gen]", "pid", "comm", "period", "gap50", "gap90",
                 "visits/s", "failed rc:n"], cells)
    out += "\n" + _wrap(
        "(period: scan_period in ms reported by the last scan end (--json: first, min, max); "
        "gap50/90: p50/p90 of the ms "
        "between consecutive completed scans' starts; visits/s: completed and not-due starts per "
        "second of the lifetime; failed rc:n: the most frequent failures, +k more rcs%s)"
        % ("" if len(shown) == len(rows) else "; %s more in --json"
           % count(len(rows) - len(shown))))
    if over is not None:
        lines = [["%.3f" % ((r.start_ns - over.rows[0].start_ns) / 1e9),
                  count(r.failed), _failures(r.failed_rc, 8)]
                 for r in over.rows if r.failed_rc]
        if lines:
            out += "\n\n" + table(["from (s)", "failed", "every failure rc:n"], lines)
        names = sorted({rc for r in over.rows for rc in r.failed_rc}
                       | {rc for m in shown for rc in m.failures})
    else:
        names = sorted({rc for m in shown for rc in m.failures})
    if names:
        out += "\n\n" + _wrap("rc: " + ", ".join("%d %s" % (rc, rc_name(rc)) for rc in names))
    return out


def cost_text(c: Cost) -> str:
    def us(ns: Optional[int]) -> str:
        return "-" if ns is None else "{:,.0f}".format(ns / 1e3)

    def per(x: Optional[float]) -> str:
        return "-" if x is None else "{:,.3f}".format(x)
    pp = c.per_page_us
    rows = [["kscand, sum of scan durations", us(c.kscand_scan_cpu_ns), per(pp["kscand_scan"])],
            ["kmigrated, on CPU (sched_switch)" + (
                "" if not c.kmigrated_pids else ", pid " + ",".join(
                    str(p) for p in c.kmigrated_pids)),
             us(c.kmigrated_cpu_ns), per(pp["kmigrated"])],
            ["both", us(None if c.kmigrated_cpu_ns is None
                        else c.kscand_scan_cpu_ns + c.kmigrated_cpu_ns), per(pp["total"])],
            ["kscand, on CPU (sched_switch)", us(c.kscand_cpu_ns_switch), ""]]
    out = table(["CPU time", "us", "us per promoted page"], rows)
    out += "\n(promoted pages: %s)" % count(c.promoted_pages)
    if c.notes:
        out += "\n" + "\n".join(_wrap("- " + n) for n in c.notes)
    return out


def detail_sections(backlog: Optional[BacklogReport], detail: Optional[DetailReport],
                    over: Optional[OverTime], unit_ns: int, top: int,
                    cost: Optional[Cost] = None) -> List[str]:
    """The sections (empty strings when there is nothing to show)."""
    return [
        section("Cost", cost_text(cost) if cost is not None else ""),
        section("kmigrated's backlog", backlog_text(backlog, over, unit_ns, top)
                if backlog is not None else ""),
        section("Per mm", detail_text(detail, over, top) if detail is not None else ""),
    ]
