"""The report on a recording from a kernel that really ran kscand (../shared/traces).

Every expected figure below is copied from that recording's own notes
(kscand-real-1.notes.md, written when it was recorded), not from this program.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict

import pytest

from conftest import ROOT, require

TRACE = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")


@pytest.fixture(scope="module")
def report(perf: str) -> Dict[str, Any]:
    require(os.path.exists(TRACE), "the real kscand trace is not here (../shared/traces: "
            "only the project's own machines have it)")
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", TRACE, "--", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_event_counts_match_the_notes(report: Dict[str, Any]) -> None:
    assert report["events"] == {"kmem_mm_enter": 263, "kmem_mm_exit": 263,
                                "kmem_scan_mm_start": 97913, "kmem_scan_mm_end": 39,
                                "kmem_scan_mm_migrate": 65740}
    assert report["other_events"] == {"sched:sched_process_fork": 145,
                                      "sched:sched_process_exec": 130,
                                      "sched:sched_process_exit": 145}
    assert report["bad_events"] == {} and report["unhandled_events"] == {}


def test_scans_match_the_notes(report: Dict[str, Any]) -> None:
    s = report["scans"]
    # only ends mark real scans: 97,913 starts against 39 ends, every one a full pass
    assert s["completed"] + s["orphan_ends"] == 39
    assert s["completed"] + s["not_due"] + s["in_flight"] == 97913
    assert s["in_flight"] == 1      # kscand's last start, in flight when perf stopped
    assert s["full_passes"] == 39
    # "39 ends, 13 distinct mms": 13 pointers, some of them reused by later processes
    ended = [m for m in report["mms"] if m["scans"]["completed"] + m["scans"]["orphan_ends"]]
    assert len({m["mm"] for m in ended}) == 13
    assert len(ended) >= 13
    # the failure ratio stretched the scan period to 16,100 ms
    assert s["scan_period_ms"]["max"] == 16100


def test_migrations_match_the_notes(report: Dict[str, Any]) -> None:
    m = report["migrations"]
    assert (m["attempted"], m["succeeded"], m["failed"]) == (65740, 19640, 46100)
    assert {rc: v["count"] for rc, v in m["by_rc"].items()} == {"0": 19640, "10": 46099, "3": 1}
    assert m["by_rc"]["10"]["name"] == "KSCAND_NOT_HOT_PAGE"
    assert list(m["by_node"]) == ["0"]
    # one mm had all the migrations; no record was lost or duplicated
    assert sum(1 for mm in report["mms"] if mm["migrations"]["attempted"]) == 1
    assert m["sequence_breaks"] == 0


def test_migrations_begin_before_the_scan_end(report: Dict[str, Any]) -> None:
    """kscand hands pages over per VMA: the first migrate (21.871 s into the recording)
    comes before the end of the scan that found them (21.894 s), so the queue wait to the
    first attempt, measured from that scan's start, is shorter than the scan itself."""
    mm = next(m for m in report["mms"] if m["migrations"]["attempted"])
    (row,) = [b for b in report["backlog"]["by_mm"] if b["mm"] == mm["mm"]]
    wait = row["first_attempt_wait_ns"]
    assert wait is not None and wait["min"] < mm["scans"]["duration_ns"]["max"]
