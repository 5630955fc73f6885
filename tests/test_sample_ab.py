"""The A/B sample (samples/kscand-ab-sample.*), checked with perf only (no kernel, no QEMU).

It was recorded by `e2e/kscand/stage.py sample` (`make sample-ab`) on the kscand kernel in the
real-kscand stage's "both" mode: kscand scanning and kernel.numa_balancing=2, so both
promoters moved the workload's pages. Its truth (kscand-ab-sample.truth.json) is the
independent oracle's count from `perf script --ns` text (tests/oracle/mechanisms.py) and the
/proc/vmstat deltas over the recording.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict

import pytest

from conftest import ROOT, require

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oracle import Options, SCRIPT_FIELDS, oracle_report, parse_script  # noqa: E402
from oracle.mechanisms import mechanisms, on_cpu  # noqa: E402

AB = os.path.join(ROOT, "samples", "kscand-ab-sample")
DATA = AB + ".data"
VMSTAT = (DATA + ".vmstat-before.txt", DATA + ".vmstat-after.txt")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
MECHANISMS = ("kscand", "numa_balancing", "damon", "demotion", "other")
MAX_BYTES = 1 << 20


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def truth() -> Dict[str, Any]:
    assert os.path.exists(AB + ".truth.json"), "samples/kscand-ab-sample.truth.json is " \
        "missing (make sample-ab)"
    with open(AB + ".truth.json", encoding="utf-8") as f:
        return json.load(f)


def script_text(perf: str) -> str:
    proc = subprocess.run([perf, "script", "--ns", "-F", SCRIPT_FIELDS, "-i", DATA],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode("utf-8", errors="replace")


def report_json(perf: str) -> Dict[str, Any]:
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", DATA, "--", "--vmstat",
                           VMSTAT[0], VMSTAT[1], "--json"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def deltas() -> Dict[str, int]:
    snaps = []
    for path in VMSTAT:
        values = {}
        for line in read(path).splitlines():
            if line.strip() and not line.startswith("#"):
                name, value = line.split()
                values[name] = int(value)
        snaps.append(values)
    return {n: snaps[1][n] - snaps[0].get(n, 0) for n in snaps[1]}


@pytest.fixture(scope="module")
def samples(perf: str) -> Any:
    return parse_script(script_text(perf))


def test_ab_sample_is_small() -> None:
    assert os.path.getsize(DATA) < MAX_BYTES


def test_ab_sample_truth_is_the_oracles(samples: Any) -> None:
    """The committed truth is what the oracle counts on the sample today."""
    t = truth()
    assert t["samples"] == len(samples)
    assert t["mechanisms"] == mechanisms(samples)
    assert t["kmigrated"] == on_cpu(samples)
    assert t["kscand"] == on_cpu(samples, "kscand")
    assert t["counter_deltas"] == deltas()


def test_ab_sample_has_both_promoters() -> None:
    """Both mechanisms promoted; the counters are the sums of the mechanisms they include;
    kmigrated's successes equal kscand's rc-0 events."""
    t = truth()
    m, d = t["mechanisms"], t["counter_deltas"]
    by = m["by_mechanism"]
    kscand, nb = by["kscand"]["pages_succeeded"], by["numa_balancing"]["pages_succeeded"]
    assert kscand > 0 and nb > 0, by
    assert m["cross_check"]["equal"] is True
    assert [p["comm"] for p in m["numa_balancing_by_process"]] == ["kscand-workload"]
    assert d["pgpromote_success"] == d["numa_pages_migrated"] == kscand + nb, d
    assert d["pgmigrate_success"] == sum(by[x]["pages_succeeded"] for x in MECHANISMS), d
    assert d["nr_kscand_migrated"] == kscand, d
    assert d["numa_hint_faults"] > 0, d
    assert t["kmigrated"]["cpu_ns"] > 0
    assert "numa_balancing 2" in read(DATA + ".kscand.txt").splitlines()


def test_ab_sample_report_equals_the_oracle(perf: str) -> None:
    """Every field of the report's JSON on the sample equals the oracle's."""
    from oracle_check import check
    want = oracle_report(parse_script(script_text(perf)), Options(vmstat=VMSTAT),
                         input_name=DATA, input_path=DATA,
                         vmstat_text=(read(VMSTAT[0]), read(VMSTAT[1])))
    failing = check(report_json(perf), want)
    assert not failing, "\n".join(str(d) for d in failing[:40])


def test_ab_sample_report_mechanisms_equal_the_truth(perf: str) -> None:
    """The report's promotions by mechanism on the sample equal its truth."""
    js = report_json(perf)
    require("mechanisms" in js, "report.json has no 'mechanisms' key yet (issue 20 items "
            "1-2: the promotions-by-mechanism section is not in this branch)")
    want = truth()["mechanisms"]
    for mech in MECHANISMS:
        for key, value in want["by_mechanism"][mech].items():
            assert js["mechanisms"]["by_mechanism"][mech][key] == value, (mech, key)
    assert js["mechanisms"]["cross_check"] == want["cross_check"]
    assert sorted(js["mechanisms"]["numa_balancing_by_process"], key=lambda p: p["pid"]) == (
        want["numa_balancing_by_process"])
