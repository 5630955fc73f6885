"""The report over time (issue 13): interval rows, per-mm timelines, time to promotion.

Hand-computed tables for the interval arithmetic; random event sequences (every oddity
of issue 12) give the same report with and without the timeline, and rows that add up
to it; rows come out as their intervals close, through a pipe too.
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

import pytest

from conftest import ROOT
from eventgen import feed, generate
from kscand_perf import timeline
from kscand_perf.analysis import AnalyzerConfig
from kscand_perf.filtered import make_analyzer
from kscand_perf.render import text, to_json
from kscand_perf.render.text import intervals_text
from kscand_perf.report import Selection, build
from kscand_perf.session import Session
from kscand_perf.options import parse
from kscand_perf.timeline import IntervalRow, TimelineAnalyzer
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, scenario

S = 1000000000
MS = 1000000
A, B = 0xFFFF888000001000, 0xFFFF888000002000
KSCAND, KMIGRATED = 50, 51
GIB = 1 << 30


def ns(seconds: float) -> int:
    return int(round(seconds * S))


class Feeder:
    """Calls the analyzer as the perf script's handlers do."""

    def __init__(self, a: TimelineAnalyzer) -> None:
        self.a = a
        self.batch: Dict[int, Tuple[int, int]] = {}

    def start(self, t: float, mm: int) -> None:
        s, n = divmod(ns(t), S)
        self.a.scan_start(s, n, KSCAND, mm)

    def end(self, t: float, mm: int, total: int, period: int = 2000) -> None:
        self.a.scan_end(ns(t), KSCAND, mm, 0, total, period, GIB, 0)

    def migrate(self, t: float, mm: int, rc: int) -> None:
        ok, bad = self.batch.get(mm, (0, 0))
        ok, bad = (ok + 1, bad) if rc == 0 else (ok, bad + 1)
        self.batch[mm] = (ok, bad)
        s, n = divmod(ns(t), S)
        self.a.migrate(s, n, KMIGRATED, mm, rc, 0, ok, bad)


def scenario_rows() -> Tuple[TimelineAnalyzer, List[IntervalRow], List[Tuple[str, int]]]:
    """The hand-computed scenario: 1 s intervals from t = 10 s."""
    emitted: List[IntervalRow] = []
    seen: List[Tuple[str, int]] = []  # (after which event, rows handed out by then)
    a = timeline.make_analyzer(AnalyzerConfig(), S, on_row=emitted.append)
    f = Feeder(a)
    steps = [
        ("start A 10.0", lambda: f.start(10.0, A)),
        ("end A 10.1", lambda: f.end(10.1, A, 5)),       # 100 ms, 5 pages found
        ("start B 10.2", lambda: f.start(10.2, B)),      # not due
        ("start A 10.3", lambda: f.start(10.3, A)),      # not due
        ("migrate 10.9", lambda: f.migrate(10.9, A, 0)),
        ("start B 10.95", lambda: f.start(10.95, B)),    # ends in the next interval
        ("end B 11.05", lambda: f.end(11.05, B, 0)),     # 100 ms, straddling
        ("migrate 11.5", lambda: f.migrate(11.5, A, 10)),
        ("migrate 11.6", lambda: f.migrate(11.6, A, 10)),
        ("migrate 11.7", lambda: f.migrate(11.7, A, 3)),
        ("start A 14.2", lambda: f.start(14.2, A)),      # after two empty intervals
        ("end A 14.25", lambda: f.end(14.25, A, 0)),     # 50 ms
        ("migrate 14.3", lambda: f.migrate(14.3, A, 0)),
    ]
    for name, step in steps:
        step()
        seen.append((name, len(emitted)))
    a.finish()
    seen.append(("finish", len(emitted)))
    return a, emitted, seen


# (start s, starts, not_due, scans, mean ms, max ms, pages, attempted, succeeded, failed,
#  top failure rc, cumulative)
EXPECTED = [
    (10, 4, 2, 1, 100.0, 100, 5, 1, 1, 0, None, 1),
    (11, 0, 0, 1, 100.0, 100, 0, 3, 0, 3, 10, 1),
    (12, 0, 0, 0, None, None, 0, 0, 0, 0, None, 1),
    (13, 0, 0, 0, None, None, 0, 0, 0, 0, None, 1),
    (14, 1, 0, 1, 50.0, 50, 0, 1, 1, 0, None, 2),
]


