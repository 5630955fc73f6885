"""The human report on a small committed trace, compared with a golden file.

The golden file catches any change to the text report; its numbers are checked
against the simulator's committed ground truth, so the golden file itself is
not taken on trust. After an intended change of the text: `make golden`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any, Dict

from conftest import ROOT

DATA = os.path.join(ROOT, "tests", "data")
TRACE = os.path.join(DATA, "small.data")
TRUTH = os.path.join(DATA, "small.truth.json")
GOLDEN = os.path.join(DATA, "small.report.txt")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")


def render(perf: str) -> str:
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", TRACE], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_text_report_equals_golden(perf: str) -> None:
    with open(GOLDEN, encoding="utf-8") as f:
        golden = f.read()
    assert render(perf) == golden, "the text report changed: check it, then `make golden`"


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def _row(golden: str, label: str) -> str:
    m = re.search(r"^\s*%s\s{2,}(.*)$" % re.escape(label), golden, re.M)
    assert m, "no line starting with %r in the golden report" % label
    return m.group(1)


def test_golden_numbers_match_the_truth() -> None:
    with open(GOLDEN, encoding="utf-8") as f:
        golden = f.read()
    with open(TRUTH, encoding="utf-8") as f:
        truth: Dict[str, Any] = json.load(f)
    for name, count in truth["events"].items():
        assert _n(_row(golden, name)) == count, name
    s = truth["scans"]
    assert _n(_row(golden, "scan ends")) == truth["events"]["kmem_scan_mm_end"]
    assert _n(_row(golden, "completed scans (start and end)")) == s["completed"]
    # the simulator's truth counts every start without an end; the report tells the ones in
    # flight at the end apart (issue 23)
    assert _n(_row(golden, "unpaired starts (not due, or end lost)")) + _n(
        _row(golden, "starts in flight at the end")) == s["not_due"]
    assert _n(_row(golden, "ends without a start")) == s["orphan_ends"]
    assert _n(_row(golden, "mm exited during its scan")) == s["exited_during_scan"]
    assert _n(_row(golden, "full address-space passes (wraps)")) == s["full_passes"]
    assert _n(_row(golden, "pages found (accessed, slow tier)")) == s["pages_found"]
    d = s["duration_ns"]
    cells = _row(golden, "all scans").split()
    assert float(cells[0].replace(",", "")) == d["min"] / 1000  # min, us
    assert float(cells[-2].replace(",", "")) == d["max"] / 1000  # max, us
    assert abs(float(cells[-1].replace(",", "")) - d["total"] / 1000) < 0.001  # total, us
    m = truth["migrations"]
    assert [_n(c) for c in _row(golden, "all").split()[:3]] == [
        m["attempted"], m["succeeded"], m["failed"]]
    for rc, info in m["by_rc"].items():
        assert _n(_row(golden, "%s  %s" % (rc, info["name"])).split()[0]) == info["count"]
