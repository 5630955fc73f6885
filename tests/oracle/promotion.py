"""Time to promotion by process (docs/report.md, "Time to promotion by process"), from
perf script text: the kept kscand migrate events with rc 0 of each process's lifetimes,
and the pages NUMA balancing moved in the process's own context, each page at its time
from the trace's first event; exact nearest-rank percentiles over the pages."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .mechanisms import MIGRATE, mechanism_of

if TYPE_CHECKING:
    from .core import Analysis, Options


def _rank(ordered: List[int], q: float) -> int:
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def promotion_time(an: "Analysis", opts: "Options", first_ns: Optional[int]
                   ) -> Optional[Dict[str, Any]]:
    origin = first_ns or 0
    times: Dict[int, List[int]] = {}
    kscand: Dict[int, int] = {}
    nb: Dict[int, int] = {}
    comm: Dict[int, str] = {}
    unknown = 0
    for life in an.lives.values():      # every lifetime: --mm does not apply
        ok = [m.sample.time for m in life.migrates if m.values["rc"] == 0]
        if not ok:
            continue
        pid, c = an.owner(life.key)
        if pid is None:
            unknown += len(ok)
            continue
        times.setdefault(pid, []).extend(t - origin for t in ok)
        kscand[pid] = kscand.get(pid, 0) + len(ok)
        comm.setdefault(pid, c or "?")
    nb_comm: Dict[int, str] = {}
    for s in an.rec.samples:
        if s.event != MIGRATE or not an._in_window(s.time):
            continue
        if mechanism_of(s.comm, s.field("reason") or "?") != "numa_balancing":
            continue
        n = int(s.fields().get("nr_succeeded", "0"), 0)
        nb_comm[s.pid] = s.comm
        if n:
            times.setdefault(s.pid, []).extend([s.time - origin] * n)
            nb[s.pid] = nb.get(s.pid, 0) + n
    if not times and not unknown:
        return None
    rows = []
    for pid, ts in times.items():
        name = comm.get(pid, nb_comm.get(pid, "?"))
        if opts.pids is not None and pid not in opts.pids:
            continue
        if opts.comm is not None and not re.search(opts.comm, name):
            continue
        ts = sorted(ts)
        rows.append({"pid": pid, "comm": name, "kscand_pages": kscand.get(pid, 0),
                     "numa_balancing_pages": nb.get(pid, 0), "p50_ns": _rank(ts, 0.5),
                     "p90_ns": _rank(ts, 0.9), "p99_ns": _rank(ts, 0.99), "last_ns": ts[-1]})
    rows.sort(key=lambda r: (-(r["kscand_pages"] + r["numa_balancing_pages"]), r["pid"]))
    return {"from_ns": first_ns, "processes": rows, "unknown_owner_kscand_pages": unknown}
