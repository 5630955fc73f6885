"""Table-driven tests of the analysis core, with hand-computed expectations.

Each case is a short event script (times in ns) and the numbers a person
computes from the pairing rules in docs (kscand-tracepoints.md), written out
by hand below: never output of the code under test.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from kscand_perf.analysis import Analyzer, AnalyzerConfig, s32
from kscand_perf.filtered import make_analyzer
from kscand_perf.histogram import LogLinearHistogram, bucket_bounds, bucket_key
from kscand_perf.render import to_json
from kscand_perf.report import Selection, build, log2_rows

KSCAND = 50  # pid of the kscand thread
KMIG = 51  # pid of kmigrated
A, B, P = 0xFFFF888000001000, 0xFFFF888000002000, 0xFFFF888000003000
Q, A2 = 0xFFFF888000004000, 0xFFFF888000005000
GIB = 1 << 30


def feed(script: Sequence[Tuple[Any, ...]], config: AnalyzerConfig = AnalyzerConfig(),
         selection: Selection = Selection()) -> Dict[str, Any]:
    """Run a script of ("kind", t, ...) tuples through an Analyzer; return the JSON report."""
    a = make_analyzer(config)
    for ev in script:
        kind, t, rest = ev[0], ev[1], ev[2:]
        if kind == "start":
            a.scan_start(0, t, KSCAND, rest[0])  # perf gives (seconds, nanoseconds)
        elif kind == "end":  # mm, start, total, period, size, node
            a.scan_end(t, KSCAND, *rest)
        elif kind == "mig":  # mm, rc, node, ok, fail
            a.migrate(0, t, KMIG, *rest)
        elif kind == "enter":  # mm, pid, comm
            a.mm_enter(t, rest[1], rest[2], rest[0])
        elif kind == "exit":  # mm, pid, comm
            a.mm_exit(t, rest[1], rest[2], rest[0])
        elif kind == "fork":  # parent pid, child pid, child comm
            a.sched_fork(t, *rest)
        elif kind == "exec":  # pid, filename
            a.sched_exec(t, rest[0], rest[1], rest[0])
        else:
            raise ValueError(kind)
    return to_json(build(a, selection))


def mm_of(report: Dict[str, Any], mm: int, gen: int = 0) -> Dict[str, Any]:
    for m in report["mms"]:
        if m["mm"] == "0x%x" % mm and m["generation"] == gen:
            return m
    raise AssertionError("no mm 0x%x gen %d in %s" % (
        mm, gen, [(m["mm"], m["generation"]) for m in report["mms"]]))


def end(t: int, mm: int, start: int = 0x1000, total: int = 0, period: int = 2000,
        size: int = GIB, node: int = 0) -> Tuple[Any, ...]:
    return ("end", t, mm, start, total, period, size, node)


# -- scan pairing -------------------------------------------------------------------

PAIRING_CASES = [
    # (name, script, completed, (not_due, in_flight), orphan_ends, durations)
    ("start then end", [("start", 100, A), end(400, A)], 1, (0, 0), 0, [300]),
    ("not-due visit then a scan of another mm",
     [("start", 0, A), ("start", 10, B), end(30, B)], 1, (1, 0), 0, [20]),
    ("a start at the end of the trace is in flight, not a not-due visit (issue 23)",
     [("start", 0, A), end(5, A), ("start", 9, A)], 1, (0, 1), 0, [5]),
    ("an end whose start came before the recording",
     [end(7, A), ("start", 10, A), ("start", 20, B)], 0, (1, 1), 1, []),
    ("an end of another mm does not pair with a start (which may still pair)",
     [("start", 0, A), end(4, B)], 0, (0, 1), 1, []),
    ("two cycles of two mms, one due in each",
     [("start", 0, A), ("start", 1, B), end(11, B), ("start", 100, A), end(160, A),
      ("start", 161, B)], 2, (1, 1), 0, [10, 60]),
    ("a second end for the same start is an orphan",
     [("start", 0, A), end(3, A), end(8, A)], 1, (0, 0), 1, [3]),
]


@pytest.mark.parametrize("name,script,completed,not_due,orphans,durations", PAIRING_CASES,
                         ids=[c[0] for c in PAIRING_CASES])
def test_scan_pairing(name: str, script: List[Tuple[Any, ...]], completed: int,
                      not_due: Tuple[int, int], orphans: int, durations: List[int]) -> None:
    r = feed(script)
    s = r["scans"]
    assert (s["completed"], (s["not_due"], s["in_flight"]), s["orphan_ends"]) == (
        completed, not_due, orphans)
    starts = sum(1 for e in script if e[0] == "start")
    ends = sum(1 for e in script if e[0] == "end")
    assert r["events"]["kmem_scan_mm_start"] == starts
    assert r["events"]["kmem_scan_mm_end"] == ends
    if durations:
        d = s["duration_ns"]
        assert (d["count"], d["min"], d["max"], d["total"]) == (
            len(durations), min(durations), max(durations), sum(durations))
    else:
        assert s["duration_ns"] is None


def test_scan_end_from_another_thread_is_an_orphan() -> None:
    a = Analyzer()
    a.scan_start(0, 0, KSCAND, A)
    a.scan_end(10, KSCAND + 7, A, 0, 0, 2000, GIB, 0)
    r = to_json(build(a))
    s = r["scans"]
    assert (s["completed"], s["orphan_ends"], s["in_flight"]) == (0, 1, 1)
    assert any("another thread" in n for n in r["notes"])


def test_exit_during_scan_keeps_the_scan_and_its_owner() -> None:
    r = feed([("start", 0, A), ("exit", 5, A, 1234, "cc1"), end(9, A, total=4),
              ("mig", 12, A, 0, 0, 1, 0)])
    m = mm_of(r, A)
    assert m["scans"]["completed"] == 1
    assert m["scans"]["exited_during_scan"] == 1
    assert m["scans"]["duration_ns"]["total"] == 9
    assert (m["pid"], m["comm"]) == (1234, "cc1")
    assert m["migrations"]["attempted"] == 1  # in flight after the exit: same lifetime
    assert len(r["mms"]) == 1


# -- mm lifetimes ----------------------------------------------------------------------

def test_pointer_reuse_makes_generations() -> None:
    r = feed([
        ("start", 0, P), end(10, P, total=2),  # P existed before the trace: gen 0
        ("exit", 20, P, 300, "make"),
        ("mig", 21, P, 3, 0, 0, 1),  # in flight after the exit: still gen 0
        ("enter", 30, P, 301, "bash"),  # the pointer comes back: gen 1
        ("start", 40, P), end(45, P),
        ("exit", 50, P, 302, "ls"),
        ("enter", 60, P, 303, "bash"),  # gen 2
        ("exit", 70, P, 303, "bash"),
    ])
    assert [(m["mm"], m["generation"]) for m in r["mms"]] == [("0x%x" % P, g) for g in (0, 1, 2)]
    g0, g1, g2 = (mm_of(r, P, g) for g in range(3))
    assert (g0["pid"], g0["comm"], g0["scans"]["completed"]) == (300, "make", 1)
    assert g0["migrations"]["by_rc"] == {"3": {"name": "KSCAND_INVALID_FOLIO", "count": 1}}
    assert (g1["pid"], g1["comm"], g1["scans"]["completed"]) == (302, "ls", 1)
    assert g1["scans"]["duration_ns"]["total"] == 5
    assert (g2["pid"], g2["comm"], g2["scans"]["completed"]) == (303, "bash", 0)
    assert r["events"]["kmem_mm_enter"] == 2 and r["events"]["kmem_mm_exit"] == 3


def test_first_appearance_by_enter_is_generation_zero() -> None:
    r = feed([("enter", 0, A, 10, "bash"), ("start", 5, A), end(6, A)])
    assert [(m["mm"], m["generation"]) for m in r["mms"]] == [("0x%x" % A, 0)]


def test_owner_from_fork_and_exec() -> None:
    r = feed([
        ("enter", 0, A, 10, "bash"), ("fork", 1, 10, 11, "bash"),  # A is the child's
        ("enter", 5, B, 11, "bash"),  # exec in the child: new mm B ...
        ("exit", 6, A, 11, "bash"),  # ... old mm A dropped by the exec'ing task
        ("exec", 7, 11, "/usr/bin/a-very-long-program-name"),
        ("enter", 8, P, 10, "bash"),  # a fork that failed: no sched event follows
    ])
    a, b, p = mm_of(r, A), mm_of(r, B), mm_of(r, P)
    assert (a["pid"], a["comm"]) == (11, "bash")  # from its exit
    assert (b["pid"], b["comm"]) == (11, "a-very-long-pro")  # comm keeps 15 chars
    assert (p["pid"], p["comm"]) == (None, None)


def test_an_exit_named_pid_by_newer_perf_keeps_the_name_last_seen() -> None:
    """perf 6.12 and later name a task ':PID' once they have read its EXIT record, which
    a real recording holds before the task's kmem_mm_exit; perf 6.1 still gives its comm."""
    r = feed([
        ("enter", 0, A, 10, "bash"), ("fork", 1, 10, 11, "bash"),   # child 11 runs as bash
        ("enter", 5, B, 11, "bash"), ("exit", 6, A, 11, "bash"),    # 11 execs ...
        ("exec", 7, 11, "/usr/bin/cut"),                            # ... cut
        ("exit", 9, B, 11, ":11"),                                  # cut exits
        ("enter", 10, P, 10, "bash"), ("fork", 11, 10, 12, "bash"),
        ("exit", 12, P, 12, ":12"),                                 # a child that never exec'd
        ("exit", 13, Q, 13, ":13"),                                 # nothing known of 13
        ("exit", 14, A2, 11, ":11"),                                # 11's name was used up
    ])
    assert (mm_of(r, B)["pid"], mm_of(r, B)["comm"]) == (11, "cut")
    assert (mm_of(r, P)["pid"], mm_of(r, P)["comm"]) == (12, "bash")
    assert mm_of(r, Q)["comm"] == ":13"
    assert mm_of(r, A2)["comm"] == ":11"


