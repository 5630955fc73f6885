"""--strict: exit 2 after the report when it found what a test pipeline should stop on.

Each kind of finding once (counters that disagree, events perf lost, a sequence break,
duplicate samples, events the report could not use), in the core and through the
front ends: the report is written the same, one line per finding goes to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List, Sequence, Tuple

from conftest import ROOT
from kscand_perf import strict
from kscand_perf.filtered import make_analyzer
from kscand_perf.report import build
from kscand_testkit.perfdata import PerfDataWriter
from kscand_testkit.stream import Emitted

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
KSCAND_PERF = os.path.join(ROOT, "bin", "kscand-perf")
A = 0xFFFF888000001000
S = 1000000000
KSCAND, KMIG = 50, 51
END = (0, 5, 2000, 1 << 30, 0)


def found(events: Sequence[Tuple[Any, ...]]) -> List[str]:
    a = make_analyzer()
    for kind, *args in events:
        getattr(a, kind)(*args)
    return strict.problems(build(a))


def test_a_clean_run_finds_nothing() -> None:
    assert found([("scan_start", 1, 0, KSCAND, A), ("scan_end", S + 300, KSCAND, A) + END,
                  ("migrate", 1, 400, KMIG, A, 0, 0, 1, 0),
                  ("migrate", 1, 500, KMIG, A, 0, 0, 2, 0)]) == []


def test_each_finding_is_one_line() -> None:
    assert found([("scan_start", 1, 0, KSCAND, A), ("scan_start", 1, 0, KSCAND, A),
                  ("scan_end", S + 300, KSCAND, A) + END]) == [
        "1 duplicate samples: kmem_scan_mm_start 1"]
    assert found([("migrate", 1, 400, KMIG, A, 0, 0, 1, 0),
                  ("migrate", 1, 500, KMIG, A, 0, 0, 3, 0)]) == [
        "1 migrate events broke the msuccess+mfailed sequence"]
    assert found([("bad", "kmem:kmem_scan_mm_end", ValueError("x"))]) == [
        "1 events the report could not use: unusable data: kmem:kmem_scan_mm_end 1"]
    a = make_analyzer()
    assert strict.problems(build(a), lost_events=130) == ["perf lost 130 events"]


def run(argv: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=600)


def counters(tmp_path: Any) -> Tuple[str, str]:
    """Snapshots whose deltas the sample's events cannot match."""
    before, after = tmp_path / "before.txt", tmp_path / "after.txt"
    before.write_text("nr_kscand_mm_scans 0\nnr_kscand_migrated 0\n")
    after.write_text("nr_kscand_mm_scans 1\nnr_kscand_migrated 1\n")
    return str(before), str(after)


def test_kscand_perf_report_exits_2_with_the_same_report(tmp_path: Any) -> None:
    before, after = counters(tmp_path)
    args = [sys.executable, KSCAND_PERF, "report", "-i", SAMPLE, "--vmstat", before, after]
    plain, strict_run = run(args), run(args + ["--strict"])
    assert plain.returncode == 0 and strict_run.returncode == 2
    assert strict_run.stdout == plain.stdout
    lines = strict_run.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "kscand-perf report: strict: the kernel's counters disagree with the trace: "
        "nr_kscand_mm_scans 1 in the kernel, "), lines
    ok = run([sys.executable, KSCAND_PERF, "report", "-i", SAMPLE, "--strict"])
    assert (ok.returncode, ok.stderr) == (0, b"")


def test_lost_events_under_kscand_perf(tmp_path: Any) -> None:
    path = str(tmp_path / "lost.data")
    with open(path, "wb") as f:
        w = PerfDataWriter(f)
        w.extend([Emitted(1000, 0, 40, "kscand", "kmem_scan_mm_start", (A,)),
                  Emitted(2000, 1, 77, "w", "kmem_mm_exit", (A,))])
        w.lost(1500, 0, 123)
        w.close()
    proc = run([sys.executable, KSCAND_PERF, "report", "-i", path, "--strict"])
    assert proc.returncode == 2
    assert proc.stderr.decode() == "kscand-perf report: strict: perf lost 123 events\n"


def test_perf_script_exits_2(perf: str, tmp_path: Any) -> None:
    before, after = counters(tmp_path)
    proc = run([perf, "script", "-s", SCRIPT, "-i", SAMPLE, "--", "--strict",
                "--vmstat", before, after])
    assert proc.returncode == 2, proc.stderr.decode()
    assert "kscand_report.py: strict: the kernel's counters disagree" in proc.stderr.decode()
    assert proc.stdout.startswith(b"kscand report: ")
    ok = run([perf, "script", "-s", SCRIPT, "-i", SAMPLE, "--", "--strict"])
    assert ok.returncode == 0, ok.stderr.decode()
