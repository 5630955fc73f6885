"""kscand-perf merge: hand-made reports for the arithmetic; a simulated trace split by time,
each part reported by a real front end, merged, against the report of the whole.

What must come out exactly (kscand_perf.merge.ADDITIVE and PAIRED, docs/report.md
"Merging reports"): everything counted per event, always; what pairs a scan's start with
its end, when no scan spans a split point. The straddling case is tested on its own: the
merged counts are off by the scan that spans the split, and a note says where.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import ROOT
from kscand_perf import schema
from kscand_perf.histogram import LogLinearHistogram
from kscand_perf.merge import ADDITIVE, PAIRED, MergeError, merge, pick
from kscand_perf.perfreader import PerfReader, read_run_info
from kscand_perf import render as render_report
from kscand_perf.render import merge as render
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, scenario

KSCAND_PERF = os.path.join(ROOT, "bin", "kscand-perf")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")


# -- hand-made reports ---------------------------------------------------------------------

def spread(values: Sequence[int]) -> Optional[Dict[str, Any]]:
    if not values:
        return None
    return {"count": len(values), "min": min(values),
            "mean": round(sum(values) / len(values), 3), "max": max(values),
            "total": sum(values)}


def mm_row(mm: int) -> Dict[str, Any]:
    """A lifetime kscand only visited, as the report writes it."""
    return {"mm": "0x%x" % mm, "generation": 0, "pid": None, "comm": None, "enter_ns": None,
            "exit_ns": None,
            "scans": {"completed": 0, "not_due": 1, "in_flight": 0, "orphan_ends": 0,
                      "exited_during_scan": 0, "full_passes": 0, "pages_found": 0,
                      "duration_ns": None,
                      "ends_by_target_node": {}, "scan_period_ms": None,
                      "scan_size_bytes": None, "pass_time_ns": None},
            "migrations": {"attempted": 0, "succeeded": 0, "failed": 0, "by_node": {},
                           "by_rc": {}, "batches": 0, "batch_size": None,
                           "sequence_breaks": 0, "latency_ns": None}}


def hand(durations: Sequence[int], *, first: int, last: int, period: Tuple[int, int, int, int],
         by_rc: Dict[str, int], node: str = "0", orphans: int = 0, mms: int = 1,
         host: str = "h", sha: str = "") -> Dict[str, Any]:
    """A report of these scan durations (ns, below 256 so that every bucket is exact and
    the percentiles are the exact nearest-rank values) and these migrations, complete as
    the schema wants it; ``sha``: its recording's content hash (default: one of its own)."""
    ok = by_rc.get("0", 0)
    attempted = sum(by_rc.values())
    d = spread(durations)
    if d is not None:
        ordered = sorted(durations)
        for p in (50, 90, 99):
            d["p%d" % p] = ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
    rows: Dict[int, int] = {}
    for v in durations:
        rows[v] = rows.get(v, 0) + 1
    return {
        "schema": "kscand-perf/1",
        "events": {"kmem_mm_enter": 1, "kmem_mm_exit": 0,
                   "kmem_scan_mm_start": len(durations) + 5,
                   "kmem_scan_mm_end": len(durations) + orphans,
                   "kmem_scan_mm_migrate": attempted},
        "other_events": {}, "unhandled_events": {}, "bad_events": {}, "filtered_events": 0,
        "time_ns": {"first": first, "last": last},
        "scans": {"completed": len(durations), "not_due": 5, "in_flight": 0,
                  "orphan_ends": orphans,
                  "exited_during_scan": 0, "full_passes": 1, "pages_found": attempted,
                  "duration_ns": d, "ends_by_target_node": {node: len(durations) + orphans},
                  "scan_period_ms": {"first": period[0], "last": period[1], "min": period[2],
                                     "max": period[3], "changes": 1},
                  "scan_size_bytes": None, "pass_time_ns": spread([1000, 3000])},
        "migrations": {"attempted": attempted, "succeeded": ok, "failed": attempted - ok,
                       "by_node": {node: {"attempted": attempted, "succeeded": ok,
                                          "failed": attempted - ok}},
                       "by_rc": {rc: {"name": "N" + rc, "count": n}
                                 for rc, n in sorted(by_rc.items(), key=lambda kv: int(kv[0]))},
                       "batches": 1, "batch_size": spread([attempted]), "sequence_breaks": 0,
                       "latency_ns": None},
        "mms": [mm_row(0x1000 + i) for i in range(mms)],
        "notes": ["a note"],
        "kernel_counters": None,
        "accounting": {"events_in": 10, "analysed": 10, "other": 0, "unhandled": 0, "bad": 0,
                       "duplicates": 0, "filtered": 0, "non_tracepoint": 0},
        "trace_time_ns": {"first": first, "last": last},
        "oddities": {"duplicate_samples": {}, "ends_before_start": 0, "scan_threads": 1,
                     "batches_begun_before_recording": 0, "bad_reasons": {},
                     "non_tracepoint_events": {},
                     "unknown_owner": {"lifetimes": 0, "scan_ends": 0, "migrations": 0}},
        "histograms": {"scan_duration_ns": {
            "log_linear": [[v, v, n] for v, n in sorted(rows.items())],
            "log2": {"unit_ns": 1, "rows": [[0, 1, len(durations)]] if durations else []},
            "linear": None}},
        "run": {"tool": "kscand-perf", "version": "0.1.0", "input": "x.data",
                "input_sha256": sha or "%064x" % (first * 7919 + last),
                "options": {"unit": "us"}, "knobs": None, "merged_from": None,
                "header": {"hostname": host, "osrelease": "6.1", "perf_version": None,
                           "arch": None, "nrcpus_online": 2, "nrcpus_available": 2,
                           "cmdline": None, "captured_on": None,
                           "captured_on_source": None}},
    }


