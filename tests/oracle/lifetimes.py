"""Classify every sample and find the mm lifetimes and their owners in the whole recording.

docs/report.md "How the report counts": lifetimes are keyed by (pointer, generation),
generation 0 where a pointer first appears, a new one at each later kmem_mm_enter of it;
the owner is the task that fired the lifetime's kmem_mm_exit, else (sched events) the
kmem_mm_enter paired with the next sched_process_fork (the child) or sched_process_exec
(the new program) of the same task. Filters never change who owns an mm ("Filters"), so
this runs on the whole recording, before any filter.
"""

from __future__ import annotations

import collections
from typing import Dict, List, NamedTuple, Optional, Tuple

from .script import Sample, to_int

KSCAND = ("kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start", "kmem_scan_mm_end",
          "kmem_scan_mm_migrate")
SCHED = ("sched_process_fork", "sched_process_exec", "sched_process_exit", "sched_switch")
# the kernel's migrate events (docs/report.md, "Promotions by mechanism"): other events
MIGRATE = ("mm_migrate_pages", "mm_migrate_pages_start")
U64 = 64

Key = Tuple[int, int]   # (mm pointer, generation)


class Record(NamedTuple):
    """A usable kscand or sched event."""
    index: int          # position among all samples
    sample: Sample
    name: str           # kmem_scan_mm_end, sched_process_fork, ...
    values: Dict[str, Optional[int]]
    key: Optional[Key]  # kscand events: the lifetime


class Owner(NamedTuple):
    pid: int
    comm: str


def decode(sample: Sample) -> Tuple[Optional[Dict[str, Optional[int]]], str]:
    """The event's integer fields, or (None, reason) for unusable data."""
    f = sample.fields()
    name = sample.short
    try:
        if name in KSCAND:
            out: Dict[str, Optional[int]] = {"mm": to_int(f.get("mm"), U64)}
            if name == "kmem_scan_mm_end":
                for k in ("start", "total", "scan_period", "scan_size"):
                    out[k] = to_int(f.get(k), U64)
                out["node"] = to_int(f.get("node"))
            elif name == "kmem_scan_mm_migrate":
                out["rc"] = to_int(f.get("rc"))
                out["node"] = to_int(f.get("node"))
                # RFC V1/V2 have no msuccess/mfailed: no batches (0, sizes null)
                if "msuccess" in f or "mfailed" in f:
                    out["msuccess"] = to_int(f.get("msuccess"))
                    out["mfailed"] = to_int(f.get("mfailed"))
                    if out["msuccess"] < 0 or out["mfailed"] < 0:  # type: ignore[operator]
                        return None, "negative msuccess or mfailed"
                else:
                    out["msuccess"] = out["mfailed"] = None
            return out, ""
        if name in MIGRATE:     # counted as other events; a call without a reason is bad
            if name == "mm_migrate_pages" and sample.field("reason") is None:
                raise ValueError("missing")
            return {}, ""
        if name == "sched_process_fork":
            return {"child_pid": to_int(sample.field("child_pid"))}, ""
        if name == "sched_process_exec":
            return {"pid": to_int(sample.field("pid"))}, ""
        if name == "sched_switch":     # docs/report.md "Cost": the comms name the threads
            if sample.field("prev_comm") is None or sample.field("next_comm") is None:
                raise ValueError("missing")
            return {"prev_pid": to_int(sample.field("prev_pid")),
                    "next_pid": to_int(sample.field("next_pid"))}, ""
        return {"pid": to_int(sample.field("pid"))}, ""
    except ValueError:
        return None, "missing or non-integer fields"


