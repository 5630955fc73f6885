"""kmigrated's backlog and the per-mm detail (issue 20, items 4 and 5) against the
simulator's truth and against a naive oracle written from docs/report.md's rule ("kmigrated's
backlog": every queued page a list entry, attempts taken in order), which shares no code
with kscand_perf.backlog's counting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

import pytest

from kscand_perf.analysis import AnalyzerConfig
from kscand_perf.backlog import PENDING_LIMIT
from kscand_perf.render.machine import to_json
from kscand_perf.report import build
from kscand_perf.timeline import make_analyzer
from kscand_testkit.formats import ALL_EVENTS
from kscand_testkit.perfdata import PerfDataWriter
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
A = 0xFFFF888000001000


class _Life:
    def __init__(self) -> None:
        self.pages: List[int] = []  # batch index of every queued page, in order
        self.batches: List[Tuple[Optional[int], int]] = []  # (scan start, pages)
        self.tried: List[int] = []  # attempt times of the queued pages, in order
        self.ahead: List[int] = []  # attempt times beyond every queued page
        self.attempted = 0
        self.unqueued = 0
        self.ended = False
        self.starts: List[int] = []  # starts of completed scans
        self.visits = 0
        self.failures: Dict[int, int] = {}


def oracle(events: List[Emitted]) -> Dict[Tuple[int, int], _Life]:
    lives: Dict[Tuple[int, int], _Life] = {}
    gen: Dict[int, int] = {}
    pending: Optional[Tuple[int, int]] = None  # (mm, start time) of kscand's last start
    flying: Optional[Tuple[int, int]] = None  # its lifetime, until an end or a new lifetime

    def life(mm: int) -> _Life:
        key = (mm, gen.setdefault(mm, 0))
        return lives.setdefault(key, _Life())

    for e in events:
        if e.event == "kmem_mm_enter":
            mm = e.values[0]
            if flying is not None and flying[0] == mm:
                flying = None  # the start was a visit of the old lifetime
            if mm in gen:
                life(mm).ended = True
                gen[mm] += 1
            life(mm)
        elif e.event == "kmem_mm_exit":
            life(e.values[0]).ended = True
        elif e.event == "kmem_scan_mm_start":
            pending = (e.values[0], e.time_ns)
            life(e.values[0]).visits += 1
            flying = (e.values[0], gen.setdefault(e.values[0], 0))
        elif e.event == "kmem_scan_mm_end":
            mm, total = e.values[0], e.values[2]
            lf = life(mm)
            began = pending[1] if pending is not None and pending[0] == mm else None
            pending = flying = None
            if began is not None:
                lf.starts.append(began)
            if total <= 0:
                continue
            if lf.ahead and (began is None or lf.ahead[0] >= began):
                own, lf.ahead = lf.ahead[:total], lf.ahead[total:]
            else:
                own = []
            lf.unqueued += len(lf.ahead)
            lf.ahead = []
            lf.batches.append((began, total))
            lf.pages.extend([len(lf.batches) - 1] * total)
            lf.tried.extend(own)
        elif e.event == "kmem_scan_mm_migrate":
            mm, rc = e.values[0], e.values[1]
            lf = life(mm)
            lf.attempted += 1
            if rc != 0:
                lf.failures[rc] = lf.failures.get(rc, 0) + 1
            if len(lf.tried) < len(lf.pages):
                lf.tried.append(e.time_ns)
            else:
                lf.ahead.append(e.time_ns)
    if flying is not None and flying in lives:
        lives[flying].visits -= 1  # in flight when the recording ended: no visit
    return lives


def waits(lf: _Life) -> Tuple[List[int], List[int]]:
    """(first-attempt waits, drain waits) of a lifetime's batches."""
    first, drain = [], []
    at = 0
    for began, n in lf.batches:
        pages = lf.tried[at:at + n]
        at += n
        if began is None:
            continue
        if pages:
            first.append(pages[0] - began)
        if len(pages) == n:
            drain.append(pages[-1] - began)
    return first, drain


def spread(values: List[int]) -> Optional[Tuple[int, int, int, int]]:
    return (len(values), min(values), max(values), sum(values)) if values else None


def of(d: Optional[Dict[str, Any]]) -> Optional[Tuple[int, int, int, int]]:
    return None if d is None else (d["count"], d["min"], d["max"], d["total"])


