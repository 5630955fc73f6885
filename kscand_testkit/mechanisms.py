"""A scenario of the kernel's own migrate events beside the simulator's kscand events, with
its ground truth (the report's "mechanisms" figures, computed here from what was emitted).

What a kernel with kscand emits (../shared/docs/promotion-mechanisms.md): every kscand
migrate event with rc 0 comes from one migrate_pages() call in kmigrated's context that
moved one folio (``mm_migrate_pages`` succeeded 1, reason numa_misplaced), one with rc -11
(-EAGAIN) from a call that failed one; the other kscand failures never reach
migrate_pages(). Each call begins with ``mm_migrate_pages_start``. Beside them this adds
NUMA balancing's promotions (reason numa_misplaced in the context of a live task: a hint
fault), demotions by kswapd and by direct reclaim (reason demotion), compaction calls and,
optionally, calls with a reason value the format does not name.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .formats import MIGRATE_PAGES, MIGRATE_PAGES_6_1, MIGRATE_PAGES_START, EventDef
from .stream import Emitted

NUMA_MISPLACED, DEMOTION, COMPACTION, DAMON = 5, 8, 0, 9
ASYNC, SYNC = 0, 2
KSWAPD_PID, KSWAPD_COMM = 97, "kswapd1"
MECHANISMS = ("kscand", "numa_balancing", "damon", "demotion", "other")


@dataclasses.dataclass(frozen=True)
class MechConfig:
    """What the scenario adds (rates per second of the simulated time)."""

    seed: int = 1
    numa_balancing_per_s: float = 150.0  # hint-fault promotions, one folio per call
    numa_failure_prob: float = 0.05
    demotions_per_s: float = 10.0  # calls of 1..32 pages
    direct_demotion_prob: float = 0.2  # of the demotions: in a task (direct reclaim)
    compactions_per_s: float = 3.0
    damon_per_s: float = 0.0  # (6.12 only)
    unknown_reason: Optional[int] = None  # a reason value the print fmt does not name
    unknown_per_s: float = 2.0
    kernel: str = "6.12"  # "6.1": no large_folio_split, no reason damon

    @property
    def events(self) -> Tuple[EventDef, ...]:
        """The event layouts to write with the simulator's."""
        return (MIGRATE_PAGES_6_1 if self.kernel == "6.1" else MIGRATE_PAGES,
                MIGRATE_PAGES_START)


def _pages_values(config: MechConfig, ok: int, bad: int, thp: Tuple[int, int, int], mode: int,
                  reason: int) -> Tuple[int, ...]:
    head = (ok, bad) + thp
    if config.kernel == "6.1":
        return head + (mode, reason)
    return head + (0, mode, reason)


class _Truth:
    def __init__(self) -> None:
        self.by: Dict[str, Dict[str, int]] = {m: _zero() for m in MECHANISMS}
        self.other: Dict[str, Dict[str, int]] = {}
        self.demotion = {"kswapd": 0, "direct": 0}
        self.procs: Dict[int, Dict[str, Any]] = {}
        self.starts = 0

    def add(self, mech: str, reason: str, ok: int, bad: int,
            thp: Tuple[int, int, int]) -> None:
        for d in [self.by[mech]] + ([self.other.setdefault(reason, _zero())]
                                    if mech == "other" else []):
            d["calls"] += 1
            d["pages_succeeded"] += ok
            d["pages_failed"] += bad
            d["thp_succeeded"] += thp[0]
            d["thp_failed"] += thp[1]
            d["thp_split"] += thp[2]


def _zero() -> Dict[str, int]:
    return {"calls": 0, "pages_succeeded": 0, "pages_failed": 0, "thp_succeeded": 0,
            "thp_failed": 0, "thp_split": 0}