A = hand([10, 20, 30], first=100, last=200, period=(2000, 3000, 2000, 3000),
         by_rc={"0": 5, "10": 3})
B = hand([40, 50], first=300, last=400, period=(4000, 1000, 1000, 4000),
         by_rc={"0": 1, "-11": 2}, node="1", orphans=1, mms=2)


def test_hand_made_reports_fit_the_schema() -> None:
    assert schema.problem(A) is None and schema.problem(B) is None


def test_counts_add_and_extremes_combine() -> None:
    m = merge([("a.json", A), ("b.json", B)], "9.9")
    assert schema.problem(m) is None
    assert m["events"]["kmem_scan_mm_start"] == 8 + 7
    assert m["time_ns"] == {"first": 100, "last": 400}
    s = m["scans"]
    assert (s["completed"], s["not_due"], s["orphan_ends"]) == (5, 10, 1)
    # 10 20 30 40 50: mean 30; nearest rank: p50 = 3rd = 30, p90 = p99 = 5th = 50
    assert s["duration_ns"] == {"count": 5, "min": 10, "mean": 30.0, "max": 50, "total": 150,
                                "p50": 30, "p90": 50, "p99": 50}
    assert s["ends_by_target_node"] == {"0": 3, "1": 3}
    # first of the first report, last of the last; changes add
    assert s["scan_period_ms"] == {"first": 2000, "last": 1000, "min": 1000, "max": 4000,
                                   "changes": 2}
    assert s["scan_size_bytes"] is None
    assert s["pass_time_ns"] == {"count": 4, "min": 1000, "mean": 2000.0, "max": 3000,
                                 "total": 8000}
    g = m["migrations"]
    assert (g["attempted"], g["succeeded"], g["failed"]) == (11, 6, 5)
    assert g["by_node"] == {"0": {"attempted": 8, "succeeded": 5, "failed": 3},
                            "1": {"attempted": 3, "succeeded": 1, "failed": 2}}
    assert list(g["by_rc"]) == ["-11", "0", "10"]
    assert g["by_rc"]["0"] == {"name": "N0", "count": 6}
    assert g["batch_size"] == {"count": 2, "min": 3, "mean": 5.5, "max": 8, "total": 11}
    assert m["accounting"]["events_in"] == 20 and m["accounting"]["analysed"] == 20
    assert m["histograms"]["scan_duration_ns"]["log_linear"] == [
        [10, 10, 1], [20, 20, 1], [30, 30, 1], [40, 40, 1], [50, 50, 1]]
    assert m["histograms"]["scan_duration_ns"]["log2"] == {"unit_ns": 1, "rows": [[0, 1, 5]]}