def test_hand_computed_intervals() -> None:
    a, emitted, _ = scenario_rows()
    rows = a.tl.rows
    assert emitted == rows
    got = [((r.start_ns) // S, r.starts, r.not_due, r.scans,
            None if r.duration_mean is None else r.duration_mean / MS,
            None if r.duration_max is None else r.duration_max // MS,
            r.pages_found, r.attempted, r.succeeded, r.failed,
            None if r.top_failure() is None else r.top_failure()[0],  # type: ignore[index]
            r.cumulative_succeeded) for r in rows]
    assert got == EXPECTED
    assert [r.end_ns - r.start_ns for r in rows] == [S] * 5
    assert rows[0].duration_p99 == 100 * MS  # one value: the bucket is clamped to it
    assert rows[1].top_failure() == (10, 2)
    assert rows[1].per_second(rows[1].attempted) == 3.0
    # the rows add up to the whole report
    report = build(a)
    assert sum(r.not_due for r in rows) == report.scans.not_due == 2
    assert sum(r.scans for r in rows) == report.scans.completed == 3


def test_rows_are_handed_out_when_their_starts_are_known() -> None:
    """The interval of 10 s closes at the end at 11.05 s, whose start (10.95 s) it saw:
    its row waits until that end has paired it, and goes out at the next event."""
    _, _, seen = scenario_rows()
    out = dict(seen)
    assert out["migrate 10.9"] == 0 and out["end B 11.05"] == 0
    assert out["migrate 11.5"] == 1
    assert out["migrate 11.7"] == 1
    assert out["start A 14.2"] == 4   # the interval of 11 s and two empty ones
    assert out["finish"] == 5


def test_time_to_promotion_hand_computed() -> None:
    a, _, _ = scenario_rows()
    report = build(a)
    over = report.over_time
    assert over is not None
    (mm_a,) = [m for m in over.mms if m.mm == A]
    t = mm_a.time_to_promotion
    assert t is not None
    assert (t.from_ns, t.promoted, t.before) == (10 * S, 2, 0)
    # successes 0.9 s and 4.3 s after the start of the scan that found pages
    assert abs(t.percentiles[50] - ns(0.9)) <= ns(0.9) // 100
    assert abs(t.percentiles[90] - ns(4.3)) <= ns(4.3) // 100
    assert abs(t.percentiles[99] - ns(4.3)) <= ns(4.3) // 100
    assert [(p[0], p[1], p[3]) for p in mm_a.points] == [(ns(10.1), 2000, 5),
                                                         (ns(14.25), 2000, 0)]
    assert mm_a.bins == [(10 * S, 1, 1), (11 * S, 3, 0), (14 * S, 1, 1)]