class Recording:
    """Every sample, classified; the lifetimes and owners of the whole recording."""

    def __init__(self, samples: List[Sample]) -> None:
        self.samples = samples
        self.non_tracepoint: Dict[str, int] = collections.Counter()
        self.unhandled: Dict[str, int] = collections.Counter()
        # duplicated samples and unusable data: (sample, reason; "" for a duplicate). The
        # filters come first (docs/report.md, "Duplicated samples": an event a filter drops
        # is counted as filtered, whatever else it is)
        self.rejects: List[Tuple[Sample, str]] = []
        self.records: List[Record] = []
        self.owners: Dict[Key, Owner] = {}
        self.enter_ns: Dict[Key, int] = {}
        self.exit_ns: Dict[Key, int] = {}
        self.kscand_in = 0
        self.first_seen: Dict[Key, int] = {}     # lifetime -> time of its first event
        self._classify()
        self._owners()

    def _classify(self) -> None:
        generation: Dict[int, int] = {}
        # (tracepoint, pointer) -> the last usable event of it: (time, task, fields)
        last: Dict[Tuple[str, int], Tuple[int, Optional[int], Dict[str, str]]] = {}
        for i, s in enumerate(self.samples):
            if not s.tracepoint:
                self.non_tracepoint[s.event] += 1
                continue
            system, name = s.event.split(":", 1)
            known = (system == "kmem" and name in KSCAND) or (
                system == "sched" and name in SCHED) or (system == "migrate" and name in MIGRATE)
            if not known:
                self.unhandled[s.event] += 1
                continue
            if system == "kmem":
                self.kscand_in += 1
            values, reason = decode(s)
            if values is None:
                self.rejects.append((s, reason))
                continue
            # perf 6.1's duplicated sample (docs/report.md, "Duplicated samples"): a kscand
            # event whose time and fields are those of the last usable event of its
            # tracepoint and mm, fired by the same task (any task for a migrate; the cpu is
            # not compared); RFC V1/V2 migrates (no msuccess/mfailed) and sched events never
            if system == "kmem" and values.get("msuccess", 0) is not None:
                ident = (s.time, None if name == "kmem_scan_mm_migrate" else s.tid,
                         s.fields())
                where = (name, values["mm"])
                if last.get(where) == ident:  # type: ignore[comparison-overlap]
                    self.rejects.append((s, ""))
                    continue
                last[where] = ident  # type: ignore[index]
            key: Optional[Key] = None
            if system == "kmem":
                mm = values["mm"]
                assert mm is not None
                if name == "kmem_mm_enter" and mm in generation:
                    generation[mm] += 1
                else:
                    generation.setdefault(mm, 0)
                key = (mm, generation[mm])
                self.first_seen.setdefault(key, s.time)
            self.records.append(Record(i, s, name, values, key))

    def _owners(self) -> None:
        pending: Dict[int, Key] = {}      # task -> lifetime it entered, awaiting fork/exec
        from_sched: Dict[Key, Owner] = {}
        for r in self.records:
            s = r.sample
            if r.name == "kmem_mm_enter":
                assert r.key is not None
                self.enter_ns.setdefault(r.key, s.time)
                # a second enter by one task before its fork/exec replaces the first
                pending[s.tid] = r.key
            elif r.name == "kmem_mm_exit":
                assert r.key is not None
                if r.key not in self.exit_ns:      # the first of duplicate exits
                    self.exit_ns[r.key] = s.time
                    self.owners[r.key] = Owner(s.tid, s.comm)
            elif r.name == "sched_process_fork" and s.tid in pending:
                child = r.values["child_pid"]
                assert child is not None
                from_sched.setdefault(pending.pop(s.tid),
                                      Owner(child, s.field("child_comm") or s.comm))
            elif r.name == "sched_process_exec" and s.tid in pending:
                pid = r.values["pid"]
                assert pid is not None
                # the new program's comm: the file's name, cut to 15 characters as the
                # kernel cuts a comm
                name = (s.field("filename") or "").rsplit("/", 1)[-1][:15]
                from_sched.setdefault(pending.pop(s.tid), Owner(pid, name))
        for key, owner in from_sched.items():
            self.owners.setdefault(key, owner)

    @property
    def first_ns(self) -> Optional[int]:
        return min((s.time for s in self.samples), default=None)

    @property
    def last_ns(self) -> Optional[int]:
        return max((s.time for s in self.samples), default=None)
