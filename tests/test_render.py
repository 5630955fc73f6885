"""The renderers without perf: every formatter pinned by a table of input -> exact string,
and the whole text report fed straight from the simulator into the analysis.

The expected strings are written by hand from the formatting rules (docs/report.md),
not copied from the program's output.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import ROOT
from kscand_perf.analysis import Analyzer
from kscand_perf.filtered import make_analyzer
from kscand_perf.options import parse
from kscand_perf.render import format as fmt
from kscand_perf.render import text, to_json
from kscand_perf.report import build, log2_rows
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, scenario

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize("n, expect", [
    (0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (65740, "65,740"),
    (1234567, "1,234,567"), (-11, "-11"),
])
def test_count(n: int, expect: str) -> None:
    assert fmt.count(n) == expect


@pytest.mark.parametrize("ns, unit_ns, expect", [
    (None, 1000, "-"),
    (0, 1, "0"), (1500, 1, "1,500"), (1500.4, 1, "1,500"), (1500.6, 1, "1,501"),
    (1500, 1000, "1.500"), (11006, 1000, "11.006"), (2500000, 1000, "2,500.000"),
    (123456789, 1000000, "123.457"), (6304000, 1000000, "6.304"),
])
def test_in_unit(ns: Optional[float], unit_ns: int, expect: str) -> None:
    assert fmt.in_unit(ns, unit_ns) == expect


@pytest.mark.parametrize("nbytes, expect", [
    (0, "0 B"), (1, "1 B"), (1023, "1023 B"),
    (KiB, "1 KiB"), (1536, "1.50 KiB"), (KiB + 1, "1.00 KiB"),
    (256 * MiB, "256 MiB"), (3 * MiB + 1, "3.00 MiB"), (3 * MiB + MiB // 2, "3.50 MiB"),
    (GiB, "1 GiB"), (GiB + 512, "1.00 GiB"), (4 * GiB, "4 GiB"), (1536 * MiB, "1.50 GiB"),
    (TiB, "1 TiB"), (2048 * GiB, "2 TiB"),
])
def test_size_uses_the_largest_unit_that_keeps_the_value_at_least_one(nbytes: int,
                                                                      expect: str) -> None:
    assert fmt.size(nbytes) == expect


@pytest.mark.parametrize("part, whole, expect", [
    (0, 0, "-"), (5, 0, "-"), (0, 3, "0.0%"), (1, 3, "33.3%"), (2, 3, "66.7%"),
    (19640, 65740, "29.9%"), (4, 4, "100.0%"),
])
def test_percent(part: int, whole: int, expect: str) -> None:
    assert fmt.percent(part, whole) == expect


@pytest.mark.parametrize("ns, expect", [
    (0, "0 ns"), (999, "999 ns"), (1000, "1.000 us"), (11006, "11.006 us"),
    (1500000, "1.500 ms"), (2.5e9, "2.500 s"), (16100000000, "16.100 s"),
])
def test_human_ns(ns: float, expect: str) -> None:
    assert fmt.human_ns(ns) == expect


def test_section() -> None:
    assert fmt.section("Scans", "") == ""
    assert fmt.section("Scans", "body") == "Scans\n=====\nbody"


TABLES: List[Tuple[List[str], List[List[Any]], str]] = [
    (["a", "n"], [["x", "1,000"], ["yy", "5"]],
     "a        n\n"
     "---  -----\n"
     "x    1,000\n"
     "yy       5"),
    (["counter", "delta", "agrees"], [["x", "-", "-"], ["yy", "5", "yes"]],
     "counter      delta  agrees\n"
     "---------  -------  --------\n"
     "x                -  -\n"
     "yy               5  yes"),
    (["", "first", "last"], [["scan period (ms)", "2,000", "16,100"]],
     "                    first    last\n"
     "----------------  -------  ------\n"
     "scan period (ms)    2,000  16,100"),
    (["rc", "share"], [["-11", "0.5%"], ["10", "70.1%"]],
     "  rc    share\n"
     "----  -------\n"
     " -11     0.5%\n"
     "  10    70.1%"),
    (["a", "b"], [], "a    b\n---  ---"),
]


@pytest.mark.parametrize("headers, rows, expect", TABLES)
def test_plain_table(headers: List[str], rows: List[List[Any]], expect: str) -> None:
    assert fmt.table(headers, rows) == expect


@pytest.mark.parametrize("headers, rows, expect", TABLES)
def test_the_layout_is_tabulates_simple_format(headers: List[str], rows: List[List[Any]],
                                               expect: str) -> None:
    """tabulate (a test dependency, never imported by the product) as the oracle of the
    layout: its "simple" format with the same alignment gives the same string."""
    tabulate = pytest.importorskip("tabulate", reason="python3-tabulate is not installed")
    if not rows:  # (tabulate cannot align the columns of a table without rows)
        return
    right = [all(c in ("-", "") or c.lstrip("-<").replace(",", "").replace(".", "").rstrip(
        "%").isdigit() for c in col) for col in zip(*rows)]
    laid = tabulate.tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True,
                             stralign="left",
                             colalign=["right" if r else "left" for r in right])
    assert laid == expect


def test_histogram() -> None:
    rows = [(0, 1, 2), (2, 3, 4), (4, 7, 0), (8, 15, 1)]
    expect = "\n".join([
        "         usecs : count     distribution",
        "    0 -> 1     : 2         |********************                    |",
        "    2 -> 3     : 4         |****************************************|",
        "    4 -> 7     : 0         |                                        |",
        "    8 -> 15    : 1         |**********                              |",
    ])
    assert fmt.histogram(rows, "usecs") == expect
    assert fmt.histogram([], "usecs") == ""
    # one in a million still shows one star: a bucket with events is never drawn empty
    assert fmt.histogram([(0, 1, 1000000), (2, 3, 1)], "nsecs").splitlines()[2].endswith(
        "|*" + " " * 39 + "|")


def test_log2_rows() -> None:
    assert log2_rows({}) == []
    # bit-length slots: 0 and 1 share the first row, empty slots in between are shown
    assert log2_rows({0: 1, 1: 2, 3: 5}) == [(0, 1, 3), (2, 3, 0), (4, 7, 5)]
    assert log2_rows({11: 4}) == [(1024, 2047, 4)]


# -- the whole text report, without perf -------------------------------------------------

GOLDEN = os.path.join(ROOT, "tests", "data", "small.report.txt")
TRUTH = os.path.join(ROOT, "tests", "data", "small.truth.json")


def feed(analyzer: Analyzer, events: Sequence[Emitted]) -> None:
    """What perf's handlers do with each event, written here from the schema alone."""
    for e in events:
        secs, nsecs = divmod(e.time_ns, 1000000000)
        v = e.values
        if e.event == "kmem_mm_enter":
            analyzer.mm_enter(e.time_ns, e.pid, e.comm, int(v[0]))
        elif e.event == "kmem_mm_exit":
            analyzer.mm_exit(e.time_ns, e.pid, e.comm, int(v[0]))
        elif e.event == "kmem_scan_mm_start":
            analyzer.scan_start(secs, nsecs, e.pid, int(v[0]))
        elif e.event == "kmem_scan_mm_end":
            analyzer.scan_end(e.time_ns, e.pid, *(int(x) for x in v))
        elif e.event == "kmem_scan_mm_migrate":
            analyzer.migrate(secs, nsecs, e.pid, *(int(x) for x in v))
        elif e.event == "sched_process_fork":
            analyzer.sched_fork(e.time_ns, e.pid, int(v[3]), str(v[2]))
        elif e.event == "sched_process_exec":
            analyzer.sched_exec(e.time_ns, e.pid, str(v[0]), int(v[1]))
        else:
            analyzer.other("sched:" + e.event)


def small_report_inputs() -> Tuple[List[Emitted], Dict[str, Any]]:
    with open(TRUTH, encoding="utf-8") as f:
        truth = json.load(f)
    config = SynthConfig(**truth["config"])
    return scenario(config)


def test_text_report_without_perf_equals_the_golden_file() -> None:
    """tests/data/small.data was written from this scenario; perf's report of it is the
    golden file (tests/test_golden.py). Fed straight into the analysis, the same events
    give the same text, with tabulate and with the plain tables."""
    events, truth = small_report_inputs()
    with open(TRUTH, encoding="utf-8") as f:
        assert truth == json.load(f), "the simulator no longer makes tests/data/small.data"
    options = parse([])
    analyzer = make_analyzer(options.analyzer_config())
    feed(analyzer, events)
    report = build(analyzer)
    with open(GOLDEN, encoding="utf-8") as f:
        golden = f.read()
    assert text(report) == golden
    assert to_json(report)["events"] == truth["events"]
