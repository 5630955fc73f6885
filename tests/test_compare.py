"""kscand-perf compare: two JSON reports side by side, checked on hand-made reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict

import pytest

from conftest import ROOT
from kscand_perf.compare import CompareError, compare
from kscand_perf.render import compare as render

KSCAND_PERF = os.path.join(ROOT, "bin", "kscand-perf")


def report(span_s: float, completed: int, p99: int, attempted: int, ok: int,
           by_rc: Dict[str, int]) -> Dict[str, Any]:
    """The parts of a --json report that compare reads, as the schema documents them."""
    return {
        "schema": "kscand-perf/1",
        "events": {"kmem_scan_mm_start": 1000},
        "time_ns": {"first": 10 ** 9, "last": 10 ** 9 + int(span_s * 1e9)},
        "scans": {"completed": completed, "not_due": 1000 - completed, "full_passes": 1,
                  "pages_found": attempted,
                  "duration_ns": {"mean": 2000.0, "p50": 1000, "p90": 1500, "p99": p99,
                                  "max": 5000, "total": 2000 * completed},
                  "scan_period_ms": {"last": 2000, "max": 2000},
                  "scan_size": {"last": 1 << 30}},
        "migrations": {"attempted": attempted, "succeeded": ok, "failed": attempted - ok,
                       "by_rc": {rc: {"name": "N" + rc, "count": n} for rc, n in by_rc.items()},
                       "latency_ns": None},
    }


A = report(10.0, 40, 10000, 200, 50, {"0": 50, "10": 150})
B = report(20.0, 50, 10150, 300, 150, {"0": 150, "10": 140, "-11": 10})


def by_name(c: Any) -> Dict[str, Any]:
    return {f.name: f for f in c.figures}


def test_figures_and_differences() -> None:
    f = by_name(compare(A, B, "a.json", "b.json"))
    assert (f["completed scans"].a, f["completed scans"].b) == (40, 50)
    assert f["completed scans"].diff == 10 and f["completed scans"].relative == 0.25
    assert f["recording span"].a == 10.0 and f["recording span"].b == 20.0
    assert f["success ratio"].a == 25.0 and f["success ratio"].b == 50.0
    # 50 / 10 s and 150 / 20 s
    assert f["promotions succeeded per second"].a == 5.0
    assert f["promotions succeeded per second"].b == 7.5
    assert f["detection to first attempt, mean"].a is None
    assert f["detection to first attempt, mean"].diff is None
    # rc rows, most frequent first over both runs: 10 (290), 0 (200), -11 (10)
    assert [x.name for x in compare(A, B).figures if x.name.startswith("rc ")] == [
        "rc 10 N10", "rc 0 N0", "rc -11 N-11"]
    assert (f["rc -11 N-11"].a, f["rc -11 N-11"].b, f["rc -11 N-11"].relative) == (0, 10, None)


def test_percentiles_closer_than_their_error_are_flagged() -> None:
    f = by_name(compare(A, B))
    # 10000 vs 10150: 150 <= 1% of (10000 + 10150) = 201.5
    assert f["scan duration p99"].within_error is True
    assert f["scan duration mean"].within_error is False  # means are exact
    far = report(10.0, 40, 10300, 200, 50, {"0": 50})
    assert by_name(compare(A, far))["scan duration p99"].within_error is False


def test_text_and_json() -> None:
    c = compare(A, B, "a.json", "b.json")
    out = render.text(c)
    assert out.startswith("A: a.json\nB: b.json\n")
    line = next(x for x in out.splitlines() if x.startswith("completed scans"))
    assert line.split()[2:] == ["40", "50", "+10", "+25.0%"]
    line = next(x for x in out.splitlines() if x.startswith("success ratio"))
    assert line.split()[2:] == ["25.0%", "50.0%", "+25.0", "pp", "+100.0%"]
    assert "within error" in next(x for x in out.splitlines() if "p99" in x)
    js = json.loads(render.json_text(c))
    assert js["schema"] == "kscand-perf-compare/1" and js["a"] == "a.json"
    row = next(x for x in js["figures"] if x["name"] == "completed scans")
    assert row == {"name": "completed scans", "unit": "", "a": 40, "b": 50, "diff": 10,
                   "relative": 0.25, "within_error": False}


def test_not_a_report() -> None:
    with pytest.raises(CompareError, match="x.json: not a kscand-perf JSON report"):
        compare({"schema": "other"}, B, "x.json")


def test_command(tmp_path: Any) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(A))
    b.write_text(json.dumps(B))
    proc = subprocess.run([sys.executable, KSCAND_PERF, "compare", "--json", str(a), str(b)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["figures"][0]["name"] == "recording span"
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    for args, message in (([str(a), str(bad)], "not JSON"),
                          ([str(a), str(tmp_path / "none.json")], "cannot read"),
                          ([str(a)], "the following arguments are required")):
        proc = subprocess.run([sys.executable, KSCAND_PERF, "compare"] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and proc.stdout == b"" and "Traceback" not in err
        assert err.count("\n") == 1 and err.startswith("kscand-perf compare: error: ")
        assert message in err