def simulated(tmp_path: Any, seed: int, **kw: Any) -> Tuple[str, List[Emitted], Dict[str, Any]]:
    cfg = SynthConfig(seed=seed, **kw)
    sim = simulate(cfg)
    events = list(sim)
    path = str(tmp_path / ("s%d.data" % seed))
    with open(path, "wb") as f:
        w = PerfDataWriter(f, ALL_EVENTS, nr_cpus=cfg.cpus)
        w.extend(events)
        w.close()
    return path, events, sim.truth()


def report(path: str, *argv: str) -> Dict[str, Any]:
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", path, "--json"] + list(argv),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("seed,kw", [(3, {"mms": 8, "seconds": 20}),
                                     (8, {"mms": 12, "seconds": 15, "fork_rate": 8.0}),
                                     (21, {"mms": 3, "seconds": 8}),
                                     (5, {"mms": 16, "seconds": 40, "workloads": 8,
                                          "fork_rate": 6.0})])
def test_backlog_equals_the_truth_and_the_oracle(tmp_path: Any, seed: int,
                                                 kw: Dict[str, Any]) -> None:
    path, events, truth = simulated(tmp_path, seed, **kw)
    r = report(path)
    lives = oracle(events)
    truth_mm = {(m["mm"], m["generation"]): m for m in truth["mms"]}
    rows = {(m["mm"], m["generation"]): m for m in r["backlog"]["by_mm"]}
    assert rows, "the simulation queued nothing"
    firsts: List[int] = []
    drains: List[int] = []
    for (mm, g), lf in lives.items():
        key = ("0x%x" % mm, g)
        t = truth_mm[key]
        if key not in rows:
            assert t["scans"]["pages_found"] == 0 and t["migrations"]["attempted"] == 0
            continue
        row = rows[key]
        # the simulator's truth: pages found (queued) and promotion attempts per lifetime
        assert row["pages_queued"] == t["scans"]["pages_found"], key
        assert row["pages_attempted"] == t["migrations"]["attempted"], key
        # the oracle: pages left, unqueued attempts, waits
        left = len(lf.pages) - len(lf.tried)
        assert row["attempts_unqueued"] == lf.unqueued, key
        assert (row["never_attempted"], row["queued_at_end"]) == (
            (left, 0) if lf.ended else (0, left)), key
        f, d = waits(lf)
        assert of(row["first_attempt_wait_ns"]) == spread(f), key
        assert of(row["drain_wait_ns"]) == spread(d), key
        assert row["batches"]["queued"] == len(lf.batches)
        assert row["batches"]["merged"] == 0
        firsts += f
        drains += d
    b = r["backlog"]
    assert b["pages_queued"] == truth["scans"]["pages_found"]
    assert b["pages_attempted"] == truth["migrations"]["attempted"]
    assert of(b["first_attempt_wait_ns"]) == spread(firsts)
    assert of(b["drain_wait_ns"]) == spread(drains)
    if drains:  # percentiles within 1% of the exact nearest-rank value
        exact = sorted(drains)[max(1, -(-50 * len(drains) // 100)) - 1]
        assert abs(b["drain_wait_ns"]["p50"] - exact) <= 0.01 * exact


@pytest.mark.parametrize("seed", [3, 8])
def test_detail_equals_the_truth_and_the_oracle(tmp_path: Any, seed: int) -> None:
    path, events, truth = simulated(tmp_path, seed, mms=8, seconds=15)
    r = report(path)
    lives = oracle(events)
    truth_mm = {(m["mm"], m["generation"]): m for m in truth["mms"]}
    detail = r["kscand_detail"]["by_mm"]
    assert detail
    for row in detail:
        key = (row["mm"], row["generation"])
        t = truth_mm[key]
        want = {rc: v["count"] for rc, v in t["migrations"]["by_rc"].items() if rc != "0"}
        assert {rc: v["count"] for rc, v in row["failures"].items()} == want, key
        assert row["attempted"] == t["migrations"]["attempted"]
        period = t["scans"]["scan_period_ms"]
        if period is None:
            assert row["scan_period_ms"] is None
        else:
            assert row["scan_period_ms"] == {k: period[k] for k in ("first", "last", "min",
                                                                    "max")}
        lf = lives[(int(row["mm"], 16), row["generation"])]
        assert row["visits"] == lf.visits, key
        gaps = [b - a for a, b in zip(lf.starts, lf.starts[1:])]
        assert of(row["scan_gap_ns"]) == spread(gaps), key
        if row["span_ns"]:
            assert row["visits_per_second"] == round(row["visits"] * 1e9 / row["span_ns"], 3)


def feed(script: List[Tuple[Any, ...]], interval_ns: int = 1000) -> Dict[str, Any]:
    a = make_analyzer(AnalyzerConfig(), interval_ns)
    for kind, t, *rest in script:
        if kind == "start":
            a.scan_start(0, t, 50, rest[0])
        elif kind == "end":  # mm, total
            a.scan_end(t, 50, rest[0], 0x1000, rest[1], 2000, 1 << 30, 0)
        else:  # mig: mm, rc, n
            a.migrate(0, t, 51, rest[0], rest[1], 0, rest[2], 0)
    return to_json(build(a))


def test_interval_rows_carry_the_backlog_and_every_failure() -> None:
    r = feed([("start", 0, A), ("end", 100, A, 5), ("mig", 200, A, 0, 1),
              ("mig", 300, A, 10, 2),  # 3 pages wait at 1000
              ("mig", 1500, A, 3, 3), ("mig", 1600, A, 10, 4),  # 1 waits at 2000
              ("mig", 2500, A, -11, 5)])
    rows = r["over_time"]["intervals"]
    assert [x["backlog_pages"] for x in rows] == [3, 1, 0]
    assert rows[1]["failed_by_rc"] == {
        "3": {"name": "KSCAND_INVALID_FOLIO", "count": 1},
        "10": {"name": "KSCAND_NOT_HOT_PAGE", "count": 1}}
    assert [x["pages_found"] for x in rows] == [5, 0, 0]


def test_waiting_batches_are_bounded() -> None:
    script: List[Tuple[Any, ...]] = []
    for i in range(PENDING_LIMIT + 36):
        script += [("start", i * 100, A), ("end", i * 100 + 10, A, 1)]
    b = feed(script, 10 ** 9)["backlog"]
    assert b["batches"] == {"queued": PENDING_LIMIT + 36, "drained": 0, "unmeasured": 0,
                            "merged": 36, "left": PENDING_LIMIT}
    assert (b["queued_at_end"], b["peak_pages"]) == (PENDING_LIMIT + 36, PENDING_LIMIT + 36)


def test_text_sections_show_the_json_figures() -> None:
    sample = os.path.join(ROOT, "samples", "kscand-sample.data")
    js = report(sample, "--interval", "1")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", sample, "--interval", "1"], stdout=subprocess.PIPE,
                          timeout=600)
    text = proc.stdout.decode()
    body = text.split("\nkmigrated's backlog\n===================\n")[1].split("\nPer mm\n")[0]
    b = js["backlog"]
    assert "pages queued by scan ends {:,}, attempted {:,}".format(
        b["pages_queued"], b["pages_attempted"]) in body
    assert "never attempted (the mm's lifetime ended first) {:,}".format(
        b["never_attempted"]) in body.replace("\n  ", " ")
    rows = {r["start_ns"]: r for r in js["over_time"]["intervals"]}
    first = min(rows)
    for line in body.split("from (s)")[1].splitlines()[2:]:
        if not line.strip():
            break
        t, queued, tried, waiting = line.split()
        r = [x for s, x in rows.items() if "%.3f" % ((s - first) / 1e9) == t][0]
        assert [queued, tried, waiting] == ["{:,}".format(r[k]) for k in (
            "pages_found", "attempted", "backlog_pages")]
    detail = text.split("\nPer mm\n======\n")[1]
    for m in js["kscand_detail"]["by_mm"]:
        assert m["mm"] in detail
    assert max(len(line) for line in text.splitlines()) <= 100


def test_dead_lifetimes_hold_no_queue() -> None:
    """Memory: a lifetime's waiting batches go when its pointer goes to the next mm."""
    a = make_analyzer(AnalyzerConfig(), 10 ** 9)
    for i in range(50):
        t = i * 1000
        a.mm_enter(t, 100 + i, "bash", A)
        a.scan_start(0, t + 10, 50, A)
        a.scan_end(t + 20, 50, A, 0x1000, 7, 2000, 1 << 30, 0)
        a.mm_exit(t + 30, 100 + i, "x", A)
    states = a.finish()
    assert not a.waiting
    assert all(st.bq is not None and not st.bq.pending for st in states)
    b = to_json(build(a))["backlog"]
    assert (b["never_attempted"], b["queued_at_end"], b["batches"]["left"]) == (350, 0, 50)
