"""End to end: a real kernel emits the kscand tracepoints and the real perf records them.

The e2e stage (e2e/harness.py run) compiles the TRACE_EVENT definitions of
patch/ into a test module for Debian's stock kernel, boots that kernel once
under QEMU, fires the events of simulator scenarios from threads named
kscand and kmigrated (and enter/exit from tasks with the scenario's pids and
comms), and records them with the real perf inside the guest. The stage runs
once per test session (or not at all when build/e2e holds a successful run of
the same inputs); these tests check its results:

(a) the formats the guest kernel printed equal events.EventDef.format_text;
(b) every recorded event equals the fired one, in order: event, values, pid,
    comm, CPU and the thread's role;
(c) the report (perf script -s perf-scripts/kscand_report.py -- --json) equals
    the scenario's truth recomputed with the recorded timestamps.

The bundled sample (samples/) is checked the same way without QEMU, with perf
only. Without QEMU or the kernel packages the stage tests skip with the
reason; KSCAND_PERF_REQUIRE_E2E=1 turns those skips into failures.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence

import pytest

from conftest import ROOT, require
from kscand_perf.events import KSCAND_EVENTS
from truth_compare import compare_report_to_truth

E2E = os.path.join(ROOT, "e2e")
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import harness  # noqa: E402
import recording  # noqa: E402
import scenarios as scen  # noqa: E402

SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
SAMPLES = os.path.join(ROOT, "samples")
STAGE_BUDGET_S = 180.0     # the whole warm stage, one boot for all scenarios


@pytest.fixture(scope="session")
def stage() -> Dict[str, Any]:
    """Run the e2e stage once per session (or reuse a fresh result); its stage.json."""
    cmd = [sys.executable, os.path.join(E2E, "harness.py"), "run", "--reuse"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=900, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("the e2e stage did not finish within 900 s", pytrace=False)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode == harness.EXIT_UNAVAILABLE:
        require(False, "the e2e stage cannot run here: %s" % err.strip().splitlines()[-1])
    if proc.returncode != 0:
        pytest.fail("e2e stage failed (exit %d):\n%s" % (proc.returncode, err[-6000:]),
                    pytrace=False)
    record = harness.read_stage()
    assert record is not None and record.get("ok"), "no stage.json after a successful run"
    sys.stderr.write("e2e stage: %s\n" % err.strip().replace("\n", "; ")[-600:])
    return record


def results(record: Dict[str, Any], name: str) -> str:
    return os.path.join(record["results"], name)


def fired_lines(record: Dict[str, Any], name: str) -> List[scen.Fired]:
    path = os.path.join(os.path.dirname(record["results"]), "scenarios", name + ".lines")
    with open(path) as f:
        return scen.parse_lines(f)


def _describe(rec: recording.Recorded) -> str:
    return "%s %s pid %d comm %r cpu %d" % (rec.event, rec.values, rec.pid, rec.comm, rec.cpu)


def assert_recorded_equals_fired(recorded: Sequence[recording.Recorded],
                                 fired: Sequence[scen.Fired],
                                 threads: Optional[Dict[str, Any]]) -> None:
    """Every recorded event is the fired one, in order: event, values, role, pid, comm, cpu.

    ``threads`` gives the kthreads' pids (/proc/kscand_e2e); without it each role's
    pid is taken from its first recorded event and must stay the same.
    """
    if threads is not None:
        kthreads = {"kscand": threads["kscand"]["pid"], "kmigrated": threads["kmigrated"]["pid"]}
    else:
        kthreads = {}
        for got, want in zip(recorded, fired):
            if want.role != "task":
                kthreads.setdefault(want.role, got.pid)
        kthreads.setdefault("kscand", -1)
        kthreads.setdefault("kmigrated", -2)
    assert kthreads["kscand"] != kthreads["kmigrated"]
    task_pids = {f.pid for f in fired if f.role == "task"}
    assert not task_pids & set(kthreads.values())
    for i, (got, want) in enumerate(zip(recorded, fired)):
        pid = want.pid if want.role == "task" else kthreads[want.role]
        ok = (got.event == want.event and got.values == want.values and got.pid == pid
              and got.tid == pid and got.comm == want.comm and got.cpu == want.cpu)
        assert ok, ("event %d differs:\n  recorded %s\n  fired    %s %s pid %d comm %r cpu %d"
                    % (i, _describe(got), want.event, want.values, pid, want.comm, want.cpu))
    assert len(recorded) == len(fired), (
        "recorded %d events, fired %d" % (len(recorded), len(fired)))
    times = [r.time_ns for r in recorded]
    assert times == sorted(times)


def report_json(perf: str, data: str) -> Dict[str, Any]:
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", data, "--", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def truth_for(scenario: scen.Scenario, recorded: Sequence[recording.Recorded],
              fired: Sequence[scen.Fired]) -> Dict[str, Any]:
    """The scenario's truth with the recorded timestamps; checks the stream is the fired one."""
    sim = scenario.simulation()
    events = list(sim)
    assert len(events) == len(fired), "the simulator no longer makes the recorded scenario"
    for i, (e, f) in enumerate(zip(events, fired)):
        assert (e.event, tuple(e.values)) == (f.event, f.values), (
            "event %d: the simulator now makes %s %s, the recording has %s %s"
            % (i, e.event, e.values, f.event, f.values))
    return sim.truth_with_times([r.time_ns for r in recorded])


