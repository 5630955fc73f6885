"""The e2e scenarios: simulator runs turned into lines for the test module.

A scenario is a :class:`~kscand_testkit.synth.SynthConfig` (with ``sched=False``,
see below) plus a time scale. :func:`to_lines` turns its event stream into the
lines e2e-fire plays into /proc/kscand_e2e (see e2e/module/kscand_e2e.c and
e2e/guest/e2e-fire.c):

    cpus KS KM            kscand's and kmigrated's CPUs (the simulator's)
    as PID CPU COMM       the task that fires the following enter/exit lines
    sleep_us N            scaled-down time gap before the next event
    enter MM | exit MM | start MM
    end MM START TOTAL PERIOD SIZE NODE
    migrate MM RC NODE OK FAIL

Every kscand event is fired with the simulator's values, from the thread with
the simulator's role, on the simulator's CPU; enter/exit come from a task with
the simulator's pid and comm. Only the timestamps (and the kthreads' pids,
which the guest kernel assigns) differ; the truth is recomputed from the
recorded timestamps with ``Simulation.truth_with_times``.

Why ``sched=False``: the module cannot fire sched_process_fork/exec/exit, and
really forking and exec'ing in the guest would emit them with the guest's
filenames, timings and extra events (perf's own fork and exec of the
workload) that the simulator's truth does not have. kmem_mm_exit's pid and
comm (what the truth attributes mms by when there are no sched events) are
reproduced exactly instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from kscand_testkit.stream import Emitted
from kscand_testkit.synth import Simulation, SynthConfig, simulate

# CPUs of the guest: the simulator's cpus must fit.
GUEST_CPUS = 2
# Gaps shorter than this (after scaling) are carried over to the next event.
MIN_SLEEP_US = 50
# Longer gaps are cut to this: the timeline is kept short, its order unchanged.
MAX_SLEEP_US = 2000000


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One simulator run to replay in the guest.

    ``covers`` names the cases of :func:`coverage` the run must contain. The
    simulator keeps evolving, so a scenario does not pin a seed: :meth:`resolve`
    takes the first of ``seeds`` whose run covers them within ``events`` (min,
    max), and the resolved scenario (one seed) is what gets recorded and saved.
    """

    name: str
    config: Dict[str, Any]
    time_scale: float          # real seconds per simulated second
    covers: Tuple[str, ...] = ()
    seeds: Tuple[int, ...] = ()
    events: Tuple[int, int] = (1000, 8000)

    def synth_config(self) -> SynthConfig:
        return SynthConfig(**self.config)

    def simulation(self) -> Simulation:
        """A fresh Simulation of this scenario's config (iterate it once)."""
        return simulate(self.synth_config())

    def resolve(self) -> Tuple["Scenario", Simulation, List[Emitted], Dict[str, Any]]:
        """The scenario with its first suitable seed, its Simulation, events and truth."""
        tried = []
        for seed in self.seeds or (self.config["seed"],):
            resolved = dataclasses.replace(self, config=dict(self.config, seed=seed), seeds=())
            sim = resolved.simulation()
            events = list(sim)
            truth = sim.truth()
            cov = coverage(events, truth)
            missing = [c for c in self.covers if not cov[c]]
            if not missing and self.events[0] <= len(events) <= self.events[1]:
                return resolved, sim, events, truth
            tried.append("seed %d: %d events%s" % (seed, len(events), "".join(
                ", no " + c for c in missing)))
        raise ValueError("scenario %s: no seed covers %s:\n  %s"
                         % (self.name, ", ".join(self.covers), "\n  ".join(tried[:10])))

    def to_json(self) -> Dict[str, Any]:
        return {"name": self.name, "config": dict(self.config),
                "time_scale": self.time_scale, "covers": list(self.covers)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Scenario":
        return cls(data["name"], dict(data["config"]), float(data["time_scale"]),
                   tuple(data.get("covers", ())))


def _cfg(mms: int = 6, seconds: float = 10.0) -> Dict[str, Any]:
    """A small run on the guest's two CPUs, without sched events (see above)."""
    return {"mms": mms, "seconds": seconds, "seed": 1, "sched": False, "cpus": GUEST_CPUS}


# The test scenarios: together they cover every case the report must get right
# (checked by coverage() in the tests, so a simulator change cannot silently
# drop one).
ALL_CASES = ("not-due visits", "wraps", "pointer reuse", "exit during scan", "1024 reset",
             "every rc", "rc -11", "orphan end")
_SEEDS = tuple(range(1, 200))
SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("mixed", _cfg(), 0.05, ALL_CASES, _SEEDS),
    Scenario("busy", _cfg(mms=8), 0.05, ALL_CASES, tuple(range(100, 300))),
    # Many short-lived processes: exits, exits during scans and pointer reuse.
    Scenario("churn", dict(_cfg(), fork_rate=8.0, exit_during_scan_prob=0.3),
             0.05, ("not-due visits", "pointer reuse", "exit during scan", "orphan end"),
             _SEEDS),
)

# The bundled sample (samples/): a realistic run of a few thousand events,
# replayed at a fifth of simulated speed so that its times look like a machine's.
SAMPLE = Scenario("kscand-sample", _cfg(mms=8), 0.2,
                  ("not-due visits", "wraps", "pointer reuse", "orphan end", "rc -11"),
                  tuple(range(12, 200)), (3000, 5000))


# ----------------------------------------------------------------- conversion

