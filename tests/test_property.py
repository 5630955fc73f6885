"""Property tests: random valid event sequences with every oddity (tests/eventgen.py), a
few hundred fixed seeds straight into the analysis core, and a handful through perf.

Properties: nothing raises (analysis, report, every renderer); every event fed is
accounted for exactly once (events in = analysed + other + unhandled + bad + duplicates +
filtered + non-tracepoint, with events in counted by the generator, not by the code);
the streamed JSON is the one-object JSON to the byte; the counts agree with each other.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from typing import Any, Dict, List

import pytest

from eventgen import feed, generate
from kscand_perf.analysis import AnalyzerConfig
from kscand_perf.filtered import make_analyzer
from kscand_perf.render import csv_tables, json_chunks, text, to_json
from kscand_perf.options import parse
from kscand_perf.report import Selection, build
from kscand_perf.session import run_meta
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")


def config_for(seed: int) -> AnalyzerConfig:
    rng = random.Random(seed * 7919)
    window = None
    if rng.random() < 0.3:
        lo = rng.randint(0, 2) * 10 ** 9
        window = (lo, lo + rng.randint(1, 3) * 10 ** 9)
    node = rng.choice([None, None, None, 0, 1, 3])
    return AnalyzerConfig(unit_ns=rng.choice([1, 1000, 1000000]), time_window_ns=window,
                          node=node, linear_width_ns=rng.choice([None, 100000]))


def selection_for(seed: int) -> Selection:
    rng = random.Random(seed * 104729)
    r = rng.random()
    if r < 0.1:
        return Selection(pids=(rng.randint(2000, 4000),))
    if r < 0.2:
        return Selection(mms=(0xFFFF888000000000,))
    return Selection()


@pytest.mark.parametrize("seed", range(300))
def test_random_sequences_are_accounted_for(seed: int) -> None:
    items = generate(seed, n=random.Random(seed).choice([0, 5, 50, 300]))
    a = make_analyzer(config_for(seed))
    unhandled: Dict[str, int] = {}
    fed = feed(a, items, unhandled)
    report = build(a, selection_for(seed), unhandled)
    j = to_json(report)
    acc = j["accounting"]
    assert acc["events_in"] == fed
    assert fed == sum(v for k, v in acc.items() if k != "events_in")
    assert all(v >= 0 for v in acc.values())
    if j["selection"] is None:
        assert acc["analysed"] == sum(j["events"].values())
    else:  # the Events table is the selection's (issue 19)
        assert j["selection"]["kept_events"] == sum(j["events"].values()) <= acc["analysed"]
    assert acc["unhandled"] == sum(unhandled.values())
    s = j["scans"]
    ev = j["events"]
    if not selection_for(seed).active():
        assert s["completed"] + s["not_due"] + s["in_flight"] == ev["kmem_scan_mm_start"]
        assert s["completed"] + s["orphan_ends"] == ev["kmem_scan_mm_end"]
        assert j["migrations"]["attempted"] == ev["kmem_scan_mm_migrate"]
        assert len(j["mms"]) == a.lifetime_count()
        assert sum(m["scans"]["not_due"] for m in j["mms"]) == s["not_due"]
        assert sum(m["scans"]["in_flight"] for m in j["mms"]) == s["in_flight"]
    b = j["migrations"]["batch_size"]
    assert (b["count"] if b else 0) == j["migrations"]["batches"]
    assert "".join(json_chunks(report)) == json.dumps(j, indent=2) + "\n"
    text(report, config_for(seed).unit_ns, top=random.Random(seed).choice([0, 1, 20]))
    csv_tables(report, config_for(seed).unit_ns)


PERF_SEEDS = (3, 17, 42, 99, 123)


def _perf_json(perf: str, path: str) -> Dict[str, Any]:
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", path, "--", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("seed", PERF_SEEDS)
def test_random_sequences_through_perf_equal_the_core(perf: str, tmp_path: Any,
                                                      seed: int) -> None:
    """What perf hands the handlers (zero-extended ints, its own dispatch) gives the
    report the core gives on the same events; every sample perf read is accounted for."""
    items: List[Emitted] = [e for e in generate(seed, n=400, monotonic=True)
                            if isinstance(e, Emitted)]
    path = str(tmp_path / "gen.data")
    write_trace(path, items)
    got = _perf_json(perf, path)
    a = make_analyzer(AnalyzerConfig())
    feed(a, list(items), {})
    report = build(a)
    # the front end's: the input as given, its header, the options
    report.run = run_meta(path, parse(["--json"]))
    want = to_json(report)
    assert got == want
    assert got["accounting"]["events_in"] == len(items)