def test_a_long_pause_is_one_row() -> None:
    a = timeline.make_analyzer(AnalyzerConfig(), S)
    f = Feeder(a)
    f.start(10.0, A)
    f.start(2010.5, A)
    a.finish()
    rows = a.tl.rows
    spans = [(r.start_ns // S, r.end_ns // S) for r in rows]
    assert spans == [(10, 11), (11, 2010), (2010, 2011)]
    assert len(rows) == 3 and rows[1].starts == 0
    body = intervals_text(build(a).over_time, 1000)  # type: ignore[arg-type]
    assert "1,999 empty intervals, to 2000.000 s" in body


def test_timelines_are_bounded() -> None:
    tl = timeline.MmTimeline(A, 0, S)
    for i in range(10000):
        tl.add_end(i * S, 2000 + i, GIB, i)
    assert len(tl.points) < timeline.TIMELINE_POINTS
    assert tl.stride == 16 and tl.ends_seen == 10000
    assert [p[3] for p in tl.points[:3]] == [0, 16, 32]  # evenly spaced ends
    for i in range(5000):
        tl.add_migrate(i * S, i % 2 == 0)
    assert len(tl.bins) <= timeline.PROMOTION_BINS
    assert sum(b[0] for b in tl.bins.values()) == 5000
    assert sum(b[1] for b in tl.bins.values()) == 2500
    assert tl.bin_ns == 16 * S


# -- random sequences ---------------------------------------------------------------------

def config_for(seed: int) -> AnalyzerConfig:
    rng = random.Random(seed * 31)
    window = None
    if rng.random() < 0.3:
        lo = rng.randint(0, 2) * S
        window = (lo, lo + rng.randint(1, 3) * S)
    return AnalyzerConfig(unit_ns=rng.choice([1, 1000]), time_window_ns=window,
                          node=rng.choice([None, None, 0, 1]))


@pytest.mark.parametrize("seed", range(150))
def test_random_sequences_same_report_and_rows_add_up(seed: int) -> None:
    rng = random.Random(seed)
    items = generate(seed, n=rng.choice([0, 5, 60, 400]))
    config = config_for(seed)
    plain = make_analyzer(config)
    feed(plain, items, {})
    emitted: List[IntervalRow] = []
    interval = rng.choice([MS, 50 * MS, S, 3 * S])
    a = timeline.make_analyzer(config, interval, on_row=emitted.append)
    feed(a, items, {})
    want = to_json(build(plain))
    report = build(a)
    got = to_json(report)
    got.pop("over_time")
    assert got == want
    rows = a.tl.rows
    assert emitted == rows  # each row handed out once, in order
    for before, after in zip(rows, rows[1:]):
        assert before.end_ns == after.start_ns
    assert all(r.not_due >= 0 and r.starts >= 0 for r in rows)
    s, m = want["scans"], want["migrations"]
    assert sum(r.starts for r in rows) == s["completed"] + s["not_due"] + s["in_flight"]
    assert sum(r.not_due for r in rows) == s["not_due"]
    assert sum(r.scans for r in rows) == s["completed"]
    assert sum(r.ends for r in rows) == s["completed"] + s["orphan_ends"]
    assert sum(r.pages_found for r in rows) == s["pages_found"]
    assert sum(r.attempted for r in rows) == m["attempted"]
    assert (rows[-1].cumulative_succeeded if rows else 0) == m["succeeded"]
    text(report)


# -- through the front ends ---------------------------------------------------------------

def session_text(argv: List[str], path: str) -> str:
    from kscand_perf import feed as reader_feed
    session = Session(parse(argv))
    with open(path, "rb") as f:
        reader_feed.feed(session, f)
    return session.finish()


@pytest.fixture(scope="module")
def sim_pipe(tmp_path_factory: Any) -> str:
    events, _ = scenario(SynthConfig(seed=41, mms=5, seconds=12))
    path = str(tmp_path_factory.mktemp("live") / "sim-pipe.data")
    write_trace(path, events, pipe=True, round_every=32)
    return path


def _read_until(proc: "subprocess.Popen[bytes]", marker: bytes, timeout: float) -> bytes:
    assert proc.stdout is not None
    got = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while marker not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
    return got


def live(cmd: List[str], path: str) -> Tuple[bytes, bytes]:
    """Feed ``cmd`` the first 60% of a pipe stream and read the rows it printed by then,
    then the rest: (printed before the rest was sent, everything printed)."""
    with open(path, "rb") as f:
        data = f.read()
    cut = len(data) * 6 // 10
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdin is not None
    proc.stdin.write(data[:cut])
    proc.stdin.flush()
    early = _read_until(proc, b"\n     3.000", 60)
    proc.stdin.write(data[cut:])
    proc.stdin.close()
    rest = proc.stdout.read()  # type: ignore[union-attr]
    proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read()  # type: ignore[union-attr]
    return early, early + rest


def test_live_rows_through_a_pipe_our_reader(sim_pipe: str) -> None:
    cmd = [sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report", "-i", "-",
           "--interval", "1"]
    early, everything = live(cmd, sim_pipe)
    assert b"Intervals (1.000 s each" in early and b"\n     3.000" in early
    assert b"kscand report:" not in early  # the full report comes at the end
    assert everything.decode() == session_text(["--interval", "1"], sim_pipe)


def test_live_rows_through_a_pipe_perf(perf: str, sim_pipe: str) -> None:
    cmd = [perf, "script", "-s", os.path.join(ROOT, "perf-scripts", "kscand_report.py"),
           "-i", "-", "--", "--interval", "1"]
    early, everything = live(cmd, sim_pipe)
    assert b"\n     3.000" in early and b"kscand report:" not in early
    assert everything.decode() == session_text(["--interval", "1"], sim_pipe)


def test_streamed_text_equals_the_text_built_at_the_end(sim_pipe: str) -> None:
    """A front end with a live stdout and one without print the same text."""
    import io
    from kscand_perf import feed as reader_feed
    out = io.StringIO()
    session = Session(parse(["--interval", "0.5", "--ms"]), live=out)
    with open(sim_pipe, "rb") as f:
        reader_feed.feed(session, f)
    out.write(session.finish())
    assert out.getvalue() == session_text(["--interval", "0.5", "--ms"], sim_pipe)


def test_interval_option_errors() -> None:
    from kscand_perf.errors import UsageError
    for bad in ("0", "-1", "nan", "0.0001"):
        with pytest.raises(UsageError):
            parse(["--interval", bad])
    assert parse(["--interval", "2.5"]).interval_ns == 2500000000
    assert parse(["--plot", "x"]).interval_ns == S


def test_selection_does_not_apply_to_rows_but_to_timelines() -> None:
    a, _, _ = scenario_rows()
    report = build(a, Selection(mms=(B,)))
    over = report.over_time
    assert over is not None
    assert [m.mm for m in over.mms] == [B]
    assert sum(r.attempted for r in over.rows) == 5  # every mm's


def test_json_over_time(sim_pipe: str) -> None:
    j = json.loads(session_text(["--interval", "2", "--json"], sim_pipe))
    over = j["over_time"]
    assert over["interval_ns"] == 2 * S
    rows = over["intervals"]
    assert sum(r["attempted"] for r in rows) == j["migrations"]["attempted"]
    assert sum(r["not_due"] for r in rows) == j["scans"]["not_due"]
    for r in rows:
        assert r["succeeded_per_s"] == round(r["succeeded"] / 2, 3)
    busy = {m["mm"] for m in j["mms"] if m["scans"]["completed"] + m["migrations"]["attempted"]}
    assert {m["mm"] for m in over["mms"]} <= busy
    assert "over_time" not in json.loads(session_text(["--json"], sim_pipe))


# -- the shared real trace ----------------------------------------------------------------

REAL = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")


def perf_text_counts(perf: str, path: str, interval_ns: int) -> Dict[int, List[int]]:
    """Migration attempts and successes per interval, from perf's own text output of the
    trace (``perf script -F time,event,trace --ns``), by this test's own parsing: interval
    k is [first event + k * interval, first event + (k + 1) * interval)."""
    proc = subprocess.run([perf, "script", "-i", path, "--ns", "-F", "time,event,trace"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0
    first = None
    counts: Dict[int, List[int]] = {}
    for line in proc.stdout.decode().splitlines():
        stamp, rest = line.split(":", 1)
        whole, frac = stamp.strip().split(".")
        t = int(whole) * S + int(frac.ljust(9, "0"))
        if first is None:
            first = t
        if rest.split(":")[1].strip() != "kmem_scan_mm_migrate":
            continue
        fields = dict(zip(rest.split()[1::3], rest.split()[3::3]))
        c = counts.setdefault((t - first) // interval_ns, [0, 0])
        c[0] += 1
        c[1] += fields["rc"] == "0"
    return counts


def test_real_trace_interval_5_shows_the_burst(perf: str) -> None:
    from conftest import require
    require(os.path.exists(REAL), "the shared real trace %s is not here" % REAL)
    want = perf_text_counts(perf, REAL, 5 * S)
    proc = subprocess.run([perf, "script", "-s", os.path.join(ROOT, "perf-scripts",
                                                              "kscand_report.py"),
                           "-i", REAL, "--", "--interval", "5", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)["over_time"]["intervals"]
    assert len(rows) == 14  # 67.7 s of trace
    got = {i: [r["attempted"], r["succeeded"]] for i, r in enumerate(rows) if r["attempted"]}
    assert got == want
    # the figures: 65,548 of 65,740 attempts in the first 5 s, none after 44 s
    assert rows[0]["attempted"] == 65548
    assert all(r["attempted"] == 0 for r in rows if r["start_ns"] - rows[0]["start_ns"] >= 45 * S)
    assert rows[0]["top_failure"]["name"] == "KSCAND_NOT_HOT_PAGE"
    assert rows[-1]["cumulative_succeeded"] == 19640