_KSCAND = ("kmem_scan_mm_start", "kmem_scan_mm_end")
_KMIGRATED = ("kmem_scan_mm_migrate",)
_TASK = ("kmem_mm_enter", "kmem_mm_exit")
_LINE_WORD = {"kmem_mm_enter": "enter", "kmem_mm_exit": "exit",
              "kmem_scan_mm_start": "start", "kmem_scan_mm_end": "end",
              "kmem_scan_mm_migrate": "migrate"}


def thread_cpus(events: Sequence[Emitted]) -> Tuple[int, int]:
    """(kscand CPU, kmigrated CPU) of a stream; 0 and 1 when one never runs."""
    ks = km = None
    for e in events:
        if ks is None and e.event in _KSCAND:
            ks = e.cpu
        elif km is None and e.event in _KMIGRATED:
            km = e.cpu
        if ks is not None and km is not None:
            break
    ks = 0 if ks is None else ks
    km = (1 if ks == 0 else 0) if km is None else km
    return ks, km


def to_lines(events: Sequence[Emitted], time_scale: float, header: str = "") -> List[str]:
    """The e2e-fire lines (without newlines) that replay ``events`` in order.

    Raises ValueError for an event the module cannot fire as simulated: a sched
    event, a CPU the guest does not have, a kscand event from another CPU than
    the rest of its thread's, or a comm with a newline.
    """
    ks_cpu, km_cpu = thread_cpus(events)
    lines = []
    if header:
        lines += ["# " + h for h in header.splitlines()]
    lines.append("cpus %d %d" % (ks_cpu, km_cpu))
    t0 = events[0].time_ns if events else 0
    slept_ns = 0.0
    task: Optional[Tuple[int, int, str]] = None
    for i, e in enumerate(events):
        word = _LINE_WORD.get(e.event)
        if word is None:
            raise ValueError("event %d: %s cannot be fired by the module (use sched=False)"
                             % (i, e.event))
        if not 0 <= e.cpu < GUEST_CPUS:
            raise ValueError("event %d: cpu %d but the guest has %d" % (i, e.cpu, GUEST_CPUS))
        if e.event in _KSCAND and e.cpu != ks_cpu or e.event in _KMIGRATED and e.cpu != km_cpu:
            raise ValueError("event %d: %s on cpu %d, its thread runs on another"
                             % (i, e.event, e.cpu))
        target = (e.time_ns - t0) * time_scale
        gap_us = int((target - slept_ns) // 1000)
        if gap_us >= MIN_SLEEP_US:
            lines.append("sleep_us %d" % min(gap_us, MAX_SLEEP_US))
            slept_ns += gap_us * 1000
        if e.event in _TASK:
            if "\n" in e.comm or not e.comm:
                raise ValueError("event %d: comm %r cannot be set" % (i, e.comm))
            key = (e.pid, e.cpu, e.comm)
            if key != task:
                lines.append("as %d %d %s" % key)
                task = key
        lines.append(" ".join([word] + ["%d" % v if k else "0x%x" % v
                                        for k, v in enumerate(e.values)]))
    return lines


# ------------------------------------------------------------------- fired lines

@dataclasses.dataclass(frozen=True)
class Fired:
    """One event as a .lines file fires it: role is "task", "kscand" or "kmigrated"."""

    event: str
    values: Tuple[int, ...]
    role: str
    cpu: int
    pid: Optional[int]      # the task's pid for enter/exit; None for the kthreads
    comm: str


def parse_lines(lines: Iterable[str]) -> List[Fired]:
    """The events a .lines file fires, in order (the inverse of :func:`to_lines`)."""
    words = {v: k for k, v in _LINE_WORD.items()}
    out: List[Fired] = []
    ks_cpu = km_cpu = -1
    task: Optional[Tuple[int, int, str]] = None
    for raw in lines:
        line = raw.rstrip("\n")
        if not line or line.startswith("#") or line.startswith("sleep_us "):
            continue
        parts = line.split(" ")
        if parts[0] == "cpus":
            ks_cpu, km_cpu = int(parts[1]), int(parts[2])
            continue
        if parts[0] == "as":
            task = (int(parts[1]), int(parts[2]), line.split(" ", 3)[3])
            continue
        event = words[parts[0]]
        values = tuple(int(p, 0) for p in parts[1:])
        if event in _TASK:
            assert task is not None, "enter/exit before an 'as' line"
            out.append(Fired(event, values, "task", task[1], task[0], task[2]))
        elif event in _KSCAND:
            out.append(Fired(event, values, "kscand", ks_cpu, None, "kscand"))
        else:
            out.append(Fired(event, values, "kmigrated", km_cpu, None, "kmigrated"))
    return out


# ---------------------------------------------------------------------- coverage

def coverage(events: Sequence[Emitted], truth: Dict[str, Any]) -> Dict[str, bool]:
    """Which of the cases the e2e stage must exercise a scenario contains."""
    rcs = set()
    reset = False
    wraps = False
    for e in events:
        if e.event == "kmem_scan_mm_migrate":
            rcs.add(e.values[1])
            if e.values[3] + e.values[4] == 1024:
                reset = True
        elif e.event == "kmem_scan_mm_end" and e.values[1] == 0:
            wraps = True
    scans = truth["scans"]
    return {
        "not-due visits": scans["not_due"] > 0,
        "wraps": wraps,
        "pointer reuse": any(m["generation"] > 0 for m in truth["mms"]),
        "exit during scan": scans["exited_during_scan"] > 0,
        "1024 reset": reset,
        "every rc": rcs >= {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -11},
        "rc -11": -11 in rcs,
        "orphan end": scans["orphan_ends"] > 0,
    }


def dump_json(path: str, data: Any) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)
