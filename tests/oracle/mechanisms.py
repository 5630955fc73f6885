"""Promotions by mechanism and kmigrated's on-CPU time, counted from perf script text.

Written from issue 20 and the helpers' contract (the rule below), not from the product: it
reads the samples of ``perf script --ns`` (script.py) and nothing else.

Rule (the mechanism of one ``migrate:mm_migrate_pages`` call):

- reason ``numa_misplaced`` in the context of a task named ``kmigrated`` -> ``kscand``;
- reason ``numa_misplaced`` in any other task -> ``numa_balancing`` (the hint fault's task);
- reason ``damon`` -> ``damon``;
- reason ``demotion`` -> ``demotion`` (``kswapd`` when the task's name starts with kswapd,
  else direct reclaim);
- anything else -> ``other``, kept per reason name (a reason perf could not name is its number).

Per mechanism: calls, pages succeeded and failed (the event's nr_succeeded and nr_failed),
THP succeeded, failed and split. Fields are read by name; a field the kernel does not have
(6.1 has no nr_split) is 0. The rate per second is not counted here (it depends on the
report's covered time, checked elsewhere).

Cross-check: the pages kmigrated's calls moved equal the kmem_scan_mm_migrate events with
rc 0 (every page kscand promotes is one folio, one migrate_pages() call in kmigrated).

kmigrated's on-CPU time, from ``sched:sched_switch`` (recorded filtered to kscand's two
threads): a stretch starts when a task named kmigrated is switched in (next_comm) and ends
when the same pid is switched out (prev_comm); the sum of complete stretches. A switch-out
without a switch-in before it (running when the recording began) and a switch-in never
followed by a switch-out (running at the end) are counted apart and add nothing.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .script import Sample

MIGRATE = "migrate:mm_migrate_pages"
MIGRATE_START = "migrate:mm_migrate_pages_start"
SWITCH = "sched:sched_switch"
SCAN_MIGRATE = "kmem:kmem_scan_mm_migrate"
MECHANISMS = ("kscand", "numa_balancing", "damon", "demotion", "other")
KMIGRATED = "kmigrated"

SWITCH_TEXT = re.compile(r"^prev_comm=(?P<prev_comm>.*) prev_pid=(?P<prev_pid>-?\d+) "
                         r"prev_prio=-?\d+ prev_state=\S+ ==> next_comm=(?P<next_comm>.*) "
                         r"next_pid=(?P<next_pid>-?\d+) next_prio=-?\d+$")
# (the figure, the event's field in perf's text)
PAGE_FIELDS = (("pages_succeeded", "nr_succeeded"), ("pages_failed", "nr_failed"),
               ("thp_succeeded", "nr_thp_succeeded"), ("thp_failed", "nr_thp_failed"),
               ("thp_split", "nr_thp_split"))


def mechanism_of(comm: str, reason: str) -> str:
    if reason == "numa_misplaced":
        return "kscand" if comm == KMIGRATED else "numa_balancing"
    if reason in ("damon", "demotion"):
        return reason
    return "other"


def _figures() -> Dict[str, int]:
    out = {"calls": 0}
    out.update((name, 0) for name, _ in PAGE_FIELDS)
    return out


def _add(into: Dict[str, int], values: Dict[str, int]) -> None:
    into["calls"] += 1
    for name, _ in PAGE_FIELDS:
        into[name] += values[name]


def _values(sample: Sample) -> Dict[str, int]:
    fields = sample.fields()
    return {name: int(fields.get(field, "0"), 0) for name, field in PAGE_FIELDS}


def mechanisms(samples: Iterable[Sample]) -> Optional[Dict[str, Any]]:
    """The figures of every mechanism; None when there is no mm_migrate_pages at all."""
    seen = False
    by_mech = {m: _figures() for m in MECHANISMS}
    by_reason: Dict[str, Dict[str, int]] = {}
    demotion = {"kswapd": 0, "direct": 0}
    processes: Dict[int, Dict[str, Any]] = {}
    starts = without_end = rc0 = 0
    pending: Dict[int, bool] = {}       # tid -> a start not yet followed by its end
    for s in samples:
        if s.event == SCAN_MIGRATE:
            rc = s.field("rc")
            rc0 += rc is not None and int(rc, 0) == 0
        elif s.event == MIGRATE_START:
            starts += 1
            if pending.get(s.tid):
                without_end += 1
            pending[s.tid] = True
        elif s.event == MIGRATE:
            seen = True
            pending[s.tid] = False
            reason = s.field("reason") or "?"
            mech = mechanism_of(s.comm, reason)
            values = _values(s)
            _add(by_mech[mech], values)
            if mech == "other":
                _add(by_reason.setdefault(reason, _figures()), values)
            elif mech == "demotion":
                demotion["kswapd" if s.comm.startswith("kswapd") else "direct"] += 1
            elif mech == "numa_balancing":
                proc = processes.setdefault(s.pid, {"pid": s.pid, "comm": s.comm, "calls": 0,
                                                    "pages_succeeded": 0, "pages_failed": 0})
                proc["comm"] = s.comm
                proc["calls"] += 1
                proc["pages_succeeded"] += values["pages_succeeded"]
                proc["pages_failed"] += values["pages_failed"]
    if not seen:
        return None
    without_end += sum(1 for open_ in pending.values() if open_)
    moved = by_mech["kscand"]["pages_succeeded"]
    return {
        "by_mechanism": by_mech,
        "other_by_reason": by_reason,
        "demotion_by_context": demotion,
        "numa_balancing_by_process": sorted(processes.values(), key=lambda p: p["pid"]),
        "starts": starts, "starts_without_end": without_end,
        "cross_check": {"kmigrated_pages_succeeded": moved, "kscand_rc0_events": rc0,
                        "equal": moved == rc0},
    }


def switch_fields(sample: Sample) -> Optional[Tuple[str, int, str, int]]:
    """(prev_comm, prev_pid, next_comm, next_pid) of a sched_switch sample, or None."""
    m = SWITCH_TEXT.match(sample.text)
    if m is None:
        return None
    return (m.group("prev_comm"), int(m.group("prev_pid")), m.group("next_comm"),
            int(m.group("next_pid")))


def on_cpu(samples: Iterable[Sample], comm: str = KMIGRATED) -> Dict[str, Any]:
    """The on-CPU time of the tasks named ``comm``, from sched_switch samples."""
    running: Dict[int, int] = {}      # pid -> when it was switched in
    pids: List[int] = []
    total = stretches = out_first = switches = 0
    for s in samples:
        if s.event != SWITCH:
            continue
        got = switch_fields(s)
        if got is None:
            continue
        switches += 1
        prev_comm, prev_pid, next_comm, next_pid = got
        if prev_comm == comm:
            if prev_pid not in pids:
                pids.append(prev_pid)
            since = running.pop(prev_pid, None)
            if since is None:
                out_first += 1
            else:
                total += s.time - since
                stretches += 1
        if next_comm == comm:
            if next_pid not in pids:
                pids.append(next_pid)
            running[next_pid] = s.time
    return {"pids": sorted(pids), "cpu_ns": total, "stretches": stretches,
            "out_without_in": out_first, "running_at_end": len(running),
            "switches": switches}


def in_report(an: Any, opts: Any, first_ns: Optional[int], last_ns: Optional[int]
              ) -> Optional[Dict[str, Any]]:
    """The report's ``mechanisms`` member under the options (docs/report.md, "Promotions by
    mechanism", Filters): ``an`` is the oracle's Analysis (its --time window and its kept
    kscand events), ``first_ns``/``last_ns`` the recording's trace_time_ns.

    --time keeps the migrate events in its window; --node and --mm do not select them;
    --pid/--comm select the processes listed for NUMA balancing (pid in the list, the
    comm's regex found in the process's last name). The cross-check's rc-0 events are the
    kscand migrate events --time and --node keep, of every process. Rates: pages per second
    of the time the trace covers, clipped to --time's window; null when that is none."""
    kept = [s for s in an.rec.samples if s.event in (MIGRATE, MIGRATE_START)
            and an._in_window(s.time)]
    out = mechanisms(kept)
    if out is None:
        return None
    rc0 = sum(1 for r in an.kept if r.name == "kmem_scan_mm_migrate" and r.values["rc"] == 0)
    out["cross_check"]["kscand_rc0_events"] = rc0
    out["cross_check"]["equal"] = out["cross_check"]["kmigrated_pages_succeeded"] == rc0
    rows = out["numa_balancing_by_process"]
    if opts.pids is not None:
        rows = [p for p in rows if p["pid"] in opts.pids]
    if opts.comm is not None:
        rows = [p for p in rows if re.search(opts.comm, p["comm"])]
    out["numa_balancing_by_process"] = rows
    lo, hi = an.window if an.window else (None, None)
    if first_ns is not None and lo is not None:
        first_ns = max(first_ns, lo)
    if last_ns is not None and hi is not None:
        last_ns = min(last_ns, hi)
    span = last_ns - first_ns if first_ns is not None and last_ns is not None else 0
    for figures in list(out["by_mechanism"].values()) + list(out["other_by_reason"].values()):
        figures["pages_succeeded_per_second"] = (
            round(figures["pages_succeeded"] * 1e9 / span, 3) if span > 0 else None)
    return out


def per_interval(an: Any, origin: int) -> Callable[[int, int], Dict[str, int]]:
    """Pages succeeded per mechanism by the calls --time keeps in an interval row
    [start, end); rows begin at ``origin`` (calls before it are in no row)."""
    calls = sorted((s.time, mechanism_of(s.comm, s.field("reason") or "?"),
                    _values(s)["pages_succeeded"]) for s in an.rec.samples
                   if s.event == MIGRATE and an._in_window(s.time) and s.time >= origin)
    times = [c[0] for c in calls]

    def pages(start: int, end: int) -> Dict[str, int]:
        out = {m: 0 for m in MECHANISMS}
        for _, mech, n in calls[bisect.bisect_left(times, start):
                                bisect.bisect_left(times, end)]:
            out[mech] += n
        return out
    return pages


__all__ = ["in_report", "mechanisms", "mechanism_of", "on_cpu", "per_interval",
           "switch_fields", "MECHANISMS"]