def test_duplicate_exit_is_counted_not_applied() -> None:
    r = feed([("exit", 0, A, 5, "sh"), ("exit", 1, A, 6, "other")])
    m = mm_of(r, A)
    assert (m["pid"], m["comm"]) == (5, "sh")
    assert any("duplicate kmem_mm_exit" in n for n in r["notes"])


# -- scan facts ----------------------------------------------------------------------------

def test_full_passes_pages_and_pass_time() -> None:
    r = feed([
        ("start", 0, A), end(10, A, start=0x7000, total=3),
        ("start", 1000, A), end(1010, A, start=0, total=5),  # wrap 1
        ("start", 3000, A), end(3020, A, start=0, total=0),  # wrap 2, 2010 after wrap 1
        ("start", 8000, A), end(8030, A, start=0, total=1),  # wrap 3, 5010 after wrap 2
    ])
    s = r["scans"]
    assert s["full_passes"] == 3
    assert s["pages_found"] == 9
    assert s["pass_time_ns"] == {"count": 2, "min": 2010, "mean": 3510.0, "max": 5010,
                                 "total": 7020}


def test_scan_period_and_size_adaptation() -> None:
    periods = [2000, 2000, 2300, 2300, 1955]
    sizes = [GIB, GIB // 2, GIB // 2, GIB // 2, GIB // 4]
    script: List[Tuple[Any, ...]] = []
    for i, (period, size) in enumerate(zip(periods, sizes)):
        script += [("start", i * 100, A), end(i * 100 + 1, A, period=period, size=size,
                                              node=i % 2)]
    script += [("start", 1000, B), end(1001, B, period=9000, size=2 * GIB, node=1)]
    r = feed(script)
    a = mm_of(r, A)["scans"]
    assert a["scan_period_ms"] == {"first": 2000, "last": 1955, "min": 1955, "max": 2300,
                                   "changes": 2}
    assert a["scan_size_bytes"] == {"first": GIB, "last": GIB // 4, "min": GIB // 4, "max": GIB,
                                    "changes": 2}
    assert a["ends_by_target_node"] == {"0": 3, "1": 2}
    s = r["scans"]
    # overall: first of the first end, last of the last end, changes summed over mms
    assert s["scan_period_ms"] == {"first": 2000, "last": 9000, "min": 1955, "max": 9000,
                                   "changes": 2}
    assert s["ends_by_target_node"] == {"0": 3, "1": 3}


# -- migrations -------------------------------------------------------------------------------

def test_migrations_by_node_and_rc_keep_signs_apart() -> None:
    r = feed([
        ("mig", 1, A, 0, 0, 1, 0), ("mig", 2, A, -11, 0, 1, 1), ("mig", 3, A, 11, 0, 1, 2),
        ("mig", 4, A, 10, 1, 1, 3), ("mig", 5, A, 0, 1, 2, 3), ("mig", 6, A, 42, 1, 2, 4),
    ])
    m = r["migrations"]
    assert (m["attempted"], m["succeeded"], m["failed"]) == (6, 2, 4)
    assert m["by_node"] == {"0": {"attempted": 3, "succeeded": 1, "failed": 2},
                            "1": {"attempted": 3, "succeeded": 1, "failed": 2}}
    assert m["by_rc"] == {
        "-11": {"name": "EAGAIN", "count": 1}, "0": {"name": "success", "count": 2},
        "10": {"name": "KSCAND_NOT_HOT_PAGE", "count": 1},
        "11": {"name": "KSCAND_LRU_ISOLATION_ERR", "count": 1},
        "42": {"name": "42", "count": 1}}
    assert m["batches"] == 1 and m["sequence_breaks"] == 0


def test_batches_resets_and_breaks() -> None:
    seq = [(1, 0), (1, 1), (2, 1),  # a batch of 3
           (0, 1),  # restart: batch of 1
           (1, 1), (2, 1),  # continues to 3
           (2, 3),  # jumps from 3 to 5: a lost event
           (2, 3)]  # repeats 5: a duplicated event
    r = feed([("mig", i, A, 0, 0, ok, fail) for i, (ok, fail) in enumerate(seq)])
    m = r["migrations"]
    assert m["batches"] == 2
    assert m["sequence_breaks"] == 2
    assert m["batch_size"] == {"count": 2, "min": 3, "mean": 4.0, "max": 5, "total": 8}
    assert any("lost or duplicated" in n for n in r["notes"])


def test_v2_migrate_events_have_no_batches() -> None:
    r = feed([("mig", 1, A, 0, 0), ("mig", 2, A, 6, 0)])
    m = r["migrations"]
    assert (m["attempted"], m["succeeded"], m["failed"], m["batches"]) == (2, 1, 1, 0)
    assert any("V1/V2" in n for n in r["notes"])


def test_queue_wait_replaces_detection_latency() -> None:
    """Issue 20 item 4: batches drain in order (docs/report.md, "kmigrated's backlog")."""
    r = feed([
        ("start", 0, A), ("mig", 50, A, 0, 0, 1, 0), end(100, A, total=5),  # first at 50
        ("mig", 120, A, 0, 0, 2, 0),
        # a second batch queued behind the first (2 of its 5 pages tried)
        ("start", 1000, A), end(1100, A, total=3), ("mig", 1500, A, 0, 0, 1, 0),
        ("mig", 1600, A, 0, 0, 2, 0), ("mig", 1700, A, 0, 0, 3, 0),  # first batch drained
        ("mig", 1800, A, 0, 0, 4, 0),  # second batch's first page: 800 after its start
        ("mig", 1900, A, 0, 0, 5, 0), ("mig", 1950, A, 0, 0, 6, 0),  # drained: 950
        ("start", 2000, A), end(2100, A, total=0),
        ("mig", 2200, A, 0, 0, 7, 0),  # beyond every queued page, before the next scan
        ("start", 3000, A), end(3100, A, total=2), ("mig", 3500, A, 0, 0, 1, 0),  # first: 500
        ("start", 4000, B), end(4010, B, total=1),  # never attempted
    ])
    b = r["backlog"]
    assert (b["pages_queued"], b["pages_attempted"], b["attempts_unqueued"]) == (11, 10, 1)
    assert (b["never_attempted"], b["queued_at_end"], b["peak_pages"]) == (0, 2, 6)
    assert b["batches"] == {"queued": 4, "drained": 2, "unmeasured": 0, "merged": 0, "left": 2}
    w = b["first_attempt_wait_ns"]
    assert (w["count"], w["min"], w["max"], w["total"]) == (3, 50, 800, 1350)
    w = b["drain_wait_ns"]
    assert (w["count"], w["min"], w["max"], w["total"]) == (2, 950, 1700, 2650)
    assert "latency_ns" not in r["migrations"]
    assert r["migrations"]["not_attempted"] == 1  # the older, per-lifetime figure stays
    gaps = [m["scan_gap_ns"] for m in r["kscand_detail"]["by_mm"] if m["mm"] == "0x%x" % A][0]
    assert (gaps["count"], gaps["min"], gaps["max"]) == (3, 1000, 1000)


def test_queue_wait_counts_a_backlog_as_a_wait() -> None:
    """Issue 19: a scan that starts while kmigrated still works through an earlier scan's
    queue waits behind it: its wait runs from its own start to its own pages."""
    r = feed([("start", 0, A), end(100, A, total=3), ("mig", 150, A, 0, 0, 1, 0),
              ("start", 200, A), ("mig", 211, A, 0, 0, 2, 0), end(300, A, total=1),
              ("mig", 400, A, 0, 0, 3, 0), ("mig", 500, A, 0, 0, 4, 0)])
    b = r["backlog"]
    assert (b["first_attempt_wait_ns"]["min"], b["first_attempt_wait_ns"]["max"]) == (150, 300)
    assert (b["drain_wait_ns"]["min"], b["drain_wait_ns"]["max"]) == (300, 400)
    assert (b["pages_queued"], b["pages_attempted"], b["queued_at_end"]) == (4, 4, 0)
    assert r["migrations"]["not_attempted"] == 0


def test_batch_drained_during_its_own_scan() -> None:
    r = feed([("start", 0, A), ("mig", 10, A, 0, 0, 1, 0), ("mig", 20, A, 0, 0, 2, 0),
              end(30, A, total=2)])
    b = r["backlog"]
    assert b["first_attempt_wait_ns"]["total"] == 10
    assert b["drain_wait_ns"]["total"] == 20
    assert b["batches"]["drained"] == 1


# -- filters -----------------------------------------------------------------------------------

def test_node_filter_keeps_matching_scans_and_migrations() -> None:
    r = feed([("start", 0, A), end(10, A, node=0), ("start", 20, A), end(25, A, node=1),
              ("mig", 30, A, 0, 0, 1, 0), ("mig", 31, A, 0, 1, 2, 0)],
             AnalyzerConfig(node=1))
    s = r["scans"]
    # the node-0 scan is left out entirely (its start is neither completed nor not-due)
    assert (s["completed"], s["not_due"], s["duration_ns"]["total"]) == (1, 0, 5)
    assert r["migrations"]["by_node"] == {"1": {"attempted": 1, "succeeded": 1, "failed": 0}}
    # dropped: the node-0 scan's end and its start, and the migration to node 0 (issue 12:
    # the start used to be counted nowhere)
    assert r["filtered_events"] == 3


def test_time_window_filter() -> None:
    r = feed([("start", 0, A), end(10, A), ("start", 100, A), end(110, A),
              ("start", 199, A), end(290, A), ("start", 200, A)],
             AnalyzerConfig(time_window_ns=(100, 200)))
    s = r["scans"]
    # kept (100 <= t < 200): start@100, end@110, start@199 (its end@290 is outside: a
    # not-due visit); start@200 is outside (issue 19: the window is half-open)
    assert (s["completed"], s["not_due"], s["orphan_ends"]) == (1, 1, 0)
    assert r["filtered_events"] == 4


def test_selection_by_pid_comm_and_mm() -> None:
    script = [("start", 0, A), end(10, A), ("exit", 11, A, 7, "java"),
              ("start", 20, B), end(50, B), ("exit", 51, B, 8, "python3")]
    r = feed(script, selection=Selection(comm=re.compile("^py")))
    assert [m["comm"] for m in r["mms"]] == ["python3"]
    assert r["scans"]["duration_ns"]["total"] == 30
    r = feed(script, selection=Selection(pids=(7,)))
    assert r["scans"]["duration_ns"]["total"] == 10
    r = feed(script, selection=Selection(mms=(A, B)))
    assert r["scans"]["completed"] == 2


# -- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,signed", [(0, 0), (5, 5), (0x7FFFFFFF, 0x7FFFFFFF),
                                        (0x80000000, -(1 << 31)), (4294967285, -11),
                                        (0xFFFFFFFF, -1), (-11, -11)])
