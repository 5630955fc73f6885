"""The "Promotions by mechanism" section as text, JSON and CSV (the model is
:class:`kscand_perf.mechanisms.Mechanisms`; docs/report.md states its rules)."""

from __future__ import annotations

import textwrap
from typing import Any, Dict, List, Optional, Sequence

from ..mechanisms import MECHANISMS, Figures, Mechanisms
from ..promotion_time import PromotionTime
from ..timeline import IntervalRow
from ..vmstat import KernelCounters
from .format import count, table

LABELS = {"kscand": "kscand (kmigrated)", "numa_balancing": "NUMA balancing",
          "damon": "DAMON", "demotion": "demotion", "other": "other reasons"}
TOP_PROCESSES = 10


def _rate(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


def figures_json(f: Figures) -> Dict[str, Any]:
    return {"calls": f.calls, "pages_succeeded": f.pages_succeeded,
            "pages_failed": f.pages_failed, "thp_succeeded": f.thp_succeeded,
            "thp_failed": f.thp_failed, "thp_split": f.thp_split,
            "pages_succeeded_per_second": _rate(f.pages_succeeded_per_second)}


def mechanisms_json(m: Optional[Mechanisms]) -> Optional[Dict[str, Any]]:
    """The report JSON's "mechanisms" object (null without mm_migrate_pages events)."""
    if m is None:
        return None
    c = m.cross_check
    return {
        "by_mechanism": {k: figures_json(m.by_mechanism[k]) for k in MECHANISMS},
        "other_by_reason": {k: figures_json(f) for k, f in m.other_by_reason.items()},
        "demotion_by_context": dict(m.demotion_by_context),
        "numa_balancing_by_process": [
            {"pid": r.pid, "comm": r.comm, "calls": r.calls,
             "pages_succeeded": r.pages_succeeded, "pages_failed": r.pages_failed}
            for r in m.numa_balancing_by_process],
        "starts": m.starts, "starts_without_end": m.starts_without_end,
        "cross_check": {"kmigrated_pages_succeeded": c.kmigrated_pages_succeeded,
                        "kscand_rc0_events": c.kscand_rc0_events, "equal": c.equal},
    }


CSV_HEADERS = ("group", "name", "pid", "calls", "pages_succeeded", "pages_failed",
               "thp_succeeded", "thp_failed", "thp_split", "pages_succeeded_per_second")


def _cells(group: str, name: str, f: Figures) -> List[Any]:
    rate = _rate(f.pages_succeeded_per_second)
    return [group, name, "", f.calls, f.pages_succeeded, f.pages_failed, f.thp_succeeded,
            f.thp_failed, f.thp_split, "" if rate is None else rate]


def csv_rows(m: Mechanisms) -> List[List[Any]]:
    """mechanisms.csv: a row per mechanism, per other reason ("reason"), per demotion
    context ("demotion_context": calls only) and per faulting task of NUMA balancing
    ("numa_balancing_process"); empty cells where a figure does not apply."""
    rows = [_cells("mechanism", k, m.by_mechanism[k]) for k in MECHANISMS]
    rows += [_cells("reason", k, f) for k, f in m.other_by_reason.items()]
    rows += [["demotion_context", k, "", n, "", "", "", "", "", ""]
             for k, n in m.demotion_by_context.items()]
    rows += [["numa_balancing_process", r.comm, r.pid, r.calls, r.pages_succeeded,
              r.pages_failed, "", "", "", ""] for r in m.numa_balancing_by_process]
    return rows


INTERVAL_COLUMNS = tuple("%s_pages_succeeded" % k for k in MECHANISMS)


def interval_cells(pages: Optional[Dict[str, int]]) -> List[Any]:
    """intervals.csv's extra cells (pages succeeded per mechanism) of one row."""
    return [(pages or {}).get(k, 0) for k in MECHANISMS]


def _rate_text(x: Optional[float]) -> str:
    return "-" if x is None else "{:,.1f}".format(x)


def _row(label: str, f: Figures) -> List[str]:
    return [label, count(f.calls), count(f.pages_succeeded), count(f.pages_failed),
            "%s/%s/%s" % (count(f.thp_succeeded), count(f.thp_failed), count(f.thp_split)),
            _rate_text(f.pages_succeeded_per_second)]


def mechanisms_text(m: Mechanisms, node_filter: bool = False,
                    selection: Sequence[str] = ()) -> str:
    """The section's body: the table of mechanisms, the other reasons, demotion by
    context, NUMA balancing's faulting tasks, the starts, the cross-check line."""
    headers = ["mechanism", "calls", "pages ok", "failed", "THP ok/failed/split", "pages/s"]
    rows = [_row(LABELS[k], m.by_mechanism[k]) for k in MECHANISMS]
    rows += [_row("other: " + name, f) for name, f in m.other_by_reason.items()]
    out = table(headers, rows)
    d = m.demotion_by_context
    if d["kswapd"] or d["direct"]:
        out += "\n\ndemotion calls: %s by kswapd, %s by direct reclaim" % (
            count(d["kswapd"]), count(d["direct"]))
    procs = sorted(m.numa_balancing_by_process,  # (the JSON lists them by pid)
                   key=lambda r: (-r.pages_succeeded, -r.calls, r.pid))
    if procs:
        shown = procs[:TOP_PROCESSES]
        out += "\n\n" + table(["pid", "comm", "NUMA balancing calls", "pages ok", "failed"],
                              [[str(r.pid), r.comm, count(r.calls), count(r.pages_succeeded),
                                count(r.pages_failed)] for r in shown])
        if len(procs) > len(shown):
            out += "\n(%s more faulting tasks: see the JSON)" % count(len(procs) - len(shown))
    elif selection:
        out += "\n\nno NUMA balancing promotion in the processes %s selects" % " ".join(
            selection)
    if selection:
        out += "\n" + textwrap.fill(
            "(the totals are the whole system's: %s selects the faulting processes listed)"
            % " ".join(selection), width=100, break_long_words=False)
    out += "\n\nmigrate_pages calls begun: %s" % count(m.starts)
    if m.starts_without_end:
        out += " (%s without an end)" % count(m.starts_without_end)
    c = m.cross_check
    out += ("\ncross-check: kmigrated's pages succeeded %s %s kscand's rc-0 migrate events %s"
            % (count(c.kmigrated_pages_succeeded), "=" if c.equal else "!=",
               count(c.kscand_rc0_events)))
    if node_filter:
        out += "\n(--node selects kscand's events, not the kernel's migrate events)"
    return out


def stock_counters_text(model: KernelCounters) -> str:
    """The stock NUMA and migration counters against the mechanisms (--vmstat)."""
    def num(v: Optional[int]) -> str:
        return "-" if v is None else count(v)
    out = "the kernel's NUMA and migration counters against Promotions by mechanism (pages):\n"
    out += table(["counter", "delta", "trace", "agrees", "includes"], [
        [c.name, num(c.delta), num(c.trace), "-" if c.agrees is None else
         "yes" if c.agrees else "NO", c.includes] for c in model.stock])
    if model.stock_note:
        out += "\n" + model.stock_note
    elif any(c.name == "pgpromote_success" and c.trace is None for c in model.stock):
        out += ("\npgpromote_success is compared when the recording saved numa_balancing "
                "(its knobs)")
    return out


def intervals_text(rows: Sequence[IntervalRow]) -> str:
    """Pages moved per second in each --interval row, by mechanism (time from the first
    row's start, as the interval table)."""
    if not rows:
        return "no intervals"
    origin = rows[0].start_ns
    body = []
    for r in rows:
        pages = r.mechanisms or {}
        body.append(["%.3f" % ((r.start_ns - origin) / 1e9)]
                    + [_rate_text(r.per_second(pages.get(k, 0))) for k in MECHANISMS])
    return table(["time (s)"] + ["%s/s" % LABELS[k].split(" (")[0] for k in MECHANISMS], body)


def promotion_time_text(p: PromotionTime, top: int) -> str:
    """Time to promotion by process: seconds from the trace's first event until 50/90/99%
    of each process's promoted pages (kscand's and NUMA balancing's) had moved."""
    def s(ns: Optional[int]) -> str:
        return "-" if ns is None else "%.3f" % (ns / 1e9)
    shown = p.processes[:top] if top else p.processes
    out = textwrap.fill(
        "seconds from the trace's first event (perf time %s) until this share of each "
        "process's promoted pages had moved:" % (
            "-" if p.from_ns is None else "%.6f s" % (p.from_ns / 1e9)),
        width=100, break_long_words=False) + "\n"
    if shown:
        out += table(["pid", "comm", "kscand", "NUMA balancing", "50%", "90%", "99%", "last"],
                     [[str(r.pid), r.comm, count(r.kscand_pages),
                       count(r.numa_balancing_pages), s(r.p50_ns), s(r.p90_ns), s(r.p99_ns),
                       s(r.last_ns)] for r in shown])
    else:
        out += "no promotion in the processes the selection keeps"
    notes = []
    if len(shown) < len(p.processes):
        notes.append("%s more processes: --top 0 or the JSON" % count(
            len(p.processes) - len(shown)))
    if p.unknown_owner_kscand_pages:
        notes.append("%s pages kscand promoted in mm lifetimes with no known owner are in no "
                     "row" % count(p.unknown_owner_kscand_pages))
    notes.append("kscand: its rc-0 migrate events; NUMA balancing: pages moved in the "
                 "process's own context; percentiles within 1%")
    out += "\n" + textwrap.fill("(" + "; ".join(notes) + ")", width=100,
                                subsequent_indent="  ", break_long_words=False)
    return out