def test_order_given_does_not_matter() -> None:
    """merge h2 h1 == merge h1 h2: the reports are put in time order (first/last of the
    scan period come from the earliest and the latest report)."""
    ab = merge([("a.json", A), ("b.json", B)], "x")
    ba = merge([("b.json", B), ("a.json", A)], "x")
    assert ab == ba
    assert ba["scans"]["scan_period_ms"]["first"] == 2000


def test_percentiles_come_from_the_merged_buckets() -> None:
    """Not from the parts' percentiles: 99 fast scans in one report, one slow in another."""
    fast = hand([7] * 99, first=0, last=1, period=(1, 1, 1, 1), by_rc={})
    slow = hand([200], first=2, last=3, period=(1, 1, 1, 1), by_rc={})
    d = merge([("f", fast), ("s", slow)], "x")["scans"]["duration_ns"]
    assert (d["p50"], d["p90"], d["p99"], d["max"]) == (7, 7, 7, 200)
    big = [1_000_003 * i for i in range(1, 200)]     # log-linear buckets of real widths
    h = LogLinearHistogram()
    for v in big:
        h.add(v)
    one, two = hand([], first=0, last=1, period=(1, 1, 1, 1), by_rc={}), \
        hand([], first=2, last=3, period=(1, 1, 1, 1), by_rc={})
    for doc, values in ((one, big[:120]), (two, big[120:])):
        part = LogLinearHistogram()
        for v in values:
            part.add(v)
        doc["scans"]["duration_ns"] = {"count": part.count, "min": part.min, "max": part.max,
                                       "total": part.total, "mean": 0.0, "p50": 0, "p90": 0,
                                       "p99": 0}
        doc["histograms"]["scan_duration_ns"]["log_linear"] = [
            [k, k, n] if k < 256 else [_low(k), 0, n] for k, n in sorted(part.buckets.items())]
    d = merge([("1", one), ("2", two)], "x")["scans"]["duration_ns"]
    assert [d["p50"], d["p90"], d["p99"]] == [h.percentile(50), h.percentile(90),
                                              h.percentile(99)]


def _low(key: int) -> int:
    from kscand_perf.histogram import bucket_bounds
    return bucket_bounds(key)[0]


def test_mms_are_tagged_notes_and_sources_say_what_was_merged() -> None:
    m = merge([("a.json", A), ("b.json", B)], "9.9")
    assert [(r["mm"], r["source"]) for r in m["mms"]] == [
        ("0x1000", "a.json"), ("0x1000", "b.json"), ("0x1001", "b.json")]
    assert m["notes"][0].startswith("merged 2 reports (a.json, b.json, in time order)")
    assert any("ends without a start in b.json (1)" in n for n in m["notes"])
    assert "a.json: a note" in m["notes"] and "b.json: a note" in m["notes"]
    run = m["run"]
    assert (run["version"], run["input"], run["header"]) == ("9.9", None, None)
    assert [s["source"] for s in run["merged_from"]] == ["a.json", "b.json"]
    assert run["merged_from"][0]["header"]["hostname"] == "h"
    assert run["merged_from"][1]["time_ns"] == {"first": 300, "last": 400}
    assert run["merged_from"][0]["input_sha256"] == A["run"]["input_sha256"]


def test_merged_reports_merge_again() -> None:
    """Same schema: merge(merge(A, B), C) counts as merge(A, B, C); sources stay flat."""
    c = hand([60], first=500, last=600, period=(5, 5, 5, 5), by_rc={"0": 1})
    ab = json.loads(render.json_text(merge([("a", A), ("b", B)], "x")))
    assert schema.problem(ab) is None
    nested = merge([("ab", ab), ("c", c)], "x")
    flat = merge([("a", A), ("b", B), ("c", c)], "x")
    for key in ("events", "scans", "migrations", "accounting", "oddities", "histograms"):
        assert nested[key] == flat[key], key
    assert [r["source"] for r in nested["mms"]] == ["a", "b", "b", "c"]
    assert [s["source"] for s in nested["run"]["merged_from"]] == ["a", "b", "c"]
    # and a merged report is not merged again with one of its own reports
    with pytest.raises(MergeError, match="^a2 and a are reports of the same recording"):
        merge([("ab", ab), ("a2", A)], "x")