# -------------------------------------------------------------------- the stage

NAMES = [sc.name for sc in scen.SCENARIOS]


def test_formats_equal_schema(stage):
    """(a) /sys/kernel/tracing/events/kmem/EVENT/format of the guest == format_text(ID)."""
    for ev in KSCAND_EVENTS:
        with open(results(stage, os.path.join("formats", ev.name)), "rb") as f:
            text = f.read().decode()
        lines = text.split("\n")
        assert lines[1].startswith("ID: "), lines[:3]
        event_id = int(lines[1][4:])
        assert text == ev.format_text(event_id), (
            "%s: the kernel prints\n%s\nthe schema says\n%s"
            % (ev.name, text, ev.format_text(event_id)))


def test_guest_is_the_resolved_kernel(stage):
    with open(results(stage, "guest-uname")) as f:
        assert f.read().strip() == stage["kernel"]["release"]


@pytest.mark.parametrize("name", NAMES)
def test_recorded_equals_fired(stage, perf, name):
    """(b) count, order, values, pid, comm, CPU and thread role of every event."""
    with open(results(stage, name + ".record.log")) as f:
        log = f.read()
    assert "lost" not in log.lower(), log
    recorded = recording.read(perf, results(stage, name + ".data"))
    fired = fired_lines(stage, name)
    threads = harness.read_threads(results(stage, name + ".threads"))
    before = harness.read_threads(results(stage, name + ".threads-before"))
    assert threads["fired"] - before["fired"] == len(fired)
    assert_recorded_equals_fired(recorded, fired, threads)


@pytest.mark.parametrize("name", NAMES)
def test_report_equals_truth(stage, perf, name):
    """(c) the report on the real recording == the truth recomputed with its timestamps."""
    with open(results(stage, name + ".scenario.json")) as f:
        scenario = scen.Scenario.from_json(json.load(f))
    data = results(stage, name + ".data")
    recorded = recording.read(perf, data)
    truth = truth_for(scenario, recorded, fired_lines(stage, name))
    compare_report_to_truth(report_json(perf, data), truth)


def test_scenarios_cover_every_case(stage):
    """Together the scenarios exercise every case the stage is there for."""
    covered = set()
    for name in NAMES:
        with open(results(stage, name + ".scenario.json")) as f:
            data = json.load(f)
        missing = [c for c in data["covers"] if not data["coverage"].get(c)]
        assert not missing, "scenario %s no longer covers %s" % (name, missing)
        covered |= {c for c, v in data["coverage"].items() if v}
    assert set(scen.ALL_CASES) <= covered


def test_stage_time(stage):
    """A warm stage (kernel cached) stays within its budget."""
    if stage.get("reused") or stage.get("cold"):
        pytest.skip("timing applies to a warm run that booted (this one %s)"
                    % ("reused a fresh result" if stage.get("reused") else "was cold"))
    assert stage["total_seconds"] < STAGE_BUDGET_S, stage["steps"]


# ------------------------------------------------------------------- the sample

def _sample() -> Dict[str, Any]:
    path = os.path.join(SAMPLES, scen.SAMPLE.name + ".scenario.json")
    assert os.path.exists(path), "samples/%s.scenario.json is missing (make sample)" % (
        scen.SAMPLE.name)
    with open(path) as f:
        return json.load(f)


def _sample_fired() -> List[scen.Fired]:
    with gzip.open(os.path.join(SAMPLES, scen.SAMPLE.name + ".lines.gz"), "rt") as f:
        return scen.parse_lines(f)


def test_sample_recorded_equals_fired(perf):
    """Every event of the bundled sample is the fired one (no QEMU needed, only perf)."""
    data = _sample()
    recorded = recording.read(perf, os.path.join(SAMPLES, scen.SAMPLE.name + ".data"))
    fired = _sample_fired()
    assert len(fired) == data["events"]
    assert_recorded_equals_fired(recorded, fired, None)


def test_sample_report_equals_truth(perf):
    """The report on the sample equals the truth committed with it."""
    with open(os.path.join(SAMPLES, scen.SAMPLE.name + ".truth.json")) as f:
        truth = json.load(f)
    compare_report_to_truth(report_json(perf, os.path.join(SAMPLES, scen.SAMPLE.name + ".data")),
                            truth)


def test_sample_truth_is_the_simulators(perf):
    """While the simulator still makes the sample's stream, its truth is the committed one."""
    data = _sample()
    sim = scen.Scenario.from_json(data).simulation()
    events = list(sim)
    fired = _sample_fired()
    if [(e.event, tuple(e.values)) for e in events] != [(f.event, f.values) for f in fired]:
        pytest.skip("the simulator changed since the sample was recorded (make sample)")
    recorded = recording.read(perf, os.path.join(SAMPLES, scen.SAMPLE.name + ".data"))
    now = json.loads(json.dumps(sim.truth_with_times([r.time_ns for r in recorded])))
    with open(os.path.join(SAMPLES, scen.SAMPLE.name + ".truth.json")) as f:
        assert now == json.load(f), "samples/*.truth.json is stale (make sample)"


def test_sample_is_small():
    total = sum(os.path.getsize(os.path.join(SAMPLES, n)) for n in os.listdir(SAMPLES)
                if n.startswith(scen.SAMPLE.name))
    assert total < 1 << 20, total