def test_s32(raw: int, signed: int) -> None:
    assert s32(raw) == signed


def test_log2_rows_by_hand() -> None:
    a = Analyzer(AnalyzerConfig(unit_ns=1))
    for i, d in enumerate([0, 1, 2, 3, 4, 1000]):
        a.scan_start(0, i * 10000, KSCAND, A)
        a.scan_end(i * 10000 + d, KSCAND, A, 0, 0, 2000, GIB, 0)
    rows = log2_rows(build(a).scans.log2)
    assert rows[:3] == [(0, 1, 2), (2, 3, 2), (4, 7, 1)]
    assert rows[-1] == (512, 1023, 1)
    assert [r[2] for r in rows[3:-1]] == [0] * 6


def test_histogram_percentiles_within_one_percent() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(11, 2.5)) for _ in range(50000)] + [0, 1, 255, 256]
    h = LogLinearHistogram()
    for v in values:
        h.add(v)
    values.sort()
    for p in (1, 50, 90, 99, 99.9, 100):
        exact = values[max(1, math.ceil(p / 100 * len(values))) - 1]
        got = h.percentile(p)
        assert got is not None and abs(got - exact) <= 0.008 * exact, (p, got, exact)
    assert (h.min, h.max, h.total, h.count) == (values[0], values[-1], sum(values), len(values))


@pytest.mark.parametrize("value", [0, 1, 255, 256, 257, 1000, 65535, 65536, 10**9, 2**63 - 1])
def test_histogram_bucket_contains_value(value: int) -> None:
    low, high = bucket_bounds(bucket_key(value))
    assert low <= value <= high
    assert high - low <= max(0, low) / 128


def test_state_does_not_grow_with_events() -> None:
    a = Analyzer()
    rng = random.Random(3)
    mms = [0xFFFF888000000000 + i * 0x1000 for i in range(8)]
    for i in range(200000):
        mm = mms[i % 8]
        a.scan_start(0, i * 1000, KSCAND, mm)
        if i % 41 == 0:  # 41 and 8 are coprime: every mm gets ends
            a.scan_end(i * 1000 + rng.randrange(1, 999), KSCAND, mm, 0, 1, 2000, GIB, 0)
        a.migrate(0, i * 1000 + 1, KMIG, mm, 0, 0, (i % 1024) + 1, 0)
    assert len(a.mms) == 8 and not a.retired
    assert all(st.ends is not None and len(st.ends.durations.buckets) < 1100
               for st in a.mms.values())
