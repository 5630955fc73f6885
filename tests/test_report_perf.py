"""The report through the real `perf script -s`, on simulator traces, against the
simulator's own ground truth (counts, min, max, totals exact; percentiles within 2%).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from typing import Any, Dict, List, Optional, Tuple

import pytest

from kscand_testkit.formats import POSTED_V3_PRINT_FMTS
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, simulate
from truth_compare import compare_report_to_truth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")


def make_trace(tmp: str, config: SynthConfig, pipe: bool = False,
               posted: bool = False) -> Tuple[str, Dict[str, Any]]:
    path = os.path.join(tmp, "trace-%d%s.data" % (config.seed, "-pipe" if pipe else ""))
    sim = simulate(config)
    write_trace(path, sim, pipe=pipe, print_fmts=POSTED_V3_PRINT_FMTS if posted else None)
    return path, sim.truth()


def run_report(perf: str, trace: str, args: List[str], stdin: Optional[bytes] = None,
               cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    cmd = [perf, "script", "-s", SCRIPT, "-i", "-" if stdin is not None else trace]
    if args:
        cmd += ["--"] + args
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=600, cwd=cwd)


def report_json(perf: str, trace: str, args: Tuple[str, ...] = (),
                stdin: Optional[bytes] = None) -> Dict[str, Any]:
    proc = run_report(perf, trace, ["--json"] + list(args), stdin)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


CONFIGS = [
    SynthConfig(seed=1),
    SynthConfig(seed=2, mms=40, seconds=30, exit_during_scan_prob=0.2),
    SynthConfig(seed=3, mms=4, seconds=20, sched=False),
    SynthConfig(seed=4, mms=8, seconds=45, fork_rate=8.0, pointer_reuse_prob=1.0),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "seed%d" % c.seed)
def test_json_equals_truth_file_mode(perf: str, tmp_path: Any, config: SynthConfig) -> None:
    trace, truth = make_trace(str(tmp_path), config)
    compare_report_to_truth(report_json(perf, trace), truth)


def test_json_equals_truth_pipe_mode(perf: str, tmp_path: Any) -> None:
    config = SynthConfig(seed=5, mms=12, seconds=30)
    trace, truth = make_trace(str(tmp_path), config, pipe=True)
    with open(trace, "rb") as f:
        data = f.read()
    compare_report_to_truth(report_json(perf, trace, stdin=data), truth)


def test_posted_printk_gives_the_same_report(perf: str, tmp_path: Any) -> None:
    config = SynthConfig(seed=6, mms=6, seconds=20)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, truth = make_trace(str(tmp_path / "a"), config)
    posted, _ = make_trace(str(tmp_path / "b"), config, posted=True)
    a, b = report_json(perf, ours), report_json(perf, posted)
    compare_report_to_truth(b, truth)
    assert (a.pop("run")["input"], b.pop("run")["input"]) == (ours, posted)
    assert a == b


def test_filters_against_truth(perf: str, tmp_path: Any) -> None:
    trace, truth = make_trace(str(tmp_path), SynthConfig(seed=7, mms=10, seconds=30))
    owned = [m for m in truth["mms"] if m["pid"] is not None and m["scans"]["completed"]]
    target = owned[0]
    by_pid = report_json(perf, trace, ("--pid", str(target["pid"])))
    want = [m for m in truth["mms"] if m["pid"] == target["pid"]]
    assert sorted((m["mm"], m["generation"]) for m in by_pid["mms"]) == sorted(
        (m["mm"], m["generation"]) for m in want)
    assert by_pid["scans"]["completed"] == sum(m["scans"]["completed"] for m in want)
    by_mm = report_json(perf, trace, ("--mm", target["mm"]))
    want = [m for m in truth["mms"] if m["mm"] == target["mm"]]
    assert by_mm["migrations"]["attempted"] == sum(m["migrations"]["attempted"] for m in want)
    # the truth's not_due: every start without an end, in flight at the end or not
    assert by_mm["scans"]["not_due"] + by_mm["scans"]["in_flight"] == sum(
        m["scans"]["not_due"] for m in want)
    by_node = report_json(perf, trace, ("--node", "1"))
    assert by_node["migrations"]["attempted"] == truth["migrations"]["by_node"].get(
        "1", {}).get("attempted", 0)
    nodes = truth["scans"]["ends_by_target_node"]
    assert by_node["scans"]["ends_by_target_node"] == ({"1": nodes["1"]} if "1" in nodes else {})


def test_text_and_csv_outputs(perf: str, tmp_path: Any) -> None:
    trace, truth = make_trace(str(tmp_path), SynthConfig(seed=8, mms=6, seconds=20))
    proc = run_report(perf, trace, ["--ms", "--top", "3", "--per-mm", "--linear", "1"])
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    for title in ("Events", "Scans", "Scan duration histogram (ms)", "Scan adaptation",
                  "Processes (mm lifetimes; scan durations in ms)", "Migrations",
                  "linear buckets"):
        assert title in out
    assert max(len(line) for line in out.splitlines()
               if "|" in line and "->" in line) <= 80
    # the truth's not_due holds the one start in flight at the end (one kscand thread)
    assert re.search(r"unpaired starts \(not due, or end lost\) +%s\n"
                     r"starts in flight at the end +1\n"
                     % "{:,}".format(truth["scans"]["not_due"] - 1), out)
    csv_dir = tmp_path / "csv"
    proc = run_report(perf, trace, ["--csv", str(csv_dir)])
    assert proc.returncode == 0, proc.stderr.decode()
    with open(csv_dir / "migrations_by_rc.csv") as f:
        rows = {r["rc"]: int(r["count"]) for r in csv.DictReader(f)}
    assert rows == {rc: v["count"] for rc, v in truth["migrations"]["by_rc"].items()}
    with open(csv_dir / "mms.csv") as f:
        mms = list(csv.DictReader(f))
    assert len(mms) == len(truth["mms"])
    assert sum(int(m["completed"]) for m in mms) == truth["scans"]["completed"]


def test_usage_and_bad_options_through_perf(perf: str, tmp_path: Any) -> None:
    trace, _ = make_trace(str(tmp_path), SynthConfig(seed=9, mms=2, seconds=2))
    proc = run_report(perf, trace, ["-h"])
    assert proc.returncode == 0
    assert b"--vmstat" in proc.stdout and b"--comm REGEX" in proc.stdout
    proc = run_report(perf, trace, ["--top", "x"])
    assert proc.returncode == 2
    err = proc.stderr.decode().strip().splitlines()
    assert [line for line in err if "kscand_report.py: error:" in line] == [
        "kscand_report.py: error: argument --top: invalid int value: 'x' "
        "(see: python3 %s -h)" % SCRIPT]
    proc = run_report(perf, trace, ["--csv", "/proc/forbidden"])
    assert proc.returncode == 1
    assert b"--csv: cannot create the folder /proc/forbidden" in proc.stderr
    assert b"Traceback" not in proc.stderr