def _without(doc: Dict[str, Any], *path: str) -> Dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _renamed(doc: Dict[str, Any], path: Sequence[str], new: str) -> Dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[new] = node.pop(path[-1])
    return out


@pytest.mark.parametrize("doc, message", [
    ([1, 2], "x.json: not a kscand-perf JSON report (schema 'list'"),
    ({"schema": "kscand-perf/2"}, "x.json: not a kscand-perf JSON report (schema "
                                  "'kscand-perf/2', expected 'kscand-perf/1'"),
    ({"schema": "kscand-perf/1"}, "x.json: no histogram buckets"),
    (dict(B, scans=[]), "x.json: does not fit the report's schema (report.schema.json): "
                        "scans: array, expected object"),
    (dict(B, histograms={"scan_duration_ns": {"log2": {}}}),
     "x.json: does not fit the report's schema (report.schema.json): "
     "histograms.scan_duration_ns: member 'linear' missing"),
    # a member missing or renamed is refused, not read as 0
    (_without(B, "scans", "pages_found"), "x.json: does not fit the report's schema "
                                          "(report.schema.json): scans: member 'pages_found' "
                                          "missing"),
    (_renamed(B, ("migrations", "succeeded"), "ok"),
     "x.json: does not fit the report's schema (report.schema.json): migrations: member "
     "'succeeded' missing"),
    (dict(B, extra=1), "x.json: does not fit the report's schema (report.schema.json): the "
                       "document: unknown member 'extra'"),
    (_renamed(B, ("mms",), "processes"), "x.json: does not fit the report's schema"),
    (dict(B, time_ns={"first": "1", "last": 2}), "x.json: does not fit the report's schema "
                                                 "(report.schema.json): time_ns.first: "
                                                 "string, expected integer or null"),
    (dict(B, scans=dict(B["scans"], completed=7)),
     "x.json: its histogram buckets hold 2 scans, its duration count 2"),
])
def test_what_cannot_be_merged(doc: Any, message: str) -> None:
    if message.endswith("its duration count 2"):  # buckets edited: 1 scan fewer
        doc = copy.deepcopy(B)
        doc["histograms"]["scan_duration_ns"]["log_linear"].pop()
        message = "x.json: its histogram buckets hold 1 scans, its duration count 2"
    with pytest.raises(MergeError) as e:
        merge([("a.json", A), ("x.json", doc)], "x")
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


def test_the_same_report_twice_or_overlapping_reports_are_refused() -> None:
    """Double counting: a report with itself, a whole with its part (the same recording,
    overlapping times), two recordings of one machine at overlapping times."""
    with pytest.raises(MergeError, match=r"^a.json and a.json are reports of the same "
                                         r"recording \(sha256 [0-9a-f]{12}\) whose events "
                                         "overlap in time"):
        merge([("a.json", A), ("a.json", A)], "x")
    part = hand([10], first=150, last=180, period=(1, 1, 1, 1), by_rc={},
                sha=A["run"]["input_sha256"])
    with pytest.raises(MergeError, match="same recording"):
        merge([("a.json", A), ("part.json", part)], "x")
    other = hand([10], first=150, last=250, period=(1, 1, 1, 1), by_rc={})
    with pytest.raises(MergeError, match=r"^a.json \(0.000000 to 0.000000 s\) and o.json "
                                         r"\(0.000000 to 0.000000 s\) come from one machine"):
        merge([("o.json", other), ("a.json", A)], "x")
    # a report of a pipe has no content hash and no header: the same times say it
    piped = copy.deepcopy(A)
    piped["run"].update(input="-", input_sha256=None, header=None)
    with pytest.raises(MergeError, match="^p.json and p.json are reports of the same"):
        merge([("p.json", piped), ("p.json", piped)], "x")
    # what the user means: allowed, and said
    m = merge([("a.json", A), ("a2.json", A)], "x", allow_overlap=True)
    assert m["scans"]["completed"] == 6
    assert any(n.startswith("--allow-overlap:") for n in m["notes"])
    # parts of one recording with disjoint times merge; so do other machines' reports
    later = hand([10], first=250, last=280, period=(1, 1, 1, 1), by_rc={},
                 sha=A["run"]["input_sha256"])
    assert merge([("a.json", A), ("later.json", later)], "x")["scans"]["completed"] == 4
    elsewhere = hand([10], first=150, last=250, period=(1, 1, 1, 1), by_rc={}, host="h2")
    assert merge([("a.json", A), ("e.json", elsewhere)], "x")["scans"]["completed"] == 4