def with_migrate_events(events: Iterable[Emitted], config: MechConfig = MechConfig()
                        ) -> Tuple[List[Emitted], Dict[str, Any]]:
    """The simulator's ``events`` with the migrate events added, in time order, and the
    truth of those (the report JSON's "mechanisms", rates left out, processes by pid)."""
    rng = random.Random(config.seed)
    base = list(events)
    truth = _Truth()
    if not base:
        return base, {}
    first, last = base[0].time_ns, base[-1].time_ns
    # the other mechanisms' calls: (time, kind) at random times over the recording
    planned: List[Tuple[int, str]] = []
    for kind, rate in (("numa", config.numa_balancing_per_s),
                       ("demotion", config.demotions_per_s),
                       ("compaction", config.compactions_per_s),
                       ("damon", config.damon_per_s if config.kernel != "6.1" else 0.0),
                       ("unknown", config.unknown_per_s
                        if config.unknown_reason is not None else 0.0)):
        n = int(rate * (last - first) / 1e9)
        planned += [(rng.randrange(first, last), kind) for _ in range(n)]
    planned.sort()
    out: List[Emitted] = []
    alive: Dict[int, Tuple[str, int]] = {}  # pid -> (comm, cpu): tasks with a live mm
    kscand_rc0 = 0
    i = 0

    def call(t: int, cpu: int, pid: int, comm: str, ok: int, bad: int, mode: int,
             reason: int, thp: Tuple[int, int, int] = (0, 0, 0)) -> None:
        out.append(Emitted(t - 2, cpu, pid, comm, "mm_migrate_pages_start", (mode, reason)))
        out.append(Emitted(t - 1, cpu, pid, comm, "mm_migrate_pages",
                           _pages_values(config, ok, bad, thp, mode, reason)))
        truth.starts += 1

    def planned_call(t: int, kind: str) -> None:
        if kind == "numa":
            if not alive:
                return
            pid = rng.choice(sorted(alive))
            comm, cpu = alive[pid]
            ok = 0 if rng.random() < config.numa_failure_prob else 1
            call(t, cpu, pid, comm, ok, 1 - ok, ASYNC, NUMA_MISPLACED)
            truth.add("numa_balancing", "numa_misplaced", ok, 1 - ok, (0, 0, 0))
            row = truth.procs.setdefault(pid, {"pid": pid, "comm": comm, "calls": 0,
                                               "pages_succeeded": 0, "pages_failed": 0})
            row["comm"] = comm
            row["calls"] += 1
            row["pages_succeeded"] += ok
            row["pages_failed"] += 1 - ok
        elif kind == "demotion":
            ok = rng.randrange(1, 33)
            bad = rng.randrange(0, 3)
            thp = (1, 0, 0) if ok >= 16 and rng.random() < 0.3 else (0, 0, 0)
            if alive and rng.random() < config.direct_demotion_prob:
                pid = rng.choice(sorted(alive))
                comm, cpu = alive[pid]
                truth.demotion["direct"] += 1
            else:
                pid, comm, cpu = KSWAPD_PID, KSWAPD_COMM, 0
                truth.demotion["kswapd"] += 1
            call(t, cpu, pid, comm, ok, bad, ASYNC, DEMOTION, thp)
            truth.add("demotion", "demotion", ok, bad, thp)
        else:
            reason = {"compaction": COMPACTION, "damon": DAMON}.get(
                kind, config.unknown_reason if config.unknown_reason is not None else 0)
            # a value the print fmt does not name: as perf script prints it (an int's 32 bits)
            name = {"compaction": "compaction", "damon": "damon"}.get(
                kind, "0x%x" % (reason & 0xFFFFFFFF))
            pid, comm, cpu = (KSWAPD_PID + 1, "kcompactd0", 0)
            ok, bad = rng.randrange(0, 64), rng.randrange(0, 4)
            call(t, cpu, pid, comm, ok, bad, SYNC, reason)
            truth.add("damon" if kind == "damon" else "other", name, ok, bad, (0, 0, 0))

    for e in base:
        while i < len(planned) and planned[i][0] < e.time_ns - 2:
            planned_call(*planned[i])
            i += 1
        if e.event == "kmem_scan_mm_migrate" and e.values[1] in (0, -11):
            ok = 1 if e.values[1] == 0 else 0
            kscand_rc0 += ok
            call(e.time_ns, e.cpu, e.pid, e.comm, ok, 1 - ok, ASYNC, NUMA_MISPLACED)
            truth.add("kscand", "numa_misplaced", ok, 1 - ok, (0, 0, 0))
        out.append(e)
        if e.event == "kmem_mm_enter":
            alive[e.pid] = (e.comm, e.cpu)
        elif e.event in ("kmem_mm_exit", "sched_process_exit"):
            alive.pop(e.pid, None)
        elif e.pid in alive:
            alive[e.pid] = (e.comm, alive[e.pid][1])  # (an exec renames the task)
    out.sort(key=lambda e: e.time_ns)  # (stable: the stream's own order on ties)
    procs = [truth.procs[pid] for pid in sorted(truth.procs)]
    kmigrated = truth.by["kscand"]["pages_succeeded"]
    return out, {
        "by_mechanism": truth.by,
        "other_by_reason": dict(sorted(truth.other.items())),
        "demotion_by_context": truth.demotion,
        "numa_balancing_by_process": procs,
        "starts": truth.starts, "starts_without_end": 0,
        "cross_check": {"kmigrated_pages_succeeded": kmigrated,
                        "kscand_rc0_events": kscand_rc0, "equal": kmigrated == kscand_rc0},
    }


__all__ = ["MechConfig", "with_migrate_events"]