def test_reports_of_several_machines_have_no_span() -> None:
    elsewhere = hand([40, 50], first=300, last=400, period=(4000, 1000, 1000, 4000),
                     by_rc={"0": 1}, host="h2")
    m = merge([("a.json", A), ("e.json", elsewhere)], "x")
    assert m["time_ns"] == {"first": None, "last": None}
    assert m["trace_time_ns"] == {"first": None, "last": None}
    assert (m["scans"]["scan_period_ms"]["first"], m["scans"]["scan_period_ms"]["last"]) == \
        (None, None)
    assert m["scans"]["scan_period_ms"]["max"] == 4000
    assert any("2 machines" in n and "no time span" in n for n in m["notes"])
    assert schema.problem(m) is None
    # so compare gives no rate for it
    from kscand_perf.compare import compare
    rates = [f for f in compare(A, m).figures if f.kind == "rate"]
    assert rates and all(f.b is None for f in rates)
    assert "(no common clock)" in render.text(m).splitlines()[0]


def test_reports_of_two_boots_of_one_machine_have_no_span() -> None:
    """The same host and kernel, captured a day apart at overlapping perf times: two boots
    (perf's clock counts from boot), so no overlap to refuse and no common span."""
    one, two = copy.deepcopy(A), copy.deepcopy(B)
    two["time_ns"] = two["trace_time_ns"] = {"first": 150, "last": 250}
    one["run"]["header"].update(captured_on="2026-11-25T10:00:00Z",
                                captured_on_source="file_mtime")
    two["run"]["header"].update(captured_on="2026-11-26T10:00:00Z",
                                captured_on_source="file_mtime")
    m = merge([("one.json", one), ("two.json", two)], "x")
    assert m["time_ns"] == {"first": None, "last": None}
    # the same boot (captured 100 ns of perf time apart, one second of wall time): refused
    two["run"]["header"]["captured_on"] = "2026-11-25T10:00:01Z"
    with pytest.raises(MergeError, match="come from one machine"):
        merge([("one.json", one), ("two.json", two)], "x")


def test_over_time_is_not_dropped_silently() -> None:
    timed = copy.deepcopy(B)
    timed["over_time"] = {"interval_ns": 10, "intervals": [], "mms": []}
    assert schema.problem(timed) is None
    m = merge([("a.json", A), ("t.json", timed)], "x")
    assert "over_time" not in m
    assert any(n.startswith("over_time (--interval) of t.json is not merged") for n in m["notes"])


def test_merged_text_prints_every_section_of_its_json() -> None:
    m = merge([("a.json", A), ("b.json", B)], "x")
    out = render.text(m)
    for title in ("Reports", "Events", "Scans", "Scan duration histogram (ns)",
                  "Scan adaptation", "Processes (mm lifetimes; scan durations in us)",
                  "Migrations", "Oddities", "Notes"):
        assert "\n%s\n%s\n" % (title, "=" * len(title)) in out, title
    for text in ("target node    scan ends", "scan ends  ", "kmigrated batches",
                 "time between two wraps of one mm (a full pass): intervals, 4",
                 "rc  reason"):
        assert text in out, text
    assert max(len(line) for line in out.splitlines()) <= 100


def test_command_errors_are_one_line_exit_2(tmp_path: Any) -> None:
    good = tmp_path / "a.json"
    good.write_text(json.dumps(A))
    bad = tmp_path / "b.json"
    bad.write_text("perf.data? no")
    broken = tmp_path / "c.json"
    broken.write_text(json.dumps(_without(B, "scans", "pages_found")))
    for args, want in (([str(good), str(bad)], "b.json: not JSON"),
                       ([str(good), str(tmp_path / "none.json")], "cannot read"),
                       ([str(good), os.path.join(ROOT, "README.md")], "README.md: not JSON"),
                       ([str(good), str(broken)], "scans: member 'pages_found' missing"),
                       ([str(good), str(good)], "are reports of the same recording")):
        proc = subprocess.run([sys.executable, KSCAND_PERF, "merge"] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert proc.returncode == 2
        err = proc.stderr.decode()
        assert err.startswith("kscand-perf merge: error: ") and want in err
        assert err.count("\n") == 1 and proc.stdout == b""
    proc = subprocess.run([sys.executable, KSCAND_PERF, "merge", "--allow-overlap", "--json",
                           str(good), str(good)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["scans"]["completed"] == 6


# -- a simulated trace split by time --------------------------------------------------------

CONFIG = SynthConfig(seed=41, mms=6, seconds=30)


def scan_spans(events: Sequence[Emitted]) -> List[Tuple[int, int]]:
    """(start, end) of every completed scan, paired as docs/report.md says: a start and
    the next end of the same mm from the same thread, no other start between."""
    pending: Dict[int, Tuple[Any, int]] = {}
    spans = []
    for e in events:
        if e.event == "kmem_scan_mm_start":
            pending[e.pid] = (e.values[0], e.time_ns)
        elif e.event == "kmem_scan_mm_end":
            p = pending.pop(e.pid, None)
            if p is not None and p[0] == e.values[0] and p[1] <= e.time_ns:
                spans.append((p[1], e.time_ns))
    return spans


def straddles(t: int, spans: Sequence[Tuple[int, int]]) -> int:
    """How many scans a split at ``t`` (parts: time < t, time >= t) cuts in two."""
    return sum(1 for s, e in spans if s < t <= e)


def between(events: Sequence[Emitted], i: int) -> int:
    """A time strictly between event i-1 and event i (they must differ): a split there is
    the same whether --time's window is closed or half-open."""
    lo, hi = events[i - 1].time_ns, events[i].time_ns
    assert hi - lo >= 2
    return (lo + hi) // 2


def split_points(events: Sequence[Emitted], spans: Sequence[Tuple[int, int]], k: int,
                 seed: int, safe: bool) -> List[int]:
    """k random split times between two events (``safe``: where no scan is cut)."""
    rng = random.Random(seed)
    candidates = [i for i in range(1, len(events))
                  if events[i].time_ns - events[i - 1].time_ns >= 2
                  and (not safe or not straddles(events[i].time_ns, spans))]
    return sorted(between(events, i) for i in rng.sample(candidates, k))


def seconds(t: int) -> str:
    return "%d.%09d" % divmod(t, 1000000000)


def report(path: str, front_end: str, *options: str) -> Dict[str, Any]:
    if front_end == "perf":
        cmd = [shutil.which("perf") or "perf", "script", "-s", SCRIPT, "-i", path, "--",
               "--json"] + list(options)
    else:
        cmd = [sys.executable, KSCAND_PERF, "report", "-i", path, "--json"] + list(options)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    doc: Dict[str, Any] = json.loads(proc.stdout)
    assert schema.problem(doc) is None
    return doc


def merged_parts(tmp: str, events: Sequence[Emitted], points: Sequence[int], front_end: str,
                 shuffle: int = 0) -> Tuple[Dict[str, Any], Dict[str, Any], List[str]]:
    """(the whole's report, the merged report of the parts, the part reports' names): the
    parts are reports of the whole recording with the --time windows [p_i, p_i+1), given
    to merge in a shuffled order."""
    whole = os.path.join(tmp, "whole.data")
    write_trace(whole, events)
    names = []
    bounds = [""] + [seconds(p) for p in points] + [""]
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        path = os.path.join(tmp, "part%d.json" % i)
        with open(path, "w") as f:
            json.dump(report(whole, front_end, "--time", "%s,%s" % (lo, hi)), f)
        names.append(path)
    given = list(names)
    random.Random(shuffle).shuffle(given)
    proc = subprocess.run([sys.executable, KSCAND_PERF, "merge", "--json"] + given,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return report(whole, front_end), json.loads(proc.stdout), names


@pytest.fixture(scope="module")
def sim() -> Tuple[List[Emitted], List[Tuple[int, int]]]:
    events, _ = scenario(CONFIG)
    return events, scan_spans(events)


@pytest.mark.parametrize("front_end, k, seed", [("ours", 2, 1), ("ours", 5, 2), ("perf", 3, 3)])
def test_parts_merge_to_the_whole(front_end: str, k: int, seed: int, tmp_path: Any,
                                  sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    """A recording reported in k + 1 --time windows split at random times where no scan
    is cut, merged in a random order: every exact member equals the whole's."""
    if front_end == "perf" and shutil.which("perf") is None:
        pytest.skip("perf is not installed (apt-get install linux-perf)")
    events, spans = sim
    points = split_points(events, spans, k, seed, safe=True)
    whole, merged, names = merged_parts(str(tmp_path), events, points, front_end, seed)
    assert whole["scans"]["completed"] > 20 and whole["migrations"]["attempted"] > 100
    assert pick(merged, ADDITIVE + PAIRED) == pick(whole, ADDITIVE + PAIRED)
    # what pairs two events of one mm across a split can only lose pairs, never gain
    assert merged["scans"]["scan_period_ms"]["changes"] <= \
        whole["scans"]["scan_period_ms"]["changes"]
    assert (merged["scans"]["pass_time_ns"] or {"count": 0})["count"] <= \
        whole["scans"]["pass_time_ns"]["count"]
    parts = [json.load(open(n)) for n in names]
    assert len(merged["mms"]) == sum(len(p["mms"]) for p in parts)
    assert [s["source"] for s in merged["run"]["merged_from"]] == names  # in time order
    assert {s["input_sha256"] for s in merged["run"]["merged_from"]} == {
        whole["run"]["input_sha256"]}


def test_parts_cut_anywhere_merge_to_the_whole_for_what_adds(
        tmp_path: Any, sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    """k random split times, scans cut or not: what is counted per event is exact."""
    events, spans = sim
    points = split_points(events, spans, 4, 7, safe=False)
    whole, merged, _ = merged_parts(str(tmp_path), events, points, "ours", 7)
    assert pick(merged, ADDITIVE) == pick(whole, ADDITIVE)


def _half_open() -> bool:
    """Whether --time START,END keeps START <= t < END (branch figures makes it so): an
    event at END is filtered."""
    from kscand_perf.filtered import make_analyzer
    from kscand_perf.options import parse
    try:
        a = make_analyzer(parse(["--time", "1,2"]).analyzer_config())
        a.mm_enter(2000000000, 1, "x", 0x1000)
        return bool(a.filtered_events == 1)
    except Exception:  # an API this probe does not know: run the test, let it say
        return True


@pytest.mark.xfail(not _half_open(), strict=True,
                   reason="needs the half-open --time window of branch figures")
def test_a_split_at_an_event_counts_it_once(
        tmp_path: Any, sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    """Split exactly at an event's time: with START <= t < END it is in one part only."""
    events, spans = sim
    at = next(e.time_ns for e in events[len(events) // 3:] if not straddles(e.time_ns, spans))
    whole, merged, _ = merged_parts(str(tmp_path), events, [at], "ours")
    assert pick(merged, ADDITIVE + PAIRED) == pick(whole, ADDITIVE + PAIRED)


def test_a_scan_across_a_split_is_reported_honestly(
        tmp_path: Any, sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    events, spans = sim
    i = next(i for i in range(len(events) // 2, len(events))
             if straddles(events[i].time_ns, spans) == 1
             and events[i].time_ns - events[i - 1].time_ns >= 2
             and straddles(between(events, i), spans) == 1)
    whole, merged, names = merged_parts(str(tmp_path), events, [between(events, i)], "ours")
    assert pick(merged, ADDITIVE) == pick(whole, ADDITIVE)
    w, m = whole["scans"], merged["scans"]
    assert m["completed"] == w["completed"] - 1
    assert m["not_due"] == w["not_due"] + 1
    assert m["orphan_ends"] == w["orphan_ends"] + 1
    assert m["duration_ns"]["count"] == w["duration_ns"]["count"] - 1
    second = json.load(open(names[1]))
    assert second["scans"]["orphan_ends"] >= 1
    assert any(n.startswith("ends without a start in %s (%d): where the reports are parts "
                            "of one recording" % (names[1], second["scans"]["orphan_ends"]))
               for n in merged["notes"])


def _report_without_sched(path: str, *options: str) -> Dict[str, Any]:
    """A report of ``path`` by a front end that has no handler for the sched events (as
    perf script with an older kscand_report.py): they count as unhandled, which the front
    end counts before any --time window applies."""
    from kscand_perf import feed
    from kscand_perf.options import parse
    from kscand_perf.session import Session
    session = Session(parse(["--json"] + list(options)))
    session.input = path
    table = {k: v for k, v in feed.handlers(session).items() if not k.startswith("sched:")}
    with open(path, "rb") as f:
        reader = PerfReader(f, table, unhandled=lambda e: session.count_unhandled(
            feed.handler_name(e)), on_error=lambda e, x: session.analyzer.bad(
                feed.handler_name(e), x))
        reader.read()
    doc: Dict[str, Any] = json.loads(render_report.json_text(session.report()))
    return doc


def test_what_every_part_counts_in_full_counts_once(
        tmp_path: Any, sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    """Events counted before the --time window (unhandled ones) are in every part of one
    recording: merged, they count once, and the accounting adds up as the whole's."""
    events, spans = sim
    path = str(tmp_path / "whole.data")
    write_trace(path, events)
    whole = _report_without_sched(path)
    assert whole["accounting"]["unhandled"] > 0
    points = split_points(events, spans, 3, 11, safe=True)
    bounds = [""] + [seconds(p) for p in points] + [""]
    parts = [("p%d" % i, _report_without_sched(path, "--time", "%s,%s" % (lo, hi)))
             for i, (lo, hi) in enumerate(zip(bounds, bounds[1:]))]
    assert all(p["accounting"]["unhandled"] == whole["accounting"]["unhandled"]
               for _, p in parts)
    merged = merge(parts, "x")
    assert merged["accounting"] == whole["accounting"]
    assert merged["unhandled_events"] == whole["unhandled_events"]
    assert merged["filtered_events"] == whole["filtered_events"] == 0


def test_a_whole_and_its_part_are_refused(
        tmp_path: Any, sim: Tuple[List[Emitted], List[Tuple[int, int]]]) -> None:
    events, spans = sim
    whole_data = str(tmp_path / "whole.data")
    write_trace(whole_data, events)
    cut = seconds(between(events, len(events) // 2))
    paths = []
    for name, options in (("whole", ()), ("part", ("--time", "%s," % cut))):
        path = str(tmp_path / (name + ".json"))
        with open(path, "w") as f:
            json.dump(report(whole_data, "ours", *options), f)
        paths.append(path)
    proc = subprocess.run([sys.executable, KSCAND_PERF, "merge"] + paths,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "same recording" in err and err.count("\n") == 1


# -- the header ------------------------------------------------------------------------------

@pytest.mark.parametrize("pipe", [False, True])
def test_header_alone_is_what_the_reader_sees(tmp_path: Any, pipe: bool,
                                              sim: Tuple[List[Emitted], Any]) -> None:
    path = str(tmp_path / "t.data")
    write_trace(path, sim[0][:200], pipe=pipe, nr_cpus=8)
    with open(path, "rb") as f:
        reader = PerfReader(f, {})
        reader.read()
    info = read_run_info(path)
    assert info == reader.info and info is not None and info.nrcpus_online == 8
    sample = read_run_info(os.path.join(ROOT, "samples", "kscand-sample.data"))
    assert sample is not None and sample.osrelease == "6.1.0-56-amd64"
    assert read_run_info(os.path.join(ROOT, "README.md")) is None
    assert read_run_info(str(tmp_path / "missing")) is None


def _script_module() -> Any:
    import importlib.util
    spec = importlib.util.spec_from_file_location("kscand_report_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("cmdline, fifo, want", [
    (["perf", "script", "-s", "k.py", "-i", "a.data", "--", "--json"], False, "a.data"),
    (["perf", "script", "-ia.data", "-s", "k.py"], False, "a.data"),
    (["perf", "script", "--input=a.data", "-s", "k.py"], False, "a.data"),
    (["perf", "script", "--input", "-", "-s", "k.py"], False, "-"),
    (["perf", "script", "-s", "k.py"], False, "perf.data"),
    (["perf", "script", "-s", "k.py"], True, "-"),
    (["perf", "script", "-s", "k.py", "--", "-i", "x"], False, "perf.data"),
])
def test_perf_scripts_input_from_perfs_command_line(cmdline: List[str], fifo: bool,
                                                    want: str) -> None:
    mod = _script_module()
    args = cmdline[cmdline.index("--") + 1:] if "--" in cmdline else []
    assert mod._perf_input(cmdline, args, fifo) == want
